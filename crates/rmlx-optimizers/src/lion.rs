//! The Lion optimizer (sign of an interpolated momentum).

use rmlx_core::{bail, Array, Result};

use crate::adaptive::core_access;
use crate::math::{sign, zeros_like};
use crate::optimizer::{state_get, OptimizerCore, ParamState, SingleOptimizer, StepContext};
use crate::pyfmt::py_float;
use crate::schedule::LearningRate;

/// Lion, as MLX: `c = β1·m + (1-β1)·g`, `m = β2·m + (1-β2)·g`, with `wd > 0`
/// `w = (1 - lr·wd)·w`, then `w -= lr·sign(c)` (`sign(0) = 0`).
/// Defaults `betas = (0.9, 0.99)`, `weight_decay = 0`.
#[derive(Clone, Debug)]
pub struct Lion {
    core: OptimizerCore,
    /// `(β1, β2)`.
    pub betas: [f64; 2],
    /// Weight decay λ.
    pub weight_decay: f64,
}

impl Lion {
    /// Lion with MLX's defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Lion {
        Lion {
            core: OptimizerCore::new(learning_rate.into()),
            betas: [0.9, 0.99],
            weight_decay: 0.0,
        }
    }

    /// Lion with betas (each in `[0, 1]`) and weight decay.
    pub fn with_options(
        learning_rate: impl Into<LearningRate>,
        betas: [f64; 2],
        weight_decay: f64,
    ) -> Result<Lion> {
        for (i, b) in betas.iter().enumerate() {
            if !(0.0..=1.0).contains(b) {
                bail!(
                    Value,
                    "Lion beta{} should be in [0, 1], {} was provided instead",
                    i + 1,
                    py_float(*b)
                );
            }
        }
        Ok(Lion {
            core: OptimizerCore::new(learning_rate.into()),
            betas,
            weight_decay,
        })
    }
}

impl SingleOptimizer for Lion {
    const NAME: &'static str = "Lion";
    core_access!();

    fn init_single(&self, param: &Array) -> Result<ParamState> {
        Ok(ParamState::from([("m".to_string(), zeros_like(param)?)]))
    }

    fn apply_single(
        &self,
        ctx: &StepContext,
        grad: &Array,
        param: &Array,
        state: &mut ParamState,
    ) -> Result<Array> {
        let lr = ctx.lr(grad.dtype());
        let [b1, b2] = self.betas;
        let m = state_get(state, "Lion", "m")?;
        let c = ((b1 * &m)? + ((1.0 - b1) * grad)?)?;
        let m_new = ((b2 * &m)? + ((1.0 - b2) * grad)?)?;
        state.insert("m".into(), m_new);
        let mut p = param.clone();
        if self.weight_decay > 0.0 {
            p = ((1.0 - (&lr * self.weight_decay)?)? * &p)?;
        }
        p - (&lr * sign(&c)?)?
    }
}
