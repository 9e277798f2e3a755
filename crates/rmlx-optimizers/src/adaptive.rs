//! Optimizers with a per-element adaptive step: RMSprop, Adagrad and AdaDelta.

use rmlx_core::{bail, Array, Result};

use crate::math::{sqrt, square, zeros_like};
use crate::optimizer::{state_get, OptimizerCore, ParamState, SingleOptimizer, StepContext};
use crate::pyfmt::py_float;
use crate::schedule::LearningRate;

fn check_eps(name: &str, eps: f64) -> Result<()> {
    if eps.is_nan() || eps <= 0.0 {
        bail!(
            Value,
            "{name} epsilon should be >0, {} was provided instead",
            py_float(eps)
        );
    }
    Ok(())
}

fn check_nonneg(name: &str, what: &str, x: f64) -> Result<()> {
    if x.is_nan() || x < 0.0 {
        bail!(
            Value,
            "{name} {what} should be >=0, {} was provided instead",
            py_float(x)
        );
    }
    Ok(())
}

macro_rules! core_access {
    () => {
        fn core(&self) -> &OptimizerCore {
            &self.core
        }
        fn core_mut(&mut self) -> &mut OptimizerCore {
            &mut self.core
        }
    };
}
pub(crate) use core_access;

/// RMSprop, as MLX: `v = α·v + (1-α)·g²`, `w -= lr·g / (sqrt(v) + ε)`.
/// Defaults `alpha = 0.99`, `eps = 1e-8`.
#[derive(Clone, Debug)]
pub struct RMSprop {
    core: OptimizerCore,
    /// Smoothing constant α.
    pub alpha: f64,
    /// ε added to the denominator.
    pub eps: f64,
}

impl RMSprop {
    /// RMSprop with MLX's defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> RMSprop {
        RMSprop {
            core: OptimizerCore::new(learning_rate.into()),
            alpha: 0.99,
            eps: 1e-8,
        }
    }

    /// RMSprop with `alpha` and `eps`; `alpha < 0` or `eps <= 0` is an error (MLX's messages).
    pub fn with_options(
        learning_rate: impl Into<LearningRate>,
        alpha: f64,
        eps: f64,
    ) -> Result<RMSprop> {
        check_nonneg("RMSprop", "alpha", alpha)?;
        check_eps("RMSprop", eps)?;
        Ok(RMSprop {
            core: OptimizerCore::new(learning_rate.into()),
            alpha,
            eps,
        })
    }
}

impl SingleOptimizer for RMSprop {
    const NAME: &'static str = "RMSprop";
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
        let lr = ctx.lr(grad.dtype());
        let v = state_get(state, "RMSprop", "v")?;
        let v = ((self.alpha * &v)? + ((1.0 - self.alpha) * square(grad)?)?)?;
        state.insert("v".into(), v.clone());
        let step = ((&lr * grad)? / (sqrt(&v)? + self.eps)?)?;
        param - step
    }
}

/// Adagrad, as MLX: `v = v + g²`, `w -= lr·g / (sqrt(v) + ε)`. Default `eps = 1e-8`.
#[derive(Clone, Debug)]
pub struct Adagrad {
    core: OptimizerCore,
    /// ε added to the denominator.
    pub eps: f64,
}

impl Adagrad {
    /// Adagrad with MLX's defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Adagrad {
        Adagrad {
            core: OptimizerCore::new(learning_rate.into()),
            eps: 1e-8,
        }
    }

    /// Adagrad with `eps`; `eps <= 0` is an error (MLX's message).
    pub fn with_options(learning_rate: impl Into<LearningRate>, eps: f64) -> Result<Adagrad> {
        check_eps("Adagrad", eps)?;
        Ok(Adagrad {
            core: OptimizerCore::new(learning_rate.into()),
            eps,
        })
    }
}

impl SingleOptimizer for Adagrad {
    const NAME: &'static str = "Adagrad";
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
        let lr = ctx.lr(grad.dtype());
        let v = (state_get(state, "Adagrad", "v")? + square(grad)?)?;
        state.insert("v".into(), v.clone());
        let step = ((&lr * grad)? / (sqrt(&v)? + self.eps)?)?;
        param - step
    }
}

/// AdaDelta with a learning rate, as MLX: `v = ρ·v + (1-ρ)·g²`,
/// `d = sqrt(u + ε) / sqrt(v + ε) · g`, `u = ρ·u + (1-ρ)·d²`, `w -= lr·d`.
/// Defaults `rho = 0.9`, `eps = 1e-6`.
#[derive(Clone, Debug)]
pub struct AdaDelta {
    core: OptimizerCore,
    /// Decay ρ of the running averages.
    pub rho: f64,
    /// ε inside the square roots.
    pub eps: f64,
}

impl AdaDelta {
    /// AdaDelta with MLX's defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> AdaDelta {
        AdaDelta {
            core: OptimizerCore::new(learning_rate.into()),
            rho: 0.9,
            eps: 1e-6,
        }
    }

    /// AdaDelta with `rho` and `eps`; `rho < 0` or `eps <= 0` is an error (MLX's messages).
    pub fn with_options(
        learning_rate: impl Into<LearningRate>,
        rho: f64,
        eps: f64,
    ) -> Result<AdaDelta> {
        check_nonneg("AdaDelta", "rho", rho)?;
        check_eps("AdaDelta", eps)?;
        Ok(AdaDelta {
            core: OptimizerCore::new(learning_rate.into()),
            rho,
            eps,
        })
    }
}

impl SingleOptimizer for AdaDelta {
    const NAME: &'static str = "AdaDelta";
    core_access!();

    fn init_single(&self, param: &Array) -> Result<ParamState> {
        Ok(ParamState::from([
            ("v".to_string(), zeros_like(param)?),
            ("u".to_string(), zeros_like(param)?),
        ]))
    }

    fn apply_single(
        &self,
        ctx: &StepContext,
        grad: &Array,
        param: &Array,
        state: &mut ParamState,
    ) -> Result<Array> {
        let lr = ctx.lr(grad.dtype());
        let (rho, eps) = (self.rho, self.eps);
        let v = state_get(state, "AdaDelta", "v")?;
        let u = state_get(state, "AdaDelta", "u")?;
        let v = ((rho * &v)? + ((1.0 - rho) * square(grad)?)?)?;
        let d = ((sqrt(&(&u + eps)?)? / sqrt(&(&v + eps)?)?)? * grad)?;
        let u = ((rho * &u)? + ((1.0 - rho) * square(&d)?)?)?;
        state.insert("v".into(), v);
        state.insert("u".into(), u);
        param - (&lr * &d)?
    }
}
