//! `MultiHeadAttention` and the Transformer family, with MLX's member order
//! (MLX_SEMANTICS "What MLX ships" 3.6).

use super::{Activation, Dropout, LayerNorm, Linear};
use crate::{Module, ModuleState};
use rmlx_core::{Error, Result};

/// MLX `nn.MultiHeadAttention`: members `query_proj`, `key_proj`, `value_proj`, `out_proj`.
#[derive(Module, Clone)]
pub struct MultiHeadAttention {
    /// `query_input_dims → dims`.
    pub query_proj: Linear,
    /// `key_input_dims → dims`.
    pub key_proj: Linear,
    /// `value_input_dims → value_dims`.
    pub value_proj: Linear,
    /// `value_dims → value_output_dims`.
    pub out_proj: Linear,
    /// Number of heads (a plain attribute).
    #[module(skip)]
    pub num_heads: usize,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

/// The optional dimensions of [`MultiHeadAttention::with_dims`] (`None` = MLX's fallback).
#[derive(Debug, Clone, Copy, Default)]
pub struct MhaDims {
    /// Defaults to `dims`.
    pub query_input_dims: Option<usize>,
    /// Defaults to `dims`.
    pub key_input_dims: Option<usize>,
    /// Defaults to `key_input_dims`.
    pub value_input_dims: Option<usize>,
    /// Defaults to `dims`.
    pub value_dims: Option<usize>,
    /// Defaults to `dims`.
    pub value_output_dims: Option<usize>,
}

impl MultiHeadAttention {
    /// `MultiHeadAttention(dims, num_heads, bias=bias)` with the default input/output dims.
    pub fn new(dims: usize, num_heads: usize, bias: bool) -> Result<MultiHeadAttention> {
        Self::with_dims(dims, num_heads, MhaDims::default(), bias)
    }

    /// The full constructor; `dims % num_heads` must be 0.
    pub fn with_dims(
        dims: usize,
        num_heads: usize,
        d: MhaDims,
        bias: bool,
    ) -> Result<MultiHeadAttention> {
        if num_heads == 0 || dims % num_heads != 0 {
            return Err(Error::Value(format!(
                "The input feature dimensions should be divisible by the number of heads ({dims} % {num_heads}) != 0"
            )));
        }
        let q_in = d.query_input_dims.unwrap_or(dims);
        let k_in = d.key_input_dims.unwrap_or(dims);
        let v_in = d.value_input_dims.unwrap_or(k_in);
        let v_dims = d.value_dims.unwrap_or(dims);
        let v_out = d.value_output_dims.unwrap_or(dims);
        Ok(MultiHeadAttention {
            query_proj: Linear::new(q_in, dims, bias)?,
            key_proj: Linear::new(k_in, dims, bias)?,
            value_proj: Linear::new(v_in, v_dims, bias)?,
            out_proj: Linear::new(v_dims, v_out, bias)?,
            num_heads,
            state: ModuleState::default(),
        })
    }
}

/// The arguments shared by the Transformer layers (MLX's defaults in [`Default`]).
#[derive(Debug, Clone, Copy)]
pub struct TransformerConfig {
    /// Model width.
    pub dims: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// MLP width (`None` = `4 * dims`).
    pub mlp_dims: Option<usize>,
    /// Dropout probability.
    pub dropout: f32,
    /// The MLP activation.
    pub activation: Activation,
    /// Pre-norm (`true`, MLX's default) or post-norm.
    pub norm_first: bool,
}

impl Default for TransformerConfig {
    fn default() -> Self {
        TransformerConfig {
            dims: 512,
            num_heads: 8,
            mlp_dims: None,
            dropout: 0.0,
            activation: Activation::Relu,
            norm_first: true,
        }
    }
}

/// MLX `nn.TransformerEncoderLayer`: members `attention`, `ln1`, `ln2`, `linear1`, `linear2`,
/// `dropout1`, `dropout2`.
#[derive(Module, Clone)]
pub struct TransformerEncoderLayer {
    /// Self-attention (no biases).
    pub attention: MultiHeadAttention,
    /// Norm before/after attention.
    pub ln1: LayerNorm,
    /// Norm before/after the MLP.
    pub ln2: LayerNorm,
    /// `dims → mlp_dims`.
    pub linear1: Linear,
    /// `mlp_dims → dims`.
    pub linear2: Linear,
    /// After attention.
    pub dropout1: Dropout,
    /// After the activation.
    pub dropout2: Dropout,
    /// The activation (a plain attribute).
    #[module(skip)]
    pub activation: Activation,
    /// Pre-norm or post-norm.
    #[module(skip)]
    pub norm_first: bool,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl TransformerEncoderLayer {
    /// Builds the layer from `c`.
    pub fn new(c: &TransformerConfig) -> Result<TransformerEncoderLayer> {
        let mlp = c.mlp_dims.unwrap_or(4 * c.dims);
        Ok(TransformerEncoderLayer {
            attention: MultiHeadAttention::new(c.dims, c.num_heads, false)?,
            ln1: LayerNorm::new(c.dims, 1e-5, true, true)?,
            ln2: LayerNorm::new(c.dims, 1e-5, true, true)?,
            linear1: Linear::new(c.dims, mlp, true)?,
            linear2: Linear::new(mlp, c.dims, true)?,
            dropout1: Dropout::new(c.dropout)?,
            dropout2: Dropout::new(c.dropout)?,
            activation: c.activation,
            norm_first: c.norm_first,
            state: ModuleState::default(),
        })
    }
}

/// MLX `nn.TransformerEncoder`: members `layers` and the final `ln`.
#[derive(Module, Clone)]
pub struct TransformerEncoder {
    /// The encoder layers.
    pub layers: Vec<TransformerEncoderLayer>,
    /// The final LayerNorm (always applied).
    pub ln: LayerNorm,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl TransformerEncoder {
    /// `num_layers` encoder layers built from `c`.
    pub fn new(num_layers: usize, c: &TransformerConfig) -> Result<TransformerEncoder> {
        Ok(TransformerEncoder {
            layers: (0..num_layers)
                .map(|_| TransformerEncoderLayer::new(c))
                .collect::<Result<_>>()?,
            ln: LayerNorm::new(c.dims, 1e-5, true, true)?,
            state: ModuleState::default(),
        })
    }
}

/// MLX `nn.TransformerDecoderLayer`: members `self_attention`, `cross_attention`, `ln1`, `ln2`,
/// `ln3`, `linear1`, `linear2`, `dropout1`, `dropout2`, `dropout3`.
#[derive(Module, Clone)]
pub struct TransformerDecoderLayer {
    /// Self-attention.
    pub self_attention: MultiHeadAttention,
    /// Attention over the encoder memory.
    pub cross_attention: MultiHeadAttention,
    /// Norm around self-attention.
    pub ln1: LayerNorm,
    /// Norm around cross-attention.
    pub ln2: LayerNorm,
    /// Norm around the MLP.
    pub ln3: LayerNorm,
    /// `dims → mlp_dims`.
    pub linear1: Linear,
    /// `mlp_dims → dims`.
    pub linear2: Linear,
    /// After self-attention.
    pub dropout1: Dropout,
    /// After cross-attention.
    pub dropout2: Dropout,
    /// After the activation.
    pub dropout3: Dropout,
    /// The activation (a plain attribute).
    #[module(skip)]
    pub activation: Activation,
    /// Pre-norm or post-norm.
    #[module(skip)]
    pub norm_first: bool,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl TransformerDecoderLayer {
    /// Builds the layer from `c`.
    pub fn new(c: &TransformerConfig) -> Result<TransformerDecoderLayer> {
        let mlp = c.mlp_dims.unwrap_or(4 * c.dims);
        Ok(TransformerDecoderLayer {
            self_attention: MultiHeadAttention::new(c.dims, c.num_heads, false)?,
            cross_attention: MultiHeadAttention::new(c.dims, c.num_heads, false)?,
            ln1: LayerNorm::new(c.dims, 1e-5, true, true)?,
            ln2: LayerNorm::new(c.dims, 1e-5, true, true)?,
            ln3: LayerNorm::new(c.dims, 1e-5, true, true)?,
            linear1: Linear::new(c.dims, mlp, true)?,
            linear2: Linear::new(mlp, c.dims, true)?,
            dropout1: Dropout::new(c.dropout)?,
            dropout2: Dropout::new(c.dropout)?,
            dropout3: Dropout::new(c.dropout)?,
            activation: c.activation,
            norm_first: c.norm_first,
            state: ModuleState::default(),
        })
    }
}

/// MLX `nn.TransformerDecoder`: members `layers` and the final `ln`.
#[derive(Module, Clone)]
pub struct TransformerDecoder {
    /// The decoder layers.
    pub layers: Vec<TransformerDecoderLayer>,
    /// The final LayerNorm.
    pub ln: LayerNorm,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl TransformerDecoder {
    /// `num_layers` decoder layers built from `c`.
    pub fn new(num_layers: usize, c: &TransformerConfig) -> Result<TransformerDecoder> {
        Ok(TransformerDecoder {
            layers: (0..num_layers)
                .map(|_| TransformerDecoderLayer::new(c))
                .collect::<Result<_>>()?,
            ln: LayerNorm::new(c.dims, 1e-5, true, true)?,
            state: ModuleState::default(),
        })
    }
}

/// MLX `nn.Transformer`: members `encoder` and `decoder`, in that order.
#[derive(Module, Clone)]
pub struct Transformer {
    /// The encoder.
    pub encoder: TransformerEncoder,
    /// The decoder.
    pub decoder: TransformerDecoder,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl Transformer {
    /// `Transformer(dims, num_heads, num_encoder_layers, num_decoder_layers, …)` from `c`.
    pub fn new(
        num_encoder_layers: usize,
        num_decoder_layers: usize,
        c: &TransformerConfig,
    ) -> Result<Transformer> {
        Ok(Transformer {
            encoder: TransformerEncoder::new(num_encoder_layers, c)?,
            decoder: TransformerDecoder::new(num_decoder_layers, c)?,
            state: ModuleState::default(),
        })
    }
}
