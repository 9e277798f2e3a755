//! `Linear` and `Identity`.

use super::{py_bool, spread};
use crate::{Module, ModuleState};
use rmlx_core::{Array, Result};

/// `y = x Wᵀ + b` (MLX `nn.Linear`): `weight` `[output_dims, input_dims]`, optional `bias`
/// `[output_dims]`.
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct Linear {
    /// `[output_dims, input_dims]`.
    pub weight: Array,
    /// `[output_dims]`, absent with `bias = false`.
    pub bias: Option<Array>,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl Linear {
    /// A `Linear(input_dims, output_dims, bias)`; parameters lie in `[-1/√in, 1/√in)`.
    pub fn new(input_dims: usize, output_dims: usize, bias: bool) -> Result<Linear> {
        let scale = 1.0 / (input_dims.max(1) as f32).sqrt();
        Ok(Linear {
            weight: spread(&[output_dims, input_dims], scale)?,
            bias: if bias {
                Some(spread(&[output_dims], scale)?)
            } else {
                None
            },
            state: ModuleState::default(),
        })
    }

    fn repr_args(&self) -> String {
        let s = self.weight.shape();
        let (o, i) = (
            s.first().copied().unwrap_or(0),
            s.get(1).copied().unwrap_or(0),
        );
        format!(
            "input_dims={i}, output_dims={o}, bias={}",
            py_bool(self.bias.is_some())
        )
    }
}

/// Returns its input (MLX `nn.Identity`); no parameters.
#[derive(Module, Clone, Default)]
pub struct Identity {
    /// Frozen names and training flag.
    pub state: ModuleState,
}
