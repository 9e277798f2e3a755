//! Integer-array indexing along one axis: `take`, `take_along_axis`, `put_along_axis`.
//!
//! Indices may have any integer dtype; negative indices count from the end of the axis. An index
//! outside `[-n, n)` makes evaluation fail with [`Error::Index`](crate::Error::Index) naming the
//! index and the axis length (nothing is read out of bounds).

use std::sync::Arc;

use super::normalize_axis;
use crate::checked::Checked;
use crate::primitives::indexing::{Gather, IndexKind, Scatter};
use crate::{bail, Array, Dtype, Result};

fn check_indices(op: &str, idx: &Array) -> Result<()> {
    if !idx.dtype().is_int() {
        bail!(Dtype, "{op}: indices must be integers, got {}", idx.dtype());
    }
    Ok(())
}

/// The shape a gather of `shape` by indices of `idx_shape` walks (its output shape).
fn walk_shape(
    op: &str,
    kind: IndexKind,
    axis: usize,
    shape: &[usize],
    idx_shape: &[usize],
) -> Result<Vec<usize>> {
    match kind {
        IndexKind::Take => {
            let mut out = shape.span(..axis)?.to_vec();
            out.extend_from_slice(idx_shape);
            out.extend_from_slice(shape.span(axis + 1..)?);
            Ok(out)
        }
        IndexKind::AlongAxis => {
            if idx_shape.len() != shape.len() {
                bail!(
                    Shape,
                    "{op}: indices of dimension {} do not match array of dimension {}",
                    idx_shape.len(),
                    shape.len()
                );
            }
            shape
                .iter()
                .zip(idx_shape)
                .enumerate()
                .map(|(d, (&a, &i))| match (d == axis, a, i) {
                    (true, _, i) => Ok(i),
                    (false, a, i) if a == i || i == 1 => Ok(a),
                    (false, 1, i) => Ok(i),
                    _ => bail!(
                        Shape,
                        "{op}: indices of shape {idx_shape:?} cannot be broadcast with array of \
                         shape {shape:?} (except along axis {axis})"
                    ),
                })
                .collect()
        }
    }
}

/// Builds a `Gather` node (`axis` non-negative).
pub(crate) fn gather_raw(a: &Array, idx: &Array, kind: IndexKind, axis: usize) -> Result<Array> {
    let op = match kind {
        IndexKind::Take => "take",
        IndexKind::AlongAxis => "take_along_axis",
    };
    check_indices(op, idx)?;
    let shape = walk_shape(op, kind, axis, a.shape(), idx.shape())?;
    Ok(Array::from_primitive(
        shape,
        a.dtype(),
        Arc::new(Gather { kind, axis }),
        vec![a.clone(), idx.clone()],
    ))
}

/// Builds a `Scatter` node: `updates` is cast to `base`'s dtype and broadcast to the walk shape.
pub(crate) fn scatter_raw(
    base: &Array,
    idx: &Array,
    updates: &Array,
    kind: IndexKind,
    axis: usize,
    add: bool,
) -> Result<Array> {
    let op = if add { "scatter_add" } else { "put_along_axis" };
    check_indices(op, idx)?;
    let walk = walk_shape(op, kind, axis, base.shape(), idx.shape())?;
    let b = super::broadcast_shapes(op, updates.shape(), &walk)?;
    if b != walk {
        bail!(
            Shape,
            "{op}: values of shape {:?} cannot be broadcast to the indexed shape {walk:?}",
            updates.shape()
        );
    }
    let upd = updates.astype(base.dtype())?.broadcast_to(&walk)?;
    Ok(Array::from_primitive(
        base.shape().to_vec(),
        base.dtype(),
        Arc::new(Scatter { kind, axis, add }),
        vec![base.clone(), idx.clone(), upd],
    ))
}

/// Picks elements of `a` at `indices` along `axis`: the output shape is
/// `a.shape[..axis] + indices.shape + a.shape[axis+1..]`. With `axis = None`, `a` is flattened
/// first and the output has the indices' shape. The vjp scatter-adds (repeated indices
/// accumulate); the indices get no gradient.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[10i32, 11, 12, 20, 21, 22], &[2, 3])?;
/// let i = Array::from_slice(&[2i32, -3], &[2])?;
/// assert_eq!(mx::take(&a, &i, Some(1))?.to_vec::<i32>()?, vec![12, 10, 22, 20]);
/// assert_eq!(mx::take(&a, &i, None)?.to_vec::<i32>()?, vec![12, 20]);
/// let bad = Array::from_slice(&[6i32], &[1])?;
/// assert!(mx::take(&a, &bad, None)?.eval().is_err()); // index 6, size 6
/// # Ok::<(), mx::Error>(())
/// ```
pub fn take(a: &Array, indices: &Array, axis: Option<isize>) -> Result<Array> {
    match axis {
        None => gather_raw(&a.reshape([-1])?, indices, IndexKind::Take, 0),
        Some(ax) => {
            let ax = normalize_axis("take", ax, a.ndim())?;
            gather_raw(a, indices, IndexKind::Take, ax)
        }
    }
}

/// Picks, along `axis`, the elements of `a` at `indices`, which has `a`'s rank and broadcasts
/// with `a` on the other axes (numpy's `take_along_axis`).
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[1.0f32, 5.0, 3.0, 9.0, 2.0, 4.0], &[2, 3])?;
/// let i = Array::from_slice(&[1i64, 0], &[2, 1])?;
/// assert_eq!(mx::take_along_axis(&a, &i, -1)?.to_vec::<f32>()?, vec![5.0, 9.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn take_along_axis(a: &Array, indices: &Array, axis: isize) -> Result<Array> {
    let ax = normalize_axis("take_along_axis", axis, a.ndim())?;
    gather_raw(a, indices, IndexKind::AlongAxis, ax)
}

/// A copy of `a` with `values` written at `indices` along `axis` (the transpose of
/// [`take_along_axis`]; repeated indices: the last write wins). `indices` has `a`'s rank and
/// broadcasts to `a` on the other axes; `values` broadcasts to the indexed shape.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[0i32; 6], &[2, 3])?;
/// let i = Array::from_slice(&[2i32, 0], &[2, 1])?;
/// let v = Array::from_slice(&[7i32], &[1])?;
/// assert_eq!(mx::put_along_axis(&a, &i, &v, 1)?.to_vec::<i32>()?, vec![0, 0, 7, 7, 0, 0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn put_along_axis(a: &Array, indices: &Array, values: &Array, axis: isize) -> Result<Array> {
    let ax = normalize_axis("put_along_axis", axis, a.ndim())?;
    let walk = walk_shape(
        "put_along_axis",
        IndexKind::AlongAxis,
        ax,
        a.shape(),
        indices.shape(),
    )?;
    for (d, (&w, &n)) in walk.iter().zip(a.shape()).enumerate() {
        if d != ax && w != n {
            bail!(
                Shape,
                "put_along_axis: indices of shape {:?} do not fit array of shape {:?}",
                indices.shape(),
                a.shape()
            );
        }
    }
    scatter_raw(a, indices, values, IndexKind::AlongAxis, ax, false)
}

/// Adds `values` into a copy of `a` at `indices` along `axis`, as `take` addresses them
/// (`a.at[idx].add(values)` along one axis): repeated indices accumulate. `values` broadcasts to
/// `a.shape[..axis] + indices.shape + a.shape[axis+1..]`.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[0.0f32; 3], &[3])?;
/// let i = Array::from_slice(&[1i32, 1, 2], &[3])?;
/// let v = Array::from_slice(&[1.0f32], &[1])?;
/// assert_eq!(mx::scatter_add_axis(&a, &i, &v, 0)?.to_vec::<f32>()?, vec![0.0, 2.0, 1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn scatter_add_axis(a: &Array, indices: &Array, values: &Array, axis: isize) -> Result<Array> {
    let ax = normalize_axis("scatter_add_axis", axis, a.ndim())?;
    scatter_raw(a, indices, values, IndexKind::Take, ax, true)
}

impl Array {
    /// Elements at `indices` along `axis` (`None`: of the flattened array); see [`take`].
    pub fn take(&self, indices: &Array, axis: Option<isize>) -> Result<Array> {
        take(self, indices, axis)
    }

    /// Elements at `indices` along `axis`; see [`take_along_axis`].
    pub fn take_along_axis(&self, indices: &Array, axis: isize) -> Result<Array> {
        take_along_axis(self, indices, axis)
    }
}

/// Iterates an array over its first axis (MLX's `ArrayIterator`, `for row in a`): each item is
/// `a[i]`, a lazy array of one dimension less.
#[derive(Debug, Clone)]
pub struct ArrayIterator {
    array: Array,
    next: usize,
}

impl Iterator for ArrayIterator {
    type Item = Result<Array>;

    fn next(&mut self) -> Option<Result<Array>> {
        let n = self.array.shape().first().copied().unwrap_or(0);
        if self.next >= n {
            return None;
        }
        let i = self.next as i64;
        self.next += 1;
        Some(self.array.take(&Array::scalar(i), Some(0)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.array.shape().first().copied().unwrap_or(0);
        let left = n.saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for ArrayIterator {}

impl Array {
    /// An iterator over the first axis (`for row in a` in MLX); a 0-d array is an error.
    ///
    /// ```
    /// use rmlx_core::Array;
    /// let a = Array::from_slice(&[1i32, 2, 3, 4], &[2, 2])?;
    /// let rows: Vec<Vec<i32>> = a.iter()?.map(|r| r?.to_vec::<i32>()).collect::<Result<_, _>>()?;
    /// assert_eq!(rows, vec![vec![1, 2], vec![3, 4]]);
    /// # Ok::<(), rmlx_core::Error>(())
    /// ```
    pub fn iter(&self) -> Result<ArrayIterator> {
        if self.ndim() == 0 {
            bail!(Shape, "iteration over a 0-d array");
        }
        Ok(ArrayIterator {
            array: self.clone(),
            next: 0,
        })
    }
}

/// `x.at[indices]` (MLX's `ArrayAt`): updates of the rows of `x` that `indices` picks along the
/// first axis, where repeated indices all apply (unlike a put, which keeps one). Made by
/// [`Array::at`]; `values` broadcast to `indices.shape + x.shape[1..]`. For a general index
/// (slices, several arrays, new axes) see [`Array::at_index`]: `values` then broadcast to the
/// shape of `x[index]`.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[1.0f32, 1.0, 1.0], &[3])?;
/// let i = Array::from_slice(&[0i32, 0, 2], &[3])?;
/// let v = Array::from_slice(&[2.0f32, 3.0, 5.0], &[3])?;
/// assert_eq!(x.at(&i).add(&v)?.to_vec::<f32>()?, vec![6.0, 1.0, 6.0]);
/// assert_eq!(x.at(&i).multiply(&v)?.to_vec::<f32>()?, vec![6.0, 1.0, 5.0]);
/// assert_eq!(x.at(&i).minimum(&Array::scalar(0.0f32))?.to_vec::<f32>()?, vec![0.0, 1.0, 0.0]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ArrayAt {
    /// The array updated along axis 0 (`x`, or `x` flattened for a general index).
    array: Array,
    indices: Array,
    /// `x`'s shape when `array` is `x` flattened: the result is reshaped back.
    shape: Option<Vec<usize>>,
}

impl Array {
    /// Indexed updates of this array's rows at `indices` (MLX's `x.at[indices]`); see [`ArrayAt`].
    pub fn at(&self, indices: &Array) -> ArrayAt {
        ArrayAt {
            array: self.clone(),
            indices: indices.clone(),
            shape: None,
        }
    }
}

impl ArrayAt {
    /// Updates of `x` at the flat (row-major) positions `ids`.
    pub(crate) fn flat(x: &Array, ids: Array) -> ArrayAt {
        ArrayAt {
            array: x.clone(),
            indices: ids,
            shape: Some(x.shape().to_vec()),
        }
    }

    /// The array updated along axis 0 (`x`, or `x` flattened) and the indices into it.
    fn target(&self) -> Result<(Array, Array)> {
        match &self.shape {
            Some(_) => Ok((self.array.reshape([-1])?, self.indices.clone())),
            None => Ok((self.array.clone(), self.indices.clone())),
        }
    }

    fn finish(&self, out: Array) -> Result<Array> {
        match &self.shape {
            Some(s) => out.reshape(s.as_slice()),
            None => Ok(out),
        }
    }

    fn reduce(
        &self,
        op: crate::primitives::indexing::ScatterReduceOp,
        values: &Array,
    ) -> Result<Array> {
        let (a, indices) = self.target()?;
        if a.ndim() == 0 {
            bail!(Shape, "[at] Cannot index a 0-dimensional array.");
        }
        check_indices("at", &indices)?;
        let walk = walk_shape("at", IndexKind::Take, 0, a.shape(), indices.shape())?;
        let upd = values.astype(a.dtype())?.broadcast_to(&walk)?;
        let out = Array::from_primitive(
            a.shape().to_vec(),
            a.dtype(),
            Arc::new(crate::primitives::indexing::ScatterReduce { op, axis: 0 }),
            vec![a.clone(), indices, upd],
        );
        self.finish(out)
    }

    /// `x[indices] += values`, every repeat adding (differentiable).
    pub fn add(&self, values: &Array) -> Result<Array> {
        let (a, indices) = self.target()?;
        if a.ndim() == 0 {
            bail!(Shape, "[at] Cannot index a 0-dimensional array.");
        }
        self.finish(scatter_raw(&a, &indices, values, IndexKind::Take, 0, true)?)
    }

    /// `x[indices] = values` (one of the repeats wins); [`Array::index_put`] for a general index.
    pub fn set(&self, values: &Array) -> Result<Array> {
        let (a, indices) = self.target()?;
        if a.ndim() == 0 {
            bail!(Shape, "[at] Cannot index a 0-dimensional array.");
        }
        self.finish(scatter_raw(
            &a,
            &indices,
            values,
            IndexKind::Take,
            0,
            false,
        )?)
    }

    /// `x[indices] -= values`, every repeat subtracting.
    pub fn subtract(&self, values: &Array) -> Result<Array> {
        self.add(&values.negative()?)
    }

    /// `x[indices] *= values`, every repeat multiplying.
    pub fn multiply(&self, values: &Array) -> Result<Array> {
        self.reduce(crate::primitives::indexing::ScatterReduceOp::Prod, values)
    }

    /// `x[indices] /= values` (a multiply by the reciprocal, as MLX).
    pub fn divide(&self, values: &Array) -> Result<Array> {
        let d = if self.array.dtype().is_inexact() {
            self.array.dtype()
        } else {
            Dtype::F32
        };
        let at = ArrayAt {
            array: self.array.astype(d)?,
            indices: self.indices.clone(),
            shape: self.shape.clone(),
        };
        at.multiply(&values.astype(d)?.reciprocal()?)
    }

    /// `x[indices] = maximum(x[indices], values)` over every repeat.
    pub fn maximum(&self, values: &Array) -> Result<Array> {
        self.reduce(crate::primitives::indexing::ScatterReduceOp::Max, values)
    }

    /// `x[indices] = minimum(x[indices], values)` over every repeat.
    pub fn minimum(&self, values: &Array) -> Result<Array> {
        self.reduce(crate::primitives::indexing::ScatterReduceOp::Min, values)
    }
}
