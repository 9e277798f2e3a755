//! Differentially private SGD (DP-SGD, Abadi et al. 2016) with per-example gradients from
//! `vmap(grad)`: every example's gradient is clipped to norm `--clip`, the clipped gradients are
//! summed, Gaussian noise of scale `--noise * --clip` is added and the sum is averaged. The model
//! is W3's MLP shape (two hidden layers of 512) on the handwritten digits shipped in
//! `examples/data/digits.csv.gz`; with `--w3` it is exactly W3 (784 inputs, batch 256, random
//! data) and the example only times its per-example gradients against one batched gradient.
//!
//! ```text
//! cargo run --release -p rmlx --example per_example_grads [-- --epochs 5 --clip 1.0 --noise 1.0]
//! cargo run --release -p rmlx --example per_example_grads -- --w3
//! ```

use clap::Parser;
#[path = "common/digits.rs"]
mod digits;

use digits::{accuracy, batch, load, Mlp, Rng};
use rmlx::core::tree::{tree_flatten, try_tree_map, Tree};
use rmlx::core::{self as mx, Array};
use rmlx::nn::losses::{cross_entropy, Reduction};
use rmlx::nn::{per_example_grads, value_and_grad, ModuleExt};
use rmlx::optimizers::{Optimizer, SGD};
use std::path::PathBuf;
use std::time::Instant;

/// DP-SGD on the digits with per-example gradients from vmap(grad).
#[derive(Parser)]
struct Args {
    /// The gzipped CSV: 64 pixel values (0..16) then the label, one image a line.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/digits.csv.gz"))]
    data: PathBuf,
    /// Passes over the training set.
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    /// Examples per step (each clipped on its own).
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// The largest L2 norm an example's gradient keeps (over all parameters).
    #[arg(long, default_value_t = 1.0)]
    clip: f32,
    /// Noise multiplier: the noise's standard deviation is `noise * clip`.
    #[arg(long, default_value_t = 1.0)]
    noise: f32,
    /// SGD's learning rate.
    #[arg(long, default_value_t = 0.5)]
    lr: f32,
    /// Seed of the shuffles, the initial weights and the noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Time per-example gradients of W3 exactly (784-512-512-10, batch 256, random data).
    #[arg(long)]
    w3: bool,
}

fn loss(m: &Mlp, x: &Array, y: &Array) -> mx::Result<Array> {
    cross_entropy(&m.forward(x)?, y, None, -1, 0.0, Reduction::Mean)
}

/// Each example's gradient, clipped to norm `clip`, summed over the examples, plus noise of
/// standard deviation `noise * clip`, divided by the number of examples. Also returns the mean
/// per-example norm before clipping.
fn private_gradient(per: &Tree<Array>, clip: f32, noise: f32) -> mx::Result<(Tree<Array>, f32)> {
    let leaves = tree_flatten(per);
    let n = leaves.first().map_or(0, |(_, g)| g.shape()[0]);
    // each leaf as [n, D]: the squared norm of every example's whole gradient is a sum of
    // per-row dot products (one batched product, reading the gradients once)
    let rows = |g: &Array| g.reshape([n as isize, -1]);
    let mut sq: Option<Array> = None;
    for (_, g) in &leaves {
        let r = rows(g)?;
        let s = r
            .expand_dims(1)?
            .matmul(&r.expand_dims(2)?)?
            .reshape([n as isize])?;
        sq = Some(match sq {
            None => s,
            Some(acc) => (&acc + &s)?,
        });
    }
    let norms = sq
        .ok_or_else(|| mx::Error::Value("no gradients".into()))?
        .sqrt()?;
    // factor_i = min(1, clip / norm_i); the clipped sum is factor @ rows (one more read)
    let factor = (&mx::array(clip) / &(&norms + 1e-6)?)?.minimum(&mx::array(1.0f32))?;
    let factor = factor.reshape([1, n as isize])?;
    let private = try_tree_map(per, |_, g| -> mx::Result<Array> {
        let clipped = factor.matmul(&rows(g)?)?.reshape(&g.shape()[1..])?;
        let z = mx::random::normal(clipped.shape(), None)?;
        &(&clipped + &(&z * f64::from(noise * clip))?)? / n as f64
    })?;
    Ok((private, norms.mean(None, false)?.item::<f32>()?))
}

fn w3_timing() -> mx::Result<()> {
    mx::random::seed(0);
    let mut model = Mlp::new(&[784, 512, 512, 10])?;
    mx::random::seed(1);
    let x = mx::random::normal(&[256, 784], None)?;
    let y = mx::random::randint(0, 10, &[256], mx::Dtype::I32, None)?;
    let (xs, ys) = (x.reshape([256, 1, 784])?, y.reshape([256, 1])?);
    mx::eval(&[&x, &y, &xs, &ys])?;
    println!(
        "W3: 784 → 512 → 512 → 10, {} parameters, 256 examples",
        model.num_parameters()
    );
    for step in 0..6 {
        let t = Instant::now();
        let per = per_example_grads(
            &mut model,
            &[xs.clone(), ys.clone()],
            |m: &Mlp, d: &[Array]| loss(m, &d[0], &d[1]),
        )?;
        let (g, _) = private_gradient(&per, 1.0, 1.0)?;
        let leaves: Vec<Array> = tree_flatten(&g)
            .into_iter()
            .map(|(_, a)| a.clone())
            .collect();
        mx::eval(&leaves.iter().collect::<Vec<_>>())?;
        let dp = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let (_, g) = value_and_grad(&mut model, |m: &Mlp| Ok(vec![loss(m, &x, &y)?]))?;
        let leaves: Vec<Array> = tree_flatten(&g)
            .into_iter()
            .map(|(_, a)| a.clone())
            .collect();
        mx::eval(&leaves.iter().collect::<Vec<_>>())?;
        let batched = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "step {step}: per-example gradients + clip + noise {dp:.1} ms, one batched gradient {batched:.1} ms ({:.1}x)",
            dp / batched
        );
    }
    Ok(())
}

fn run(args: Args) -> Result<(), String> {
    if args.w3 {
        return w3_timing().map_err(|e| e.to_string());
    }
    if args.epochs == 0 || args.batch_size == 0 {
        return Err("--epochs and --batch-size must be positive".into());
    }
    let ok =
        args.clip > 0.0 && args.clip.is_finite() && args.noise >= 0.0 && args.noise.is_finite();
    if !ok {
        return Err("--clip must be positive and --noise non-negative".into());
    }
    let data = load(&args.data)?;
    let n = data.y.len();
    let mut rng = Rng(args.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let (test, train) = order.split_at(n / 5);
    let mut train = train.to_vec();
    mx::random::seed(args.seed);
    let mut model = Mlp::new(&[64, 512, 512, 10]).map_err(|e| e.to_string())?;
    println!(
        "digits: {} train / {} test; model 64 → 512 → 512 → 10, {} parameters",
        train.len(),
        test.len(),
        model.num_parameters()
    );
    println!(
        "DP-SGD: batch {}, clip {}, noise multiplier {}, lr {}",
        args.batch_size, args.clip, args.noise, args.lr
    );
    let mut opt = SGD::new(args.lr);
    let start = Instant::now();
    for epoch in 1..=args.epochs {
        rng.shuffle(&mut train);
        let (mut norm_sum, mut steps) = (0.0f64, 0usize);
        for idx in train.chunks(args.batch_size) {
            let (x, y) = batch(&data, idx).map_err(|e| e.to_string())?;
            let m = idx.len() as isize;
            // one example = one [1, 64] row and its [1] label
            let xs = x.reshape([m, 1, 64]).map_err(|e| e.to_string())?;
            let ys = y.reshape([m, 1]).map_err(|e| e.to_string())?;
            let step = || -> mx::Result<f32> {
                let per = per_example_grads(&mut model, &[xs, ys], |m: &Mlp, d: &[Array]| {
                    loss(m, &d[0], &d[1])
                })?;
                let (g, mean_norm) = private_gradient(&per, args.clip, args.noise)?;
                opt.update(&mut model, &g)?;
                let mut all: Vec<Array> = model
                    .parameters()
                    .flatten()
                    .into_iter()
                    .map(|(_, p)| p.clone())
                    .collect();
                all.extend(opt.state().into_iter().map(|(_, s)| s));
                mx::eval(&all.iter().collect::<Vec<_>>())?;
                Ok(mean_norm)
            };
            norm_sum += f64::from(step().map_err(|e| e.to_string())?);
            steps += 1;
        }
        let acc = accuracy(&model, &data, test).map_err(|e| e.to_string())?;
        println!(
            "epoch {epoch:3}  mean per-example gradient norm {:.3}  test accuracy {:.1}%",
            norm_sum / steps as f64,
            acc * 100.0
        );
    }
    println!("trained in {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("per_example_grads: {e}");
        std::process::exit(1);
    }
}
