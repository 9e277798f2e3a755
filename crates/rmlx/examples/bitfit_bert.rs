//! BitFit on a pre-trained BERT: sentence-transformers' all-MiniLM-L6-v2 learns to tell whether
//! two sentences mean the same thing (`examples/data/pairs.tsv`: paraphrases against hard
//! negatives that share the words — subject and object swapped, a negation, another number,
//! place or time). The encoder is frozen, its biases unfrozen (`model.freeze(); model.unfreeze(
//! "bias")`) and a new classification head on `[u, v, |u - v|, u * v]` trains with them: about
//! 0.13 % of the parameters.
//!
//! Before: the checkpoint as it is (cosine similarity with the best threshold on the training
//! pairs), and a linear probe (the head alone on the frozen encoder). After: BitFit. Accuracy is
//! measured on the held-back test pairs; `out/bitfit_bert/loss_curves.png` shows the training
//! losses of the probe and of BitFit.
//!
//! ```text
//! tools/reference/fetch_minilm.sh          # prints the model folder (~/.cache/rmlx/all-MiniLM-L6-v2)
//! cargo run --release -p rmlx --example bitfit_bert -- ~/.cache/rmlx/all-MiniLM-L6-v2
//! ```

use clap::Parser;
#[path = "common/plot.rs"]
mod plot;
#[path = "common/tokenize.rs"]
mod tokenize;
use rmlx::core::{self as mx, Array};
use rmlx::models::bert::BertModel;
use rmlx::nn::losses::{cross_entropy, Reduction};
use rmlx::nn::{self, Keys, Linear, ModuleExt, ModuleState};
use rmlx::optimizers::{AdamW, Optimizer};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tokenizers::Tokenizer;

/// BitFit of all-MiniLM-L6-v2 on sentence pairs.
#[derive(Parser)]
struct Args {
    /// The checkpoint folder: config.json, model.safetensors, tokenizer.json.
    model: PathBuf,
    /// The pairs: `split<TAB>label<TAB>sentence a<TAB>sentence b`.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/pairs.tsv"))]
    data: PathBuf,
    /// Passes over the training pairs.
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    /// Pairs per step.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// AdamW's learning rate.
    #[arg(long, default_value_t = 2e-3)]
    lr: f32,
    /// Seed of the head's initialisation and the shuffles.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where the plot goes.
    #[arg(long, default_value = "out/bitfit_bert")]
    out: PathBuf,
}

/// The encoder and a head on `[u, v, |u - v|, u * v]` of the two sentence embeddings.
#[derive(nn::Module)]
#[module(crate = "rmlx::nn")]
struct PairClassifier {
    bert: BertModel,
    head: Linear,
    state: ModuleState,
}

struct Pair {
    label: i32,
    a: String,
    b: String,
}

/// The sentence embeddings `(u, v)` of both sides of `pairs`, from one encoder call.
fn embed_pairs(bert: &BertModel, tok: &Tokenizer, pairs: &[&Pair]) -> mx::Result<(Array, Array)> {
    let sentences: Vec<&str> = pairs
        .iter()
        .map(|p| p.a.as_str())
        .chain(pairs.iter().map(|p| p.b.as_str()))
        .collect();
    let (ids, mask) = tokenize::encode(tok, &sentences)?;
    let mut halves = bert
        .encode(&ids, &mask, None)?
        .split(vec![pairs.len() as isize], 0)?
        .into_iter();
    match (halves.next(), halves.next()) {
        (Some(u), Some(v)) => Ok((u, v)),
        _ => Err(mx::Error::Value("embed_pairs: split gave no halves".into())),
    }
}

impl PairClassifier {
    /// Logits `[n, 2]` of `pairs`.
    fn forward(&self, tok: &Tokenizer, pairs: &[&Pair]) -> mx::Result<Array> {
        let (u, v) = embed_pairs(&self.bert, tok, pairs)?;
        let (u, v) = (&u, &v);
        let features = mx::concatenate(&[u.clone(), v.clone(), (u - v)?.abs()?, (u * v)?], 1)?;
        self.head.forward(&features)
    }
}

fn read_pairs(path: &Path) -> mx::Result<(Vec<Pair>, Vec<Pair>)> {
    let text = std::fs::read_to_string(path).map_err(|source| mx::Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let bad = || mx::Error::Format {
            path: path.display().to_string(),
            message: format!(
                "line {}: expected split, label (0/1), sentence a, sentence b",
                i + 1
            ),
        };
        let [split, label, a, b] = f[..] else {
            return Err(bad());
        };
        let label = label
            .parse::<i32>()
            .ok()
            .filter(|l| *l == 0 || *l == 1)
            .ok_or_else(bad)?;
        let pair = Pair {
            label,
            a: a.into(),
            b: b.into(),
        };
        match split {
            "train" => train.push(pair),
            "test" => test.push(pair),
            _ => return Err(bad()),
        }
    }
    Ok((train, test))
}

/// A small deterministic generator for the shuffles.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, (self.next() % (i as u64 + 1)) as usize);
        }
    }
}

fn accuracy(model: &PairClassifier, tok: &Tokenizer, pairs: &[Pair]) -> mx::Result<f32> {
    let mut right = 0;
    for chunk in pairs.chunks(64) {
        let refs: Vec<&Pair> = chunk.iter().collect();
        let pred = model
            .forward(tok, &refs)?
            .argmax(-1, false)?
            .to_vec::<u32>()?;
        right += pred
            .iter()
            .zip(chunk)
            .filter(|(p, q)| **p as i32 == q.label)
            .count();
    }
    Ok(right as f32 / pairs.len() as f32)
}

/// The checkpoint as it is: cosine similarity of the two embeddings, with the threshold that is
/// best on the training pairs. Returns (threshold, test accuracy).
fn zero_shot(
    bert: &BertModel,
    tok: &Tokenizer,
    train: &[Pair],
    test: &[Pair],
) -> mx::Result<(f32, f32)> {
    let cosines = |pairs: &[Pair]| -> mx::Result<Vec<f32>> {
        let mut out = Vec::new();
        for chunk in pairs.chunks(64) {
            let refs: Vec<&Pair> = chunk.iter().collect();
            let (u, v) = embed_pairs(bert, tok, &refs)?;
            out.extend((&u * &v)?.sum(-1, false)?.to_vec::<f32>()?);
        }
        Ok(out)
    };
    let acc = |c: &[f32], pairs: &[Pair], t: f32| {
        c.iter()
            .zip(pairs)
            .filter(|(c, p)| ((**c > t) as i32) == p.label)
            .count() as f32
            / pairs.len() as f32
    };
    let ctrain = cosines(train)?;
    let mut best = (0.0f32, 0.0f32);
    for &t in &ctrain {
        let a = acc(&ctrain, train, t);
        if a > best.1 {
            best = (t, a);
        }
    }
    Ok((best.0, acc(&cosines(test)?, test, best.0)))
}

/// Trains the model's unfrozen parameters; returns the loss of every step.
fn train(
    model: &mut PairClassifier,
    tok: &Tokenizer,
    pairs: &[Pair],
    a: &Args,
    label: &str,
) -> mx::Result<Vec<f32>> {
    let mut opt = AdamW::new(a.lr);
    let mut rng = Rng(a.seed + 1);
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    let mut losses = Vec::new();
    let t0 = Instant::now();
    for epoch in 0..a.epochs {
        rng.shuffle(&mut order);
        for idx in order.chunks(a.batch) {
            let batch: Vec<&Pair> = idx.iter().map(|&i| &pairs[i]).collect();
            let labels: Vec<i32> = batch.iter().map(|p| p.label).collect();
            let y = Array::from_slice(&labels, &[labels.len()])?;
            let (loss, grads) = nn::value_and_grad(model, |m: &PairClassifier| {
                Ok(vec![cross_entropy(
                    &m.forward(tok, &batch)?,
                    &y,
                    None,
                    -1,
                    0.0,
                    Reduction::Mean,
                )?])
            })?;
            opt.update(model, &grads)?;
            let mut to_eval = vec![loss[0].clone()];
            to_eval.extend(
                model
                    .trainable_parameters()
                    .flatten()
                    .into_iter()
                    .map(|(_, p)| p.clone()),
            );
            mx::eval(&to_eval.iter().collect::<Vec<_>>())?;
            losses.push(loss[0].item::<f32>()?);
        }
        let recent = &losses[losses.len().saturating_sub(10)..];
        println!(
            "  {label} epoch {}: loss {:.4} (mean of the last {} steps), {:.1} s",
            epoch + 1,
            recent.iter().sum::<f32>() / recent.len() as f32,
            recent.len(),
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(losses)
}

fn run(a: Args) -> mx::Result<()> {
    mx::random::seed(a.seed);
    let bert = BertModel::from_pretrained(&a.model)?;
    let tok = tokenize::load(&a.model, 256)?;
    let (train_pairs, test_pairs) = read_pairs(&a.data)?;
    println!(
        "{} training pairs, {} test pairs",
        train_pairs.len(),
        test_pairs.len()
    );

    let (threshold, zero) = zero_shot(&bert, &tok, &train_pairs, &test_pairs)?;
    println!(
        "before: the checkpoint as it is (cosine > {threshold:.3}): test accuracy {:.1}%",
        zero * 100.0
    );

    let h = bert.config.hidden_size;
    let head = Linear::new(4 * h, 2, true)?;
    let fresh = |bert: &BertModel| PairClassifier {
        bert: bert.clone(),
        head: head.clone(),
        state: ModuleState::default(),
    };

    // linear probe: the head alone on the frozen encoder
    let mut probe = fresh(&bert);
    probe.bert.freeze(Keys::All)?;
    println!(
        "linear probe: {} of {} parameters trainable",
        count(&probe.trainable_parameters()),
        probe.num_parameters()
    );
    let probe_losses = train(&mut probe, &tok, &train_pairs, &a, "probe")?;
    let probe_acc = accuracy(&probe, &tok, &test_pairs)?;
    println!(
        "before: linear probe on the frozen encoder: test accuracy {:.1}%",
        probe_acc * 100.0
    );

    // BitFit: the encoder's biases and the head
    let mut bitfit = fresh(&bert);
    bitfit.freeze(Keys::All)?;
    bitfit.unfreeze("bias")?;
    bitfit.head.unfreeze(Keys::All)?;
    let (trainable, total) = (
        count(&bitfit.trainable_parameters()),
        bitfit.num_parameters(),
    );
    println!(
        "BitFit: {trainable} of {total} parameters trainable ({:.3}%)",
        100.0 * trainable as f64 / total as f64
    );
    let bitfit_losses = train(&mut bitfit, &tok, &train_pairs, &a, "BitFit")?;
    let bitfit_acc = accuracy(&bitfit, &tok, &test_pairs)?;
    println!(
        "after: BitFit: test accuracy {:.1}% (linear probe {:.1}%, checkpoint as it is {:.1}%)",
        bitfit_acc * 100.0,
        probe_acc * 100.0,
        zero * 100.0
    );

    std::fs::create_dir_all(&a.out).map_err(|source| mx::Error::Io {
        path: a.out.display().to_string(),
        source,
    })?;
    let png = a.out.join("loss_curves.png");
    plot(&png, &probe_losses, &bitfit_losses)?;
    println!("wrote {}", png.display());
    Ok(())
}

fn count(t: &mx::tree::Tree<Array>) -> usize {
    t.flatten().iter().map(|(_, p)| p.size()).sum()
}

fn plot(path: &Path, probe: &[f32], bitfit: &[f32]) -> mx::Result<()> {
    use plotters::style::{BLUE, RED};
    let curves = [
        plot::Curve {
            values: probe,
            color: BLUE,
            name: "linear probe (head only)",
        },
        plot::Curve {
            values: bitfit,
            color: RED,
            name: "BitFit (biases + head)",
        },
    ];
    let caption = "all-MiniLM-L6-v2 on sentence pairs: linear probe vs BitFit";
    plot::loss_curves(path, caption, &curves)
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("bitfit_bert: error: {e}");
        std::process::exit(1);
    }
}
