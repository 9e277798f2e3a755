//! W1 (WORKLOADS.md): f32 matmul `C = A @ B`, fresh output and evaluation in every call.
//!
//! Prints one JSON line in the peers' format (`peer: "rmlx"`, median/min/max/mean/raw times and
//! GFLOP/s per case), then runs the same cases through criterion with short measurement times.
//! `BENCH_QUICK=1` shrinks the counts for smoke tests; `BENCH_NO_CRITERION=1` skips criterion.

mod common;

use std::time::Duration;

use common::{normal, peak_rss_mib, stats};

use criterion::{criterion_group, Criterion};
use rmlx::core::{self as mx, Array};

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

fn protocol() {
    let quick = common::quick();
    let mut out = Vec::new();
    for c in &CASES {
        let (a, b) = inputs(c);
        let (warmup, samples, inner) = if quick {
            (1, 2, 1)
        } else {
            (c.warmup, c.samples, c.inner)
        };
        let ms = common::time_samples(warmup, samples, inner, || call(&a, &b));
        let gf: Vec<f64> = ms.iter().map(|t| flop(c) / (t * 1e-3) / 1e9).collect();
        out.push(format!(
            "{{\"case\":\"{}\",\"time_ms\":{},\"gflops\":{}}}",
            c.name,
            stats(&ms),
            stats(&gf)
        ));
    }
    let threads = common::threads();
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
    if !common::skip_criterion() {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
}
