//! The smaller MLX names of this batch against independent computations: `unique` against a
//! naive BTreeMap count, `hadamard_transform` against Sylvester's matrix, `fast::cross_entropy`
//! against a per-row loop, `depends` under `grad`, streams, memory limits and iteration.

use proptest::prelude::*;
use rmlx_core::{self as mx, fast, stream, Array, Device, Dtype};
use std::collections::BTreeMap;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn unique_matches_a_naive_count(v in prop::collection::vec(-4i32..5, 0..12), size in 0usize..8) {
        let a = Array::from_slice(&v, &[v.len()]).unwrap();
        let u = mx::unique(&a, size, Some(-9.0)).unwrap();
        let mut counts: BTreeMap<i32, (usize, i32)> = BTreeMap::new(); // value -> (first index, count)
        for (i, &x) in v.iter().enumerate() {
            counts.entry(x).or_insert((i, 0)).1 += 1;
        }
        let uniq: Vec<(i32, (usize, i32))> = counts.into_iter().collect();
        let vals = u.values.to_vec::<i32>().unwrap();
        let idx = u.index.to_vec::<u32>().unwrap();
        let cnt = u.counts.to_vec::<i32>().unwrap();
        prop_assert_eq!(vals.len(), size);
        for k in 0..size {
            match uniq.get(k) {
                Some(&(x, (first, c))) => {
                    prop_assert_eq!(vals[k], x);
                    prop_assert_eq!(idx[k] as usize, first);
                    prop_assert_eq!(cnt[k], c);
                }
                None => {
                    prop_assert_eq!(vals[k], -9);
                    prop_assert_eq!(cnt[k], 0);
                }
            }
        }
        let inv = u.inverse.to_vec::<u32>().unwrap();
        for (i, &x) in v.iter().enumerate() {
            let pos = uniq.iter().position(|&(y, _)| y == x).unwrap();
            prop_assert_eq!(inv[i] as usize, pos);
        }
    }
}

#[test]
fn hadamard_matches_sylvesters_matrix() {
    let n = 16usize;
    let x = mx::random::normal(&[3, n], Some(&mx::random::key(4))).unwrap();
    let got = mx::hadamard_transform(&x, None)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let xv = x.to_vec::<f32>().unwrap();
    for r in 0..3 {
        for i in 0..n {
            let want: f32 = (0..n)
                .map(|j| {
                    let s = if (i & j).count_ones() % 2 == 0 {
                        1.0
                    } else {
                        -1.0
                    };
                    s * xv[r * n + j]
                })
                .sum::<f32>()
                / (n as f32).sqrt();
            assert!((got[r * n + i] - want).abs() < 1e-5, "row {r} entry {i}");
        }
    }
    assert!(mx::hadamard_transform(&mx::ones(&[12], Dtype::F32).unwrap(), None).is_err());
}

#[test]
fn cross_entropy_matches_a_loop_and_has_a_gradient() {
    let logits = mx::random::normal(&[4, 5], Some(&mx::random::key(5))).unwrap();
    let t = Array::from_slice(&[0u32, 4, 2, 2], &[4]).unwrap();
    let got = fast::cross_entropy(&logits, &t)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let l = logits.to_vec::<f32>().unwrap();
    for r in 0..4 {
        let row = &l[r * 5..r * 5 + 5];
        let m = row.iter().cloned().fold(f32::MIN, f32::max);
        let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f32>().ln();
        let want = lse - row[[0, 4, 2, 2][r]];
        assert!((got[r] - want).abs() < 1e-5);
    }
    let g = mx::grad(
        |a: &[Array]| Ok(vec![fast::cross_entropy(&a[0], &t)?.sum(None, false)?]),
        &[0],
    )(&[logits.clone()])
    .unwrap();
    // softmax minus one-hot: every row sums to zero
    let rows = g[0].sum(vec![1], false).unwrap().to_vec::<f32>().unwrap();
    assert!(rows.iter().all(|v| v.abs() < 1e-5));
    assert!(fast::cross_entropy(&logits, &Array::from_slice(&[0u32; 3], &[3]).unwrap()).is_err());
}

#[test]
fn depends_passes_values_and_gradients_through() {
    let x = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
    let g = mx::grad(
        |a: &[Array]| {
            let side = a[0].exp()?;
            let y = stream::depends(&[a[0].square()?], &[side])?;
            Ok(vec![y[0].sum(None, false)?])
        },
        &[0],
    )(&[x])
    .unwrap();
    assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![2.0, 4.0]);
}

#[test]
fn streams_scopes_and_memory_limits() {
    let cpu = Device::cpu();
    let s = stream::new_stream(cpu).unwrap();
    let t = stream::new_stream(cpu).unwrap();
    assert_ne!(s, t);
    {
        let _a = stream::stream(s).unwrap();
        {
            let _b = stream::stream(t).unwrap();
            assert_eq!(stream::default_stream(cpu).unwrap(), t);
        }
        assert_eq!(stream::default_stream(cpu).unwrap(), s);
    }
    assert_eq!(stream::default_stream(cpu).unwrap().index, 0);
    assert!(stream::new_stream(Device::new(mx::DeviceType::Gpu, 0)).is_err());
    let limit = mx::memory::get_memory_limit();
    assert!(limit > 0);
    let old = mx::memory::set_memory_limit(1 << 40);
    assert_eq!(old, limit);
    assert_eq!(mx::memory::set_memory_limit(0), 1 << 40);
    assert_eq!(mx::memory::get_memory_limit(), limit);
    let a = mx::ones(&[3, 2], Dtype::F32).unwrap();
    assert!(mx::get_array_buffer_size(&[&a]).is_err()); // not evaluated yet
    a.eval().unwrap();
    assert_eq!(mx::get_array_buffer_size(&[&a, &a]).unwrap(), 64);
    assert!(Array::scalar(1.0f32).iter().is_err());
    let rows: Vec<Array> = a.iter().unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2].shape(), &[2]);
}
