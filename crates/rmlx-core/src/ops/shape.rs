//! Shape ops: views (broadcast_to, transpose, slice, expand_dims, squeeze, reshape of contiguous
//! data) and copies (concatenate, pad, repeat, tile…).

use std::sync::Arc;

use super::{broadcast_shapes, Axes};
use crate::checked::Checked;
use crate::primitives::shape::{AsStrided, Broadcast, Contiguous, Reshape, Transpose};
use crate::{bail, Array, Result};

impl Array {
    /// Broadcasts to `shape` with numpy's rules: a view, no copy.
    ///
    /// ```
    /// use rmlx_core::Array;
    /// let a = Array::from_slice(&[1.0f32, 2.0], &[2])?;
    /// assert_eq!(a.broadcast_to(&[3, 2])?.to_vec::<f32>()?, vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
    /// # Ok::<(), rmlx_core::Error>(())
    /// ```
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Array> {
        broadcast_to(self, shape)
    }
}

/// Broadcasts `a` to `shape`; see [`Array::broadcast_to`].
pub fn broadcast_to(a: &Array, shape: &[usize]) -> Result<Array> {
    if a.shape() == shape {
        return Ok(a.clone());
    }
    if shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .is_none()
    {
        bail!(
            Shape,
            "broadcast_to: shape {shape:?} has more elements than this machine can count"
        );
    }
    let b = broadcast_shapes("broadcast_to", a.shape(), shape)?;
    if b != shape {
        bail!(
            Shape,
            "broadcast_to: cannot broadcast array of shape {:?} to shape {:?}",
            a.shape(),
            shape
        );
    }
    Ok(Array::from_primitive(
        shape.to_vec(),
        a.dtype(),
        Arc::new(Broadcast {
            shape: shape.to_vec(),
        }),
        vec![a.clone()],
    ))
}

/// Shapes accepted by [`Array::reshape`]: `&[usize]`, or lists of `i32`/`isize` where one entry
/// may be `-1` (inferred), as arrays, slices or `Vec`s.
pub trait ShapeLike {
    /// The entries as `isize` (`-1` = infer).
    fn to_dims(&self) -> Vec<isize>;
}

macro_rules! impl_shape_like {
    ($($t:ty),*) => {$(
        impl ShapeLike for &[$t] {
            fn to_dims(&self) -> Vec<isize> { self.iter().map(|&d| d as isize).collect() }
        }
        impl ShapeLike for Vec<$t> {
            fn to_dims(&self) -> Vec<isize> { self.iter().map(|&d| d as isize).collect() }
        }
        impl ShapeLike for &Vec<$t> {
            fn to_dims(&self) -> Vec<isize> { self.iter().map(|&d| d as isize).collect() }
        }
        impl<const N: usize> ShapeLike for [$t; N] {
            fn to_dims(&self) -> Vec<isize> { self.iter().map(|&d| d as isize).collect() }
        }
        impl<const N: usize> ShapeLike for &[$t; N] {
            fn to_dims(&self) -> Vec<isize> { self.iter().map(|&d| d as isize).collect() }
        }
    )*};
}
impl_shape_like!(usize, isize, i32);

/// Resolves a shape with at most one `-1` for `size` elements.
pub fn infer_shape(op: &str, from: &[usize], dims: &[isize]) -> Result<Vec<usize>> {
    let size: usize = from.iter().product();
    let mut infer = None;
    let mut known = 1usize;
    for (i, &d) in dims.iter().enumerate() {
        if d == -1 {
            if infer.is_some() {
                bail!(
                    Shape,
                    "{op}: can only infer one dimension, got shape {dims:?}"
                );
            }
            infer = Some(i);
        } else if d < 0 {
            bail!(Shape, "{op}: invalid dimension {d} in shape {dims:?}");
        } else {
            known *= d as usize;
        }
    }
    let mut out: Vec<usize> = dims.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(i) = infer {
        if known == 0 || !size.is_multiple_of(known) {
            bail!(
                Shape,
                "{op}: cannot infer the size of dimension {i} reshaping {from:?} to {dims:?}"
            );
        }
        *out.at_mut(i)? = size / known;
    } else if known != size {
        bail!(
            Shape,
            "{op}: cannot reshape array of size {size} (shape {from:?}) into shape {dims:?}"
        );
    }
    Ok(out)
}

impl Array {
    /// Row-major reshape; one entry may be `-1`. A view when the data is contiguous.
    ///
    /// ```
    /// use rmlx_core::Array;
    /// let a = Array::from_slice(&[1i32, 2, 3, 4, 5, 6], &[2, 3])?;
    /// assert_eq!(a.reshape([3, -1])?.shape(), &[3, 2]);
    /// assert!(a.reshape([4, 2]).is_err());
    /// # Ok::<(), rmlx_core::Error>(())
    /// ```
    pub fn reshape(&self, shape: impl ShapeLike) -> Result<Array> {
        reshape(self, shape)
    }

    /// Permutes the axes (`perm[i]` = input axis of output axis `i`, negative allowed). A view.
    pub fn transpose_axes(&self, perm: &[usize]) -> Result<Array> {
        let p: Vec<isize> = perm.iter().map(|&p| p as isize).collect();
        transpose(self, Some(&p))
    }

    /// Reverses the axes (`x.T` in MLX). A view.
    pub fn t(&self) -> Result<Array> {
        transpose(self, None)
    }
}

/// Reshapes `a`; see [`Array::reshape`].
pub fn reshape(a: &Array, shape: impl ShapeLike) -> Result<Array> {
    let shape = infer_shape("reshape", a.shape(), &shape.to_dims())?;
    if shape == a.shape() {
        return Ok(a.clone());
    }
    Ok(Array::from_primitive(
        shape.clone(),
        a.dtype(),
        Arc::new(Reshape { shape }),
        vec![a.clone()],
    ))
}

/// Permutes the axes of `a` (`None` reverses them). A view.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[1i32, 2, 3, 4, 5, 6], &[2, 3])?;
/// let t = mx::transpose(&a, None)?;
/// assert_eq!(t.shape(), &[3, 2]);
/// assert_eq!(t.to_vec::<i32>()?, vec![1, 4, 2, 5, 3, 6]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn transpose(a: &Array, axes: Option<&[isize]>) -> Result<Array> {
    let nd = a.ndim();
    let perm: Vec<usize> = match axes {
        None => (0..nd).rev().collect(),
        Some(ax) => {
            if ax.len() != nd {
                bail!(
                    Axis,
                    "transpose: received {} axes for array with {} dimensions",
                    ax.len(),
                    nd
                );
            }
            super::normalize_axes("transpose", ax, nd)?
        }
    };
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        return Ok(a.clone());
    }
    let shape = a.shape().pick(&perm)?;
    Ok(Array::from_primitive(
        shape,
        a.dtype(),
        Arc::new(Transpose { perm }),
        vec![a.clone()],
    ))
}

/// Merges axes `start_axis..=end_axis` into one (negative axes count from the end). A 0-d array
/// becomes shape `[1]`. A view when the merged axes are contiguous with each other.
///
/// ```
/// use rmlx_core::{self as mx, Dtype};
/// let x = mx::zeros(&[2, 3, 4], Dtype::F32)?;
/// assert_eq!(x.flatten(0, -1)?.shape(), &[24]);
/// assert_eq!(x.flatten(1, 2)?.shape(), &[2, 12]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn flatten(a: &Array, start_axis: isize, end_axis: isize) -> Result<Array> {
    if a.ndim() == 0 {
        return a.reshape([1usize]);
    }
    let s = super::normalize_axis("flatten", start_axis, a.ndim())?;
    let e = super::normalize_axis("flatten", end_axis, a.ndim())?;
    if s > e {
        bail!(
            Axis,
            "flatten: start axis {start_axis} must come before end axis {end_axis}"
        );
    }
    let mut shape = a.shape().span(..s)?.to_vec();
    shape.push(a.shape().span(s..=e)?.iter().product());
    shape.extend_from_slice(a.shape().span(e + 1..)?);
    a.reshape(shape)
}

/// Splits `axis` into `shape` (one entry may be `-1`).
///
/// ```
/// use rmlx_core::{self as mx, Dtype};
/// let x = mx::zeros(&[2, 12], Dtype::F32)?;
/// assert_eq!(x.unflatten(-1, [3, -1])?.shape(), &[2, 3, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn unflatten(a: &Array, axis: isize, shape: impl ShapeLike) -> Result<Array> {
    let ax = super::normalize_axis("unflatten", axis, a.ndim())?;
    let dims = shape.to_dims();
    if dims.is_empty() {
        bail!(Shape, "unflatten: the new shape must not be empty");
    }
    let inner = infer_shape("unflatten", a.shape().span(ax..=ax)?, &dims)?;
    let mut out = a.shape().span(..ax)?.to_vec();
    out.extend(inner);
    out.extend_from_slice(a.shape().span(ax + 1..)?);
    a.reshape(out)
}

/// Exchanges two axes. A view.
pub fn swapaxes(a: &Array, axis1: isize, axis2: isize) -> Result<Array> {
    let i = super::normalize_axis("swapaxes", axis1, a.ndim())?;
    let j = super::normalize_axis("swapaxes", axis2, a.ndim())?;
    let mut perm: Vec<usize> = (0..a.ndim()).collect();
    perm.swap(i, j);
    a.transpose_axes(&perm)
}

/// Moves axis `source` to position `destination`, keeping the others in order. A view.
///
/// ```
/// use rmlx_core::{self as mx, Dtype};
/// let x = mx::zeros(&[2, 3, 4], Dtype::F32)?;
/// assert_eq!(mx::moveaxis(&x, 0, -1)?.shape(), &[3, 4, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn moveaxis(a: &Array, source: isize, destination: isize) -> Result<Array> {
    let s = super::normalize_axis("moveaxis", source, a.ndim())?;
    let d = super::normalize_axis("moveaxis", destination, a.ndim())?;
    let mut perm: Vec<usize> = (0..a.ndim()).filter(|&i| i != s).collect();
    perm.insert(d, s);
    a.transpose_axes(&perm)
}

/// Inserts size-1 axes at `axes` (positions in the output, negative allowed). A view.
///
/// ```
/// use rmlx_core::{self as mx, Dtype};
/// let x = mx::zeros(&[2, 3], Dtype::F32)?;
/// assert_eq!(x.expand_dims([0, -1])?.shape(), &[1, 2, 3, 1]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn expand_dims(a: &Array, axes: impl Into<Axes>) -> Result<Array> {
    let Axes::List(axes) = axes.into() else {
        bail!(Axis, "expand_dims: the axes must be given");
    };
    let nd = a.ndim() + axes.len();
    let mut ax = super::normalize_axes("expand_dims", &axes, nd)?;
    ax.sort_unstable();
    let mut shape = Vec::with_capacity(nd);
    let mut src = a.shape().iter();
    for i in 0..nd {
        if ax.contains(&i) {
            shape.push(1);
        } else if let Some(&d) = src.next() {
            shape.push(d);
        }
    }
    a.reshape(shape)
}

/// Removes size-1 axes: the given ones (each must have size 1), or all with `None`. A view.
///
/// ```
/// use rmlx_core::{self as mx, Dtype};
/// let x = mx::zeros(&[1, 3, 1], Dtype::F32)?;
/// assert_eq!(x.squeeze(None)?.shape(), &[3]);
/// assert_eq!(x.squeeze(0)?.shape(), &[3, 1]);
/// assert!(x.squeeze(1).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn squeeze(a: &Array, axes: impl Into<Axes>) -> Result<Array> {
    let axes = match axes.into() {
        Axes::All => a
            .shape()
            .iter()
            .enumerate()
            .filter(|(_, &d)| d == 1)
            .map(|(i, _)| i)
            .collect(),
        Axes::List(v) => {
            let ax = super::normalize_axes("squeeze", &v, a.ndim())?;
            for &i in &ax {
                if *a.shape().at(i)? != 1 {
                    bail!(
                        Shape,
                        "squeeze: cannot squeeze axis {i} with size {} which is not 1",
                        *a.shape().at(i)?
                    );
                }
            }
            ax
        }
    };
    let shape = a.shape().omit(&axes);
    a.reshape(shape)
}

impl Array {
    /// Merges axes `start_axis..=end_axis`; see [`flatten`].
    pub fn flatten(&self, start_axis: isize, end_axis: isize) -> Result<Array> {
        flatten(self, start_axis, end_axis)
    }

    /// Splits `axis` into `shape`; see [`unflatten`].
    pub fn unflatten(&self, axis: isize, shape: impl ShapeLike) -> Result<Array> {
        unflatten(self, axis, shape)
    }

    /// Exchanges two axes; see [`swapaxes`].
    pub fn swapaxes(&self, axis1: isize, axis2: isize) -> Result<Array> {
        swapaxes(self, axis1, axis2)
    }

    /// Moves an axis; see [`moveaxis`].
    pub fn moveaxis(&self, source: isize, destination: isize) -> Result<Array> {
        moveaxis(self, source, destination)
    }

    /// Inserts size-1 axes; see [`expand_dims`].
    pub fn expand_dims(&self, axes: impl Into<Axes>) -> Result<Array> {
        expand_dims(self, axes)
    }

    /// Removes size-1 axes; see [`squeeze`].
    pub fn squeeze(&self, axes: impl Into<Axes>) -> Result<Array> {
        squeeze(self, axes)
    }
}

/// `a` laid out row-contiguously, copied only when it is not already (MLX's `mx.contiguous`); with
/// `allow_col_major` a column-major array is left as it is too. The values never change; this
/// controls the memory layout a later consumer reads.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
/// let t = mx::contiguous(&x.t()?, false)?;
/// assert!(t.data()?.is_contiguous());
/// assert_eq!(t.to_vec::<f32>()?, vec![1.0, 3.0, 2.0, 4.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn contiguous(a: &Array, allow_col_major: bool) -> Result<Array> {
    Ok(Array::from_primitive(
        a.shape().to_vec(),
        a.dtype(),
        Arc::new(Contiguous { allow_col_major }),
        vec![a.clone()],
    ))
}

/// A view of `a`'s elements (taken in row-major order, whatever `a`'s own layout) with the given
/// `shape`, `strides` and `offset`, counted in elements (MLX's `mx.as_strided`). A view that
/// reaches outside `a`'s elements is an error when it is evaluated. Differentiable: the gradient
/// adds each output's cotangent to the element it views.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = mx::arange(0.0, 6.0, 1.0, mx::Dtype::F32)?;
/// // overlapping windows of 3, one step apart
/// let w = mx::as_strided(&x, &[4, 3], &[1, 1], 0)?;
/// assert_eq!(w.to_vec::<f32>()?, vec![0., 1., 2., 1., 2., 3., 2., 3., 4., 3., 4., 5.]);
/// assert!(mx::as_strided(&x, &[4, 3], &[2, 1], 0)?.eval().is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn as_strided(a: &Array, shape: &[usize], strides: &[isize], offset: usize) -> Result<Array> {
    if shape.len() != strides.len() {
        bail!(
            Shape,
            "as_strided: {} strides for a shape of {} axes ({shape:?})",
            strides.len(),
            shape.len()
        );
    }
    Ok(Array::from_primitive(
        shape.to_vec(),
        a.dtype(),
        Arc::new(AsStrided {
            shape: shape.to_vec(),
            strides: strides.to_vec(),
            offset,
        }),
        vec![flatten(a, 0, -1)?],
    ))
}
