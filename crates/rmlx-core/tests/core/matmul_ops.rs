//! matmul / addmm / outer / inner / tensordot against naive f64 loops, views, dtypes, errors and
//! vjp rules (checked by finite differences in f64).
// Index loops mirror the naive reference formulas they check.

use proptest::prelude::*;
use rmlx_core::primitives::matmul::{AddMM, Matmul};
use rmlx_core::primitives::shape::sum_to_shape;
use rmlx_core::primitives::Primitive;
use rmlx_core::{self as mx, bf16, f16, Array, Dtype, Error};

use crate::gauss::{arr, Rng};

fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Naive batched matmul with broadcasting of batch axes (both operands at least 2-D).
fn naive(a: &[f64], sa: &[usize], b: &[f64], sb: &[usize]) -> (Vec<f64>, Vec<usize>) {
    let (na, nb) = (sa.len(), sb.len());
    let (m, k, n) = (sa[na - 2], sa[na - 1], sb[nb - 1]);
    let nd = na.max(nb);
    let pad = |s: &[usize]| {
        let mut p = vec![1; nd - s.len()];
        p.extend_from_slice(s);
        p
    };
    let (pa, pb) = (pad(sa), pad(sb));
    let batch: Vec<usize> = (0..nd - 2).map(|i| pa[i].max(pb[i])).collect();
    let (ta, tb) = (strides(&pa), strides(&pb));
    let nbatch: usize = batch.iter().product();
    let mut out = vec![0.0; nbatch * m * n];
    for bi in 0..nbatch {
        let (mut oa, mut ob, mut rem) = (0, 0, bi);
        for ax in (0..nd - 2).rev() {
            let idx = rem % batch[ax];
            rem /= batch[ax];
            if pa[ax] != 1 {
                oa += idx * ta[ax];
            }
            if pb[ax] != 1 {
                ob += idx * tb[ax];
            }
        }
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0;
                for p in 0..k {
                    s += a[oa + i * k + p] * b[ob + p * n + j];
                }
                out[bi * m * n + i * n + j] = s;
            }
        }
    }
    let mut shape = batch;
    shape.extend([m, n]);
    (out, shape)
}

fn assert_close(got: &[f64], want: &[f64], rtol: f64, atol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "{what}: element {i}: got {g}, want {w}"
        );
    }
}

fn check(sa: &[usize], sb: &[usize], dtype: Dtype, seed: u64, tol: f64) {
    let mut r = Rng(seed);
    let av = r.vec(sa.iter().product());
    let bv = r.vec(sb.iter().product());
    let (want, shape) = naive(&av, sa, &bv, sb);
    let c = mx::matmul(&arr(&av, sa, dtype), &arr(&bv, sb, dtype)).unwrap();
    assert_eq!(c.shape(), &shape[..]);
    assert_eq!(c.dtype(), dtype);
    let k = sa[sa.len() - 1] as f64;
    assert_close(
        &c.to_vec::<f64>().unwrap(),
        &want,
        tol,
        tol * k.sqrt(),
        "matmul",
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn random_shapes_match_naive(m in 1usize..24, n in 1usize..24, k in 1usize..24,
                                 ba in 0usize..3, bb in 0usize..3, seed in 0u64..1000,
                                 f64_ in proptest::bool::ANY) {
        // batch axes: a [ba.., m, k], b [bb.., k, n], broadcast dims drawn from {1, 3}
        let mut sa: Vec<usize> = (0..ba).map(|i| if (seed >> i) & 1 == 0 { 1 } else { 3 }).collect();
        let mut sb: Vec<usize> = (0..bb).map(|i| if (seed >> (i + 3)) & 1 == 0 { 3 } else { 1 }).collect();
        sa.extend([m, k]);
        sb.extend([k, n]);
        let (dtype, tol) = if f64_ { (Dtype::F64, 1e-12) } else { (Dtype::F32, 1e-5) };
        check(&sa, &sb, dtype, seed, tol);
    }
}

#[test]
fn sizes_through_each_code_path() {
    // big single product (gemm's threads), batched small products (batch split over threads),
    // batch of large products (sequential batch), empty dims
    check(&[130, 257], &[257, 190], Dtype::F32, 1, 1e-5);
    check(&[8, 64, 64], &[8, 64, 64], Dtype::F32, 2, 1e-5);
    check(&[2, 200, 100], &[100, 180], Dtype::F32, 3, 1e-5);
    check(&[0, 5], &[5, 3], Dtype::F32, 4, 1e-5);
    check(&[3, 0], &[0, 4], Dtype::F32, 5, 1e-5); // k = 0: zeros
    let z = mx::matmul(
        &arr(&[], &[3, 0], Dtype::F32),
        &arr(&[], &[0, 4], Dtype::F32),
    )
    .unwrap();
    assert_eq!(z.to_vec::<f32>().unwrap(), vec![0.0; 12]);
}

#[test]
fn every_float_dtype() {
    check(&[2, 9, 17], &[17, 5], Dtype::F64, 10, 1e-12);
    check(&[2, 9, 17], &[17, 5], Dtype::F32, 11, 1e-5);
    check(&[2, 9, 17], &[17, 5], Dtype::F16, 12, 2e-2);
    check(&[2, 9, 17], &[17, 5], Dtype::Bf16, 13, 1e-1);
    // mixed operands promote
    let a = Array::from_slice(&[f16::from_f32(1.0), f16::from_f32(2.0)], &[1, 2]).unwrap();
    let b = Array::from_slice(&[3.0f32, 4.0], &[2, 1]).unwrap();
    let c = mx::matmul(&a, &b).unwrap();
    assert_eq!(c.dtype(), Dtype::F32);
    assert_eq!(c.to_vec::<f32>().unwrap(), vec![11.0]);
    let a = Array::from_slice(&[bf16::from_f32(1.0), bf16::from_f32(2.0)], &[1, 2]).unwrap();
    assert_eq!(
        mx::matmul(&a, &a.t().unwrap())
            .unwrap()
            .to_vec::<f32>()
            .unwrap(),
        vec![5.0]
    );
}

#[test]
fn one_dimensional_operands() {
    let mut r = Rng(7);
    let (av, bv) = (r.vec(12), r.vec(4));
    let a = arr(&av, &[3, 4], Dtype::F64);
    let v = arr(&bv, &[4], Dtype::F64);
    // mat @ vec
    let (want, _) = naive(&av, &[3, 4], &bv, &[4, 1]);
    let got = mx::matmul(&a, &v).unwrap();
    assert_eq!(got.shape(), &[3]);
    assert_close(
        &got.to_vec::<f64>().unwrap(),
        &want,
        1e-12,
        1e-12,
        "mat@vec",
    );
    // vec @ mat
    let w = arr(&av[..3], &[3], Dtype::F64);
    let (want, _) = naive(&av[..3], &[1, 3], &av, &[3, 4]);
    let got = mx::matmul(&w, &a).unwrap();
    assert_eq!(got.shape(), &[4]);
    assert_close(
        &got.to_vec::<f64>().unwrap(),
        &want,
        1e-12,
        1e-12,
        "vec@mat",
    );
    // vec @ vec: a 0-d result
    let got = mx::matmul(&v, &v).unwrap();
    assert_eq!(got.shape(), &[] as &[usize]);
    let want: f64 = bv.iter().map(|x| x * x).sum();
    assert!((got.item::<f64>().unwrap() - want).abs() < 1e-12);
    // batched @ vec
    let b3 = arr(&r.vec(24), &[2, 3, 4], Dtype::F64);
    assert_eq!(mx::matmul(&b3, &v).unwrap().shape(), &[2, 3]);
    assert_eq!(mx::matmul(&w, &b3).unwrap().shape(), &[2, 4]);
}

#[test]
fn transposed_strided_and_broadcast_views() {
    let mut r = Rng(21);
    let xv = r.vec(6 * 10);
    let wv = r.vec(8 * 10);
    let x = arr(&xv, &[6, 10], Dtype::F32);
    let w = arr(&wv, &[8, 10], Dtype::F32);
    // x @ w^T without a copy of w
    let got = mx::matmul(&x, &w.t().unwrap()).unwrap();
    let wt: Vec<f64> = (0..10)
        .flat_map(|i| (0..8).map(move |j| (i, j)))
        .map(|(i, j)| wv[j * 10 + i])
        .collect();
    let (want, _) = naive(&xv, &[6, 10], &wt, &[10, 8]);
    assert_close(&got.to_vec::<f64>().unwrap(), &want, 1e-5, 1e-5, "x @ w.T");
    // both transposed
    let got = mx::matmul(&w, &x.t().unwrap()).unwrap().t().unwrap();
    assert_close(
        &got.to_vec::<f64>().unwrap(),
        &want,
        1e-5,
        1e-5,
        "(w @ x.T).T",
    );
    // a row stride with gaps: [4, 3, 5] permuted to [3, 4, 5] (row stride 15)
    let tv = r.vec(60);
    let t = arr(&tv, &[4, 3, 5], Dtype::F64)
        .transpose_axes(&[1, 0, 2])
        .unwrap();
    let tc: Vec<f64> = t.to_vec::<f64>().unwrap();
    let bv = r.vec(5 * 2);
    let got = mx::matmul(&t, &arr(&bv, &[5, 2], Dtype::F64)).unwrap();
    let (want, _) = naive(&tc, &[3, 4, 5], &bv, &[5, 2]);
    assert_close(
        &got.to_vec::<f64>().unwrap(),
        &want,
        1e-12,
        1e-12,
        "strided batch",
    );
    // a broadcast operand (stride-0 batch and stride-0 rows)
    let row = arr(&bv[..5], &[1, 5], Dtype::F64)
        .broadcast_to(&[2, 3, 5])
        .unwrap();
    let rc = row.to_vec::<f64>().unwrap();
    let got = mx::matmul(&row, &arr(&bv, &[5, 2], Dtype::F64)).unwrap();
    let (want, _) = naive(&rc, &[2, 3, 5], &bv, &[5, 2]);
    assert_close(
        &got.to_vec::<f64>().unwrap(),
        &want,
        1e-12,
        1e-12,
        "broadcast rows",
    );
}

#[test]
fn errors_name_the_problem() {
    let a = Array::from_slice(&[0.0f32; 128], &[8, 16]).unwrap();
    let b = Array::from_slice(&[0.0f32; 512], &[32, 16]).unwrap();
    let e = mx::matmul(&a, &b).err().unwrap();
    assert!(matches!(e, Error::Shape(_)));
    assert_eq!(
        e.to_string(),
        "matmul: contraction dims differ: lhs [8, 16] vs rhs [32, 16] (axis -2 must be 16)"
    );
    let i = Array::from_slice(&[1i32, 2, 3, 4], &[2, 2]).unwrap();
    let e = mx::matmul(&i, &i).err().unwrap();
    assert!(matches!(e, Error::Dtype(_)), "{e}");
    assert!(e.to_string().contains("int32"), "{e}");
    let s = Array::scalar(1.0f32);
    assert!(matches!(mx::matmul(&s, &a).err().unwrap(), Error::Value(_)));
    // batch axes that do not broadcast
    let x = Array::from_slice(&[0.0f32; 24], &[2, 3, 4]).unwrap();
    let y = Array::from_slice(&[0.0f32; 60], &[3, 4, 5]).unwrap();
    assert!(matches!(mx::matmul(&x, &y).err().unwrap(), Error::Shape(_)));
    // addmm with a c that does not broadcast
    let c = Array::from_slice(&[0.0f32; 3], &[3]).unwrap();
    let m = Array::from_slice(&[0.0f32; 4], &[2, 2]).unwrap();
    assert!(mx::addmm(&c, &m, &m, 1.0, 1.0).is_err());
    assert!(mx::tensordot(&x, &y, ([0], [1])).is_err());
    assert!(mx::inner(&x, &y).is_err());
}

#[test]
fn addmm_outer_inner_tensordot() {
    let mut r = Rng(33);
    let (cv, av, bv) = (r.vec(5), r.vec(4 * 6), r.vec(6 * 5));
    let (ab, _) = naive(&av, &[4, 6], &bv, &[6, 5]);
    let want: Vec<f64> = ab
        .iter()
        .enumerate()
        .map(|(i, v)| 0.5 * cv[i % 5] + 2.0 * v)
        .collect();
    let got = mx::addmm(
        &arr(&cv, &[5], Dtype::F64),
        &arr(&av, &[4, 6], Dtype::F64),
        &arr(&bv, &[6, 5], Dtype::F64),
        2.0,
        0.5,
    )
    .unwrap();
    assert_eq!(got.shape(), &[4, 5]);
    assert_close(&got.to_vec::<f64>().unwrap(), &want, 1e-12, 1e-12, "addmm");
    // addmm with a transposed weight and f32
    let w = arr(&bv, &[5, 6], Dtype::F32);
    let got = mx::addmm(
        &arr(&cv, &[5], Dtype::F32),
        &arr(&av, &[4, 6], Dtype::F32),
        &w.t().unwrap(),
        1.0,
        1.0,
    )
    .unwrap();
    let wt: Vec<f64> = (0..6)
        .flat_map(|i| (0..5).map(move |j| (i, j)))
        .map(|(i, j)| bv[j * 6 + i])
        .collect();
    let (ab, _) = naive(&av, &[4, 6], &wt, &[6, 5]);
    let want: Vec<f64> = ab.iter().enumerate().map(|(i, v)| cv[i % 5] + v).collect();
    assert_close(
        &got.to_vec::<f64>().unwrap(),
        &want,
        1e-5,
        1e-5,
        "addmm w.T",
    );
    // 1-D a in addmm
    let got = mx::addmm(
        &arr(&cv, &[5], Dtype::F64),
        &arr(&av[..6], &[6], Dtype::F64),
        &arr(&bv, &[6, 5], Dtype::F64),
        1.0,
        1.0,
    )
    .unwrap();
    assert_eq!(got.shape(), &[5]);
    let (ab, _) = naive(&av[..6], &[1, 6], &bv, &[6, 5]);
    let want: Vec<f64> = ab.iter().zip(&cv).map(|(a, c)| a + c).collect();
    assert_close(
        &got.to_vec::<f64>().unwrap(),
        &want,
        1e-12,
        1e-12,
        "addmm 1-D",
    );

    let o = mx::outer(
        &arr(&av[..3], &[3], Dtype::F64),
        &arr(&bv[..2], &[2], Dtype::F64),
    )
    .unwrap();
    assert_eq!(o.shape(), &[3, 2]);
    let want: Vec<f64> = (0..6).map(|i| av[i / 2] * bv[i % 2]).collect();
    assert_close(&o.to_vec::<f64>().unwrap(), &want, 1e-12, 0.0, "outer");

    let x = arr(&av, &[4, 6], Dtype::F64);
    let y = arr(&bv, &[5, 6], Dtype::F64);
    let got = mx::inner(&x, &y).unwrap();
    assert_eq!(got.shape(), &[4, 5]);
    let want: Vec<f64> = (0..20)
        .map(|t| {
            (0..6)
                .map(|p| av[(t / 5) * 6 + p] * bv[(t % 5) * 6 + p])
                .sum()
        })
        .collect();
    assert_close(&got.to_vec::<f64>().unwrap(), &want, 1e-12, 1e-12, "inner");

    // tensordot over two axis pairs, in a non-trivial order
    let tv = r.vec(2 * 3 * 4);
    let uv = r.vec(4 * 3 * 5);
    let t = arr(&tv, &[2, 3, 4], Dtype::F64);
    let u = arr(&uv, &[4, 3, 5], Dtype::F64);
    let got = mx::tensordot(&t, &u, ([1, 2], [1, 0])).unwrap();
    assert_eq!(got.shape(), &[2, 5]);
    let mut want = vec![0.0; 10];
    for i in 0..2 {
        for l in 0..5 {
            for j in 0..3 {
                for k in 0..4 {
                    want[i * 5 + l] += tv[i * 12 + j * 4 + k] * uv[k * 15 + j * 5 + l];
                }
            }
        }
    }
    assert_close(
        &got.to_vec::<f64>().unwrap(),
        &want,
        1e-12,
        1e-12,
        "tensordot",
    );
    assert_eq!(
        mx::tensordot(&t, &t, 0).unwrap().shape(),
        &[2, 3, 4, 2, 3, 4]
    );
}

/// `sum(f(x) * cot)` as f64.
fn dot(y: &Array, cot: &Array) -> f64 {
    y.to_vec::<f64>()
        .unwrap()
        .iter()
        .zip(cot.to_vec::<f64>().unwrap())
        .map(|(a, b)| a * b)
        .sum()
}

/// Central finite differences of `sum(f(primals) * cot)` w.r.t. primal `i`.
pub fn fd_grad(
    f: &dyn Fn(&[Array]) -> Array,
    primals: &[Array],
    cot: &Array,
    i: usize,
) -> Vec<f64> {
    let base = primals[i].to_vec::<f64>().unwrap();
    let shape = primals[i].shape().to_vec();
    let h = 1e-6;
    (0..base.len())
        .map(|j| {
            let mut p = primals.to_vec();
            let mut v = base.clone();
            v[j] += h;
            p[i] = Array::from_slice(&v, &shape).unwrap();
            let up = dot(&f(&p), cot);
            v[j] -= 2.0 * h;
            p[i] = Array::from_slice(&v, &shape).unwrap();
            let down = dot(&f(&p), cot);
            (up - down) / (2.0 * h)
        })
        .collect()
}

#[test]
fn matmul_vjp_jvp_and_pruning() {
    let mut r = Rng(50);
    let a = arr(&r.vec(12), &[3, 4], Dtype::F64);
    let b = arr(&r.vec(20), &[4, 5], Dtype::F64);
    let y = mx::matmul(&a, &b).unwrap();
    let cot = arr(&r.vec(15), &[3, 5], Dtype::F64);
    let f = |p: &[Array]| mx::matmul(&p[0], &p[1]).unwrap();
    let g = Matmul
        .vjp(&[a.clone(), b.clone()], &cot, &y, &[0, 1])
        .unwrap();
    for i in 0..2 {
        let want = fd_grad(&f, &[a.clone(), b.clone()], &cot, i);
        assert_close(
            &g[i].to_vec::<f64>().unwrap(),
            &want,
            1e-6,
            1e-7,
            "matmul vjp",
        );
    }
    // only the requested argnum is built: one Matmul node, no product for the other input
    let only_b = Matmul.vjp(&[a.clone(), b.clone()], &cot, &y, &[1]).unwrap();
    assert_eq!(only_b.len(), 1);
    assert_eq!(only_b[0].shape(), &[4, 5]);
    assert_eq!(only_b[0].primitive_name(), Some("Matmul"));
    // jvp: ta @ b + a @ tb
    let (ta, tb) = (
        arr(&r.vec(12), &[3, 4], Dtype::F64),
        arr(&r.vec(20), &[4, 5], Dtype::F64),
    );
    let j = Matmul
        .jvp(&[a.clone(), b.clone()], &[ta.clone(), tb.clone()], &[0, 1])
        .unwrap();
    let want = (mx::matmul(&ta, &b).unwrap() + mx::matmul(&a, &tb).unwrap()).unwrap();
    assert_close(
        &j.to_vec::<f64>().unwrap(),
        &want.to_vec::<f64>().unwrap(),
        1e-12,
        1e-12,
        "matmul jvp",
    );
}

#[test]
fn addmm_vjp_per_argnum() {
    let mut r = Rng(51);
    let c = arr(&r.vec(15), &[3, 5], Dtype::F64);
    let a = arr(&r.vec(12), &[3, 4], Dtype::F64);
    let b = arr(&r.vec(20), &[4, 5], Dtype::F64);
    let (alpha, beta) = (1.5, -0.5);
    let f = |p: &[Array]| mx::addmm(&p[0], &p[1], &p[2], alpha, beta).unwrap();
    let prim = [c.clone(), a.clone(), b.clone()];
    let y = f(&prim);
    let cot = arr(&r.vec(15), &[3, 5], Dtype::F64);
    let op = AddMM { alpha, beta };
    for i in 0..3 {
        let g = op.vjp(&prim, &cot, &y, &[i]).unwrap();
        assert_eq!(g.len(), 1);
        let want = fd_grad(&f, &prim, &cot, i);
        assert_close(
            &g[0].to_vec::<f64>().unwrap(),
            &want,
            1e-6,
            1e-7,
            "addmm vjp",
        );
    }
}

#[test]
fn broadcast_batch_vjp_sums_back() {
    // [2,1,3,4] @ [5,4,2] -> [2,5,3,2]; the gradients of the broadcast operands sum over the
    // batch axes they were broadcast along
    let mut r = Rng(52);
    let a = arr(&r.vec(24), &[2, 1, 3, 4], Dtype::F64);
    let b = arr(&r.vec(40), &[5, 4, 2], Dtype::F64);
    let cot = arr(&r.vec(60), &[2, 5, 3, 2], Dtype::F64);
    let ab = a.broadcast_to(&[2, 5, 3, 4]).unwrap();
    let bb = b.broadcast_to(&[2, 5, 4, 2]).unwrap();
    let y = mx::matmul(&ab, &bb).unwrap();
    let g = Matmul.vjp(&[ab, bb], &cot, &y, &[0, 1]).unwrap();
    let ga = sum_to_shape(&g[0], a.shape()).unwrap();
    let gb = sum_to_shape(&g[1], b.shape()).unwrap();
    let f = |p: &[Array]| mx::matmul(&p[0], &p[1]).unwrap();
    let prim = [a, b];
    assert_close(
        &ga.to_vec::<f64>().unwrap(),
        &fd_grad(&f, &prim, &cot, 0),
        1e-6,
        1e-7,
        "da",
    );
    assert_close(
        &gb.to_vec::<f64>().unwrap(),
        &fd_grad(&f, &prim, &cot, 1),
        1e-6,
        1e-7,
        "db",
    );
}

/// Row-major values of `x` (any view) as f64.
fn vals(x: &Array) -> Vec<f64> {
    x.to_vec::<f64>().unwrap()
}

#[test]
fn products_cut_into_thread_blocks_match_naive() {
    // products big enough (over 12M multiply-adds per thread) to be cut into one block per
    // thread: by columns (n = 200 in 3 threads: blocks of 80, 80, 40), by rows (n too narrow,
    // or m at least 4n: 1030 rows in blocks of 344, 344, 342), and odd sizes everywhere; plain,
    // with transposed operands, and addmm accumulating into c
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    pool.install(|| {
        let cases = [
            (200, 1000, 200),
            (1000, 400, 100),
            (1030, 160, 250),
            (397, 499, 211),
        ];
        for (i, &(m, k, n)) in cases.iter().enumerate() {
            for (dtype, tol) in [(Dtype::F64, 1e-12), (Dtype::F32, 1e-5), (Dtype::F16, 2e-2)] {
                let seed = 100 + 10 * i as u64;
                check(&[m, k], &[k, n], dtype, seed, tol);
                let mut r = Rng(seed + 1);
                let a = arr(&r.vec(m * k), &[k, m], dtype).t().unwrap();
                let b = arr(&r.vec(k * n), &[n, k], dtype).t().unwrap();
                let c = arr(&r.vec(m * n), &[m, n], dtype);
                let want = naive(&vals(&a), &[m, k], &vals(&b), &[k, n]).0;
                let atol = tol * (k as f64).sqrt();
                let got = vals(&mx::matmul(&a, &b).unwrap());
                assert_close(&got, &want, tol, atol, "split matmul, transposed views");
                let got = vals(&mx::addmm(&c, &a, &b, 0.5, -2.0).unwrap());
                let want: Vec<f64> = want
                    .iter()
                    .zip(vals(&c))
                    .map(|(p, c)| 0.5 * p - 2.0 * c)
                    .collect();
                assert_close(&got, &want, tol, 2.0 * atol, "split addmm");
            }
        }
    });
}

#[test]
fn batched_lhs_times_matrix_runs_as_one_product() {
    // [2, 3, 5, 4] @ [4, 6] (also with `a` a non-contiguous view, and through addmm with every
    // kind of c): values as the naive batched loop, gradients as finite differences
    let mut r = Rng(60);
    let (sa, sb) = ([2usize, 3, 5, 4], [4usize, 6]);
    check(&sa, &sb, Dtype::F64, 60, 1e-12);
    check(&sa, &sb, Dtype::F32, 61, 1e-5);
    let a = arr(&r.vec(120), &sa, Dtype::F64);
    let b = arr(&r.vec(24), &sb, Dtype::F64);
    let at = arr(&r.vec(120), &[5, 3, 2, 4], Dtype::F64)
        .transpose_axes(&[2, 1, 0, 3])
        .unwrap();
    for a in [&a, &at] {
        let want = naive(&vals(a), &sa, &vals(&b), &sb).0;
        let y = mx::matmul(a, &b).unwrap();
        assert_eq!(y.shape(), &[2, 3, 5, 6]);
        assert_close(&vals(&y), &want, 1e-12, 1e-12, "folded matmul");
    }
    let cot = arr(&r.vec(180), &[2, 3, 5, 6], Dtype::F64);
    let f = |p: &[Array]| mx::matmul(&p[0], &p[1]).unwrap();
    let prim = [a.clone(), b.clone()];
    let (_, g) = mx::vjp(
        |p: &[Array]| Ok(vec![f(p)]),
        &prim,
        std::slice::from_ref(&cot),
    )
    .unwrap();
    for i in 0..2 {
        let want = fd_grad(&f, &prim, &cot, i);
        assert_close(&vals(&g[i]), &want, 1e-6, 1e-7, "folded matmul vjp");
    }
    // addmm: c per output column (a bias), a scalar, full, and broadcast along a batch axis
    let cs = [
        arr(&r.vec(6), &[6], Dtype::F64),
        arr(&r.vec(1), &[], Dtype::F64),
        arr(&r.vec(180), &[2, 3, 5, 6], Dtype::F64),
        arr(&r.vec(18), &[3, 1, 6], Dtype::F64),
        arr(&r.vec(6), &[1, 1, 1, 6], Dtype::F64),
    ];
    for c in &cs {
        let f = |p: &[Array]| mx::addmm(&p[0], &p[1], &p[2], 1.5, -0.5).unwrap();
        let prim = [c.clone(), a.clone(), b.clone()];
        let y = f(&prim);
        assert_eq!(y.shape(), &[2, 3, 5, 6]);
        let prod = naive(&vals(&a), &sa, &vals(&b), &sb).0;
        let cb = vals(&c.broadcast_to(&[2, 3, 5, 6]).unwrap());
        let want: Vec<f64> = prod
            .iter()
            .zip(&cb)
            .map(|(p, c)| 1.5 * p - 0.5 * c)
            .collect();
        assert_close(&vals(&y), &want, 1e-12, 1e-12, "folded addmm");
        let (_, g) = mx::vjp(
            |p: &[Array]| Ok(vec![f(p)]),
            &prim,
            std::slice::from_ref(&cot),
        )
        .unwrap();
        for i in 0..3 {
            assert_eq!(g[i].shape(), prim[i].shape());
            let want = fd_grad(&f, &prim, &cot, i);
            assert_close(&vals(&g[i]), &want, 1e-6, 1e-7, "folded addmm vjp");
        }
    }
    // shapes that do not fit are still errors naming the op
    let bad = arr(&r.vec(30), &[5, 6], Dtype::F64);
    let e = mx::matmul(&a, &bad).unwrap_err().to_string();
    assert!(e.contains("matmul"), "{e}");
    let e = mx::addmm(&arr(&[1.0; 4], &[4], Dtype::F64), &a, &b, 1.0, 1.0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("addmm"), "{e}");
}

#[test]
fn gradient_of_a_transposed_operand_comes_back_row_contiguous() {
    // `x @ w.t()` (Linear) and `xt.t() @ w`: the gradients of `w` and `xt` are row-contiguous
    // arrays (no transposed view for the optimizer to walk) with the right values
    let mut r = Rng(70);
    let x = arr(&r.vec(24), &[6, 4], Dtype::F64);
    let w = arr(&r.vec(20), &[5, 4], Dtype::F64);
    let bias = arr(&r.vec(5), &[5], Dtype::F64);
    let cot = arr(&r.vec(30), &[6, 5], Dtype::F64);
    let linear = |p: &[Array]| mx::addmm(&p[2], &p[0], &p[1].t().unwrap(), 1.0, 1.0).unwrap();
    let plain = |p: &[Array]| mx::matmul(&p[0], &p[1].t().unwrap()).unwrap();
    let lhs_t = |p: &[Array]| mx::matmul(&p[1].t().unwrap(), &p[0]).unwrap();
    type Case<'a> = (&'a dyn Fn(&[Array]) -> Array, [Array; 3], Array);
    let fs: [Case; 3] = [
        (&linear, [x.clone(), w.clone(), bias.clone()], cot.clone()),
        (&plain, [x.clone(), w.clone(), bias.clone()], cot.clone()),
        // [5,4]^T... : p[1] = w stored [5, 4] enters as w.t() = [4, 5]; p[0] = [5, 3]
        (
            &lhs_t,
            [
                arr(&r.vec(15), &[5, 3], Dtype::F64),
                w.clone(),
                bias.clone(),
            ],
            arr(&r.vec(12), &[4, 3], Dtype::F64),
        ),
    ];
    for (f, prim, cot) in fs {
        let (_, g) = mx::vjp(
            |p: &[Array]| Ok(vec![f(p)]),
            &prim,
            std::slice::from_ref(&cot),
        )
        .unwrap();
        let gw = &g[1];
        assert_eq!(gw.shape(), &[5, 4]);
        assert!(
            gw.data().unwrap().is_contiguous(),
            "the gradient of a transposed operand should be row-contiguous"
        );
        let want = fd_grad(f, &prim, &cot, 1);
        assert_close(&vals(gw), &want, 1e-6, 1e-7, "transposed operand vjp");
    }
}
