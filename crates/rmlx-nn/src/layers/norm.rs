//! `LayerNorm` and `RMSNorm`.

use super::{filled, py_bool};
use crate::{Module, ModuleState};
use rmlx_core::{Array, Error, Result};

/// Layer normalisation over the last axis (MLX `nn.LayerNorm`): `weight` (ones) and `bias`
/// (zeros) of shape `[dims]` when `affine` (and `bias`).
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct LayerNorm {
    /// Scale, `[dims]`, present when `affine`.
    pub weight: Option<Array>,
    /// Shift, `[dims]`, present when `affine` and `bias`.
    pub bias: Option<Array>,
    /// Feature size.
    #[module(skip)]
    pub dims: usize,
    /// Epsilon added to the variance.
    #[module(skip)]
    pub eps: f32,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl LayerNorm {
    /// `LayerNorm(dims, eps, affine, bias)`; `eps` must be positive.
    pub fn new(dims: usize, eps: f32, affine: bool, bias: bool) -> Result<LayerNorm> {
        if eps.is_nan() || eps <= 0.0 {
            return Err(Error::Value(format!(
                "[LayerNorm] 'eps' must be positive, got {eps}"
            )));
        }
        Ok(LayerNorm {
            weight: if affine {
                Some(filled(&[dims], 1.0)?)
            } else {
                None
            },
            bias: if affine && bias {
                Some(filled(&[dims], 0.0)?)
            } else {
                None
            },
            dims,
            eps,
            state: ModuleState::default(),
        })
    }

    fn repr_args(&self) -> String {
        format!(
            "{}, eps={}, affine={}",
            self.dims,
            self.eps,
            py_bool(self.weight.is_some())
        )
    }
}

/// Root-mean-square normalisation over the last axis (MLX `nn.RMSNorm`): `weight` `[dims]`.
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct RMSNorm {
    /// Scale, `[dims]` (ones).
    pub weight: Array,
    /// Epsilon.
    #[module(skip)]
    pub eps: f32,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl RMSNorm {
    /// `RMSNorm(dims, eps)`.
    pub fn new(dims: usize, eps: f32) -> Result<RMSNorm> {
        Ok(RMSNorm {
            weight: filled(&[dims], 1.0)?,
            eps,
            state: ModuleState::default(),
        })
    }

    fn repr_args(&self) -> String {
        format!(
            "{}, eps={}",
            self.weight.shape().first().copied().unwrap_or(0),
            self.eps
        )
    }
}
