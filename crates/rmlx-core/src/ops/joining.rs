//! Ops that join or grow arrays (copies): `concatenate`, `stack`, `pad`, `repeat`, `tile`.

use std::sync::Arc;

use super::creation::{full, FillValue};
use super::normalize_axis;
use super::slicing::{slice, slice_update_raw, SliceArg};
use crate::checked::Checked;
use crate::primitives::slicing::Concatenate;
use crate::{bail, Array, Dtype, Result};

/// Joins `arrays` along `axis`; shapes must match on the other axes, dtypes are promoted.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[1i32, 2], &[1, 2])?;
/// let b = Array::from_slice(&[3i32, 4, 5, 6], &[2, 2])?;
/// let c = mx::concatenate(&[a, b], 0)?;
/// assert_eq!(c.shape(), &[3, 2]);
/// assert_eq!(c.to_vec::<i32>()?, vec![1, 2, 3, 4, 5, 6]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn concatenate(arrays: &[Array], axis: isize) -> Result<Array> {
    let Some(first) = arrays.first() else {
        bail!(Value, "concatenate: no arrays provided for concatenation");
    };
    let nd = first.ndim();
    let ax = normalize_axis("concatenate", axis, nd)?;
    let mut shape = first.shape().to_vec();
    *shape.at_mut(ax)? = 0;
    let mut dtype = first.dtype();
    for a in arrays {
        if a.ndim() != nd {
            bail!(
                Shape,
                "concatenate: all the input arrays must have the same number of dimensions, got \
                 shapes {:?} and {:?}",
                first.shape(),
                a.shape()
            );
        }
        for d in 0..nd {
            if d != ax && *a.shape().at(d)? != *first.shape().at(d)? {
                bail!(
                    Shape,
                    "concatenate: all the input array dimensions except axis {ax} must match \
                     exactly, got shapes {:?} and {:?}",
                    first.shape(),
                    a.shape()
                );
            }
        }
        *shape.at_mut(ax)? += *a.shape().at(ax)?;
        dtype = Dtype::promote(dtype, a.dtype());
    }
    if arrays.len() == 1 {
        return first.astype(dtype);
    }
    let inputs = arrays
        .iter()
        .map(|a| a.astype(dtype))
        .collect::<Result<Vec<_>>>()?;
    Ok(Array::from_primitive(
        shape,
        dtype,
        Arc::new(Concatenate { axis: ax }),
        inputs,
    ))
}

/// Joins same-shaped `arrays` along a new axis `axis` (of the output).
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[1i32, 2], &[2])?;
/// let b = Array::from_slice(&[3i32, 4], &[2])?;
/// assert_eq!(mx::stack(&[a.clone(), b.clone()], 0)?.to_vec::<i32>()?, vec![1, 2, 3, 4]);
/// assert_eq!(mx::stack(&[a, b], -1)?.to_vec::<i32>()?, vec![1, 3, 2, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn stack(arrays: &[Array], axis: isize) -> Result<Array> {
    let Some(first) = arrays.first() else {
        bail!(Value, "stack: no arrays provided for stacking");
    };
    let ax = normalize_axis("stack", axis, first.ndim() + 1)?;
    let parts = arrays
        .iter()
        .map(|a| {
            if a.shape() != first.shape() {
                bail!(
                    Shape,
                    "stack: all arrays must have the same shape, got {:?} and {:?}",
                    first.shape(),
                    a.shape()
                );
            }
            a.expand_dims(ax as isize)
        })
        .collect::<Result<Vec<_>>>()?;
    concatenate(&parts, ax as isize)
}

fn pad_widths(op: &str, a: &Array, widths: &[(usize, usize)]) -> Result<Vec<(usize, usize)>> {
    match widths.len() {
        1 => Ok(vec![*widths.at(0)?; a.ndim()]),
        n if n == a.ndim() => Ok(widths.to_vec()),
        n => bail!(
            Shape,
            "{op}: got {n} pad widths for an array of dimension {} (give 1 or {})",
            a.ndim(),
            a.ndim()
        ),
    }
}

/// Pads each axis with `widths[i] = (before, after)` elements of the constant `value` (cast to
/// `a`'s dtype); one pair pads every axis. MLX's `pad` in `"constant"` mode. The vjp slices.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[1i32, 2], &[1, 2])?;
/// let p = mx::pad(&a, &[(0, 1), (1, 0)], 9i32)?;
/// assert_eq!(p.shape(), &[2, 3]);
/// assert_eq!(p.to_vec::<i32>()?, vec![9, 1, 2, 9, 9, 9]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn pad(a: &Array, widths: &[(usize, usize)], value: impl FillValue) -> Result<Array> {
    let w = pad_widths("pad", a, widths)?;
    let v = value.into_fill();
    if v.size() != 1 {
        bail!(
            Shape,
            "pad: the pad value must be a scalar, got shape {:?}",
            v.shape()
        );
    }
    let v = v.reshape([0usize; 0])?;
    let shape: Vec<usize> = a
        .shape()
        .iter()
        .zip(&w)
        .map(|(&d, &(lo, hi))| d + lo + hi)
        .collect();
    if shape == a.shape() {
        return Ok(a.clone());
    }
    let base = full(&shape, &v, a.dtype())?;
    let starts: Vec<usize> = w.iter().map(|&(lo, _)| lo).collect();
    slice_update_raw(&base, a, &starts, &vec![1; a.ndim()])
}

/// Pads each axis by repeating its edge elements (MLX's `"edge"` mode); see [`pad`].
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[1i32, 2], &[2])?;
/// assert_eq!(mx::pad_edge(&a, &[(2, 1)])?.to_vec::<i32>()?, vec![1, 1, 1, 2, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn pad_edge(a: &Array, widths: &[(usize, usize)]) -> Result<Array> {
    let w = pad_widths("pad", a, widths)?;
    let mut x = a.clone();
    for (ax, &(lo, hi)) in w.iter().enumerate() {
        if lo == 0 && hi == 0 {
            continue;
        }
        let n = *x.shape().at(ax)?;
        if n == 0 {
            bail!(
                Shape,
                "pad: cannot edge-pad axis {ax} of size 0 (shape {:?})",
                a.shape()
            );
        }
        let mut parts = Vec::with_capacity(3);
        let edge = |start: isize, len: usize| -> Result<Array> {
            let mut args = vec![SliceArg::all(); ax + 1];
            *args.at_mut(ax)? = SliceArg::new(Some(start), Some(start + 1), 1);
            let e = slice(&x, &args)?;
            let mut shape = e.shape().to_vec();
            *shape.at_mut(ax)? = len;
            e.broadcast_to(&shape)
        };
        if lo > 0 {
            parts.push(edge(0, lo)?);
        }
        parts.push(x.clone());
        if hi > 0 {
            parts.push(edge(n as isize - 1, hi)?);
        }
        x = concatenate(&parts, ax as isize)?;
    }
    Ok(x)
}

/// Repeats each element `repeats` times along `axis` (`None`: of the flattened array), as
/// `mx.repeat`.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[1i32, 2, 3, 4], &[2, 2])?;
/// assert_eq!(mx::repeat(&a, 2, Some(1))?.to_vec::<i32>()?, vec![1, 1, 2, 2, 3, 3, 4, 4]);
/// assert_eq!(mx::repeat(&a, 2, None)?.shape(), &[8]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn repeat(a: &Array, repeats: usize, axis: Option<isize>) -> Result<Array> {
    let (x, ax) = match axis {
        None => (a.reshape([-1])?, 0),
        Some(ax) => (a.clone(), normalize_axis("repeat", ax, a.ndim())?),
    };
    let e = x.expand_dims((ax + 1) as isize)?;
    let mut b = e.shape().to_vec();
    *b.at_mut(ax + 1)? = repeats;
    let mut out = x.shape().to_vec();
    *out.at_mut(ax)? *= repeats;
    e.broadcast_to(&b)?.reshape(out)
}

/// Repeats the whole array `reps[i]` times along each axis (numpy's `tile`: the shorter of
/// `a.shape` and `reps` is padded with leading 1s).
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[1i32, 2], &[2])?;
/// assert_eq!(mx::tile(&a, &[2, 2])?.to_vec::<i32>()?, vec![1, 2, 1, 2, 1, 2, 1, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn tile(a: &Array, reps: &[usize]) -> Result<Array> {
    let nd = a.ndim().max(reps.len());
    let mut shape = vec![1usize; nd - a.ndim()];
    shape.extend_from_slice(a.shape());
    let mut r = vec![1usize; nd - reps.len()];
    r.extend_from_slice(reps);
    let inter: Vec<usize> = shape.iter().flat_map(|&d| [1, d]).collect();
    let big: Vec<usize> = shape.iter().zip(&r).flat_map(|(&d, &k)| [k, d]).collect();
    let out: Vec<usize> = shape.iter().zip(&r).map(|(&d, &k)| d * k).collect();
    a.reshape(inter)?.broadcast_to(&big)?.reshape(out)
}

impl Array {
    /// Pads with a constant; see [`pad`].
    pub fn pad(&self, widths: &[(usize, usize)], value: impl FillValue) -> Result<Array> {
        pad(self, widths, value)
    }

    /// Repeats each element; see [`repeat`].
    pub fn repeat(&self, repeats: usize, axis: Option<isize>) -> Result<Array> {
        repeat(self, repeats, axis)
    }

    /// Repeats the whole array; see [`tile`].
    pub fn tile(&self, reps: &[usize]) -> Result<Array> {
        tile(self, reps)
    }
}
