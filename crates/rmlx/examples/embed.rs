//! Sentence embeddings with a pre-trained BERT checkpoint (sentence-transformers'
//! all-MiniLM-L6-v2): tokenize with the checkpoint's `tokenizer.json`, run `BertModel`, mean-pool
//! over the attention mask, normalise, and print the embeddings and their cosine similarities.
//!
//! ```text
//! tools/reference/fetch_minilm.sh          # prints the model folder (~/.cache/rmlx/all-MiniLM-L6-v2)
//! cargo run --release -p rmlx --example embed -- ~/.cache/rmlx/all-MiniLM-L6-v2 "A man is eating food." "Someone eats."
//! cargo run --release -p rmlx --example embed -- ~/.cache/rmlx/all-MiniLM-L6-v2 --bench
//! ```
//!
//! `--bench` times the embeddings (encoder and pooling) of 16 and 32 inputs of 128 tokens with
//! padding masks and prints one JSON line (`bench/minilm_side_by_side.py` runs it beside
//! sentence-transformers): `forward_*` is `BertModel::encode`, which skips the padding;
//! `padded_forward_*` is `BertModel::forward` over every position, then pooling.

use clap::Parser;
#[path = "common/tokenize.rs"]
mod tokenize;
use rmlx::core::{self as mx, Array, Dtype};
use rmlx::models::bert::{sentence_embeddings, BertModel};
use std::path::PathBuf;
use std::time::Instant;

/// Sentence embeddings from a BERT checkpoint folder.
#[derive(Parser)]
struct Args {
    /// The checkpoint folder: config.json, model.safetensors, tokenizer.json.
    model: PathBuf,
    /// Sentences to embed (a few examples when none are given).
    sentences: Vec<String>,
    /// Time the forward pass instead (one JSON line).
    #[arg(long)]
    bench: bool,
    /// Timed repetitions per batch size with --bench.
    #[arg(long, default_value_t = 10)]
    reps: usize,
}

/// `n` inputs of 128 tokens: input `i` has `128 - (37 i mod 96)` real tokens ([CLS] … [SEP],
/// ids from a fixed pattern), the rest padding.
fn bench_batch(n: usize) -> mx::Result<(Array, Array)> {
    let l = 128;
    let (mut ids, mut mask) = (vec![0i32; n * l], vec![0i32; n * l]);
    for i in 0..n {
        let len = l - (37 * i) % 96;
        for j in 0..len {
            ids[i * l + j] = match j {
                0 => 101,
                _ if j == len - 1 => 102,
                _ => 1000 + ((i * 7919 + j * 104_729) % 28_000) as i32,
            };
            mask[i * l + j] = 1;
        }
    }
    Ok((
        Array::from_slice(&ids, &[n, l])?,
        Array::from_slice(&mask, &[n, l])?,
    ))
}

fn bench(model: &BertModel, reps: usize) -> mx::Result<()> {
    // RMLX_PROFILE=1: a per-primitive time table on stderr at the end
    let profiling = mx::profile::enable_from_env();
    let mut fields = Vec::new();
    for n in [16usize, 32] {
        let (ids, mask) = bench_batch(n)?;
        let padded = || sentence_embeddings(&model.forward(&ids, Some(&mask), None)?, &mask);
        let packed = || model.encode(&ids, &mask, None);
        let runs: [(&str, &dyn Fn() -> mx::Result<Array>); 2] =
            [("forward", &packed), ("padded_forward", &padded)];
        for (name, run) in runs {
            run()?.eval()?; // warm-up
            let mut times = Vec::with_capacity(reps);
            for _ in 0..reps {
                let t = Instant::now();
                run()?.eval()?;
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
            times.sort_by(f64::total_cmp);
            let median = times[times.len() / 2];
            fields.push(format!("\"{name}_{n}x128_ms\": {median:.3}"));
        }
    }
    println!("{{{}}}", fields.join(", "));
    if profiling {
        eprintln!("{}", mx::profile::report());
    }
    Ok(())
}

fn main() -> mx::Result<()> {
    let args = Args::parse();
    let t = Instant::now();
    let model = BertModel::from_pretrained(&args.model)?;
    if args.bench {
        return bench(&model, args.reps.max(1));
    }
    let tok = tokenize::load(&args.model, 256)?;
    eprintln!(
        "loaded {} in {:.0} ms",
        args.model.display(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let sentences = if args.sentences.is_empty() {
        [
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "The girl is carrying a baby.",
            "A man is riding a horse.",
            "A woman is playing violin.",
        ]
        .map(String::from)
        .to_vec()
    } else {
        args.sentences
    };
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let (ids, mask) = tokenize::encode(&tok, &refs)?;
    let emb = model.encode(&ids, &mask, None)?;
    let sim = emb.matmul(&emb.t()?)?.astype(Dtype::F32)?;
    let (n, d) = (emb.shape()[0], emb.shape()[1]);
    let e = emb.to_vec::<f32>()?;
    println!("embeddings ({n} × {d}, unit length), first 6 dimensions:");
    for (i, s) in sentences.iter().enumerate() {
        let head: Vec<String> = e[i * d..i * d + 6]
            .iter()
            .map(|v| format!("{v:+.4}"))
            .collect();
        println!("  [{}]  {}  {s}", i, head.join(" "));
    }
    println!("cosine similarity:");
    let s = sim.to_vec::<f32>()?;
    print!("      ");
    for j in 0..n {
        print!("{:>7}", format!("[{j}]"));
    }
    println!();
    for i in 0..n {
        print!("  [{i}] ");
        for j in 0..n {
            print!("{:>7.3}", s[i * n + j]);
        }
        println!();
    }
    Ok(())
}
