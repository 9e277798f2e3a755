//! General indexing as MLX (and numpy) users write it: `x[1:, idx, None, ...]` is
//! `x.index(idx![1.., &idx, None, ...])`. An index is a list of [`Index`] entries: integers,
//! slices, index arrays, new axes and one ellipsis, in any combination; [`Array::index_put`] is
//! the matching assignment (`x[...] = v`) and [`Array::at_index`] the matching scatter updates
//! (`x.at[...].add(v)`).
//!
//! The rules are numpy's (MLX follows them): slices and integers without index arrays give a
//! view (basic indexing); with index arrays, the arrays and the integers broadcast together and
//! their shape replaces the indexed axes in place when those entries are adjacent, or goes first
//! when a slice, a new axis or an ellipsis separates them. Index arrays are integers (MLX does
//! not take boolean masks); negative indices count from the end, and an index out of range is an
//! error: at build time for an integer, when evaluated for an array.
//!
//! Everything is composed of `slice`, `take`, `transpose`, `reshape` and `expand_dims`, so it is
//! differentiable and vectorises through those ops.

use super::{expand_dims, SliceArg};
use crate::checked::Checked;
use crate::ops::indexing::ArrayAt;
use crate::{bail, Array, Dtype, Result};

/// One entry of a general index (see the module docs); build a list with [`idx!`](crate::idx).
#[derive(Clone, Debug)]
pub enum Index {
    /// `i`: one position (negative counts from the end); the axis is removed.
    Int(isize),
    /// `start:stop:step`: a range of positions; the axis is kept.
    Slice(SliceArg),
    /// An integer array of positions; its shape replaces the axis.
    Array(Array),
    /// `None` / `np.newaxis`: a new axis of length 1.
    NewAxis,
    /// `...`: as many whole axes as the other entries leave.
    Ellipsis,
}

macro_rules! index_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Index {
            fn from(i: $t) -> Index {
                Index::Int(i as isize)
            }
        }
    )*};
}
index_from_int!(isize, i32, i64, usize, u32);

macro_rules! index_from_slice {
    ($($t:ty),*) => {$(
        impl From<$t> for Index {
            fn from(s: $t) -> Index {
                Index::Slice(SliceArg::from(s))
            }
        }
    )*};
}
index_from_slice!(
    SliceArg,
    std::ops::RangeFull,
    std::ops::Range<isize>,
    std::ops::RangeFrom<isize>,
    std::ops::RangeTo<isize>,
    (isize, Option<isize>, isize),
    (Option<isize>, Option<isize>, isize)
);

impl From<Array> for Index {
    fn from(a: Array) -> Index {
        Index::Array(a)
    }
}

impl From<&Array> for Index {
    fn from(a: &Array) -> Index {
        Index::Array(a.clone())
    }
}

/// Builds a `&[Index]` the way Python writes an index: integers, ranges (`1..`, `..`, `0..4`),
/// [`SliceArg`]s, arrays (`&i`), `None` for a new axis and `...` for an ellipsis.
///
/// ```
/// use rmlx_core::{self as mx, idx, Array, Dtype};
/// let x = mx::arange(0.0, 24.0, 1.0, Dtype::F32)?.reshape([2, 3, 4])?;
/// // x[1, :, None, ::2]
/// assert_eq!(x.index(idx![1, .., None, mx::SliceArg::from(..).step(2)])?.shape(), &[3, 1, 2]);
/// // x[..., -1]
/// assert_eq!(x.index(idx![..., -1])?.to_vec::<f32>()?, vec![3.0, 7.0, 11.0, 15.0, 19.0, 23.0]);
/// // x[i, :, j]: the index arrays' shape goes first (a slice separates them)
/// let i = Array::from_slice(&[1i32, 0], &[2])?;
/// let j = Array::from_slice(&[3i32, 0], &[2])?;
/// let y = x.index(idx![&i, .., &j])?;
/// assert_eq!(y.shape(), &[2, 3]);
/// assert_eq!(y.to_vec::<f32>()?, vec![15.0, 19.0, 23.0, 0.0, 4.0, 8.0]);
/// # Ok::<(), mx::Error>(())
/// ```
#[macro_export]
macro_rules! idx {
    (@go [$($acc:expr,)*]) => { &[$($acc),*][..] };
    (@go [$($acc:expr,)*] ... $(, $($rest:tt)*)?) => {
        $crate::idx!(@go [$($acc,)* $crate::Index::Ellipsis,] $($($rest)*)?)
    };
    (@go [$($acc:expr,)*] None $(, $($rest:tt)*)?) => {
        $crate::idx!(@go [$($acc,)* $crate::Index::NewAxis,] $($($rest)*)?)
    };
    (@go [$($acc:expr,)*] $e:expr $(, $($rest:tt)*)?) => {
        $crate::idx!(@go [$($acc,)* $crate::Index::from($e),] $($($rest)*)?)
    };
    ($($t:tt)*) => { $crate::idx!(@go [] $($t)*) };
}

/// An entry after the ellipsis is expanded: every entry but `NewAxis` consumes one axis.
#[derive(Clone, Debug)]
enum Entry {
    Int(usize),
    Slice(SliceArg),
    Array(Array),
    NewAxis,
}

/// Expands the ellipsis (and the implicit trailing whole axes) and checks the integers against
/// their axes.
fn expand(shape: &[usize], index: &[Index]) -> Result<Vec<Entry>> {
    let consumes = |i: &Index| !matches!(i, Index::NewAxis | Index::Ellipsis);
    let used = index.iter().filter(|i| consumes(i)).count();
    if index
        .iter()
        .filter(|i| matches!(i, Index::Ellipsis))
        .count()
        > 1
    {
        bail!(Value, "An index can only have a single ellipsis (...)");
    }
    if used > shape.len() {
        bail!(
            Value,
            "Too many indices for array with {} dimensions.",
            shape.len()
        );
    }
    let mut out = Vec::with_capacity(shape.len() + index.len());
    let mut axis = 0;
    for i in index {
        match i {
            Index::Ellipsis => {
                for _ in 0..shape.len() - used {
                    out.push(Entry::Slice(SliceArg::all()));
                    axis += 1;
                }
            }
            Index::NewAxis => out.push(Entry::NewAxis),
            Index::Int(v) => {
                let n = *shape.at(axis)? as isize;
                let p = if *v < 0 { v + n } else { *v };
                if p < 0 || p >= n {
                    bail!(
                        Index,
                        "index {v} is out of bounds for axis {axis} with size {n}"
                    );
                }
                out.push(Entry::Int(p as usize));
                axis += 1;
            }
            Index::Slice(s) => {
                if s.step == 0 {
                    bail!(Value, "slice step cannot be zero");
                }
                out.push(Entry::Slice(*s));
                axis += 1;
            }
            Index::Array(a) => {
                if a.dtype() == Dtype::Bool {
                    bail!(Value, "boolean indices are not yet supported");
                }
                if !a.dtype().is_int() {
                    bail!(
                        Dtype,
                        "Index arrays must be integers, got {} (cast with astype)",
                        a.dtype()
                    );
                }
                out.push(Entry::Array(a.clone()));
                axis += 1;
            }
        }
    }
    while axis < shape.len() {
        out.push(Entry::Slice(SliceArg::all()));
        axis += 1;
    }
    Ok(out)
}

/// `a[index]` (see the module docs).
pub fn index(a: &Array, index: &[Index]) -> Result<Array> {
    let entries = expand(a.shape(), index)?;
    let advanced = entries.iter().any(|e| matches!(e, Entry::Array(_)));
    // 1. the slices (and, without index arrays, the integers as one-element slices): a view
    let args: Vec<SliceArg> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Slice(s) => Some(*s),
            Entry::Int(i) if !advanced => {
                Some(SliceArg::new(Some(*i as isize), Some(*i as isize + 1), 1))
            }
            Entry::Int(_) | Entry::Array(_) => Some(SliceArg::all()),
            Entry::NewAxis => None,
        })
        .collect();
    let src = a.slice(&args)?;
    if !advanced {
        return basic_tail(&src, &entries);
    }
    // 2. the index arrays (integers as 0-d arrays), broadcast together
    let mut adv_axes = Vec::new();
    let mut adv = Vec::new();
    let mut axis = 0;
    for e in &entries {
        match e {
            Entry::Array(x) => {
                adv_axes.push(axis);
                adv.push(x.clone());
            }
            Entry::Int(i) => {
                adv_axes.push(axis);
                adv.push(Array::scalar_as(*i as f64, Dtype::I64));
            }
            Entry::NewAxis => continue,
            Entry::Slice(_) => {}
        }
        axis += 1;
    }
    let refs: Vec<&Array> = adv.iter().collect();
    let adv = super::broadcast_arrays("index", &refs)?;
    let bshape = adv.at(0)?.shape().to_vec();
    // numpy: the broadcast shape goes first when a slice or a new axis separates two entries
    // that are arrays or integers
    let first = entries
        .iter()
        .position(|e| matches!(e, Entry::Array(_) | Entry::Int(_)))
        .unwrap_or(0);
    let last = entries
        .iter()
        .rposition(|e| matches!(e, Entry::Array(_) | Entry::Int(_)))
        .unwrap_or(0);
    let gather_first = entries
        .span(first..=last)?
        .iter()
        .any(|e| matches!(e, Entry::Slice(_) | Entry::NewAxis));
    // 3. one take over the indexed axes moved to the front and flattened together
    let rest: Vec<usize> = (0..src.ndim()).filter(|d| !adv_axes.contains(d)).collect();
    let mut perm = adv_axes.clone();
    perm.extend(&rest);
    let moved = src.transpose_axes(&perm)?;
    let sizes = src.shape().pick(&adv_axes)?;
    let mut flat_shape = vec![sizes.iter().product::<usize>()];
    flat_shape.extend(src.shape().pick(&rest)?);
    let flat = moved.reshape(flat_shape)?;
    let ids = linear_index(&adv, &sizes)?;
    let gathered = flat.take(&ids, Some(0))?; // [bshape..., rest...]
                                              // 4. the final order: the broadcast axes first or in place, then the new axes inserted
    let nb = bshape.len();
    let mut order = Vec::new();
    let mut new_axes = Vec::new();
    if gather_first {
        order.extend(0..nb);
    }
    let mut r = 0;
    let mut placed = gather_first;
    for e in &entries {
        match e {
            Entry::Slice(_) => {
                order.push(nb + r);
                r += 1;
            }
            Entry::NewAxis => new_axes.push(order.len() + new_axes.len()),
            Entry::Array(_) | Entry::Int(_) => {
                if !placed {
                    order.extend(0..nb);
                    placed = true;
                }
            }
        }
    }
    let out = gathered.transpose_axes(&order)?;
    if new_axes.is_empty() {
        Ok(out)
    } else {
        let axes: Vec<isize> = new_axes.iter().map(|&a| a as isize).collect();
        expand_dims(&out, axes)
    }
}

/// Basic indexing after the slice: integers' axes removed, new axes inserted.
fn basic_tail(src: &Array, entries: &[Entry]) -> Result<Array> {
    let mut squeeze = Vec::new();
    let mut new_axes = Vec::new();
    let (mut axis, mut out_pos) = (0isize, 0isize);
    for e in entries {
        match e {
            Entry::Int(_) => {
                squeeze.push(axis);
                axis += 1;
            }
            Entry::NewAxis => {
                new_axes.push(out_pos);
                out_pos += 1;
            }
            _ => {
                axis += 1;
                out_pos += 1;
            }
        }
    }
    let out = if squeeze.is_empty() {
        src.clone()
    } else {
        src.squeeze(squeeze)?
    };
    if new_axes.is_empty() {
        Ok(out)
    } else {
        expand_dims(&out, new_axes)
    }
}

/// The row-major position of `(i_0, i_1, ...)` in axes of `sizes` (each index normalised for
/// negatives). An index outside `[-n, n)` makes the whole position out of range, so the take
/// reports it when it is evaluated.
fn linear_index(idx: &[Array], sizes: &[usize]) -> Result<Array> {
    if idx.len() == 1 {
        return Ok(idx.at(0)?.clone());
    }
    let total: usize = sizes.iter().product();
    let mut lin: Option<Array> = None;
    let mut bad: Option<Array> = None;
    let mut stride = 1usize;
    for (i, &n) in idx.iter().zip(sizes).rev() {
        let i = i.astype(Dtype::I64)?;
        let nn = Array::scalar_as(n as f64, Dtype::I64);
        let zero = Array::scalar_as(0.0, Dtype::I64);
        let wrapped = crate::where_(&i.less(&zero)?, &(&i + &nn)?, &i)?;
        let out = wrapped
            .less(&zero)?
            .logical_or(&wrapped.greater_equal(&nn)?)?;
        let term = (&wrapped * &Array::scalar_as(stride as f64, Dtype::I64))?;
        lin = Some(match lin {
            Some(l) => (&l + &term)?,
            None => term,
        });
        bad = Some(match bad {
            Some(b) => b.logical_or(&out)?,
            None => out,
        });
        stride *= n;
    }
    let (Some(lin), Some(bad)) = (lin, bad) else {
        bail!(Value, "index: no index arrays");
    };
    // `total` is out of range of the flattened axes: the take's error at evaluation
    crate::where_(&bad, &Array::scalar_as(total as f64, Dtype::I64), &lin)
}

/// The flat (row-major) positions of the elements `a[index]` selects, in the shape of
/// `a[index]`.
fn flat_positions(a: &Array, index: &[Index]) -> Result<Array> {
    let n = a.size();
    let dt = if n < i32::MAX as usize {
        Dtype::I32
    } else {
        Dtype::I64
    };
    let ids = super::arange(0.0, n as f64, 1.0, dt)?.reshape(a.shape())?;
    self::index(&ids, index)
}

impl Array {
    /// `self[index]` (MLX's `x[...]`); see [the module](crate::ops::index) and [`idx!`](crate::idx).
    pub fn index(&self, index: &[Index]) -> Result<Array> {
        self::index(self, index)
    }

    /// A copy of `self` with `self[index] = values` (MLX's `x[...] = v`): `values` is cast to
    /// `self`'s dtype and broadcast to the shape of `self[index]`. With repeated positions one
    /// of the writes wins. Without index arrays this is [`Array::slice_update`] (no copy of the
    /// positions); with them, a scatter.
    ///
    /// ```
    /// use rmlx_core::{self as mx, idx, Array, Dtype};
    /// let x = mx::zeros(&[2, 3], Dtype::F32)?;
    /// let y = x.index_put(idx![.., -1], &mx::array(5.0f32))?;
    /// assert_eq!(y.to_vec::<f32>()?, vec![0.0, 0.0, 5.0, 0.0, 0.0, 5.0]);
    /// let i = Array::from_slice(&[1i32, 0], &[2])?;
    /// let z = x.index_put(idx![&i, &i], &Array::from_slice(&[7.0f32, 8.0], &[2])?)?;
    /// assert_eq!(z.to_vec::<f32>()?, vec![8.0, 0.0, 0.0, 0.0, 7.0, 0.0]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn index_put(&self, index: &[Index], values: &Array) -> Result<Array> {
        let entries = expand(self.shape(), index)?;
        if !entries.iter().any(|e| matches!(e, Entry::Array(_))) {
            // the region as a slice; the values' shape is the indexed one (integers drop axes,
            // new axes add ones), so broadcast them there and lay them out as the region
            let target = self::index(self, index)?;
            let b = super::broadcast_shapes("index_put", values.shape(), target.shape())?;
            if b != target.shape() {
                bail!(
                    Shape,
                    "index_put: values of shape {:?} cannot be broadcast to the indexed shape {:?}",
                    values.shape(),
                    target.shape()
                );
            }
            let args: Vec<SliceArg> = entries
                .iter()
                .filter_map(|e| match e {
                    Entry::Slice(s) => Some(*s),
                    Entry::Int(i) => {
                        Some(SliceArg::new(Some(*i as isize), Some(*i as isize + 1), 1))
                    }
                    _ => None,
                })
                .collect();
            let region = self.slice(&args)?;
            let v = values
                .astype(self.dtype())?
                .broadcast_to(target.shape())?
                .reshape(region.shape())?;
            return self.slice_update(&v, &args);
        }
        let at = self.at_index(index)?;
        at.set(values)
    }

    /// Scatter updates at a general index (MLX's `x.at[...]`): `x.at_index(idx![.., &i])?
    /// .add(&v)` adds `v` at every position `x[.., i]` selects, repeated positions adding up;
    /// see [`ArrayAt`].
    ///
    /// ```
    /// use rmlx_core::{self as mx, idx, Array, Dtype};
    /// let x = mx::zeros(&[2, 3], Dtype::F32)?;
    /// let i = Array::from_slice(&[0i32, 2, 0], &[3])?;
    /// let y = x.at_index(idx![.., &i])?.add(&mx::array(1.0f32))?;
    /// assert_eq!(y.to_vec::<f32>()?, vec![2.0, 0.0, 1.0, 2.0, 0.0, 1.0]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn at_index(&self, index: &[Index]) -> Result<ArrayAt> {
        let ids = flat_positions(self, index)?;
        Ok(ArrayAt::flat(self, ids))
    }
}
