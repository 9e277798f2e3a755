//! # rmlx-models
//!
//! Pre-trained architectures that load Hugging Face checkpoints (`config.json` +
//! `model.safetensors`) by the checkpoint's own parameter names, as `#[derive(Module)]` trees:
//! freeze, unfreeze, train, quantize and save them like any other rmlx module.
//!
//! - [`bert`]: BERT encoders (`BertModel`; sentence-transformers' all-MiniLM-L6-v2 among them),
//!   with mean pooling and normalisation for sentence embeddings.
//! - [`llama`]: Llama-style decoders (`LlamaForCausalLM`: RMSNorm, RoPE, SwiGLU, grouped-query
//!   attention) with a KV cache and greedy generation.
//! - [`hf`]: reading `config.json` and (sharded) safetensors checkpoints, and strict loading that
//!   lists every missing and unexpected key.
//!
//! Tokenization is the `tokenizers` crate's (`Tokenizer::from_file("tokenizer.json")`): the
//! `embed` and `bitfit_bert` examples show the few lines it takes.
#![warn(missing_docs)]
// Issue 20: library code never unwraps, expects or panics on data a caller controls; the
// few `expect`s on an internal invariant carry an `#[allow]` with the comment that proves it.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod bert;
pub mod hf;
pub mod llama;
