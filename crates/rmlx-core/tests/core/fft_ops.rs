//! `fft` against a naive O(n²) DFT in f64, on strided views and over every axis order, plus
//! vmap (against a per-example loop), jvp (against the transform of the tangent, which is exact
//! for a linear map), complex64 kernels against num-complex, and the io round trip of complex64.

use proptest::prelude::*;
use rmlx_core::fft::{self as F, FftNorm};
use rmlx_core::{self as mx, Array, Complex32, Dtype};

type C = (f64, f64);

fn cvals(a: &Array) -> Vec<C> {
    a.astype(Dtype::C64)
        .unwrap()
        .to_vec::<Complex32>()
        .unwrap()
        .into_iter()
        .map(|z| (z.re as f64, z.im as f64))
        .collect()
}

/// The DFT of row-major `x` (shape `shape`) along `axis`, inverse scaled by 1/n.
fn naive_axis(x: &[C], shape: &[usize], axis: usize, inverse: bool) -> Vec<C> {
    let n = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let outer: usize = shape[..axis].iter().product();
    let sign = if inverse { 1.0 } else { -1.0 };
    let mut out = vec![(0.0, 0.0); x.len()];
    for o in 0..outer {
        for i in 0..inner {
            for k in 0..n {
                let mut acc = (0.0, 0.0);
                for j in 0..n {
                    let t = sign * 2.0 * std::f64::consts::PI * (j * k) as f64 / n as f64;
                    let v = x[(o * n + j) * inner + i];
                    acc.0 += v.0 * t.cos() - v.1 * t.sin();
                    acc.1 += v.0 * t.sin() + v.1 * t.cos();
                }
                if inverse {
                    acc = (acc.0 / n as f64, acc.1 / n as f64);
                }
                out[(o * n + k) * inner + i] = acc;
            }
        }
    }
    out
}

fn assert_close(got: &[C], want: &[C], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want
        .iter()
        .fold(1.0f64, |m, v| m.max(v.0.abs()).max(v.1.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g.0 - w.0).abs() <= 1e-4 * scale && (g.1 - w.1).abs() <= 1e-4 * scale,
            "{what}: element {i}: {g:?} vs {w:?}"
        );
    }
}

fn random_complex(shape: &[usize], seed: u64) -> Array {
    let re = mx::random::normal(shape, Some(&mx::random::key(2 * seed))).unwrap();
    let im = mx::random::normal(shape, Some(&mx::random::key(2 * seed + 1))).unwrap();
    mx::complex(&re, &im).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// fftn/ifftn over a random subset of axes of a transposed view match the naive DFT.
    #[test]
    fn fftn_matches_naive_dft(
        shape in prop::collection::vec(1usize..7, 1..4),
        seed in 0u64..1000,
        mask in 1u32..8,
        inverse in any::<bool>(),
    ) {
        let x = random_complex(&shape, seed).t().unwrap(); // a strided view
        let tshape = x.shape().to_vec();
        let axes: Vec<isize> = (0..tshape.len()).filter(|a| mask >> a & 1 == 1).map(|a| a as isize).collect();
        prop_assume!(!axes.is_empty());
        let got = if inverse {
            F::ifftn(&x, None, Some(&axes), FftNorm::Backward).unwrap()
        } else {
            F::fftn(&x, None, Some(&axes), FftNorm::Backward).unwrap()
        };
        let mut want = cvals(&x);
        for &a in &axes {
            want = naive_axis(&want, &tshape, a as usize, inverse);
        }
        assert_close(&cvals(&got), &want, "fftn");
    }

    /// rfft keeps the first n/2+1 bins of the full transform; irfft(rfft(x), n) is x.
    #[test]
    fn rfft_and_irfft_round_trip(rows in 1usize..4, n in 1usize..20, seed in 0u64..1000) {
        let x = mx::random::normal(&[rows, n], Some(&mx::random::key(seed))).unwrap();
        let r = F::rfft(&x, None, -1, FftNorm::Backward).unwrap();
        prop_assert_eq!(r.shape(), &[rows, n / 2 + 1][..]);
        let full = naive_axis(&cvals(&x), &[rows, n], 1, false);
        let want: Vec<C> = full.chunks(n).flat_map(|row| row[..n / 2 + 1].to_vec()).collect();
        assert_close(&cvals(&r), &want, "rfft");
        let back = F::irfft(&r, Some(n), -1, FftNorm::Backward).unwrap();
        assert_close(&cvals(&back), &cvals(&x), "irfft(rfft)");
    }
}

#[test]
fn fft_vmap_matches_a_loop() {
    let x = random_complex(&[3, 4, 6], 7);
    let f = |a: &[Array]| {
        Ok(vec![F::rfft2(
            &mx::real(&a[0])?,
            None,
            &[-2, -1],
            FftNorm::Ortho,
        )?])
    };
    let batched = mx::vmap(f, &[Some(1)], &[0])(&[x.clone()]).unwrap();
    for i in 0..4i32 {
        let xi = x.take(&Array::scalar(i), Some(1)).unwrap();
        let one = f(&[xi]).unwrap();
        let bi = batched[0].take(&Array::scalar(i), Some(0)).unwrap();
        assert_close(&cvals(&bi), &cvals(&one[0]), "vmap rfft2");
    }
    let g = |a: &[Array]| Ok(vec![F::irfft(&a[0], Some(7), 0, FftNorm::Backward)?]);
    let y = random_complex(&[4, 3], 8);
    let batched = mx::vmap(g, &[Some(1)], &[-1])(&[y.clone()]).unwrap();
    assert_eq!(batched[0].shape(), &[7, 3]);
    for i in 0..3i32 {
        let yi = y.take(&Array::scalar(i), Some(1)).unwrap();
        let one = g(&[yi]).unwrap();
        let bi = batched[0].take(&Array::scalar(i), Some(1)).unwrap();
        assert_close(&cvals(&bi), &cvals(&one[0]), "vmap irfft odd n");
    }
}

#[test]
fn fft_jvp_is_the_transform_of_the_tangent() {
    let x = random_complex(&[5, 4], 9);
    let t = random_complex(&[5, 4], 10);
    let f = |a: &[Array]| {
        Ok(vec![F::fft2(
            &a[0],
            Some(&[6, 3]),
            &[0, 1],
            FftNorm::Forward,
        )?])
    };
    let (_, tout) = mx::jvp(f, &[x], &[t.clone()]).unwrap();
    let want = f(&[t]).unwrap();
    assert_close(&cvals(&tout[0]), &cvals(&want[0]), "jvp fft2");
}

#[test]
fn complex_kernels_match_num_complex_on_views() {
    let a = random_complex(&[3, 4], 11).t().unwrap();
    let b = random_complex(&[3], 12);
    let (av, bv) = (
        a.to_vec::<Complex32>().unwrap(),
        b.to_vec::<Complex32>().unwrap(),
    );
    let prod = (&a * &b).unwrap().to_vec::<Complex32>().unwrap();
    let quot = (&a / &b).unwrap().to_vec::<Complex32>().unwrap();
    let ex = a.exp().unwrap().to_vec::<Complex32>().unwrap();
    let ab = a.abs().unwrap();
    assert_eq!(ab.dtype(), Dtype::F32);
    let abv = ab.to_vec::<f32>().unwrap();
    for i in 0..12 {
        let (x, y) = (av[i], bv[i % 3]);
        assert!((prod[i] - x * y).norm() <= 1e-5 * (x * y).norm().max(1.0));
        assert!((quot[i] - x / y).norm() <= 1e-5 * (x / y).norm().max(1.0));
        assert!((ex[i] - x.exp()).norm() <= 1e-5 * x.exp().norm().max(1.0));
        assert!((abv[i] - x.norm()).abs() <= 1e-6 * x.norm().max(1.0));
    }
    assert_eq!(
        format!(
            "{}",
            Array::from_slice(
                &[Complex32::new(1.0, 2.0), Complex32::new(-0.5, -1.0)],
                &[2]
            )
            .unwrap()
        ),
        "array([1+2j, -0.5-1j], dtype=complex64)"
    );
}

#[test]
fn complex_errors_and_io() {
    let z = random_complex(&[2, 3], 13);
    assert!(z.floor().is_err());
    assert!(mx::remainder(&z, &z).is_err());
    assert!(mx::arange(0.0, 3.0, 1.0, mx::Dtype::C64).is_err());
    // MLX orders complex numbers lexicographically
    let s = z.sort(-1).unwrap().to_vec::<Complex32>().unwrap();
    for row in s.chunks(3) {
        assert!(row
            .windows(2)
            .all(|w| (w[0].re, w[0].im) <= (w[1].re, w[1].im)));
    }
    assert!(F::fft(&Array::scalar(1.0f32), None, -1, FftNorm::Backward).is_err());
    assert!(F::fft(&z, Some(0), -1, FftNorm::Backward).is_err());
    assert!(F::fftfreq(0, 1.0).is_err());
    let dir = std::env::temp_dir().join(format!("rmlx-complex-io-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("z.npz");
    mx::io::savez(&p, [("z", &z)]).unwrap();
    let back = mx::io::load_npz(&p).unwrap();
    assert_eq!(
        back["z"].to_vec::<Complex32>().unwrap(),
        z.to_vec::<Complex32>().unwrap()
    );
    assert!(mx::io::save_safetensors(dir.join("z.safetensors"), [("z", &z)], None).is_err());
    std::fs::remove_dir_all(&dir).ok();
}
