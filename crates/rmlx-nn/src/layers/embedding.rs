//! `Embedding`.

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

    fn repr_args(&self) -> String {
        let s = self.weight.shape();
        format!(
            "{}, {}",
            s.first().copied().unwrap_or(0),
            s.get(1).copied().unwrap_or(0)
        )
    }
}
