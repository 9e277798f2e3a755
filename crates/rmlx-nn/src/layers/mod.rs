//! Built-in layers. Fields are declared in the order MLX assigns them, so flattened parameter
//! names and their order match MLX's (`encoder.layers.0.attention.query_proj.weight`, …).
//!
//! Until rmlx's random initialisers land, Linear and Embedding start from a deterministic
//! non-constant fill of MLX's range and norms from ones/zeros as in MLX; load real values with
//! `load_weights` or `update`.

mod activation;
mod dropout;
mod embedding;
mod linear;
mod norm;
mod sequential;
mod transformer;

pub use activation::{Activation, Gelu as GELU, Relu as ReLU};
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use linear::{Identity, Linear};
pub use norm::{LayerNorm, RMSNorm};
pub use sequential::Sequential;
pub use transformer::{
    MhaDims, MultiHeadAttention, Transformer, TransformerConfig, TransformerDecoder,
    TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer,
};

use rmlx_core::{Array, Result};

/// An array of `value` (f32) with the given shape.
pub(crate) fn filled(shape: &[usize], value: f32) -> Result<Array> {
    let n: usize = shape.iter().product();
    Array::from_vec(vec![value; n], shape)
}

/// A deterministic, non-constant fill in `[-scale, scale)` (a placeholder initialiser until
/// rmlx's random initialisers land; MLX draws `U(-scale, scale)` here).
pub(crate) fn spread(shape: &[usize], scale: f32) -> Result<Array> {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|i| scale * (((i * 37) % 101) as f32 / 50.5 - 1.0))
        .collect();
    Array::from_vec(v, shape)
}

/// Python's spelling of a bool in reprs.
pub(crate) fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}
