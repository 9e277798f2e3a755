//! Everyday ops MLX has that compose from the primitives: `flip`, `roll`, `isclose`,
//! `allclose`, `array_equal`, `nan_to_num`, `logical_xor`, `count_nonzero`, `trunc`,
//! `atleast_1d/2d/3d`, `unstack`, `diagonal`, `diag`, `trace`, `meshgrid`, `kron`, `vecdot`,
//! `median`, and the windows `hanning`, `hamming`, `blackman`, `bartlett`.
//! Being compositions, each differentiates, vectorises and broadcasts as its parts do.

use super::{normalize_axis, Axes, SliceArg};
use crate::checked::Checked;
use crate::{bail, Array, Dtype, Result};

/// `a` reversed along `axes` (every axis for [`Axes::All`]), MLX's `mx.flip`. A view.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[1i32, 2, 3, 4, 5, 6], &[2, 3])?;
/// assert_eq!(mx::flip(&a, 1)?.to_vec::<i32>()?, vec![3, 2, 1, 6, 5, 4]);
/// assert_eq!(mx::flip(&a, None)?.to_vec::<i32>()?, vec![6, 5, 4, 3, 2, 1]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn flip(a: &Array, axes: impl Into<Axes>) -> Result<Array> {
    let axes = axes.into().resolve("flip", a.ndim())?;
    let args: Vec<SliceArg> = (0..a.ndim())
        .map(|d| {
            if axes.contains(&d) {
                SliceArg::all().step(-1)
            } else {
                SliceArg::all()
            }
        })
        .collect();
    a.slice(&args)
}

/// `a` shifted by `shift` places along `axis`, elements leaving one end entering at the other
/// (MLX's `mx.roll`); `axis = None` rolls the flattened array and keeps the shape.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[1i32, 2, 3, 4, 5, 6], &[2, 3])?;
/// assert_eq!(mx::roll(&a, 1, Some(1))?.to_vec::<i32>()?, vec![3, 1, 2, 6, 4, 5]);
/// assert_eq!(mx::roll(&a, -2, None)?.to_vec::<i32>()?, vec![3, 4, 5, 6, 1, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn roll(a: &Array, shift: isize, axis: Option<isize>) -> Result<Array> {
    let Some(axis) = axis else {
        return roll(&a.reshape([-1])?, shift, Some(0))?.reshape(a.shape());
    };
    let ax = normalize_axis("roll", axis, a.ndim())?;
    let n = *a.shape().at(ax)? as isize;
    if n == 0 {
        return Ok(a.clone());
    }
    let s = shift.rem_euclid(n);
    if s == 0 {
        return Ok(a.clone());
    }
    let part = |start: isize, stop: isize| -> Result<Array> {
        let mut args = vec![SliceArg::all(); ax + 1];
        *args.at_mut(ax)? = SliceArg::new(Some(start), Some(stop), 1);
        a.slice(&args)
    };
    super::concatenate(&[part(n - s, n)?, part(0, n - s)?], ax as isize)
}

/// Elementwise `|a - b| <= atol + rtol * |b|`, infinities equal only to themselves, NaN equal to
/// NaN only with `equal_nan` (MLX's `mx.isclose`; MLX's defaults are `rtol = 1e-5`,
/// `atol = 1e-8`).
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[1.0f32, f32::INFINITY, f32::NAN, 2.0], &[4])?;
/// let b = Array::from_slice(&[1.000001f32, f32::INFINITY, f32::NAN, 2.1], &[4])?;
/// assert_eq!(mx::isclose(&a, &b, 1e-5, 1e-8, false)?.to_vec::<bool>()?, vec![true, true, false, false]);
/// assert_eq!(mx::isclose(&a, &b, 1e-5, 1e-8, true)?.to_vec::<bool>()?, vec![true, true, true, false]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn isclose(a: &Array, b: &Array, rtol: f64, atol: f64, equal_nan: bool) -> Result<Array> {
    // MLX builds the tolerances as float32 arrays (not weak scalars)
    let rhs = (&Array::scalar(atol as f32) + &(&Array::scalar(rtol as f32) * &b.abs()?)?)?;
    let lhs = (a - b)?.abs()?;
    let mut out = lhs.less_equal(&rhs)?;
    let zero = Array::scalar(0.0f32);
    let pos = |x: &Array| x.isinf()?.logical_and(&x.greater(&zero)?);
    let neg = |x: &Array| x.isinf()?.logical_and(&x.less(&zero)?);
    let (ap, bp, an, bn) = (pos(a)?, pos(b)?, neg(a)?, neg(b)?);
    let any_inf = ap.logical_or(&an)?.logical_or(&bp.logical_or(&bn)?)?;
    let both_inf = ap.logical_and(&bp)?.logical_or(&an.logical_and(&bn)?)?;
    out = out
        .logical_and(&any_inf.logical_not()?)?
        .logical_or(&both_inf)?;
    if equal_nan {
        out = out.logical_or(&a.isnan()?.logical_and(&b.isnan()?)?)?;
    }
    Ok(out)
}

/// Whether every element of `a` is close to `b` ([`isclose`]), as a 0-d bool (MLX's
/// `mx.allclose`).
pub fn allclose(a: &Array, b: &Array, rtol: f64, atol: f64, equal_nan: bool) -> Result<Array> {
    isclose(a, b, rtol, atol, equal_nan)?.all(None, false)
}

/// Whether `a` and `b` have the same shape and equal elements, as a 0-d bool (MLX's
/// `mx.array_equal`; NaN equals NaN only with `equal_nan`). Different shapes give `false`, not
/// an error; the dtypes need not match.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[1i32, 2], &[2])?;
/// assert!(mx::array_equal(&a, &a.astype(mx::Dtype::F32)?, false)?.item::<bool>()?);
/// assert!(!mx::array_equal(&a, &a.reshape([1, 2])?, false)?.item::<bool>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn array_equal(a: &Array, b: &Array, equal_nan: bool) -> Result<Array> {
    if a.shape() != b.shape() {
        return Array::from_bools(&[false], &[]);
    }
    let mut eq = a.equal(b)?;
    if equal_nan {
        eq = eq.logical_or(&a.isnan()?.logical_and(&b.isnan()?)?)?;
    }
    eq.all(None, false)
}

/// `a` with NaN replaced by `nan`, +inf by `posinf` and -inf by `neginf` (the dtype's largest
/// and lowest finite values when `None`), MLX's `mx.nan_to_num`. Integer arrays come back as
/// they are.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[f32::NAN, f32::INFINITY, -1.0], &[3])?;
/// assert_eq!(mx::nan_to_num(&a, 0.0, None, Some(-9.0))?.to_vec::<f32>()?, vec![0.0, f32::MAX, -1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn nan_to_num(a: &Array, nan: f64, posinf: Option<f64>, neginf: Option<f64>) -> Result<Array> {
    let dtype = a.dtype();
    if !dtype.is_float() {
        return Ok(a.clone());
    }
    let max = match dtype {
        Dtype::F32 => f32::MAX as f64,
        Dtype::F16 => half::f16::MAX.to_f64(),
        Dtype::Bf16 => half::bf16::MAX.to_f64(),
        Dtype::F64 => f64::MAX,
        d => bail!(Dtype, "[nan_to_num] Does not yet support given type: {d}."),
    };
    let zero = Array::scalar(0.0f32);
    let value = |v: f64| Array::scalar_as(v, dtype);
    let out = a.isnan()?.where_(&value(nan), a)?;
    let inf = a.isinf()?;
    let out = inf
        .logical_and(&a.greater(&zero)?)?
        .where_(&value(posinf.unwrap_or(max)), &out)?;
    inf.logical_and(&a.less(&zero)?)?
        .where_(&value(neginf.unwrap_or(-max)), &out)
}

/// Elementwise exclusive or of the operands as bools (MLX's `mx.logical_xor`).
pub fn logical_xor(a: &Array, b: &Array) -> Result<Array> {
    a.astype(Dtype::Bool)?.not_equal(&b.astype(Dtype::Bool)?)
}

/// The number of non-zero elements over `axes` (MLX's `mx.count_nonzero`), as int32 (the sum of
/// a bool array).
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[0i32, 3, 0, 4, 5, 0], &[2, 3])?;
/// assert_eq!(mx::count_nonzero(&a, 1, false)?.to_vec::<i32>()?, vec![1, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn count_nonzero(a: &Array, axes: impl Into<Axes>, keepdims: bool) -> Result<Array> {
    let nz = a.not_equal(&Array::scalar_as(0.0, a.dtype()))?;
    nz.sum(axes, keepdims)
}

/// Rounds toward zero (MLX's `mx.trunc`); integers are returned as they are.
pub fn trunc(a: &Array) -> Result<Array> {
    if !a.dtype().is_float() {
        return Ok(a.clone());
    }
    let zero = Array::scalar_as(0.0, a.dtype());
    a.less(&zero)?.where_(&a.ceil()?, &a.floor()?)
}

/// `a` with at least one axis (a 0-d array becomes `[1]`), MLX's `mx.atleast_1d`.
pub fn atleast_1d(a: &Array) -> Result<Array> {
    if a.ndim() >= 1 {
        Ok(a.clone())
    } else {
        a.reshape([1])
    }
}

/// `a` with at least two axes (`[n]` becomes `[1, n]`), MLX's `mx.atleast_2d`.
pub fn atleast_2d(a: &Array) -> Result<Array> {
    match a.ndim() {
        0 => a.reshape([1, 1]),
        1 => a.expand_dims(0),
        _ => Ok(a.clone()),
    }
}

/// `a` with at least three axes (`[n]` becomes `[1, n, 1]`, `[m, n]` becomes `[m, n, 1]`), MLX's
/// `mx.atleast_3d`.
pub fn atleast_3d(a: &Array) -> Result<Array> {
    match a.ndim() {
        0 => a.reshape([1, 1, 1]),
        1 => a.reshape([1, *a.shape().at(0)? as isize, 1]),
        2 => a.expand_dims(2),
        _ => Ok(a.clone()),
    }
}

/// The slices of `a` along `axis`, each without that axis (MLX's `mx.unstack`).
pub fn unstack(a: &Array, axis: isize) -> Result<Vec<Array>> {
    let ax = normalize_axis("unstack", axis, a.ndim())?;
    (0..*a.shape().at(ax)?)
        .map(|i| {
            let mut args = vec![SliceArg::all(); ax + 1];
            *args.at_mut(ax)? = SliceArg::new(Some(i as isize), Some(i as isize + 1), 1);
            a.slice(&args)?.squeeze(ax as isize)
        })
        .collect()
}

/// The diagonal at `offset` of the 2-D slices on `axis1`, `axis2`, as a new last axis (MLX's
/// `mx.diagonal`, numpy's layout).
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[0i32, 1, 2, 3, 4, 5, 6, 7, 8], &[3, 3])?;
/// assert_eq!(mx::diagonal(&a, 0, 0, 1)?.to_vec::<i32>()?, vec![0, 4, 8]);
/// assert_eq!(mx::diagonal(&a, 1, 0, 1)?.to_vec::<i32>()?, vec![1, 5]);
/// assert_eq!(mx::diagonal(&a, -2, 0, 1)?.to_vec::<i32>()?, vec![6]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn diagonal(a: &Array, offset: isize, axis1: isize, axis2: isize) -> Result<Array> {
    let nd = a.ndim();
    let (a1, a2) = (
        normalize_axis("diagonal", axis1, nd)?,
        normalize_axis("diagonal", axis2, nd)?,
    );
    if a1 == a2 {
        bail!(Axis, "[diagonal] axis1 and axis2 cannot be the same axis");
    }
    // the two axes last, as [.., rows, cols]
    let mut perm: Vec<usize> = (0..nd).filter(|&d| d != a1 && d != a2).collect();
    perm.extend([a1, a2]);
    let t = a.transpose_axes(&perm)?;
    let (rows, cols) = (*a.shape().at(a1)? as isize, *a.shape().at(a2)? as isize);
    let (r0, c0) = if offset >= 0 {
        (0, offset)
    } else {
        (-offset, 0)
    };
    let len = (rows - r0).min(cols - c0).max(0) as usize;
    let idx: Vec<i32> = (0..len as isize)
        .map(|i| ((r0 + i) * cols + c0 + i) as i32)
        .collect();
    let mut flat_shape: Vec<isize> = t
        .shape()
        .span(..nd - 2)?
        .iter()
        .map(|&d| d as isize)
        .collect();
    flat_shape.push(rows * cols);
    let flat = t.reshape(flat_shape)?;
    flat.take(&Array::from_vec(idx, &[len])?, Some(-1))
}

/// The diagonal at `k` of a 2-D `a`, or the 2-D matrix with the 1-D `a` on its `k`-th diagonal
/// (MLX's `mx.diag`).
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let v = Array::from_slice(&[1i32, 2], &[2])?;
/// assert_eq!(mx::diag(&v, 1)?.to_vec::<i32>()?, vec![0, 1, 0, 0, 0, 2, 0, 0, 0]);
/// assert_eq!(mx::diag(&mx::diag(&v, 0)?, 0)?.to_vec::<i32>()?, vec![1, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn diag(a: &Array, k: isize) -> Result<Array> {
    match a.ndim() {
        1 => {
            let n = *a.shape().at(0)?;
            let m = n + k.unsigned_abs();
            let padded = a.pad(&[(0, k.unsigned_abs())], 0)?;
            let e = super::eye(m, None, k, a.dtype())?;
            if k >= 0 {
                &padded.expand_dims(1)? * &e
            } else {
                &padded.expand_dims(0)? * &e
            }
        }
        2 => diagonal(a, k, 0, 1),
        d => bail!(Shape, "[diag] array must be 1-D or 2-D, got {d}-D"),
    }
}

/// The sum of the diagonal at `offset` over `axis1`, `axis2` (MLX's `mx.trace`), in `dtype`
/// (the sum's usual dtype when `None`).
pub fn trace(
    a: &Array,
    offset: isize,
    axis1: isize,
    axis2: isize,
    dtype: Option<Dtype>,
) -> Result<Array> {
    let d = diagonal(a, offset, axis1, axis2)?;
    let d = match dtype {
        Some(t) => d.astype(t)?,
        None => d,
    };
    d.sum(-1, false)
}

/// Coordinate matrices from 1-D coordinate vectors (MLX's `mx.meshgrid`): `indexing` `"xy"`
/// (Cartesian, the first two output axes swapped) or `"ij"` (matrix); `sparse` keeps size-1
/// axes instead of broadcasting.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[1i32, 2, 3], &[3])?;
/// let y = Array::from_slice(&[4i32, 5], &[2])?;
/// let g = mx::meshgrid(&[x, y], false, "xy")?;
/// assert_eq!(g[0].shape(), &[2, 3]);
/// assert_eq!(g[0].to_vec::<i32>()?, vec![1, 2, 3, 1, 2, 3]);
/// assert_eq!(g[1].to_vec::<i32>()?, vec![4, 4, 4, 5, 5, 5]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn meshgrid(arrays: &[Array], sparse: bool, indexing: &str) -> Result<Vec<Array>> {
    if indexing != "xy" && indexing != "ij" {
        bail!(
            Value,
            "[meshgrid] Invalid indexing value. Valid values are 'xy' and 'ij'."
        );
    }
    let n = arrays.len();
    let flat: Vec<Array> = arrays
        .iter()
        .map(|a| a.reshape([-1]))
        .collect::<Result<_>>()?;
    let mut full: Vec<usize> = flat.iter().map(Array::size).collect();
    let swap = indexing == "xy" && n >= 2;
    if swap {
        full.swap(0, 1);
    }
    flat.iter()
        .enumerate()
        .map(|(i, a)| {
            let mut pos = i;
            if swap && i < 2 {
                pos = 1 - i;
            }
            let mut shape = vec![1usize; n];
            *shape.at_mut(pos)? = *a.shape().at(0)?;
            let r = a.reshape(&shape)?;
            if sparse {
                Ok(r)
            } else {
                r.broadcast_to(&full)
            }
        })
        .collect()
}

/// The Kronecker product (MLX's `mx.kron`): every element of `a` times the whole of `b`, laid
/// out block by block.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[1i32, 2], &[2])?;
/// let b = Array::from_slice(&[1i32, 10, 100], &[3])?;
/// assert_eq!(mx::kron(&a, &b)?.to_vec::<i32>()?, vec![1, 10, 100, 2, 20, 200]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn kron(a: &Array, b: &Array) -> Result<Array> {
    let nd = a.ndim().max(b.ndim());
    let pad = |x: &Array| -> Vec<usize> {
        let mut s = vec![1usize; nd - x.ndim()];
        s.extend_from_slice(x.shape());
        s
    };
    let (sa, sb) = (pad(a), pad(b));
    let mut ia = Vec::with_capacity(2 * nd);
    let mut ib = Vec::with_capacity(2 * nd);
    for (&x, &y) in sa.iter().zip(&sb) {
        ia.extend([x, 1]);
        ib.extend([1, y]);
    }
    let prod = (&a.reshape(&ia)? * &b.reshape(&ib)?)?;
    let out: Vec<usize> = sa.iter().zip(&sb).map(|(x, y)| x * y).collect();
    prod.reshape(&out)
}

/// The dot product of `a` and `b` along `axis` after broadcasting (MLX's `mx.vecdot`).
pub fn vecdot(a: &Array, b: &Array, axis: isize) -> Result<Array> {
    (a * b)?.sum(axis, false)
}

/// The median over `axes` (MLX's `mx.median`): the axes are flattened together and sorted; an
/// even count averages the two middle values; a NaN anywhere gives NaN. Integer input gives
/// float32.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[1.0f32, 3.0, 2.0, 4.0, 5.0, 7.0, 6.0, 9.0], &[2, 4])?;
/// assert_eq!(mx::median(&a, 1, false)?.to_vec::<f32>()?, vec![2.5, 6.5]);
/// assert_eq!(mx::median(&a, None, false)?.item::<f32>()?, 4.5);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn median(a: &Array, axes: impl Into<Axes>, keepdims: bool) -> Result<Array> {
    let axes = axes.into().resolve("median", a.ndim())?;
    let dtype = if a.dtype().is_float() {
        a.dtype()
    } else {
        Dtype::F32
    };
    let mut perm: Vec<usize> = (0..a.ndim()).filter(|d| !axes.contains(d)).collect();
    let kept = perm.len();
    perm.extend(&axes);
    let mut flat_shape: Vec<isize> = a
        .shape()
        .pick(perm.span(..kept)?)?
        .into_iter()
        .map(|d| d as isize)
        .collect();
    flat_shape.push(-1);
    let flat = if a.ndim() == 0 {
        a.reshape([1])?
    } else {
        a.transpose_axes(&perm)?.reshape(flat_shape)?
    };
    let n = *flat.shape().last().unwrap_or(&0);
    if n == 0 {
        bail!(Value, "[median] Cannot take median along empty axis.");
    }
    let sorted = flat.sort(-1)?;
    let at = |i: usize| -> Result<Array> {
        let mut args = vec![SliceArg::all(); sorted.ndim().saturating_sub(1)];
        args.push(SliceArg::new(Some(i as isize), Some(i as isize + 1), 1));
        sorted.slice(&args)?.astype(dtype)
    };
    let mp = n / 2;
    let mut m = at(mp)?;
    if n % 2 == 0 {
        m = (&(&m + &at(mp - 1)?)? * &Array::scalar_as(0.5, dtype))?;
    }
    // sorting moves NaN to the end, so the middle never picks it: propagate it as max/mean do
    if a.dtype().is_float() {
        let any_nan = flat.isnan()?.any(-1, true)?;
        m = any_nan.where_(&Array::scalar_as(f64::NAN, dtype), &m)?;
    }
    let m = m.squeeze(-1)?;
    if keepdims {
        let mut shape = a.shape().to_vec();
        for &d in &axes {
            *shape.at_mut(d)? = 1;
        }
        m.reshape(&shape)
    } else {
        Ok(m)
    }
}

/// `M` points of a window, float32 (empty for `M = 0`, `[1]` for `M = 1`), from `n = 0 .. M`.
fn window(m: usize, f: impl FnOnce(&Array, f32) -> Result<Array>) -> Result<Array> {
    match m {
        0 => super::zeros(&[0], Dtype::F32),
        1 => super::ones(&[1], Dtype::F32),
        _ => {
            let n = super::arange(0.0, m as f64, 1.0, Dtype::F32)?;
            f(&n, (m - 1) as f32)
        }
    }
}

/// The Hanning window `sin(pi n / (M - 1))^2` (MLX's `mx.hanning`).
pub fn hanning(m: usize) -> Result<Array> {
    window(m, |n, d| {
        let factor = Array::scalar((std::f64::consts::PI / d as f64) as f32);
        (&factor * n)?.sin()?.square()
    })
}

/// The Hamming window `0.54 - 0.46 cos(2 pi n / (M - 1))` (MLX's `mx.hamming`).
pub fn hamming(m: usize) -> Result<Array> {
    window(m, |n, d| {
        let factor = Array::scalar((2.0 * std::f64::consts::PI / d as f64) as f32);
        let c = (&factor * n)?.cos()?;
        &Array::scalar(0.54f32) - &(&Array::scalar(0.46f32) * &c)?
    })
}

/// The Blackman window `0.34 - 0.5 cos(x) + 0.16 cos(x)^2`, `x = 2 pi n / (M - 1)` (MLX's
/// `mx.blackman`, the same window as `0.42 - 0.5 cos x + 0.08 cos 2x`).
pub fn blackman(m: usize) -> Result<Array> {
    window(m, |n, d| {
        let factor = Array::scalar((2.0 * std::f64::consts::PI / d as f64) as f32);
        let c = (&factor * n)?.cos()?;
        let t1 = (&Array::scalar(0.5f32) * &c)?;
        let t2 = (&Array::scalar(0.16f32) * &c.square()?)?;
        &(&Array::scalar(0.34f32) - &t1)? + &t2
    })
}

/// The Bartlett (triangular) window `1 - |2 n / (M - 1) - 1|` (MLX's `mx.bartlett`).
///
/// ```
/// use rmlx_core as mx;
/// assert_eq!(mx::bartlett(5)?.to_vec::<f32>()?, vec![0.0, 0.5, 1.0, 0.5, 0.0]);
/// assert_eq!(mx::hanning(1)?.to_vec::<f32>()?, vec![1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn bartlett(m: usize) -> Result<Array> {
    window(m, |n, d| {
        let factor = Array::scalar(2.0f32 / d);
        let term = (&(&factor * n)? - &Array::scalar(1.0f32))?;
        &Array::scalar(1.0f32) - &term.abs()?
    })
}

/// Machine limits of a floating-point dtype (MLX's `mx.finfo`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FInfo {
    /// The dtype described.
    pub dtype: Dtype,
    /// Its width in bits.
    pub bits: usize,
    /// The lowest finite value (`-max`).
    pub min: f64,
    /// The largest finite value.
    pub max: f64,
    /// The gap between 1 and the next representable value.
    pub eps: f64,
    /// The smallest positive normal value.
    pub smallest_normal: f64,
}

/// The limits of a floating-point dtype; an integer or bool dtype is an error (MLX's
/// `mx.finfo`).
///
/// ```
/// use rmlx_core::{self as mx, Dtype};
/// let f = mx::finfo(Dtype::F16)?;
/// assert_eq!((f.max, f.eps, f.bits), (65504.0, 0.0009765625, 16));
/// assert!(mx::finfo(Dtype::I32).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn finfo(dtype: Dtype) -> Result<FInfo> {
    let (max, eps, smallest_normal) = match dtype {
        Dtype::F32 => (
            f32::MAX as f64,
            f32::EPSILON as f64,
            f32::MIN_POSITIVE as f64,
        ),
        Dtype::F64 => (f64::MAX, f64::EPSILON, f64::MIN_POSITIVE),
        Dtype::F16 => (
            half::f16::MAX.to_f64(),
            half::f16::EPSILON.to_f64(),
            half::f16::MIN_POSITIVE.to_f64(),
        ),
        Dtype::Bf16 => (
            half::bf16::MAX.to_f64(),
            half::bf16::EPSILON.to_f64(),
            half::bf16::MIN_POSITIVE.to_f64(),
        ),
        d => bail!(Dtype, "[finfo] dtype {d} is not inexact."),
    };
    Ok(FInfo {
        dtype,
        bits: dtype.size() * 8,
        min: -max,
        max,
        eps,
        smallest_normal,
    })
}

/// Limits of an integer dtype (MLX's `mx.iinfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IInfo {
    /// The dtype described.
    pub dtype: Dtype,
    /// The lowest value.
    pub min: i128,
    /// The largest value.
    pub max: i128,
}

/// The limits of an integer dtype; a float or bool dtype is an error (MLX's `mx.iinfo`).
///
/// ```
/// use rmlx_core::{self as mx, Dtype};
/// assert_eq!((mx::iinfo(Dtype::I8)?.min, mx::iinfo(Dtype::I8)?.max), (-128, 127));
/// assert_eq!(mx::iinfo(Dtype::U64)?.max, u64::MAX as i128);
/// assert!(mx::iinfo(Dtype::F32).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn iinfo(dtype: Dtype) -> Result<IInfo> {
    let (min, max) = match dtype {
        Dtype::I8 => (i8::MIN as i128, i8::MAX as i128),
        Dtype::I16 => (i16::MIN as i128, i16::MAX as i128),
        Dtype::I32 => (i32::MIN as i128, i32::MAX as i128),
        Dtype::I64 => (i64::MIN as i128, i64::MAX as i128),
        Dtype::U8 => (0, u8::MAX as i128),
        Dtype::U16 => (0, u16::MAX as i128),
        Dtype::U32 => (0, u32::MAX as i128),
        Dtype::U64 => (0, u64::MAX as i128),
        d => bail!(
            Dtype,
            "[iinfo] Only integer types supported but {d} was provided"
        ),
    };
    Ok(IInfo { dtype, min, max })
}

/// The array methods MLX offers for these ops (`x.diag()`, `x.diagonal()`, `x.mT`…).
impl Array {
    /// [`diag`] as a method (`x.diag(k)`).
    pub fn diag(&self, k: isize) -> Result<Array> {
        diag(self, k)
    }

    /// [`diagonal`] as a method (`x.diagonal(offset, axis1, axis2)`).
    pub fn diagonal(&self, offset: isize, axis1: isize, axis2: isize) -> Result<Array> {
        diagonal(self, offset, axis1, axis2)
    }

    /// The last two axes swapped (MLX's `x.mT`, [`matrix_transpose`](super::matrix_transpose)).
    pub fn mt(&self) -> Result<Array> {
        super::matrix_transpose(self)
    }

    /// [`view`](super::view) as a method: the same bytes seen as `dtype` (`x.view(dtype)`).
    pub fn view(&self, dtype: Dtype) -> Result<Array> {
        super::view(self, dtype)
    }

    /// [`logcumsumexp`](super::logcumsumexp) as a method.
    pub fn logcumsumexp(
        &self,
        axis: Option<isize>,
        reverse: bool,
        inclusive: bool,
    ) -> Result<Array> {
        super::logcumsumexp(self, axis, reverse, inclusive)
    }

    /// The size of one element in bytes (MLX's `x.itemsize`).
    pub fn itemsize(&self) -> usize {
        self.dtype().size()
    }

    /// The elements' bytes in row-major order, little-endian (Python's `bytes(x)`); evaluates.
    ///
    /// ```
    /// use rmlx_core::{self as mx, Array};
    /// let x = Array::from_slice(&[1u16, 258], &[2])?;
    /// assert_eq!(x.to_bytes()?, vec![1, 0, 2, 1]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let d = crate::io::row_major(self)?;
        Ok(crate::io::row_major_bytes(&d)?.to_vec())
    }
}
