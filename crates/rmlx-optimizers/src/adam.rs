//! Adam and its variants AdamW (decoupled weight decay) and Adamax (infinity norm).

use rmlx_core::kernels::AdamStep;
use rmlx_core::{bail, Array, Dtype, Result};

use crate::adaptive::core_access;
use crate::fused;
use crate::math::{abs, maximum, sqrt, square, zeros_like};
use crate::optimizer::{state_get, OptimizerCore, ParamState, SingleOptimizer, StepContext};
use crate::pyfmt::py_float;
use crate::schedule::LearningRate;

/// Options shared by [`Adam`], [`AdamW`] and [`Adamax`] (MLX's defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamOptions {
    /// `(β1, β2)`, each in `[0, 1)`. Default `(0.9, 0.999)`.
    pub betas: [f64; 2],
    /// ε added to the denominator. Default `1e-8`.
    pub eps: f64,
    /// Bias correction (Adam, AdamW only). Default false, as MLX.
    pub bias_correction: bool,
}

impl Default for AdamOptions {
    fn default() -> Self {
        AdamOptions {
            betas: [0.9, 0.999],
            eps: 1e-8,
            bias_correction: false,
        }
    }
}

fn check_betas(name: &str, betas: [f64; 2]) -> Result<()> {
    for (i, b) in betas.iter().enumerate() {
        if !(0.0..1.0).contains(b) {
            bail!(
                Value,
                "{name} beta{} should be in [0, 1), {} was provided instead",
                i + 1,
                py_float(*b)
            );
        }
    }
    Ok(())
}

fn check_adam_eps(name: &str, eps: f64) -> Result<()> {
    if eps.is_nan() || eps < 0.0 {
        bail!(
            Value,
            "{name} epsilon should be >=0, {} was provided instead",
            py_float(eps)
        );
    }
    Ok(())
}

fn mv_state(param: &Array) -> Result<ParamState> {
    Ok(ParamState::from([
        ("m".to_string(), zeros_like(param)?),
        ("v".to_string(), zeros_like(param)?),
    ]))
}

/// The Adam step shared by Adam and AdamW (MLX's `Adam.apply_single`).
fn adam_step(
    opts: &AdamOptions,
    ctx: &StepContext,
    grad: &Array,
    param: &Array,
    state: &mut ParamState,
) -> Result<Array> {
    let dt = grad.dtype();
    let lr = ctx.lr(dt);
    let [b1, b2] = opts.betas;
    let m = state_get(state, "Adam", "m")?;
    let v = state_get(state, "Adam", "v")?;
    // f32 arrays of one shape take fused passes (bit-identical results): without bias
    // correction one pass for the whole step, with it one per moment
    let fused = fused::applies(&[grad, param, &m, &v]);
    let (m, v) = if fused {
        // a gradient that arrives as a strided view (the weight gradient of `x @ W.T` is a
        // transpose) is copied once and read by every pass
        let g = rmlx_core::contiguous(grad, false)?;
        // the learning rate is read from the `lr` array when the step runs
        let c = AdamStep::new([b1, b2], 0.0, opts.eps);
        if !opts.bias_correction {
            let [p, m, v] = fused::fused_adam(param, &m, &v, &g, &lr, c)?;
            state.insert("m".into(), m);
            state.insert("v".into(), v);
            return Ok(p);
        }
        (
            fused::moment(&m, &g, (c.b1, c.r1), false),
            fused::moment(&v, &g, (c.b2, c.r2), true),
        )
    } else {
        (
            ((b1 * &m)? + ((1.0 - b1) * grad)?)?,
            ((b2 * &v)? + ((1.0 - b2) * square(grad)?)?)?,
        )
    };
    state.insert("m".into(), m.clone());
    state.insert("v".into(), v.clone());
    if opts.bias_correction {
        // MLX: c1 = (lr / (1 - b1**step)).astype(dt); c2 = rsqrt(1 - b2**step).astype(dt), where
        // `b**step` is a float32 power of the uint64 step.
        let t = ctx.step as f32;
        let one_m_b1 = 1.0f32 - (b1 as f32).powf(t);
        let one_m_b2 = 1.0f32 - (b2 as f32).powf(t);
        let lr32 = Array::scalar_as(ctx.learning_rate as f64, promote_f32(dt));
        let c1 = (lr32 / Array::scalar(one_m_b1))?.astype(dt)?;
        let c2 = Array::scalar_as((1.0 / (one_m_b2 as f64).sqrt()) as f32 as f64, dt);
        let numerator = (&c1 * &m)?;
        let denominator = ((sqrt(&v)? * &c2)? + opts.eps)?;
        param - (numerator / denominator)?
    } else {
        param - ((&lr * &m)? / (sqrt(&v)? + opts.eps)?)?
    }
}

/// The dtype of `x (dt) op float32-array`: float32 unless `dt` is wider.
fn promote_f32(dt: Dtype) -> Dtype {
    Dtype::promote(dt, Dtype::F32)
}

/// Adam, as MLX: `m = β1·m + (1-β1)·g`, `v = β2·v + (1-β2)·g²`; without bias correction
/// (MLX's default) `w -= lr·m / (sqrt(v) + ε)`, with it
/// `w -= (lr / (1-β1^t))·m / (sqrt(v)/sqrt(1-β2^t) + ε)`.
#[derive(Clone, Debug)]
pub struct Adam {
    core: OptimizerCore,
    /// The options.
    pub options: AdamOptions,
}

impl Adam {
    /// Adam with MLX's defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Adam {
        Adam {
            core: OptimizerCore::new(learning_rate.into()),
            options: AdamOptions::default(),
        }
    }

    /// Adam with options; betas outside `[0, 1)` or a negative ε are errors.
    pub fn with_options(
        learning_rate: impl Into<LearningRate>,
        options: AdamOptions,
    ) -> Result<Adam> {
        check_betas("Adam", options.betas)?;
        check_adam_eps("Adam", options.eps)?;
        Ok(Adam {
            core: OptimizerCore::new(learning_rate.into()),
            options,
        })
    }
}

impl SingleOptimizer for Adam {
    const NAME: &'static str = "Adam";
    core_access!();

    fn uses_step(&self) -> bool {
        self.options.bias_correction
    }

    fn init_single(&self, param: &Array) -> Result<ParamState> {
        mv_state(param)
    }

    fn apply_single(
        &self,
        ctx: &StepContext,
        grad: &Array,
        param: &Array,
        state: &mut ParamState,
    ) -> Result<Array> {
        adam_step(&self.options, ctx, grad, param, state)
    }
}

/// AdamW, as MLX: decoupled weight decay `w = w·(1 - lr·wd)`, then the Adam step of that `w`.
/// Default `weight_decay = 0.01`.
#[derive(Clone, Debug)]
pub struct AdamW {
    core: OptimizerCore,
    /// The Adam options.
    pub options: AdamOptions,
    /// Weight decay λ.
    pub weight_decay: f64,
}

impl AdamW {
    /// AdamW with MLX's defaults (`weight_decay = 0.01`).
    pub fn new(learning_rate: impl Into<LearningRate>) -> AdamW {
        AdamW {
            core: OptimizerCore::new(learning_rate.into()),
            options: AdamOptions::default(),
            weight_decay: 0.01,
        }
    }

    /// AdamW with options; betas outside `[0, 1)` or a negative ε are errors.
    pub fn with_options(
        learning_rate: impl Into<LearningRate>,
        options: AdamOptions,
        weight_decay: f64,
    ) -> Result<AdamW> {
        check_betas("Adam", options.betas)?;
        check_adam_eps("Adam", options.eps)?;
        Ok(AdamW {
            core: OptimizerCore::new(learning_rate.into()),
            options,
            weight_decay,
        })
    }
}

impl SingleOptimizer for AdamW {
    const NAME: &'static str = "AdamW";
    core_access!();

    fn uses_step(&self) -> bool {
        self.options.bias_correction
    }

    fn init_single(&self, param: &Array) -> Result<ParamState> {
        mv_state(param)
    }

    fn apply_single(
        &self,
        ctx: &StepContext,
        grad: &Array,
        param: &Array,
        state: &mut ParamState,
    ) -> Result<Array> {
        let lr = ctx.lr(grad.dtype());
        let decayed = (param * (1.0 - (&lr * self.weight_decay)?)?)?;
        adam_step(&self.options, ctx, grad, &decayed, state)
    }
}

/// Adamax, as MLX: `m = β1·m + (1-β1)·g`, `v = max(β2·v, |g|)`, `w -= lr·m / (v + ε)`.
#[derive(Clone, Debug)]
pub struct Adamax {
    core: OptimizerCore,
    /// `(β1, β2)` and ε (`bias_correction` is ignored).
    pub options: AdamOptions,
}

impl Adamax {
    /// Adamax with MLX's defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Adamax {
        Adamax {
            core: OptimizerCore::new(learning_rate.into()),
            options: AdamOptions::default(),
        }
    }

    /// Adamax with betas and ε; betas outside `[0, 1)` or a negative ε are errors.
    pub fn with_options(
        learning_rate: impl Into<LearningRate>,
        betas: [f64; 2],
        eps: f64,
    ) -> Result<Adamax> {
        check_betas("Adam", betas)?;
        if eps.is_nan() || eps < 0.0 {
            bail!(
                Value,
                "Epsilon value should be >=0, {} was provided instead",
                py_float(eps)
            );
        }
        Ok(Adamax {
            core: OptimizerCore::new(learning_rate.into()),
            options: AdamOptions {
                betas,
                eps,
                bias_correction: false,
            },
        })
    }
}

impl SingleOptimizer for Adamax {
    const NAME: &'static str = "Adamax";
    core_access!();

    fn init_single(&self, param: &Array) -> Result<ParamState> {
        mv_state(param)
    }

    fn apply_single(
        &self,
        ctx: &StepContext,
        grad: &Array,
        param: &Array,
        state: &mut ParamState,
    ) -> Result<Array> {
        let lr = ctx.lr(grad.dtype());
        let [b1, b2] = self.options.betas;
        let m = state_get(state, "Adamax", "m")?;
        let v = state_get(state, "Adamax", "v")?;
        let m = ((b1 * &m)? + ((1.0 - b1) * grad)?)?;
        let v = maximum(&(b2 * &v)?, &abs(grad)?)?;
        state.insert("m".into(), m.clone());
        state.insert("v".into(), v.clone());
        param - ((&lr * &m)? / (&v + self.options.eps)?)?
    }
}
