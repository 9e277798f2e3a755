//! Train an MLP classifier on the handwritten digits shipped in `examples/data/digits.csv.gz`
//! (1797 8×8 images, 10 classes): an 80/20 train/test split, minibatch Adam, the loss per epoch
//! and the test accuracy.
//!
//! ```text
//! cargo run --release -p rmlx --example mlp [-- --epochs 20 --hidden 64 --lr 0.003]
//! ```

use clap::Parser;
use rmlx::core::{self as mx, Array, Dtype};
use rmlx::nn::{value_and_grad, Linear, Module, ModuleExt, ModuleState};
use rmlx::optimizers::{Adam, Optimizer};
use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

/// Train an MLP on the UCI handwritten digits (scikit-learn's copy).
#[derive(Parser)]
struct Args {
    /// The gzipped CSV: 64 pixel values (0..16) then the label, one image a line.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/digits.csv.gz"))]
    data: PathBuf,
    /// Passes over the training set.
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    /// Images per minibatch.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Width of each hidden layer.
    #[arg(long, default_value_t = 64)]
    hidden: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 3e-3)]
    lr: f32,
    /// Seed of the shuffles and the initial weights.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// `Linear → ReLU → Linear → ReLU → Linear`.
#[derive(Module)]
#[module(crate = "rmlx::nn")]
struct Mlp {
    layers: Vec<Linear>,
    state: ModuleState,
}

impl Mlp {
    fn new(sizes: &[usize]) -> mx::Result<Mlp> {
        let layers = sizes
            .windows(2)
            .map(|w| Linear::new(w[0], w[1], true))
            .collect::<mx::Result<_>>()?;
        Ok(Mlp {
            layers,
            state: ModuleState::default(),
        })
    }

    fn forward(&self, x: &Array) -> mx::Result<Array> {
        let zero = Array::scalar(0.0f32);
        let mut h = x.clone();
        for (i, l) in self.layers.iter().enumerate() {
            h = l.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = h.maximum(&zero)?;
            }
        }
        Ok(h)
    }
}

/// Mean cross-entropy: `logsumexp(logits) - logits[label]`.
fn cross_entropy(logits: &Array, labels: &Array) -> mx::Result<Array> {
    let picked = logits.take_along_axis(&labels.expand_dims(-1)?, -1)?;
    (&logits.logsumexp(-1, true)? - &picked)?.mean(None, false)
}

struct Digits {
    x: Vec<f32>,
    y: Vec<i32>,
}

fn load(path: &PathBuf) -> Result<Digits, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot decompress {}: {e}", path.display()))?;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let vals: Vec<f32> = line
            .split(',')
            .map(|v| v.trim().parse::<f32>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
        if vals.len() != 65 {
            return Err(format!(
                "{}:{}: expected 65 values (64 pixels and a label), got {}",
                path.display(),
                n + 1,
                vals.len()
            ));
        }
        let label = vals[64];
        if !(0.0..=9.0).contains(&label) || label.fract() != 0.0 {
            return Err(format!("{}:{}: bad label {label}", path.display(), n + 1));
        }
        x.extend(vals[..64].iter().map(|v| v / 16.0));
        y.push(label as i32);
    }
    if y.is_empty() {
        return Err(format!("{}: no images", path.display()));
    }
    Ok(Digits { x, y })
}

/// A small deterministic generator for the shuffles (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, (self.next() % (i as u64 + 1)) as usize);
        }
    }
}

fn batch(d: &Digits, idx: &[usize]) -> mx::Result<(Array, Array)> {
    let mut x = Vec::with_capacity(idx.len() * 64);
    for &i in idx {
        x.extend_from_slice(&d.x[i * 64..(i + 1) * 64]);
    }
    let y: Vec<i32> = idx.iter().map(|&i| d.y[i]).collect();
    Ok((
        Array::from_vec(x, &[idx.len(), 64])?,
        Array::from_vec(y, &[idx.len()])?,
    ))
}

fn accuracy(model: &Mlp, d: &Digits, idx: &[usize]) -> mx::Result<f64> {
    let (x, y) = batch(d, idx)?;
    let pred = model.forward(&x)?.argmax(-1, false)?.astype(Dtype::I32)?;
    let hits = pred
        .equal(&y)?
        .astype(Dtype::F32)?
        .sum(None, false)?
        .item::<f32>()?;
    Ok(f64::from(hits) / idx.len() as f64)
}

fn run(args: Args) -> Result<(), String> {
    if args.epochs == 0 || args.batch_size == 0 || args.hidden == 0 {
        return Err("--epochs, --batch-size and --hidden must be positive".into());
    }
    if !(args.lr.is_finite() && args.lr > 0.0) {
        return Err(format!("--lr must be a positive number, got {}", args.lr));
    }
    let data = load(&args.data)?;
    let n = data.y.len();
    let mut rng = Rng(args.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let n_test = n / 5;
    let (test, train) = order.split_at(n_test);
    let mut train = train.to_vec();
    println!(
        "digits: {n} images, {} train / {} test",
        train.len(),
        test.len()
    );

    mx::random::seed(args.seed);
    let mut model = Mlp::new(&[64, args.hidden, args.hidden, 10]).map_err(|e| e.to_string())?;
    println!(
        "model: 64 → {h} → {h} → 10, {} parameters",
        model.num_parameters(),
        h = args.hidden
    );
    let mut opt = Adam::new(args.lr);
    let start = Instant::now();
    for epoch in 1..=args.epochs {
        rng.shuffle(&mut train);
        let (mut total, mut batches) = (0.0f64, 0usize);
        for idx in train.chunks(args.batch_size) {
            let (x, y) = batch(&data, idx).map_err(|e| e.to_string())?;
            let (outs, grads) = value_and_grad(&mut model, |m: &Mlp| {
                Ok(vec![cross_entropy(&m.forward(&x)?, &y)?])
            })
            .map_err(|e| e.to_string())?;
            opt.update(&mut model, &grads).map_err(|e| e.to_string())?;
            let params = model.parameters();
            let arrays: Vec<&Array> = params.flatten().into_iter().map(|(_, a)| a).collect();
            mx::eval(&arrays).map_err(|e| e.to_string())?;
            total += f64::from(outs[0].item::<f32>().map_err(|e| e.to_string())?);
            batches += 1;
        }
        let acc = accuracy(&model, &data, test).map_err(|e| e.to_string())?;
        println!(
            "epoch {epoch:>3}  train loss {:.4}  test accuracy {:.1}%",
            total / batches as f64,
            100.0 * acc
        );
    }
    let acc = accuracy(&model, &data, test).map_err(|e| e.to_string())?;
    println!(
        "final test accuracy {:.1}% ({} images) in {:.1} s",
        100.0 * acc,
        test.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
