//! Reductions: sum, mean, prod, max, min, arg-reductions, var/std, logsumexp, scans, softmax.

use std::sync::Arc;

use super::{normalize_axis, Axes};
use crate::backend::cpu::scan::ScanKind;
use crate::checked::Checked;
use crate::primitives::reduce::{sqrt_of, ArgReduce, Reduce, ReduceOp};
use crate::primitives::scan::Scan;
use crate::primitives::softmax::{LogSumExp, Softmax};
use crate::{bail, Array, Dtype, Result};

/// The dtype MLX gives a sum: bool and small ints widen to int32 (uint32 for small unsigned).
pub(crate) fn sum_dtype(d: Dtype) -> Dtype {
    match d {
        Dtype::Bool | Dtype::I8 | Dtype::I16 => Dtype::I32,
        Dtype::U8 | Dtype::U16 => Dtype::U32,
        d => d,
    }
}

/// Builds a reduction node over `axes`; the result keeps them as size 1 when `keepdims`.
pub(crate) fn reduce_op(
    op_name: &str,
    op: ReduceOp,
    a: &Array,
    axes: Axes,
    keepdims: bool,
    dtype: Dtype,
) -> Result<Array> {
    let axes = axes.resolve(op_name, a.ndim())?;
    let mut kept_shape = a.shape().to_vec();
    for &ax in &axes {
        *kept_shape.at_mut(ax)? = 1;
    }
    let out = Array::from_primitive(
        kept_shape,
        dtype,
        Arc::new(Reduce {
            op,
            axes: axes.clone(),
        }),
        vec![a.clone()],
    );
    if keepdims {
        Ok(out)
    } else {
        let shape = a.shape().omit(&axes);
        out.reshape(&shape)
    }
}

/// Sum over `axes` (see [`Axes`]): `sum(&x, None, false)` sums everything.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
/// assert_eq!(mx::sum(&x, None, false)?.item::<f32>()?, 10.0);
/// assert_eq!(x.sum(0, false)?.to_vec::<f32>()?, vec![4.0, 6.0]);
/// assert_eq!(x.sum(-1, true)?.shape(), &[2, 1]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn sum(a: &Array, axes: impl Into<Axes>, keepdims: bool) -> Result<Array> {
    reduce_op(
        "sum",
        ReduceOp::Sum,
        a,
        axes.into(),
        keepdims,
        sum_dtype(a.dtype()),
    )
}

/// `a` itself when it is floating point, else `a` as float32 (what MLX computes mean, var, std,
/// logsumexp and softmax of integer and bool arrays in).
fn at_least_float(a: &Array) -> Result<Array> {
    if a.dtype().is_inexact() {
        Ok(a.clone())
    } else {
        a.astype(Dtype::F32)
    }
}

/// Number of elements `axes` (resolved) span in `shape`.
fn count(shape: &[usize], axes: &[usize]) -> Result<usize> {
    Ok(shape.pick(axes)?.iter().product())
}

/// Transposes the (sorted) `axes` of `a` to the end and flattens them into one axis. Returns the
/// flattened array, the permutation and the transposed (unflattened) shape for
/// [`restore_axes`].
pub(crate) fn move_axes_last(a: &Array, axes: &[usize]) -> Result<(Array, Vec<usize>, Vec<usize>)> {
    let nd = a.ndim();
    let mut perm: Vec<usize> = (0..nd).filter(|i| !axes.contains(i)).collect();
    perm.extend_from_slice(axes);
    let t = a.transpose_axes(&perm)?;
    let moved_shape = t.shape().to_vec();
    let mut flat: Vec<usize> = moved_shape.span(..nd - axes.len())?.to_vec();
    flat.push(count(a.shape(), axes)?);
    Ok((t.reshape(&flat)?, perm, moved_shape))
}

/// Undoes [`move_axes_last`] on an array of the flattened shape.
pub(crate) fn restore_axes(y: &Array, perm: &[usize], moved_shape: &[usize]) -> Result<Array> {
    let mut inv = vec![0usize; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        *inv.at_mut(p)? = i;
    }
    y.reshape(moved_shape)?.transpose_axes(&inv)
}

/// The shape a reduction over `axes` gives: axes removed, or kept as 1 when `keepdims`.
fn reduced_shape(shape: &[usize], axes: &[usize], keepdims: bool) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| match (axes.contains(&i), keepdims) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

macro_rules! simple_reduction {
    ($(#[$doc:meta])* $name:ident, $op:expr, $dtype:expr) => {
        $(#[$doc])*
        pub fn $name(a: &Array, axes: impl Into<Axes>, keepdims: bool) -> Result<Array> {
            let dtype: fn(Dtype) -> Dtype = $dtype;
            reduce_op(stringify!($name), $op, a, axes.into(), keepdims, dtype(a.dtype()))
        }
    };
}

simple_reduction!(
    /// Product over `axes`; integers widen like [`sum`] (bool/int8/int16 → int32, uint8/uint16 →
    /// uint32) and wrap on overflow.
    ///
    /// ```
    /// use rmlx_core::{self as mx, Array};
    /// let x = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
    /// assert_eq!(mx::prod(&x, 1, false)?.to_vec::<f32>()?, vec![2.0, 12.0]);
    /// # Ok::<(), rmlx_core::Error>(())
    /// ```
    prod, ReduceOp::Prod, sum_dtype
);
simple_reduction!(
    /// Largest element over `axes` (NaN if any is NaN); same dtype as `a`.
    ///
    /// ```
    /// use rmlx_core::{self as mx, Array};
    /// let x = Array::from_slice(&[1i32, 5, 3, 4], &[2, 2])?;
    /// assert_eq!(mx::max(&x, 0, false)?.to_vec::<i32>()?, vec![3, 5]);
    /// # Ok::<(), rmlx_core::Error>(())
    /// ```
    max, ReduceOp::Max, |d| d
);
simple_reduction!(
    /// Smallest element over `axes` (NaN if any is NaN); same dtype as `a`.
    min, ReduceOp::Min, |d| d
);
simple_reduction!(
    /// True (bool) where every element over `axes` is non-zero.
    all, ReduceOp::And, |_| Dtype::Bool
);
simple_reduction!(
    /// True (bool) where some element over `axes` is non-zero.
    any, ReduceOp::Or, |_| Dtype::Bool
);

/// Mean over `axes`; integer and bool inputs give float32, floats keep their dtype.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[1i32, 2, 3, 4], &[2, 2])?;
/// assert_eq!(mx::mean(&x, None, false)?.item::<f32>()?, 2.5);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn mean(a: &Array, axes: impl Into<Axes>, keepdims: bool) -> Result<Array> {
    let axes = axes.into();
    let n = count(a.shape(), &axes.resolve("mean", a.ndim())?)?;
    let s = sum(a, axes, keepdims)?;
    let s = if a.dtype().is_inexact() {
        s
    } else {
        s.astype(Dtype::F32)?
    };
    &s * (1.0 / n as f64)
}

/// Variance over `axes` with `ddof` delta degrees of freedom: `sum((a - mean)^2) / (n - ddof)`
/// (two passes, so no cancellation). Integer inputs give float32. `n <= ddof` gives inf/NaN as
/// in MLX.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[4])?;
/// assert_eq!(mx::var(&x, None, false, 0)?.item::<f32>()?, 1.25);
/// assert!((mx::var(&x, None, false, 1)?.item::<f32>()? - 5.0 / 3.0).abs() < 1e-6);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn var(a: &Array, axes: impl Into<Axes>, keepdims: bool, ddof: usize) -> Result<Array> {
    let a = at_least_float(a)?;
    let axes = axes.into();
    let resolved = axes.resolve("var", a.ndim())?;
    let n = count(a.shape(), &resolved)?;
    let mu = mean(&a, axes.clone(), true)?;
    let d = (&a - &mu)?;
    let ss = (&d * &d)?.sum(axes, keepdims)?;
    let denom = n.saturating_sub(ddof) as f64;
    &ss * (1.0 / denom)
}

/// Standard deviation: `sqrt(var(a, axes, keepdims, ddof))`.
pub fn std(a: &Array, axes: impl Into<Axes>, keepdims: bool, ddof: usize) -> Result<Array> {
    Ok(sqrt_of(&var(a, axes, keepdims, ddof)?))
}

fn arg_reduce(name: &str, a: &Array, axis: Axes, keepdims: bool, is_max: bool) -> Result<Array> {
    let (a, axis) = match axis {
        Axes::All => (a.reshape([-1])?, 0usize),
        Axes::List(v) if v.len() == 1 => {
            let ax = normalize_axis(name, *v.at(0)?, a.ndim())?;
            (a.clone(), ax)
        }
        Axes::List(v) => bail!(
            Axis,
            "{name}: expected a single axis (or None for the flattened array), got {v:?}"
        ),
    };
    if *a.shape().at(axis)? == 0 {
        bail!(
            Value,
            "{name}: cannot reduce over an empty axis (shape {:?})",
            a.shape()
        );
    }
    let mut kept = a.shape().to_vec();
    *kept.at_mut(axis)? = 1;
    let out = Array::from_primitive(
        kept,
        Dtype::U32,
        Arc::new(ArgReduce { is_max, axis }),
        vec![a.clone()],
    );
    if keepdims {
        Ok(out)
    } else {
        out.reshape(reduced_shape(a.shape(), &[axis], false))
    }
}

/// Index (uint32) of the first maximum along one axis, or of the flattened array for `None`.
/// A list of several axes is an error. With `keepdims` and `None`, the result has shape `[1]`.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[1.0f32, 7.0, 7.0, 0.0], &[2, 2])?;
/// assert_eq!(mx::argmax(&x, 1, false)?.to_vec::<u32>()?, vec![1, 0]);
/// assert_eq!(mx::argmax(&x, None, false)?.item::<u32>()?, 1);
/// assert!(mx::argmax(&x, [0, 1], false).is_err());
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn argmax(a: &Array, axis: impl Into<Axes>, keepdims: bool) -> Result<Array> {
    arg_reduce("argmax", a, axis.into(), keepdims, true)
}

/// Index (uint32) of the first minimum; see [`argmax`].
pub fn argmin(a: &Array, axis: impl Into<Axes>, keepdims: bool) -> Result<Array> {
    arg_reduce("argmin", a, axis.into(), keepdims, false)
}

/// `log(sum(exp(a)))` over `axes`, computed stably (max subtracted first; a row of `-inf`
/// gives `-inf`). Integer inputs give float32.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[1000.0f32, 1000.0], &[2])?;
/// let l = mx::logsumexp(&x, None, false)?.item::<f32>()?;
/// assert!((l - (1000.0 + 2f32.ln())).abs() < 1e-3);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn logsumexp(a: &Array, axes: impl Into<Axes>, keepdims: bool) -> Result<Array> {
    let a = at_least_float(a)?;
    let axes = axes.into().resolve("logsumexp", a.ndim())?;
    if a.dtype().is_complex() {
        // complex: shifted by the (lexicographic) maximum, as MLX
        let ax: Vec<isize> = axes.iter().map(|&x| x as isize).collect();
        let m = crate::stop_gradient(&a.max(ax.clone(), true)?)?;
        let s = (&a - &m)?.exp()?.sum(ax.clone(), true)?.log()?;
        let out = (&s + &m)?;
        return if keepdims { Ok(out) } else { out.squeeze(ax) };
    }
    let (flat, _, _) = move_axes_last(&a, &axes)?;
    let mut kept = flat.shape().to_vec();
    if let Some(l) = kept.last_mut() {
        *l = 1;
    }
    let out = Array::from_primitive(kept, a.dtype(), Arc::new(LogSumExp), vec![flat]);
    out.reshape(reduced_shape(a.shape(), &axes, keepdims))
}

/// Softmax over `axes`: `exp(a - max) / sum(exp(a - max))`. Output dtype = input dtype (integer
/// inputs give float32). For f16/bf16, `precise` computes everything in f32 and rounds once;
/// otherwise each exponential is rounded to the input type first (MLX's default computes in the
/// input type), while the sum is kept in f32.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[0.0f32, 0.0, 1.0, 1.0], &[2, 2])?;
/// assert_eq!(mx::softmax(&x, -1, false)?.to_vec::<f32>()?, vec![0.5; 4]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn softmax(a: &Array, axes: impl Into<Axes>, precise: bool) -> Result<Array> {
    let a = at_least_float(a)?;
    if a.ndim() == 0 {
        return softmax(&a.reshape([1])?, 0, precise)?.reshape(Vec::<usize>::new());
    }
    let axes = axes.into().resolve("softmax", a.ndim())?;
    if a.dtype().is_complex() {
        // complex: exp(a - max) / sum, the maximum lexicographic, as MLX
        let ax: Vec<isize> = axes.iter().map(|&x| x as isize).collect();
        let m = crate::stop_gradient(&a.max(ax.clone(), true)?)?;
        let e = (&a - &m)?.exp()?;
        return &e / &e.sum(ax, true)?;
    }
    let node = |x: Array| {
        Array::from_primitive(
            x.shape().to_vec(),
            x.dtype(),
            Arc::new(Softmax { precise }),
            vec![x],
        )
    };
    if axes == [a.ndim() - 1] {
        return Ok(node(a));
    }
    if axes.is_empty() {
        // softmax over no axes: every element is its own group
        return node(a.reshape([-1, 1])?).reshape(a.shape());
    }
    let (flat, perm, moved) = move_axes_last(&a, &axes)?;
    restore_axes(&node(flat), &perm, &moved)
}

/// Builds a scan node (`name` for errors); `axis` is resolved here.
pub(crate) fn scan_op(
    name: &str,
    kind: ScanKind,
    a: &Array,
    axis: isize,
    reverse: bool,
    inclusive: bool,
) -> Result<Array> {
    let axis = normalize_axis(name, axis, a.ndim())?;
    Ok(Array::from_primitive(
        a.shape().to_vec(),
        a.dtype(),
        Arc::new(Scan {
            kind,
            axis,
            reverse,
            inclusive,
        }),
        vec![a.clone()],
    ))
}

fn scan_public(
    name: &str,
    kind: ScanKind,
    a: &Array,
    axis: Option<isize>,
    reverse: bool,
    inclusive: bool,
) -> Result<Array> {
    let a = if a.dtype() == Dtype::Bool && matches!(kind, ScanKind::Sum | ScanKind::Prod) {
        a.astype(Dtype::I32)?
    } else {
        a.clone()
    };
    match axis {
        Some(ax) => scan_op(name, kind, &a, ax, reverse, inclusive),
        None => scan_op(name, kind, &a.reshape([-1])?, 0, reverse, inclusive),
    }
}

/// Cumulative `log(sum(exp))` along `axis` (`None`: of the flattened array), MLX's
/// `mx.logcumsumexp`: each step `logaddexp`, so no intermediate overflows. Integer input gives
/// float32.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[0.0f32, 0.0, 1000.0], &[3])?;
/// let y = mx::logcumsumexp(&x, Some(0), false, true)?.to_vec::<f32>()?;
/// assert!((y[1] - 2f32.ln()).abs() < 1e-6 && y[2] == 1000.0);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn logcumsumexp(
    a: &Array,
    axis: Option<isize>,
    reverse: bool,
    inclusive: bool,
) -> Result<Array> {
    let a = at_least_float(a)?;
    scan_public(
        "logcumsumexp",
        ScanKind::LogAddExp,
        &a,
        axis,
        reverse,
        inclusive,
    )
}

/// Cumulative sum along `axis` (`None`: of the flattened array). `reverse` scans from the end;
/// `inclusive == false` gives the exclusive scan (output `i` sums the elements before `i`).
/// bool input gives int32; other dtypes are kept (integers wrap).
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[1i32, 2, 3], &[3])?;
/// assert_eq!(mx::cumsum(&x, Some(0), false, true)?.to_vec::<i32>()?, vec![1, 3, 6]);
/// assert_eq!(mx::cumsum(&x, Some(0), true, false)?.to_vec::<i32>()?, vec![5, 3, 0]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn cumsum(a: &Array, axis: Option<isize>, reverse: bool, inclusive: bool) -> Result<Array> {
    scan_public("cumsum", ScanKind::Sum, a, axis, reverse, inclusive)
}

/// Cumulative product; see [`cumsum`]. Its gradient is exact with zeros in the input.
pub fn cumprod(a: &Array, axis: Option<isize>, reverse: bool, inclusive: bool) -> Result<Array> {
    scan_public("cumprod", ScanKind::Prod, a, axis, reverse, inclusive)
}

/// Cumulative maximum (NaN propagates); see [`cumsum`]. The gradient of each output goes to
/// the first element that reached the running maximum.
pub fn cummax(a: &Array, axis: Option<isize>, reverse: bool, inclusive: bool) -> Result<Array> {
    scan_public("cummax", ScanKind::Max, a, axis, reverse, inclusive)
}

/// Cumulative minimum; see [`cummax`].
pub fn cummin(a: &Array, axis: Option<isize>, reverse: bool, inclusive: bool) -> Result<Array> {
    scan_public("cummin", ScanKind::Min, a, axis, reverse, inclusive)
}

impl Array {
    /// Sum over `axes`; see [`sum`].
    pub fn sum(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Array> {
        sum(self, axes, keepdims)
    }
    /// Mean over `axes`; see [`mean`].
    pub fn mean(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Array> {
        mean(self, axes, keepdims)
    }
    /// Product over `axes`; see [`prod`].
    pub fn prod(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Array> {
        prod(self, axes, keepdims)
    }
    /// Maximum over `axes`; see [`max`].
    pub fn max(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Array> {
        max(self, axes, keepdims)
    }
    /// Minimum over `axes`; see [`min`].
    pub fn min(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Array> {
        min(self, axes, keepdims)
    }
    /// All non-zero over `axes`; see [`all`].
    pub fn all(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Array> {
        all(self, axes, keepdims)
    }
    /// Any non-zero over `axes`; see [`any`].
    pub fn any(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Array> {
        any(self, axes, keepdims)
    }
    /// Index of the maximum; see [`argmax`].
    pub fn argmax(&self, axis: impl Into<Axes>, keepdims: bool) -> Result<Array> {
        argmax(self, axis, keepdims)
    }
    /// Index of the minimum; see [`argmin`].
    pub fn argmin(&self, axis: impl Into<Axes>, keepdims: bool) -> Result<Array> {
        argmin(self, axis, keepdims)
    }
    /// Variance; see [`var`].
    pub fn var(&self, axes: impl Into<Axes>, keepdims: bool, ddof: usize) -> Result<Array> {
        var(self, axes, keepdims, ddof)
    }
    /// Standard deviation; see [`std`].
    pub fn std(&self, axes: impl Into<Axes>, keepdims: bool, ddof: usize) -> Result<Array> {
        std(self, axes, keepdims, ddof)
    }
    /// Stable `log(sum(exp))`; see [`logsumexp`].
    pub fn logsumexp(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Array> {
        logsumexp(self, axes, keepdims)
    }
    /// Softmax over `axes`; see [`softmax`].
    pub fn softmax(&self, axes: impl Into<Axes>, precise: bool) -> Result<Array> {
        softmax(self, axes, precise)
    }
    /// Cumulative sum; see [`cumsum`].
    pub fn cumsum(&self, axis: Option<isize>, reverse: bool, inclusive: bool) -> Result<Array> {
        cumsum(self, axis, reverse, inclusive)
    }
    /// Cumulative product; see [`cumprod`].
    pub fn cumprod(&self, axis: Option<isize>, reverse: bool, inclusive: bool) -> Result<Array> {
        cumprod(self, axis, reverse, inclusive)
    }
    /// Cumulative maximum; see [`cummax`].
    pub fn cummax(&self, axis: Option<isize>, reverse: bool, inclusive: bool) -> Result<Array> {
        cummax(self, axis, reverse, inclusive)
    }
    /// Cumulative minimum; see [`cummin`].
    pub fn cummin(&self, axis: Option<isize>, reverse: bool, inclusive: bool) -> Result<Array> {
        cummin(self, axis, reverse, inclusive)
    }
}
