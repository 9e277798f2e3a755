//! Parameter-less activation modules.

use crate::{Module, ModuleState};
use rmlx_core::{Error, Result};

/// The activation a transformer layer applies (MLX passes a function; it is a plain attribute,
/// not a member).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// Exact gelu.
    Gelu,
}

impl Activation {
    /// Parses `"relu"` or `"gelu"`.
    pub fn from_name(name: &str) -> Result<Activation> {
        match name {
            "relu" => Ok(Activation::Relu),
            "gelu" => Ok(Activation::Gelu),
            _ => Err(Error::Value(format!(
                "unknown activation {name:?}: expected \"relu\" or \"gelu\""
            ))),
        }
    }
}

/// MLX `nn.ReLU`.
#[derive(Module, Clone, Default)]
#[module(name = "ReLU")]
pub struct Relu {
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl Relu {
    /// A ReLU module.
    pub fn new() -> Relu {
        Relu::default()
    }
}

/// MLX `nn.GELU(approx)`: `approx` is `"none"`, `"precise"`/`"tanh"` or `"fast"`.
#[derive(Module, Clone)]
#[module(name = "GELU")]
pub struct Gelu {
    /// The approximation.
    #[module(skip)]
    pub approx: String,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl Gelu {
    /// A GELU module; errors on an unknown approximation.
    pub fn new(approx: &str) -> Result<Gelu> {
        match approx {
            "none" | "precise" | "tanh" | "fast" => {
                Ok(Gelu { approx: approx.to_string(), state: ModuleState::default() })
            }
            _ => Err(Error::Value(format!(
                "The approximation should be in ['none', 'precise', 'tanh', 'fast'] but '{approx}' was given"
            ))),
        }
    }
}
