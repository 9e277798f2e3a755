//! `LayerNorm` and `RMSNorm`.

use super::{filled, py_bool, Forward};
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

    /// `fast::layer_norm(x, weight, bias, eps)` over the last axis, which must have `dims`
    /// entries.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        if x.shape().last() != Some(&self.dims) {
            return Err(Error::Shape(format!(
                "[LayerNorm] the last dimension of the input with shape {:?} must be {}",
                x.shape(),
                self.dims
            )));
        }
        rmlx_core::fast::layer_norm(x, self.weight.as_ref(), self.bias.as_ref(), self.eps as f64)
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
    /// `RMSNorm(dims, eps)`; `eps` must be positive.
    pub fn new(dims: usize, eps: f32) -> Result<RMSNorm> {
        if eps.is_nan() || eps <= 0.0 {
            return Err(Error::Value(format!(
                "[RMSNorm] 'eps' must be positive, got {eps}"
            )));
        }
        Ok(RMSNorm {
            weight: filled(&[dims], 1.0)?,
            eps,
            state: ModuleState::default(),
        })
    }

    /// `fast::rms_norm(x, weight, eps)` over the last axis.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        rmlx_core::fast::rms_norm(x, Some(&self.weight), self.eps as f64)
    }

    fn repr_args(&self) -> String {
        format!(
            "{}, eps={}",
            self.weight.shape().first().copied().unwrap_or(0),
            self.eps
        )
    }
}

impl Forward for LayerNorm {
    fn forward(&self, x: &Array) -> Result<Array> {
        LayerNorm::forward(self, x)
    }
}

impl Forward for RMSNorm {
    fn forward(&self, x: &Array) -> Result<Array> {
        RMSNorm::forward(self, x)
    }
}
