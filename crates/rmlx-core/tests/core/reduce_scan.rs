//! Scans (cumsum, cumprod, cummax, cummin) against naive loops: every axis, reverse, inclusive,
//! views, dtypes.

use proptest::prelude::*;
use rmlx_core::{self as mx, Array, Dtype};

fn naive_scan(op: &str, line: &[f64], reverse: bool, inclusive: bool) -> Vec<f64> {
    let n = line.len();
    let init = match op {
        "cumsum" => 0.0,
        "cumprod" => 1.0,
        "cummax" => f64::NEG_INFINITY,
        _ => f64::INFINITY,
    };
    let comb = |a: f64, b: f64| match op {
        "cumsum" => a + b,
        "cumprod" => a * b,
        "cummax" => a.max(b),
        _ => a.min(b),
    };
    let mut out = vec![0.0; n];
    let mut acc = init;
    for s in 0..n {
        let j = if reverse { n - 1 - s } else { s };
        if inclusive {
            acc = comb(acc, line[j]);
            out[j] = acc;
        } else {
            out[j] = acc;
            acc = comb(acc, line[j]);
        }
    }
    out
}

fn reference(
    op: &str,
    data: &[f64],
    shape: &[usize],
    axis: usize,
    rev: bool,
    inc: bool,
) -> Vec<f64> {
    let outer: usize = shape[..axis].iter().product();
    let n = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let mut out = vec![0.0; data.len()];
    for o in 0..outer {
        for i in 0..inner {
            let line: Vec<f64> = (0..n).map(|j| data[(o * n + j) * inner + i]).collect();
            for (j, v) in naive_scan(op, &line, rev, inc).into_iter().enumerate() {
                out[(o * n + j) * inner + i] = v;
            }
        }
    }
    out
}

fn scan(op: &str, x: &Array, axis: Option<isize>, rev: bool, inc: bool) -> Array {
    match op {
        "cumsum" => x.cumsum(axis, rev, inc),
        "cumprod" => x.cumprod(axis, rev, inc),
        "cummax" => x.cummax(axis, rev, inc),
        _ => x.cummin(axis, rev, inc),
    }
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn scans_match_naive(
        shape in prop::collection::vec(1usize..5, 1..4),
        seed in 0u64..1000,
        axis in 0usize..3,
        neg in any::<bool>(),
        rev in any::<bool>(),
        inc in any::<bool>(),
        transposed in any::<bool>(),
        dtype_pick in 0usize..4,
    ) {
        let dtype = [Dtype::F32, Dtype::F64, Dtype::I32, Dtype::I64][dtype_pick];
        let n: usize = shape.iter().product();
        let data: Vec<f64> = (0..n)
            .map(|i| (((i as u64 * 2654435761 + seed * 97) % 7) as f64) - 3.0)
            .collect();
        let base = Array::from_slice(&data, &shape).unwrap().astype(dtype).unwrap();
        // the transposed view and its row-major data
        let (x, vdata, vshape) = if transposed && shape.len() > 1 {
            let t = base.t().unwrap();
            let td = t.to_vec::<f64>().unwrap();
            (t, td, shape.iter().rev().cloned().collect::<Vec<_>>())
        } else {
            (base, data.clone(), shape.clone())
        };
        let axis = axis % vshape.len();
        let arg = if neg { axis as isize - vshape.len() as isize } else { axis as isize };
        for op in ["cumsum", "cumprod", "cummax", "cummin"] {
            let out = scan(op, &x, Some(arg), rev, inc);
            prop_assert_eq!(out.shape(), &vshape[..]);
            prop_assert_eq!(out.dtype(), dtype);
            let got = out.to_vec::<f64>().unwrap();
            let want = reference(op, &vdata, &vshape, axis, rev, inc);
            for (g, w) in got.iter().zip(&want) {
                if !dtype.is_float() && w.is_infinite() {
                    continue; // exclusive max/min identity is the integer limit
                }
                prop_assert!(g == w || (g - w).abs() <= 1e-9 * (1.0 + w.abs()), "{} {:?} axis {} rev {} inc {}: {} vs {}", op, dtype, axis, rev, inc, g, w);
            }
        }
    }
}

#[test]
fn flattened_scan_and_bool_widening() {
    let x = Array::from_slice(&[1i32, 2, 3, 4], &[2, 2]).unwrap();
    let c = x.cumsum(None, false, true).unwrap();
    assert_eq!(c.shape(), &[4]);
    assert_eq!(c.to_vec::<i32>().unwrap(), vec![1, 3, 6, 10]);
    let b = Array::from_bools(&[true, true, false, true], &[4]).unwrap();
    let bc = b.cumsum(Some(0), false, true).unwrap();
    assert_eq!(bc.dtype(), Dtype::I32);
    assert_eq!(bc.to_vec::<i32>().unwrap(), vec![1, 2, 2, 3]);
    assert_eq!(b.cummax(Some(0), false, true).unwrap().dtype(), Dtype::Bool);
    let h = Array::from_slice(&[0.5f32, 0.25, 2.0], &[3])
        .unwrap()
        .astype(Dtype::F16)
        .unwrap();
    assert_eq!(
        h.cumprod(Some(0), false, true)
            .unwrap()
            .to_vec::<f32>()
            .unwrap(),
        vec![0.5, 0.125, 0.25]
    );
}

#[test]
fn cummax_propagates_nan() {
    let x = Array::from_slice(&[1.0f32, f32::NAN, 3.0], &[3]).unwrap();
    let m = x
        .cummax(Some(0), false, true)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert_eq!(m[0], 1.0);
    assert!(m[1].is_nan() && m[2].is_nan());
}

#[test]
fn large_scan_runs_in_parallel_blocks() {
    let x = Array::from_slice(&vec![1.0f32; 64 * 1024], &[64, 1024]).unwrap();
    let c = x
        .cumsum(Some(1), false, true)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    for r in 0..64 {
        for j in [0usize, 511, 1023] {
            assert_eq!(c[r * 1024 + j], (j + 1) as f32);
        }
    }
}

/// logcumsumexp's jvp against central differences in f64, both directions, both inclusivities.
#[test]
fn logcumsumexp_jvp_matches_finite_differences() {
    let x = Array::from_slice(&[0.3f64, -1.2, 2.0, 0.7, -0.4, 1.1], &[2, 3]).unwrap();
    let t = Array::from_slice(&[1.0f64, -0.5, 0.25, -2.0, 0.75, 0.1], &[2, 3]).unwrap();
    for (reverse, inclusive) in [(false, true), (true, true), (false, false), (true, false)] {
        let f = move |p: &[Array]| -> rmlx_core::Result<Vec<Array>> {
            Ok(vec![mx::logcumsumexp(&p[0], Some(1), reverse, inclusive)?])
        };
        let (_, jt) = mx::jvp(f, &[x.clone()], &[t.clone()]).unwrap();
        let eps = 1e-6;
        let plus = f(&[(&x + &(&t * eps).unwrap()).unwrap()]).unwrap();
        let minus = f(&[(&x - &(&t * eps).unwrap()).unwrap()]).unwrap();
        let fd = ((&plus[0] - &minus[0]).unwrap() / (2.0 * eps)).unwrap();
        let (a, b) = (jt[0].to_vec::<f64>().unwrap(), fd.to_vec::<f64>().unwrap());
        for (i, (p, q)) in a.iter().zip(&b).enumerate() {
            let ok = (p - q).abs() < 1e-6 || (p.is_nan() && q.is_nan());
            assert!(
                ok,
                "reverse {reverse} inclusive {inclusive} element {i}: jvp {p}, fd {q}"
            );
        }
    }
}
