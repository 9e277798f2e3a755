//! Train an MLP classifier on the handwritten digits shipped in `examples/data/digits.csv.gz`
//! (1797 8×8 images, 10 classes): an 80/20 train/test split, minibatch Adam, the loss per epoch
//! and the test accuracy.
//!
//! ```text
//! cargo run --release -p rmlx --example mlp [-- --epochs 20 --hidden 64 --lr 0.003]
//! ```

use clap::Parser;
#[path = "common/digits.rs"]
mod digits;
use digits::{accuracy, batch, load, Mlp, Rng};
use rmlx::core::{self as mx, Array};
use rmlx::nn::{value_and_grad, ModuleExt};
use rmlx::optimizers::{Adam, Optimizer};
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

/// Mean cross-entropy: `logsumexp(logits) - logits[label]`.
fn cross_entropy(logits: &Array, labels: &Array) -> mx::Result<Array> {
    let picked = logits.take_along_axis(&labels.expand_dims(-1)?, -1)?;
    (&logits.logsumexp(-1, true)? - &picked)?.mean(None, false)
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
    let model = Mlp::new(&[64, args.hidden, args.hidden, 10]).map_err(|e| e.to_string())?;
    println!(
        "model: 64 → {h} → {h} → 10, {} parameters",
        model.num_parameters(),
        h = args.hidden
    );
    // the training step compiled with the model and the optimizer as its state (a second trace
    // serves the shorter last batch; RMLX_DISABLE_COMPILE=1 runs it as written)
    let step = mx::compile_with_state(
        |(m, o): &mut (Mlp, Adam), d: &[Array]| -> mx::Result<Vec<Array>> {
            let (outs, grads) = value_and_grad(m, |net: &Mlp| {
                Ok(vec![cross_entropy(&net.forward(&d[0])?, &d[1])?])
            })?;
            o.update(m, &grads)?;
            Ok(outs)
        },
    );
    let mut state = (model, Adam::new(args.lr));
    let start = Instant::now();
    for epoch in 1..=args.epochs {
        rng.shuffle(&mut train);
        let (mut total, mut batches) = (0.0f64, 0usize);
        for idx in train.chunks(args.batch_size) {
            let (x, y) = batch(&data, idx).map_err(|e| e.to_string())?;
            let outs = step.call(&mut state, &[x, y]).map_err(|e| e.to_string())?;
            let params = state.0.parameters();
            let arrays: Vec<&Array> = params.flatten().into_iter().map(|(_, a)| a).collect();
            mx::eval(&arrays).map_err(|e| e.to_string())?;
            total += f64::from(outs[0].item::<f32>().map_err(|e| e.to_string())?);
            batches += 1;
        }
        let acc = accuracy(&state.0, &data, test).map_err(|e| e.to_string())?;
        println!(
            "epoch {epoch:>3}  train loss {:.4}  test accuracy {:.1}%",
            total / batches as f64,
            100.0 * acc
        );
    }
    let model = state.0;
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
