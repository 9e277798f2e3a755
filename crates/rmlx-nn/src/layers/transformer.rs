//! `MultiHeadAttention` and the Transformer family, with MLX's member order
//! (MLX_SEMANTICS "What MLX ships" 3.6).

use super::{Activation, Dropout, LayerNorm, Linear};
use crate::{Member, Module, ModuleState};
use rmlx_core::fast::{scaled_dot_product_attention, SdpaMask};
use rmlx_core::{Array, Dtype, Error, Result};

fn sdpa_mask(mask: Option<&Array>) -> SdpaMask<'_> {
    match mask {
        Some(m) => SdpaMask::Array(m),
        None => SdpaMask::None,
    }
}

/// The one output of a checkpointed layer call.
fn single(outs: Vec<Array>) -> Result<Array> {
    outs.into_iter().next().ok_or_else(|| {
        Error::Transform("checkpoint: the checkpointed layer returned no array".into())
    })
}

/// The most negative finite value of a float dtype (MLX `finfo(dtype).min`).
fn finfo_min(dtype: Dtype) -> Result<f64> {
    Ok(match dtype {
        Dtype::F16 => rmlx_core::f16::MIN.to_f64(),
        Dtype::Bf16 => rmlx_core::bf16::MIN.to_f64(),
        Dtype::F32 => f32::MIN as f64,
        Dtype::F64 => f64::MIN,
        d => return Err(Error::Dtype(format!("[finfo] dtype {d} is not inexact"))),
    })
}

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
        if num_heads == 0 || !dims.is_multiple_of(num_heads) {
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

impl MultiHeadAttention {
    /// `[n, n]` additive causal mask of `dtype` (MLX's static method): `-0.0` on and below the
    /// diagonal (`0 * min`) and `finfo(dtype).min` (not `-inf`) above it.
    pub fn create_additive_causal_mask(n: usize, dtype: Dtype) -> Result<Array> {
        let min = finfo_min(dtype)?;
        let idx = rmlx_core::arange(0.0, n as f64, 1.0, Dtype::I32)?;
        let above = idx.reshape(&[n, 1][..])?.less(&idx.reshape(&[1, n][..])?)?;
        above.astype(dtype)? * &Array::scalar_as(min, dtype)
    }

    /// Attention of `queries [B, Lq, query_input_dims]` over `keys [B, Lk, key_input_dims]` and
    /// `values [B, Lk, value_input_dims]`: project, split into `num_heads` heads, run
    /// `fast::scaled_dot_product_attention` with scale `1/√(dims/num_heads)` and the optional
    /// additive (or boolean) `mask` broadcasting to `[B, H, Lq, Lk]`, merge the heads and apply
    /// `out_proj`.
    pub fn forward(
        &self,
        queries: &Array,
        keys: &Array,
        values: &Array,
        mask: Option<&Array>,
    ) -> Result<Array> {
        for (what, a) in [("queries", queries), ("keys", keys), ("values", values)] {
            if a.ndim() != 3 {
                return Err(Error::Shape(format!(
                    "[MultiHeadAttention] {what} must be 3-D [batch, length, features], got shape {:?}",
                    a.shape()
                )));
            }
        }
        let h = self.num_heads as isize;
        let heads = |a: Array| -> Result<Array> {
            a.unflatten(-1, &[h, -1][..])?.transpose_axes(&[0, 2, 1, 3])
        };
        let q = heads(self.query_proj.forward(queries)?)?;
        let k = heads(self.key_proj.forward(keys)?)?;
        let v = heads(self.value_proj.forward(values)?)?;
        let d = q.shape().last().copied().unwrap_or(1);
        let scale = (1.0 / d as f64).sqrt();
        let o = scaled_dot_product_attention(&q, &k, &v, scale, sdpa_mask(mask))?;
        let o = o.transpose_axes(&[0, 2, 1, 3])?.flatten(-2, -1)?;
        self.out_proj.forward(&o)
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
    /// Gradient checkpointing of each encoder/decoder layer (MLX's `checkpoint=True`; default
    /// `false`): layer intermediates are recomputed in the backward pass instead of kept.
    pub checkpoint: bool,
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
            checkpoint: false,
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

impl TransformerEncoderLayer {
    /// `x [B, L, dims]` through attention and the MLP, pre-norm
    /// (`x + attn(ln1(x))`, then `x + linear2(drop(act(linear1(ln2(x)))))`) or post-norm.
    pub fn forward(&self, x: &Array, mask: Option<&Array>) -> Result<Array> {
        let mlp = |y: &Array| -> Result<Array> {
            let y = self.linear1.forward(y)?;
            let y = self.activation.apply(&y)?;
            let y = self.dropout2.forward(&y)?;
            self.linear2.forward(&y)
        };
        if self.norm_first {
            let y = self.ln1.forward(x)?;
            let y = self.attention.forward(&y, &y, &y, mask)?;
            let x = (x + &self.dropout1.forward(&y)?)?;
            let y = mlp(&self.ln2.forward(&x)?)?;
            &x + &y
        } else {
            let y = self.attention.forward(x, x, x, mask)?;
            let x = self.ln1.forward(&(x + &self.dropout1.forward(&y)?)?)?;
            let y = mlp(&x)?;
            self.ln2.forward(&(&x + &y)?)
        }
    }
}

/// MLX `nn.TransformerEncoder`: members `layers` and the final `ln`.
#[derive(Module, Clone)]
pub struct TransformerEncoder {
    /// The encoder layers.
    pub layers: Vec<TransformerEncoderLayer>,
    /// The final LayerNorm (always applied).
    pub ln: LayerNorm,
    /// Wrap each layer call in [`checkpoint`](crate::checkpoint) (a plain attribute).
    #[module(skip)]
    pub checkpoint: bool,
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
            checkpoint: c.checkpoint,
            state: ModuleState::default(),
        })
    }
}

impl TransformerEncoder {
    /// Each layer in order with `mask` (checkpointed if `checkpoint`), then the final
    /// LayerNorm.
    pub fn forward(&self, x: &Array, mask: Option<&Array>) -> Result<Array> {
        let mut x = x.clone();
        for l in &self.layers {
            x = if self.checkpoint {
                let f = crate::checkpoint(l, |l: &TransformerEncoderLayer, xs: &[Array]| {
                    let [x, rest @ ..] = xs else {
                        return Err(Error::Value("TransformerEncoder: no input".into()));
                    };
                    Ok(vec![l.forward(x, rest.first())?])
                });
                let mut ins = vec![x];
                ins.extend(mask.cloned());
                single(f(&ins)?)?
            } else {
                l.forward(&x, mask)?
            };
        }
        self.ln.forward(&x)
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

impl TransformerDecoderLayer {
    /// Self-attention with `x_mask`, cross-attention over `memory` with `memory_mask`, then
    /// the MLP; pre-norm or post-norm as MLX.
    pub fn forward(
        &self,
        x: &Array,
        memory: &Array,
        x_mask: Option<&Array>,
        memory_mask: Option<&Array>,
    ) -> Result<Array> {
        let mlp = |y: &Array| -> Result<Array> {
            let y = self.linear1.forward(y)?;
            let y = self.activation.apply(&y)?;
            let y = self.dropout3.forward(&y)?;
            self.linear2.forward(&y)
        };
        if self.norm_first {
            let y = self.ln1.forward(x)?;
            let y = self.self_attention.forward(&y, &y, &y, x_mask)?;
            let x = (x + &self.dropout1.forward(&y)?)?;
            let y = self.ln2.forward(&x)?;
            let y = self
                .cross_attention
                .forward(&y, memory, memory, memory_mask)?;
            let x = (&x + &self.dropout2.forward(&y)?)?;
            let y = mlp(&self.ln3.forward(&x)?)?;
            &x + &y
        } else {
            let y = self.self_attention.forward(x, x, x, x_mask)?;
            let x = self.ln1.forward(&(x + &self.dropout1.forward(&y)?)?)?;
            let y = self
                .cross_attention
                .forward(&x, memory, memory, memory_mask)?;
            let x = self.ln2.forward(&(&x + &self.dropout2.forward(&y)?)?)?;
            let y = mlp(&x)?;
            self.ln3.forward(&(&x + &y)?)
        }
    }
}

/// MLX `nn.TransformerDecoder`: members `layers` and the final `ln`.
#[derive(Module, Clone)]
pub struct TransformerDecoder {
    /// The decoder layers.
    pub layers: Vec<TransformerDecoderLayer>,
    /// The final LayerNorm.
    pub ln: LayerNorm,
    /// Wrap each layer call in [`checkpoint`](crate::checkpoint) (a plain attribute).
    #[module(skip)]
    pub checkpoint: bool,
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
            checkpoint: c.checkpoint,
            state: ModuleState::default(),
        })
    }
}

impl TransformerDecoder {
    /// Each layer in order, then the final LayerNorm.
    pub fn forward(
        &self,
        x: &Array,
        memory: &Array,
        x_mask: Option<&Array>,
        memory_mask: Option<&Array>,
    ) -> Result<Array> {
        let mut x = x.clone();
        let (has_x_mask, has_memory_mask) = (x_mask.is_some(), memory_mask.is_some());
        for l in &self.layers {
            x = if self.checkpoint {
                let f = crate::checkpoint(l, move |l: &TransformerDecoderLayer, xs: &[Array]| {
                    let mut rest = xs.iter().skip(2);
                    let xm = if has_x_mask { rest.next() } else { None };
                    let mm = if has_memory_mask { rest.next() } else { None };
                    let [x, memory, ..] = xs else {
                        return Err(Error::Value(
                            "TransformerDecoder: expected x and memory".into(),
                        ));
                    };
                    Ok(vec![l.forward(x, memory, xm, mm)?])
                });
                let mut ins = vec![x, memory.clone()];
                ins.extend(x_mask.cloned());
                ins.extend(memory_mask.cloned());
                single(f(&ins)?)?
            } else {
                l.forward(&x, memory, x_mask, memory_mask)?
            };
        }
        self.ln.forward(&x)
    }
}

/// What [`Transformer`] needs of its encoder: a module called as MLX's encoders are,
/// `encoder(x, mask)` (MLX's `custom_encoder`). [`TransformerEncoder`] implements it; so can any
/// `#[derive(Module)]` struct, whose parameters then appear under `encoder.` in the model.
///
/// ```
/// use rmlx_core::{Array, Result};
/// use rmlx_nn::{Encoder, Linear, Module, ModuleState};
///
/// /// One Linear as the whole encoder (the mask is ignored).
/// #[derive(Module)]
/// struct LinearEncoder {
///     proj: Linear,
///     state: ModuleState,
/// }
///
/// impl Encoder for LinearEncoder {
///     fn encode(&self, x: &Array, _mask: Option<&Array>) -> Result<Array> {
///         self.proj.forward(x)
///     }
/// }
/// ```
pub trait Encoder: Module + Member {
    /// `x [B, L, dims]` (with the optional additive or boolean `mask`) to the memory the
    /// decoder attends to.
    fn encode(&self, x: &Array, mask: Option<&Array>) -> Result<Array>;
}

/// What [`Transformer`] needs of its decoder: a module called as MLX's decoders are,
/// `decoder(x, memory, x_mask, memory_mask)` (MLX's `custom_decoder`). [`TransformerDecoder`]
/// implements it; so can any `#[derive(Module)]` struct (see [`Encoder`] for the pattern).
pub trait Decoder: Module + Member {
    /// `x [B, L, dims]` attending to itself (with `x_mask`) and to `memory` (with
    /// `memory_mask`).
    fn decode(
        &self,
        x: &Array,
        memory: &Array,
        x_mask: Option<&Array>,
        memory_mask: Option<&Array>,
    ) -> Result<Array>;
}

impl Encoder for TransformerEncoder {
    /// [`TransformerEncoder::forward`].
    fn encode(&self, x: &Array, mask: Option<&Array>) -> Result<Array> {
        self.forward(x, mask)
    }
}

impl Decoder for TransformerDecoder {
    /// [`TransformerDecoder::forward`].
    fn decode(
        &self,
        x: &Array,
        memory: &Array,
        x_mask: Option<&Array>,
        memory_mask: Option<&Array>,
    ) -> Result<Array> {
        self.forward(x, memory, x_mask, memory_mask)
    }
}

/// MLX `nn.Transformer`: members `encoder` and `decoder`, in that order.
///
/// The encoder and decoder types are parameters defaulting to MLX's own, so the plain
/// `Transformer` (built by [`Transformer::new`]) is MLX's default model with typed access to
/// `model.encoder.layers[0]`; [`Transformer::with_custom`] plugs in any [`Encoder`] /
/// [`Decoder`] (MLX's `custom_encoder` / `custom_decoder`), still under the member names
/// `encoder` and `decoder`.
///
/// ```
/// use rmlx_core::{Array, Result};
/// use rmlx_nn::{Encoder, Linear, Module, ModuleExt, ModuleState, Transformer,
///               TransformerConfig, TransformerDecoder};
///
/// #[derive(Module)]
/// struct LinearEncoder {
///     proj: Linear,
///     state: ModuleState,
/// }
/// impl Encoder for LinearEncoder {
///     fn encode(&self, x: &Array, _mask: Option<&Array>) -> Result<Array> {
///         self.proj.forward(x)
///     }
/// }
///
/// let cfg = TransformerConfig { dims: 4, num_heads: 2, mlp_dims: Some(8), ..Default::default() };
/// let encoder = LinearEncoder { proj: Linear::new(4, 4, true)?, state: ModuleState::default() };
/// let model = Transformer::with_custom(encoder, TransformerDecoder::new(1, &cfg)?);
/// let keys: Vec<String> = model.parameters().flatten().into_iter().map(|(k, _)| k).collect();
/// assert_eq!(&keys[..3], ["encoder.proj.weight", "encoder.proj.bias", "decoder.layers.0.self_attention.query_proj.weight"]);
/// let src = rmlx_core::zeros(&[1, 3, 4], rmlx_core::Dtype::F32)?;
/// let tgt = rmlx_core::zeros(&[1, 2, 4], rmlx_core::Dtype::F32)?;
/// assert_eq!(model.forward(&src, &tgt, None, None, None)?.shape(), &[1, 2, 4]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
#[derive(Module, Clone)]
pub struct Transformer<E: Encoder = TransformerEncoder, D: Decoder = TransformerDecoder> {
    /// The encoder.
    pub encoder: E,
    /// The decoder.
    pub decoder: D,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl Transformer {
    /// `Transformer(dims, num_heads, num_encoder_layers, num_decoder_layers, …)` from `c`: MLX's
    /// default [`TransformerEncoder`] and [`TransformerDecoder`].
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

impl<E: Encoder, D: Decoder> Transformer<E, D> {
    /// A Transformer over the given encoder and decoder (MLX's `custom_encoder` and
    /// `custom_decoder`; pass `TransformerEncoder::new(n, &c)?` or `TransformerDecoder::new(n,
    /// &c)?` for the side that stays MLX's default).
    pub fn with_custom(encoder: E, decoder: D) -> Transformer<E, D> {
        Transformer {
            encoder,
            decoder,
            state: ModuleState::default(),
        }
    }

    /// This model with its encoder replaced by `encoder` (the decoder and the model's own state,
    /// frozen names and training flag, are kept).
    pub fn with_encoder<E2: Encoder>(self, encoder: E2) -> Transformer<E2, D> {
        Transformer {
            encoder,
            decoder: self.decoder,
            state: self.state,
        }
    }

    /// This model with its decoder replaced by `decoder` (the encoder and the model's own state
    /// are kept).
    pub fn with_decoder<D2: Decoder>(self, decoder: D2) -> Transformer<E, D2> {
        Transformer {
            encoder: self.encoder,
            decoder,
            state: self.state,
        }
    }

    /// `memory = encoder(src, src_mask)`, then `decoder(tgt, memory, tgt_mask, memory_mask)`
    /// (MLX's `model(src, tgt, src_mask, tgt_mask, memory_mask)`; `None` = no mask), through
    /// [`Encoder::encode`] and [`Decoder::decode`].
    pub fn forward(
        &self,
        src: &Array,
        tgt: &Array,
        src_mask: Option<&Array>,
        tgt_mask: Option<&Array>,
        memory_mask: Option<&Array>,
    ) -> Result<Array> {
        let memory = self.encoder.encode(src, src_mask)?;
        self.decoder.decode(tgt, &memory, tgt_mask, memory_mask)
    }
}
