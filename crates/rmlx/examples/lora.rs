//! LoRA fine-tuning, MLX-LM's way: pre-train a small MLP on a toy regression (task A), freeze
//! it, swap its `Linear`s for `nn::LoRALinear` through `update_modules`, train only the adapters
//! on a shifted task (B), then merge the adapters back into plain `Linear`s and check the merged
//! model gives the same outputs. With `--quantize 4` (QLoRA) the frozen base is quantized to 4
//! bits first (`nn::quantize`) and the adapters train over `QuantizedLinear`s; merging then
//! folds them into dequantized `Linear`s.
//!
//! ```text
//! cargo run --release -p rmlx --example lora [-- --rank 4 --scale 2 --steps 300]
//! cargo run --release -p rmlx --example lora -- --quantize 4
//! ```

use clap::Parser;
use rmlx::core::{self as mx, Array};
use rmlx::nn::{
    quantize, value_and_grad, Keys, Linear, LoRALinear, Module, ModuleExt, ModuleState,
    QuantizedLinear, Tree,
};
use rmlx::optimizers::{Adam, Optimizer};
use std::time::Instant;

/// Pre-train an MLP, fine-tune LoRA adapters on a new task, merge them back.
#[derive(Parser)]
struct Args {
    /// Rank of the adapters.
    #[arg(long, default_value_t = 4)]
    rank: usize,
    /// Multiplier of the low-rank update (MLX-LM's `scale`; MLX-LM's default is 20).
    #[arg(long, default_value_t = 2.0)]
    scale: f32,
    /// Dropout on the adapters' input.
    #[arg(long, default_value_t = 0.0)]
    dropout: f32,
    /// Full-batch Adam steps, for the pre-training and for the fine-tuning each.
    #[arg(long, default_value_t = 300)]
    steps: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-2)]
    lr: f32,
    /// Seed of the data and the initial weights.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// QLoRA: quantize the frozen base to this many bits (1-6 or 8) in groups of 32 (MLX's
    /// smallest group): the layers whose input width is a multiple of 32 (the 16-input first
    /// layer stays f32).
    #[arg(long)]
    quantize: Option<usize>,
}

const DIMS: [usize; 4] = [16, 64, 64, 4];

/// An MLP whose layers are boxed, so `update_modules` can swap in any module type.
#[derive(Module)]
#[module(crate = "rmlx::nn")]
struct Net {
    layers: Vec<Box<dyn Module>>,
    state: ModuleState,
}

impl Net {
    fn new() -> mx::Result<Net> {
        let mut layers: Vec<Box<dyn Module>> = Vec::new();
        for w in DIMS.windows(2) {
            layers.push(Box::new(Linear::new(w[0], w[1], true)?));
        }
        Ok(Net {
            layers,
            state: ModuleState::default(),
        })
    }

    fn forward(&self, x: &Array) -> mx::Result<Array> {
        let zero = Array::scalar(0.0f32);
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            let any = layer.as_any();
            h = if let Some(l) = any.downcast_ref::<Linear>() {
                l.forward(&h)?
            } else if let Some(l) = any.downcast_ref::<LoRALinear>() {
                l.forward(&h)?
            } else if let Some(l) = any.downcast_ref::<LoRALinear<QuantizedLinear>>() {
                l.forward(&h)?
            } else if let Some(l) = any.downcast_ref::<QuantizedLinear>() {
                l.forward(&h)?
            } else {
                return Err(mx::Error::Value(format!(
                    "layer {i} is a {}, not a Linear",
                    layer.class_name()
                )));
            };
            if i + 1 < self.layers.len() {
                h = h.maximum(&zero)?;
            }
        }
        Ok(h)
    }
}

fn mse(model: &Net, x: &Array, y: &Array) -> mx::Result<Array> {
    let d = (&model.forward(x)? - y)?;
    (&d * &d)?.mean(None, false)
}

/// Full-batch Adam on `mse`; returns the first and the last loss.
fn train(model: &mut Net, x: &Array, y: &Array, steps: usize, lr: f32) -> mx::Result<(f32, f32)> {
    let mut opt = Adam::new(lr);
    let (mut first, mut last) = (f32::NAN, f32::NAN);
    for step in 0..steps {
        let (outs, grads) = value_and_grad(model, |m: &Net| Ok(vec![mse(m, x, y)?]))?;
        opt.update(model, &grads)?;
        let params = model.trainable_parameters();
        let arrays: Vec<&Array> = params.flatten().into_iter().map(|(_, a)| a).collect();
        mx::eval(&arrays)?;
        last = outs[0].item::<f32>()?;
        if step == 0 {
            first = last;
        }
        if step % (steps / 5).max(1) == 0 || step + 1 == steps {
            println!("  step {step:>4}  loss {last:.5}");
        }
    }
    Ok((first, last))
}

/// One line of `summary()`: the totals.
fn totals(model: &Net) -> String {
    let s = model.summary();
    s.lines()
        .rev()
        .find(|l| l.contains("trainable"))
        .unwrap_or("")
        .trim()
        .to_string()
}

fn run(args: Args) -> mx::Result<()> {
    if args.steps == 0 {
        return Err(mx::Error::Value("--steps must be positive".into()));
    }
    if !(args.lr.is_finite() && args.lr > 0.0) {
        return Err(mx::Error::Value(format!(
            "--lr must be positive, got {}",
            args.lr
        )));
    }
    let t0 = Instant::now();
    mx::random::seed(args.seed);
    let (n, d_in, d_out) = (512, DIMS[0], DIMS[3]);
    // task A: y = sin(x W); task B: the same with W shifted by a rank-1 term
    let x = mx::random::uniform_with(-1.0, 1.0, &[n, d_in], mx::Dtype::F32, None)?;
    let w = mx::random::normal(&[d_in, d_out], None)?;
    let u = mx::random::normal(&[d_in, 1], None)?;
    let v = mx::random::normal(&[1, d_out], None)?;
    let w_b = (&w + &(u.matmul(&v)? * 0.7)?)?;
    let y_a = x.matmul(&w)?.sin()?;
    let y_b = x.matmul(&w_b)?.sin()?;
    mx::eval(&[&x, &y_a, &y_b])?;

    let mut model = Net::new()?;
    println!(
        "pre-training on task A ({} parameters)",
        model.num_parameters()
    );
    let (_, a_end) = train(&mut model, &x, &y_a, args.steps, args.lr)?;
    println!(
        "task B loss before fine-tuning: {:.5} (task A: {a_end:.5})",
        mse(&model, &x, &y_b)?.item::<f32>()?
    );

    // MLX-LM: freeze the model, then swap its Linears for LoRA layers (the wrapped Linears
    // keep their frozen state, the adapters are trainable)
    model.freeze(Keys::All)?;
    let (r, scale, p) = (args.rank, args.scale, args.dropout);
    if let Some(bits) = args.quantize {
        // QLoRA: the frozen base to `bits` bits (layers whose width is a multiple of 32)
        let done = quantize(&mut model, 32, bits, None)?;
        println!("quantized to {bits} bits: {}", done.join(", "));
        println!(
            "task B loss with the quantized base: {:.5}",
            mse(&model, &x, &y_b)?.item::<f32>()?
        );
    }
    let mut out = Vec::new();
    for layer in &model.layers {
        let any = layer.as_any();
        let new: Box<dyn Module> = if let Some(l) = any.downcast_ref::<Linear>() {
            Box::new(LoRALinear::from_linear(l.clone(), r, scale, p)?)
        } else if let Some(q) = any.downcast_ref::<QuantizedLinear>() {
            Box::new(LoRALinear::from_quantized(q.clone(), r, scale, p)?)
        } else {
            return Err(mx::Error::Value(format!(
                "unexpected layer {}",
                layer.class_name()
            )));
        };
        out.push(Tree::Leaf(new));
    }
    let swap = Tree::Dict(
        [("layers".to_string(), Tree::List(out))]
            .into_iter()
            .collect(),
    );
    model.update_modules(swap, true)?;
    println!(
        "\nswapped in LoRALinear(r={r}, scale={scale}): {}",
        totals(&model)
    );
    println!("fine-tuning the adapters on task B");
    let (b_start, b_end) = train(&mut model, &x, &y_b, args.steps, args.lr)?;
    println!("task B loss {b_start:.5} -> {b_end:.5}");

    // merge back into plain Linears and compare outputs (eval mode: no dropout)
    model.eval();
    let x_test = mx::random::uniform_with(-1.0, 1.0, &[256, d_in], mx::Dtype::F32, None)?;
    let before = model.forward(&x_test)?;
    before.eval()?;
    let mut out = Vec::new();
    for layer in &model.layers {
        let any = layer.as_any();
        let merged = if let Some(l) = any.downcast_ref::<LoRALinear>() {
            l.merge()?
        } else if let Some(l) = any.downcast_ref::<LoRALinear<QuantizedLinear>>() {
            l.merge()?
        } else {
            return Err(mx::Error::Value(format!(
                "unexpected layer {}",
                layer.class_name()
            )));
        };
        out.push(Tree::Leaf(Box::new(merged) as Box<dyn Module>));
    }
    let merged = Tree::Dict(
        [("layers".to_string(), Tree::List(out))]
            .into_iter()
            .collect(),
    );
    model.update_modules(merged, true)?;
    let after = model.forward(&x_test)?;
    let max_diff = (&after - &before)?.abs()?.max(None, false)?.item::<f32>()?;
    println!(
        "\nmerged back into Linear layers: {} parameters, {}",
        model.num_parameters(),
        totals(&model)
    );
    println!(
        "max |merged - LoRA| over {} outputs: {max_diff:.3e}",
        after.size()
    );
    println!("done in {:.1} s", t0.elapsed().as_secs_f64());
    if max_diff.is_nan() || max_diff >= 1e-4 {
        return Err(mx::Error::Value(format!(
            "the merged model differs from the LoRA model by {max_diff}"
        )));
    }
    Ok(())
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
