//! sort / argsort / argpartition / partition / topk against std's sort.

use proptest::prelude::*;
use rmlx_core::{self as mx, Array, Dtype};

fn lines(data: &[f64], shape: &[usize], axis: usize) -> Vec<Vec<f64>> {
    let outer: usize = shape[..axis].iter().product();
    let n = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let mut out = Vec::new();
    for o in 0..outer {
        for i in 0..inner {
            out.push((0..n).map(|j| data[(o * n + j) * inner + i]).collect());
        }
    }
    out
}

fn cmp_nan_last(a: &f64, b: &f64) -> std::cmp::Ordering {
    a.partial_cmp(b)
        .unwrap_or_else(|| a.is_nan().cmp(&b.is_nan()))
}

fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn sorting_matches_std(
        shape in prop::collection::vec(1usize..6, 1..4),
        seed in 0u64..10_000,
        axis in 0usize..3,
        with_nan in any::<bool>(),
        dtype_pick in 0usize..6,
    ) {
        let dtype = [Dtype::F32, Dtype::F64, Dtype::I32, Dtype::U8, Dtype::F16, Dtype::Bf16][dtype_pick];
        let n: usize = shape.iter().product();
        let mut data: Vec<f64> = (0..n)
            .map(|i| ((i as u64 * 2654435761 + seed * 7919) % 11) as f64)
            .collect();
        if with_nan && dtype.is_float() && n > 1 {
            data[(seed as usize) % n] = f64::NAN;
        }
        let x = Array::from_slice(&data, &shape).unwrap().astype(dtype).unwrap();
        let axis = axis % shape.len();
        let ax = axis as isize;
        let m = shape[axis];
        let ls = lines(&data, &shape, axis);

        let sorted = lines(&x.sort(ax).unwrap().to_vec::<f64>().unwrap(), &shape, axis);
        let args = lines(&x.argsort(ax).unwrap().to_vec::<f64>().unwrap(), &shape, axis);
        let k = 1 + (seed as usize) % m;
        let mut tshape = shape.clone();
        tshape[axis] = k;
        let top = lines(&x.topk(k, ax).unwrap().to_vec::<f64>().unwrap(), &tshape, axis);
        let kth = (seed as usize) % m;
        let part_idx = lines(&x.argpartition(kth as isize, ax).unwrap().to_vec::<f64>().unwrap(), &shape, axis);
        let part = lines(&x.partition(kth as isize, ax).unwrap().to_vec::<f64>().unwrap(), &shape, axis);

        for (li, line) in ls.iter().enumerate() {
            let mut want = line.clone();
            want.sort_by(cmp_nan_last);
            // values
            for (g, w) in sorted[li].iter().zip(&want) {
                prop_assert!(same(*g, *w));
            }
            // argsort: stable permutation
            let mut idx: Vec<usize> = (0..m).collect();
            idx.sort_by(|&a, &b| cmp_nan_last(&line[a], &line[b]));
            let got: Vec<usize> = args[li].iter().map(|&v| v as usize).collect();
            prop_assert_eq!(&got, &idx);
            // topk: the k largest, ascending
            for (g, w) in top[li].iter().zip(&want[m - k..]) {
                prop_assert!(same(*g, *w));
            }
            // argpartition: a permutation with the kth value in place
            let mut seen: Vec<usize> = part_idx[li].iter().map(|&v| v as usize).collect();
            let pv: Vec<f64> = seen.iter().map(|&i| line[i]).collect();
            prop_assert!(same(pv[kth], want[kth]));
            for j in 0..m {
                prop_assert!(same(part[li][j], pv[j]));
                if j < kth { prop_assert!(cmp_nan_last(&pv[j], &pv[kth]) != std::cmp::Ordering::Greater); }
                if j > kth { prop_assert!(cmp_nan_last(&pv[j], &pv[kth]) != std::cmp::Ordering::Less); }
            }
            seen.sort();
            prop_assert_eq!(seen, (0..m).collect::<Vec<_>>());
        }
    }
}

#[test]
fn sort_transposed_and_broadcast_views() {
    let x = Array::from_slice(&[3.0f32, 1.0, 2.0, 0.0, 5.0, 4.0], &[2, 3]).unwrap();
    let t = x.t().unwrap(); // [[3, 0], [1, 5], [2, 4]]
    assert_eq!(
        t.sort(0).unwrap().to_vec::<f32>().unwrap(),
        vec![1.0, 0.0, 2.0, 4.0, 3.0, 5.0]
    );
    assert_eq!(
        t.argsort(-1).unwrap().to_vec::<u32>().unwrap(),
        vec![1, 0, 0, 1, 0, 1]
    );
    let b = Array::from_slice(&[2i32, 1], &[2])
        .unwrap()
        .broadcast_to(&[3, 2])
        .unwrap();
    assert_eq!(
        b.sort(-1).unwrap().to_vec::<i32>().unwrap(),
        vec![1, 2, 1, 2, 1, 2]
    );
    assert_eq!(x.argsort(-1).unwrap().dtype(), Dtype::U32);
}

#[test]
fn sort_errors() {
    let x = Array::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
    assert!(matches!(x.topk(4, -1), Err(mx::Error::Value(_))));
    assert!(matches!(x.argpartition(3, -1), Err(mx::Error::Value(_))));
    assert!(matches!(x.argpartition(-4, -1), Err(mx::Error::Value(_))));
    assert!(matches!(x.sort(1), Err(mx::Error::Axis(_))));
    assert_eq!(
        x.argpartition(-1, 0).unwrap().to_vec::<u32>().unwrap()[2],
        2
    );
    assert_eq!(x.topk(0, 0).unwrap().shape(), &[0]);
}

#[test]
fn large_sort_uses_parallel_rows() {
    let data: Vec<f32> = (0..(64 * 1024))
        .map(|i| ((i * 7919) % 1013) as f32)
        .collect();
    let x = Array::from_slice(&data, &[64, 1024]).unwrap();
    let s = x.sort(-1).unwrap().to_vec::<f32>().unwrap();
    for r in 0..64 {
        let mut want = data[r * 1024..(r + 1) * 1024].to_vec();
        want.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(&s[r * 1024..(r + 1) * 1024], &want[..]);
    }
}

/// f16/bf16 max/min/argmax/argmin/all/any (computed on an exact f32 widening) against a naive
/// loop over the same values, NaN, infinities and signed zeros included.
#[test]
fn half_precision_reductions_match_a_naive_loop() {
    let vals = [
        1.5f64,
        -2.0,
        f64::INFINITY,
        0.0,
        -0.0,
        3.25,
        f64::NEG_INFINITY,
        7.0,
        -7.5,
        0.5,
        2.0,
        2.0,
    ];
    for dtype in [Dtype::F16, Dtype::Bf16] {
        for nan_at in [None, Some(5usize)] {
            let mut data = vals.to_vec();
            if let Some(i) = nan_at {
                data[i] = f64::NAN;
            }
            let x = Array::from_slice(&data, &[3, 4])
                .unwrap()
                .astype(dtype)
                .unwrap();
            let rows: Vec<&[f64]> = data.chunks(4).collect();
            let max = x.max(-1, false).unwrap();
            let min = x.min(-1, false).unwrap();
            assert_eq!(max.dtype(), dtype);
            let (max, min) = (max.to_vec::<f64>().unwrap(), min.to_vec::<f64>().unwrap());
            let amax = mx::argmax(&x, -1, false).unwrap().to_vec::<u32>().unwrap();
            let amin = mx::argmin(&x, -1, false).unwrap().to_vec::<u32>().unwrap();
            let all = x.all(-1, false).unwrap().to_vec::<bool>().unwrap();
            let any = x.any(-1, false).unwrap().to_vec::<bool>().unwrap();
            for (r, row) in rows.iter().enumerate() {
                let has_nan = row.iter().any(|v| v.is_nan());
                let want_max = if has_nan {
                    f64::NAN
                } else {
                    row.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
                };
                let want_min = if has_nan {
                    f64::NAN
                } else {
                    row.iter().cloned().fold(f64::INFINITY, f64::min)
                };
                assert!(
                    same(max[r], want_max),
                    "{dtype:?} row {r}: max {} want {want_max}",
                    max[r]
                );
                assert!(
                    same(min[r], want_min),
                    "{dtype:?} row {r}: min {} want {want_min}",
                    min[r]
                );
                // first index of the extreme (NaN wins, as in MLX)
                let first = |better: &dyn Fn(f64, f64) -> bool| {
                    let mut best = 0;
                    for j in 1..row.len() {
                        if !row[best].is_nan() && (row[j].is_nan() || better(row[j], row[best])) {
                            best = j;
                        }
                    }
                    best as u32
                };
                assert_eq!(amax[r], first(&|a, b| a > b), "{dtype:?} row {r} argmax");
                assert_eq!(amin[r], first(&|a, b| a < b), "{dtype:?} row {r} argmin");
                assert_eq!(
                    all[r],
                    row.iter().all(|&v| v != 0.0),
                    "{dtype:?} row {r} all"
                );
                assert_eq!(
                    any[r],
                    row.iter().any(|&v| v != 0.0),
                    "{dtype:?} row {r} any"
                );
            }
        }
    }
}
