//! Behaviour of every draw: exact agreement with an independent computation from the raw bits,
//! ranges, dtypes, broadcasting, the global sequence's thread-locality, and clear errors.
// Tests favour plain `&[x.clone()]` argument lists and inline fn-pointer tables over helpers.

use rmlx_core::{random, Array, Dtype, Error};
use rmlx_cpu::backend::cpu::special::erfinv_f32;

fn words(key: u64, n: usize) -> Vec<u32> {
    random::bits(&[n], 4, Some(&random::key(key)))
        .unwrap()
        .to_vec::<u32>()
        .unwrap()
}

fn unit(b: u32) -> f32 {
    (b as f32 / u32::MAX as f32).min(f32::from_bits(1.0f32.to_bits() - 1))
}

#[test]
fn narrow_bits_are_the_little_endian_bytes_of_the_words() {
    for n in [1usize, 2, 3, 4, 5, 7, 8, 9, 33] {
        let k = random::key(11);
        let u8s = random::bits(&[n], 1, Some(&k)).unwrap();
        assert_eq!(u8s.dtype(), Dtype::U8);
        let w = words(11, n.div_ceil(4));
        let bytes: Vec<u8> = w.iter().flat_map(|x| x.to_le_bytes()).take(n).collect();
        assert_eq!(u8s.to_vec::<u8>().unwrap(), bytes, "n = {n}");
        let u16s = random::bits(&[n], 2, Some(&k)).unwrap();
        let w = words(11, (2 * n).div_ceil(4));
        let halves: Vec<u16> = w
            .iter()
            .flat_map(|x| [*x as u16, (*x >> 16) as u16])
            .take(n)
            .collect();
        assert_eq!(u16s.to_vec::<u16>().unwrap(), halves, "n = {n}");
    }
    assert!(random::bits(&[2], 3, None).is_err());
}

#[test]
fn bits_shape_and_odd_counts() {
    let b = random::bits(&[3, 5], 4, Some(&random::key(2))).unwrap();
    assert_eq!(b.shape(), &[3, 5]);
    let flat = words(2, 15);
    assert_eq!(b.to_vec::<u32>().unwrap(), flat);
    // Odd count: the middle word comes from counter (half, 0).
    let h = random::threefry2x32([0, 2], [7, 0]).0;
    assert_eq!(flat[7], h);
    let empty = random::bits(&[0], 4, Some(&random::key(2))).unwrap();
    assert_eq!(empty.to_vec::<u32>().unwrap(), Vec::<u32>::new());
}

#[test]
fn uniform_matches_the_bits_formula_for_every_float_dtype() {
    let k = random::key(5);
    let w = words(5, 64);
    let f = random::uniform_with(-2.0, 3.0, &[64], Dtype::F32, Some(&k)).unwrap();
    let want: Vec<f32> = w.iter().map(|&b| 5.0f32 * unit(b) + -2.0).collect();
    assert_eq!(f.to_vec::<f32>().unwrap(), want);
    for dtype in [Dtype::F16, Dtype::Bf16] {
        let u = random::uniform_with(0.0, 1.0, &[64], dtype, Some(&k)).unwrap();
        assert_eq!(u.dtype(), dtype);
        for v in u.to_vec::<f32>().unwrap() {
            assert!((0.0..1.0).contains(&v), "{dtype}: {v}");
        }
    }
    // The f16 upper clamp: every bit pattern maps below 1.
    let all_ones = Array::from_slice(&[u32::MAX, u32::MAX], &[2]).unwrap();
    let top = random::uniform_with(0.0, 1.0, &[4], Dtype::F16, Some(&all_ones)).unwrap();
    assert!(top.to_vec::<f32>().unwrap().iter().all(|&v| v < 1.0));
}

#[test]
fn uniform_with_array_bounds_broadcasts_and_is_differentiable_input() {
    let low = Array::from_slice(&[0.0f32, 10.0, 100.0], &[3]).unwrap();
    let high = Array::from_slice(&[1.0f32, 20.0, 300.0], &[3]).unwrap();
    let u = random::uniform_with(&low, &high, &[4, 3], Dtype::F32, Some(&random::key(1))).unwrap();
    let v = u.to_vec::<f32>().unwrap();
    for (i, x) in v.iter().enumerate() {
        let (l, h) = [(0.0, 1.0), (10.0, 20.0), (100.0, 300.0)][i % 3];
        assert!(*x >= l && *x < h, "{x} not in [{l}, {h})");
    }
    // Bounds that would enlarge the shape are an error, as in MLX.
    let e = random::uniform_with(&low, &high, &[2], Dtype::F32, None);
    assert!(matches!(e, Err(Error::Shape(_))));
    assert!(matches!(
        random::uniform_with(0.0, 1.0, &[2], Dtype::I32, None),
        Err(Error::Dtype(_))
    ));
}

#[test]
fn normal_matches_erfinv_of_the_uniform_and_applies_loc_scale() {
    let k = random::key(9);
    let w = words(9, 16);
    let lo = f32::from_bits((-1.0f32).to_bits() - 1);
    let z: Vec<f32> = w
        .iter()
        .map(|&b| std::f32::consts::SQRT_2 * erfinv_f32((1.0 - lo) * unit(b) + lo))
        .collect();
    let n = random::normal(&[16], Some(&k)).unwrap();
    assert_eq!(n.to_vec::<f32>().unwrap(), z);
    let s = random::normal_with(&[16], Dtype::F32, 2.0, 3.0, Some(&k)).unwrap();
    let want: Vec<f32> = w
        .iter()
        .map(|&b| 2.0 + (std::f32::consts::SQRT_2 * 3.0) * erfinv_f32((1.0 - lo) * unit(b) + lo))
        .collect();
    assert_eq!(s.to_vec::<f32>().unwrap(), want);
    // Array loc broadcasts; f16/bf16/f64 dtypes.
    let loc = Array::from_slice(&[0.0f32, 100.0], &[2]).unwrap();
    let m = random::normal_with(&[3, 2], Dtype::F32, &loc, 1.0, Some(&k)).unwrap();
    assert_eq!(m.shape(), &[3, 2]);
    let m = m.to_vec::<f32>().unwrap();
    assert!(m[1] > 90.0 && m[0] < 10.0);
    // Same shape as `z`: threefry bits of a shorter draw are not a prefix of a longer one, so
    // comparing an [8] draw against the [16] one (as before) tested different samples.
    for d in [Dtype::F16, Dtype::Bf16, Dtype::F64] {
        let x = random::normal_with(&[16], d, 0.0, 1.0, Some(&k)).unwrap();
        assert_eq!(x.dtype(), d);
        let xs = x.to_vec::<f64>().unwrap();
        for (a, b) in xs.iter().zip(&z) {
            assert!((a - *b as f64).abs() < 0.02 * (1.0 + b.abs() as f64), "{d}");
        }
    }
    assert!(random::normal_with(&[2], Dtype::I32, 0.0, 1.0, None).is_err());
}

#[test]
fn normal_statistics() {
    let x = random::normal(&[100_000], Some(&random::key(123))).unwrap();
    let v = x.to_vec::<f32>().unwrap();
    let mean = v.iter().map(|&a| a as f64).sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|&a| (a as f64 - mean).powi(2)).sum::<f64>() / v.len() as f64;
    assert!(mean.abs() < 0.02, "mean {mean}");
    assert!((var - 1.0).abs() < 0.03, "var {var}");
}

#[test]
fn bernoulli_thresholds_and_shapes() {
    let k = random::key(4);
    let w = words(4, 32);
    let b = random::bernoulli(0.3, Some(&[32]), Some(&k)).unwrap();
    assert_eq!(b.dtype(), Dtype::Bool);
    let thr = 0.3f32 * f32::from_bits((u32::MAX as f32).to_bits() + 1);
    let want: Vec<bool> = w.iter().map(|&x| (x as f32) < thr).collect();
    assert_eq!(b.to_vec::<bool>().unwrap(), want);
    let ones = random::bernoulli(1.0, Some(&[1000]), None).unwrap();
    assert!(ones.to_vec::<bool>().unwrap().iter().all(|&x| x));
    let zeros = random::bernoulli(0.0, Some(&[1000]), None).unwrap();
    assert!(zeros.to_vec::<bool>().unwrap().iter().all(|&x| !x));
    let p = Array::from_slice(&[0.0f32, 1.0], &[2]).unwrap();
    let pb = random::bernoulli(&p, Some(&[5, 2]), None).unwrap();
    assert_eq!(pb.shape(), &[5, 2]);
    let v = pb.to_vec::<bool>().unwrap();
    assert!(v.chunks(2).all(|c| !c[0] && c[1]));
    assert_eq!(random::bernoulli(&p, None, None).unwrap().shape(), &[2]);
    let freq = random::bernoulli(0.25, Some(&[40_000]), Some(&k))
        .unwrap()
        .to_vec::<bool>()
        .unwrap()
        .iter()
        .filter(|&&x| x)
        .count() as f64
        / 40_000.0;
    assert!((freq - 0.25).abs() < 0.01, "{freq}");
    let ip = Array::from_slice(&[1i32], &[1]).unwrap();
    assert!(matches!(
        random::bernoulli(&ip, None, None),
        Err(Error::Dtype(_))
    ));
    assert!(matches!(
        random::bernoulli(&p, Some(&[3]), None),
        Err(Error::Shape(_))
    ));
}

#[test]
fn randint_ranges_dtypes_and_formula() {
    let k = random::key(8);
    let w = words(8, 50);
    let r = random::randint(-5, 7, &[50], Dtype::I64, Some(&k)).unwrap();
    assert_eq!(r.dtype(), Dtype::I64);
    let want: Vec<i64> = w
        .iter()
        .map(|&b| (12.0f32 * unit(b) + -5.0).max(-5.0) as i64)
        .collect();
    assert_eq!(r.to_vec::<i64>().unwrap(), want);
    for d in [Dtype::U8, Dtype::I8, Dtype::U16, Dtype::U32, Dtype::I16] {
        let r = random::randint(0, 100, &[200], d, None).unwrap();
        assert_eq!(r.dtype(), d);
        assert!(r
            .to_vec::<f64>()
            .unwrap()
            .iter()
            .all(|&v| (0.0..100.0).contains(&v)));
    }
    let b = random::randint(0, 2, &[100], Dtype::Bool, None).unwrap();
    // As in MLX: a float draw in [0, 2) cast to bool is true unless exactly 0.
    assert_eq!(b.dtype(), Dtype::Bool);
    let hi = Array::from_slice(&[1i32, 1000], &[2]).unwrap();
    let r = random::randint(0, &hi, &[100, 2], Dtype::I32, None).unwrap();
    assert!(r
        .to_vec::<i32>()
        .unwrap()
        .chunks(2)
        .all(|c| c[0] == 0 && c[1] < 1000));
    assert!(random::randint(0, 10, &[2], Dtype::F32, None).is_err());
}

#[test]
fn truncated_normal_stays_in_bounds() {
    let x = random::truncated_normal(-0.5, 1.0, Some(&[5000]), Dtype::F32, Some(&random::key(3)))
        .unwrap();
    let v = x.to_vec::<f32>().unwrap();
    assert!(v.iter().all(|&a| (-0.5..=1.0).contains(&a)));
    let mean = v.iter().map(|&a| a as f64).sum::<f64>() / v.len() as f64;
    // Mean of N(0,1) truncated to [-0.5, 1]: (φ(-0.5) - φ(1)) / (Φ(1) - Φ(-0.5)) ≈ 0.2066.
    assert!((mean - 0.2066).abs() < 0.02, "{mean}");
    let lo = Array::from_slice(&[-1.0f32, 2.0], &[2]).unwrap();
    let y = random::truncated_normal(&lo, 3.0, None, Dtype::Bf16, None).unwrap();
    assert_eq!((y.shape(), y.dtype()), (&[2usize][..], Dtype::Bf16));
    let y = y.to_vec::<f32>().unwrap();
    assert!((-1.0..=3.0).contains(&y[0]) && (2.0..=3.0).contains(&y[1]));
    assert!(random::truncated_normal(-1.0, 1.0, Some(&[2]), Dtype::I32, None).is_err());
}

#[test]
fn gumbel_matches_formula_and_mean() {
    let k = random::key(6);
    let w = words(6, 8);
    let g = random::gumbel(&[8], Dtype::F32, Some(&k)).unwrap();
    let want: Vec<f32> = w.iter().map(|&b| -(-(unit(b).ln())).ln()).collect();
    assert_eq!(g.to_vec::<f32>().unwrap(), want);
    let big = random::gumbel(&[50_000], Dtype::F32, Some(&k))
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let mean = big.iter().map(|&a| a as f64).sum::<f64>() / big.len() as f64;
    assert!((mean - 0.5772).abs() < 0.03, "{mean}");
}

#[test]
fn categorical_draws_follow_the_softmax() {
    let logits = Array::from_slice(&[(0.2f32).ln(), (0.5f32).ln(), (0.3f32).ln()], &[3]).unwrap();
    let s = random::categorical_num_samples(&logits, 0, 30_000, Some(&random::key(1))).unwrap();
    assert_eq!((s.shape(), s.dtype()), (&[30_000usize][..], Dtype::U32));
    let v = s.to_vec::<u32>().unwrap();
    for (i, p) in [0.2, 0.5, 0.3].iter().enumerate() {
        let f = v.iter().filter(|&&x| x == i as u32).count() as f64 / v.len() as f64;
        assert!((f - p).abs() < 0.015, "class {i}: {f} vs {p}");
    }
    // Gumbel-max with the same key, computed by hand.
    let l2 = Array::from_slice(&[1.0f32, 2.0, 3.0, 0.5, 0.0, -1.0], &[2, 3]).unwrap();
    let k = random::key(77);
    let c = random::categorical(&l2, -1, Some(&k)).unwrap();
    assert_eq!(c.shape(), &[2]);
    let g = random::gumbel(&[2, 3], Dtype::F32, Some(&k))
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let lv = l2.to_vec::<f32>().unwrap();
    let want: Vec<u32> = (0..2)
        .map(|r| {
            let row: Vec<f32> = (0..3).map(|j| g[r * 3 + j] + lv[r * 3 + j]).collect();
            let mut best = 0;
            for j in 1..3 {
                if row[j] > row[best] {
                    best = j;
                }
            }
            best as u32
        })
        .collect();
    assert_eq!(c.to_vec::<u32>().unwrap(), want);
    // Axis 0, explicit shape, and errors.
    assert_eq!(random::categorical(&l2, 0, None).unwrap().shape(), &[3]);
    assert_eq!(
        random::categorical_shape(&l2, 1, &[4, 2], None)
            .unwrap()
            .shape(),
        &[4, 2]
    );
    assert_eq!(
        random::categorical_num_samples(&l2, 1, 5, None)
            .unwrap()
            .shape(),
        &[2, 5]
    );
    assert!(matches!(
        random::categorical(&l2, 2, None),
        Err(Error::Axis(_))
    ));
    assert!(matches!(
        random::categorical_shape(&l2, 1, &[3], None),
        Err(Error::Shape(_))
    ));
}

#[test]
fn permutations() {
    let k = random::key(21);
    let p = random::permutation(10, Some(&k)).unwrap();
    let v = p.to_vec::<u32>().unwrap();
    let w = words(21, 10);
    let mut idx: Vec<u32> = (0..10).collect();
    idx.sort_by_key(|&i| w[i as usize]);
    assert_eq!(v, idx);
    let x = Array::from_slice(&(0..12).map(|i| i as f32).collect::<Vec<_>>(), &[4, 3]).unwrap();
    let rows = random::permutation_of(&x, 0, Some(&k)).unwrap();
    assert_eq!(rows.shape(), &[4, 3]);
    let pr = random::permutation(4, Some(&k))
        .unwrap()
        .to_vec::<u32>()
        .unwrap();
    let rv = rows.to_vec::<f32>().unwrap();
    for (r, &src) in pr.iter().enumerate() {
        let want: Vec<f32> = (0..3).map(|j| (src * 3 + j) as f32).collect();
        assert_eq!(rv[r * 3..r * 3 + 3], want[..]);
    }
    let cols = random::permutation_of(&x, -1, Some(&k)).unwrap();
    let mut first: Vec<f32> = cols.to_vec::<f32>().unwrap()[..3].to_vec();
    first.sort_by(f32::total_cmp);
    assert_eq!(first, vec![0.0, 1.0, 2.0]);
    assert!(random::permutation_of(&x, 2, None).is_err());
}

#[test]
fn keys_are_checked_and_split() {
    let bad = Array::from_slice(&[1i32, 2], &[2]).unwrap();
    assert!(matches!(
        random::uniform(&[2], Some(&bad)),
        Err(Error::Dtype(_))
    ));
    let bad = Array::from_slice(&[1u32, 2, 3], &[3]).unwrap();
    assert!(matches!(
        random::normal(&[2], Some(&bad)),
        Err(Error::Shape(_))
    ));
    let ks = random::split(&random::key(0), 3).unwrap();
    assert_eq!(ks.shape(), &[3, 2]);
    // Different subkeys give different streams; the same key the same stream.
    let (a, b) = random::split_pair(&random::key(0)).unwrap();
    let ua = random::uniform(&[4], Some(&a))
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let ub = random::uniform(&[4], Some(&b))
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert_ne!(ua, ub);
    assert_eq!(
        ua,
        random::uniform(&[4], Some(&a))
            .unwrap()
            .to_vec::<f32>()
            .unwrap()
    );
}

#[test]
fn global_sequence_is_thread_local_and_explicit_keys_do_not_advance_it() {
    random::seed(0);
    let _ = random::uniform(&[3], Some(&random::key(99))).unwrap();
    std::thread::spawn(|| {
        random::seed(5);
        let _ = random::normal(&[10], None).unwrap();
    })
    .join()
    .unwrap();
    let u = random::uniform(&[3], None)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert_eq!(u, vec![0.872_414_35_f32, 0.111_051_56, 0.277_080_54]);
    // Unseeded threads still work (clock seed).
    std::thread::spawn(|| assert_eq!(random::uniform(&[2], None).unwrap().shape(), &[2]))
        .join()
        .unwrap();
}
