//! Basic slicing: [`SliceArg`] / [`s!`](crate::s), `slice` (a view), `slice_update` (functional
//! region replacement) and `split`.

use std::ops::{Range, RangeFrom, RangeFull, RangeTo};
use std::sync::Arc;

use super::normalize_axis;
use crate::checked::Checked;
use crate::primitives::slicing::{Slice, SliceUpdate};
use crate::{bail, Array, Result};

/// One axis of a slice, as Python's `start:stop:step`: `None` bounds take the default for the
/// step's direction, negative bounds count from the end, out-of-range bounds are clamped, and the
/// step may be negative (not 0).
///
/// Converts from Rust ranges over `isize` (`0..2`, `1..`, `..3`, `..`) and from
/// `(start, stop, step)` tuples; [`SliceArg::step`] sets a step on a range.
///
/// ```
/// use rmlx_core::{s, Array, SliceArg};
/// let x = Array::from_slice(&[0i32, 1, 2, 3, 4, 5], &[2, 3])?;
/// // x[:, ::-1]
/// assert_eq!(x.slice(s![.., SliceArg::from(..).step(-1)])?.to_vec::<i32>()?, vec![2, 1, 0, 5, 4, 3]);
/// // x[1:, 0:2]
/// assert_eq!(x.slice(s![1.., 0..2])?.to_vec::<i32>()?, vec![3, 4]);
/// // x[-1, 0::2] keeping the axis: (start, stop, step) tuples
/// assert_eq!(x.slice(&[(-1, None, 1).into(), (0, None, 2).into()])?.to_vec::<i32>()?, vec![3, 5]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SliceArg {
    /// First index (`None`: 0, or the last index for a negative step).
    pub start: Option<isize>,
    /// End, excluded (`None`: past the end in the step's direction).
    pub stop: Option<isize>,
    /// Step (non-zero).
    pub step: isize,
}

impl SliceArg {
    /// `start:stop:step`.
    pub fn new(start: Option<isize>, stop: Option<isize>, step: isize) -> SliceArg {
        SliceArg { start, stop, step }
    }

    /// The whole axis (`:`).
    pub fn all() -> SliceArg {
        SliceArg::new(None, None, 1)
    }

    /// The same bounds with another step.
    pub fn step(self, step: isize) -> SliceArg {
        SliceArg { step, ..self }
    }

    /// Resolves against an axis of length `n`: `(first index, step, number of elements)`.
    pub fn resolve(&self, op: &str, n: usize) -> Result<(usize, isize, usize)> {
        let step = self.step;
        if step == 0 {
            bail!(Value, "{op}: slice step cannot be zero");
        }
        let n = n as isize;
        let norm = |v: isize| if v < 0 { v + n } else { v };
        let (start, len) = if step > 0 {
            let start = self.start.map_or(0, |s| norm(s).clamp(0, n));
            let stop = self.stop.map_or(n, |s| norm(s).clamp(0, n));
            let len = if stop > start {
                (stop - start + step - 1) / step
            } else {
                0
            };
            (start, len)
        } else {
            let start = self.start.map_or(n - 1, |s| norm(s).clamp(-1, n - 1));
            let stop = self.stop.map_or(-1, |s| norm(s).clamp(-1, n - 1));
            let len = if start > stop {
                (start - stop - step - 1) / -step
            } else {
                0
            };
            (start, len)
        };
        Ok((if len > 0 { start as usize } else { 0 }, step, len as usize))
    }
}

impl From<RangeFull> for SliceArg {
    fn from(_: RangeFull) -> SliceArg {
        SliceArg::all()
    }
}
impl From<Range<isize>> for SliceArg {
    fn from(r: Range<isize>) -> SliceArg {
        SliceArg::new(Some(r.start), Some(r.end), 1)
    }
}
impl From<RangeFrom<isize>> for SliceArg {
    fn from(r: RangeFrom<isize>) -> SliceArg {
        SliceArg::new(Some(r.start), None, 1)
    }
}
impl From<RangeTo<isize>> for SliceArg {
    fn from(r: RangeTo<isize>) -> SliceArg {
        SliceArg::new(None, Some(r.end), 1)
    }
}
impl From<(isize, Option<isize>, isize)> for SliceArg {
    fn from((start, stop, step): (isize, Option<isize>, isize)) -> SliceArg {
        SliceArg::new(Some(start), stop, step)
    }
}
impl From<(Option<isize>, Option<isize>, isize)> for SliceArg {
    fn from((start, stop, step): (Option<isize>, Option<isize>, isize)) -> SliceArg {
        SliceArg::new(start, stop, step)
    }
}

/// Builds a `&[SliceArg]` from ranges, tuples or [`SliceArg`]s: `x.slice(s![1.., ..2, ..])`.
#[macro_export]
macro_rules! s {
    ($($e:expr),* $(,)?) => {
        &[$($crate::SliceArg::from($e)),*][..]
    };
}

/// Resolves one `SliceArg` per leading axis (missing axes are whole): starts, steps, shape.
fn resolve_all(
    op: &str,
    shape: &[usize],
    args: &[SliceArg],
) -> Result<(Vec<usize>, Vec<isize>, Vec<usize>)> {
    if args.len() > shape.len() {
        bail!(
            Axis,
            "{op}: too many indices ({}) for array of dimension {}",
            args.len(),
            shape.len()
        );
    }
    let mut starts = Vec::with_capacity(shape.len());
    let mut steps = Vec::with_capacity(shape.len());
    let mut out = Vec::with_capacity(shape.len());
    for (ax, &n) in shape.iter().enumerate() {
        let arg = args.get(ax).copied().unwrap_or(SliceArg::all());
        let (s, st, len) = arg.resolve(op, n)?;
        starts.push(s);
        steps.push(st);
        out.push(len);
    }
    Ok((starts, steps, out))
}

/// Builds a `Slice` node (starts/steps already resolved, `shape` the kept lengths).
pub(crate) fn slice_raw(
    a: &Array,
    starts: &[usize],
    steps: &[isize],
    shape: &[usize],
) -> Result<Array> {
    if shape == a.shape() && starts.iter().all(|&s| s == 0) && steps.iter().all(|&s| s == 1) {
        return Ok(a.clone());
    }
    Ok(Array::from_primitive(
        shape.to_vec(),
        a.dtype(),
        Arc::new(Slice {
            starts: starts.to_vec(),
            steps: steps.to_vec(),
            shape: shape.to_vec(),
        }),
        vec![a.clone()],
    ))
}

/// Builds a `SliceUpdate` node; `update` is cast to `src`'s dtype and broadcast to the region.
pub(crate) fn slice_update_raw(
    src: &Array,
    update: &Array,
    starts: &[usize],
    steps: &[isize],
) -> Result<Array> {
    let upd = update.astype(src.dtype())?;
    Ok(Array::from_primitive(
        src.shape().to_vec(),
        src.dtype(),
        Arc::new(SliceUpdate {
            starts: starts.to_vec(),
            steps: steps.to_vec(),
        }),
        vec![src.clone(), upd],
    ))
}

/// `a[args]` with Python slice semantics, one [`SliceArg`] per leading axis (missing trailing axes
/// are taken whole). A view: no copy.
pub fn slice(a: &Array, args: &[SliceArg]) -> Result<Array> {
    let (starts, steps, shape) = resolve_all("slice", a.shape(), args)?;
    slice_raw(a, &starts, &steps, &shape)
}

/// A copy of `src` with the region `src[args]` replaced by `update` (broadcast to the region and
/// cast to `src`'s dtype). MLX's `slice_update`; `src` itself is unchanged.
///
/// ```
/// use rmlx_core::{s, Array};
/// let x = Array::from_slice(&[0i32; 6], &[2, 3])?;
/// let y = x.slice_update(&Array::from_slice(&[7i32, 8], &[2])?, s![.., 1..])?;
/// assert_eq!(y.to_vec::<i32>()?, vec![0, 7, 8, 0, 7, 8]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn slice_update(src: &Array, update: &Array, args: &[SliceArg]) -> Result<Array> {
    let (starts, steps, shape) = resolve_all("slice_update", src.shape(), args)?;
    let b = super::broadcast_shapes("slice_update", update.shape(), &shape)?;
    if b != shape {
        bail!(
            Shape,
            "slice_update: update of shape {:?} cannot be broadcast to the region of shape {:?}",
            update.shape(),
            shape
        );
    }
    let upd = update.astype(src.dtype())?.broadcast_to(&shape)?;
    slice_update_raw(src, &upd, &starts, &steps)
}

/// How [`split`] divides an axis: into `n` equal parts, or at the given indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SplitSpec {
    /// This many equal parts (the axis length must be divisible).
    Sections(usize),
    /// Split before each of these indices (numpy's `indices_or_sections` list).
    Indices(Vec<isize>),
}

impl From<usize> for SplitSpec {
    fn from(n: usize) -> SplitSpec {
        SplitSpec::Sections(n)
    }
}
impl From<&[isize]> for SplitSpec {
    fn from(v: &[isize]) -> SplitSpec {
        SplitSpec::Indices(v.to_vec())
    }
}
impl From<Vec<isize>> for SplitSpec {
    fn from(v: Vec<isize>) -> SplitSpec {
        SplitSpec::Indices(v)
    }
}
impl<const N: usize> From<[isize; N]> for SplitSpec {
    fn from(v: [isize; N]) -> SplitSpec {
        SplitSpec::Indices(v.to_vec())
    }
}

/// Splits `a` along `axis` into views: `split(&a, 3, 0)` (equal parts) or
/// `split(&a, [2, 5], 0)` (`a[:2]`, `a[2:5]`, `a[5:]`).
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[0i32, 1, 2, 3, 4, 5], &[6])?;
/// let parts = mx::split(&a, [1, 4], 0)?;
/// assert_eq!(parts[1].to_vec::<i32>()?, vec![1, 2, 3]);
/// assert_eq!(mx::split(&a, 3usize, 0)?.len(), 3);
/// assert!(mx::split(&a, 4usize, 0).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn split(a: &Array, spec: impl Into<SplitSpec>, axis: isize) -> Result<Vec<Array>> {
    let ax = normalize_axis("split", axis, a.ndim())?;
    let n = *a.shape().at(ax)?;
    let bounds: Vec<isize> = match spec.into() {
        SplitSpec::Sections(k) => {
            if k == 0 || !n.is_multiple_of(k) {
                bail!(
                    Value,
                    "split: array of size {n} along axis {axis} cannot be split into {k} equal parts"
                );
            }
            (1..k).map(|i| (i * n / k) as isize).collect()
        }
        SplitSpec::Indices(v) => v,
    };
    let mut out = Vec::with_capacity(bounds.len() + 1);
    let mut prev: Option<isize> = None;
    for b in bounds.iter().map(|&b| Some(b)).chain(std::iter::once(None)) {
        let mut args = vec![SliceArg::all(); ax + 1];
        *args.at_mut(ax)? = SliceArg::new(prev.or(Some(0)), b, 1);
        out.push(slice(a, &args)?);
        prev = b;
    }
    Ok(out)
}

impl Array {
    /// `self[args]`; see [`slice`]. A view.
    pub fn slice(&self, args: &[SliceArg]) -> Result<Array> {
        slice(self, args)
    }

    /// A copy with `self[args]` replaced by `update`; see [`slice_update`].
    pub fn slice_update(&self, update: &Array, args: &[SliceArg]) -> Result<Array> {
        slice_update(self, update, args)
    }

    /// Splits along `axis`; see [`split`].
    pub fn split(&self, spec: impl Into<SplitSpec>, axis: isize) -> Result<Vec<Array>> {
        split(self, spec, axis)
    }
}
