//! Small ops MLX offers that compose from others: `degrees`, `radians`, `isposinf`,
//! `isneginf`, `positive`, `matrix_transpose`, `diff`, `minmax`.

use super::{normalize_axis, Axes, SliceArg};
use crate::{bail, Array, Result};

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
        let len = x.shape()[ax];
        if len == 0 {
            break;
        }
        let mut hi = vec![SliceArg::all(); ax + 1];
        let mut lo = hi.clone();
        hi[ax] = SliceArg::new(Some(1), None, 1);
        lo[ax] = SliceArg::new(None, Some(len as isize - 1), 1);
        x = (&super::slice(&x, &hi)? - &super::slice(&x, &lo)?)?;
    }
    Ok(x)
}

/// The minimum and the maximum over `axes` (MLX's `mx.minmax`).
pub fn minmax(a: &Array, axes: impl Into<Axes>, keepdims: bool) -> Result<(Array, Array)> {
    let axes = axes.into();
    Ok((a.min(axes.clone(), keepdims)?, a.max(axes, keepdims)?))
}
