//! `Embedding`.

use super::spread;
use crate::{Module, ModuleState};
use rmlx_core::{Array, Result};

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
    /// An `Embedding(num_embeddings, dims)`.
    pub fn new(num_embeddings: usize, dims: usize) -> Result<Embedding> {
        let scale = 1.0 / (dims.max(1) as f32).sqrt();
        Ok(Embedding {
            weight: spread(&[num_embeddings, dims], scale)?,
            state: ModuleState::default(),
        })
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
