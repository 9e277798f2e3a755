//! W4 layernorm_32768x256 (WORKLOADS.md): `fast.layer_norm(x, ones(256), zeros(256), 1e-5)` on
//! x ~ N(0, 1) of shape (32768, 256) f32, fresh output and evaluation in every call. Effective
//! bandwidth counts 67,110,912 bytes per call.
//!
//! Prints one JSON line in the peers' format, then runs criterion briefly
//! (`BENCH_NO_CRITERION=1` skips it, `BENCH_QUICK=1` shrinks the counts).

use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use rmlx::core::{fast, Array};

const ROWS: usize = 32768;
const DIMS: usize = 256;
const BYTES: f64 = 67_110_912.0;

fn normal(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    let mut next = || {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    (0..n)
        .map(|_| {
            let u1 = ((next() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
            let u2 = (next() >> 11) as f64 / (1u64 << 53) as f64;
            ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
        })
        .collect()
}

fn inputs() -> (Array, Array, Array) {
    let x = Array::from_slice(&normal(ROWS * DIMS, 0), &[ROWS, DIMS]).expect("x");
    let w = Array::from_slice(&[1.0f32; DIMS], &[DIMS]).expect("w");
    let b = Array::from_slice(&[0.0f32; DIMS], &[DIMS]).expect("b");
    (x, w, b)
}

fn call(x: &Array, w: &Array, b: &Array) {
    let y = fast::layer_norm(x, Some(w), Some(b), 1e-5).expect("layer_norm");
    y.eval().expect("eval");
}

fn stats(v: &[f64]) -> String {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    let median = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    let mean = s.iter().sum::<f64>() / n as f64;
    let raw: Vec<String> = v.iter().map(|x| format!("{x:.6}")).collect();
    format!(
        "{{\"median\":{median:.6},\"min\":{:.6},\"max\":{:.6},\"mean\":{mean:.6},\"n\":{n},\"raw\":[{}]}}",
        s[0],
        s[n - 1],
        raw.join(",")
    )
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn protocol() {
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
    let (x, w, b) = inputs();
    let (warmup, samples) = if quick { (1, 2) } else { (3, 20) };
    for _ in 0..warmup {
        call(&x, &w, &b);
    }
    let mut ms = Vec::with_capacity(samples);
    for _ in 0..samples {
        let t = Instant::now();
        call(&x, &w, &b);
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let gbps: Vec<f64> = ms.iter().map(|t| BYTES / (t * 1e-3) / 1e9).collect();
    let threads = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    println!(
        "{{\"peer\":\"rmlx\",\"version\":\"{}\",\"threads\":{threads},\"quick\":{quick},\"workload\":\"W4\",\"peak_rss_mib\":{:.1},\"cases\":[{{\"case\":\"layernorm_32768x256\",\"time_ms\":{},\"gbps\":{}}}]}}",
        env!("CARGO_PKG_VERSION"),
        peak_rss_mib(),
        stats(&ms),
        stats(&gbps)
    );
}

fn criterion_cases(cr: &mut Criterion) {
    let (x, w, b) = inputs();
    let mut g = cr.benchmark_group("W4");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .throughput(criterion::Throughput::Bytes(BYTES as u64));
    g.bench_function("layernorm_32768x256", |bch| bch.iter(|| call(&x, &w, &b)));
    g.finish();
}

criterion_group!(benches, criterion_cases);

fn main() {
    protocol();
    if std::env::var("BENCH_NO_CRITERION").is_err() {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
}
