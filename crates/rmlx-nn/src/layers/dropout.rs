//! `Dropout`.

use crate::{Module, ModuleState};
use rmlx_core::{Error, Result};

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

    fn repr_args(&self) -> String {
        format!("p={}", 1.0 - self.p)
    }
}
