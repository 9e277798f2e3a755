//! BERT encoders (Hugging Face `BertModel`), loaded from a checkpoint folder by the checkpoint's
//! own parameter names, and sentence embeddings (sentence-transformers' mean pooling and
//! normalisation).
//!
//! The module tree mirrors Hugging Face's, so `model.parameters()` has the checkpoint's names:
//! `embeddings.word_embeddings.weight`, `encoder.layer.0.attention.self.query.bias`,
//! `encoder.layer.0.output.LayerNorm.weight`, `pooler.dense.weight`, …
//!
//! **Name map** ([`BertModel::from_pretrained`]): a leading `bert.` (the `BertFor…` heads'
//! checkpoints) is removed; the old `LayerNorm.gamma` / `LayerNorm.beta` names become `weight` /
//! `bias`; `embeddings.position_ids` (a constant buffer, not a parameter) and the pre-training
//! heads `cls.*` are dropped. The pooler is built when the checkpoint has one.
//!
//! Dropout is not applied: the forward is the model in evaluation mode, in training too.
//!
//! ```
//! use rmlx_models::bert::{BertConfig, BertModel};
//! use rmlx_core::Array;
//! let cfg = BertConfig { vocab_size: 50, hidden_size: 16, num_hidden_layers: 2,
//!                        num_attention_heads: 4, intermediate_size: 32, ..BertConfig::default() };
//! let model = BertModel::new(&cfg, true)?;
//! let ids = Array::from_slice(&[2i32, 7, 9, 0, 2, 4, 0, 0], &[2, 4])?;
//! let mask = Array::from_slice(&[1i32, 1, 1, 0, 1, 1, 0, 0], &[2, 4])?;
//! let hidden = model.forward(&ids, Some(&mask), None)?;
//! assert_eq!(hidden.shape(), &[2, 4, 16]);
//! let emb = rmlx_models::bert::sentence_embeddings(&hidden, &mask)?; // mean-pooled, unit length
//! assert_eq!(emb.shape(), &[2, 16]);
//! # Ok::<(), rmlx_core::Error>(())
//! ```

// Indexing below is into shapes `check_inputs` proved 2-D ([batch, length]) and the layers keep
// 3-D, into the keep-mask of `batch * length` entries read from that checked mask, and into
// `bounds`, which the packed forward builds with `batch + 1` entries.
#![allow(clippy::indexing_slicing)]

use crate::hf;
use indexmap::IndexMap;
use rmlx_core::fast::{scaled_dot_product_attention, SdpaMask};
use rmlx_core::{Array, Dtype, Error, Result};
use rmlx_nn::{Embedding, LayerNorm, Linear, ModuleState};
use serde_json::Value;
use std::path::Path;

/// The activation of the feed-forward block (`hidden_act` in `config.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HiddenAct {
    /// `"gelu"`: exact, through `erf`.
    Gelu,
    /// `"gelu_new"`, `"gelu_pytorch_tanh"`: the tanh approximation.
    GeluTanh,
    /// `"relu"`.
    Relu,
    /// `"silu"` / `"swish"`.
    Silu,
}

impl HiddenAct {
    /// Parses Hugging Face's name.
    pub fn from_name(name: &str) -> Result<HiddenAct> {
        Ok(match name {
            "gelu" => HiddenAct::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" => HiddenAct::GeluTanh,
            "relu" => HiddenAct::Relu,
            "silu" | "swish" => HiddenAct::Silu,
            other => {
                return Err(Error::Value(format!(
                    "config.json: hidden_act {other:?} is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu, silu)"
                )))
            }
        })
    }

    fn apply(self, x: &Array) -> Result<Array> {
        match self {
            HiddenAct::Gelu => rmlx_nn::activations::gelu(x),
            HiddenAct::GeluTanh => rmlx_nn::activations::gelu_approx(x),
            HiddenAct::Relu => rmlx_nn::activations::relu(x),
            HiddenAct::Silu => rmlx_nn::activations::silu(x),
        }
    }
}

/// A BERT `config.json`'s architecture fields.
#[derive(Debug, Clone, PartialEq)]
pub struct BertConfig {
    /// Rows of the word embedding.
    pub vocab_size: usize,
    /// Model width.
    pub hidden_size: usize,
    /// Encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads (a divisor of `hidden_size`).
    pub num_attention_heads: usize,
    /// Feed-forward width.
    pub intermediate_size: usize,
    /// Rows of the position embedding: the longest input.
    pub max_position_embeddings: usize,
    /// Rows of the token-type (segment) embedding.
    pub type_vocab_size: usize,
    /// The feed-forward activation.
    pub hidden_act: HiddenAct,
    /// The LayerNorms' epsilon.
    pub layer_norm_eps: f64,
}

impl Default for BertConfig {
    /// BERT-base's values.
    fn default() -> Self {
        BertConfig {
            vocab_size: 30522,
            hidden_size: 768,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            intermediate_size: 3072,
            max_position_embeddings: 512,
            type_vocab_size: 2,
            hidden_act: HiddenAct::Gelu,
            layer_norm_eps: 1e-12,
        }
    }
}

impl BertConfig {
    /// Reads the fields from a parsed `config.json`; a `model_type` other than `"bert"` or a
    /// `position_embedding_type` other than `"absolute"` is an error.
    pub fn from_json(c: &Value) -> Result<BertConfig> {
        if let Some(t) = c["model_type"].as_str() {
            if t != "bert" {
                return Err(Error::Value(format!(
                    "config.json: model_type {t:?} is not \"bert\""
                )));
            }
        }
        if let Some(p) = c["position_embedding_type"].as_str() {
            if p != "absolute" {
                return Err(Error::Value(format!(
                    "config.json: position_embedding_type {p:?} is not supported (\"absolute\" only)"
                )));
            }
        }
        let d = BertConfig::default();
        let cfg = BertConfig {
            vocab_size: hf::get_usize(c, "vocab_size")?,
            hidden_size: hf::get_usize(c, "hidden_size")?,
            num_hidden_layers: hf::get_usize(c, "num_hidden_layers")?,
            num_attention_heads: hf::get_usize(c, "num_attention_heads")?,
            intermediate_size: hf::get_usize(c, "intermediate_size")?,
            max_position_embeddings: hf::get_usize_or(
                c,
                "max_position_embeddings",
                d.max_position_embeddings,
            )?,
            type_vocab_size: hf::get_usize_or(c, "type_vocab_size", d.type_vocab_size)?,
            hidden_act: HiddenAct::from_name(c["hidden_act"].as_str().unwrap_or("gelu"))?,
            layer_norm_eps: hf::get_f64_or(c, "layer_norm_eps", d.layer_norm_eps)?,
        };
        cfg.check()?;
        Ok(cfg)
    }

    fn check(&self) -> Result<()> {
        let h = self.num_attention_heads;
        if h == 0 || !self.hidden_size.is_multiple_of(h) {
            return Err(Error::Value(format!(
                "BertConfig: hidden_size {} must be a multiple of num_attention_heads {h}",
                self.hidden_size
            )));
        }
        if self.type_vocab_size == 0 || self.max_position_embeddings == 0 {
            return Err(Error::Value(
                "BertConfig: type_vocab_size and max_position_embeddings must be positive".into(),
            ));
        }
        Ok(())
    }
}

/// Word, position and token-type embeddings, summed and normalised.
#[derive(rmlx_macros::Module, Clone)]
pub struct BertEmbeddings {
    /// `[vocab_size, hidden]`.
    pub word_embeddings: Embedding,
    /// `[max_position_embeddings, hidden]`.
    pub position_embeddings: Embedding,
    /// `[type_vocab_size, hidden]`.
    pub token_type_embeddings: Embedding,
    /// Hugging Face's `LayerNorm`.
    #[module(rename = "LayerNorm")]
    pub layer_norm: LayerNorm,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

/// The query, key and value projections (Hugging Face's `attention.self`).
#[derive(rmlx_macros::Module, Clone)]
pub struct BertSelfAttention {
    /// Query projection.
    pub query: Linear,
    /// Key projection.
    pub key: Linear,
    /// Value projection.
    pub value: Linear,
    /// Heads.
    #[module(skip)]
    pub num_heads: usize,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

/// A projection, then a residual LayerNorm (`attention.output`, and `output` of each layer).
#[derive(rmlx_macros::Module, Clone)]
pub struct BertResidual {
    /// The projection.
    pub dense: Linear,
    /// Hugging Face's `LayerNorm`.
    #[module(rename = "LayerNorm")]
    pub layer_norm: LayerNorm,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

/// Self-attention and its output block.
#[derive(rmlx_macros::Module, Clone)]
pub struct BertAttention {
    /// Hugging Face's `self`.
    #[module(rename = "self")]
    pub self_attention: BertSelfAttention,
    /// The output projection and LayerNorm.
    pub output: BertResidual,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

/// The feed-forward block's first projection.
#[derive(rmlx_macros::Module, Clone)]
pub struct BertIntermediate {
    /// `hidden → intermediate`.
    pub dense: Linear,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

/// One encoder layer.
#[derive(rmlx_macros::Module, Clone)]
pub struct BertLayer {
    /// Self-attention.
    pub attention: BertAttention,
    /// `hidden → intermediate` and the activation.
    pub intermediate: BertIntermediate,
    /// `intermediate → hidden` and the residual LayerNorm.
    pub output: BertResidual,
    /// The activation.
    #[module(skip)]
    pub act: HiddenAct,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

/// The encoder layers.
#[derive(rmlx_macros::Module, Clone)]
pub struct BertEncoder {
    /// Hugging Face's `layer` list.
    pub layer: Vec<BertLayer>,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

/// `tanh(dense(hidden[:, 0]))`.
#[derive(rmlx_macros::Module, Clone)]
pub struct BertPooler {
    /// `hidden → hidden`.
    pub dense: Linear,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

/// Hugging Face's `BertModel`: embeddings, encoder and an optional pooler.
#[derive(rmlx_macros::Module, Clone)]
pub struct BertModel {
    /// The embeddings.
    pub embeddings: BertEmbeddings,
    /// The encoder.
    pub encoder: BertEncoder,
    /// The pooler (absent in checkpoints without one).
    pub pooler: Option<BertPooler>,
    /// The configuration it was built from.
    #[module(skip)]
    pub config: BertConfig,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

fn linear(i: usize, o: usize) -> Result<Linear> {
    Linear::new(i, o, true)
}

fn layer_norm(c: &BertConfig) -> Result<LayerNorm> {
    LayerNorm::new(c.hidden_size, c.layer_norm_eps as f32, true, true)
}

fn residual(i: usize, c: &BertConfig) -> Result<BertResidual> {
    Ok(BertResidual {
        dense: linear(i, c.hidden_size)?,
        layer_norm: layer_norm(c)?,
        state: ModuleState::default(),
    })
}

impl BertModel {
    /// A freshly initialised model (MLX's layer inits), with or without the pooler.
    pub fn new(c: &BertConfig, pooler: bool) -> Result<BertModel> {
        c.check()?;
        let h = c.hidden_size;
        let layer = (0..c.num_hidden_layers)
            .map(|_| {
                Ok(BertLayer {
                    attention: BertAttention {
                        self_attention: BertSelfAttention {
                            query: linear(h, h)?,
                            key: linear(h, h)?,
                            value: linear(h, h)?,
                            num_heads: c.num_attention_heads,
                            state: ModuleState::default(),
                        },
                        output: residual(h, c)?,
                        state: ModuleState::default(),
                    },
                    intermediate: BertIntermediate {
                        dense: linear(h, c.intermediate_size)?,
                        state: ModuleState::default(),
                    },
                    output: residual(c.intermediate_size, c)?,
                    act: c.hidden_act,
                    state: ModuleState::default(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(BertModel {
            embeddings: BertEmbeddings {
                word_embeddings: Embedding::new(c.vocab_size, h)?,
                position_embeddings: Embedding::new(c.max_position_embeddings, h)?,
                token_type_embeddings: Embedding::new(c.type_vocab_size, h)?,
                layer_norm: layer_norm(c)?,
                state: ModuleState::default(),
            },
            encoder: BertEncoder {
                layer,
                state: ModuleState::default(),
            },
            pooler: if pooler {
                Some(BertPooler {
                    dense: linear(h, h)?,
                    state: ModuleState::default(),
                })
            } else {
                None
            },
            config: c.clone(),
            state: ModuleState::default(),
        })
    }

    /// Loads `dir/config.json` and `dir/model.safetensors` (or its shards) through the name map
    /// of the [module docs](self). A checkpoint that does not fit is an error listing every
    /// missing and unexpected key.
    pub fn from_pretrained(dir: impl AsRef<Path>) -> Result<BertModel> {
        let dir = dir.as_ref();
        let config = BertConfig::from_json(&hf::read_config(dir)?)?;
        let weights = map_names(hf::load_checkpoint(dir)?);
        let mut model = BertModel::new(&config, weights.contains_key("pooler.dense.weight"))?;
        hf::load_strict(&mut model, weights, "BertModel::from_pretrained")?;
        Ok(model)
    }

    /// The last hidden state `[B, L, hidden]` of token ids `input_ids [B, L]` (integers).
    /// `attention_mask [B, L]` (integers, bools or floats; nonzero = attend) hides padding from
    /// every query; `token_type_ids [B, L]` defaults to segment 0.
    pub fn forward(
        &self,
        input_ids: &Array,
        attention_mask: Option<&Array>,
        token_type_ids: Option<&Array>,
    ) -> Result<Array> {
        let (b, l) = self.check_inputs(input_ids, attention_mask, token_type_ids)?;
        let mask = match attention_mask {
            Some(m) => Some(
                m.not_equal(&Array::scalar_as(0.0, m.dtype()))?
                    .reshape([b, 1, 1, l])?,
            ),
            None => None,
        };
        let positions = rmlx_core::arange(0.0, l as f64, 1.0, Dtype::I32)?;
        let mut x = self
            .embeddings
            .forward(input_ids, &positions, token_type_ids)?;
        for layer in &self.encoder.layer {
            x = layer.forward(&x, mask.as_ref())?;
        }
        Ok(x)
    }

    /// Sentence embeddings `[B, hidden]` (mean-pooled over the mask, then normalised: what
    /// sentence-transformers' `encode` returns), computed on the real tokens only: the tokens
    /// where `attention_mask` is nonzero are packed into one `[tokens, hidden]` matrix for the
    /// projections, and each sequence attends over its own tokens. Padding costs nothing, and the
    /// result equals [`sentence_embeddings`] of [`BertModel::forward`] (up to rounding).
    /// `attention_mask` is read on the host, so it must be data, not a traced value.
    pub fn encode(
        &self,
        input_ids: &Array,
        attention_mask: &Array,
        token_type_ids: Option<&Array>,
    ) -> Result<Array> {
        let (b, l) = self.check_inputs(input_ids, Some(attention_mask), token_type_ids)?;
        let keep = attention_mask
            .not_equal(&Array::scalar_as(0.0, attention_mask.dtype()))?
            .to_vec::<bool>()?;
        let (mut slots, mut positions, mut bounds) = (Vec::new(), Vec::new(), vec![0usize]);
        for row in 0..b {
            for j in 0..l {
                if keep[row * l + j] {
                    slots.push((row * l + j) as i32);
                    positions.push(j as i32);
                }
            }
            bounds.push(slots.len());
        }
        let t = slots.len();
        let slots = Array::from_slice(&slots, &[t])?;
        let positions = Array::from_slice(&positions, &[t])?;
        let flat = |a: &Array| -> Result<Array> { a.reshape([b * l])?.take(&slots, Some(0)) };
        let types = token_type_ids.map(flat).transpose()?;
        let mut x = self
            .embeddings
            .forward(&flat(input_ids)?, &positions, types.as_ref())?;
        for layer in &self.encoder.layer {
            x = layer.forward_packed(&x, &bounds)?;
        }
        // the mean over each sequence's tokens as one product: pool[row, token] = 1 / count
        let mut pool = vec![0f32; b * t];
        for row in 0..b {
            let (lo, hi) = (bounds[row], bounds[row + 1]);
            pool[row * t + lo..row * t + hi].fill(1.0 / (hi - lo).max(1) as f32);
        }
        let pool = Array::from_slice(&pool, &[b, t])?.astype(x.dtype())?;
        normalize(&pool.matmul(&x)?)
    }

    /// Checks the inputs of [`BertModel::forward`]; returns `(batch, length)`.
    fn check_inputs(
        &self,
        input_ids: &Array,
        attention_mask: Option<&Array>,
        token_type_ids: Option<&Array>,
    ) -> Result<(usize, usize)> {
        let (b, l) = match input_ids.shape() {
            [b, l] => (*b, *l),
            s => {
                return Err(Error::Shape(format!(
                    "BertModel: input_ids must be 2-D [batch, length], got {s:?}"
                )))
            }
        };
        if input_ids.dtype().is_float() || input_ids.dtype() == Dtype::Bool {
            return Err(Error::Dtype(format!(
                "BertModel: input_ids must be integers, got {}",
                input_ids.dtype()
            )));
        }
        if l > self.config.max_position_embeddings {
            return Err(Error::Shape(format!(
                "BertModel: inputs of {l} tokens exceed max_position_embeddings {}",
                self.config.max_position_embeddings
            )));
        }
        for (what, a) in [
            ("attention_mask", attention_mask),
            ("token_type_ids", token_type_ids),
        ] {
            if let Some(a) = a {
                if a.shape() != [b, l] {
                    return Err(Error::Shape(format!(
                        "BertModel: {what} must have input_ids' shape {:?}, got {:?}",
                        [b, l],
                        a.shape()
                    )));
                }
            }
        }
        Ok((b, l))
    }

    /// The pooler's output `tanh(dense(hidden[:, 0]))`, `[B, hidden]`.
    pub fn pool(&self, hidden: &Array) -> Result<Array> {
        let pooler = self
            .pooler
            .as_ref()
            .ok_or_else(|| Error::Value("BertModel::pool: this model has no pooler".into()))?;
        let cls = hidden.take(&Array::scalar_as(0.0, Dtype::I32), Some(1))?;
        pooler.dense.forward(&cls)?.tanh()
    }
}

impl BertEmbeddings {
    /// `ids` of any shape, `positions` broadcasting against it, `token_type_ids` like `ids`.
    fn forward(
        &self,
        ids: &Array,
        positions: &Array,
        token_type_ids: Option<&Array>,
    ) -> Result<Array> {
        let types = match token_type_ids {
            Some(t) => self.token_type_embeddings.forward(t)?,
            None => self
                .token_type_embeddings
                .weight
                .take(&Array::scalar_as(0.0, Dtype::I32), Some(0))?,
        };
        let x = (&(&self.word_embeddings.forward(ids)?
            + &self.position_embeddings.forward(positions)?)?
            + &types)?;
        self.layer_norm.forward(&x)
    }
}

impl BertResidual {
    fn forward(&self, x: &Array, residual: &Array) -> Result<Array> {
        self.layer_norm
            .forward(&(&self.dense.forward(x)? + residual)?)
    }
}

impl BertLayer {
    fn forward(&self, x: &Array, mask: Option<&Array>) -> Result<Array> {
        let a = &self.attention;
        let s = &a.self_attention;
        let (b, l, h) = (x.shape()[0], x.shape()[1], x.shape()[2]);
        let nh = s.num_heads;
        let heads = |p: &Linear| -> Result<Array> {
            p.forward(x)?
                .reshape([b, l, nh, h / nh])?
                .transpose_axes(&[0, 2, 1, 3])
        };
        let (q, k, v) = (heads(&s.query)?, heads(&s.key)?, heads(&s.value)?);
        let scale = 1.0 / ((h / nh) as f64).sqrt();
        let mask = match mask {
            Some(m) => SdpaMask::Array(m),
            None => SdpaMask::None,
        };
        let ctx = scaled_dot_product_attention(&q, &k, &v, scale, mask)?
            .transpose_axes(&[0, 2, 1, 3])?
            .reshape([b, l, h])?;
        self.finish(&ctx, x)
    }

    /// The layer over packed tokens `x [T, hidden]`: sequence `i` is rows
    /// `bounds[i]..bounds[i + 1]` and attends over those rows only.
    fn forward_packed(&self, x: &Array, bounds: &[usize]) -> Result<Array> {
        let s = &self.attention.self_attention;
        let h = x.shape()[1];
        let (nh, d) = (s.num_heads, h / s.num_heads);
        let (q, k, v) = (s.query.forward(x)?, s.key.forward(x)?, s.value.forward(x)?);
        let cuts: Vec<isize> = bounds[1..bounds.len() - 1]
            .iter()
            .map(|&c| c as isize)
            .collect();
        let (qs, ks, vs) = (
            q.split(cuts.clone(), 0)?,
            k.split(cuts.clone(), 0)?,
            v.split(cuts, 0)?,
        );
        let scale = 1.0 / (d as f64).sqrt();
        let mut ctx = Vec::with_capacity(qs.len());
        for ((q, k), v) in qs.iter().zip(&ks).zip(&vs) {
            let n = q.shape()[0];
            if n == 0 {
                continue;
            }
            let heads = |a: &Array| a.reshape([1, n, nh, d])?.transpose_axes(&[0, 2, 1, 3]);
            let o = scaled_dot_product_attention(
                &heads(q)?,
                &heads(k)?,
                &heads(v)?,
                scale,
                SdpaMask::None,
            )?;
            ctx.push(o.transpose_axes(&[0, 2, 1, 3])?.reshape([n, h])?);
        }
        let ctx = if ctx.len() == 1 {
            ctx.pop().unwrap_or(q)
        } else {
            rmlx_core::concatenate(&ctx, 0)?
        };
        self.finish(&ctx, x)
    }

    /// Attention output block, then the feed-forward block.
    fn finish(&self, ctx: &Array, x: &Array) -> Result<Array> {
        let x = self.attention.output.forward(ctx, x)?;
        let inner = self.act.apply(&self.intermediate.dense.forward(&x)?)?;
        self.output.forward(&inner, &x)
    }
}

/// sentence-transformers' pooling: the mean of `hidden [B, L, H]` over the positions where
/// `attention_mask [B, L]` is nonzero (`[B, H]`).
pub fn mean_pool(hidden: &Array, attention_mask: &Array) -> Result<Array> {
    if hidden.ndim() != 3 || attention_mask.shape() != &hidden.shape()[..2] {
        return Err(Error::Shape(format!(
            "mean_pool: hidden must be [B, L, H] and attention_mask [B, L], got {:?} and {:?}",
            hidden.shape(),
            attention_mask.shape()
        )));
    }
    let m = attention_mask
        .not_equal(&Array::scalar_as(0.0, attention_mask.dtype()))?
        .astype(hidden.dtype())?;
    let summed = (hidden * &m.expand_dims(-1)?)?.sum(1, false)?;
    let count = m
        .sum(1, true)?
        .maximum(&Array::scalar_as(1e-9, hidden.dtype()))?;
    &summed / &count
}

/// `x / max(‖x‖₂, 1e-12)` along the last axis (sentence-transformers' `Normalize`).
pub fn normalize(x: &Array) -> Result<Array> {
    let norm = x.square()?.sum(-1, true)?.sqrt()?;
    x / &norm.maximum(&Array::scalar_as(1e-12, x.dtype()))?
}

/// Mean-pooled, normalised sentence embeddings (what sentence-transformers' `encode` returns for
/// all-MiniLM-L6-v2): [`normalize`] of [`mean_pool`].
pub fn sentence_embeddings(hidden: &Array, attention_mask: &Array) -> Result<Array> {
    normalize(&mean_pool(hidden, attention_mask)?)
}

/// The name map of the [module docs](self).
fn map_names(weights: IndexMap<String, Array>) -> IndexMap<String, Array> {
    weights
        .into_iter()
        .filter_map(|(k, v)| {
            let k = k.strip_prefix("bert.").unwrap_or(&k).to_string();
            if k == "embeddings.position_ids" || k.starts_with("cls.") {
                return None;
            }
            let k = if let Some(p) = k.strip_suffix("LayerNorm.gamma") {
                format!("{p}LayerNorm.weight")
            } else if let Some(p) = k.strip_suffix("LayerNorm.beta") {
                format!("{p}LayerNorm.bias")
            } else {
                k
            };
            Some((k, v))
        })
        .collect()
}
