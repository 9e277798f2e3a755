//! Gradients of the matrix-product and fast ops through the public transforms (`vjp`,
//! `vjp_with_argnums`, `jvp`), checked against central finite differences in f64, and the
//! pruning of unrequested matmul products.

use std::collections::HashSet;

use rmlx_core::fast::{self, SdpaMask};
use rmlx_core::linalg::{self, NormOrd};
use rmlx_core::{self as mx, Array, Result};

use crate::gauss::Rng;

impl Rng {
    /// Normal draws as an f64 array of `shape`.
    fn arr(&mut self, shape: &[usize]) -> Array {
        let n: usize = shape.iter().product();
        let v: Vec<f64> = (0..n).map(|_| self.normal()).collect();
        Array::from_slice(&v, shape).unwrap()
    }
}

type F = dyn Fn(&[Array]) -> Result<Vec<Array>>;

fn dot(a: &Array, b: &Array) -> f64 {
    a.to_vec::<f64>()
        .unwrap()
        .iter()
        .zip(b.to_vec::<f64>().unwrap())
        .map(|(x, y)| x * y)
        .sum()
}

/// vjp (all primals) and jvp (random tangents) of `f` against finite differences.
fn check(f: &F, primals: &[Array], r: &mut Rng, what: &str) {
    let y = f(primals).unwrap().remove(0);
    let cot = r.arr(y.shape());
    let (_, g) = mx::vjp(f, primals, std::slice::from_ref(&cot)).unwrap();
    let h = 1e-6;
    for i in 0..primals.len() {
        let base = primals[i].to_vec::<f64>().unwrap();
        let gi = g[i].to_vec::<f64>().unwrap();
        assert_eq!(g[i].shape(), primals[i].shape(), "{what}: grad {i} shape");
        for j in 0..base.len() {
            let eval_at = |d: f64| {
                let mut p = primals.to_vec();
                let mut v = base.clone();
                v[j] += d;
                p[i] = Array::from_slice(&v, primals[i].shape()).unwrap();
                dot(&f(&p).unwrap()[0], &cot)
            };
            let fd = (eval_at(h) - eval_at(-h)) / (2.0 * h);
            assert!(
                (gi[j] - fd).abs() <= 1e-5 * (1.0 + fd.abs()),
                "{what}: d/dp{i}[{j}] = {} vs fd {fd}",
                gi[j]
            );
        }
    }
    let tangents: Vec<Array> = primals.iter().map(|p| r.arr(p.shape())).collect();
    let (_, jt) = mx::jvp(f, primals, &tangents).unwrap();
    let lhs = dot(&jt[0], &cot);
    let rhs: f64 = g.iter().zip(&tangents).map(|(g, t)| dot(g, t)).sum();
    assert!(
        (lhs - rhs).abs() <= 1e-8 * (1.0 + rhs.abs()),
        "{what}: jvp {lhs} vs vjp {rhs}"
    );
}

#[test]
fn matrix_products() {
    let mut r = Rng(1);
    let f: &F = &|p| Ok(vec![mx::matmul(&p[0], &p[1])?]);
    check(
        f,
        &[r.arr(&[2, 1, 3, 4]), r.arr(&[3, 4, 2])],
        &mut r,
        "matmul broadcast",
    );
    check(
        f,
        &[r.arr(&[4]), r.arr(&[2, 4, 3])],
        &mut r,
        "matmul 1-D lhs",
    );
    check(f, &[r.arr(&[3, 4]), r.arr(&[4])], &mut r, "matmul 1-D rhs");
    let f: &F = &|p| Ok(vec![mx::matmul(&p[0], &p[1].t()?)?]);
    check(f, &[r.arr(&[3, 4]), r.arr(&[5, 4])], &mut r, "x @ w.T");
    let f: &F = &|p| Ok(vec![mx::addmm(&p[0], &p[1], &p[2].t()?, 0.7, 1.3)?]);
    check(
        f,
        &[r.arr(&[5]), r.arr(&[2, 3, 4]), r.arr(&[5, 4])],
        &mut r,
        "addmm",
    );
    let f: &F = &|p| Ok(vec![mx::tensordot(&p[0], &p[1], ([1, 0], [0, 2]))?]);
    check(
        f,
        &[r.arr(&[3, 2, 4]), r.arr(&[2, 5, 3])],
        &mut r,
        "tensordot",
    );
    let f: &F = &|p| Ok(vec![mx::inner(&p[0], &p[1])?]);
    check(f, &[r.arr(&[2, 3]), r.arr(&[4, 3])], &mut r, "inner");
    let f: &F = &|p| Ok(vec![mx::outer(&p[0], &p[1])?]);
    check(f, &[r.arr(&[3]), r.arr(&[2, 2])], &mut r, "outer");
    let f: &F = &|p| Ok(vec![linalg::norm(&p[0], None, [1], false)?]);
    check(f, &[r.arr(&[3, 4])], &mut r, "norm 2");
    let f: &F = &|p| Ok(vec![linalg::norm(&p[0], Some(NormOrd::Fro), [0, 1], true)?]);
    check(f, &[r.arr(&[3, 4])], &mut r, "norm fro");
    let f: &F = &|p| {
        Ok(vec![linalg::norm(
            &p[0],
            Some(NormOrd::P(3.0)),
            None,
            false,
        )?])
    };
    check(f, &[r.arr(&[5])], &mut r, "norm 3");
}

#[test]
fn fast_ops() {
    let mut r = Rng(2);
    let f: &F = &|p| {
        Ok(vec![fast::layer_norm(
            &p[0],
            Some(&p[1]),
            Some(&p[2]),
            1e-5,
        )?])
    };
    check(
        f,
        &[r.arr(&[2, 3, 5]), r.arr(&[5]), r.arr(&[5])],
        &mut r,
        "layer_norm",
    );
    let f: &F = &|p| Ok(vec![fast::rms_norm(&p[0], Some(&p[1]), 1e-5)?]);
    check(f, &[r.arr(&[3, 6]), r.arr(&[6])], &mut r, "rms_norm");
    let f: &F = &|p| Ok(vec![fast::rope(&p[0], 4, false, 10000.0, 1.0, 1)?]);
    check(f, &[r.arr(&[2, 3, 6])], &mut r, "rope");
    let f: &F = &|p| {
        Ok(vec![fast::scaled_dot_product_attention(
            &p[0],
            &p[1],
            &p[2],
            0.5,
            SdpaMask::Causal,
        )?])
    };
    check(
        f,
        &[
            r.arr(&[1, 2, 3, 4]),
            r.arr(&[1, 2, 3, 4]),
            r.arr(&[1, 2, 3, 2]),
        ],
        &mut r,
        "sdpa causal",
    );
    // grouped heads and a broadcast additive mask (its gradient sums over batch and heads)
    let f: &F = &|p| {
        Ok(vec![fast::scaled_dot_product_attention(
            &p[0],
            &p[1],
            &p[2],
            0.4,
            SdpaMask::Array(&p[3]),
        )?])
    };
    check(
        f,
        &[
            r.arr(&[2, 4, 3, 2]),
            r.arr(&[2, 2, 5, 2]),
            r.arr(&[2, 2, 5, 3]),
            r.arr(&[3, 5]),
        ],
        &mut r,
        "sdpa gqa additive",
    );
}

fn count(root: &Array, name: &str) -> usize {
    let mut seen = HashSet::new();
    let mut stack = vec![root.clone()];
    let mut n = 0;
    while let Some(a) = stack.pop() {
        if !seen.insert(a.id()) {
            continue;
        }
        if a.primitive_name() == Some(name) {
            n += 1;
        }
        stack.extend(a.inputs());
    }
    n
}

#[test]
fn unrequested_products_are_not_built() {
    let mut r = Rng(3);
    let (x, w) = (r.arr(&[4, 3]), r.arr(&[5, 3]));
    let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![mx::matmul(&p[0], &p[1].t()?)?]) };
    let cot = r.arr(&[4, 5]);
    let (_, gw) =
        mx::vjp_with_argnums(f, &[x.clone(), w.clone()], std::slice::from_ref(&cot), &[1]).unwrap();
    assert_eq!(gw.len(), 1);
    assert_eq!(count(&gw[0], "Matmul"), 1, "only dW = (x^T @ cot)^T");
    let (_, g) = mx::vjp(f, &[x.clone(), w.clone()], &[cot]).unwrap();
    assert_eq!(count(&g[0], "Matmul") + count(&g[1], "Matmul"), 2);
    // layer norm with only the bias requested builds no LayerNormVJP
    let ln = |p: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![fast::layer_norm(
            &p[0],
            Some(&p[1]),
            Some(&p[2]),
            1e-5,
        )?])
    };
    let (xs, ws, bs) = (r.arr(&[3, 4]), r.arr(&[4]), r.arr(&[4]));
    let c = r.arr(&[3, 4]);
    let (_, gb) = mx::vjp_with_argnums(ln, &[xs, ws, bs], &[c], &[2]).unwrap();
    assert_eq!(count(&gb[0], "LayerNormVJP"), 0);
    assert_eq!(count(&gb[0], "LayerNorm"), 0);
}
