//! Small ops MLX offers that compose from others: `degrees`, `radians`, `isposinf`,
//! `isneginf`, `positive`, `matrix_transpose`, `diff`, `minmax`.

use super::{normalize_axis, Axes, SliceArg};
use crate::checked::Checked;
use crate::{bail, Array, Dtype, Result};

/// Radians to degrees (MLX's `mx.degrees`); integers become float32.
///
/// ```
/// use rmlx_core::{self as mx};
/// assert!((mx::degrees(&mx::array(std::f32::consts::PI))?.item::<f32>()? - 180.0).abs() < 1e-4);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn degrees(a: &Array) -> Result<Array> {
    a * (180.0 / std::f64::consts::PI)
}

/// Degrees to radians (MLX's `mx.radians`); integers become float32.
pub fn radians(a: &Array) -> Result<Array> {
    a * (std::f64::consts::PI / 180.0)
}

/// True where `a` is `+inf` (MLX's `mx.isposinf`; false everywhere for integers).
pub fn isposinf(a: &Array) -> Result<Array> {
    super::isinf(a)?.logical_and(&a.greater(&Array::scalar_as(0.0, a.dtype()))?)
}

/// True where `a` is `-inf` (MLX's `mx.isneginf`).
pub fn isneginf(a: &Array) -> Result<Array> {
    super::isinf(a)?.logical_and(&a.less(&Array::scalar_as(0.0, a.dtype()))?)
}

/// Unary plus (MLX's `mx.positive`): `a` itself (arrays are immutable, so no copy is needed).
pub fn positive(a: &Array) -> Result<Array> {
    Ok(a.clone())
}

/// Swaps the last two axes (MLX's `mx.matrix_transpose`).
pub fn matrix_transpose(a: &Array) -> Result<Array> {
    if a.ndim() < 2 {
        bail!(
            Value,
            "[matrix_transpose] Expected an array with at least 2 dimensions, got shape {:?}",
            a.shape()
        );
    }
    a.swapaxes(-2, -1)
}

/// The `n`-th discrete difference along `axis` (MLX's `mx.diff`): `a[1:] - a[:-1]`, `n` times.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[1.0f32, 4.0, 9.0, 16.0], &[4])?;
/// assert_eq!(mx::diff(&a, 1, -1)?.to_vec::<f32>()?, vec![3.0, 5.0, 7.0]);
/// assert_eq!(mx::diff(&a, 2, -1)?.to_vec::<f32>()?, vec![2.0, 2.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn diff(a: &Array, n: usize, axis: isize) -> Result<Array> {
    if a.ndim() == 0 {
        bail!(
            Value,
            "[diff] Cannot take the difference of a 0-dimensional array."
        );
    }
    let ax = normalize_axis("diff", axis, a.ndim())?;
    let mut x = a.clone();
    for _ in 0..n {
        let len = *x.shape().at(ax)?;
        if len == 0 {
            break;
        }
        let mut hi = vec![SliceArg::all(); ax + 1];
        let mut lo = hi.clone();
        *hi.at_mut(ax)? = SliceArg::new(Some(1), None, 1);
        *lo.at_mut(ax)? = SliceArg::new(None, Some(len as isize - 1), 1);
        x = (&super::slice(&x, &hi)? - &super::slice(&x, &lo)?)?;
    }
    Ok(x)
}

/// The minimum and the maximum over `axes` (MLX's `mx.minmax`).
pub fn minmax(a: &Array, axes: impl Into<Axes>, keepdims: bool) -> Result<(Array, Array)> {
    let axes = axes.into();
    Ok((a.min(axes.clone(), keepdims)?, a.max(axes, keepdims)?))
}

/// The Walsh–Hadamard transform along the last axis (MLX's `hadamard_transform`):
/// `(H @ x) * scale` with Sylvester's `H` of size `n = a.shape[-1]`, a power of two, and `scale`
/// defaulting to `1 / sqrt(n)` (so `H` is orthonormal). Computed as `log2(n)` butterflies, so it
/// costs `n log n` per row and is differentiable; integer input gives float32. MLX's other sizes
/// (`12`, `20` or `28` times a power of two) are an error naming the supported ones.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[1.0f32, 0.0, 0.0, 0.0], &[4])?;
/// assert_eq!(mx::hadamard_transform(&x, Some(1.0))?.to_vec::<f32>()?, vec![1.0; 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn hadamard_transform(a: &Array, scale: Option<f64>) -> Result<Array> {
    let a = if a.ndim() == 0 {
        a.reshape([1])?
    } else {
        a.clone()
    };
    let n = *a.shape().at(a.ndim() - 1)?;
    if n == 0 || !n.is_power_of_two() {
        bail!(
            Value,
            "[hadamard_transform] the last axis must have a power-of-two size (MLX's 12, 20 and \
             28 times a power of two are not supported), got {n}"
        );
    }
    let x = if a.dtype().is_float() {
        a.clone()
    } else {
        a.astype(Dtype::F32)?
    };
    let k = n.trailing_zeros() as usize;
    let batch = x.shape().span(..x.ndim() - 1)?.to_vec();
    let mut shape = batch.clone();
    shape.extend(std::iter::repeat_n(2, k));
    let mut y = x.reshape(shape)?;
    let base = batch.len() as isize;
    for i in 0..k as isize {
        let axis = base + i;
        let lo = y.take(&Array::scalar(0i32), Some(axis))?;
        let hi = y.take(&Array::scalar(1i32), Some(axis))?;
        y = crate::ops::stack(&[lo.add(&hi)?, lo.subtract(&hi)?], axis)?;
    }
    let mut out_shape = batch;
    out_shape.push(n);
    let y = y.reshape(out_shape)?;
    let s = scale.unwrap_or(1.0 / (n as f64).sqrt());
    y.multiply(&Array::scalar_as(s, y.dtype()))
}
