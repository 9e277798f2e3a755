//! Cumulative reductions (cumsum, cumprod, cummax, cummin) along one axis, inclusive or
//! exclusive, forward or reversed, plus the exact gradient kernel of cumprod.
//!
//! The input is made row-contiguous first and seen as `(outer, n, inner)`: with `inner == 1`
//! each row is scanned sequentially; otherwise whole `inner`-long rows are combined at once
//! (vectorised over `inner`). Blocks of `outer` go to rayon above
//! [`super::parallel::PAR_THRESHOLD`] elements.

use bytemuck::Pod;

use super::copy::contiguous;
use super::order::Ordered;
use super::parallel::{for_each_chunk_mut, PAR_THRESHOLD};
use super::scalar::Arith;
use crate::buffer::{Buffer, Data};

/// Which cumulative reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanKind {
    /// Running sum.
    Sum,
    /// Running product.
    Prod,
    /// Running maximum (NaN propagates).
    Max,
    /// Running minimum (NaN propagates).
    Min,
    /// Running `log(sum(exp))` (MLX's `logcumsumexp`); float types only.
    LogAddExp,
}

/// Identities and combination of a scan over `T`.
pub trait ScanElem: Arith + Ordered + Pod {
    /// `0` as `T`.
    fn zero() -> Self;
    /// `1` as `T`.
    fn one() -> Self;
    /// `log(exp(a) + exp(b))`, computed stably (`max + log1p(exp(-|a - b|))`, -inf when both
    /// are); the identity for integer types, whose scans never use it.
    fn log_add_exp(a: Self, b: Self) -> Self;
}

macro_rules! scan_elem {
    ($($t:ty => $z:expr, $o:expr, $to:expr, $from:expr);*) => {$(
        impl ScanElem for $t {
            #[inline(always)] fn zero() -> Self { $z }
            #[inline(always)] fn one() -> Self { $o }
            #[inline(always)] fn log_add_exp(a: Self, b: Self) -> Self {
                let (a, b): (f64, f64) = ($to(a), $to(b));
                if a.is_nan() || b.is_nan() {
                    return $from(f64::NAN);
                }
                let m = a.max(b);
                if m == f64::NEG_INFINITY {
                    return $from(m);
                }
                $from(m + (-(a - b).abs()).exp().ln_1p())
            }
        }
    )*};
}
fn no_float<T>(_: T) -> f64 {
    0.0
}
scan_elem!(u8 => 0, 1, no_float, |_| 0; u16 => 0, 1, no_float, |_| 0;
    u32 => 0, 1, no_float, |_| 0; u64 => 0, 1, no_float, |_| 0;
    i8 => 0, 1, no_float, |_| 0; i16 => 0, 1, no_float, |_| 0;
    i32 => 0, 1, no_float, |_| 0; i64 => 0, 1, no_float, |_| 0;
    f32 => 0.0, 1.0, |v: f32| v as f64, |v: f64| v as f32;
    f64 => 0.0, 1.0, |v: f64| v, |v: f64| v;
    half::f16 => half::f16::ZERO, half::f16::ONE, |v: half::f16| v.to_f64(), half::f16::from_f64;
    half::bf16 => half::bf16::ZERO, half::bf16::ONE, |v: half::bf16| v.to_f64(), half::bf16::from_f64);

impl ScanKind {
    #[inline(always)]
    fn init<T: ScanElem>(self) -> T {
        match self {
            ScanKind::Sum => T::zero(),
            ScanKind::Prod => T::one(),
            ScanKind::Max => T::lowest(),
            ScanKind::Min => T::highest(),
            ScanKind::LogAddExp => T::lowest(),
        }
    }
    #[inline(always)]
    fn combine<T: ScanElem>(self, a: T, b: T) -> T {
        match self {
            ScanKind::Sum => T::add(a, b),
            ScanKind::Prod => T::mul(a, b),
            ScanKind::Max => T::max_nan(a, b),
            ScanKind::Min => T::min_nan(a, b),
            ScanKind::LogAddExp => T::log_add_exp(a, b),
        }
    }
}

/// `(outer, n, inner)` of `shape` around `axis`.
pub fn split_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

/// Row positions `0..n` in scan order.
fn order(n: usize, reverse: bool) -> impl Iterator<Item = usize> {
    (0..n).map(move |j| if reverse { n - 1 - j } else { j })
}

fn scan_block<T: ScanElem>(
    src: &[T],
    dst: &mut [T],
    n: usize,
    inner: usize,
    kind: ScanKind,
    reverse: bool,
    inclusive: bool,
) {
    if inner == 1 {
        let mut acc = kind.init::<T>();
        for j in order(n, reverse) {
            if inclusive {
                acc = kind.combine(acc, src[j]);
                dst[j] = acc;
            } else {
                dst[j] = acc;
                acc = kind.combine(acc, src[j]);
            }
        }
        return;
    }
    let mut acc = vec![kind.init::<T>(); inner];
    for j in order(n, reverse) {
        let s = &src[j * inner..(j + 1) * inner];
        let d = &mut dst[j * inner..(j + 1) * inner];
        if inclusive {
            for ((a, &v), o) in acc.iter_mut().zip(s).zip(d.iter_mut()) {
                *a = kind.combine(*a, v);
                *o = *a;
            }
        } else {
            for ((a, &v), o) in acc.iter_mut().zip(s).zip(d.iter_mut()) {
                *o = *a;
                *a = kind.combine(*a, v);
            }
        }
    }
}

/// Scans `x` (any strides, dtype `T`) along `axis`; the output is row-contiguous with `x`'s shape
/// and dtype.
pub fn scan<T: ScanElem>(
    x: Data,
    axis: usize,
    kind: ScanKind,
    reverse: bool,
    inclusive: bool,
) -> Data {
    let x = contiguous(x);
    let (outer, n, inner) = split_axis(&x.shape, axis);
    let total = outer * n * inner;
    let mut buf = Buffer::new(total * std::mem::size_of::<T>());
    if total > 0 {
        let src = &x.raw::<T>()[x.offset..x.offset + total];
        let dst = &mut buf.as_mut_slice::<T>()[..total];
        let block = n * inner;
        let par = total >= PAR_THRESHOLD && outer > 1;
        for_each_chunk_mut(dst, block, par, &|first, d: &mut [T]| {
            let s = &src[first..first + d.len()];
            for (s, d) in s.chunks(block).zip(d.chunks_mut(block)) {
                scan_block(s, d, n, inner, kind, reverse, inclusive);
            }
        });
    }
    Data::new(buf, x.dtype, &x.shape)
}

/// The exact cotangent of the input of a forward inclusive/exclusive cumprod, zeros included,
/// without division: with `P(i) = prod_{k<i} x_k` and `S(i) = sum_{j>=i} cot_j prod_{i<k<=j} x_k`
/// (a reverse recurrence `S(i) = cot_i + x_{i+1} S(i+1)`), `grad_i = P(i) S(i)` for the inclusive
/// scan. The exclusive scan shifts the cotangent by one. `reverse` mirrors the axis.
/// Both inputs must have the same shape; computed in f64 for f64 input, else in f32.
pub fn cumprod_grad<T: ScanElem + crate::Element>(
    x: Data,
    cot: Data,
    axis: usize,
    reverse: bool,
    inclusive: bool,
) -> Data {
    let x = contiguous(x);
    let cot = contiguous(cot);
    let (outer, n, inner) = split_axis(&x.shape, axis);
    let total = outer * n * inner;
    let mut buf = Buffer::new(total * std::mem::size_of::<T>());
    if total > 0 {
        let xs = &x.raw::<T>()[x.offset..x.offset + total];
        let cs = &cot.raw::<T>()[cot.offset..cot.offset + total];
        let out = &mut buf.as_mut_slice::<T>()[..total];
        let mut xl = vec![0.0f64; n];
        let mut cl = vec![0.0f64; n];
        let mut grads = vec![0.0f64; n];
        for o in 0..outer {
            for i in 0..inner {
                // gather the line in scan order
                for (p, j) in order(n, reverse).enumerate() {
                    let at = (o * n + j) * inner + i;
                    xl[p] = xs[at].to_f64();
                    cl[p] = cs[at].to_f64();
                }
                // inclusive: S(p) = cot_p + x_{p+1} S(p+1); exclusive: T(p) = cot_{p+1} + x_{p+1} T(p+1)
                let mut s = 0.0f64;
                for p in (0..n).rev() {
                    let carried = if p + 1 < n { xl[p + 1] * s } else { 0.0 };
                    s = if inclusive {
                        cl[p] + carried
                    } else if p + 1 < n {
                        cl[p + 1] + carried
                    } else {
                        0.0
                    };
                    grads[p] = s;
                }
                let mut prefix = 1.0f64;
                for (p, j) in order(n, reverse).enumerate() {
                    let at = (o * n + j) * inner + i;
                    out[at] = T::from_f64(prefix * grads[p]);
                    prefix *= xl[p];
                }
            }
        }
    }
    Data::new(buf, x.dtype, &x.shape)
}

/// The cotangent of the input of a cummax (`is_max`) or cummin: each output position passes its
/// cotangent to the element that set the running extreme there (the first one reaching it, so
/// ties go to the earliest). Exclusive scans pass output `p`'s cotangent to the extreme of
/// positions before `p` (output 0 holds the identity and passes nothing).
pub fn cum_extreme_grad<T: ScanElem + crate::Element>(
    x: Data,
    cot: Data,
    axis: usize,
    reverse: bool,
    inclusive: bool,
    is_max: bool,
) -> Data {
    let x = contiguous(x);
    let cot = contiguous(cot);
    let (outer, n, inner) = split_axis(&x.shape, axis);
    let total = outer * n * inner;
    let mut buf = Buffer::new(total * std::mem::size_of::<T>());
    if total > 0 {
        let xs = &x.raw::<T>()[x.offset..x.offset + total];
        let cs = &cot.raw::<T>()[cot.offset..cot.offset + total];
        let mut acc = vec![0.0f64; total];
        for o in 0..outer {
            for i in 0..inner {
                let at = |j: usize| (o * n + j) * inner + i;
                let mut best: Option<usize> = None;
                for j in order(n, reverse) {
                    if !inclusive {
                        if let Some(b) = best {
                            acc[at(b)] += cs[at(j)].to_f64();
                        }
                    }
                    let v = xs[at(j)];
                    let better = match best {
                        None => true,
                        Some(b) => {
                            let bv = xs[at(b)];
                            !bv.is_nan() && (v.is_nan() || if is_max { v > bv } else { v < bv })
                        }
                    };
                    if better {
                        best = Some(j);
                    }
                    if inclusive {
                        if let Some(b) = best {
                            acc[at(b)] += cs[at(j)].to_f64();
                        }
                    }
                }
            }
        }
        for (o, v) in buf.as_mut_slice::<T>()[..total].iter_mut().zip(acc) {
            *o = T::from_f64(v);
        }
    }
    Data::new(buf, x.dtype, &x.shape)
}
