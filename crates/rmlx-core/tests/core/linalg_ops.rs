//! `linalg` beyond the oracle: the defining identities of each factorisation on random shapes
//! (a property test), strided and batched input, empty matrices, vmap, and errors reported when
//! a factorisation fails at evaluation.

use proptest::prelude::*;
use rmlx_core::{self as mx, linalg, Array, Dtype};

/// Deterministic f64 test matrices of `shape`, entries in [-1, 1).
fn matrix(shape: &[usize], seed: u64) -> Array {
    let n: usize = shape.iter().product();
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let v: Vec<f64> = (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect();
    Array::from_slice(&v, shape).unwrap()
}

fn assert_close(got: &Array, want: &Array, tol: f64, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let g = got.astype(Dtype::F64).unwrap().to_vec::<f64>().unwrap();
    let w = want.astype(Dtype::F64).unwrap().to_vec::<f64>().unwrap();
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!((a - b).abs() <= tol, "{what}: element {i}: {a} vs {b}");
    }
}

fn eye_like(n: usize, batch: &[usize]) -> Array {
    let mut shape = batch.to_vec();
    shape.extend([n, n]);
    mx::eye(n, None, 0, Dtype::F64)
        .unwrap()
        .broadcast_to(&shape)
        .unwrap()
}

fn slice_cols(x: &Array, k: usize) -> Array {
    let nd = x.ndim();
    let mut args = vec![mx::SliceArg::all(); nd];
    args[nd - 1] = mx::SliceArg::new(Some(0), Some(k as isize), 1);
    x.slice(&args).unwrap()
}

fn slice_rows(x: &Array, k: usize) -> Array {
    let nd = x.ndim();
    let mut args = vec![mx::SliceArg::all(); nd];
    args[nd - 2] = mx::SliceArg::new(Some(0), Some(k as isize), 1);
    x.slice(&args).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn factorisations_satisfy_their_identities(
        batch in prop::collection::vec(1usize..3, 0..2),
        m in 1usize..6,
        n in 1usize..6,
        seed in 0u64..1000,
    ) {
        let mut shape = batch.clone();
        shape.extend([m, n]);
        let a = matrix(&shape, seed);
        let k = m.min(n);
        // QR: A = Q R, Q has orthonormal columns, R upper triangular
        let (q, r) = linalg::qr(&a).unwrap();
        assert_close(&q.matmul(&r).unwrap(), &a, 1e-12, "QR");
        assert_close(&q.swapaxes(-1, -2).unwrap().matmul(&q).unwrap(), &eye_like(k, &batch), 1e-12, "QᵀQ");
        assert_close(&r.triu(0).unwrap(), &r, 0.0, "R triangular");
        // SVD: A = U[:, :k] diag(S) Vt[:k], U and Vt orthogonal, S non-increasing
        let usv = linalg::svd(&a, true).unwrap();
        let us = mx::multiply(&slice_cols(&usv[0], k), &usv[1].expand_dims(-2).unwrap()).unwrap();
        assert_close(&us.matmul(&slice_rows(&usv[2], k)).unwrap(), &a, 1e-12, "SVD");
        assert_close(&usv[0].matmul(&usv[0].swapaxes(-1, -2).unwrap()).unwrap(), &eye_like(m, &batch), 1e-12, "UUᵀ");
        assert_close(&usv[2].matmul(&usv[2].swapaxes(-1, -2).unwrap()).unwrap(), &eye_like(n, &batch), 1e-12, "VVᵀ");
        let s = usv[1].to_vec::<f64>().unwrap();
        for w in s.chunks(k) {
            prop_assert!(w.windows(2).all(|p| p[0] >= p[1]) && w.iter().all(|&v| v >= 0.0));
        }
        assert_close(&linalg::svd(&a, false).unwrap()[0], &usv[1], 1e-12, "singular values alone");
        // LU: A = L[p] U (MLX's convention)
        let (p, l, u) = linalg::lu(&a).unwrap();
        let lp = l.take_along_axis(&p.expand_dims(-1).unwrap(), -2).unwrap();
        assert_close(&lp.matmul(&u).unwrap(), &a, 1e-12, "LU");
        // square: inverse, solve, eigh, cholesky, det
        let sq = matrix(&[batch.clone(), vec![m, m]].concat(), seed + 1);
        let sq = mx::add(&sq, &mx::multiply(&eye_like(m, &batch), &Array::scalar(3.0f64)).unwrap()).unwrap();
        let inv = linalg::inv(&sq).unwrap();
        assert_close(&sq.matmul(&inv).unwrap(), &eye_like(m, &batch), 1e-12, "A A⁻¹");
        let b = matrix(&[batch.clone(), vec![m, 2]].concat(), seed + 2);
        assert_close(&sq.matmul(&linalg::solve(&sq, &b).unwrap()).unwrap(), &b, 1e-12, "solve");
        let sym = mx::add(&sq, &sq.swapaxes(-1, -2).unwrap()).unwrap();
        let (w, v) = linalg::eigh(&sym, "L").unwrap();
        let vw = mx::multiply(&v, &w.expand_dims(-2).unwrap()).unwrap();
        assert_close(&sym.matmul(&v).unwrap(), &vw, 1e-11, "A v = v w");
        let spd = mx::add(&sq.matmul(&sq.swapaxes(-1, -2).unwrap()).unwrap(), &eye_like(m, &batch)).unwrap();
        let c = linalg::cholesky(&spd, false).unwrap();
        assert_close(&c.matmul(&c.swapaxes(-1, -2).unwrap()).unwrap(), &spd, 1e-11, "L Lᵀ");
        // det = product of the LU diagonal with the permutation's sign, checked through
        // det(A) det(A⁻¹) = 1 and det(2A) = 2^m det(A)
        let d = linalg::det(&sq).unwrap();
        let di = linalg::det(&inv).unwrap();
        assert_close(&mx::multiply(&d, &di).unwrap(), &mx::ones_like(&d).unwrap(), 1e-10, "det·det⁻¹");
        let d2 = linalg::det(&mx::multiply(&sq, &Array::scalar(2.0f64)).unwrap()).unwrap();
        assert_close(&d2, &mx::multiply(&d, &Array::scalar(2f64.powi(m as i32))).unwrap(), 1e-9 * 2f64.powi(m as i32), "det(2A)");
    }
}

#[test]
fn strided_input_and_float32() {
    let a = matrix(&[4, 4], 7);
    let a = mx::add(
        &a,
        &mx::multiply(
            &mx::eye(4, None, 0, Dtype::F64).unwrap(),
            &Array::scalar(3.0f64),
        )
        .unwrap(),
    )
    .unwrap();
    // a transposed view: inv(Aᵀ) = inv(A)ᵀ
    let t = a.swapaxes(0, 1).unwrap();
    assert_close(
        &linalg::inv(&t).unwrap(),
        &linalg::inv(&a).unwrap().swapaxes(0, 1).unwrap(),
        1e-12,
        "inv of a view",
    );
    let f = a.astype(Dtype::F32).unwrap();
    let inv = linalg::inv(&f).unwrap();
    assert_eq!(inv.dtype(), Dtype::F32);
    assert_close(&inv, &linalg::inv(&a).unwrap(), 1e-5, "float32 inverse");
}

#[test]
fn empty_matrices() {
    let e = mx::zeros(&[2, 0, 0], Dtype::F32).unwrap();
    assert_eq!(linalg::inv(&e).unwrap().shape(), &[2, 0, 0]);
    assert_eq!(linalg::cholesky(&e, false).unwrap().shape(), &[2, 0, 0]);
    assert_eq!(
        linalg::det(&e).unwrap().to_vec::<f32>().unwrap(),
        vec![1.0, 1.0]
    );
    let (q, r) = linalg::qr(&mx::zeros(&[3, 0], Dtype::F32).unwrap()).unwrap();
    assert_eq!((q.shape(), r.shape()), (&[3usize, 0][..], &[0usize, 0][..]));
    q.eval().unwrap();
    let usv = linalg::svd(&mx::zeros(&[0, 2], Dtype::F64).unwrap(), true).unwrap();
    assert_eq!(usv[2].to_vec::<f64>().unwrap(), vec![1.0, 0.0, 0.0, 1.0]);
    assert_eq!(usv[1].shape(), &[0]);
    let (p, l, u) = linalg::lu(&mx::zeros(&[0, 3], Dtype::F32).unwrap()).unwrap();
    assert_eq!(
        (p.shape(), l.shape(), u.shape()),
        (&[0usize][..], &[0usize, 0][..], &[0usize, 3][..])
    );
    u.eval().unwrap();
}

#[test]
fn vmap_moves_the_mapped_axis_in_front_of_the_batch() {
    let a = mx::add(
        &matrix(&[3, 2, 3], 11),
        &mx::multiply(
            &mx::eye(3, None, 0, Dtype::F64)
                .unwrap()
                .expand_dims(1)
                .unwrap(),
            &Array::scalar(3.0f64),
        )
        .unwrap(),
    )
    .unwrap(); // [3, 2, 3]: the mapped axis is 1
    let f = mx::vmap(
        |x: &[Array]| Ok(vec![linalg::inv(&x[0])?]),
        &[Some(1)],
        &[0],
    );
    let got = f(&[a.clone()]).unwrap().remove(0);
    let want = linalg::inv(&a.moveaxis(1, 0).unwrap()).unwrap();
    assert_close(&got, &want, 0.0, "vmap(inv)");
    let g = mx::vmap(
        |x: &[Array]| linalg::svd(&x[0], true),
        &[Some(1)],
        &[0, 0, 0],
    );
    let got = g(&[a.clone()]).unwrap();
    let want = linalg::svd(&a.moveaxis(1, 0).unwrap(), true).unwrap();
    for (x, y) in got.iter().zip(&want) {
        assert_close(x, y, 0.0, "vmap(svd)");
    }
}

#[test]
fn failures_at_evaluation_are_errors() {
    let not_pd = Array::from_slice(&[1.0f32, 2.0, 2.0, 1.0], &[2, 2]).unwrap();
    let err = linalg::cholesky(&not_pd, false)
        .unwrap()
        .eval()
        .unwrap_err();
    assert!(err.to_string().contains("not positive definite"), "{err}");
    let zero_diag = Array::from_slice(&[1.0f64, 0.0, 5.0, 0.0], &[2, 2]).unwrap();
    assert!(linalg::tri_inv(&zero_diag, false).unwrap().eval().is_err());
    // no gradient through the factorisations, as in MLX
    let a = matrix(&[2, 2], 3);
    let g = mx::grad(
        |x: &[Array]| Ok(vec![linalg::inv(&x[0])?.sum(None, false)?]),
        &[0],
    );
    let err = g(&[a]).unwrap_err();
    assert!(err.to_string().contains("Inverse"), "{err}");
    assert!(linalg::eigh(&matrix(&[2, 2], 1), "X").is_err());
    assert!(linalg::svd(&mx::zeros(&[3], Dtype::F32).unwrap(), true).is_err());
}

/// segmented_mm's gradient (MLX has none; ours comes from the masked product) against central
/// finite differences in f64, and its segments against a loop over the inner axis.
#[test]
fn segmented_mm_values_and_gradient() {
    let a = matrix(&[2, 5], 21);
    let b = matrix(&[5, 3], 22);
    let seg = Array::from_slice(&[0u32, 2, 2, 5, 3, 3, 1, 4], &[2, 2, 2]).unwrap();
    let out = mx::segmented_mm(&a, &b, &seg).unwrap();
    assert_eq!(out.shape(), &[2, 2, 2, 3]);
    let (av, bv) = (a.to_vec::<f64>().unwrap(), b.to_vec::<f64>().unwrap());
    let ov = out.to_vec::<f64>().unwrap();
    let s = seg.to_vec::<u32>().unwrap();
    for (p, pair) in s.chunks(2).enumerate() {
        for i in 0..2 {
            for j in 0..3 {
                let want: f64 = (pair[0] as usize..pair[1] as usize)
                    .map(|k| av[i * 5 + k] * bv[k * 3 + j])
                    .sum();
                let got = ov[p * 6 + i * 3 + j];
                assert!(
                    (got - want).abs() < 1e-12,
                    "segment {p} ({i}, {j}): {got} vs {want}"
                );
            }
        }
    }
    let cot = matrix(&[2, 2, 2, 3], 23);
    let loss = |x: &[Array]| -> rmlx_core::Result<Vec<Array>> {
        Ok(vec![
            (&mx::segmented_mm(&x[0], &x[1], &seg)? * &cot)?.sum(None, false)?
        ])
    };
    let g = mx::grad(loss, &[0, 1])(&[a.clone(), b.clone()]).unwrap();
    for (w, x) in [(0usize, &a), (1, &b)] {
        let xv = x.to_vec::<f64>().unwrap();
        let gv = g[w].to_vec::<f64>().unwrap();
        for e in 0..xv.len() {
            let f = |d: f64| {
                let mut v = xv.clone();
                v[e] += d;
                let xe = Array::from_slice(&v, x.shape()).unwrap();
                let args = if w == 0 {
                    [xe, b.clone()]
                } else {
                    [a.clone(), xe]
                };
                loss(&args).unwrap()[0].item::<f64>().unwrap()
            };
            let fd = (f(1e-6) - f(-1e-6)) / 2e-6;
            assert!(
                (fd - gv[e]).abs() < 1e-6,
                "input {w} element {e}: {} vs {fd}",
                gv[e]
            );
        }
    }
}
