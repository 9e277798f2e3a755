//! The factorisations of `linalg` and what MLX composes from them (`linalg.cpp`): `qr`, `svd`,
//! `inv`, `tri_inv`, `cholesky`, `cholesky_inv`, `pinv`, `eigh`, `eigvalsh`, `lu`, `lu_factor`,
//! `solve`, `solve_triangular`, `det`, `slogdet`, and `cross`. Re-exported in
//! [`linalg`](super::linalg).
//!
//! As in MLX the factorisations take float32 or float64 arrays of at least two dimensions,
//! batch over the leading axes and have no gradient; what is composed from them (`pinv`,
//! `solve`, `det` of matrices up to 3 × 3, `cross`) differentiates through its parts.

use crate::checked::Checked;
use crate::primitives::linalg::{Factor, Factorization};
use crate::{bail, Array, Dtype, Result};

fn check_float(op: &str, a: &Array) -> Result<()> {
    if !matches!(a.dtype(), Dtype::F32 | Dtype::F64) {
        bail!(
            Dtype,
            "linalg::{op}: arrays must have type float32 or float64, got {}",
            a.dtype()
        );
    }
    Ok(())
}

fn check_matrix(op: &str, a: &Array) -> Result<()> {
    if a.ndim() < 2 {
        bail!(
            Shape,
            "linalg::{op}: arrays must have at least 2 dimensions, got shape {:?}",
            a.shape()
        );
    }
    Ok(())
}

fn check_square(op: &str, a: &Array) -> Result<()> {
    check_matrix(op, a)?;
    let s = a.shape();
    if *s.at(s.len() - 1)? != *s.at(s.len() - 2)? {
        bail!(
            Shape,
            "linalg::{op}: only defined for square matrices, got shape {:?}",
            a.shape()
        );
    }
    Ok(())
}

/// Float32 or float64 of at least 2 dimensions (MLX's checks for every factorisation).
fn check_factor(op: &str, a: &Array, square: bool) -> Result<()> {
    check_float(op, a)?;
    if square {
        check_square(op, a)
    } else {
        check_matrix(op, a)
    }
}

/// The sizes of the last two axes (`check_factor`/`check_matrix` ran first).
fn last2(a: &Array) -> Result<(usize, usize)> {
    match a.shape() {
        [.., m, n] => Ok((*m, *n)),
        s => bail!(
            Shape,
            "expected an array of at least 2 dimensions, got shape {s:?}"
        ),
    }
}

/// Reduced QR factorisation of the last two axes: `(Q, R)` with `Q` of shape `[.., m, k]`
/// (orthonormal columns), `R` of shape `[.., k, n]` (upper triangular), `k = min(m, n)` and
/// `A = Q R` (MLX's `linalg.qr`).
///
/// ```
/// use rmlx_core::{self as mx, linalg, Array};
/// let a = Array::from_slice(&[3.0f32, 1.0, 4.0, 2.0], &[2, 2])?;
/// let (q, r) = linalg::qr(&a)?;
/// let back = q.matmul(&r)?.to_vec::<f32>()?;
/// assert!(back.iter().zip([3.0, 1.0, 4.0, 2.0]).all(|(x, y)| (x - y).abs() < 1e-5));
/// assert_eq!(r.to_vec::<f32>()?[2], 0.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn qr(a: &Array) -> Result<(Array, Array)> {
    check_factor("qr", a, false)?;
    let mut o = Factor(Factorization::Qr).apply(a)?;
    let r = o.pop();
    match (o.pop(), r) {
        (Some(q), Some(r)) => Ok((q, r)),
        _ => bail!(Value, "linalg::qr: expected two outputs"),
    }
}

/// Singular value decomposition of the last two axes (MLX's `linalg.svd`): with `compute_uv`
/// `[U, S, Vt]` where `U` is `[.., m, m]`, `S` is `[.., k]` (non-increasing) and `Vt` is
/// `[.., n, n]`, so that `A = U[.., :, :k] diag(S) Vt[.., :k, :]`; without it `[S]`.
///
/// ```
/// use rmlx_core::{self as mx, linalg, Array};
/// let a = Array::from_slice(&[3.0f64, 0.0, 0.0, -2.0], &[2, 2])?;
/// let s = linalg::svd(&a, false)?;
/// assert_eq!(s[0].to_vec::<f64>()?, vec![3.0, 2.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn svd(a: &Array, compute_uv: bool) -> Result<Vec<Array>> {
    check_factor("svd", a, false)?;
    Factor(Factorization::Svd { compute_uv }).apply(a)
}

fn single(op: &str, mut v: Vec<Array>) -> Result<Array> {
    match v.pop() {
        Some(x) if v.is_empty() => Ok(x),
        _ => bail!(Value, "linalg::{op}: expected one output"),
    }
}

/// The inverse of each square matrix in the last two axes (MLX's `linalg.inv`). A singular
/// matrix is an error when the result is evaluated.
///
/// ```
/// use rmlx_core::{self as mx, linalg, Array};
/// let a = Array::from_slice(&[2.0f32, 0.0, 0.0, 4.0], &[2, 2])?;
/// assert_eq!(linalg::inv(&a)?.to_vec::<f32>()?, vec![0.5, 0.0, 0.0, 0.25]);
/// let singular = Array::from_slice(&[1.0f32, 2.0, 2.0, 4.0], &[2, 2])?;
/// assert!(linalg::inv(&singular)?.eval().is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn inv(a: &Array) -> Result<Array> {
    check_factor("inv", a, true)?;
    single(
        "inv",
        Factor(Factorization::Inverse {
            tri: false,
            upper: true,
        })
        .apply(a)?,
    )
}

/// The inverse of each triangular matrix, read from its lower (or `upper`) triangle; the other
/// triangle of the result is zero (MLX's `linalg.tri_inv`).
pub fn tri_inv(a: &Array, upper: bool) -> Result<Array> {
    check_factor("tri_inv", a, true)?;
    single(
        "tri_inv",
        Factor(Factorization::Inverse { tri: true, upper }).apply(a)?,
    )
}

/// The Cholesky factor of each symmetric positive definite matrix (MLX's `linalg.cholesky`):
/// `L` with `A = L Lᵀ` read from the lower triangle, or with `upper` `U` with `A = Uᵀ U` read
/// from the upper triangle; the other triangle is zero. A matrix that is not positive definite
/// is an error when the result is evaluated (MLX leaves LAPACK's partial result).
///
/// ```
/// use rmlx_core::{self as mx, linalg, Array};
/// let a = Array::from_slice(&[4.0f32, 2.0, 2.0, 5.0], &[2, 2])?;
/// assert_eq!(linalg::cholesky(&a, false)?.to_vec::<f32>()?, vec![2.0, 0.0, 1.0, 2.0]);
/// assert_eq!(linalg::cholesky(&a, true)?.to_vec::<f32>()?, vec![2.0, 1.0, 0.0, 2.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn cholesky(a: &Array, upper: bool) -> Result<Array> {
    check_factor("cholesky", a, true)?;
    single(
        "cholesky",
        Factor(Factorization::Cholesky { upper }).apply(a)?,
    )
}

/// The inverse of `A` from its Cholesky factor `l` (lower, or `upper`), as MLX's
/// `linalg.cholesky_inv`: `(L⁻¹)ᵀ L⁻¹`, or `U⁻¹ (U⁻¹)ᵀ`.
pub fn cholesky_inv(l: &Array, upper: bool) -> Result<Array> {
    check_factor("cholesky_inv", l, true)?;
    let li = tri_inv(l, upper)?;
    if upper {
        li.matmul(&li.swapaxes(-1, -2)?)
    } else {
        li.swapaxes(-1, -2)?.matmul(&li)
    }
}

/// The Moore–Penrose pseudo-inverse of the last two axes, from the SVD with MLX's cutoff
/// (singular values below `10 · max(m, n) · eps · max(S)` count as zero), as `linalg.pinv`.
///
/// ```
/// use rmlx_core::{self as mx, linalg, Array};
/// let a = Array::from_slice(&[1.0f64, 2.0], &[2, 1])?;
/// let p = linalg::pinv(&a)?.to_vec::<f64>()?;
/// assert!((p[0] - 0.2).abs() < 1e-12 && (p[1] - 0.4).abs() < 1e-12);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn pinv(a: &Array) -> Result<Array> {
    check_factor("pinv", a, false)?;
    let (m, n) = last2(a)?;
    let nd = a.ndim();
    if a.size() == 0 {
        let mut shape = a.shape().to_vec();
        shape.swap(nd - 1, nd - 2);
        return super::zeros(&shape, a.dtype());
    }
    let k = m.min(n);
    let usv = svd(a, true)?;
    let [u, s, vt] = <[Array; 3]>::try_from(usv)
        .map_err(|_| crate::err!(Value, "linalg::pinv: expected three SVD outputs"))?;
    let cols = |x: &Array, rows: usize, cols: usize| -> Result<Array> {
        let mut args = vec![super::SliceArg::all(); nd];
        *args.at_mut(nd - 2)? = super::SliceArg::new(Some(0), Some(rows as isize), 1);
        *args.at_mut(nd - 1)? = super::SliceArg::new(Some(0), Some(cols as isize), 1);
        x.slice(&args)?.swapaxes(-1, -2)
    };
    let u = cols(&u, m, k)?;
    let v = cols(&vt, k, n)?;
    let s = s.expand_dims(-2)?;
    let eps = super::finfo(a.dtype())?.eps;
    let rcond = Array::scalar_as(10.0 * m.max(n) as f64 * eps, a.dtype());
    let cutoff = super::multiply(&rcond, &s.max(-1, true)?)?;
    let zero = Array::scalar_as(0.0, a.dtype());
    let rs = super::where_(&super::greater(&s, &cutoff)?, &s.reciprocal()?, &zero)?;
    super::multiply(&v, &rs)?.matmul(&u)
}

fn check_uplo(op: &str, uplo: &str) -> Result<bool> {
    match uplo {
        "L" => Ok(true),
        "U" => Ok(false),
        _ => bail!(
            Value,
            "linalg::{op}: UPLO must be \"L\" or \"U\", got {uplo:?}"
        ),
    }
}

/// Eigenvalues (ascending, shape `[.., n]`) and eigenvectors (the columns of `[.., n, n]`) of
/// each symmetric matrix, read from its lower (`uplo = "L"`) or upper (`"U"`) triangle (MLX's
/// `linalg.eigh`).
///
/// ```
/// use rmlx_core::{self as mx, linalg, Array};
/// let a = Array::from_slice(&[2.0f64, 1.0, 1.0, 2.0], &[2, 2])?;
/// let (w, v) = linalg::eigh(&a, "L")?;
/// let w = w.to_vec::<f64>()?;
/// assert!((w[0] - 1.0).abs() < 1e-12 && (w[1] - 3.0).abs() < 1e-12);
/// assert_eq!(v.shape(), &[2, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn eigh(a: &Array, uplo: &str) -> Result<(Array, Array)> {
    let lower = check_uplo("eigh", uplo)?;
    check_factor("eigh", a, true)?;
    let mut o = Factor(Factorization::Eigh {
        lower,
        vectors: true,
    })
    .apply(a)?;
    let v = o.pop();
    match (o.pop(), v) {
        (Some(w), Some(v)) => Ok((w, v)),
        _ => bail!(Value, "linalg::eigh: expected two outputs"),
    }
}

/// The eigenvalues (ascending) of each symmetric matrix (MLX's `linalg.eigvalsh`); see [`eigh`].
pub fn eigvalsh(a: &Array, uplo: &str) -> Result<Array> {
    let lower = check_uplo("eigvalsh", uplo)?;
    check_factor("eigvalsh", a, true)?;
    single(
        "eigvalsh",
        Factor(Factorization::Eigh {
            lower,
            vectors: false,
        })
        .apply(a)?,
    )
}

/// Eigenvalues and right eigenvectors of each general square matrix, as complex64 (MLX's
/// `linalg.eig`): `(w, v)` with `A v[:, i] = w[i] v[:, i]` and each column of unit norm. A real
/// matrix's complex eigenvalues come in conjugate pairs. No gradient, as MLX.
///
/// ```
/// use rmlx_core::{self as mx, linalg, Array, Complex32};
/// let a = Array::from_slice(&[0.0f32, -1.0, 1.0, 0.0], &[2, 2])?; // a rotation
/// let (w, v) = linalg::eig(&a)?;
/// let mut w = w.to_vec::<Complex32>()?;
/// w.sort_by(|a, b| a.im.total_cmp(&b.im));
/// assert!((w[0] - Complex32::new(0.0, -1.0)).norm() < 1e-6);
/// assert_eq!(v.shape(), &[2, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn eig(a: &Array) -> Result<(Array, Array)> {
    check_factor("eig", a, true)?;
    let mut o = Factor(Factorization::Eig { vectors: true }).apply(a)?;
    let v = o.pop();
    match (o.pop(), v) {
        (Some(w), Some(v)) => Ok((w, v)),
        _ => bail!(Value, "linalg::eig: expected two outputs"),
    }
}

/// The eigenvalues of each general square matrix, as complex64 (MLX's `linalg.eigvals`); see
/// [`eig`].
pub fn eigvals(a: &Array) -> Result<Array> {
    check_factor("eigvals", a, true)?;
    single(
        "eigvals",
        Factor(Factorization::Eig { vectors: false }).apply(a)?,
    )
}

fn lu_outputs(a: &Array) -> Result<[Array; 3]> {
    <[Array; 3]>::try_from(Factor(Factorization::Lu).apply(a)?)
        .map_err(|_| crate::err!(Value, "linalg::lu: expected three outputs"))
}

/// LU factorisation with partial pivoting (MLX's `linalg.lu`): `(p, L, U)` where `p` (uint32,
/// `[.., m]`) are row indices with `A = L[p, :] U` (for batches
/// `take_along_axis(L, p[.., None], -2) @ U`), `L` is `[.., m, k]` unit lower triangular and `U`
/// is `[.., k, n]` upper triangular, `k = min(m, n)`.
///
/// ```
/// use rmlx_core::{self as mx, linalg, Array};
/// let a = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
/// let (p, l, u) = linalg::lu(&a)?;
/// assert_eq!(p.to_vec::<u32>()?, vec![1, 0]);
/// assert_eq!(l.to_vec::<f32>()?, vec![1.0, 0.0, 1.0 / 3.0, 1.0]);
/// assert_eq!(u.to_vec::<f32>()?[..3], [3.0, 4.0, 0.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn lu(a: &Array) -> Result<(Array, Array, Array)> {
    check_factor("lu", a, false)?;
    let [packed, _, rows] = lu_outputs(a)?;
    let (m, n) = last2(a)?;
    let k = m.min(n);
    let nd = a.ndim();
    let mut l = packed.tril(-1)?;
    let mut u = packed.triu(0)?;
    let mut args = vec![super::SliceArg::all(); nd];
    if n != k {
        *args.at_mut(nd - 1)? = super::SliceArg::new(Some(0), Some(k as isize), 1);
        l = l.slice(&args)?;
    } else if m != k {
        *args.at_mut(nd - 2)? = super::SliceArg::new(Some(0), Some(k as isize), 1);
        u = u.slice(&args)?;
    }
    let l = super::add(&l, &super::eye(m, Some(k), 0, a.dtype())?)?;
    Ok((rows, l, u))
}

/// LU factorisation in LAPACK's packed form (MLX's `linalg.lu_factor`): `(LU, pivots)`, where
/// `LU` holds `L`'s strict lower part and `U`, and `pivots` (uint32, `[.., k]`) says that step
/// `i` swapped row `i` with row `pivots[i]`.
pub fn lu_factor(a: &Array) -> Result<(Array, Array)> {
    check_factor("lu_factor", a, false)?;
    let [packed, pivots, _] = lu_outputs(a)?;
    Ok((packed, pivots))
}

fn check_solve(op: &str, a: &Array, b: &Array) -> Result<()> {
    if a.ndim() < 2 {
        bail!(
            Shape,
            "linalg::{op}: the first input must have at least 2 dimensions, got shape {:?}",
            a.shape()
        );
    }
    if b.ndim() < 1 {
        bail!(
            Shape,
            "linalg::{op}: the second input must have at least 1 dimension, got a scalar"
        );
    }
    let (m, n) = last2(a)?;
    if m != n {
        bail!(
            Shape,
            "linalg::{op}: the first input must be a square matrix, got shape {:?}",
            a.shape()
        );
    }
    let bd = *b.shape().at(if b.ndim() > 1 { b.ndim() - 2 } else { 0 })?;
    if n != bd {
        bail!(
            Shape,
            "linalg::{op}: the last dimension of the first input (shape {:?}) must match the second to last dimension of the second input (shape {:?})",
            a.shape(),
            b.shape()
        );
    }
    let d = Dtype::promote(a.dtype(), b.dtype());
    if !matches!(d, Dtype::F32 | Dtype::F64) {
        bail!(
            Dtype,
            "linalg::{op}: the inputs must promote to float32 or float64, got {} and {}",
            a.dtype(),
            b.dtype()
        );
    }
    Ok(())
}

/// Solves `A x = b` for each square `A` (MLX's `linalg.solve`, through [`lu`] and two
/// triangular solves). `b` is a vector (`[.., n]`) or a matrix of right-hand sides
/// (`[.., n, r]`).
///
/// ```
/// use rmlx_core::{self as mx, linalg, Array};
/// let a = Array::from_slice(&[3.0f64, 1.0, 1.0, 2.0], &[2, 2])?;
/// let b = Array::from_slice(&[9.0f64, 8.0], &[2])?;
/// let x = linalg::solve(&a, &b)?.to_vec::<f64>()?;
/// assert!((x[0] - 2.0).abs() < 1e-12 && (x[1] - 3.0).abs() < 1e-12);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn solve(a: &Array, b: &Array) -> Result<Array> {
    check_solve("solve", a, b)?;
    let (p, l, u) = lu(a)?;
    let mut perm = p.argsort(-1)?;
    let mut axis = -1;
    if b.ndim() >= 2 {
        perm = perm.expand_dims(-1)?;
        axis = -2;
    }
    let pb = b.take_along_axis(&perm, axis)?;
    let y = solve_triangular(&l, &pb, false)?;
    solve_triangular(&u, &y, true)
}

/// Solves `A x = b` for triangular `A`, read from its lower (or `upper`) triangle (MLX's
/// `linalg.solve_triangular`: the triangular inverse times `b`).
pub fn solve_triangular(a: &Array, b: &Array, upper: bool) -> Result<Array> {
    check_solve("solve_triangular", a, b)?;
    tri_inv(a, upper)?.matmul(b)
}

/// The cross product of 2- or 3-element vectors along `axis` (MLX's `linalg.cross`; a
/// 2-element vector has a zero third component).
///
/// ```
/// use rmlx_core::{self as mx, linalg, Array};
/// let x = Array::from_slice(&[1.0f32, 0.0, 0.0], &[3])?;
/// let y = Array::from_slice(&[0.0f32, 1.0, 0.0], &[3])?;
/// assert_eq!(linalg::cross(&x, &y, -1)?.to_vec::<f32>()?, vec![0.0, 0.0, 1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn cross(a: &Array, b: &Array, axis: isize) -> Result<Array> {
    let size = |x: &Array| -> Result<usize> {
        let ax = super::normalize_axis("linalg::cross", axis, x.ndim())?;
        let d = *x.shape().at(ax)?;
        if !(2..=3).contains(&d) {
            bail!(
                Shape,
                "linalg::cross: the axis must have size 2 or 3, got shape {:?} at axis {axis}",
                x.shape()
            );
        }
        Ok(d)
    };
    let (da, db) = (size(a)?, size(b)?);
    let dtype = Dtype::promote(a.dtype(), b.dtype());
    let with3 = |x: &Array| {
        let mut s = x.shape().to_vec();
        let ax = (axis + x.ndim() as isize) as usize % x.ndim().max(1);
        *s.at_mut(if axis < 0 { ax } else { axis as usize })? = 3;
        Ok::<_, crate::Error>(s)
    };
    let mut out_shape = super::broadcast_shapes("linalg::cross", &with3(a)?, &with3(b)?)?;
    let ax = super::normalize_axis("linalg::cross", axis, out_shape.len())?;
    *out_shape.at_mut(ax)? = da;
    let a_ = a.astype(dtype)?.broadcast_to(&out_shape)?;
    *out_shape.at_mut(ax)? = db;
    let b_ = b.astype(dtype)?.broadcast_to(&out_shape)?;
    let ax = ax as isize;
    let x = a_.split(da, ax)?;
    let y = b_.split(db, ax)?;
    use super::{multiply as mul, subtract as sub};
    let mut outs = Vec::with_capacity(3);
    match (da, db) {
        (2, 2) => {
            let z = super::zeros_like(x.at(0)?)?;
            outs.push(z.clone());
            outs.push(z);
        }
        (_, 2) => {
            outs.push(mul(x.at(2)?, y.at(1)?)?.negative()?);
            outs.push(mul(x.at(2)?, y.at(0)?)?);
        }
        (2, _) => {
            outs.push(mul(x.at(1)?, y.at(2)?)?);
            outs.push(mul(x.at(0)?, y.at(2)?)?.negative()?);
        }
        _ => {
            outs.push(sub(&mul(x.at(1)?, y.at(2)?)?, &mul(x.at(2)?, y.at(1)?)?)?);
            outs.push(sub(&mul(x.at(2)?, y.at(0)?)?, &mul(x.at(0)?, y.at(2)?)?)?);
        }
    }
    outs.push(sub(&mul(x.at(0)?, y.at(1)?)?, &mul(x.at(1)?, y.at(0)?)?)?);
    super::concatenate(&outs, ax)
}

fn check_det(op: &str, a: &Array) -> Result<Array> {
    check_square(op, a)?;
    if a.dtype().is_float() {
        Ok(a.clone())
    } else {
        a.astype(Dtype::promote(a.dtype(), Dtype::F32))
    }
}

/// The determinant of matrices up to 3 × 3 written out (MLX's `det_raw_small`).
fn det_small(a: &Array) -> Result<Array> {
    let (n, _) = last2(a)?;
    let nd = a.ndim();
    if n == 0 {
        let shape = a.shape().span(..nd - 2)?;
        return Array::scalar_as(1.0, a.dtype()).broadcast_to(shape);
    }
    let e = |i: usize, j: usize| -> Result<Array> {
        let mut args = vec![super::SliceArg::all(); nd];
        *args.at_mut(nd - 2)? = super::SliceArg::new(Some(i as isize), Some(i as isize + 1), 1);
        *args.at_mut(nd - 1)? = super::SliceArg::new(Some(j as isize), Some(j as isize + 1), 1);
        a.slice(&args)?
            .squeeze(vec![-1isize])?
            .squeeze(vec![-1isize])
    };
    use super::{add, multiply as mul, subtract as sub};
    match n {
        1 => e(0, 0),
        2 => sub(&mul(&e(0, 0)?, &e(1, 1)?)?, &mul(&e(0, 1)?, &e(1, 0)?)?),
        _ => {
            let minor =
                |a: (usize, usize), b: (usize, usize), c: (usize, usize), d: (usize, usize)| {
                    sub(
                        &mul(&e(a.0, a.1)?, &e(b.0, b.1)?)?,
                        &mul(&e(c.0, c.1)?, &e(d.0, d.1)?)?,
                    )
                };
            add(
                &sub(
                    &mul(&e(0, 0)?, &minor((1, 1), (2, 2), (1, 2), (2, 1))?)?,
                    &mul(&e(0, 1)?, &minor((1, 0), (2, 2), (1, 2), (2, 0))?)?,
                )?,
                &mul(&e(0, 2)?, &minor((1, 0), (2, 1), (1, 1), (2, 0))?)?,
            )
        }
    }
}

fn slogdet_of(a: &Array) -> Result<(Array, Array)> {
    let (n, _) = last2(a)?;
    let dtype = a.dtype();
    if n <= 3 {
        let raw = det_small(a)?;
        return Ok((raw.sign()?, raw.abs()?.log()?));
    }
    let (packed, pivots) = lu_factor(a)?;
    let diag = super::diagonal(&packed, 0, -2, -1)?;
    let iota = super::arange(0.0, n as f64, 1.0, Dtype::U32)?;
    let parity = super::not_equal(&pivots, &iota)?
        .sum(-1, false)?
        .astype(Dtype::I32)?;
    let zero = Array::scalar_as(0.0, dtype);
    let num_neg = super::less(&diag, &zero)?
        .sum(-1, false)?
        .astype(Dtype::I32)?;
    let total = super::add(&parity, &num_neg)?;
    let two = Array::scalar(2i32);
    let sign = super::subtract(
        &Array::scalar(1i32),
        &super::multiply(&two, &super::remainder(&total, &two)?)?,
    )?
    .astype(dtype)?;
    let logabs = diag.abs()?.log()?.sum(-1, false)?;
    let is_zero = super::equal(&diag, &zero)?.any(-1, false)?;
    let sign = super::where_(&is_zero, &zero, &sign)?;
    let logabs = super::where_(
        &is_zero,
        &Array::scalar_as(f64::NEG_INFINITY, dtype),
        &logabs,
    )?;
    Ok((sign, logabs))
}

/// The sign and the natural log of the absolute value of the determinant of each square matrix
/// (MLX's `linalg.slogdet`): `(0, -inf)` for a singular one. Integer inputs become float32.
pub fn slogdet(a: &Array) -> Result<(Array, Array)> {
    slogdet_of(&check_det("slogdet", a)?)
}

/// The determinant of each square matrix (MLX's `linalg.det`): written out up to 3 × 3 (and
/// differentiable there), through [`lu_factor`] beyond. Integer inputs become float32.
///
/// ```
/// use rmlx_core::{self as mx, linalg, Array};
/// let a = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
/// assert_eq!(linalg::det(&a)?.item::<f32>()?, -2.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn det(a: &Array) -> Result<Array> {
    let x = check_det("det", a)?;
    if last2(&x)?.0 <= 3 {
        return det_small(&x);
    }
    let (sign, logabs) = slogdet_of(&x)?;
    super::multiply(&sign, &logabs.exp()?)
}
