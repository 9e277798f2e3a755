//! Dense factorisations on batches of row-major matrices, computed by `faer`: QR, SVD, inverse,
//! triangular inverse, Cholesky, the symmetric eigendecomposition and LU with partial pivoting.
//!
//! The kernels compute in f64 and are not generic, so faer's code is compiled once, here, and
//! not in every crate that calls them (float32 input is widened and its results rounded back by
//! the caller). Every function takes `batch` matrices packed one after another (row-major, no
//! gaps) and returns packed row-major outputs in MLX's layouts (`mlx/backend/cpu/{qrf,svd,inverse,
//! cholesky,eigh,luf}.cpp`). Failures that LAPACK reports through `info` (a singular matrix, a
//! matrix that is not positive definite, no convergence) are errors naming the matrix.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::solvers::DenseSolveCore;
use faer::{Mat, MatRef, Par, Side};

use crate::dtype::Complex32;
use crate::{bail, Result};

/// The element type the factorisations run on.
type T = f64;

/// Matrix `b` of a packed batch of `m × n` matrices.
fn matrix(a: &[T], b: usize, m: usize, n: usize) -> MatRef<'_, T> {
    MatRef::from_row_major_slice(&a[b * m * n..(b + 1) * m * n], m, n)
}

/// Appends `x` row by row; with `keep(i, j)` false the element is written as zero.
fn push_rows(out: &mut Vec<T>, x: MatRef<'_, T>, keep: impl Fn(usize, usize) -> bool) {
    for i in 0..x.nrows() {
        for j in 0..x.ncols() {
            out.push(if keep(i, j) { x[(i, j)] } else { 0.0 });
        }
    }
}

/// Appends the `n × n` identity.
fn push_identity(out: &mut Vec<T>, n: usize) {
    for i in 0..n {
        for j in 0..n {
            out.push(if i == j { 1.0 } else { 0.0 });
        }
    }
}

/// Reduced QR of each `m × n` matrix: `Q` (`m × k`, orthonormal columns) and `R` (`k × n`,
/// upper trapezoidal), `k = min(m, n)`, with `A = Q R` (MLX's `linalg.qr`).
pub fn qr(a: &[T], batch: usize, m: usize, n: usize) -> (Vec<T>, Vec<T>) {
    let k = m.min(n);
    let (mut q, mut r) = (
        Vec::with_capacity(batch * m * k),
        Vec::with_capacity(batch * k * n),
    );
    if k == 0 {
        return (q, r);
    }
    for b in 0..batch {
        let f = matrix(a, b, m, n).qr();
        push_rows(&mut q, f.compute_thin_Q().as_ref(), |_, _| true);
        push_rows(&mut r, f.thin_R(), |i, j| i <= j);
    }
    (q, r)
}

/// Full SVD of each `m × n` matrix: `U` (`m × m`), the singular values (`k`, non-increasing) and
/// `Vᵀ` (`n × n`), with `A = U[:, :k] diag(S) Vᵀ[:k]` (MLX's `linalg.svd`). Without `compute_uv`
/// only the singular values are returned (the two matrices are empty).
pub fn svd(
    a: &[T],
    batch: usize,
    m: usize,
    n: usize,
    compute_uv: bool,
) -> Result<(Vec<T>, Vec<T>, Vec<T>)> {
    let k = m.min(n);
    let (mut u, mut s, mut vt) = (Vec::new(), Vec::with_capacity(batch * k), Vec::new());
    for b in 0..batch {
        if k == 0 {
            if compute_uv {
                push_identity(&mut u, m);
                push_identity(&mut vt, n);
            }
            continue;
        }
        let x = matrix(a, b, m, n);
        if compute_uv {
            let Ok(f) = x.svd() else {
                bail!(Value, "linalg::svd: the SVD of matrix {b} did not converge");
            };
            push_rows(&mut u, f.U(), |_, _| true);
            s.extend(f.S().column_vector().iter().copied());
            push_rows(&mut vt, f.V().transpose(), |_, _| true);
        } else {
            let Ok(v) = x.singular_values() else {
                bail!(Value, "linalg::svd: the SVD of matrix {b} did not converge");
            };
            s.extend(v);
        }
    }
    Ok((u, s, vt))
}

/// The inverse of each `n × n` matrix, through LU with partial pivoting (LAPACK's getrf/getri,
/// as MLX). A zero pivot is an error naming the matrix and the pivot (LAPACK's `info`).
pub fn inverse(a: &[T], batch: usize, n: usize) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(batch * n * n);
    for b in 0..batch {
        let lu = matrix(a, b, n, n).partial_piv_lu();
        let u = lu.U();
        if let Some(i) = (0..n).find(|&i| u[(i, i)] == 0.0) {
            bail!(
                Value,
                "linalg::inv: matrix {b} is singular (LU factorization failed with error code {}: pivot {i} is zero)",
                i + 1
            );
        }
        push_rows(&mut out, lu.inverse().as_ref(), |_, _| true);
    }
    Ok(out)
}

/// The inverse of each `n × n` triangular matrix (LAPACK's trtri, as MLX): only the `upper` (or
/// lower) triangle is read, and the other triangle of the result is zero. A zero on the
/// diagonal is an error.
pub fn tri_inverse(a: &[T], batch: usize, n: usize, upper: bool) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(batch * n * n);
    let tri = |i: usize, j: usize| if upper { i <= j } else { i >= j };
    for b in 0..batch {
        let x = matrix(a, b, n, n);
        if let Some(i) = (0..n).find(|&i| x[(i, i)] == 0.0) {
            bail!(
                Value,
                "linalg::tri_inv: matrix {b} is singular (triangular inversion failed with error code {}: diagonal element {i} is zero)",
                i + 1
            );
        }
        let src = Mat::from_fn(n, n, |i, j| if tri(i, j) { x[(i, j)] } else { 0.0 });
        let mut dst = Mat::<T>::zeros(n, n);
        if upper {
            faer::linalg::triangular_inverse::invert_upper_triangular(
                dst.as_mut(),
                src.as_ref(),
                Par::Seq,
            );
        } else {
            faer::linalg::triangular_inverse::invert_lower_triangular(
                dst.as_mut(),
                src.as_ref(),
                Par::Seq,
            );
        }
        push_rows(&mut out, dst.as_ref(), tri);
    }
    Ok(out)
}

/// The Cholesky factor of each symmetric positive definite `n × n` matrix, read from its lower
/// triangle (`upper`: its upper triangle): `L` with `A = L Lᵀ` (`upper`: `U` with `A = Uᵀ U`),
/// the other triangle zero. A matrix that is not positive definite is an error.
pub fn cholesky(a: &[T], batch: usize, n: usize, upper: bool) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(batch * n * n);
    for b in 0..batch {
        if n == 0 {
            continue;
        }
        let x = matrix(a, b, n, n);
        let side = if upper { Side::Upper } else { Side::Lower };
        let f = match x.llt(side) {
            Ok(f) => f,
            Err(e) => bail!(
                Value,
                "linalg::cholesky: matrix {b} is not positive definite ({e})"
            ),
        };
        if upper {
            push_rows(&mut out, f.L().transpose(), |i, j| i <= j);
        } else {
            push_rows(&mut out, f.L(), |i, j| i >= j);
        }
    }
    Ok(out)
}

/// Eigenvalues (ascending) and, with `vectors`, eigenvectors (the columns of an `n × n` matrix)
/// of each symmetric `n × n` matrix, read from its lower triangle (`lower` false: its upper
/// triangle), as MLX's `linalg.eigh(a, UPLO)`.
pub fn eigh(
    a: &[T],
    batch: usize,
    n: usize,
    lower: bool,
    vectors: bool,
) -> Result<(Vec<T>, Vec<T>)> {
    let (mut w, mut v) = (Vec::with_capacity(batch * n), Vec::new());
    let side = if lower { Side::Lower } else { Side::Upper };
    for b in 0..batch {
        if n == 0 {
            continue;
        }
        let x = matrix(a, b, n, n);
        let fail = || {
            crate::err!(
                Value,
                "linalg::eigh: the eigendecomposition of matrix {b} did not converge"
            )
        };
        if vectors {
            let f = x.self_adjoint_eigen(side).map_err(|_| fail())?;
            w.extend(f.S().column_vector().iter().copied());
            push_rows(&mut v, f.U(), |_, _| true);
        } else {
            w.extend(x.self_adjoint_eigenvalues(side).map_err(|_| fail())?);
        }
    }
    Ok((w, v))
}

/// Eigenvalues and, with `vectors`, right eigenvectors (the columns of an `n × n` matrix, each of
/// unit 2-norm) of each general real `n × n` matrix, as complex64 (MLX's `linalg.eig`, LAPACK's
/// geev). The order is the Schur form's, as geev's.
pub fn eig(
    a: &[T],
    batch: usize,
    n: usize,
    vectors: bool,
) -> Result<(Vec<Complex32>, Vec<Complex32>)> {
    let (mut w, mut v) = (Vec::with_capacity(batch * n), Vec::new());
    let c32 = |z: &faer::c64| Complex32::new(z.re as f32, z.im as f32);
    for b in 0..batch {
        if n == 0 {
            continue;
        }
        let x = matrix(a, b, n, n);
        let fail = || {
            crate::err!(
                Value,
                "linalg::eig: the eigendecomposition of matrix {b} did not converge"
            )
        };
        if vectors {
            let f = x.eigen().map_err(|_| fail())?;
            w.extend(f.S().column_vector().iter().map(c32));
            // geev's normalisation: unit 2-norm, and the largest component real (for a
            // complex eigenvalue; a real one's vector is real already)
            let u = f.U();
            let mut cols: Vec<Vec<faer::c64>> = Vec::with_capacity(n);
            for j in 0..n {
                let col: Vec<faer::c64> = (0..n).map(|i| u[(i, j)]).collect();
                let norm = col.iter().map(|z| z.norm_sqr()).sum::<f64>().sqrt();
                let big = col
                    .iter()
                    .copied()
                    .max_by(|a, b| a.norm_sqr().total_cmp(&b.norm_sqr()))
                    .unwrap_or(faer::c64::new(1.0, 0.0));
                let phase = if f.S()[j].im != 0.0 && big.norm() > 0.0 {
                    big.conj() / big.norm()
                } else {
                    faer::c64::new(1.0, 0.0)
                };
                let scale = if norm > 0.0 { 1.0 / norm } else { 1.0 };
                cols.push(col.iter().map(|z| z * phase * scale).collect());
            }
            for i in 0..n {
                for col in &cols {
                    v.push(c32(&col[i]));
                }
            }
        } else {
            w.extend(x.eigenvalues().map_err(|_| fail())?.iter().map(c32));
        }
    }
    Ok((w, v))
}

/// LU with partial pivoting of each `m × n` matrix, packed as LAPACK's getrf leaves it (`L`'s
/// unit-diagonal strict lower part and `U` in one `m × n` matrix), with LAPACK's 0-based pivots
/// (`k = min(m, n)`: row `i` was swapped with row `pivots[i]` at step `i`) and the row order
/// MLX's `LUF` derives from them (`m` indices). Singular matrices are factorised too (a zero
/// pivot is left in `U`), as getrf does.
pub fn lu_factor(a: &[T], batch: usize, m: usize, n: usize) -> (Vec<T>, Vec<u32>, Vec<u32>) {
    use faer::linalg::lu::partial_pivoting::factor::{lu_in_place, lu_in_place_scratch};
    let k = m.min(n);
    let mut lu = Vec::with_capacity(batch * m * n);
    let mut pivots = Vec::with_capacity(batch * k);
    let mut rows = Vec::with_capacity(batch * m);
    let mut perm = vec![0usize; m];
    let mut perm_inv = vec![0usize; m];
    let mut mem = MemBuffer::new(lu_in_place_scratch::<usize, T>(
        m,
        n,
        Par::Seq,
        Default::default(),
    ));
    for b in 0..batch {
        let mut x = matrix(a, b, m, n).to_owned();
        lu_in_place(
            x.as_mut(),
            &mut perm,
            &mut perm_inv,
            Par::Seq,
            MemStack::new(&mut mem),
            Default::default(),
        );
        push_rows(&mut lu, x.as_ref(), |_, _| true);
        // `perm[i]` is the input row that ends at row i. Step i of getrf swapped row i with the
        // row then holding `perm[i]` (rows before i never move again), which recovers getrf's
        // pivots from the final order.
        let mut at: Vec<usize> = (0..m).collect(); // input row -> current position
        let mut held: Vec<usize> = (0..m).collect(); // position -> input row
        let first = pivots.len();
        for i in 0..k {
            let p = at[perm[i]];
            pivots.push(p as u32);
            let (ri, rp) = (held[i], held[p]);
            held.swap(i, p);
            at[ri] = p;
            at[rp] = i;
        }
        // MLX's row indices: the identity with the swaps applied from the last step back.
        let mut idx: Vec<u32> = (0..m as u32).collect();
        for i in (0..k).rev() {
            idx.swap(i, pivots[first + i] as usize);
        }
        rows.extend(idx);
    }
    (lu, pivots, rows)
}
