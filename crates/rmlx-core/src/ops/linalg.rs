//! Matrix products: `matmul` (numpy rules), `addmm`, `outer`, `inner`, `tensordot`, and the
//! `linalg` namespace: `norm` here, the factorisations (`qr`, `svd`, `inv`, `cholesky`, `eigh`,
//! `lu`, `solve`, `det`…) from `factor.rs`.

use std::sync::Arc;

pub use super::factor::{
    cholesky, cholesky_inv, cross, det, eig, eigh, eigvals, eigvalsh, inv, lu, lu_factor, pinv, qr,
    slogdet, solve, solve_triangular, svd, tri_inv,
};
use super::{broadcast_shapes, normalize_axes};
use crate::checked::Checked;
use crate::primitives::matmul::{AddMM, Matmul};
use crate::{bail, Array, Dtype, Result};

/// The common inexact dtype of matrix-product operands (MLX multiplies floats and complex64).
fn float_dtype(op: &str, dtypes: &[Dtype]) -> Result<Dtype> {
    let mut d = *dtypes.at(0)?;
    for &x in dtypes.span(1..)? {
        d = Dtype::promote(d, x);
    }
    if !d.is_inexact() {
        let names: Vec<&str> = dtypes.iter().map(|d| d.name()).collect();
        bail!(
            Dtype,
            "{op}: only floating point types are supported, got {} (promoted to {d})",
            names.join(" and ")
        );
    }
    Ok(d)
}

/// Swaps the last two axes (a view).
pub(crate) fn swap_last(x: &Array) -> Result<Array> {
    let nd = x.ndim();
    if nd < 2 {
        bail!(
            Shape,
            "expected an array of at least 2 dimensions, got shape {:?}",
            x.shape()
        );
    }
    let mut perm: Vec<usize> = (0..nd).collect();
    perm.swap(nd - 2, nd - 1);
    x.transpose_axes(&perm)
}

/// Operands of a matrix product made ready for the primitive: both at least 2-D with the same
/// (broadcast) batch axes, in one float dtype.
/// For `a` of shape `[batch.., m, k]` (at least 3-D) times a 2-D `b` of matching `k`: the row
/// count `batch * m`, `k` and the leading shape `[batch.., m]`, so the product can run as one 2-D
/// product (as MLX's CPU backend does). `None` when the shapes do not have that form (including
/// every error case, which [`prepare`] then reports).
fn foldable(a: &Array, b: &Array) -> Option<(usize, usize, Vec<usize>)> {
    if a.ndim() < 3 || b.ndim() != 2 {
        return None;
    }
    let k = *a.shape().last()?;
    if k != *b.shape().first()? || k == 0 {
        return None;
    }
    let lead = a.shape().get(..a.ndim() - 1)?.to_vec();
    Some((lead.iter().product(), k, lead))
}

struct Prepared {
    a: Array,
    b: Array,
    /// Output shape the primitive computes (`[batch.., m, n]`).
    inner_shape: Vec<usize>,
    /// The shape the user gets (1-D operands' added axes removed).
    out_shape: Vec<usize>,
    dtype: Dtype,
}

fn prepare(op: &str, a: &Array, b: &Array, extra: &[Dtype]) -> Result<Prepared> {
    if a.ndim() == 0 || b.ndim() == 0 {
        bail!(
            Value,
            "{op}: got 0-dimensional input (shapes {:?} and {:?}); use multiply for scalars",
            a.shape(),
            b.shape()
        );
    }
    let mut dts = vec![a.dtype(), b.dtype()];
    dts.extend_from_slice(extra);
    let dtype = float_dtype(op, &dts)?;
    let a2 = if a.ndim() == 1 {
        a.reshape([1, *a.shape().at(0)?])?
    } else {
        a.clone()
    };
    let b2 = if b.ndim() == 1 {
        b.reshape([*b.shape().at(0)?, 1])?
    } else {
        b.clone()
    };
    let (na, nb) = (a2.ndim(), b2.ndim());
    let (m, k) = (*a2.shape().at(na - 2)?, *a2.shape().at(na - 1)?);
    let (kb, n) = (*b2.shape().at(nb - 2)?, *b2.shape().at(nb - 1)?);
    if k != kb {
        bail!(
            Shape,
            "{op}: contraction dims differ: lhs {:?} vs rhs {:?} (axis -2 must be {k})",
            a.shape(),
            b.shape()
        );
    }
    let batch = broadcast_shapes(op, a2.shape().span(..na - 2)?, b2.shape().span(..nb - 2)?)?;
    let mut a_shape = batch.clone();
    a_shape.extend([m, k]);
    let mut b_shape = batch.clone();
    b_shape.extend([k, n]);
    let mut inner_shape = batch.clone();
    inner_shape.extend([m, n]);
    let mut out_shape = batch;
    if a.ndim() > 1 {
        out_shape.push(m);
    }
    if b.ndim() > 1 {
        out_shape.push(n);
    }
    Ok(Prepared {
        a: a2.astype(dtype)?.broadcast_to(&a_shape)?,
        b: b2.astype(dtype)?.broadcast_to(&b_shape)?,
        inner_shape,
        out_shape,
        dtype,
    })
}

/// Matrix product with numpy's rules: the last two axes multiply, leading (batch) axes broadcast;
/// a 1-D `a` gets a leading axis and a 1-D `b` a trailing one, removed again from the result.
/// Float dtypes only (f16, bf16, f32, f64; mixed operands promote); integer inputs are an error,
/// as in MLX.
///
/// Transposed or sliced views are multiplied in place (no copy), so `x @ w.t()` is one `gemm`.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
/// let b = Array::from_slice(&[1.0f32, 0.0, 0.0, 1.0], &[2, 2])?;
/// assert_eq!(mx::matmul(&a, &b)?.to_vec::<f32>()?, vec![1.0, 2.0, 3.0, 4.0]);
/// let v = Array::from_slice(&[1.0f32, 1.0], &[2])?;
/// assert_eq!(a.matmul(&v)?.to_vec::<f32>()?, vec![3.0, 7.0]);
/// assert!(mx::matmul(&a, &Array::from_slice(&[1.0f32; 3], &[3])?).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn matmul(a: &Array, b: &Array) -> Result<Array> {
    if let Some((rows, k, lead)) = foldable(a, b) {
        // one [rows, k] @ [k, n] product instead of a batch of small ones (and, under vjp, one
        // [k, n] weight gradient instead of a batch of them summed afterwards)
        let y = matmul(&a.reshape(&[rows, k][..])?, b)?;
        return y.reshape(&[lead, vec![*b.shape().at(1)?]].concat()[..]);
    }
    let p = prepare("matmul", a, b, &[])?;
    let out = Array::from_primitive(p.inner_shape, p.dtype, Arc::new(Matmul), vec![p.a, p.b]);
    out.reshape(&p.out_shape)
}

/// `beta * c + alpha * (a @ b)` in one fused product (what `Linear` computes as
/// `addmm(bias, x, w.t(), 1.0, 1.0)`). `a @ b` follows [`matmul`]'s rules and `c` must broadcast
/// to its shape.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let c = Array::from_slice(&[10.0f32, 20.0], &[2])?;
/// let a = Array::from_slice(&[1.0f32, 2.0], &[1, 2])?;
/// let w = Array::from_slice(&[1.0f32, 0.0, 0.0, 1.0], &[2, 2])?;
/// let y = mx::addmm(&c, &a, &w.t()?, 2.0, 0.5)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![7.0, 14.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn addmm(c: &Array, a: &Array, b: &Array, alpha: f64, beta: f64) -> Result<Array> {
    if let Some((rows, k, lead)) = foldable(a, b) {
        let n = *b.shape().at(1)?;
        let mut out_shape = lead.clone();
        out_shape.push(n);
        // c must still broadcast to the batched result; a c that varies only along the last
        // axis (a bias) is kept as it is, anything else is broadcast and flattened with `a`
        let bc = broadcast_shapes("addmm", c.shape(), &out_shape)?;
        if bc == out_shape {
            let per_row = c.ndim() <= 1 || c.shape().span(..c.ndim() - 1)?.iter().all(|&d| d == 1);
            let c2 = if per_row {
                c.reshape(&[c.shape().last().copied().unwrap_or(1)][..])?
            } else {
                c.broadcast_to(&out_shape)?.reshape(&[rows, n][..])?
            };
            let y = addmm(&c2, &a.reshape(&[rows, k][..])?, b, alpha, beta)?;
            return y.reshape(&out_shape[..]);
        }
    }
    let p = prepare("addmm", a, b, &[c.dtype()])?;
    let bc = broadcast_shapes("addmm", c.shape(), &p.out_shape)?;
    if bc != p.out_shape {
        bail!(
            Shape,
            "addmm: c of shape {:?} does not broadcast to the product's shape {:?}",
            c.shape(),
            p.out_shape
        );
    }
    // c's shape with the axes a 1-D operand added put back as size 1, then broadcast
    let mut cs: Vec<usize> = vec![1; p.out_shape.len() - c.ndim()];
    cs.extend_from_slice(c.shape());
    let nd = p.inner_shape.len();
    if a.ndim() == 1 {
        cs.insert(nd - 2, 1);
    }
    if b.ndim() == 1 {
        cs.push(1);
    }
    let c2 = c
        .astype(p.dtype)?
        .reshape(&cs)?
        .broadcast_to(&p.inner_shape)?;
    let out = Array::from_primitive(
        p.inner_shape,
        p.dtype,
        Arc::new(AddMM { alpha, beta }),
        vec![c2, p.a, p.b],
    );
    out.reshape(&p.out_shape)
}

/// The outer product of the flattened `a` and `b`: `out[i, j] = a[i] * b[j]`.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[1.0f32, 2.0], &[2])?;
/// let b = Array::from_slice(&[3.0f32, 4.0, 5.0], &[3])?;
/// assert_eq!(mx::outer(&a, &b)?.to_vec::<f32>()?, vec![3.0, 4.0, 5.0, 6.0, 8.0, 10.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn outer(a: &Array, b: &Array) -> Result<Array> {
    let a2 = a.reshape([a.size(), 1])?;
    let b2 = b.reshape([1, b.size()])?;
    &a2 * &b2
}

/// The inner product over the last axes: `out[i.., j..] = sum_k a[i.., k] * b[j.., k]`; a 0-d
/// operand multiplies elementwise.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[1.0f32, 2.0, 3.0], &[3])?;
/// assert_eq!(mx::inner(&a, &a)?.item::<f32>()?, 14.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn inner(a: &Array, b: &Array) -> Result<Array> {
    if a.ndim() == 0 || b.ndim() == 0 {
        return a * b;
    }
    let (ka, kb) = (*a.shape().at(a.ndim() - 1)?, *b.shape().at(b.ndim() - 1)?);
    if ka != kb {
        bail!(
            Shape,
            "inner: last dimensions differ: {:?} vs {:?}",
            a.shape(),
            b.shape()
        );
    }
    tensordot(a, b, TensordotAxes::Pairs(vec![-1], vec![-1]))
}

/// Which axes [`tensordot`] contracts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TensordotAxes {
    /// The last `n` axes of `a` with the first `n` of `b`.
    Count(usize),
    /// `a`'s axes in the first list with `b`'s in the second, pairwise.
    Pairs(Vec<isize>, Vec<isize>),
}

impl From<usize> for TensordotAxes {
    fn from(n: usize) -> Self {
        TensordotAxes::Count(n)
    }
}
impl From<i32> for TensordotAxes {
    fn from(n: i32) -> Self {
        TensordotAxes::Count(n.max(0) as usize)
    }
}
impl<const N: usize> From<([i32; N], [i32; N])> for TensordotAxes {
    fn from((a, b): ([i32; N], [i32; N])) -> Self {
        TensordotAxes::Pairs(
            a.iter().map(|&x| x as isize).collect(),
            b.iter().map(|&x| x as isize).collect(),
        )
    }
}
impl From<(Vec<isize>, Vec<isize>)> for TensordotAxes {
    fn from((a, b): (Vec<isize>, Vec<isize>)) -> Self {
        TensordotAxes::Pairs(a, b)
    }
}

/// Sums products over the given axis pairs (numpy's `tensordot`): the result has `a`'s free axes
/// followed by `b`'s.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&(0..24).map(|v| v as f32).collect::<Vec<_>>(), &[2, 3, 4])?;
/// let b = Array::from_slice(&[1.0f32; 12], &[4, 3])?;
/// assert_eq!(mx::tensordot(&a, &b, ([1, 2], [1, 0]))?.to_vec::<f32>()?, vec![66.0, 210.0]);
/// assert_eq!(mx::tensordot(&a, &b, 1)?.shape(), &[2, 3, 3]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn tensordot(a: &Array, b: &Array, axes: impl Into<TensordotAxes>) -> Result<Array> {
    let (ax_a, ax_b) = match axes.into() {
        TensordotAxes::Count(n) => {
            if n > a.ndim() || n > b.ndim() {
                bail!(
                    Axis,
                    "tensordot: cannot contract {n} axes of shapes {:?} and {:?}",
                    a.shape(),
                    b.shape()
                );
            }
            (
                (a.ndim() - n..a.ndim()).collect::<Vec<_>>(),
                (0..n).collect::<Vec<_>>(),
            )
        }
        TensordotAxes::Pairs(x, y) => {
            if x.len() != y.len() {
                bail!(
                    Axis,
                    "tensordot: axis lists differ in length: {x:?} vs {y:?}"
                );
            }
            (
                normalize_axes("tensordot", &x, a.ndim())?,
                normalize_axes("tensordot", &y, b.ndim())?,
            )
        }
    };
    for (&i, &j) in ax_a.iter().zip(&ax_b) {
        if *a.shape().at(i)? != *b.shape().at(j)? {
            bail!(
                Shape,
                "tensordot: contracted dims differ: axis {i} of {:?} vs axis {j} of {:?}",
                a.shape(),
                b.shape()
            );
        }
    }
    let free_a: Vec<usize> = (0..a.ndim()).filter(|i| !ax_a.contains(i)).collect();
    let free_b: Vec<usize> = (0..b.ndim()).filter(|i| !ax_b.contains(i)).collect();
    let k: usize = a.shape().pick(&ax_a)?.iter().product();
    let m: usize = a.shape().pick(&free_a)?.iter().product();
    let n: usize = b.shape().pick(&free_b)?.iter().product();
    let pa: Vec<usize> = free_a.iter().chain(&ax_a).copied().collect();
    let pb: Vec<usize> = ax_b.iter().chain(&free_b).copied().collect();
    let a2 = a.transpose_axes(&pa)?.reshape([m, k])?;
    let b2 = b.transpose_axes(&pb)?.reshape([k, n])?;
    let mut shape = a.shape().pick(&free_a)?;
    shape.extend(b.shape().pick(&free_b)?);
    matmul(&a2, &b2)?.reshape(&shape)
}

impl Array {
    /// `self @ other`; see [`matmul`].
    pub fn matmul(&self, other: &Array) -> Result<Array> {
        matmul(self, other)
    }
}

/// The order of a [`norm`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NormOrd {
    /// A number: for vectors `sum(|x|^p)^(1/p)` (`0` counts non-zeros, `±inf` is the max/min of
    /// `|x|`); for matrices `1`, `-1` (max/min column sum of `|x|`), `±inf` (max/min row sum)
    /// and `2`, `-2` (largest/smallest singular value).
    P(f64),
    /// The Frobenius norm of a matrix, `sqrt(sum(x^2))`.
    Fro,
    /// The nuclear norm of a matrix: the sum of its singular values.
    Nuc,
}

impl From<f64> for NormOrd {
    fn from(p: f64) -> Self {
        NormOrd::P(p)
    }
}
impl From<i32> for NormOrd {
    fn from(p: i32) -> Self {
        NormOrd::P(p as f64)
    }
}

/// Matrix or vector norm, as `mlx.core.linalg.norm`.
///
/// With `ord = None` it is the 2-norm of the elements over `axes` (all axes for
/// [`Axes::All`](super::Axes)): `sqrt(sum(x^2))`. With an order, one axis (or a 1-D input with
/// all axes) gives a vector norm and two axes (or a 2-D input) a matrix norm; see [`NormOrd`].
/// The matrix 2-norm and nuclear norm come from the singular values ([`svd`]), so they take
/// float32 or float64 input. Integer inputs are converted to float32.
///
/// ```
/// use rmlx_core::{self as mx, linalg::{self, NormOrd}, Array};
/// let x = Array::from_slice(&[3.0f32, -4.0], &[2])?;
/// assert_eq!(linalg::norm(&x, None, None, false)?.item::<f32>()?, 5.0);
/// assert_eq!(linalg::norm(&x, Some(NormOrd::P(1.0)), None, false)?.item::<f32>()?, 7.0);
/// assert_eq!(linalg::norm(&x, Some(f64::INFINITY.into()), None, false)?.item::<f32>()?, 4.0);
/// let m = Array::from_slice(&[1.0f32, -2.0, 3.0, 4.0], &[2, 2])?;
/// assert_eq!(linalg::norm(&m, Some(NormOrd::P(1.0)), None, false)?.item::<f32>()?, 6.0);
/// let two = linalg::norm(&m, Some(NormOrd::P(2.0)), None, false)?.item::<f32>()?;
/// assert!((two - 5.116_672_7).abs() < 1e-5);
/// assert!(linalg::norm(&m, Some(NormOrd::P(3.0)), None, false).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn norm(
    a: &Array,
    ord: Option<NormOrd>,
    axes: impl Into<super::Axes>,
    keepdims: bool,
) -> Result<Array> {
    use super::Axes;
    let x = if a.dtype().is_float() {
        a.clone()
    } else {
        a.astype(Dtype::F32)?
    };
    let axes = axes.into();
    let ax: Vec<usize> = match (&axes, ord) {
        (Axes::All, Some(_)) if x.ndim() > 2 || x.ndim() == 0 => bail!(
            Axis,
            "linalg::norm: an order needs 1 or 2 axes; give axes for an array of shape {:?}",
            x.shape()
        ),
        _ => normalize_axes("linalg::norm", &axes_list(&axes, x.ndim()), x.ndim())?,
    };
    let axi: Vec<isize> = ax.iter().map(|&a| a as isize).collect();
    let Some(ord) = ord else {
        return x.square()?.sum(axi, keepdims)?.sqrt();
    };
    match (ord, ax.len()) {
        (NormOrd::P(p), 1) => {
            let abs = x.abs()?;
            if p == f64::INFINITY {
                abs.max(axi, keepdims)
            } else if p == f64::NEG_INFINITY {
                abs.min(axi, keepdims)
            } else if p == 0.0 {
                let zero = Array::scalar_as(0.0, x.dtype());
                super::not_equal(&x, &zero)?
                    .astype(x.dtype())?
                    .sum(axi, keepdims)
            } else if p == 1.0 {
                abs.sum(axi, keepdims)
            } else if p == 2.0 {
                x.square()?.sum(axi, keepdims)?.sqrt()
            } else {
                let pa = Array::scalar_as(p, x.dtype());
                let inv = Array::scalar_as(1.0 / p, x.dtype());
                super::power(&super::power(&abs, &pa)?.sum(axi, keepdims)?, &inv)
            }
        }
        (NormOrd::Fro, 2) => x.square()?.sum(axi, keepdims)?.sqrt(),
        (NormOrd::P(p), 2) if p.abs() == 1.0 || p.is_infinite() => {
            // 1: sum over rows (axis ax[0]) then max over columns; inf: the other way round
            let (first, second) = if p.abs() == 1.0 {
                (*ax.at(0)?, *ax.at(1)?)
            } else {
                (*ax.at(1)?, *ax.at(0)?)
            };
            let s = x.abs()?.sum(first as isize, true)?;
            let r = if p > 0.0 {
                s.max(second as isize, true)?
            } else {
                s.min(second as isize, true)?
            };
            if keepdims {
                Ok(r)
            } else {
                let kept: Vec<usize> = (0..x.ndim()).filter(|i| !ax.contains(i)).collect();
                let shape = x.shape().pick(&kept)?;
                r.reshape(&shape)
            }
        }
        (o @ (NormOrd::P(2.0) | NormOrd::P(-2.0) | NormOrd::Nuc), 2) => {
            // singular values of the matrices with rows and columns last (MLX's order)
            let (r, c) = (*ax.at(0)?, *ax.at(1)?);
            let m = if r > c {
                x.moveaxis(r as isize, -1)?.moveaxis(c as isize, -1)?
            } else {
                x.moveaxis(c as isize, -1)?.moveaxis(r as isize, -2)?
            };
            let sv = super::factor::svd(&m, false)?.remove(0);
            let out = match o {
                NormOrd::P(p) if p > 0.0 => sv.max(-1, false)?,
                NormOrd::P(_) => sv.min(-1, false)?,
                _ => sv.sum(-1, false)?,
            };
            if keepdims {
                let mut sorted = vec![r as isize, c as isize];
                sorted.sort();
                out.expand_dims(sorted)
            } else {
                Ok(out)
            }
        }
        (o, 2) => bail!(
            Value,
            "linalg::norm: invalid order {o:?} for a matrix norm (valid: 'fro', 'nuc', ±1, ±2, ±inf)"
        ),
        (o, 1) => bail!(Value, "linalg::norm: invalid order {o:?} for a vector norm"),
        (_, n) => bail!(
            Axis,
            "linalg::norm: an order needs 1 or 2 axes, got {n} for shape {:?}",
            x.shape()
        ),
    }
}

fn axes_list(axes: &super::Axes, ndim: usize) -> Vec<isize> {
    match axes {
        super::Axes::All => (0..ndim as isize).collect(),
        super::Axes::List(v) => v.clone(),
    }
}
