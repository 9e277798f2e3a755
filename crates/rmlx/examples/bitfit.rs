//! The main job: pre-train a small causal Transformer language model on characters of one text,
//! then fine-tune it on another text twice — once with only its biases trainable (BitFit:
//! `model.freeze(); model.unfreeze("bias")`), once with everything — and compare.
//!
//! ```sh
//! cargo run --release --example bitfit            # defaults finish in about two minutes
//! cargo run --release --example bitfit -- --help
//! ```
//!
//! Data-parallel over MPI (build with the `mpi` feature; README "Distributed training"):
//!
//! ```sh
//! cargo build --release -p rmlx --features mpi --example bitfit
//! mpirun -np 2 target/release/examples/bitfit --distributed
//! ```
//!
//! Every process draws the same global batch and trains on its own rows of it; the gradients
//! are averaged with `nn::average_gradients` (only the trainable ones travel), so the loss curve
//! is the one-process curve of the same global batch. Only rank 0 prints progress and writes
//! files.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
#[path = "common/plot.rs"]
mod plot;
use indicatif::{ProgressBar, ProgressStyle};
use rmlx::core::{self as mx, Array, Dtype};
use rmlx::distributed::{self as dist, Group};
use rmlx::nn::{self, Keys, Module, ModuleExt, ModuleState};
use rmlx::optimizers::{AdamW, Optimizer};

const DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data");

/// Pre-train a character Transformer on one text, then compare bias-only and full fine-tuning on
/// another.
#[derive(Parser, Debug, Clone)]
#[command(version, about)]
struct Args {
    /// Text for pre-training (part A).
    #[arg(long, default_value_t = format!("{DATA_DIR}/genesis.txt"))]
    pretrain_text: String,
    /// Text for fine-tuning (part B); its last 10% is held out for validation.
    #[arg(long, default_value_t = format!("{DATA_DIR}/proverbs.txt"))]
    finetune_text: String,
    /// Folder for the weights, the loss plot and the samples.
    #[arg(long, default_value = "out/bitfit")]
    out_dir: PathBuf,
    /// Pre-training steps.
    #[arg(long, default_value_t = 900)]
    pretrain_steps: usize,
    /// Fine-tuning steps (for each of the two runs).
    #[arg(long, default_value_t = 240)]
    finetune_steps: usize,
    /// Model width.
    #[arg(long, default_value_t = 128)]
    dims: usize,
    /// Attention heads (must divide --dims).
    #[arg(long, default_value_t = 4)]
    heads: usize,
    /// Transformer layers.
    #[arg(long, default_value_t = 2)]
    layers: usize,
    /// Characters of context per sequence.
    #[arg(long, default_value_t = 64)]
    seq_len: usize,
    /// Sequences per batch.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Learning rate for pre-training and full fine-tuning (bias-only uses 10x).
    #[arg(long, default_value_t = 3e-3)]
    lr: f32,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Train data-parallel over the processes `mpirun` started (needs the `mpi` feature; each
    /// takes `--batch / processes` rows of every batch).
    #[arg(long)]
    distributed: bool,
    /// Also write every step's loss (pre-training, bias-only, full) to this file, one per line.
    #[arg(long)]
    log_losses: Option<PathBuf>,
}

/// A causal character language model: embedding → Transformer encoder with a causal mask →
/// output projection.
#[derive(Module)]
#[module(crate = "rmlx::nn")]
struct CharLm {
    embedding: nn::Embedding,
    encoder: nn::TransformerEncoder,
    out: nn::Linear,
    state: ModuleState,
}

impl CharLm {
    fn new(vocab: usize, a: &Args) -> mx::Result<CharLm> {
        let cfg = nn::TransformerConfig {
            dims: a.dims,
            num_heads: a.heads,
            mlp_dims: Some(4 * a.dims),
            dropout: 0.0,
            activation: nn::Activation::Relu,
            norm_first: true,
            checkpoint: false,
        };
        Ok(CharLm {
            embedding: nn::Embedding::new(vocab, a.dims)?,
            encoder: nn::TransformerEncoder::new(a.layers, &cfg)?,
            out: nn::Linear::new(a.dims, vocab, true)?,
            state: ModuleState::default(),
        })
    }

    /// Logits `[B, L, vocab]` for token ids `[B, L]`.
    fn forward(&self, tokens: &Array) -> mx::Result<Array> {
        let len = tokens.shape()[1];
        let mask = nn::MultiHeadAttention::create_additive_causal_mask(len, Dtype::F32)?;
        let h = self.embedding.forward(tokens)?;
        let h = self.encoder.forward(&h, Some(&mask))?;
        self.out.forward(&h)
    }
}

/// Mean cross-entropy of `logits [B, L, V]` against `targets [B, L]`.
fn loss(model: &CharLm, x: &Array, y: &Array) -> mx::Result<Array> {
    let logits = model.forward(x)?;
    let v = logits.shape()[2];
    let logits = logits.reshape([-1, v as isize])?;
    nn::losses::cross_entropy(
        &logits,
        &y.reshape([-1])?,
        None,
        -1,
        0.0,
        nn::losses::Reduction::Mean,
    )
}

/// Characters ↔ token ids.
struct Vocab {
    chars: Vec<char>,
}

impl Vocab {
    fn new(texts: &[&str]) -> Vocab {
        let mut chars: Vec<char> = texts.iter().flat_map(|t| t.chars()).collect();
        chars.sort_unstable();
        chars.dedup();
        Vocab { chars }
    }
    fn encode(&self, text: &str) -> Vec<i32> {
        text.chars()
            .map(|c| self.chars.binary_search(&c).map_or(0, |i| i as i32))
            .collect()
    }
    fn decode(&self, ids: &[i32]) -> String {
        ids.iter().map(|&i| self.chars[i as usize]).collect()
    }
}

/// Draws `batch` random windows of `seq_len + 1` tokens: inputs and next-token targets. Every
/// process draws the same windows and keeps its own `batch / size` of them.
fn batch(tokens: &[i32], a: &Args, group: &Group) -> mx::Result<(Array, Array)> {
    let hi = (tokens.len() - a.seq_len - 1) as i64;
    let starts = mx::random::randint(0, hi, &[a.batch], Dtype::I64, None)?.to_vec::<i64>()?;
    let rows = a.batch / group.size();
    let mine = &starts[group.rank() * rows..(group.rank() + 1) * rows];
    let mut xs = Vec::with_capacity(rows * a.seq_len);
    let mut ys = Vec::with_capacity(rows * a.seq_len);
    for &s in mine {
        let s = s as usize;
        xs.extend_from_slice(&tokens[s..s + a.seq_len]);
        ys.extend_from_slice(&tokens[s + 1..s + a.seq_len + 1]);
    }
    Ok((
        Array::from_vec(xs, &[rows, a.seq_len])?,
        Array::from_vec(ys, &[rows, a.seq_len])?,
    ))
}

/// Mean loss over consecutive windows of held-out text.
fn validation_loss(model: &CharLm, tokens: &[i32], a: &Args) -> mx::Result<f32> {
    let mut total = 0.0;
    let mut n = 0;
    for w in tokens.chunks_exact(a.seq_len + 1).take(32) {
        let x = Array::from_slice(&w[..a.seq_len], &[1, a.seq_len])?;
        let y = Array::from_slice(&w[1..], &[1, a.seq_len])?;
        total += loss(model, &x, &y)?.item::<f32>()?;
        n += 1;
    }
    Ok(total / n.max(1) as f32)
}

struct RunStats {
    losses: Vec<f32>,
    step_ms: Vec<f64>,
    peak_bytes: usize,
    val_loss: f32,
    /// Bytes this process sent per step (gradients and loss), 0 in one process.
    sent_per_step: u64,
}

fn train(
    model: &mut CharLm,
    opt: &mut AdamW,
    tokens: &[i32],
    steps: usize,
    a: &Args,
    label: &str,
    group: &Group,
) -> mx::Result<RunStats> {
    let bar = if group.rank() == 0 {
        ProgressBar::new(steps as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    mx::memory::reset_peak_memory();
    let mut losses = Vec::with_capacity(steps);
    let mut step_ms = Vec::with_capacity(steps);
    // the training step compiled with the model and the optimizer as its state (traced once,
    // then replayed; RMLX_DISABLE_COMPILE=1 runs it as written)
    // (distributed: the trainable gradients and the loss are averaged over the processes)
    let size = group.size() as f64;
    let step = mx::compile_with_state(
        |(m, o): &mut (&mut CharLm, &mut AdamW), d: &[Array]| -> mx::Result<Vec<Array>> {
            let (outs, grads) =
                nn::value_and_grad(&mut **m, |lm: &CharLm| Ok(vec![loss(lm, &d[0], &d[1])?]))?;
            let grads = nn::average_gradients(&grads, Some(group), nn::ALL_REDUCE_SIZE)?;
            o.update(&mut **m, &grads)?;
            Ok(vec![(&dist::all_sum(&outs[0], Some(group))? / size)?])
        },
    );
    let traffic = dist::traffic();
    let mut state = (model, opt);
    for _ in 0..steps {
        let (x, y) = batch(tokens, a, group)?;
        mx::eval(&[&x, &y])?;
        let t = Instant::now();
        let outs = step.call(&mut state, &[x, y])?;
        let mut to_eval: Vec<Array> = vec![outs[0].clone()];
        to_eval.extend(
            state
                .0
                .parameters()
                .flatten()
                .into_iter()
                .map(|(_, p)| p.clone()),
        );
        mx::eval(&to_eval.iter().collect::<Vec<_>>())?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let l = outs[0].item::<f32>()?;
        losses.push(l);
        step_ms.push(ms);
        let tok_s = (a.batch * a.seq_len) as f64 / (ms / 1e3);
        bar.set_message(format!("loss {l:.3}  {tok_s:>7.0} tok/s"));
        bar.inc(1);
    }
    bar.finish();
    Ok(RunStats {
        losses,
        step_ms,
        peak_bytes: mx::memory::peak_memory(),
        val_loss: 0.0,
        sent_per_step: (dist::traffic().bytes - traffic.bytes) / steps as u64,
    })
}

/// Generates `n` characters after `prompt` by sampling from the model (temperature 0.8).
fn sample(model: &CharLm, vocab: &Vocab, prompt: &str, n: usize, a: &Args) -> mx::Result<String> {
    let mut ids = vocab.encode(prompt);
    for _ in 0..n {
        let ctx = &ids[ids.len().saturating_sub(a.seq_len)..];
        let x = Array::from_slice(ctx, &[1, ctx.len()])?;
        let logits = model.forward(&x)?;
        let last = logits.slice(mx::s![.., -1.., ..])?.reshape([-1])?;
        let probs = mx::softmax(&(&last / 0.8)?, -1, false)?.to_vec::<f32>()?;
        let u = mx::random::uniform(&[1], None)?.item::<f32>()?;
        let mut acc = 0.0;
        let mut next = probs.len() - 1;
        for (i, p) in probs.iter().enumerate() {
            acc += p;
            if u < acc {
                next = i;
                break;
            }
        }
        ids.push(next as i32);
    }
    Ok(vocab.decode(&ids))
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s.get(s.len() / 2).copied().unwrap_or(0.0)
}

fn read_text(path: &str) -> mx::Result<String> {
    std::fs::read_to_string(path).map_err(|e| mx::Error::Io {
        path: path.to_string(),
        source: e,
    })
}

fn run(a: Args) -> mx::Result<()> {
    if a.pretrain_steps == 0 || a.finetune_steps == 0 {
        return Err(mx::Error::Value(
            "--pretrain-steps and --finetune-steps must be at least 1".into(),
        ));
    }
    if a.heads == 0 || !a.dims.is_multiple_of(a.heads) {
        return Err(mx::Error::Value(format!(
            "--dims ({}) must be divisible by --heads ({})",
            a.dims, a.heads
        )));
    }
    if a.seq_len == 0 || a.batch == 0 {
        return Err(mx::Error::Value(
            "--seq-len and --batch must be at least 1".into(),
        ));
    }
    let group = if a.distributed {
        dist::init_strict()?
    } else {
        Group::singleton()
    };
    let rank0 = group.rank() == 0;
    if !a.batch.is_multiple_of(group.size()) {
        return Err(mx::Error::Value(format!(
            "--batch ({}) must be a multiple of the number of processes ({})",
            a.batch,
            group.size()
        )));
    }
    // only rank 0 prints
    macro_rules! say {
        ($($t:tt)*) => { if rank0 { println!($($t)*); } };
    }
    let text_a = read_text(&a.pretrain_text)?;
    let text_b = read_text(&a.finetune_text)?;
    let vocab = Vocab::new(&[&text_a, &text_b]);
    let tokens_a = vocab.encode(&text_a);
    let tokens_b = vocab.encode(&text_b);
    let split = tokens_b.len() * 9 / 10;
    let (train_b, val_b) = tokens_b.split_at(split);
    for (name, t) in [
        ("pre-training", &tokens_a[..]),
        ("fine-tuning", train_b),
        ("validation", val_b),
    ] {
        if t.len() < a.seq_len + 2 {
            return Err(mx::Error::Value(format!(
                "the {name} text has {} characters; --seq-len {} needs more",
                t.len(),
                a.seq_len
            )));
        }
    }
    if rank0 {
        std::fs::create_dir_all(&a.out_dir).map_err(|e| mx::Error::Io {
            path: a.out_dir.display().to_string(),
            source: e,
        })?;
    }
    mx::random::seed(a.seed);
    if a.distributed {
        say!(
            "data-parallel over {} processes: {} sequences of each batch per process",
            group.size(),
            a.batch / group.size()
        );
    }

    // 1. Pre-train on part A.
    say!(
        "rmlx bitfit: {} characters of pre-training text, {} of fine-tuning text, vocabulary {}",
        tokens_a.len(),
        tokens_b.len(),
        vocab.chars.len()
    );
    let mut model = CharLm::new(vocab.chars.len(), &a)?;
    let mut opt = AdamW::new(a.lr);
    let pre = train(
        &mut model,
        &mut opt,
        &tokens_a,
        a.pretrain_steps,
        &a,
        "pre-train",
        &group,
    )?;
    let weights = a.out_dir.join("pretrained.safetensors");
    if rank0 {
        model.save_weights(&weights)?;
    }
    // the fine-tuning runs start from the saved file in one process; the other processes of a
    // distributed run may not see rank 0's file system, so there every process copies the
    // pre-trained parameters from memory
    let pretrained: Vec<(String, Array)> = model
        .parameters()
        .flatten()
        .into_iter()
        .map(|(k, v)| (k, v.clone()))
        .collect();
    let load = |m: &mut CharLm| -> mx::Result<()> {
        if a.distributed {
            m.load_weights(pretrained.clone(), true)?;
        } else {
            m.load_weights(weights.as_path(), true)?;
        }
        Ok(())
    };
    say!(
        "pre-training: loss {:.3} -> {:.3}; weights saved to {}",
        pre.losses[0],
        pre.losses[pre.losses.len() - 1],
        weights.display()
    );

    // 2. Bias-only fine-tuning (BitFit) of a fresh model loaded from the checkpoint.
    let mut bitfit = CharLm::new(vocab.chars.len(), &a)?;
    load(&mut bitfit)?;
    bitfit.freeze(Keys::All)?;
    bitfit.unfreeze("bias")?;
    let total = bitfit.num_parameters();
    let trainable: usize = bitfit
        .trainable_parameters()
        .flatten()
        .iter()
        .map(|(_, p)| p.size())
        .sum();
    say!(
        "bias-only model: trainable {:.2}% — {} of {} parameters",
        100.0 * trainable as f64 / total as f64,
        trainable,
        total
    );
    let mut opt_b = AdamW::new(a.lr * 10.0);
    let mut bias_run = train(
        &mut bitfit,
        &mut opt_b,
        train_b,
        a.finetune_steps,
        &a,
        "bias-only",
        &group,
    )?;
    bias_run.val_loss = validation_loss(&bitfit, val_b, &a)?;

    // 3. Full fine-tuning from the same checkpoint, same data and steps.
    let mut full = CharLm::new(vocab.chars.len(), &a)?;
    load(&mut full)?;
    let mut opt_f = AdamW::new(a.lr);
    let mut full_run = train(
        &mut full,
        &mut opt_f,
        train_b,
        a.finetune_steps,
        &a,
        "full",
        &group,
    )?;
    full_run.val_loss = validation_loss(&full, val_b, &a)?;
    let base_val = validation_loss(&model, val_b, &a)?;
    if !rank0 {
        return Ok(());
    }
    if let Some(path) = &a.log_losses {
        let lines: Vec<String> = [&pre.losses, &bias_run.losses, &full_run.losses]
            .iter()
            .flat_map(|l| l.iter().map(|v| format!("{v:.7}")))
            .collect();
        // written to a temporary file and renamed (issue 20: no half-written outputs)
        mx::io::write_atomic_path(path, |tmp| {
            std::fs::write(tmp, lines.join("\n") + "\n").map_err(|e| mx::Error::Io {
                path: tmp.display().to_string(),
                source: e,
            })
        })?;
    }

    println!();
    println!("{:<22} {:>12} {:>12}", "", "bias-only", "full");
    println!(
        "{:<22} {:>12} {:>12}",
        "trainable parameters", trainable, total
    );
    println!(
        "{:<22} {:>12.1} {:>12.1}",
        "median step (ms)",
        median(&bias_run.step_ms),
        median(&full_run.step_ms)
    );
    println!(
        "{:<22} {:>12.1} {:>12.1}",
        "peak array memory MiB",
        bias_run.peak_bytes as f64 / (1 << 20) as f64,
        full_run.peak_bytes as f64 / (1 << 20) as f64
    );
    println!(
        "{:<22} {:>12.3} {:>12.3}",
        "first -> last loss", bias_run.losses[0], full_run.losses[0]
    );
    println!(
        "{:<22} {:>12.3} {:>12.3}",
        "",
        bias_run.losses[bias_run.losses.len() - 1],
        full_run.losses[full_run.losses.len() - 1]
    );
    println!(
        "{:<22} {:>12.3} {:>12.3}   (before fine-tuning: {base_val:.3})",
        "validation loss", bias_run.val_loss, full_run.val_loss
    );
    if a.distributed {
        println!(
            "{:<22} {:>12} {:>12}   (this process, per step, gradients and loss)",
            "bytes sent", bias_run.sent_per_step, full_run.sent_per_step
        );
    }

    // 4. Loss curves and samples.
    let png = a.out_dir.join("loss_curves.png");
    plot(&png, &bias_run.losses, &full_run.losses)?;
    let samples = a.out_dir.join("samples.txt");
    let prompt = "My son, ";
    let text = format!(
        "prompt: {prompt:?}\n\n== bias-only fine-tune ==\n{}\n\n== full fine-tune ==\n{}\n",
        sample(&bitfit, &vocab, prompt, 200, &a)?,
        sample(&full, &vocab, prompt, 200, &a)?
    );
    mx::io::write_atomic_path(&samples, |tmp| {
        std::fs::write(tmp, &text).map_err(|e| mx::Error::Io {
            path: tmp.display().to_string(),
            source: e,
        })
    })?;
    println!("\n{text}");
    println!(
        "wrote {}, {} and {}",
        weights.display(),
        png.display(),
        samples.display()
    );
    Ok(())
}

fn plot(path: &Path, bias: &[f32], full: &[f32]) -> mx::Result<()> {
    use plotters::style::{BLUE, RED};
    let curves = [
        plot::Curve {
            values: bias,
            color: RED,
            name: "bias-only (BitFit)",
        },
        plot::Curve {
            values: full,
            color: BLUE,
            name: "all parameters",
        },
    ];
    plot::loss_curves(path, "Fine-tuning on Proverbs: bias-only vs full", &curves)
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(args) {
        eprintln!("bitfit: error: {e}");
        std::process::exit(1);
    }
}
