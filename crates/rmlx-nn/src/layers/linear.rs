//! `Linear` and `Identity`.

use super::Forward;
use super::{py_bool, uniform_init};
use crate::{Module, ModuleState};
use rmlx_core::{Array, Error, Result};

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
    /// A `Linear(input_dims, output_dims, bias)`: weight then bias drawn from
    /// `U(-1/√in, 1/√in)` (MLX's init, same draws).
    pub fn new(input_dims: usize, output_dims: usize, bias: bool) -> Result<Linear> {
        let scale = (1.0 / input_dims.max(1) as f64).sqrt();
        Ok(Linear {
            weight: uniform_init(&[output_dims, input_dims], scale)?,
            bias: if bias {
                Some(uniform_init(&[output_dims], scale)?)
            } else {
                None
            },
            state: ModuleState::default(),
        })
    }

    /// `x Wᵀ + b` (MLX: `addmm(bias, x, W.T)`), or `x Wᵀ` without a bias. `x` is `[..., in]`;
    /// an N-d input is flattened to 2-D so one GEMM runs, then reshaped to `[..., out]`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let (out_dims, in_dims) = match self.weight.shape() {
            [o, i] => (*o, *i),
            s => {
                return Err(Error::Shape(format!(
                    "[Linear] weight must be 2-D [output_dims, input_dims], got {s:?}"
                )))
            }
        };
        let last = x.shape().last().copied();
        if last != Some(in_dims) {
            return Err(Error::Shape(format!(
                "[Linear] Last dimension of the input with shape {:?} must match the input dimension {in_dims} of the weight with shape {:?}",
                x.shape(),
                self.weight.shape()
            )));
        }
        let wt = self.weight.t()?;
        let batch: Vec<usize> = x
            .shape()
            .split_last()
            .map(|(_, lead)| lead.to_vec())
            .unwrap_or_default();
        let x2 = if x.ndim() == 2 {
            x.clone()
        } else {
            x.reshape(&[-1isize, in_dims as isize][..])?
        };
        let y = match &self.bias {
            Some(b) => rmlx_core::addmm(b, &x2, &wt, 1.0, 1.0)?,
            None => x2.matmul(&wt)?,
        };
        if x.ndim() == 2 {
            return Ok(y);
        }
        let mut shape = batch;
        shape.push(out_dims);
        y.reshape(&shape[..])
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

impl Identity {
    /// An Identity module.
    pub fn new() -> Identity {
        Identity::default()
    }

    /// Returns `x`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        Ok(x.clone())
    }
}

impl Forward for Identity {
    fn forward(&self, x: &Array) -> Result<Array> {
        Identity::forward(self, x)
    }
}

impl Forward for Linear {
    fn forward(&self, x: &Array) -> Result<Array> {
        Linear::forward(self, x)
    }
}
