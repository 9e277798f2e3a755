//! Adafactor: factored second moments (row and column averages for matrices).

use rmlx_core::{bail, Array, Result};

use crate::adaptive::core_access;
use crate::math::{maximum, mean_all, mean_axis, rsqrt, sqrt, square, zeros, zeros_like};
use crate::optimizer::{state_get, OptimizerCore, ParamState, SingleOptimizer, StepContext};
use crate::schedule::LearningRate;

/// Options of [`Adafactor`] (MLX's keyword arguments and defaults).
#[derive(Clone, Debug)]
pub struct AdafactorOptions {
    /// Learning rate; `None` (the default) needs `relative_step`.
    pub learning_rate: Option<LearningRate>,
    /// `(ε1, ε2)`: ε1 is added to the squared gradient, ε2 floors the parameter scale.
    /// Default `(1e-30, 1e-3)`.
    pub eps: (f64, f64),
    /// Clips the unscaled update's RMS at this value. Default 1.
    pub clip_threshold: f64,
    /// Exponent of the second-moment decay `β2 = 1 - t^decay_rate`. Default -0.8.
    pub decay_rate: f64,
    /// First-moment coefficient; `None` (default) keeps no first moment.
    pub beta_1: Option<f64>,
    /// Weight decay. Default 0.
    pub weight_decay: f64,
    /// Scale the step by `max(ε2, RMS(w))`. Default true.
    pub scale_parameter: bool,
    /// Ignore `learning_rate` and use `min(1e-2, 1/sqrt(t))`. Default true.
    pub relative_step: bool,
    /// With `relative_step`, use `min(1e-6·t, 1/sqrt(t))`. Default false.
    pub warmup_init: bool,
}

impl Default for AdafactorOptions {
    fn default() -> Self {
        AdafactorOptions {
            learning_rate: None,
            eps: (1e-30, 1e-3),
            clip_threshold: 1.0,
            decay_rate: -0.8,
            beta_1: None,
            weight_decay: 0.0,
            scale_parameter: true,
            relative_step: true,
            warmup_init: false,
        }
    }
}

/// Adafactor, as MLX's `Adafactor` (Shazeer & Stern 2018). Parameters with 2 or more axes keep
/// row (`exp_avg_sq_row`, shape `shape[..-1]`) and column (`exp_avg_sq_col`, shape
/// `shape[..-2] + shape[-1]`) averages instead of a full second moment.
///
/// For parameters with more than 2 axes MLX's factor product (`matmul` of expanded factors)
/// only works when the leading dimensions are 1; rmlx computes the intended per-matrix outer
/// product instead, which is identical wherever MLX's works.
#[derive(Clone, Debug)]
pub struct Adafactor {
    core: OptimizerCore,
    /// The options (`learning_rate` is kept in the optimizer core).
    pub options: AdafactorOptions,
}

impl Default for Adafactor {
    fn default() -> Self {
        Adafactor::new()
    }
}

impl Adafactor {
    /// Adafactor with MLX's defaults (relative step sizes, no learning rate).
    pub fn new() -> Adafactor {
        Adafactor {
            core: OptimizerCore::new(LearningRate::Constant(0.0)),
            options: AdafactorOptions::default(),
        }
    }

    /// Adafactor with options. Without `relative_step` a learning rate is required.
    pub fn with_options(options: AdafactorOptions) -> Result<Adafactor> {
        if !options.relative_step && options.learning_rate.is_none() {
            bail!(
                Value,
                "Adafactor: a learning_rate is required when relative_step is False"
            );
        }
        let lr = options
            .learning_rate
            .clone()
            .unwrap_or(LearningRate::Constant(0.0));
        Ok(Adafactor {
            core: OptimizerCore::new(lr),
            options,
        })
    }

    fn rms(x: &Array) -> Result<Array> {
        sqrt(&mean_all(&square(x)?)?)
    }
}

impl SingleOptimizer for Adafactor {
    const NAME: &'static str = "Adafactor";
    core_access!();

    fn uses_step(&self) -> bool {
        true
    }

    fn init_single(&self, param: &Array) -> Result<ParamState> {
        let mut s = ParamState::new();
        let shape = param.shape();
        if let [lead @ .., r, c] = shape {
            // the factored second moment: per row (the last axis reduced) and per column
            let row: Vec<usize> = lead.iter().copied().chain([*r]).collect();
            let col: Vec<usize> = lead.iter().copied().chain([*c]).collect();
            s.insert("exp_avg_sq_row".into(), zeros(&row, param.dtype())?);
            s.insert("exp_avg_sq_col".into(), zeros(&col, param.dtype())?);
        } else {
            s.insert("exp_avg_sq".into(), zeros_like(param)?);
        }
        if self.options.beta_1.is_some() {
            s.insert("exp_avg".into(), zeros_like(param)?);
        }
        Ok(s)
    }

    fn apply_single(
        &self,
        ctx: &StepContext,
        grad: &Array,
        param: &Array,
        state: &mut ParamState,
    ) -> Result<Array> {
        let o = &self.options;
        let t = ctx.step as f32;
        let param_rms = Self::rms(param)?;
        let dt = param_rms.dtype();
        // Learning rate (MLX `_compute_learning_rate`), host scalars in float32.
        let rel = if o.relative_step {
            let min_step = if o.warmup_init { 1e-6f32 * t } else { 1e-2f32 };
            min_step.min(1.0f32 / t.sqrt())
        } else {
            ctx.learning_rate
        };
        let rel = Array::scalar_as(rel as f64, dt);
        let lr = if o.scale_parameter {
            (maximum(&Array::scalar_as(o.eps.1, dt), &param_rms)? * &rel)?
        } else {
            (1.0 * &rel)?
        };
        let beta_2 = (1.0 - Array::scalar_as(t.powf(o.decay_rate as f32) as f64, dt))?;
        let one_m_beta_2 = (1.0 - &beta_2)?;
        let sq = (square(grad)? + o.eps.0)?;
        let mut update = if grad.ndim() >= 2 {
            let row = state_get(state, "Adafactor", "exp_avg_sq_row")?;
            let col = state_get(state, "Adafactor", "exp_avg_sq_col")?;
            let row = ((&beta_2 * &row)? + (&one_m_beta_2 * mean_axis(&sq, -1, false)?)?)?;
            let col = ((&beta_2 * &col)? + (&one_m_beta_2 * mean_axis(&sq, -2, false)?)?)?;
            state.insert("exp_avg_sq_row".into(), row.clone());
            state.insert("exp_avg_sq_col".into(), col.clone());
            let r = rsqrt(&(&row / mean_axis(&row, -1, true)?)?)?;
            let c = rsqrt(&col)?;
            let mut rs = r.shape().to_vec();
            rs.push(1);
            let mut cs = c.shape().to_vec();
            cs.insert(cs.len() - 1, 1);
            let approx = (r.reshape(&rs)? * c.reshape(&cs)?)?;
            (approx * grad)?
        } else {
            let v = state_get(state, "Adafactor", "exp_avg_sq")?;
            let v = ((&beta_2 * &v)? + (&one_m_beta_2 * &sq)?)?;
            state.insert("exp_avg_sq".into(), v.clone());
            (rsqrt(&v)? * grad)?
        };
        let denom = maximum(
            &Array::scalar_as(1.0, update.dtype()),
            &(Self::rms(&update)? / o.clip_threshold)?,
        )?;
        update = (&update / &denom)?;
        update = (&lr * &update)?;
        if let Some(b1) = o.beta_1 {
            let avg = state_get(state, "Adafactor", "exp_avg")?;
            let avg = ((b1 * &avg)? + ((1.0 - b1) * &update)?)?;
            state.insert("exp_avg".into(), avg.clone());
            update = avg;
        }
        let mut p = param.clone();
        if o.weight_decay != 0.0 {
            p = (&p + (&p * (-o.weight_decay * &lr)?)?)?;
        }
        p - update
    }
}
