//! `Dropout`.

use super::Forward;
use crate::{Module, ModuleState};
use rmlx_core::{Array, Error, Result};

/// MLX `nn.Dropout(p)`: zeroes elements with probability `p` in training; identity otherwise.
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct Dropout {
    /// The drop probability, in `[0, 1)`.
    #[module(skip)]
    pub p: f32,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl Dropout {
    /// `Dropout(p)`; `p` must lie in `[0, 1)`.
    pub fn new(p: f32) -> Result<Dropout> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::Value(format!(
                "The dropout probability {p:?} is not in [0, 1)"
            )));
        }
        Ok(Dropout {
            p,
            state: ModuleState::default(),
        })
    }

    /// Identity in eval mode or with `p = 0`; in training mode keeps each element with
    /// probability `1 - p` (a `bernoulli` draw from the global key sequence, as MLX) and scales
    /// the kept ones by `1 / (1 - p)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let keep = 1.0 - self.p as f64;
        if keep == 1.0 || !self.state.training {
            return Ok(x.clone());
        }
        let mask = rmlx_core::random::bernoulli(keep, Some(x.shape()), None)?;
        (&mask * x)? * (1.0 / keep)
    }

    fn repr_args(&self) -> String {
        format!("p={}", 1.0 - self.p)
    }
}

impl Forward for Dropout {
    fn forward(&self, x: &Array) -> Result<Array> {
        Dropout::forward(self, x)
    }
}
