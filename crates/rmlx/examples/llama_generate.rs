//! Greedy generation with a Llama-style checkpoint (Hugging Face `config.json` +
//! `model.safetensors`) through `rmlx::models::llama` and its KV cache.
//!
//! ```text
//! cargo run --release -p rmlx --example llama_generate -- crates/rmlx-models/tests/data/tiny_llama --prompt 1,17,99,5 --max-new 12
//! cargo run --release -p rmlx --example llama_generate -- MODEL_DIR --bench
//! ```
//!
//! Token ids in, token ids out (pair it with the checkpoint's `tokenizer.json` through the
//! `tokenizers` crate, as the `embed` example does). `--bench` times decoding (`--max-new` tokens
//! after a `--prompt-len` prompt, batch 1) and prints one JSON line with the tokens, for
//! `bench/llama_side_by_side.py`.

use clap::Parser;
use rmlx::core::{self as mx, Array};
use rmlx::models::llama::{KvCache, LlamaForCausalLM};
use std::path::PathBuf;
use std::time::Instant;

/// Greedy generation with a Llama checkpoint.
#[derive(Parser)]
struct Args {
    /// The checkpoint folder: config.json, model.safetensors.
    model: PathBuf,
    /// Prompt token ids, comma-separated.
    #[arg(long, default_value = "1,17,99,5")]
    prompt: String,
    /// New tokens to generate.
    #[arg(long, default_value_t = 16)]
    max_new: usize,
    /// Time decoding and print one JSON line.
    #[arg(long)]
    bench: bool,
    /// Prompt length with --bench (ids 1, 2, … modulo the vocabulary).
    #[arg(long, default_value_t = 16)]
    prompt_len: usize,
}

fn run(a: Args) -> mx::Result<()> {
    let model = LlamaForCausalLM::from_pretrained(&a.model)?;
    if !a.bench {
        let ids: Vec<i32> = a
            .prompt
            .split(',')
            .map(|s| s.trim().parse::<i32>())
            .collect::<Result<_, _>>()
            .map_err(|e| mx::Error::Value(format!("--prompt: {e}")))?;
        let prompt = Array::from_slice(&ids, &[1, ids.len()])?;
        let out = model.generate(&prompt, a.max_new)?.to_vec::<u32>()?;
        println!("prompt {ids:?}\ngenerated {out:?}");
        return Ok(());
    }
    let vocab = model.config.vocab_size as i32;
    let ids: Vec<i32> = (0..a.prompt_len as i32)
        .map(|i| (i * 7 + 1) % vocab)
        .collect();
    let prompt = Array::from_slice(&ids, &[1, ids.len()])?;
    model.generate(&prompt, 4)?.eval()?; // warm-up
                                         // RMLX_PROFILE=1: a per-primitive time table of the prefill on stderr
    let profiling = mx::profile::enable_from_env();
    // prefill, then one token at a time through the cache (what `generate` does), timed apart
    let mut cache = KvCache::new();
    let t = Instant::now();
    let logits = model.forward(&prompt, Some(&mut cache))?;
    let last = logits.take(&Array::from_slice(&[ids.len() as i32 - 1], &[1])?, Some(1))?;
    let mut next = last.argmax(-1, false)?;
    next.eval()?;
    let prefill_ms = t.elapsed().as_secs_f64() * 1e3;
    if profiling {
        eprintln!("{}", mx::profile::report());
        mx::profile::enable(false);
    }
    let mut tokens = vec![next.to_vec::<u32>()?[0]];
    let t = Instant::now();
    for _ in 1..a.max_new {
        let logits = model.forward(&next, Some(&mut cache))?;
        next = logits.argmax(-1, false)?;
        tokens.push(next.to_vec::<u32>()?[0]);
    }
    let decode_s = t.elapsed().as_secs_f64();
    println!(
        "{{\"prefill_ms\": {prefill_ms:.3}, \"decode_tokens_per_s\": {:.2}, \"tokens\": {tokens:?}}}",
        (a.max_new - 1) as f64 / decode_s
    );
    Ok(())
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("llama_generate: error: {e}");
        std::process::exit(1);
    }
}
