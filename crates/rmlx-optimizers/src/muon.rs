//! Muon: momentum SGD whose matrix updates are orthogonalised by a Newton–Schulz iteration.

use rmlx_core::{Array, Result};

use crate::adaptive::core_access;
use crate::math::{addmm, matmul, norm_all, zeros_like};
use crate::optimizer::{state_get, OptimizerCore, ParamState, SingleOptimizer, StepContext};
use crate::schedule::LearningRate;

/// Options of [`Muon`] (MLX's keyword arguments and defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MuonOptions {
    /// Momentum μ. Default 0.95.
    pub momentum: f64,
    /// Weight decay added to the gradient. Default 0.01.
    pub weight_decay: f64,
    /// Nesterov momentum. Default true.
    pub nesterov: bool,
    /// Newton–Schulz iterations. Default 5.
    pub ns_steps: usize,
}

impl Default for MuonOptions {
    fn default() -> Self {
        MuonOptions {
            momentum: 0.95,
            weight_decay: 0.01,
            nesterov: true,
            ns_steps: 5,
        }
    }
}

/// Muon, as MLX's `Muon`:
///
/// `g += wd·w` (if `wd ≠ 0`); `v = μ·v + (1-μ)·g`; `u = nesterov ? (1-μ)·g + μ·v : v`.
/// For parameters with 2 or more axes, `u` (reshaped to `[shape[0], -1]`) is orthogonalised with
/// MLX's quintic Newton–Schulz iteration (coefficients 3.4445, -4.7750, 2.0315, on the wide
/// orientation, after dividing by the Frobenius norm + 1e-7) and the learning rate is scaled by
/// `sqrt(max(1, rows/cols))` of the last two axes. Then `w -= lr·u`.
#[derive(Clone, Debug)]
pub struct Muon {
    core: OptimizerCore,
    /// The options.
    pub options: MuonOptions,
}

impl Muon {
    /// Muon with MLX's defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Muon {
        Muon {
            core: OptimizerCore::new(learning_rate.into()),
            options: MuonOptions::default(),
        }
    }

    /// Muon with options.
    pub fn with_options(learning_rate: impl Into<LearningRate>, options: MuonOptions) -> Muon {
        Muon {
            core: OptimizerCore::new(learning_rate.into()),
            options,
        }
    }
}

/// MLX's `_zeropower_via_newtonschulz5` on a 2-D array.
pub fn newton_schulz5(x: &Array, steps: usize) -> Result<Array> {
    if x.ndim() != 2 {
        rmlx_core::bail!(
            Shape,
            "newton_schulz5: expected a 2-D array, got shape {:?}",
            x.shape()
        );
    }
    let (a, b, c) = (3.4445, -4.7750, 2.0315);
    let transpose = matches!(x.shape(), [r, c] if r > c);
    let mut x = if transpose { x.t()? } else { x.clone() };
    x = (&x / (norm_all(&x)? + 1e-7)?)?;
    for _ in 0..steps {
        let am = matmul(&x, &x.t()?)?;
        // B = addmm(b·A, A, A, beta=1, alpha=c) = b·A + c·(A @ A)
        let bm = addmm(&(b * &am)?, &am, &am, c, 1.0)?;
        // X = addmm(a·X, B, X, beta=1, alpha=1) = a·X + B @ X
        x = addmm(&(a * &x)?, &bm, &x, 1.0, 1.0)?;
    }
    if transpose {
        x.t()
    } else {
        Ok(x)
    }
}

impl SingleOptimizer for Muon {
    const NAME: &'static str = "Muon";
    core_access!();

    fn init_single(&self, param: &Array) -> Result<ParamState> {
        Ok(ParamState::from([("v".to_string(), zeros_like(param)?)]))
    }

    fn apply_single(
        &self,
        ctx: &StepContext,
        grad: &Array,
        param: &Array,
        state: &mut ParamState,
    ) -> Result<Array> {
        let o = &self.options;
        let mut g = grad.clone();
        if o.weight_decay != 0.0 {
            g = (&g + (o.weight_decay * param)?)?;
        }
        let v = (o.momentum * state_get(state, "Muon", "v")?)?;
        let v = (&v + ((1.0 - o.momentum) * &g)?)?;
        state.insert("v".into(), v.clone());
        let mut update = if o.nesterov {
            (((1.0 - o.momentum) * &g)? + (&v * o.momentum)?)?
        } else {
            v
        };
        let mut lr = ctx.lr(g.dtype());
        if update.ndim() >= 2 {
            let shape = update.shape().to_vec();
            let flat = if let [first, _, _, ..] = shape.as_slice() {
                update.reshape(&[*first as isize, -1][..])?
            } else {
                update.clone()
            };
            let o2 = newton_schulz5(&flat, o.ns_steps)?;
            update = if shape.len() > 2 {
                o2.reshape(&shape)?
            } else {
                o2
            };
            if let [.., r, c] = shape.as_slice() {
                let ratio = *r as f64 / *c as f64;
                lr = (&lr * ratio.max(1.0).sqrt())?;
            }
        }
        param - (&lr * &update)?
    }
}
