//! Stochastic gradient descent with momentum, weight decay, dampening and Nesterov momentum.

use rmlx_core::{bail, Array, Result};

use crate::math::zeros_like;
use crate::optimizer::{state_get, OptimizerCore, ParamState, SingleOptimizer, StepContext};
use crate::schedule::LearningRate;

/// Options of [`SGD`] (MLX's keyword arguments and defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SGDOptions {
    /// Momentum strength μ. Default 0.
    pub momentum: f64,
    /// Weight decay (L2 penalty added to the gradient). Default 0.
    pub weight_decay: f64,
    /// Dampening τ of the momentum. Default 0.
    pub dampening: f64,
    /// Nesterov momentum (needs `momentum > 0` and `dampening == 0`). Default false.
    pub nesterov: bool,
}

impl Default for SGDOptions {
    fn default() -> Self {
        SGDOptions {
            momentum: 0.0,
            weight_decay: 0.0,
            dampening: 0.0,
            nesterov: false,
        }
    }
}

/// Stochastic gradient descent, as MLX's `SGD`:
///
/// `g += wd·w` (if `wd ≠ 0`); with `momentum ≤ 0`: `w -= lr·g`; otherwise
/// `v = μ·v + (τ > 0 ? (1-τ)·g : g)`, `u = nesterov ? g + μ·v : v`, `w -= lr·u`.
/// The state `v` exists (zeros) even when `momentum = 0` (MLX_SEMANTICS item 84).
///
/// ```
/// use rmlx_optimizers::{SGD, SGDOptions};
/// let opt = SGD::with_options(0.1, SGDOptions { momentum: 0.9, nesterov: true, ..Default::default() })?;
/// assert!(SGD::with_options(0.1, SGDOptions { nesterov: true, ..Default::default() }).is_err());
/// # Ok::<(), rmlx_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct SGD {
    core: OptimizerCore,
    /// The options.
    pub options: SGDOptions,
}

impl SGD {
    /// Plain SGD (all options at their defaults).
    pub fn new(learning_rate: impl Into<LearningRate>) -> SGD {
        SGD {
            core: OptimizerCore::new(learning_rate.into()),
            options: SGDOptions::default(),
        }
    }

    /// SGD with options; Nesterov without momentum or with dampening is an error (MLX's
    /// message).
    pub fn with_options(
        learning_rate: impl Into<LearningRate>,
        options: SGDOptions,
    ) -> Result<SGD> {
        if options.nesterov && (options.momentum <= 0.0 || options.dampening != 0.0) {
            bail!(
                Value,
                "Nesterov momentum requires a momentum and zero dampening."
            );
        }
        Ok(SGD {
            core: OptimizerCore::new(learning_rate.into()),
            options,
        })
    }
}

impl SingleOptimizer for SGD {
    const NAME: &'static str = "SGD";

    fn core(&self) -> &OptimizerCore {
        &self.core
    }
    fn core_mut(&mut self) -> &mut OptimizerCore {
        &mut self.core
    }

    fn init_single(&self, param: &Array) -> Result<ParamState> {
        let mut s = ParamState::new();
        s.insert("v".into(), zeros_like(param)?);
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
        let mut g = grad.clone();
        if o.weight_decay != 0.0 {
            g = (&g + (o.weight_decay * param)?)?;
        }
        let lr = ctx.lr(g.dtype());
        if o.momentum <= 0.0 {
            return param - (&lr * &g)?;
        }
        let mut v = (o.momentum * state_get(state, "SGD", "v")?)?;
        if o.dampening > 0.0 {
            v = (&v + ((1.0 - o.dampening) * &g)?)?;
        } else {
            v = (&v + &g)?;
        }
        let update = if o.nesterov {
            (&g + (o.momentum * &v)?)?
        } else {
            v.clone()
        };
        state.insert("v".into(), v);
        param - (&lr * &update)?
    }
}
