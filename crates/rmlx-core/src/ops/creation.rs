//! Creation ops: `zeros`, `ones`, `full` (and `_like`), `arange`, `linspace`, `eye`, `identity`,
//! `tri`, `tril`, `triu`.
//!
//! `zeros`/`ones`/`full` are broadcast views of one element (no buffer of the full size);
//! `arange`, `linspace`, `eye` and `tri` are evaluated constants.

use std::sync::Arc;

use crate::backend::cpu::scalar::Arith;
use crate::buffer::{Buffer, Data};
use crate::primitives::creation::TriMask;
use crate::{bail, Array, Dtype, Element, Result};

/// Values `full`, `full_like` and `pad` accept: an array (broadcast to the shape) or a Rust
/// scalar. A scalar keeps its own dtype, except `f64`, which gives float32 as a Python float does
/// in MLX (pass a dtype to get float64).
pub trait FillValue {
    /// The value as an array.
    fn into_fill(self) -> Array;
}

impl FillValue for &Array {
    fn into_fill(self) -> Array {
        self.clone()
    }
}
impl FillValue for Array {
    fn into_fill(self) -> Array {
        self
    }
}
impl FillValue for f64 {
    fn into_fill(self) -> Array {
        Array::scalar_as(self, Dtype::F32)
    }
}
impl FillValue for bool {
    fn into_fill(self) -> Array {
        Array::scalar_as(self as u8 as f64, Dtype::Bool)
    }
}
macro_rules! fill_scalar {
    ($($t:ty),*) => {$(
        impl FillValue for $t {
            fn into_fill(self) -> Array { Array::scalar(self) }
        }
    )*};
}
fill_scalar!(
    f32,
    i8,
    i16,
    i32,
    i64,
    u8,
    u16,
    u32,
    u64,
    crate::f16,
    crate::bf16
);

/// An array of `shape` filled with `value`, as `dtype` (default: the value's dtype). An array
/// value is broadcast to `shape`.
///
/// ```
/// use rmlx_core::{self as mx, Array, Dtype};
/// let a = mx::full(&[2, 2], 7i32, None)?;
/// assert_eq!(a.dtype(), Dtype::I32);
/// assert_eq!(a.to_vec::<i32>()?, vec![7; 4]);
/// let row = Array::from_slice(&[1.0f32, 2.0], &[2])?;
/// assert_eq!(mx::full(&[2, 2], &row, Dtype::F64)?.to_vec::<f64>()?, vec![1.0, 2.0, 1.0, 2.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn full(
    shape: &[usize],
    value: impl FillValue,
    dtype: impl Into<Option<Dtype>>,
) -> Result<Array> {
    let v = value.into_fill();
    let dtype = dtype.into().unwrap_or(v.dtype());
    let v = v.astype(dtype)?;
    let b = super::broadcast_shapes("full", v.shape(), shape)?;
    if b != shape {
        bail!(
            Shape,
            "full: cannot broadcast a value of shape {:?} to shape {:?}",
            v.shape(),
            shape
        );
    }
    v.broadcast_to(shape)
}

/// An array of zeros.
///
/// ```
/// use rmlx_core::{self as mx, Dtype};
/// assert_eq!(mx::zeros(&[2, 3], Dtype::F32)?.to_vec::<f32>()?, vec![0.0; 6]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn zeros(shape: &[usize], dtype: Dtype) -> Result<Array> {
    Array::scalar_as(0.0, dtype).broadcast_to(shape)
}

/// An array of ones.
pub fn ones(shape: &[usize], dtype: Dtype) -> Result<Array> {
    Array::scalar_as(1.0, dtype).broadcast_to(shape)
}

/// Zeros of `a`'s shape and dtype.
pub fn zeros_like(a: &Array) -> Result<Array> {
    zeros(a.shape(), a.dtype())
}

/// Ones of `a`'s shape and dtype.
pub fn ones_like(a: &Array) -> Result<Array> {
    ones(a.shape(), a.dtype())
}

/// `value` in `a`'s shape, as `dtype` (default: `a`'s dtype).
pub fn full_like(
    a: &Array,
    value: impl FillValue,
    dtype: impl Into<Option<Dtype>>,
) -> Result<Array> {
    full(a.shape(), value, dtype.into().unwrap_or(a.dtype()))
}

fn constant<T: Element>(vals: Vec<T>, shape: &[usize], dtype: Dtype) -> Array {
    let mut buf = Buffer::new(vals.len() * dtype.size());
    // The buffer holds exactly `vals.len()` elements of `T`.
    buf.as_mut_slice::<T>().copy_from_slice(&vals);
    Array::from_data(Data::new(buf, dtype, shape))
}

/// `[start, start + step, …]` up to (excluding) `stop`, as MLX computes it: the length is
/// `ceil((stop - start) / step)` (0 when negative), and values are accumulated in `dtype`
/// (`v[0] = start`, `v[i+1] = v[i] + (T(start + step) - T(start))`).
///
/// ```
/// use rmlx_core::{self as mx, Dtype};
/// assert_eq!(mx::arange(0.0, 5.0, 2.0, Dtype::I32)?.to_vec::<i32>()?, vec![0, 2, 4]);
/// assert_eq!(mx::arange(1.0, 0.0, -0.25, Dtype::F32)?.to_vec::<f32>()?, vec![1.0, 0.75, 0.5, 0.25]);
/// assert!(mx::arange(0.0, 1.0, 0.0, Dtype::F32).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn arange(start: f64, stop: f64, step: f64, dtype: Dtype) -> Result<Array> {
    if dtype == Dtype::Bool {
        bail!(Dtype, "arange: cannot use the bool dtype");
    }
    if step == 0.0 || !start.is_finite() || !stop.is_finite() || !step.is_finite() {
        bail!(
            Value,
            "arange: cannot compute the length of a range from {start} to {stop} with step {step}"
        );
    }
    let real = ((stop - start) / step).ceil();
    if real > i32::MAX as f64 {
        bail!(
            Value,
            "arange: the range from {start} to {stop} with step {step} is too long"
        );
    }
    let n = real.max(0.0) as usize;
    Ok(crate::dispatch_all!(dtype, T => {
        let first = <T as Element>::from_f64(start);
        let inc = <T as Arith>::sub(<T as Element>::from_f64(start + step), first);
        let mut vals = reserve::<T>("arange", n)?;
        let mut v = first;
        for _ in 0..n {
            vals.push(v);
            v = <T as Arith>::add(v, inc);
        }
        constant(vals, &[n], dtype)
    }, complex => bail!(Dtype, "[arange] Not supported for complex64.")))
}

/// `num` evenly spaced values from `start` to `stop` (both included), computed in float32 as
/// MLX does (`(1 - t) * start + t * stop`, `t = i / (num - 1)`), then converted to `dtype`.
///
/// ```
/// use rmlx_core::{self as mx, Dtype};
/// assert_eq!(mx::linspace(0.0, 1.0, 5, Dtype::F32)?.to_vec::<f32>()?, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn linspace(start: f64, stop: f64, num: usize, dtype: Dtype) -> Result<Array> {
    let (s, e) = (start as f32, stop as f32);
    let mut vals: Vec<f32> = reserve("linspace", num)?;
    if num == 1 {
        vals.push(s);
    } else if num > 1 {
        let d = (num - 1) as f32;
        vals.extend((0..num).map(|i| {
            let t = i as f32 / d;
            (1.0 - t) * s + t * e
        }));
    }
    constant(vals, &[num], Dtype::F32).astype(dtype)
}

/// An empty vector with room for `n` values of `T`, or an error naming `op` when the machine
/// cannot hold them (instead of the process aborting).
pub(crate) fn reserve<T>(op: &str, n: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    if v.try_reserve_exact(n).is_err() {
        bail!(
            Value,
            "{op}: cannot allocate {n} elements of {} bytes: not enough memory",
            std::mem::size_of::<T>()
        );
    }
    Ok(v)
}

fn mask_matrix(n: usize, m: usize, dtype: Dtype, keep: impl Fn(isize) -> bool) -> Result<Array> {
    let Some(total) = n.checked_mul(m) else {
        bail!(
            Value,
            "eye/tri: a {n} x {m} matrix has more elements than this machine can address"
        );
    };
    Ok(crate::dispatch_all!(dtype, T => {
        let one = <T as Element>::from_f64(1.0);
        let zero = <T as Element>::from_f64(0.0);
        let mut vals = reserve::<T>("eye/tri", total)?;
        for i in 0..n {
            for j in 0..m {
                vals.push(if keep(j as isize - i as isize) { one } else { zero });
            }
        }
        constant(vals, &[n, m], dtype)
    }))
}

/// An `n × m` (default `n × n`) matrix with ones on diagonal `k` (`k > 0` above the main one).
///
/// ```
/// use rmlx_core::{self as mx, Dtype};
/// assert_eq!(mx::eye(2, Some(3), 1, Dtype::I32)?.to_vec::<i32>()?, vec![0, 1, 0, 0, 0, 1]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn eye(n: usize, m: Option<usize>, k: isize, dtype: Dtype) -> Result<Array> {
    mask_matrix(n, m.unwrap_or(n), dtype, |d| d == k)
}

/// The `n × n` identity matrix.
pub fn identity(n: usize, dtype: Dtype) -> Result<Array> {
    eye(n, None, 0, dtype)
}

/// An `n × m` (default `n × n`) matrix with ones at and below diagonal `k`, zeros above.
///
/// ```
/// use rmlx_core::{self as mx, Dtype};
/// assert_eq!(mx::tri(2, None, 0, Dtype::F32)?.to_vec::<f32>()?, vec![1.0, 0.0, 1.0, 1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn tri(n: usize, m: Option<usize>, k: isize, dtype: Dtype) -> Result<Array> {
    mask_matrix(n, m.unwrap_or(n), dtype, |d| d <= k)
}

pub(crate) fn tri_mask(x: &Array, k: isize, upper: bool) -> Result<Array> {
    let name = if upper { "triu" } else { "tril" };
    if x.ndim() < 2 {
        bail!(
            Shape,
            "{name}: array must be at least 2-D, got shape {:?}",
            x.shape()
        );
    }
    Ok(Array::from_primitive(
        x.shape().to_vec(),
        x.dtype(),
        Arc::new(TriMask { k, upper }),
        vec![x.clone()],
    ))
}

/// Zeroes the elements above diagonal `k` of the last two axes.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[1i32, 2, 3, 4], &[2, 2])?;
/// assert_eq!(mx::tril(&x, 0)?.to_vec::<i32>()?, vec![1, 0, 3, 4]);
/// assert_eq!(mx::triu(&x, 0)?.to_vec::<i32>()?, vec![1, 2, 0, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn tril(x: &Array, k: isize) -> Result<Array> {
    tri_mask(x, k, false)
}

/// Zeroes the elements below diagonal `k` of the last two axes.
pub fn triu(x: &Array, k: isize) -> Result<Array> {
    tri_mask(x, k, true)
}

impl Array {
    /// Zeroes the elements above diagonal `k`; see [`tril`].
    pub fn tril(&self, k: isize) -> Result<Array> {
        tril(self, k)
    }

    /// Zeroes the elements below diagonal `k`; see [`triu`].
    pub fn triu(&self, k: isize) -> Result<Array> {
        triu(self, k)
    }
}
