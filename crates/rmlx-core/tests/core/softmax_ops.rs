//! softmax against a naive f64 computation: axes (last, others, several, negative), views,
//! dtypes (f16/bf16 precise and not, integers → float32), extreme values.

use proptest::prelude::*;
use rmlx_core::{self as mx, Array, Dtype};

/// Softmax of row-major `data` of `shape` over the sorted `axes`, in f64.
fn naive_softmax(data: &[f64], shape: &[usize], axes: &[usize]) -> Vec<f64> {
    let nd = shape.len();
    let key = |lin: usize| -> usize {
        let mut rem = lin;
        let mut idx = vec![0; nd];
        for ax in (0..nd).rev() {
            idx[ax] = rem % shape[ax];
            rem /= shape[ax];
        }
        let mut k = 0;
        for ax in 0..nd {
            if !axes.contains(&ax) {
                k = k * shape[ax] + idx[ax];
            }
        }
        k
    };
    let groups: usize = (0..nd)
        .filter(|a| !axes.contains(a))
        .map(|a| shape[a])
        .product();
    let mut m = vec![f64::NEG_INFINITY; groups];
    for (i, &v) in data.iter().enumerate() {
        m[key(i)] = m[key(i)].max(v);
    }
    let mut s = vec![0.0; groups];
    for (i, &v) in data.iter().enumerate() {
        s[key(i)] += (v - m[key(i)]).exp();
    }
    data.iter()
        .enumerate()
        .map(|(i, &v)| (v - m[key(i)]).exp() / s[key(i)])
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn softmax_matches_naive(
        shape in prop::collection::vec(1usize..6, 1..4),
        data_seed in 0u64..10_000,
        mask in 1u32..8,
        neg in any::<bool>(),
        transposed in any::<bool>(),
        f64_dtype in any::<bool>(),
    ) {
        let n: usize = shape.iter().product();
        let data: Vec<f64> = (0..n)
            .map(|i| ((((i as u64 + 1) * 2654435761 + data_seed * 31) % 2000) as f64 / 100.0 - 10.0) as f32 as f64)
            .collect();
        let dtype = if f64_dtype { Dtype::F64 } else { Dtype::F32 };
        let base = Array::from_slice(&data, &shape).unwrap().astype(dtype).unwrap();
        let (x, vdata, vshape) = if transposed && shape.len() > 1 {
            let t = base.t().unwrap();
            let td = t.to_vec::<f64>().unwrap();
            (t, td, shape.iter().rev().cloned().collect::<Vec<_>>())
        } else {
            (base, data.clone(), shape.clone())
        };
        let nd = vshape.len();
        let mut axes: Vec<usize> = (0..nd).filter(|a| mask & (1 << a) != 0).collect();
        if axes.is_empty() { axes.push(nd - 1); }
        let arg: Vec<isize> = axes.iter().map(|&a| if neg { a as isize - nd as isize } else { a as isize }).collect();
        let y = x.softmax(arg, false).unwrap();
        prop_assert_eq!(y.shape(), &vshape[..]);
        prop_assert_eq!(y.dtype(), dtype);
        let got = y.to_vec::<f64>().unwrap();
        let want = naive_softmax(&vdata, &vshape, &axes);
        let tol = if f64_dtype { 1e-13 } else { 2e-6 };
        for (g, w) in got.iter().zip(&want) {
            prop_assert!((g - w).abs() <= tol * w.max(1e-30) + 1e-30, "{} vs {}", g, w);
        }
    }
}

#[test]
fn softmax_large_rows_parallel_and_relative_accuracy() {
    let (rows, n) = (300, 512);
    let data: Vec<f32> = (0..rows * n)
        .map(|i| ((i * 7919) % 2003) as f32 / 100.0 - 10.0)
        .collect();
    let x = Array::from_slice(&data, &[rows, n]).unwrap();
    let y = mx::softmax(&x, -1, false).unwrap().to_vec::<f32>().unwrap();
    let d: Vec<f64> = data.iter().map(|&v| v as f64).collect();
    let want = naive_softmax(&d, &[rows, n], &[1]);
    for (g, w) in y.iter().zip(&want) {
        // f32 rounding of `x - max` (|x - max| <= 20, so up to 2^-20 absolute) dominates:
        // it is a relative error of ~1e-6 after exp; plus exp (<= 2 ulp), sum and scaling
        assert!(((*g as f64) - w).abs() <= 3e-6 * w, "{g} vs {w}");
    }
}

#[test]
fn softmax_half_precise_and_default() {
    let n = 1000;
    let data: Vec<f32> = (0..n)
        .map(|i| ((i * 37) % 101) as f32 / 20.0 - 2.5)
        .collect();
    let d64: Vec<f64> = data
        .iter()
        .map(|&v| half::f16::from_f32(v).to_f64())
        .collect();
    let want = naive_softmax(&d64, &[n], &[0]);
    for dtype in [Dtype::F16, Dtype::Bf16] {
        let x = Array::from_slice(&data, &[n])
            .unwrap()
            .astype(dtype)
            .unwrap();
        let want: Vec<f64> = if dtype == Dtype::F16 {
            want.clone()
        } else {
            let db: Vec<f64> = data
                .iter()
                .map(|&v| half::bf16::from_f32(v).to_f64())
                .collect();
            naive_softmax(&db, &[n], &[0])
        };
        let rel_ulp = if dtype == Dtype::F16 {
            1.0 / 1024.0
        } else {
            1.0 / 128.0
        };
        // f16 results below 2^-14 are subnormal: absolute spacing 2^-24
        let floor = if dtype == Dtype::F16 {
            2f64.powi(-24)
        } else {
            0.0
        };
        let p = x.softmax(-1, true).unwrap();
        assert_eq!(p.dtype(), dtype);
        for (g, w) in p.to_vec::<f64>().unwrap().iter().zip(&want) {
            // precise: one rounding of a (nearly) exact value: within one half-ulp + a bit
            assert!(
                (g - w).abs() <= 0.6 * (rel_ulp * w).max(floor),
                "{dtype} precise: {g} vs {w}"
            );
        }
        let q = x.softmax(-1, false).unwrap();
        for (g, w) in q.to_vec::<f64>().unwrap().iter().zip(&want) {
            // default: exponentials rounded to the half type, then the scaling: a few ulps
            assert!(
                (g - w).abs() <= 3.0 * (rel_ulp * w).max(floor),
                "{dtype} default: {g} vs {w}"
            );
        }
    }
}

#[test]
fn softmax_integers_scalars_and_extremes() {
    let i = Array::from_slice(&[1i32, 2, 3], &[3]).unwrap();
    let p = i.softmax(-1, false).unwrap();
    assert_eq!(p.dtype(), Dtype::F32);
    let s: f32 = p.to_vec::<f32>().unwrap().iter().sum();
    assert!((s - 1.0).abs() < 1e-6);
    let z = Array::scalar(3.0f32).softmax(None, false).unwrap();
    assert_eq!(z.shape(), &[] as &[usize]);
    assert_eq!(z.item::<f32>().unwrap(), 1.0);
    let big = Array::from_slice(&[1e30f32, 0.0, -1e30, f32::NEG_INFINITY], &[4]).unwrap();
    assert_eq!(
        big.softmax(-1, false).unwrap().to_vec::<f32>().unwrap(),
        vec![1.0, 0.0, 0.0, 0.0]
    );
    let nan = Array::from_slice(&[1.0f32, f32::NAN], &[2]).unwrap();
    assert!(nan
        .softmax(-1, false)
        .unwrap()
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .all(|v| v.is_nan()));
    // softmax over all axes of a matrix sums to one overall
    let m = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    let all: f32 = m
        .softmax(None, false)
        .unwrap()
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .sum();
    assert!((all - 1.0).abs() < 1e-6);
}
