//! The benchmark workloads of `shared/bench/WORKLOADS.md` (W1 matmul, W2 Transformer training
//! step full and bias-only, W3 MLP step, W4 softmax / layer_norm), printing one JSON line with the
//! same keys as the peers' scripts (`"peer": "rmlx"`).
//!
//! ```sh
//! cargo run --release -p rmlx --example workloads -- w1
//! cargo run --release -p rmlx --example workloads -- w2 --variant both
//! ```
//! `BENCH_QUICK=1` shrinks every count to 1–3 for smoke tests; `RMLX_PROFILE=1` prints a
//! per-primitive time table (calls, total, share) on stderr at the end.

use std::time::Instant;

use rmlx::core::{self as mx, Array};
use rmlx::nn::{self, Keys, Module, ModuleExt, ModuleState};
use rmlx::optimizers::{Adam, Optimizer, SGD};
use serde_json::{json, Value};

/// Median, min, max, mean of samples in milliseconds, with the raw values.
fn stats(raw_ms: &[f64]) -> Value {
    let mut v = raw_ms.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    let mean = v.iter().sum::<f64>() / n as f64;
    json!({"median": median, "min": v[0], "max": v[n - 1], "mean": mean, "n": n, "raw": raw_ms})
}

/// Peak resident set size of this process in MiB (VmHWM).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn quick() -> bool {
    std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1")
}

/// Times `samples` samples of `inner` back-to-back calls after `warmup` calls; ms per call.
fn time_calls(
    warmup: usize,
    samples: usize,
    inner: usize,
    mut call: impl FnMut() -> mx::Result<()>,
) -> mx::Result<Vec<f64>> {
    for _ in 0..warmup {
        call()?;
    }
    let mut raw = Vec::with_capacity(samples);
    for _ in 0..samples {
        let t = Instant::now();
        for _ in 0..inner {
            call()?;
        }
        raw.push(t.elapsed().as_secs_f64() * 1e3 / inner as f64);
    }
    Ok(raw)
}

fn counts(warmup: usize, samples: usize, inner: usize) -> (usize, usize, usize) {
    if quick() {
        (1, 2, 1)
    } else {
        (warmup, samples, inner)
    }
}

/// name, A shape, B shape, warm-up calls, samples, calls per sample.
type MatmulCase = (
    &'static str,
    &'static [usize],
    &'static [usize],
    usize,
    usize,
    usize,
);

fn w1() -> mx::Result<Value> {
    mx::random::seed(0);
    let cases: [MatmulCase; 6] = [
        ("sq256", &[256, 256], &[256, 256], 5, 15, 20),
        ("sq512", &[512, 512], &[512, 512], 3, 15, 4),
        ("sq1024", &[1024, 1024], &[1024, 1024], 2, 10, 1),
        ("sq2048", &[2048, 2048], &[2048, 2048], 1, 5, 1),
        ("bmm8x64x64x64", &[8, 64, 64], &[8, 64, 64], 10, 15, 100),
        (
            "bmm32x128x64x128",
            &[32, 128, 64],
            &[32, 64, 128],
            5,
            15,
            20,
        ),
    ];
    let mut out = Vec::new();
    for (name, sa, sb, warmup, samples, inner) in cases {
        let a = mx::random::normal(sa, None)?;
        let b = mx::random::normal(sb, None)?;
        mx::eval(&[&a, &b])?;
        let batch: usize = sa[..sa.len() - 2].iter().product();
        let (m, k, n) = (sa[sa.len() - 2], sa[sa.len() - 1], sb[sb.len() - 1]);
        let flop = 2.0 * (batch * m * n * k) as f64;
        let (w, s, i) = counts(warmup, samples, inner);
        let raw = time_calls(w, s, i, || mx::matmul(&a, &b)?.eval())?;
        let gflops: Vec<f64> = raw.iter().map(|ms| flop / (ms * 1e-3) / 1e9).collect();
        out.push(
            json!({"case": name, "time_ms": stats(&raw), "gflops": stats(&gflops), "flop": flop}),
        );
    }
    Ok(json!({"cases": out}))
}

fn w4() -> mx::Result<Value> {
    mx::random::seed(0);
    let mut out = Vec::new();
    let (w, s, i) = counts(3, 20, 1);
    let x = mx::random::normal(&[64, 512, 512], None)?;
    x.eval()?;
    let raw = time_calls(w, s, i, || mx::softmax(&x, -1, false)?.eval())?;
    let bytes = 2.0 * 4.0 * 16_777_216.0;
    let gbps: Vec<f64> = raw.iter().map(|ms| bytes / (ms * 1e-3) / 1e9).collect();
    out.push(json!({"case": "softmax_64x512x512", "time_ms": stats(&raw), "gbps": stats(&gbps), "bytes": bytes}));
    drop(x);
    let x = mx::random::normal(&[32768, 256], None)?;
    let wgt = mx::ones(&[256], mx::Dtype::F32)?;
    let bias = mx::zeros(&[256], mx::Dtype::F32)?;
    mx::eval(&[&x, &wgt, &bias])?;
    let raw = time_calls(w, s, i, || {
        mx::fast::layer_norm(&x, Some(&wgt), Some(&bias), 1e-5)?.eval()
    })?;
    let bytes = 2.0 * 4.0 * 8_388_608.0 + 2.0 * 4.0 * 256.0;
    let gbps: Vec<f64> = raw.iter().map(|ms| bytes / (ms * 1e-3) / 1e9).collect();
    out.push(json!({"case": "layernorm_32768x256", "time_ms": stats(&raw), "gbps": stats(&gbps), "bytes": bytes}));
    Ok(json!({"cases": out}))
}

/// Per-example gradients of W3's MLP (issue 14): `vmap(grad(loss))` over the 256 examples of
/// W3's batch (each a `[1, 784]` row and its label), against one batched gradient of the mean
/// loss, interleaved call by call. Timed: the call and the evaluation of every gradient. Also
/// the bytes of the per-example gradients: any implementation must write them, so their time at
/// `machine_limits`' write bandwidth is a floor for `per_example_ms`.
fn pegrad() -> mx::Result<Value> {
    let (mut model, x, y) = w3_setup()?;
    let xs = x.reshape([256, 1, 784])?;
    let ys = y.reshape([256, 1])?;
    mx::eval(&[&x, &y, &xs, &ys])?;
    let ce = |logits: &Array, labels: &Array| {
        nn::losses::cross_entropy(logits, labels, None, -1, 0.0, nn::losses::Reduction::Mean)
    };
    let eval_tree = |t: &mx::tree::Tree<Array>| -> mx::Result<()> {
        let leaves: Vec<Array> = t.flatten().into_iter().map(|(_, a)| a.clone()).collect();
        mx::eval(&leaves.iter().collect::<Vec<_>>())
    };
    let (warmup, samples, _) = counts(3, 20, 1);
    let (mut per_raw, mut batch_raw) = (Vec::new(), Vec::new());
    let mut out_bytes = 0usize;
    for i in 0..warmup + samples {
        let t = Instant::now();
        let g = nn::per_example_grads(
            &mut model,
            &[xs.clone(), ys.clone()],
            |m: &Mlp, d: &[Array]| ce(&m.forward(&d[0])?, &d[1]),
        )?;
        eval_tree(&g)?;
        let per = t.elapsed().as_secs_f64() * 1e3;
        out_bytes = g.flatten().iter().map(|(_, a)| a.nbytes()).sum();
        let t = Instant::now();
        let (_, g) = nn::value_and_grad(&mut model, |m: &Mlp| Ok(vec![ce(&m.forward(&x)?, &y)?]))?;
        eval_tree(&g)?;
        let batch = t.elapsed().as_secs_f64() * 1e3;
        if i >= warmup {
            per_raw.push(per);
            batch_raw.push(batch);
        }
    }
    let ratio: Vec<f64> = per_raw.iter().zip(&batch_raw).map(|(p, b)| p / b).collect();
    Ok(json!({
        "per_example_ms": stats(&per_raw),
        "batched_grad_ms": stats(&batch_raw),
        "per_example_over_batched": stats(&ratio),
        "examples": 256,
        "per_example_grad_bytes": out_bytes,
    }))
}

/// Quantized products (issue 16): a decode-shaped `1x4096` and a prefill-shaped `256x4096` times
/// a `4096x4096` matrix quantized to 4 bits in groups of 64 (`quantized_matmul(.., transpose)`,
/// the layout of a quantized Linear), each against rmlx's own f32 product of the same shape,
/// interleaved call by call. Also the bytes the decode product reads (packed weights, scales,
/// biases, x) as GB/s, to set against STREAM.
fn quant() -> mx::Result<Value> {
    let key = mx::random::key(0);
    let w = mx::random::normal(&[4096, 4096], Some(&key))?;
    let (wq, s, b) = mx::quantize(&w, 64, 4)?;
    let wt = w.t()?;
    mx::eval(&[&w, &wq, &s, &b])?;
    let read_bytes = (wq.nbytes() + s.nbytes() + b.nbytes() + 4096 * 4) as f64;
    let mut out = Vec::new();
    for (case, rows, warmup, samples, inner) in [
        ("decode_1x4096", 1usize, 5, 20, 20),
        ("prefill_256x4096", 256, 2, 10, 1),
    ] {
        let (warmup, samples, inner) = counts(warmup, samples, inner);
        let x = mx::random::normal(&[rows, 4096], Some(&mx::random::key(1)))?;
        x.eval()?;
        let (mut qt, mut ft) = (Vec::new(), Vec::new());
        for i in 0..warmup + samples {
            let t = Instant::now();
            for _ in 0..inner {
                mx::quantized_matmul(&x, &wq, &s, &b, true, 64, 4)?.eval()?;
            }
            let q = t.elapsed().as_secs_f64() * 1e3 / inner as f64;
            let t = Instant::now();
            for _ in 0..inner {
                x.matmul(&wt)?.eval()?;
            }
            let f = t.elapsed().as_secs_f64() * 1e3 / inner as f64;
            if i >= warmup {
                qt.push(q);
                ft.push(f);
            }
        }
        let ratio: Vec<f64> = ft.iter().zip(&qt).map(|(f, q)| f / q).collect();
        let gbps: Vec<f64> = qt.iter().map(|ms| read_bytes / (ms * 1e-3) / 1e9).collect();
        out.push(
            json!({"case": case, "q4_ms": stats(&qt), "f32_ms": stats(&ft),
            "f32_over_q4": stats(&ratio), "q4_read_gbps": stats(&gbps)}),
        );
    }
    // decode as a model runs it: eight different matrices in turn (84 MB of packed weights,
    // more than the last-level cache), so each product streams its bytes from memory; STREAM
    // triad measured between the samples, in the same run, on the same threads
    drop((w, wt));
    let mats = (0..8)
        .map(|i| {
            let w = mx::random::normal(&[4096, 4096], Some(&mx::random::key(100 + i)))?;
            let q = mx::quantize(&w, 64, 4)?;
            mx::eval(&[&q.0, &q.1, &q.2])?;
            Ok(q)
        })
        .collect::<mx::Result<Vec<_>>>()?;
    let x = mx::random::normal(&[1, 4096], Some(&mx::random::key(1)))?;
    x.eval()?;
    let (warmup, samples, _) = counts(3, 15, 1);
    let (mut qt, mut triad) = (Vec::new(), Vec::new());
    for i in 0..warmup + samples {
        let t = Instant::now();
        for (wq, s, b) in &mats {
            mx::quantized_matmul(&x, wq, s, b, true, 64, 4)?.eval()?;
        }
        let ms = t.elapsed().as_secs_f64() * 1e3 / mats.len() as f64;
        let tr = triad_gbps(8 << 20);
        if i >= warmup {
            qt.push(ms);
            triad.push(tr);
        }
    }
    let gbps: Vec<f64> = qt.iter().map(|ms| read_bytes / (ms * 1e-3) / 1e9).collect();
    let share: Vec<f64> = gbps.iter().zip(&triad).map(|(g, t)| g / t).collect();
    out.push(json!({"case": "decode_streaming_8_matrices", "q4_ms": stats(&qt),
        "q4_read_gbps": stats(&gbps), "triad_gbps": stats(&triad), "share_of_triad": stats(&share)}));
    Ok(json!({"cases": out, "q4_bytes": read_bytes, "f32_bytes": 4096 * 4096 * 4}))
}

/// STREAM triad (`a = b + 3 c` over `n` f64 per array, 24 bytes an element) on rayon's threads,
/// in GB/s, the best of three passes.
fn triad_gbps(n: usize) -> f64 {
    use rayon::prelude::*;
    thread_local! {
        static ARRAYS: std::cell::RefCell<Vec<Vec<f64>>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    ARRAYS.with(|arr| {
        let mut arr = arr.borrow_mut();
        if arr.len() != 3 || arr[0].len() != n {
            *arr = vec![vec![1.0; n], vec![2.0; n], vec![0.5; n]];
        }
        let [a, b, c] = &mut arr[..] else {
            return 0.0;
        };
        let chunk = n.div_ceil(rayon::current_num_threads().max(1));
        let mut best = f64::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            a.par_chunks_mut(chunk)
                .zip(b.par_chunks(chunk).zip(c.par_chunks(chunk)))
                .for_each(|(a, (b, c))| {
                    for ((a, b), c) in a.iter_mut().zip(b).zip(c) {
                        *a = b + 3.0 * c;
                    }
                });
            best = best.min(t.elapsed().as_secs_f64());
        }
        std::hint::black_box(&a[0]);
        24.0 * n as f64 / best / 1e9
    })
}

/// Memory of a 4-bit model (issue 16): eight 4096x4096 layers (512 MiB in f32) held as 4-bit,
/// group-64 quantized matrices (each quantized 256 rows at a time, so no f32 layer is ever whole
/// in memory), then a decode step through all eight. Reports the growth of the peak RSS over
/// the process's size before, against the f32 size.
fn quant_rss() -> mx::Result<Value> {
    let before = peak_rss_mib();
    let (layers, d, chunk) = (8usize, 4096usize, 256usize);
    let mut model = Vec::new();
    for l in 0..layers {
        let (mut qs, mut ss, mut bs) = (Vec::new(), Vec::new(), Vec::new());
        for c in 0..d / chunk {
            let key = mx::random::key((l * 1000 + c) as u64);
            let w = mx::random::normal(&[chunk, d], Some(&key))?;
            let (q, s, b) = mx::quantize(&w, 64, 4)?;
            mx::eval(&[&q, &s, &b])?;
            qs.push(q);
            ss.push(s);
            bs.push(b);
        }
        let (q, s, b) = (
            mx::concatenate(&qs, 0)?,
            mx::concatenate(&ss, 0)?,
            mx::concatenate(&bs, 0)?,
        );
        mx::eval(&[&q, &s, &b])?;
        model.push((q, s, b));
    }
    let mut x = mx::random::normal(&[1, d], Some(&mx::random::key(9)))?;
    let t = Instant::now();
    for (q, s, b) in &model {
        x = mx::quantized_matmul(&x, q, s, b, true, 64, 4)?.tanh()?;
    }
    x.eval()?;
    let step_ms = t.elapsed().as_secs_f64() * 1e3;
    let q_bytes: usize = model
        .iter()
        .map(|(q, s, b)| q.nbytes() + s.nbytes() + b.nbytes())
        .sum();
    let f32_mib = (layers * d * d * 4) as f64 / (1 << 20) as f64;
    let grown = peak_rss_mib() - before;
    Ok(json!({
        "f32_model_mib": f32_mib,
        "q4_model_mib": q_bytes as f64 / (1 << 20) as f64,
        "peak_rss_growth_mib": grown,
        "peak_rss_over_f32": grown / f32_mib,
        "decode_step_ms": step_ms,
    }))
}

fn usage() -> ! {
    eprintln!(
        "usage: workloads <w1|w2|w3|w4|w5|pegrad|quant|quant_rss|fft|einsum> [--variant full|bias|both]"
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(workload) = args.first().cloned() else {
        usage()
    };
    let variant = match args.iter().position(|a| a == "--variant") {
        Some(i) => args.get(i + 1).cloned().unwrap_or_else(|| usage()),
        None => "both".to_string(),
    };
    let rss_after_import = peak_rss_mib();
    // RMLX_PROFILE=1: a per-primitive time table on stderr at the end
    let profiling = mx::profile::enable_from_env();
    let result = match workload.as_str() {
        "w1" => w1(),
        "w2" => w2(&variant),
        "w3" => w3(),
        "w5" => w5(),
        "w4" => w4(),
        "pegrad" => pegrad(),
        "quant" => quant(),
        "quant_rss" => quant_rss(),
        "fft" => fft(),
        "einsum" => einsum_vs_matmul(),
        _ => usage(),
    };
    if profiling {
        eprintln!("{}", mx::profile::report());
    }
    let body = match result {
        Ok(v) => v,
        Err(e) => {
            eprintln!("workloads: {e}");
            std::process::exit(1);
        }
    };
    let mut line = json!({
        "peer": "rmlx",
        "version": env!("CARGO_PKG_VERSION"),
        "threads": rayon::current_num_threads(),
        "quick": quick(),
        "workload": workload,
        "peak_rss_mib": peak_rss_mib(),
        "rss_after_import_mib": rss_after_import,
    });
    if let (Value::Object(l), Value::Object(b)) = (&mut line, body) {
        l.extend(b);
    }
    println!("{line}");
}

/// Evaluates the loss, every parameter and the optimizer state (the timed region of W2/W3).
fn eval_step(loss: &Array, model: &dyn Module, opt: &dyn Optimizer) -> mx::Result<()> {
    let mut all: Vec<Array> = vec![loss.clone()];
    all.extend(
        model
            .parameters()
            .flatten()
            .into_iter()
            .map(|(_, p)| p.clone()),
    );
    all.extend(opt.state().into_iter().map(|(_, s)| s));
    mx::eval(&all.iter().collect::<Vec<_>>())
}

fn mse(y: &Array, target: &Array) -> mx::Result<Array> {
    let d = (y - target)?;
    (&d * &d)?.mean(None, false)
}

fn w2_variant(variant: &str) -> mx::Result<(Value, Vec<f64>)> {
    mx::random::seed(0);
    let cfg = nn::TransformerConfig {
        dims: 256,
        num_heads: 4,
        mlp_dims: Some(1024),
        dropout: 0.0,
        activation: nn::Activation::Relu,
        norm_first: true,
        checkpoint: false,
    };
    let mut model = nn::Transformer::new(2, 2, &cfg)?;
    let total_params = model.num_parameters();
    if variant == "bias" {
        model.freeze(Keys::All)?;
        model.unfreeze("bias")?;
    }
    let trainable: usize = model
        .trainable_parameters()
        .flatten()
        .iter()
        .map(|(_, p)| p.size())
        .sum();
    mx::random::seed(1);
    let src = mx::random::normal(&[8, 64, 256], None)?;
    let tgt = mx::random::normal(&[8, 64, 256], None)?;
    let target = mx::random::normal(&[8, 64, 256], None)?;
    let mask = nn::MultiHeadAttention::create_additive_causal_mask(64, mx::Dtype::F32)?;
    mx::eval(&[&src, &tgt, &target, &mask])?;
    // the training step compiled with the model and the optimizer as its state (MLX's
    // `mx.compile(step, inputs=state, outputs=state)`); RMLX_DISABLE_COMPILE=1 runs it as is
    let mut state = (model, Adam::new(1e-3));
    let step = mx::compile_with_state(
        |(model, opt): &mut (nn::Transformer, Adam), d: &[Array]| -> mx::Result<Vec<Array>> {
            let (outs, grads) = nn::value_and_grad(model, |m: &nn::Transformer| {
                let y = m.forward(&d[0], &d[1], None, Some(&d[3]), None)?;
                Ok(vec![mse(&y, &d[2])?])
            })?;
            opt.update(model, &grads)?;
            Ok(outs)
        },
    );
    let data = [src, tgt, target, mask];
    let (warmup, samples, _) = counts(3, 15, 1);
    let mut losses = Vec::new();
    let mut raw = Vec::new();
    for step_i in 0..warmup + samples {
        let t = Instant::now();
        let outs = step.call(&mut state, &data)?;
        eval_step(&outs[0], &state.0, &state.1)?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        losses.push(outs[0].item::<f32>()?);
        if step_i >= warmup {
            raw.push(ms);
        }
    }
    let v = json!({
        "compiled": mx::compile_enabled(),
        "trainable_params": trainable,
        "total_params": total_params,
        "step_ms": stats(&raw),
        "loss_first": losses[0],
        "loss_last": losses[losses.len() - 1],
    });
    Ok((v, raw))
}

fn w2(variant: &str) -> mx::Result<Value> {
    match variant {
        "full" | "bias" => {
            let (v, _) = w2_variant(variant)?;
            Ok(json!({"variants": {variant: v}}))
        }
        "both" => {
            let (full, raw_f) = w2_variant("full")?;
            let (bias, raw_b) = w2_variant("bias")?;
            let med = |v: &[f64]| {
                let mut s = v.to_vec();
                s.sort_by(|a, b| a.total_cmp(b));
                s[s.len() / 2]
            };
            let paired: Vec<f64> = raw_b.iter().zip(&raw_f).map(|(b, f)| b / f).collect();
            Ok(json!({
                "variants": {"full": full, "bias": bias},
                "ratio_bias_over_full": med(&raw_b) / med(&raw_f),
                "ratio_bias_over_full_paired": med(&paired),
            }))
        }
        other => Err(mx::Error::Value(format!(
            "--variant must be full, bias or both, got {other:?}"
        ))),
    }
}

/// W3's MLP: Linear(784, 512) → ReLU → Linear(512, 512) → ReLU → Linear(512, 10).
#[derive(Module)]
#[module(crate = "rmlx::nn")]
struct Mlp {
    layers: Vec<nn::Linear>,
    state: ModuleState,
}

impl Mlp {
    fn forward(&self, x: &Array) -> mx::Result<Array> {
        let mut h = x.clone();
        for (i, l) in self.layers.iter().enumerate() {
            h = l.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = mx::maximum(&h, &mx::array(0.0f32))?;
            }
        }
        Ok(h)
    }
}

/// W3's model (seed 0) and data (seed 1, evaluated): the MLP, x `[256, 784]`, labels `[256]`.
fn w3_setup() -> mx::Result<(Mlp, Array, Array)> {
    mx::random::seed(0);
    let model = Mlp {
        layers: vec![
            nn::Linear::new(784, 512, true)?,
            nn::Linear::new(512, 512, true)?,
            nn::Linear::new(512, 10, true)?,
        ],
        state: ModuleState::default(),
    };
    mx::random::seed(1);
    let x = mx::random::normal(&[256, 784], None)?;
    let y = mx::random::randint(0, 10, &[256], mx::Dtype::I32, None)?;
    mx::eval(&[&x, &y])?;
    Ok((model, x, y))
}

fn w3() -> mx::Result<Value> {
    let (model, x, y) = w3_setup()?;
    let mut state = (model, SGD::new(0.1));
    let step = mx::compile_with_state(
        |(model, opt): &mut (Mlp, SGD), d: &[Array]| -> mx::Result<Vec<Array>> {
            let (outs, grads) = nn::value_and_grad(model, |m: &Mlp| {
                // WORKLOADS.md: nn.losses.cross_entropy(logits, labels, reduction="mean")
                Ok(vec![nn::losses::cross_entropy(
                    &m.forward(&d[0])?,
                    &d[1],
                    None,
                    -1,
                    0.0,
                    nn::losses::Reduction::Mean,
                )?])
            })?;
            opt.update(model, &grads)?;
            Ok(outs)
        },
    );
    let (warmup, samples, _) = counts(5, 50, 1);
    let mut losses = Vec::new();
    let mut raw = Vec::new();
    for i in 0..warmup + samples {
        let t = Instant::now();
        let outs = step.call(&mut state, &[x.clone(), y.clone()])?;
        eval_step(&outs[0], &state.0, &state.1)?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        losses.push(outs[0].item::<f32>()?);
        if i >= warmup {
            raw.push(ms);
        }
    }
    Ok(json!({
        "compiled": mx::compile_enabled(),
        "trainable_params": state.0.num_parameters(),
        "step_ms": stats(&raw),
        "loss_first": losses[0],
        "loss_last": losses[losses.len() - 1],
    }))
}

/// Issue 18's fft target: milliseconds for one transform, median over the samples. `c2c`: fft
/// of 2^20 complex64 values (the target's shape); `r2c`: rfft of 2^20 float32; `c2c_2d`: fft2
/// of 1024 x 1024 complex64. `bench/numpy_fft.py` times numpy's `np.fft` on the same shapes.
fn fft() -> mx::Result<Value> {
    use mx::fft::{fft as fft1, fft2, rfft, FftNorm};
    let n = 1usize << 20;
    let re = mx::random::normal(&[n], Some(&mx::random::key(1)))?;
    let im = mx::random::normal(&[n], Some(&mx::random::key(2)))?;
    let z = mx::complex(&re, &im)?;
    let z2 = z.reshape([1024, 1024])?;
    mx::eval(&[&z, &z2, &re])?;
    let (warmup, samples, _) = counts(3, 20, 1);
    let time = |f: &dyn Fn() -> mx::Result<Array>| -> mx::Result<Vec<f64>> {
        let mut out = Vec::new();
        for i in 0..warmup + samples {
            let t = Instant::now();
            f()?.eval()?;
            if i >= warmup {
                out.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        Ok(out)
    };
    let c2c = time(&|| fft1(&z, None, -1, FftNorm::Backward))?;
    let r2c = time(&|| rfft(&re, None, -1, FftNorm::Backward))?;
    let c2c_2d = time(&|| fft2(&z2, None, &[-2, -1], FftNorm::Backward))?;
    Ok(json!({
        "n": n,
        "c2c_ms": stats(&c2c),
        "r2c_ms": stats(&r2c),
        "c2c_2d_ms": stats(&c2c_2d),
    }))
}

/// `einsum` against the `matmul` call it lowers to (issue 18: within 5 %), interleaved call by
/// call: a square product, a batched product, and a product with a transposed operand.
fn einsum_vs_matmul() -> mx::Result<Value> {
    let key = mx::random::key;
    let a = mx::random::normal(&[1024, 1024], Some(&key(1)))?;
    let b = mx::random::normal(&[1024, 1024], Some(&key(2)))?;
    let ba = mx::random::normal(&[32, 128, 64], Some(&key(3)))?;
    let bb = mx::random::normal(&[32, 64, 128], Some(&key(4)))?;
    mx::eval(&[&a, &b, &ba, &bb])?;
    type Pair<'a> = (
        &'a str,
        Box<dyn Fn() -> mx::Result<Array> + 'a>,
        Box<dyn Fn() -> mx::Result<Array> + 'a>,
    );
    let pairs: Vec<Pair> = vec![
        (
            "ij,jk->ik 1024",
            Box::new(|| mx::einsum("ij,jk->ik", &[a.clone(), b.clone()])),
            Box::new(|| a.matmul(&b)),
        ),
        (
            "bij,bjk->bik 32x128x64x128",
            Box::new(|| mx::einsum("bij,bjk->bik", &[ba.clone(), bb.clone()])),
            Box::new(|| ba.matmul(&bb)),
        ),
        (
            "ik,jk->ij 1024",
            Box::new(|| mx::einsum("ik,jk->ij", &[a.clone(), b.clone()])),
            Box::new(|| a.matmul(&b.t()?)),
        ),
    ];
    let (warmup, samples, _) = counts(3, 30, 1);
    let mut out = serde_json::Map::new();
    for (name, e, m) in &pairs {
        let (mut te, mut tm) = (Vec::new(), Vec::new());
        for i in 0..warmup + samples {
            let t = Instant::now();
            e()?.eval()?;
            let de = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            m()?.eval()?;
            let dm = t.elapsed().as_secs_f64() * 1e3;
            if i >= warmup {
                te.push(de);
                tm.push(dm);
            }
        }
        let med = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(|x, y| x.total_cmp(y));
            v[v.len() / 2]
        };
        out.insert(
            name.to_string(),
            json!({"einsum_ms": stats(&te), "matmul_ms": stats(&tm), "einsum_over_matmul": med(&te) / med(&tm)}),
        );
    }
    Ok(Value::Object(out))
}

/// W5 (issue 15): `gelu_approx(x * w + b)` over a `4096 x 4096` f32 `x` (16 Mi elements) with a
/// row `w` and `b`, compiled (one fused pass) against the same function uncompiled (ten passes),
/// interleaved call by call; every call computes a fresh output. Also the bytes the fused pass
/// moves (x read, output written) as GB/s, to set against STREAM triad.
fn w5() -> mx::Result<Value> {
    let x = mx::random::normal(&[4096, 4096], Some(&mx::random::key(5)))?;
    let w = mx::random::normal(&[4096], Some(&mx::random::key(6)))?;
    let b = mx::random::normal(&[4096], Some(&mx::random::key(7)))?;
    mx::eval(&[&x, &w, &b])?;
    let f = |p: &[Array]| -> mx::Result<Vec<Array>> {
        let h = (&(&p[0] * &p[1])? + &p[2])?;
        Ok(vec![nn::activations::gelu_approx(&h)?])
    };
    let compiled = mx::compile(f);
    let args = [x, w, b];
    let (warmup, samples, _) = counts(2, 10, 1);
    let (mut fused_raw, mut plain_raw) = (Vec::new(), Vec::new());
    let mut max_diff = 0.0f32;
    for i in 0..warmup + samples {
        let t = Instant::now();
        let a = compiled.call(&args)?;
        a[0].eval()?;
        let fused = t.elapsed().as_secs_f64() * 1e3;
        drop(a);
        let t = Instant::now();
        let p = f(&args)?;
        p[0].eval()?;
        let plain = t.elapsed().as_secs_f64() * 1e3;
        if i == 0 {
            let a = compiled.call(&args)?;
            let d = (&a[0] - &p[0])?.abs()?.max(None, false)?;
            max_diff = d.item::<f32>()?;
        }
        drop(p);
        if i >= warmup {
            fused_raw.push(fused);
            plain_raw.push(plain);
        }
    }
    let speedup: Vec<f64> = plain_raw
        .iter()
        .zip(&fused_raw)
        .map(|(p, f)| p / f)
        .collect();
    let mut med = fused_raw.clone();
    med.sort_by(|a, b| a.total_cmp(b));
    let bytes = 2.0 * 4096.0 * 4096.0 * 4.0;
    Ok(json!({
        "elements": 4096 * 4096,
        "compiled_ms": stats(&fused_raw),
        "uncompiled_ms": stats(&plain_raw),
        "speedup": stats(&speedup),
        "compiled_gbps": bytes / (med[med.len() / 2] * 1e-3) / 1e9,
        "max_abs_diff": max_diff,
        "traces": compiled.stats().traces,
    }))
}
