//! Discrete Fourier transforms on `rustfft`: complex-to-complex over any axes, real-to-complex
//! (the last axis keeps `n / 2 + 1` bins) and complex-to-real, as MLX's `FFT` primitive computes
//! them. Inverse transforms are scaled by `1 / n` (the product of the transformed sizes).
//!
//! A transform along an inner axis first transposes that axis to the end, so every transform
//! runs over contiguous lines; lines are split over rayon's pool.

use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;
use rustfft::{Fft, FftPlanner};

use super::copy::contiguous;
use crate::buffer::{Buffer, Data};
use crate::dtype::Complex32;
use crate::{bail, Dtype, Result};

/// Elements a parallel task transforms at least.
const TASK_ELEMS: usize = 1 << 14;

/// One planner for the process: plans are cached by size and direction.
fn plan(n: usize, inverse: bool) -> Arc<dyn Fft<f32>> {
    static PLANNER: OnceLock<Mutex<FftPlanner<f32>>> = OnceLock::new();
    let planner = PLANNER.get_or_init(|| Mutex::new(FftPlanner::new()));
    // A poisoned lock only means another thread panicked while planning; the cache is still
    // a valid cache.
    let mut p = planner.lock().unwrap_or_else(|e| e.into_inner());
    if inverse {
        p.plan_fft_inverse(n)
    } else {
        p.plan_fft_forward(n)
    }
}

/// Transforms every consecutive line of `n` values of `buf` in place.
fn lines_in_place(buf: &mut [Complex32], n: usize, inverse: bool) {
    if buf.is_empty() || n <= 1 {
        return;
    }
    let fft = plan(n, inverse);
    let lines_per_task = (TASK_ELEMS / n).max(1);
    buf.par_chunks_mut(n * lines_per_task).for_each(|chunk| {
        let mut scratch = vec![Complex32::new(0.0, 0.0); fft.get_inplace_scratch_len()];
        fft.process_with_scratch(chunk, &mut scratch);
    });
}

/// `[outer, n, inner]` → `[outer, inner, n]` (row-major).
fn swap_inner(src: &[Complex32], n: usize, inner: usize) -> Vec<Complex32> {
    let mut dst = vec![Complex32::new(0.0, 0.0); src.len()];
    if dst.is_empty() {
        return dst;
    }
    dst.par_chunks_mut(n).enumerate().for_each(|(row, line)| {
        let (o, i) = (row / inner, row % inner);
        let base = o * n * inner + i;
        for (j, v) in line.iter_mut().enumerate() {
            *v = src[base + j * inner];
        }
    });
    dst
}

/// Transforms `buf` (row-major, `shape`) along `axis`.
fn along_axis(buf: Vec<Complex32>, shape: &[usize], axis: usize, inverse: bool) -> Vec<Complex32> {
    let n = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    if inner == 1 {
        let mut buf = buf;
        lines_in_place(&mut buf, n, inverse);
        return buf;
    }
    let mut t = swap_inner(&buf, n, inner);
    lines_in_place(&mut t, n, inverse);
    // back: [outer, inner, n] → [outer, n, inner] is the same swap with n and inner exchanged
    swap_inner(&t, inner, n)
}

fn complex_values(x: &Data) -> Vec<Complex32> {
    let n = x.size();
    let off = x.offset();
    x.raw::<Complex32>()[off..off + n].to_vec()
}

fn scale(buf: &mut [Complex32], by: f32) {
    if by != 1.0 {
        buf.par_iter_mut().for_each(|v| *v *= by);
    }
}

/// MLX's `FFT` primitive: the transform of `x` over `axes` (distinct, in range).
///
/// - complex-to-complex (`real == false`): `x` is complex64, the output has its shape;
/// - real-to-complex (`real && !inverse`): `x` is float32, the last of `axes` gives
///   `n / 2 + 1` bins;
/// - complex-to-real (`real && inverse`): `x` is complex64 with `m` bins on the last of `axes`,
///   the output (float32) has `out_n` values there (`m == out_n / 2 + 1`).
pub fn fft(x: Data, axes: &[usize], inverse: bool, real: bool, out_n: usize) -> Result<Data> {
    let ndim = x.shape().len();
    let Some(&last) = axes.last() else {
        return Ok(x);
    };
    if axes.iter().any(|&a| a >= ndim) {
        bail!(
            Axis,
            "[fft] axes {axes:?} out of range for {ndim} dimensions"
        );
    }
    let want = if real && !inverse {
        Dtype::F32
    } else {
        Dtype::C64
    };
    if x.dtype != want {
        bail!(Dtype, "[fft] expected a {want} input, got {}", x.dtype);
    }
    let x = contiguous(x);
    let mut shape = x.shape().to_vec();
    let mut buf: Vec<Complex32>;
    if real && !inverse {
        // real → complex along the last axis (a full complex transform, keeping n / 2 + 1 bins)
        let n = shape[last];
        let m = n / 2 + 1;
        let inner: usize = shape[last + 1..].iter().product();
        let outer: usize = shape[..last].iter().product();
        let off = x.offset();
        let vals = &x.raw::<f32>()[off..off + x.size()];
        let mut full: Vec<Complex32> = vals.iter().map(|&v| Complex32::new(v, 0.0)).collect();
        full = along_axis(full, &shape, last, false);
        shape[last] = m;
        buf = vec![Complex32::new(0.0, 0.0); outer * m * inner];
        if !buf.is_empty() {
            buf.par_chunks_mut(m * inner)
                .enumerate()
                .for_each(|(o, blk)| {
                    let src = &full[o * n * inner..(o * n + m) * inner];
                    blk.copy_from_slice(src);
                });
        }
        for &ax in axes[..axes.len() - 1].iter() {
            buf = along_axis(buf, &shape, ax, false);
        }
        return Ok(Data::new(Buffer::from_slice(&buf), Dtype::C64, &shape));
    }
    buf = complex_values(&x);
    let mut count = 1usize;
    let c2c_axes = if real { &axes[..axes.len() - 1] } else { axes };
    for &ax in c2c_axes {
        count = count.saturating_mul(shape[ax]);
        buf = along_axis(buf, &shape, ax, inverse);
    }
    if !real {
        if inverse {
            scale(&mut buf, 1.0 / count as f32);
        }
        return Ok(Data::new(Buffer::from_slice(&buf), Dtype::C64, &shape));
    }
    // complex → real along the last axis: rebuild the Hermitian spectrum of out_n values
    let m = shape[last];
    let n = out_n;
    if n == 0 || m != n / 2 + 1 {
        bail!(
            Shape,
            "[irfft] {m} bins on the last axis cannot give {n} real values (expected {})",
            n / 2 + 1
        );
    }
    count = count.saturating_mul(n);
    let inner: usize = shape[last + 1..].iter().product();
    let outer: usize = shape[..last].iter().product();
    let mut full = vec![Complex32::new(0.0, 0.0); outer * n * inner];
    if !full.is_empty() {
        full.par_chunks_mut(n * inner)
            .enumerate()
            .for_each(|(o, blk)| {
                let src = &buf[o * m * inner..(o + 1) * m * inner];
                for k in 0..n {
                    for i in 0..inner {
                        blk[k * inner + i] = if k < m {
                            src[k * inner + i]
                        } else {
                            src[(n - k) * inner + i].conj()
                        };
                    }
                }
            });
    }
    shape[last] = n;
    let full = along_axis(full, &shape, last, true);
    let s = 1.0 / count as f32;
    let out: Vec<f32> = full.par_iter().map(|z| z.re * s).collect();
    Ok(Data::new(Buffer::from_slice(&out), Dtype::F32, &shape))
}
