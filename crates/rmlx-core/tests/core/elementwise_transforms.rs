//! PARKED (not a test target yet): written against rmlx_core::grad/jvp after the transforms merge, but
//! the build did not finish before the deadline, so it has never been compiled. To enable: move it to
//! tests/elementwise_transforms.rs (its `mod elementwise_common;` then resolves as in the other files) and run it.
// Tests favour plain `&[x.clone()]` argument lists and inline fn-pointer tables over helpers.

//! Gradients of every differentiable elementwise op through the public transforms
//! (`rmlx_core::grad` / `jvp`), against central finite differences in f64, with broadcast and
//! transposed inputs (so the broadcast/transpose vjps and the elementwise rules compose).

use crate::elementwise_common;

use elementwise_common::*;
use rmlx_core::{self as mx, Array, Result};

const H: f64 = 1e-6;

type Fun = fn(&[Array]) -> Result<Array>;

/// `sum(f(primals) * weights)`: a scalar loss with non-uniform cotangents.
fn loss(f: Fun, p: &[Array]) -> Result<Array> {
    let y = f(p)?;
    let n = y.size();
    let w: Vec<f64> = (0..n).map(|k| 0.5 + (k % 5) as f64 * 0.3).collect();
    let w = Array::from_slice(&w, y.shape())?;
    (&y * &w)?.sum(None, false)
}

/// Central-difference gradient of `loss(f, ·)` with respect to primal `i` (contiguous f64).
fn fd(f: Fun, p: &[Array], i: usize) -> Vec<f64> {
    let base = vals(&p[i]);
    let shape = p[i].shape().to_vec();
    (0..base.len())
        .map(|k| {
            let at = |h: f64| {
                let mut v = base.clone();
                v[k] += h;
                let mut q = p.to_vec();
                q[i] = Array::from_slice(&v, &shape).unwrap();
                loss(f, &q).unwrap().item::<f64>().unwrap()
            };
            (at(H) - at(-H)) / (2.0 * H)
        })
        .collect()
}

fn check(name: &str, f: Fun, p: &[Array]) {
    let argnums: Vec<usize> = (0..p.len()).collect();
    let g = mx::grad(move |q: &[Array]| Ok(vec![loss(f, q)?]), &argnums)(p).unwrap();
    for (i, (gi, pi)) in g.iter().zip(p).enumerate() {
        assert_eq!(gi.shape(), pi.shape(), "{name}: grad {i} shape");
        let want = fd(f, p, i);
        let got = vals(gi);
        for (k, (a, b)) in got.iter().zip(&want).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                "{name}: d/dx{i}[{k}] = {a}, finite difference {b}"
            );
        }
    }
    // forward mode: directional derivative along a fixed tangent
    let tangents: Vec<Array> = p
        .iter()
        .map(|x| {
            let v: Vec<f64> = (0..x.size()).map(|k| 0.3 + (k % 3) as f64 * 0.2).collect();
            Array::from_slice(&v, x.shape()).unwrap()
        })
        .collect();
    let (_, t) = mx::jvp(move |q: &[Array]| Ok(vec![loss(f, q)?]), p, &tangents).unwrap();
    let want: f64 = (0..p.len())
        .map(|i| {
            fd(f, p, i)
                .iter()
                .zip(vals(&tangents[i]))
                .map(|(g, t)| g * t)
                .sum::<f64>()
        })
        .sum();
    let got = t[0].item::<f64>().unwrap();
    assert!(
        (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
        "{name}: jvp {got} vs {want}"
    );
}

/// A [3, 4] f64 input in `[lo, hi]`, transposed from a [4, 3] array when `transposed`.
fn x34(lo: f64, hi: f64, seed: u64, transposed: bool) -> Array {
    let mut rng = SplitMix(seed);
    let v: Vec<f64> = (0..12).map(|_| rng.uniform(lo, hi)).collect();
    if transposed {
        Array::from_slice(&v, &[4, 3]).unwrap().t().unwrap()
    } else {
        Array::from_slice(&v, &[3, 4]).unwrap()
    }
}

/// A [4] f64 input (broadcast against [3, 4] by binary ops).
fn x4(lo: f64, hi: f64, seed: u64) -> Array {
    let mut rng = SplitMix(seed);
    let v: Vec<f64> = (0..4).map(|_| rng.uniform(lo, hi)).collect();
    Array::from_slice(&v, &[4]).unwrap()
}

#[test]
fn unary_gradients_match_finite_differences() {
    let cases: Vec<(&str, Fun, f64, f64)> = vec![
        ("abs", |p| p[0].abs(), 0.1, 2.0),
        ("negative", |p| p[0].negative(), -2.0, 2.0),
        ("square", |p| p[0].square(), -2.0, 2.0),
        ("sqrt", |p| p[0].sqrt(), 0.2, 4.0),
        ("rsqrt", |p| p[0].rsqrt(), 0.2, 4.0),
        ("reciprocal", |p| p[0].reciprocal(), 0.3, 3.0),
        ("exp", |p| p[0].exp(), -2.0, 2.0),
        ("expm1", |p| p[0].expm1(), -2.0, 2.0),
        ("log", |p| p[0].log(), 0.2, 4.0),
        ("log1p", |p| p[0].log1p(), -0.5, 3.0),
        ("log2", |p| p[0].log2(), 0.2, 4.0),
        ("log10", |p| p[0].log10(), 0.2, 4.0),
        ("sin", |p| p[0].sin(), -3.0, 3.0),
        ("cos", |p| p[0].cos(), -3.0, 3.0),
        ("tan", |p| p[0].tan(), -1.0, 1.0),
        ("arcsin", |p| p[0].arcsin(), -0.8, 0.8),
        ("arccos", |p| p[0].arccos(), -0.8, 0.8),
        ("arctan", |p| p[0].arctan(), -3.0, 3.0),
        ("sinh", |p| p[0].sinh(), -2.0, 2.0),
        ("cosh", |p| p[0].cosh(), -2.0, 2.0),
        ("tanh", |p| p[0].tanh(), -2.0, 2.0),
        ("arcsinh", |p| p[0].arcsinh(), -3.0, 3.0),
        ("arccosh", |p| p[0].arccosh(), 1.2, 4.0),
        ("arctanh", |p| p[0].arctanh(), -0.8, 0.8),
        ("sigmoid", |p| p[0].sigmoid(), -4.0, 4.0),
        ("erf", |p| p[0].erf(), -2.0, 2.0),
        ("erfinv", |p| p[0].erfinv(), -0.8, 0.8),
    ];
    for (k, (name, f, lo, hi)) in cases.into_iter().enumerate() {
        check(name, f, &[x34(lo, hi, k as u64, false)]);
        check(name, f, &[x34(lo, hi, 100 + k as u64, true)]);
    }
}

#[test]
fn binary_gradients_match_finite_differences() {
    let cases: Vec<(&str, Fun, (f64, f64), (f64, f64))> = vec![
        ("add", |p| mx::add(&p[0], &p[1]), (-2.0, 2.0), (-2.0, 2.0)),
        (
            "subtract",
            |p| mx::subtract(&p[0], &p[1]),
            (-2.0, 2.0),
            (-2.0, 2.0),
        ),
        (
            "multiply",
            |p| mx::multiply(&p[0], &p[1]),
            (-2.0, 2.0),
            (-2.0, 2.0),
        ),
        (
            "divide",
            |p| mx::divide(&p[0], &p[1]),
            (-2.0, 2.0),
            (0.5, 2.0),
        ),
        (
            "remainder",
            |p| mx::remainder(&p[0], &p[1]),
            (2.1, 2.9),
            (1.05, 1.4),
        ),
        (
            "power",
            |p| mx::power(&p[0], &p[1]),
            (0.3, 3.0),
            (-2.0, 2.0),
        ),
        (
            "maximum",
            |p| mx::maximum(&p[0], &p[1]),
            (-2.0, 2.0),
            (-2.0, 2.0),
        ),
        (
            "minimum",
            |p| mx::minimum(&p[0], &p[1]),
            (-2.0, 2.0),
            (-2.0, 2.0),
        ),
        (
            "logaddexp",
            |p| mx::logaddexp(&p[0], &p[1]),
            (-3.0, 3.0),
            (-3.0, 3.0),
        ),
        (
            "arctan2",
            |p| mx::arctan2(&p[0], &p[1]),
            (-2.0, 2.0),
            (0.3, 2.0),
        ),
        (
            "clip",
            |p| mx::clip(&p[0], Some(&p[1]), None),
            (-2.0, 2.0),
            (-1.0, 1.0),
        ),
    ];
    for (k, (name, f, ra, rb)) in cases.into_iter().enumerate() {
        let s = 1000 + 10 * k as u64;
        // [3, 4] with [4] (broadcast), transposed lhs, and the broadcast on the left
        check(name, f, &[x34(ra.0, ra.1, s, false), x4(rb.0, rb.1, s + 1)]);
        check(
            name,
            f,
            &[x34(ra.0, ra.1, s + 2, true), x34(rb.0, rb.1, s + 3, true)],
        );
        check(
            name,
            f,
            &[x4(ra.0, ra.1, s + 4), x34(rb.0, rb.1, s + 5, false)],
        );
    }
}

#[test]
fn where_gradient_and_stop_gradient() {
    let c = Array::from_bools(&[true, false, true, false], &[4]).unwrap();
    let f: Fun = |p| {
        let c = Array::from_bools(&[true, false, true, false], &[4])?;
        mx::where_(&c, &p[0], &p[1])
    };
    check("where", f, &[x34(-2.0, 2.0, 7, false), x4(-2.0, 2.0, 8)]);
    let x = x34(-2.0, 2.0, 9, false);
    let g = mx::grad(
        |p: &[Array]| Ok(vec![(&mx::stop_gradient(&p[0])? * &p[0])?.sum(None, false)?]),
        &[0],
    )(&[x.clone()])
    .unwrap();
    assert_eq!(vals(&g[0]), vals(&x)); // d/dx sum(sg(x) * x) = sg(x)
    let g = mx::grad(
        |p: &[Array]| Ok(vec![mx::stop_gradient(&p[0])?.exp()?.sum(None, false)?]),
        &[0],
    )(&[x])
    .unwrap();
    assert!(vals(&g[0]).iter().all(|&v| v == 0.0));
    drop(c);
}

#[test]
fn relu_gradient_at_zero_is_zero() {
    let x = Array::from_slice(&[-1.0f32, 0.0, 2.0], &[3]).unwrap();
    let g = mx::grad(
        |p: &[Array]| {
            let zero = Array::scalar(0.0f32);
            Ok(vec![mx::maximum(&p[0], &zero)?.sum(None, false)?])
        },
        &[0],
    )(&[x])
    .unwrap();
    assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![0.0, 0.0, 1.0]);
}
