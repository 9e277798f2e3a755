//! Built-in layers. Fields are declared in the order MLX assigns them, so flattened parameter
//! names and their order match MLX's (`encoder.layers.0.attention.query_proj.weight`, …).
//!
//! Initial values are drawn exactly as MLX draws them (from the global key sequence, in the same
//! order), so `rmlx_core::random::seed(s)` followed by a constructor gives MLX's values bit for bit.

mod activation;
mod bilinear;
mod conv;
mod conv_transpose;
mod dropout;
mod embedding;
mod fully_sharded;
mod linear;
pub mod lora;
mod norm;
pub(crate) mod norms_extra;
mod pooling;
mod positional;
mod qq_linear;
pub(crate) mod quantized;
mod recurrent;
mod sequential;
mod sharded;
mod transformer;
mod upsample;

pub use activation::{
    Activation, Celu as CELU, Elu as ELU, Gelu as GELU, Glu as GLU, HardShrink, HardTanh,
    Hardswish, LeakyRelu as LeakyReLU, LogSigmoid, LogSoftmax, Mish, PRelu as PReLU, Relu as ReLU,
    Relu2 as ReLU2, Relu6 as ReLU6, Selu as SELU, Sigmoid, Silu as SiLU, Softmax, Softmin,
    Softplus, Softshrink, Softsign, Step, Tanh,
};
pub use bilinear::Bilinear;
pub use conv::{Conv1d, Conv2d, Conv3d, Size2, Size3};
pub use conv_transpose::{ConvTranspose1d, ConvTranspose2d, ConvTranspose3d};
pub use dropout::{Dropout, Dropout2d, Dropout3d};
pub use embedding::Embedding;
pub use fully_sharded::{fully_shard, FullyShardedModule};
pub use linear::{Identity, Linear};
pub use lora::*;
pub use norm::{LayerNorm, RMSNorm};
pub use norms_extra::{BatchNorm, GroupNorm, InstanceNorm};
pub use pooling::{AvgPool1d, AvgPool2d, AvgPool3d, MaxPool1d, MaxPool2d, MaxPool3d};
pub use positional::{ALiBi, RoPE, SinusoidalPositionalEncoding};
pub use qq_linear::QQLinear;
pub use quantized::{
    quantization_defaults, quantize, quantize_mode, quantize_with_inputs, QuantizePredicate,
    QuantizedEmbedding, QuantizedLinear, QUANTIZE_DEFAULT_BITS, QUANTIZE_DEFAULT_GROUP_SIZE,
};
pub use recurrent::{Gru as GRU, Lstm as LSTM, Nonlinearity, NonlinearityFn, Rnn as RNN};
pub use sequential::Sequential;
pub use sharded::{
    sum_gradients, AllToShardedLinear, QuantizedAllToShardedLinear, QuantizedShardedToAllLinear,
    ShardedToAllLinear,
};
pub use transformer::{
    Decoder, Encoder, MhaDims, MultiHeadAttention, Transformer, TransformerConfig,
    TransformerDecoder, TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer,
};
pub use upsample::{
    upsample_cubic, upsample_linear, upsample_nearest, Scale, Upsample, UpsampleMode,
};

use crate::Module;
use rmlx_core::{Array, Error, Result};

/// A layer called with one array (`Linear`, `LayerNorm`, activations, `Sequential`…): what
/// [`Sequential`] chains. Each built-in layer also has an inherent `forward` with the same
/// meaning, so `layer.forward(&x)` works without importing this trait.
pub trait Forward {
    /// Applies the layer to `x`.
    fn forward(&self, x: &Array) -> Result<Array>;
}

/// Calls a `dyn Module` that is one of the built-in single-input layers (the types implementing
/// [`Forward`] in this crate); any other module is an `Err` naming its class.
pub fn forward_dyn(m: &dyn Module, x: &Array) -> Result<Array> {
    let a = m.as_any();
    macro_rules! try_types {
        ($($t:ty),* $(,)?) => {
            $(
                if let Some(l) = a.downcast_ref::<$t>() {
                    return Forward::forward(l, x);
                }
            )*
        };
    }
    try_types!(
        Linear,
        QuantizedLinear,
        QuantizedEmbedding,
        QQLinear,
        Identity,
        Embedding,
        LayerNorm,
        RMSNorm,
        Dropout,
        Dropout2d,
        Dropout3d,
        GroupNorm,
        InstanceNorm,
        BatchNorm,
        RoPE,
        SinusoidalPositionalEncoding,
        ALiBi,
        Sequential,
        recurrent::Rnn,
        recurrent::Gru,
        activation::Relu,
        activation::Relu2,
        activation::Relu6,
        activation::Selu,
        activation::Sigmoid,
        activation::Silu,
        activation::Tanh,
        activation::Softplus,
        activation::Softsign,
        activation::Mish,
        activation::LogSigmoid,
        activation::Hardswish,
        activation::HardTanh,
        activation::LogSoftmax,
        activation::Softmax,
        activation::Softmin,
        activation::Glu,
        activation::LeakyRelu,
        activation::Elu,
        activation::Celu,
        activation::Softshrink,
        activation::HardShrink,
        activation::Step,
        activation::Gelu,
        activation::PRelu,
        Conv1d,
        Conv2d,
        MaxPool1d,
        MaxPool2d,
        AvgPool1d,
        AvgPool2d,
    );
    Err(Error::Value(format!(
        "{}: not a single-input layer (Sequential can only chain built-in single-input layers)",
        m.class_name()
    )))
}

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
