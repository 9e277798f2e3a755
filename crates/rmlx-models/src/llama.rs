//! Llama-style decoders (Hugging Face `LlamaForCausalLM`): RMSNorm, rotary position embeddings,
//! a SwiGLU feed-forward block and grouped-query attention, with a KV cache for generation.
//!
//! The module tree has the checkpoint's names: `model.embed_tokens.weight`,
//! `model.layers.0.self_attn.q_proj.weight`, `model.layers.0.mlp.gate_proj.weight`,
//! `model.layers.0.input_layernorm.weight`, `model.norm.weight`, `lm_head.weight`.
//!
//! **Name map** ([`LlamaForCausalLM::from_pretrained`]): the `rotary_emb.inv_freq` buffers of
//! older checkpoints are dropped (rmlx computes the frequencies); with `tie_word_embeddings`
//! there is no `lm_head` (the embedding is used transposed) and a stored `lm_head.weight` is
//! dropped.
//!
//! ```
//! use rmlx_models::llama::{LlamaConfig, LlamaForCausalLM};
//! use rmlx_core::Array;
//! let cfg = LlamaConfig { vocab_size: 32, hidden_size: 16, intermediate_size: 32,
//!                         num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
//!                         ..LlamaConfig::default() };
//! let model = LlamaForCausalLM::new(&cfg)?;
//! let prompt = Array::from_slice(&[1i32, 5, 9], &[1, 3])?;
//! let tokens = model.generate(&prompt, 4)?; // greedy, with a KV cache
//! assert_eq!(tokens.shape(), &[1, 4]);
//! # Ok::<(), rmlx_core::Error>(())
//! ```

// Indexing below is into shapes `forward` checked to be 2-D (`tokens`) or that the layers build
// with a known rank ([batch, length, hidden]).
#![allow(clippy::indexing_slicing)]

use crate::hf;
use indexmap::IndexMap;
use rmlx_core::fast::{rope, scaled_dot_product_attention, SdpaMask};
use rmlx_core::{Array, Dtype, Error, Result};
use rmlx_nn::{Embedding, Linear, ModuleState, RMSNorm};
use serde_json::Value;
use std::path::Path;

/// A Llama `config.json`'s architecture fields.
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    /// Rows of the token embedding and of the output projection.
    pub vocab_size: usize,
    /// Model width.
    pub hidden_size: usize,
    /// SwiGLU width.
    pub intermediate_size: usize,
    /// Decoder layers.
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key/value heads (a divisor of `num_attention_heads`; grouped-query attention when fewer).
    pub num_key_value_heads: usize,
    /// Width of one head (default `hidden_size / num_attention_heads`).
    pub head_dim: usize,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// RoPE base frequency.
    pub rope_theta: f64,
    /// The output projection is the token embedding, transposed.
    pub tie_word_embeddings: bool,
    /// Biases on the attention projections.
    pub attention_bias: bool,
    /// Biases on the SwiGLU projections.
    pub mlp_bias: bool,
}

impl Default for LlamaConfig {
    /// Llama-2-7B's shape, with `head_dim` derived from it.
    fn default() -> Self {
        LlamaConfig {
            vocab_size: 32000,
            hidden_size: 4096,
            intermediate_size: 11008,
            num_hidden_layers: 32,
            num_attention_heads: 32,
            num_key_value_heads: 32,
            head_dim: 0,
            rms_norm_eps: 1e-6,
            rope_theta: 10000.0,
            tie_word_embeddings: false,
            attention_bias: false,
            mlp_bias: false,
        }
    }
}

impl LlamaConfig {
    /// Reads the fields from a parsed `config.json` (transformers 4's `rope_theta` or 5's
    /// `rope_parameters`). RoPE scaling other than the default, or an activation other than
    /// `silu`, is an error.
    pub fn from_json(c: &Value) -> Result<LlamaConfig> {
        if let Some(t) = c["model_type"].as_str() {
            if !matches!(t, "llama" | "mistral") {
                return Err(Error::Value(format!(
                    "config.json: model_type {t:?} is not \"llama\""
                )));
            }
        }
        if let Some(a) = c["hidden_act"].as_str() {
            if a != "silu" {
                return Err(Error::Value(format!(
                    "config.json: hidden_act {a:?} is not supported (Llama uses \"silu\")"
                )));
            }
        }
        let mut rope_theta = hf::get_f64_or(c, "rope_theta", 10000.0)?;
        for key in ["rope_parameters", "rope_scaling"] {
            let p = &c[key];
            if p.is_null() {
                continue;
            }
            let kind = p["rope_type"]
                .as_str()
                .or(p["type"].as_str())
                .unwrap_or("default");
            if kind != "default" {
                return Err(Error::Value(format!(
                    "config.json: {key} of type {kind:?} is not supported (default RoPE only)"
                )));
            }
            rope_theta = hf::get_f64_or(p, "rope_theta", rope_theta)?;
        }
        let hidden_size = hf::get_usize(c, "hidden_size")?;
        let heads = hf::get_usize(c, "num_attention_heads")?;
        let cfg = LlamaConfig {
            vocab_size: hf::get_usize(c, "vocab_size")?,
            hidden_size,
            intermediate_size: hf::get_usize(c, "intermediate_size")?,
            num_hidden_layers: hf::get_usize(c, "num_hidden_layers")?,
            num_attention_heads: heads,
            num_key_value_heads: hf::get_usize_or(c, "num_key_value_heads", heads)?,
            head_dim: hf::get_usize_or(c, "head_dim", hidden_size / heads.max(1))?,
            rms_norm_eps: hf::get_f64_or(c, "rms_norm_eps", 1e-6)?,
            rope_theta,
            tie_word_embeddings: hf::get_bool_or(c, "tie_word_embeddings", false)?,
            attention_bias: hf::get_bool_or(c, "attention_bias", false)?,
            mlp_bias: hf::get_bool_or(c, "mlp_bias", false)?,
        };
        cfg.check()?;
        Ok(cfg)
    }

    fn head_dim(&self) -> usize {
        if self.head_dim == 0 {
            self.hidden_size / self.num_attention_heads.max(1)
        } else {
            self.head_dim
        }
    }

    fn check(&self) -> Result<()> {
        let (h, kv) = (self.num_attention_heads, self.num_key_value_heads);
        if h == 0 || kv == 0 || !h.is_multiple_of(kv) {
            return Err(Error::Value(format!(
                "LlamaConfig: num_attention_heads {h} must be a positive multiple of num_key_value_heads {kv}"
            )));
        }
        let d = self.head_dim();
        if d == 0 || !d.is_multiple_of(2) {
            return Err(Error::Value(format!(
                "LlamaConfig: head_dim {d} must be even and positive (RoPE rotates pairs)"
            )));
        }
        Ok(())
    }
}

/// Grouped-query self-attention with rotary position embeddings.
#[derive(rmlx_macros::Module, Clone)]
pub struct LlamaAttention {
    /// `hidden → heads × head_dim`.
    pub q_proj: Linear,
    /// `hidden → kv_heads × head_dim`.
    pub k_proj: Linear,
    /// `hidden → kv_heads × head_dim`.
    pub v_proj: Linear,
    /// `heads × head_dim → hidden`.
    pub o_proj: Linear,
    /// Query heads, key/value heads, head width.
    #[module(skip)]
    pub shape: (usize, usize, usize),
    /// RoPE base.
    #[module(skip)]
    pub rope_theta: f64,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

/// `down(silu(gate(x)) * up(x))`.
#[derive(rmlx_macros::Module, Clone)]
pub struct LlamaMlp {
    /// `hidden → intermediate`.
    pub gate_proj: Linear,
    /// `hidden → intermediate`.
    pub up_proj: Linear,
    /// `intermediate → hidden`.
    pub down_proj: Linear,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

/// One pre-norm decoder layer.
#[derive(rmlx_macros::Module, Clone)]
pub struct LlamaDecoderLayer {
    /// Attention.
    pub self_attn: LlamaAttention,
    /// Feed-forward block.
    pub mlp: LlamaMlp,
    /// Norm before attention.
    pub input_layernorm: RMSNorm,
    /// Norm before the feed-forward block.
    pub post_attention_layernorm: RMSNorm,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

/// The decoder stack (Hugging Face's `LlamaModel`).
#[derive(rmlx_macros::Module, Clone)]
pub struct LlamaModel {
    /// `[vocab, hidden]`.
    pub embed_tokens: Embedding,
    /// The layers.
    pub layers: Vec<LlamaDecoderLayer>,
    /// The final norm.
    pub norm: RMSNorm,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

/// Hugging Face's `LlamaForCausalLM`: the decoder and its output projection.
#[derive(rmlx_macros::Module, Clone)]
pub struct LlamaForCausalLM {
    /// The decoder.
    pub model: LlamaModel,
    /// `hidden → vocab`; absent with tied embeddings.
    pub lm_head: Option<Linear>,
    /// The configuration it was built from.
    #[module(skip)]
    pub config: LlamaConfig,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

/// The keys and values of every layer seen so far, for incremental decoding.
#[derive(Clone, Default)]
pub struct KvCache {
    layers: Vec<Option<(Array, Array)>>,
    offset: usize,
}

impl KvCache {
    /// An empty cache.
    pub fn new() -> KvCache {
        KvCache::default()
    }

    /// Positions cached so far (the next token's position).
    pub fn offset(&self) -> usize {
        self.offset
    }
}

impl LlamaForCausalLM {
    /// A freshly initialised model (MLX's layer inits).
    pub fn new(c: &LlamaConfig) -> Result<LlamaForCausalLM> {
        c.check()?;
        let (h, d) = (c.hidden_size, c.head_dim());
        let (nh, nkv) = (c.num_attention_heads, c.num_key_value_heads);
        let layers = (0..c.num_hidden_layers)
            .map(|_| {
                Ok(LlamaDecoderLayer {
                    self_attn: LlamaAttention {
                        q_proj: Linear::new(h, nh * d, c.attention_bias)?,
                        k_proj: Linear::new(h, nkv * d, c.attention_bias)?,
                        v_proj: Linear::new(h, nkv * d, c.attention_bias)?,
                        o_proj: Linear::new(nh * d, h, c.attention_bias)?,
                        shape: (nh, nkv, d),
                        rope_theta: c.rope_theta,
                        state: ModuleState::default(),
                    },
                    mlp: LlamaMlp {
                        gate_proj: Linear::new(h, c.intermediate_size, c.mlp_bias)?,
                        up_proj: Linear::new(h, c.intermediate_size, c.mlp_bias)?,
                        down_proj: Linear::new(c.intermediate_size, h, c.mlp_bias)?,
                        state: ModuleState::default(),
                    },
                    input_layernorm: RMSNorm::new(h, c.rms_norm_eps as f32)?,
                    post_attention_layernorm: RMSNorm::new(h, c.rms_norm_eps as f32)?,
                    state: ModuleState::default(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(LlamaForCausalLM {
            model: LlamaModel {
                embed_tokens: Embedding::new(c.vocab_size, h)?,
                layers,
                norm: RMSNorm::new(h, c.rms_norm_eps as f32)?,
                state: ModuleState::default(),
            },
            lm_head: if c.tie_word_embeddings {
                None
            } else {
                Some(Linear::new(h, c.vocab_size, false)?)
            },
            config: c.clone(),
            state: ModuleState::default(),
        })
    }

    /// Loads `dir/config.json` and `dir/model.safetensors` (or its shards) through the name map
    /// of the [module docs](self). A checkpoint that does not fit is an error listing every
    /// missing and unexpected key.
    pub fn from_pretrained(dir: impl AsRef<Path>) -> Result<LlamaForCausalLM> {
        let dir = dir.as_ref();
        let config = LlamaConfig::from_json(&hf::read_config(dir)?)?;
        let weights = map_names(hf::load_checkpoint(dir)?, config.tie_word_embeddings);
        let mut model = LlamaForCausalLM::new(&config)?;
        hf::load_strict(&mut model, weights, "LlamaForCausalLM::from_pretrained")?;
        Ok(model)
    }

    /// Logits `[B, L, vocab]` for token ids `tokens [B, L]`. With a cache, the tokens continue
    /// the cached positions and their keys and values are appended to it; without one, the
    /// tokens are a whole sequence. Attention is causal.
    pub fn forward(&self, tokens: &Array, cache: Option<&mut KvCache>) -> Result<Array> {
        let h = self.model.forward(tokens, cache)?;
        match &self.lm_head {
            Some(head) => head.forward(&h),
            None => self.model.embed_tokens.as_linear(&h),
        }
    }

    /// Greedy decoding: runs `prompt [B, L]` through the model once, then feeds back the most
    /// likely token `max_new_tokens` times through a KV cache. Returns the new tokens
    /// `[B, max_new_tokens]` (uint32).
    pub fn generate(&self, prompt: &Array, max_new_tokens: usize) -> Result<Array> {
        let mut cache = KvCache::new();
        let mut input = prompt.clone();
        let mut out = Vec::with_capacity(max_new_tokens);
        for _ in 0..max_new_tokens {
            let logits = self.forward(&input, Some(&mut cache))?;
            let Some(at) = logits.shape().get(1).and_then(|l| l.checked_sub(1)) else {
                return Err(Error::Shape(format!(
                    "Llama: generate needs a prompt of at least one token, got {:?}",
                    prompt.shape()
                )));
            };
            let last = logits.take(&Array::scalar_as(at as f64, Dtype::I32), Some(1))?;
            let next = last.argmax(-1, true)?;
            next.eval()?;
            input = next.clone();
            out.push(next);
        }
        if out.is_empty() {
            return rmlx_core::zeros(
                &[prompt.shape().first().copied().unwrap_or(0), 0],
                Dtype::U32,
            );
        }
        rmlx_core::concatenate(&out, 1)
    }
}

impl LlamaModel {
    /// The final normalised hidden state `[B, L, hidden]` (see [`LlamaForCausalLM::forward`]).
    pub fn forward(&self, tokens: &Array, cache: Option<&mut KvCache>) -> Result<Array> {
        if tokens.ndim() != 2 || tokens.dtype().is_float() || tokens.dtype() == Dtype::Bool {
            return Err(Error::Shape(format!(
                "Llama: tokens must be 2-D integers [batch, length], got {} {:?}",
                tokens.dtype(),
                tokens.shape()
            )));
        }
        let mut local = KvCache::new();
        let cache = cache.unwrap_or(&mut local);
        if cache.layers.len() != self.layers.len() {
            if cache.offset != 0 {
                return Err(Error::Value(format!(
                    "Llama: the KV cache holds {} layers, the model has {}",
                    cache.layers.len(),
                    self.layers.len()
                )));
            }
            cache.layers = vec![None; self.layers.len()];
        }
        let mut x = self.embed_tokens.forward(tokens)?;
        for (layer, kv) in self.layers.iter().zip(cache.layers.iter_mut()) {
            x = layer.forward(&x, kv, cache.offset)?;
        }
        cache.offset += tokens.shape()[1];
        self.norm.forward(&x)
    }
}

impl LlamaDecoderLayer {
    fn forward(&self, x: &Array, kv: &mut Option<(Array, Array)>, offset: usize) -> Result<Array> {
        let h = (x + &self
            .self_attn
            .forward(&self.input_layernorm.forward(x)?, kv, offset)?)?;
        let m = &self.mlp;
        let y = self.post_attention_layernorm.forward(&h)?;
        let gated =
            (&rmlx_nn::activations::silu(&m.gate_proj.forward(&y)?)? * &m.up_proj.forward(&y)?)?;
        &h + &m.down_proj.forward(&gated)?
    }
}

impl LlamaAttention {
    fn forward(&self, x: &Array, kv: &mut Option<(Array, Array)>, offset: usize) -> Result<Array> {
        let (b, l) = (x.shape()[0], x.shape()[1]);
        let (nh, nkv, d) = self.shape;
        let heads = |p: &Linear, n: usize| -> Result<Array> {
            p.forward(x)?
                .reshape([b, l, n, d])?
                .transpose_axes(&[0, 2, 1, 3])
        };
        let pos = offset as i64;
        let q = rope(
            &heads(&self.q_proj, nh)?,
            d,
            false,
            self.rope_theta,
            1.0,
            pos,
        )?;
        let mut k = rope(
            &heads(&self.k_proj, nkv)?,
            d,
            false,
            self.rope_theta,
            1.0,
            pos,
        )?;
        let mut v = heads(&self.v_proj, nkv)?;
        if let Some((pk, pv)) = kv.as_ref() {
            k = rmlx_core::concatenate(&[pk.clone(), k], 2)?;
            v = rmlx_core::concatenate(&[pv.clone(), v], 2)?;
        }
        *kv = Some((k.clone(), v.clone()));
        let mask = if l > 1 {
            SdpaMask::Causal
        } else {
            SdpaMask::None
        };
        let o = scaled_dot_product_attention(&q, &k, &v, 1.0 / (d as f64).sqrt(), mask)?;
        self.o_proj
            .forward(&o.transpose_axes(&[0, 2, 1, 3])?.reshape([b, l, nh * d])?)
    }
}

/// The name map of the [module docs](self).
fn map_names(weights: IndexMap<String, Array>, tied: bool) -> IndexMap<String, Array> {
    weights
        .into_iter()
        .filter(|(k, _)| {
            let buffer = k.ends_with("rotary_emb.inv_freq");
            !(buffer || (tied && k == "lm_head.weight"))
        })
        .collect()
}
