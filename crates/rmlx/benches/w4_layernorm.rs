//! W4 layernorm_32768x256 (WORKLOADS.md): `fast.layer_norm(x, ones(256), zeros(256), 1e-5)` on
//! x ~ N(0, 1) of shape (32768, 256) f32, fresh output and evaluation in every call. Effective
//! bandwidth counts 67,110,912 bytes per call.
//!
//! Prints one JSON line in the peers' format, then runs criterion briefly
//! (`BENCH_NO_CRITERION=1` skips it, `BENCH_QUICK=1` shrinks the counts).

mod common;

use std::time::Duration;

use common::{normal, peak_rss_mib, stats};
use criterion::{criterion_group, Criterion};
use rmlx::core::{fast, Array};

const ROWS: usize = 32768;
const DIMS: usize = 256;
const BYTES: f64 = 67_110_912.0;

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

fn protocol() {
    let quick = common::quick();
    let (x, w, b) = inputs();
    let (warmup, samples) = if quick { (1, 2) } else { (3, 20) };
    let ms = common::time_samples(warmup, samples, 1, || call(&x, &w, &b));
    let gbps: Vec<f64> = ms.iter().map(|t| BYTES / (t * 1e-3) / 1e9).collect();
    println!(
        "{{\"peer\":\"rmlx\",\"version\":\"{}\",\"threads\":{},\"quick\":{quick},\"workload\":\"W4\",\"peak_rss_mib\":{:.1},\"cases\":[{{\"case\":\"layernorm_32768x256\",\"time_ms\":{},\"gbps\":{}}}]}}",
        env!("CARGO_PKG_VERSION"),
        common::threads(),
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
    if !common::skip_criterion() {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
}
