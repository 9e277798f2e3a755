//! Row kernels for the fused `fast` ops: layer norm, RMS norm (forward and input gradient) and
//! rotary position embedding. Rows are contiguous, processed in parallel; f16/bf16 accumulate in
//! f32, f64 in f64.

use bytemuck::Pod;
use half::{bf16, f16};
use num_traits::Float;

use super::parallel::{for_each_chunk_mut, PAR_THRESHOLD};

/// A storage type and the float type its row statistics accumulate in.
pub trait NormElem: Pod + Send + Sync {
    /// Accumulation type (f32 for f16/bf16/f32, f64 for f64).
    type Acc: Float + Send + Sync + std::iter::Sum;
    /// Widens one element.
    fn load(self) -> Self::Acc;
    /// Rounds back to storage.
    fn store(v: Self::Acc) -> Self;
    /// Converts an f64 constant.
    fn acc(v: f64) -> Self::Acc;
}

macro_rules! norm_elem {
    ($t:ty, $acc:ty, |$x:ident| $load:expr, |$v:ident| $store:expr) => {
        impl NormElem for $t {
            type Acc = $acc;
            #[inline(always)]
            fn load(self) -> $acc {
                let $x = self;
                $load
            }
            #[inline(always)]
            fn store($v: $acc) -> Self {
                $store
            }
            #[inline(always)]
            fn acc(v: f64) -> $acc {
                v as $acc
            }
        }
    };
}
norm_elem!(f32, f32, |x| x, |v| v);
norm_elem!(f64, f64, |x| x, |v| v);
norm_elem!(f16, f32, |x| x.to_f32(), |v| f16::from_f32(v));
norm_elem!(bf16, f32, |x| x.to_f32(), |v| bf16::from_f32(v));

const LANES: usize = 8;

/// `sum f(r[i])` over a row ([`sum_map2`] with the row paired with itself).
#[inline(always)]
fn sum_map<T: NormElem>(r: &[T], f: impl Fn(T::Acc) -> T::Acc) -> T::Acc {
    sum_map2(r, r, |v, _| f(v))
}

/// `sum f(a[i], b[i])` over two rows of one length with `LANES` independent partial sums, over
/// slice chunks (no index bounds checks in the loop), so it vectorises.
#[inline(always)]
fn sum_map2<T: NormElem>(a: &[T], b: &[T], f: impl Fn(T::Acc, T::Acc) -> T::Acc) -> T::Acc {
    let mut acc = [<T::Acc as num_traits::Zero>::zero(); LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..LANES {
            acc[l] = acc[l] + f(x[l].load(), y[l].load());
        }
    }
    let mut s = <T::Acc as num_traits::Zero>::zero();
    for v in acc {
        s = s + v;
    }
    for (&x, &y) in ca.remainder().iter().zip(cb.remainder()) {
        s = s + f(x.load(), y.load());
    }
    s
}

/// Runs `f` compiled with AVX-512 (or AVX2+FMA) enabled when the CPU has it, so the row loops
/// `f` inlines run 16 (or 8) f32 lanes wide instead of SSE2's 4.
#[inline(always)]
pub(crate) fn with_simd<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx2,fma")]
        unsafe fn v4<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn v3<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above), the only requirement of
            // calling a function compiled with that feature enabled.
            return unsafe { v4(f) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            return unsafe { v3(f) };
        }
    }
    f()
}

/// Rows per parallel task: about 64 KiB of f32 input.
fn rows_per_task(d: usize) -> usize {
    (16384 / d).max(1)
}

/// Runs `f(row_in, row_out)` over the rows of length `d`, in parallel for large inputs.
fn rows<T: Copy + Send + Sync, U: Copy + Send + Sync>(
    x: &[T],
    out: &mut [U],
    d: usize,
    f: impl Fn(&[T], &mut [U]) + Sync + Send,
) {
    if d == 0 {
        return;
    }
    let run = |o: &mut [U], i: &[T]| {
        with_simd(|| o.chunks_mut(d).zip(i.chunks(d)).for_each(|(o, i)| f(i, o)))
    };
    if out.len() >= PAR_THRESHOLD {
        let per = rows_per_task(d) * d;
        for_each_chunk_mut(out, per, true, &|first, o: &mut [U]| {
            run(o, &x[first..first + o.len()])
        });
    } else {
        run(out, x);
    }
}

/// [`rows`] over two inputs of one shape: `f(x_row, g_row, out_row)`.
fn rows2<T: Copy + Send + Sync>(
    x: &[T],
    g: &[T],
    out: &mut [T],
    d: usize,
    f: impl Fn(&[T], &[T], &mut [T]) + Sync + Send,
) {
    if d == 0 {
        return;
    }
    let run = |o: &mut [T], x: &[T], g: &[T]| {
        with_simd(|| {
            for ((o, x), g) in o.chunks_mut(d).zip(x.chunks(d)).zip(g.chunks(d)) {
                f(x, g, o)
            }
        })
    };
    if out.len() >= PAR_THRESHOLD {
        let per = rows_per_task(d) * d;
        for_each_chunk_mut(out, per, true, &|first, o: &mut [T]| {
            let r = first..first + o.len();
            run(o, &x[r.clone()], &g[r])
        });
    } else {
        run(out, x, g);
    }
}

/// Row mean and `1 / sqrt(var + eps)` (biased variance, two passes over the cached row).
#[inline(always)]
fn moments<T: NormElem>(r: &[T], eps: T::Acc) -> (T::Acc, T::Acc) {
    let n = T::acc(r.len() as f64);
    let mean = sum_map(r, |v| v) / n;
    let var = sum_map(r, |v| {
        let c = v - mean;
        c * c
    }) / n;
    (mean, (var + eps).sqrt().recip())
}

/// Layer norm over rows of length `d`: `(x - mean) / sqrt(var + eps) * w + b`.
pub fn layer_norm<T: NormElem>(
    x: &[T],
    w: Option<&[T::Acc]>,
    b: Option<&[T::Acc]>,
    d: usize,
    eps: f64,
    out: &mut [T],
) {
    let eps = T::acc(eps);
    rows(x, out, d, |r, o| {
        let (mean, rstd) = moments(r, eps);
        match (w, b) {
            (Some(w), Some(b)) => {
                for (((o, x), w), b) in o.iter_mut().zip(r).zip(w).zip(b) {
                    *o = T::store((x.load() - mean) * rstd * *w + *b);
                }
            }
            (Some(w), None) => {
                for ((o, x), w) in o.iter_mut().zip(r).zip(w) {
                    *o = T::store((x.load() - mean) * rstd * *w);
                }
            }
            (None, Some(b)) => {
                for ((o, x), b) in o.iter_mut().zip(r).zip(b) {
                    *o = T::store((x.load() - mean) * rstd + *b);
                }
            }
            (None, None) => {
                for (o, x) in o.iter_mut().zip(r) {
                    *o = T::store((x.load() - mean) * rstd);
                }
            }
        }
    });
}

/// The input gradient of layer norm given `g = cotangent * weight` (both row-contiguous):
/// `rstd * (g - mean(g) - xhat * mean(g * xhat))`.
pub fn layer_norm_vjp_x<T: NormElem>(x: &[T], g: &[T], d: usize, eps: f64, out: &mut [T]) {
    let eps = T::acc(eps);
    let n = T::acc(d as f64);
    rows2(x, g, out, d, |xr, gr, o| {
        let (mean, rstd) = moments(xr, eps);
        let mg = sum_map(gr, |g| g) / n;
        let mgx = sum_map2(xr, gr, |x, g| g * (x - mean) * rstd) / n;
        for ((o, x), g) in o.iter_mut().zip(xr).zip(gr) {
            let xh = (x.load() - mean) * rstd;
            *o = T::store(rstd * (g.load() - mg - xh * mgx));
        }
    });
}

/// RMS norm over rows of length `d`: `x / sqrt(mean(x^2) + eps) * w`.
pub fn rms_norm<T: NormElem>(x: &[T], w: Option<&[T::Acc]>, d: usize, eps: f64, out: &mut [T]) {
    let eps = T::acc(eps);
    let n = T::acc(d as f64);
    rows(x, out, d, |r, o| {
        let ms = sum_map(r, |v| v * v) / n;
        let rstd = (ms + eps).sqrt().recip();
        match w {
            Some(w) => {
                for ((o, x), w) in o.iter_mut().zip(r).zip(w) {
                    *o = T::store(x.load() * rstd * *w);
                }
            }
            None => {
                for (o, x) in o.iter_mut().zip(r) {
                    *o = T::store(x.load() * rstd);
                }
            }
        }
    });
}

/// The input gradient of RMS norm given `g = cotangent * weight`:
/// `rstd * (g - xhat * mean(g * xhat))` with `xhat = x * rstd`.
pub fn rms_norm_vjp_x<T: NormElem>(x: &[T], g: &[T], d: usize, eps: f64, out: &mut [T]) {
    let eps = T::acc(eps);
    let n = T::acc(d as f64);
    rows2(x, g, out, d, |xr, gr, o| {
        let ms = sum_map(xr, |v| v * v) / n;
        let rstd = (ms + eps).sqrt().recip();
        let mgx = sum_map2(xr, gr, |x, g| g * x * rstd) / n;
        for ((o, x), g) in o.iter_mut().zip(xr).zip(gr) {
            let xh = x.load() * rstd;
            *o = T::store(rstd * (g.load() - xh * mgx));
        }
    });
}

/// Rotary embedding parameters (MLX's `fast.rope`).
#[derive(Debug, Clone, Copy)]
pub struct RopeParams {
    /// Leading features rotated (even); the rest pass through.
    pub dims: usize,
    /// Pairs `(2i, 2i+1)` when true, `(i, i + dims/2)` otherwise.
    pub traditional: bool,
    /// Frequency base.
    pub base: f64,
    /// Position scale.
    pub scale: f64,
    /// Position of the first row of the sequence axis.
    pub offset: i64,
    /// Rotate by minus the angle (the transpose: used by the vjp).
    pub inverse: bool,
}

/// Rotary embedding over a row-contiguous `[.., seq, d]` input, into `out` of the same length.
/// An `Err` when the lengths do not hold whole `seq x d` blocks or `dims` exceeds `d`.
pub fn rope<T: NormElem>(
    x: &[T],
    seq: usize,
    d: usize,
    p: RopeParams,
    out: &mut [T],
) -> crate::Result<()> {
    let per_seq = seq * d;
    if p.dims > d || x.len() != out.len() || x.len().checked_rem(per_seq).unwrap_or(x.len()) != 0 {
        crate::bail!(
            Shape,
            "rope: {} values (into {}) are not whole [{seq}, {d}] blocks, or {} dims exceed {d}",
            x.len(),
            out.len(),
            p.dims
        );
    }
    let half = p.dims / 2;
    // cos/sin table per position, computed in f32 as MLX does (f64 for f64 inputs)
    let mut cos = vec![T::acc(0.0); seq * half];
    let mut sin = vec![T::acc(0.0); seq * half];
    let log_base = T::acc(p.base.ln());
    for l in 0..seq {
        let pos = T::acc((p.offset + l as i64) as f64) * T::acc(p.scale);
        for i in 0..half {
            let inv_freq = (-(T::acc(i as f64)) * log_base / T::acc(half as f64)).exp();
            let th = pos * inv_freq;
            cos[l * half + i] = th.cos();
            sin[l * half + i] = if p.inverse { -th.sin() } else { th.sin() };
        }
    }
    if per_seq == 0 {
        return Ok(());
    }
    let seq_rows = |xs: &[T], os: &mut [T]| {
        for (l, (r, o)) in xs.chunks(d).zip(os.chunks_mut(d)).enumerate() {
            o.copy_from_slice(r);
            let (c, s) = (&cos[l * half..][..half], &sin[l * half..][..half]);
            for i in 0..half {
                let (a, b) = if p.traditional {
                    (2 * i, 2 * i + 1)
                } else {
                    (i, i + half)
                };
                let (x1, x2) = (r[a].load(), r[b].load());
                o[a] = T::store(x1 * c[i] - x2 * s[i]);
                o[b] = T::store(x1 * s[i] + x2 * c[i]);
            }
        }
    };
    for_each_chunk_mut(
        out,
        per_seq,
        out.len() >= PAR_THRESHOLD,
        &|first, o: &mut [T]| {
            let xs = &x[first..first + o.len()];
            for (o, i) in o.chunks_mut(per_seq).zip(xs.chunks(per_seq)) {
                seq_rows(i, o)
            }
        },
    );
    Ok(())
}
