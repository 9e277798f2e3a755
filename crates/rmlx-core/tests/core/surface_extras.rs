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

/// Reads back what `save_gguf` wrote with a naive GGUF v3 parser (header, metadata, tensor
/// infos, aligned data) and checks every value.
#[test]
fn save_gguf_writes_gguf_v3() {
    use mx::io::{save_gguf, GgufValue};
    let dir = std::env::var("RMLX_GGUF_KEEP")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join(format!("rmlx-gguf-{}", std::process::id())));
    std::fs::create_dir_all(&dir).unwrap();
    let w = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    let h = Array::from_slice(&[1.5f32, -2.0, 0.25], &[3])
        .unwrap()
        .astype(Dtype::F16)
        .unwrap();
    let i = Array::from_slice(&[7i32, -8], &[2]).unwrap();
    let mut meta = BTreeMap::new();
    meta.insert("general.name".to_string(), GgufValue::Str("tiny".into()));
    meta.insert(
        "tok.list".to_string(),
        GgufValue::Strings(vec!["a".into(), "bc".into()]),
    );
    meta.insert("n".to_string(), GgufValue::Array(Array::scalar(5i32)));
    meta.insert(
        "v".to_string(),
        GgufValue::Array(Array::from_slice(&[0.5f32, 1.5], &[2]).unwrap()),
    );
    let path = dir.join("m.gguf");
    save_gguf(&path, [("w", &w), ("h", &h), ("i", &i)], &meta).unwrap();
    let b = std::fs::read(&path).unwrap();
    let mut at = 0usize;
    let mut take = |n: usize| {
        let s = b[at..at + n].to_vec();
        at += n;
        s
    };
    let u32_ = |v: Vec<u8>| u32::from_le_bytes(v.try_into().unwrap());
    let u64_ = |v: Vec<u8>| u64::from_le_bytes(v.try_into().unwrap());
    assert_eq!(take(4), b"GGUF");
    assert_eq!(u32_(take(4)), 3);
    assert_eq!(u64_(take(8)), 3);
    assert_eq!(u64_(take(8)), 4);
    let mut keys = Vec::new();
    for _ in 0..4 {
        let n = u64_(take(8)) as usize;
        let key = String::from_utf8(take(n)).unwrap();
        let t = u32_(take(4));
        match (key.as_str(), t) {
            ("general.name", 8) => {
                let n = u64_(take(8)) as usize;
                assert_eq!(take(n), b"tiny");
            }
            ("tok.list", 9) => {
                assert_eq!(u32_(take(4)), 8);
                assert_eq!(u64_(take(8)), 2);
                for want in ["a", "bc"] {
                    let n = u64_(take(8)) as usize;
                    assert_eq!(take(n), want.as_bytes());
                }
            }
            ("n", 5) => assert_eq!(u32_(take(4)) as i32, 5),
            ("v", 9) => {
                assert_eq!(u32_(take(4)), 6);
                assert_eq!(u64_(take(8)), 2);
                assert_eq!(
                    take(8),
                    [0.5f32.to_le_bytes(), 1.5f32.to_le_bytes()].concat()
                );
            }
            other => panic!("unexpected metadata {other:?}"),
        }
        keys.push(key);
    }
    assert_eq!(keys, ["general.name", "n", "tok.list", "v"]);
    // tensor infos: name, dims (fastest first), ggml type, offset
    let mut infos = Vec::new();
    for _ in 0..3 {
        let n = u64_(take(8)) as usize;
        let name = String::from_utf8(take(n)).unwrap();
        let nd = u32_(take(4)) as usize;
        let dims: Vec<u64> = (0..nd).map(|_| u64_(take(8))).collect();
        let t = u32_(take(4));
        let off = u64_(take(8)) as usize;
        infos.push((name, dims, t, off));
    }
    assert_eq!(infos[0].1, vec![3, 2]);
    assert_eq!((infos[0].2, infos[1].2, infos[2].2), (0, 1, 26));
    let data = at.div_ceil(32) * 32;
    let w_bytes: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(&b[data + infos[0].3..data + infos[0].3 + 24], &w_bytes[..]);
    assert_eq!(infos[1].3 % 32, 0);
    let i_off = data + infos[2].3;
    assert_eq!(
        &b[i_off..i_off + 8],
        &[7i32.to_le_bytes(), (-8i32).to_le_bytes()].concat()[..]
    );
    assert!(save_gguf(
        dir.join("bad.gguf"),
        [("u", &Array::from_slice(&[1u32], &[1]).unwrap())],
        &meta
    )
    .is_err());
    if std::env::var("RMLX_GGUF_KEEP").is_err() {
        std::fs::remove_dir_all(&dir).ok();
    }
}
