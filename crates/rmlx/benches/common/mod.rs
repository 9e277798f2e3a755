//! What every workload bench shares: the Rust peers' data generator, the WORKLOADS.md
//! statistics object, and the environment switches (`BENCH_QUICK=1` shrinks the counts,
//! `BENCH_NO_CRITERION=1` skips criterion).

#![allow(dead_code)] // each bench uses a different subset

/// `n` N(0, 1) draws from SplitMix64(`seed`) + Box–Muller (cosine branch), as the Rust peers
/// (candle, burn) draw their inputs.
pub fn normal(n: usize, seed: u64) -> Vec<f32> {
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

/// The median of `v` (mean of the middle two for an even count).
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// WORKLOADS.md's statistics object: `{"median", "min", "max", "mean", "n", "raw"}`.
pub fn stats(v: &[f64]) -> String {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    let mean = s.iter().sum::<f64>() / n.max(1) as f64;
    let raw: Vec<String> = v.iter().map(|x| format!("{x:.6}")).collect();
    format!(
        "{{\"median\":{:.6},\"min\":{:.6},\"max\":{:.6},\"mean\":{mean:.6},\"n\":{n},\"raw\":[{}]}}",
        median(v),
        s.first().copied().unwrap_or(f64::NAN),
        s.last().copied().unwrap_or(f64::NAN),
        raw.join(",")
    )
}

/// `BENCH_QUICK=1`: smoke-test counts, not anchors.
pub fn quick() -> bool {
    std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1")
}

/// `BENCH_NO_CRITERION=1`: print the workload JSON line only.
pub fn skip_criterion() -> bool {
    std::env::var("BENCH_NO_CRITERION").is_ok_and(|v| v == "1")
}

/// The number of rayon threads the kernels use.
pub fn threads() -> usize {
    rayon::current_num_threads()
}

/// Whole-process peak RSS (`VmHWM`) in MiB, 0 where `/proc` is unavailable.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Runs `call` `warmup` times untimed, then `samples` samples of `inner` back-to-back calls;
/// returns each sample's milliseconds per call.
pub fn time_samples(
    warmup: usize,
    samples: usize,
    inner: usize,
    mut call: impl FnMut(),
) -> Vec<f64> {
    for _ in 0..warmup {
        call();
    }
    (0..samples)
        .map(|_| {
            let t = std::time::Instant::now();
            for _ in 0..inner {
                call();
            }
            t.elapsed().as_secs_f64() * 1e3 / inner as f64
        })
        .collect()
}
