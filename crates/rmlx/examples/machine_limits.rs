//! The machine probe of `shared/bench/WORKLOADS.md`: core clock, FMA throughput and STREAM
//! bandwidth on 1 and 2 threads, so benchmark figures can be read against what this machine can
//! do (the peers' RESULTS.md figures come from a different host).
//!
//! ```sh
//! cargo run --release -p rmlx --example machine_limits
//! ```
//!
//! - clock: a dependent chain of 16 register-register `add`s per iteration (one cycle each);
//! - FMA: 16 independent zmm `vfmadd` chains (512 flop per iteration) and 12 ymm chains;
//!   flop/cycle/core = GFLOP/s / clock (two 512-bit FMA pipes give 64);
//! - STREAM copy / scale / add / triad over three 256 MiB f64 arrays, STREAM byte counting (2 or 3
//!   words per element, no write-allocate), and `write`: streaming (non-temporal) stores filling
//!   one such array, the fastest way a kernel can write an output larger than the caches.
//!
//! Prints a table on stderr and one JSON line on stdout. x86_64 only (the FMA probes need AVX-512
//! and AVX2+FMA; missing ones are reported as absent).

use std::time::Instant;

use serde_json::{json, Value};

/// Runs `f(thread_index)` on `threads` threads at once; returns the wall time in seconds.
fn on_threads(threads: usize, f: impl Fn(usize) + Sync) -> f64 {
    let t = Instant::now();
    std::thread::scope(|s| {
        for i in 0..threads {
            let f = &f;
            s.spawn(move || f(i));
        }
    });
    t.elapsed().as_secs_f64()
}

/// Best of `reps` runs of `f`, in seconds.
fn best_of(reps: usize, mut f: impl FnMut() -> f64) -> f64 {
    (0..reps).map(|_| f()).fold(f64::INFINITY, f64::min)
}

#[cfg(target_arch = "x86_64")]
mod probes {
    use std::arch::x86_64::*;

    /// `iters` iterations of 16 dependent register-register adds; returns a value so the loop is
    /// kept. (Adds of an immediate are not used: recent Intel cores fold chains of them at
    /// rename, which would read as a 15 GHz clock.)
    pub fn add_chain(iters: u64) -> u64 {
        let mut x: u64 = 0;
        let y: u64 = std::hint::black_box(1);
        for _ in 0..iters {
            // SAFETY: plain register arithmetic on a local; no memory, stack or flags contract.
            unsafe {
                std::arch::asm!(
                    "add {x}, {y}", "add {x}, {y}", "add {x}, {y}", "add {x}, {y}",
                    "add {x}, {y}", "add {x}, {y}", "add {x}, {y}", "add {x}, {y}",
                    "add {x}, {y}", "add {x}, {y}", "add {x}, {y}", "add {x}, {y}",
                    "add {x}, {y}", "add {x}, {y}", "add {x}, {y}", "add {x}, {y}",
                    x = inout(reg) x,
                    y = in(reg) y,
                    options(nomem, nostack),
                );
            }
        }
        x
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn fma_zmm_inner(iters: u64) -> f32 {
        let mut acc = [_mm512_set1_ps(0.0); 16];
        let a = _mm512_set1_ps(0.999_999_9);
        let b = _mm512_set1_ps(1e-7);
        for _ in 0..iters {
            for v in acc.iter_mut() {
                *v = _mm512_fmadd_ps(*v, a, b);
            }
        }
        let mut s = _mm512_set1_ps(0.0);
        for v in acc {
            s = _mm512_add_ps(s, v);
        }
        _mm512_reduce_add_ps(s)
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn fma_ymm_inner(iters: u64) -> f32 {
        let mut acc = [_mm256_set1_ps(0.0); 12];
        let a = _mm256_set1_ps(0.999_999_9);
        let b = _mm256_set1_ps(1e-7);
        for _ in 0..iters {
            for v in acc.iter_mut() {
                *v = _mm256_fmadd_ps(*v, a, b);
            }
        }
        let mut out = [0.0f32; 8];
        let mut s = _mm256_set1_ps(0.0);
        for v in acc {
            s = _mm256_add_ps(s, v);
        }
        _mm256_storeu_ps(out.as_mut_ptr(), s);
        out.iter().sum()
    }

    /// Fills `out` with `v` by non-temporal (streaming) stores, which write whole cache lines
    /// without reading them first: the way a kernel writes an output larger than the caches.
    pub fn stream_fill(out: &mut [f64], v: f64) {
        let head = out.as_ptr().align_offset(16).min(out.len());
        let (start, rest) = out.split_at_mut(head);
        start.fill(v);
        let pairs = rest.len() / 2;
        let p = rest.as_mut_ptr();
        // SAFETY: SSE2 is part of x86_64. Each store writes elements `2i` and `2i + 1` with
        // `2i + 1 < 2 * pairs <= rest.len()`, inside `rest`, at a 16-byte aligned address
        // (`rest` starts aligned and `2i` elements are `16i` bytes further on), as
        // `_mm_stream_pd` requires; the fence orders them before the caller's next stores.
        unsafe {
            let x = _mm_set1_pd(v);
            for i in 0..pairs {
                _mm_stream_pd(p.add(2 * i), x);
            }
            _mm_sfence();
        }
        rest[2 * pairs..].fill(v);
    }

    /// 512 flop per iteration; `None` without AVX-512.
    pub fn fma_zmm(iters: u64) -> Option<f32> {
        // SAFETY: AVX-512F is present (checked first).
        is_x86_feature_detected!("avx512f").then(|| unsafe { fma_zmm_inner(iters) })
    }

    /// 192 flop per iteration; `None` without AVX2 and FMA.
    pub fn fma_ymm(iters: u64) -> Option<f32> {
        let ok = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        // SAFETY: AVX2 and FMA are present (checked first).
        ok.then(|| unsafe { fma_ymm_inner(iters) })
    }
}

/// GHz, GFLOP/s zmm, GFLOP/s ymm on `threads` threads (each thread runs the whole loop).
#[cfg(target_arch = "x86_64")]
fn compute(threads: usize) -> (f64, Option<f64>, Option<f64>) {
    let iters = 200_000_000u64;
    let secs = best_of(3, || {
        on_threads(threads, |_| {
            std::hint::black_box(probes::add_chain(std::hint::black_box(iters)));
        })
    });
    let ghz = 16.0 * iters as f64 / secs / 1e9;
    let fma = |flop_per_iter: f64, f: fn(u64) -> Option<f32>| {
        f(1)?;
        let iters = 20_000_000u64;
        let secs = best_of(3, || {
            on_threads(threads, |_| {
                std::hint::black_box(f(std::hint::black_box(iters)));
            })
        });
        Some(threads as f64 * flop_per_iter * iters as f64 / secs / 1e9)
    };
    (
        ghz,
        fma(512.0, probes::fma_zmm),
        fma(192.0, probes::fma_ymm),
    )
}

#[cfg(not(target_arch = "x86_64"))]
fn compute(_threads: usize) -> (f64, Option<f64>, Option<f64>) {
    (f64::NAN, None, None)
}

/// One STREAM kernel over a thread's slices `(c, a, b)`.
type StreamKernel = dyn Fn(&mut [f64], &[f64], &[f64]) + Sync;

/// STREAM's scalar.
const Q: f64 = 3.0;

/// STREAM copy, scale, add, triad in GB/s over arrays of `n` f64 split across `threads`, and
/// the write-only bandwidth of streaming stores filling one such array.
fn stream(threads: usize, n: usize) -> [f64; 5] {
    let mut a = vec![1.0f64; n];
    let mut b = vec![2.0f64; n];
    let mut c = vec![0.0f64; n];
    let per = n.div_ceil(threads);

    let mut run = |words: f64, kernel: &StreamKernel| {
        let secs = best_of(5, || {
            let t = Instant::now();
            std::thread::scope(|s| {
                for ((c, a), b) in c.chunks_mut(per).zip(a.chunks(per)).zip(b.chunks(per)) {
                    s.spawn(move || kernel(c, a, b));
                }
            });
            t.elapsed().as_secs_f64()
        });
        words * 8.0 * n as f64 / secs / 1e9
    };
    let copy = run(2.0, &|c, a, _| c.copy_from_slice(a));
    let scale = run(2.0, &|c, a, _| {
        c.iter_mut().zip(a).for_each(|(c, a)| *c = Q * a)
    });
    let add = run(3.0, &|c, a, b| {
        c.iter_mut()
            .zip(a.iter().zip(b))
            .for_each(|(c, (a, b))| *c = a + b)
    });
    let triad = run(3.0, &|c, a, b| {
        c.iter_mut()
            .zip(a.iter().zip(b))
            .for_each(|(c, (a, b))| *c = a + Q * b)
    });
    let write = run(1.0, &|c, _, _| fill(c));
    std::hint::black_box((&mut a, &mut b, &c));
    [copy, scale, add, triad, write]
}

/// Writes every element of `c` once, with streaming stores where the CPU has them.
fn fill(c: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    probes::stream_fill(c, Q);
    #[cfg(not(target_arch = "x86_64"))]
    c.fill(Q);
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn main() {
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
    let n = if quick { 1 << 20 } else { 32 << 20 }; // 32 Mi f64 = 256 MiB per array
    let mut rows: Vec<Value> = Vec::new();
    eprintln!("cpu: {}", cpu_model());
    eprintln!(
        "threads  GHz   zmm GFLOP/s  flop/cyc/core  ymm GFLOP/s  copy  scale  add  triad  write (GB/s)"
    );
    for threads in [1usize, 2] {
        let (ghz, zmm, ymm) = compute(threads);
        let s = stream(threads, n);
        let per_cycle = zmm.map(|z| z / ghz / threads as f64);
        let fmt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
        eprintln!(
            "{threads:>7}  {ghz:.2}  {:>11}  {:>13}  {:>11}  {:.1}  {:.1}  {:.1}  {:.1}  {:.1}",
            fmt(zmm),
            fmt(per_cycle),
            fmt(ymm),
            s[0],
            s[1],
            s[2],
            s[3],
            s[4]
        );
        rows.push(json!({
            "threads": threads, "ghz": ghz, "fma_zmm_gflops": zmm, "fma_ymm_gflops": ymm,
            "zmm_flop_per_cycle_per_core": per_cycle,
            "stream_gbps": {"copy": s[0], "scale": s[1], "add": s[2], "triad": s[3], "write": s[4]},
        }));
    }
    println!(
        "{}",
        json!({"peer": "rmlx", "workload": "machine", "cpu": cpu_model(), "quick": quick, "rows": rows})
    );
}
