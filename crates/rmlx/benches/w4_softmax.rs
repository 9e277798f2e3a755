//! W4 `softmax_64x512x512` (WORKLOADS.md): `softmax(x, axis=-1)` on a (64, 512, 512) float32
//! x ~ N(0, 1) (SplitMix64(seed 0) + Box–Muller), warm-up 3, 20 samples of one call each; one
//! call computes a fresh output and evaluates it. Effective bandwidth counts one read and one
//! write per element: 2 * 4 * 16,777,216 = 134,217,728 bytes.
//!
//! Prints the WORKLOADS.md JSON line (`"peer": "rmlx"`) from its own timing loop, then lets
//! criterion measure the same call. `BENCH_QUICK=1` shrinks the counts for smoke runs.

use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rmlx::core::{self as mx, Array};

const SHAPE: [usize; 3] = [64, 512, 512];
const BYTES: u64 = 2 * 4 * 64 * 512 * 512;

struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }
}

fn normal_input() -> Array {
    let n: usize = SHAPE.iter().product();
    let mut rng = SplitMix64(0);
    let mut data = Vec::with_capacity(n);
    while data.len() < n {
        let (u1, u2) = (rng.uniform(), rng.uniform());
        let r = (-2.0 * u1.ln()).sqrt();
        let t = 2.0 * std::f64::consts::PI * u2;
        data.push((r * t.cos()) as f32);
        if data.len() < n {
            data.push((r * t.sin()) as f32);
        }
    }
    Array::from_slice(&data, &SHAPE).expect("input")
}

fn call(x: &Array) {
    let y = mx::softmax(x, -1, false).expect("softmax");
    y.eval().expect("eval");
}

fn stats(v: &[f64]) -> String {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let median = if s.len() % 2 == 1 {
        s[s.len() / 2]
    } else {
        (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0
    };
    let mean = s.iter().sum::<f64>() / s.len() as f64;
    let raw: Vec<String> = v.iter().map(|x| format!("{x:.4}")).collect();
    format!(
        "{{\"median\": {median:.4}, \"min\": {:.4}, \"max\": {:.4}, \"mean\": {mean:.4}, \"n\": {}, \"raw\": [{}]}}",
        s[0],
        s[s.len() - 1],
        s.len(),
        raw.join(", ")
    )
}

fn workload_json(x: &Array) {
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
    let (warmup, samples) = if quick { (1, 3) } else { (3, 20) };
    for _ in 0..warmup {
        call(x);
    }
    let mut ms = Vec::with_capacity(samples);
    for _ in 0..samples {
        let t = Instant::now();
        call(x);
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let gbps: Vec<f64> = ms.iter().map(|m| BYTES as f64 / (m * 1e-3) / 1e9).collect();
    println!(
        "{{\"peer\": \"rmlx\", \"version\": \"{}\", \"threads\": {}, \"quick\": {quick}, \"workload\": \"W4\", \"cases\": [{{\"case\": \"softmax_64x512x512\", \"time_ms\": {}, \"gbps\": {}}}]}}",
        env!("CARGO_PKG_VERSION"),
        rayon_threads(),
        stats(&ms),
        stats(&gbps)
    );
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn bench(c: &mut Criterion) {
    let x = normal_input();
    workload_json(&x);
    let mut g = c.benchmark_group("w4");
    g.throughput(Throughput::BytesDecimal(BYTES));
    g.sample_size(20);
    g.bench_function("softmax_64x512x512", |b| b.iter(|| call(&x)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
