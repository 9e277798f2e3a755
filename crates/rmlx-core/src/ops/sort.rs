//! Sorting: sort, argsort, partition, argpartition, topk along one axis. NaN sorts after every
//! number (numpy's order); argsort is stable.

use std::sync::Arc;

use super::normalize_axis;
use crate::checked::Checked;
use crate::primitives::sort::{gather_along, ArgPartition, ArgSort, ArgTopK, SearchSorted, Sort};
use crate::{bail, Array, Dtype, Result};

/// `a` flattened when it is 0-d (so an axis of `-1` or `0` exists), else `a`.
fn at_least_1d(a: &Array) -> Result<Array> {
    if a.ndim() == 0 {
        a.reshape([1])
    } else {
        Ok(a.clone())
    }
}

/// Values sorted ascending along `axis` (negative counts from the end). NaN last.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[3.0f32, f32::NAN, 1.0, 2.0], &[4])?;
/// let s = mx::sort(&x, -1)?.to_vec::<f32>()?;
/// assert_eq!(&s[..3], &[1.0, 2.0, 3.0]);
/// assert!(s[3].is_nan());
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn sort(a: &Array, axis: isize) -> Result<Array> {
    let a = at_least_1d(a)?;
    let axis = normalize_axis("sort", axis, a.ndim())?;
    Ok(Array::from_primitive(
        a.shape().to_vec(),
        a.dtype(),
        Arc::new(Sort { axis }),
        vec![a],
    ))
}

/// The stable permutation (uint32) that sorts `a` along `axis`.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[3i32, 1, 2, 1], &[4])?;
/// assert_eq!(mx::argsort(&x, 0)?.to_vec::<u32>()?, vec![1, 3, 2, 0]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn argsort(a: &Array, axis: isize) -> Result<Array> {
    let a = at_least_1d(a)?;
    let axis = normalize_axis("argsort", axis, a.ndim())?;
    Ok(Array::from_primitive(
        a.shape().to_vec(),
        Dtype::U32,
        Arc::new(ArgSort { axis }),
        vec![a],
    ))
}

fn check_kth(op: &str, kth: isize, n: usize) -> Result<usize> {
    let k = if kth < 0 { kth + n as isize } else { kth };
    if k < 0 || k as usize >= n {
        bail!(
            Value,
            "{op}: kth {kth} is out of bounds for axis of size {n}"
        );
    }
    Ok(k as usize)
}

/// A permutation (uint32) along `axis` that puts the element that would be at sorted position
/// `kth` (negative counts from the end) there, with no larger element before it and no smaller
/// one after. The order inside each side is unspecified (here: deterministic for given input).
pub fn argpartition(a: &Array, kth: isize, axis: isize) -> Result<Array> {
    let a = at_least_1d(a)?;
    let axis = normalize_axis("argpartition", axis, a.ndim())?;
    let kth = check_kth("argpartition", kth, *a.shape().at(axis)?)?;
    Ok(Array::from_primitive(
        a.shape().to_vec(),
        Dtype::U32,
        Arc::new(ArgPartition { kth, axis }),
        vec![a],
    ))
}

/// The values of `a` rearranged by [`argpartition`]. Differentiable (the cotangent goes back to
/// each value's position).
pub fn partition(a: &Array, kth: isize, axis: isize) -> Result<Array> {
    let a = at_least_1d(a)?;
    let idx = argpartition(&a, kth, axis)?;
    let axis = normalize_axis("partition", axis, a.ndim())?;
    gather_along(&a, &idx, axis)
}

/// The `k` largest values along `axis` (the axis gets size `k`). MLX leaves their order
/// unspecified; rmlx returns them in ascending order (ties by position), which is one of the
/// orders MLX's partition can give. Differentiable.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[5.0f32, 1.0, 4.0, 2.0, 3.0], &[5])?;
/// assert_eq!(mx::topk(&x, 2, -1)?.to_vec::<f32>()?, vec![4.0, 5.0]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn topk(a: &Array, k: usize, axis: isize) -> Result<Array> {
    let a = at_least_1d(a)?;
    let axis = normalize_axis("topk", axis, a.ndim())?;
    let n = *a.shape().at(axis)?;
    if k > n {
        bail!(Value, "topk: k = {k} is larger than the axis size {n}");
    }
    let mut shape = a.shape().to_vec();
    *shape.at_mut(axis)? = k;
    let idx = Array::from_primitive(
        shape,
        Dtype::U32,
        Arc::new(ArgTopK { k, axis }),
        vec![a.clone()],
    );
    gather_along(&a, &idx, axis)
}

impl Array {
    /// Sorted along `axis`; see [`sort`].
    pub fn sort(&self, axis: isize) -> Result<Array> {
        sort(self, axis)
    }
    /// Sorting permutation; see [`argsort`].
    pub fn argsort(&self, axis: isize) -> Result<Array> {
        argsort(self, axis)
    }
    /// Partitioning permutation; see [`argpartition`].
    pub fn argpartition(&self, kth: isize, axis: isize) -> Result<Array> {
        argpartition(self, kth, axis)
    }
    /// Partitioned values; see [`partition`].
    pub fn partition(&self, kth: isize, axis: isize) -> Result<Array> {
        partition(self, kth, axis)
    }
    /// The `k` largest values; see [`topk`].
    pub fn topk(&self, k: usize, axis: isize) -> Result<Array> {
        topk(self, k, axis)
    }
}

/// For each element of `values`, the index at which it would be inserted into the ascending 1-D
/// `sorted_sequence` to keep it sorted (MLX's `mx.searchsorted`): with `side = "left"` the number
/// of elements strictly less than it, with `"right"` the number not greater. NaN counts as
/// greater than every number. Both inputs are promoted to a common dtype; the result is uint32
/// of `values`' shape.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let s = Array::from_slice(&[1.0f32, 2.0, 2.0, 5.0], &[4])?;
/// let v = Array::from_slice(&[2.0f32, 0.0, 9.0], &[3])?;
/// assert_eq!(mx::searchsorted(&s, &v, "left")?.to_vec::<u32>()?, vec![1, 0, 4]);
/// assert_eq!(mx::searchsorted(&s, &v, "right")?.to_vec::<u32>()?, vec![3, 0, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn searchsorted(sorted_sequence: &Array, values: &Array, side: &str) -> Result<Array> {
    let right = match side {
        "left" => false,
        "right" => true,
        _ => bail!(
            Value,
            "[searchsorted] Invalid side '{side}'. Expected 'left' or 'right'."
        ),
    };
    if sorted_sequence.ndim() != 1 {
        bail!(
            Shape,
            "[searchsorted] The sorted sequence must be 1-D but has {} dimensions.",
            sorted_sequence.ndim()
        );
    }
    if sorted_sequence.size() > u32::MAX as usize {
        bail!(
            Shape,
            "[searchsorted] The sorted sequence has {} elements, more than the uint32 output can index.",
            sorted_sequence.size()
        );
    }
    let dtype = Dtype::promote(sorted_sequence.dtype(), values.dtype());
    Ok(Array::from_primitive(
        values.shape().to_vec(),
        Dtype::U32,
        Arc::new(SearchSorted { right }),
        vec![sorted_sequence.astype(dtype)?, values.astype(dtype)?],
    ))
}

/// The result of [`unique`]: every array MLX's `unique` can return.
#[derive(Debug, Clone)]
pub struct Unique {
    /// The sorted unique values (`size` of them, padded with the fill value).
    pub values: Array,
    /// For each unique value, the flat index of its first occurrence (uint32).
    pub index: Array,
    /// For each element of the input (its shape), the position of its value in `values` (uint32).
    pub inverse: Array,
    /// How often each unique value occurs; 0 in the padding (int32).
    pub counts: Array,
}

/// The sorted unique elements of the flattened `a`, exactly `size` of them (MLX's `unique`):
/// the output shape never depends on the values, so `a` is not evaluated. Entries past the last
/// unique value hold `fill_value` (default: the smallest value) with count 0; a truncated output
/// keeps the `size` smallest. Built from a stable sort, a scan and scatters.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[3i32, 1, 2, 3, 1], &[5])?;
/// let u = mx::unique(&a, 4, None)?;
/// assert_eq!(u.values.to_vec::<i32>()?, vec![1, 2, 3, 1]);
/// assert_eq!(u.index.to_vec::<u32>()?, vec![1, 2, 0, 1]);
/// assert_eq!(u.inverse.to_vec::<u32>()?, vec![2, 0, 1, 2, 0]);
/// assert_eq!(u.counts.to_vec::<i32>()?, vec![2, 1, 2, 0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn unique(a: &Array, size: usize, fill_value: Option<f64>) -> Result<Unique> {
    let n = a.size();
    if n == 0 && size > 0 && fill_value.is_none() {
        bail!(
            Value,
            "[unique] A fill value is required for an empty input with a non-zero size."
        );
    }
    let flat = a.reshape([n])?;
    let order = argsort(&flat, 0)?;
    let sorted = flat.take(&order, Some(0))?;
    // group id of each sorted element: how many distinct values precede it
    let is_new = if n == 0 {
        Array::from_bools(&[], &[0])?
    } else {
        let first = Array::from_bools(&[true], &[1])?;
        let rest = sorted
            .slice(&[super::SliceArg::new(Some(1), None, 1)])?
            .not_equal(&sorted.slice(&[super::SliceArg::new(None, Some(n as isize - 1), 1)])?)?;
        super::concatenate(&[first, rest], 0)?
    };
    let gid = is_new
        .astype(Dtype::I32)?
        .cumsum(Some(0), false, true)?
        .subtract(&Array::scalar(1i32))?;
    // one extra slot past `size` takes what does not fit (truncated groups, repeats)
    let dump = Array::scalar(size as i32);
    let slot = gid.minimum(&dump)?;
    let first_slot = is_new.where_(&slot, &dump)?;
    let pad_value = match fill_value {
        Some(v) => Array::scalar_as(v, a.dtype()),
        None if n > 0 => sorted.take(&Array::scalar(0i32), Some(0))?,
        None => Array::scalar_as(0.0, a.dtype()),
    };
    let values = super::put_along_axis(&pad_value.broadcast_to(&[size + 1])?, &slot, &sorted, 0)?;
    let first_index = if n > 0 {
        order.take(&Array::scalar(0i32), Some(0))?
    } else {
        Array::scalar(0u32)
    };
    let index = super::put_along_axis(
        &first_index.broadcast_to(&[size + 1])?,
        &first_slot,
        &order,
        0,
    )?;
    let counts = super::scatter_add_axis(
        &super::zeros(&[size + 1], Dtype::I32)?,
        &slot,
        &super::ones(&[n], Dtype::I32)?,
        0,
    )?;
    let keep = [super::SliceArg::new(None, Some(size as isize), 1)];
    let inverse = super::put_along_axis(
        &super::zeros(&[n], Dtype::U32)?,
        &order,
        &gid.astype(Dtype::U32)?,
        0,
    )?
    .reshape(a.shape())?;
    Ok(Unique {
        values: values.slice(&keep)?,
        index: index.slice(&keep)?,
        inverse,
        counts: counts.slice(&keep)?,
    })
}
