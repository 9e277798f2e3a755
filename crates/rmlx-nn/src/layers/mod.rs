//! Built-in layers. Fields are declared in the order MLX assigns them, so flattened parameter
//! names and their order match MLX's (`encoder.layers.0.attention.query_proj.weight`, …).
//!
//! Initial values are drawn exactly as MLX draws them (from the global key sequence, in the same
//! order), so `rmlx_core::random::seed(s)` followed by a constructor gives MLX's values bit for bit.

mod activation;
mod dropout;
mod embedding;
mod linear;
pub mod lora;
mod norm;
mod sequential;
mod transformer;

pub use activation::{Activation, Gelu as GELU, Relu as ReLU};
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use linear::{Identity, Linear};
pub use lora::*;
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

/// `U(-scale, scale)` float32 from the global key sequence (MLX's `Linear` init).
pub(crate) fn uniform_init(shape: &[usize], scale: f64) -> Result<Array> {
    rmlx_core::random::uniform_with(-scale, scale, shape, rmlx_core::Dtype::F32, None)
}

/// Python's spelling of a bool in reprs.
pub(crate) fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}
