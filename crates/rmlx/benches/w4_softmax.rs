//! W4 `softmax_64x512x512` (WORKLOADS.md): `softmax(x, axis=-1)` on a (64, 512, 512) float32
//! x ~ N(0, 1) (SplitMix64(seed 0) + Box–Muller), warm-up 3, 20 samples of one call each; one
//! call computes a fresh output and evaluates it. Effective bandwidth counts one read and one
//! write per element: 2 * 4 * 16,777,216 = 134,217,728 bytes.
//!
//! Prints one JSON line in the peers' format, then runs criterion briefly
//! (`BENCH_NO_CRITERION=1` skips it, `BENCH_QUICK=1` shrinks the counts).

mod common;

use std::time::Duration;

use common::{normal, peak_rss_mib, stats};
use criterion::{criterion_group, Criterion};
use rmlx::core::{self as mx, Array};

const SHAPE: [usize; 3] = [64, 512, 512];
const BYTES: f64 = 134_217_728.0;

fn call(x: &Array) {
    let y = mx::softmax(x, -1, false).expect("softmax");
    y.eval().expect("eval");
}

fn protocol(x: &Array) {
    let quick = common::quick();
    let (warmup, samples) = if quick { (1, 3) } else { (3, 20) };
    let ms = common::time_samples(warmup, samples, 1, || call(x));
    let gbps: Vec<f64> = ms.iter().map(|t| BYTES / (t * 1e-3) / 1e9).collect();
    println!(
        "{{\"peer\":\"rmlx\",\"version\":\"{}\",\"threads\":{},\"quick\":{quick},\"workload\":\"W4\",\"peak_rss_mib\":{:.1},\"cases\":[{{\"case\":\"softmax_64x512x512\",\"time_ms\":{},\"gbps\":{}}}]}}",
        env!("CARGO_PKG_VERSION"),
        common::threads(),
        peak_rss_mib(),
        stats(&ms),
        stats(&gbps)
    );
}

fn criterion_cases(cr: &mut Criterion) {
    let x = Array::from_slice(&normal(SHAPE.iter().product(), 0), &SHAPE).expect("x");
    let mut g = cr.benchmark_group("W4");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .throughput(criterion::Throughput::Bytes(BYTES as u64));
    g.bench_function("softmax_64x512x512", |bch| bch.iter(|| call(&x)));
    g.finish();
}

criterion_group!(benches, criterion_cases);

fn main() {
    let x = Array::from_slice(&normal(SHAPE.iter().product(), 0), &SHAPE).expect("x");
    protocol(&x);
    drop(x);
    if !common::skip_criterion() {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
}
