//! `Embedding`.

use super::Forward;
use crate::{Module, ModuleState};
use rmlx_core::{Array, Error, Result};

/// A lookup table (MLX `nn.Embedding`): `weight` `[num_embeddings, dims]`.
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct Embedding {
    /// `[num_embeddings, dims]`.
    pub weight: Array,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl Embedding {
    /// An `Embedding(num_embeddings, dims)`: weight drawn from `N(0, 1/dims)` (MLX's init).
    pub fn new(num_embeddings: usize, dims: usize) -> Result<Embedding> {
        let scale = (1.0 / dims.max(1) as f64).sqrt();
        Ok(Embedding {
            weight: rmlx_core::random::normal_with(
                &[num_embeddings, dims],
                rmlx_core::Dtype::F32,
                0.0,
                scale,
                None,
            )?,
            state: ModuleState::default(),
        })
    }

    /// `weight[x]`: looks up the rows of integer indices `x` (any shape) and returns
    /// `[*x.shape, dims]`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        if x.dtype().is_float() {
            return Err(Error::Dtype(format!(
                "[Embedding] indices must be integers, got {}",
                x.dtype()
            )));
        }
        self.weight.take(x, Some(0))
    }

    /// Uses the embedding as a linear layer with tied weights: `x @ weight^T` (MLX `as_linear`).
    pub fn as_linear(&self, x: &Array) -> Result<Array> {
        x.matmul(&self.weight.t()?)
    }

    fn repr_args(&self) -> String {
        let s = self.weight.shape();
        format!(
            "{}, {}",
            s.first().copied().unwrap_or(0),
            s.get(1).copied().unwrap_or(0)
        )
    }
}

impl Forward for Embedding {
    fn forward(&self, x: &Array) -> Result<Array> {
        Embedding::forward(self, x)
    }
}
