//! Shape ops: views (broadcast_to, transpose, slice, expand_dims, squeeze, reshape of contiguous
//! data) and copies (concatenate, pad, repeat, tile…).

use std::sync::Arc;

use super::broadcast_shapes;
use crate::primitives::shape::{Broadcast, Reshape, Transpose};
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
        if known == 0 || size % known != 0 {
            bail!(
                Shape,
                "{op}: cannot infer the size of dimension {i} reshaping {from:?} to {dims:?}"
            );
        }
        out[i] = size / known;
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
    let shape = perm.iter().map(|&p| a.shape()[p]).collect();
    Ok(Array::from_primitive(
        shape,
        a.dtype(),
        Arc::new(Transpose { perm }),
        vec![a.clone()],
    ))
}
