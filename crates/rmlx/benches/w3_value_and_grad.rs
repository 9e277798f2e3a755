//! W3's MLP loss (WORKLOADS.md) under `nn::value_and_grad`, with every parameter trainable
//! ("full") and with only the biases trainable ("bias": `freeze(Keys::All)` then
//! `unfreeze("bias")`). One call = the loss and its gradients, evaluated; no optimizer step.
//!
//! The point is gradient pruning: with the weights frozen, the reverse pass computes no dW
//! product, and the first layer needs no input gradient at all, so the bias-only call does
//! roughly 0.58× the full call's matmul FLOPs. Prints one JSON line (both medians and their
//! ratio), then runs criterion briefly (`BENCH_NO_CRITERION=1` skips it, `BENCH_QUICK=1`
//! shrinks the counts).

mod common;

use std::time::Duration;

use common::{median, normal, stats};
use criterion::{criterion_group, Criterion};
use rmlx::core::{self as mx, Array, Dtype};
use rmlx::nn::{self, Keys, Module, ModuleExt, ModuleState};

/// Linear(784, 512) → ReLU → Linear(512, 512) → ReLU → Linear(512, 10).
#[derive(Module)]
#[module(crate = "rmlx::nn")]
struct Mlp {
    layers: Vec<nn::Linear>,
    state: ModuleState,
}

impl Mlp {
    fn new() -> Mlp {
        mx::random::seed(0);
        let dims = [784, 512, 512, 10];
        Mlp {
            layers: dims
                .windows(2)
                .map(|d| nn::Linear::new(d[0], d[1], true).expect("linear"))
                .collect(),
            state: ModuleState::default(),
        }
    }

    fn forward(&self, x: &Array) -> mx::Result<Array> {
        let mut h = x.clone();
        for (i, l) in self.layers.iter().enumerate() {
            h = l.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = nn::activations::relu(&h)?;
            }
        }
        Ok(h)
    }
}

fn data() -> (Array, Array) {
    let x = Array::from_slice(&normal(256 * 784, 1), &[256, 784]).expect("x");
    let labels: Vec<i32> = (0..256i32).map(|i| i * 7 % 10).collect();
    let y = Array::from_slice(&labels, &[256]).expect("y");
    (x, y)
}

fn call(model: &mut Mlp, x: &Array, y: &Array) {
    let (outs, grads) = nn::value_and_grad(model, |m: &Mlp| {
        let logits = m.forward(x)?;
        Ok(vec![nn::losses::cross_entropy(
            &logits,
            y,
            None,
            -1,
            0.0,
            nn::losses::Reduction::Mean,
        )?])
    })
    .expect("value_and_grad");
    let mut all = vec![&outs[0]];
    let flat = grads.flatten();
    all.extend(flat.iter().map(|(_, g)| *g));
    mx::eval(&all).expect("eval");
}

fn models() -> (Mlp, Mlp) {
    let full = Mlp::new();
    let mut bias = Mlp::new();
    bias.freeze(Keys::All).expect("freeze");
    bias.unfreeze("bias").expect("unfreeze");
    (full, bias)
}

fn protocol() {
    let quick = common::quick();
    let (x, y) = data();
    let (mut full, mut bias) = models();
    let (warmup, samples) = if quick { (1, 3) } else { (5, 50) };
    // interleaved, so drift on a shared machine hits both variants alike
    for _ in 0..warmup {
        call(&mut full, &x, &y);
        call(&mut bias, &x, &y);
    }
    let (mut tf, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..samples {
        tf.extend(common::time_samples(0, 1, 1, || call(&mut full, &x, &y)));
        tb.extend(common::time_samples(0, 1, 1, || call(&mut bias, &x, &y)));
    }
    let paired: Vec<f64> = tb.iter().zip(&tf).map(|(b, f)| b / f).collect();
    println!(
        "{{\"peer\":\"rmlx\",\"version\":\"{}\",\"threads\":{},\"quick\":{quick},\"workload\":\"W3-value_and_grad\",\"full\":{{\"trainable_params\":{},\"time_ms\":{}}},\"bias\":{{\"trainable_params\":{},\"time_ms\":{}}},\"ratio_bias_over_full\":{:.4},\"ratio_bias_over_full_paired\":{:.4}}}",
        env!("CARGO_PKG_VERSION"),
        common::threads(),
        count(&full),
        stats(&tf),
        count(&bias),
        stats(&tb),
        median(&tb) / median(&tf),
        median(&paired),
    );
}

fn count(m: &Mlp) -> usize {
    m.trainable_parameters()
        .flatten()
        .iter()
        .map(|(_, a)| a.size())
        .sum()
}

fn criterion_cases(cr: &mut Criterion) {
    let (x, y) = data();
    let (mut full, mut bias) = models();
    assert_eq!(x.dtype(), Dtype::F32);
    let mut g = cr.benchmark_group("W3-value_and_grad");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g.bench_function("full", |b| b.iter(|| call(&mut full, &x, &y)));
    g.bench_function("bias", |b| b.iter(|| call(&mut bias, &x, &y)));
    g.finish();
}

criterion_group!(benches, criterion_cases);

fn main() {
    protocol();
    if !common::skip_criterion() {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
}
