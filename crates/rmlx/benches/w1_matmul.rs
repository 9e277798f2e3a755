//! W1 (WORKLOADS.md): f32 matmul `C = A @ B`, fresh output and evaluation in every call.
//!
//! Prints one JSON line in the peers' format (`peer: "rmlx"`, median/min/max/mean/raw times and
//! GFLOP/s per case), then runs the same cases through criterion with short measurement times.
//! `BENCH_QUICK=1` shrinks the counts for smoke tests; `BENCH_NO_CRITERION=1` skips criterion.

use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use rmlx::core::{self as mx, Array};

/// SplitMix64 + Box–Muller N(0, 1) draws (the Rust peers' data generator).
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

struct Case {
    name: &'static str,
    a: &'static [usize],
    b: &'static [usize],
    warmup: usize,
    samples: usize,
    inner: usize,
}

const CASES: [Case; 6] = [
    Case {
        name: "sq256",
        a: &[256, 256],
        b: &[256, 256],
        warmup: 5,
        samples: 15,
        inner: 20,
    },
    Case {
        name: "sq512",
        a: &[512, 512],
        b: &[512, 512],
        warmup: 3,
        samples: 15,
        inner: 4,
    },
    Case {
        name: "sq1024",
        a: &[1024, 1024],
        b: &[1024, 1024],
        warmup: 2,
        samples: 10,
        inner: 1,
    },
    Case {
        name: "sq2048",
        a: &[2048, 2048],
        b: &[2048, 2048],
        warmup: 1,
        samples: 5,
        inner: 1,
    },
    Case {
        name: "bmm8x64x64x64",
        a: &[8, 64, 64],
        b: &[8, 64, 64],
        warmup: 10,
        samples: 15,
        inner: 100,
    },
    Case {
        name: "bmm32x128x64x128",
        a: &[32, 128, 64],
        b: &[32, 64, 128],
        warmup: 5,
        samples: 15,
        inner: 20,
    },
];

fn inputs(c: &Case) -> (Array, Array) {
    let na: usize = c.a.iter().product();
    let nb: usize = c.b.iter().product();
    let a = Array::from_slice(&normal(na, 0), c.a).expect("a");
    let b = Array::from_slice(&normal(nb, 1), c.b).expect("b");
    (a, b)
}

fn flop(c: &Case) -> f64 {
    let nd = c.a.len();
    let batch: usize = c.a[..nd - 2].iter().product();
    2.0 * (batch * c.a[nd - 2] * c.a[nd - 1] * c.b[c.b.len() - 1]) as f64
}

fn call(a: &Array, b: &Array) {
    let c = mx::matmul(a, b).expect("matmul");
    c.eval().expect("eval");
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
    let mut out = Vec::new();
    for c in &CASES {
        let (a, b) = inputs(c);
        let (warmup, samples, inner) = if quick {
            (1, 2, 1)
        } else {
            (c.warmup, c.samples, c.inner)
        };
        for _ in 0..warmup {
            call(&a, &b);
        }
        let mut ms = Vec::with_capacity(samples);
        for _ in 0..samples {
            let t = Instant::now();
            for _ in 0..inner {
                call(&a, &b);
            }
            ms.push(t.elapsed().as_secs_f64() * 1e3 / inner as f64);
        }
        let gf: Vec<f64> = ms.iter().map(|t| flop(c) / (t * 1e-3) / 1e9).collect();
        out.push(format!(
            "{{\"case\":\"{}\",\"time_ms\":{},\"gflops\":{}}}",
            c.name,
            stats(&ms),
            stats(&gf)
        ));
    }
    let threads = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    println!(
        "{{\"peer\":\"rmlx\",\"version\":\"{}\",\"threads\":{threads},\"quick\":{quick},\"workload\":\"W1\",\"peak_rss_mib\":{:.1},\"cases\":[{}]}}",
        env!("CARGO_PKG_VERSION"),
        peak_rss_mib(),
        out.join(",")
    );
}

fn criterion_cases(cr: &mut Criterion) {
    let mut g = cr.benchmark_group("W1");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for c in &CASES {
        let (a, b) = inputs(c);
        g.throughput(criterion::Throughput::Elements(flop(c) as u64));
        g.bench_function(c.name, |bch| bch.iter(|| call(&a, &b)));
    }
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
