//! linalg::norm against naive computations: vector orders, matrix orders, axes, keepdims, errors.

use rmlx_core::linalg::{self, NormOrd};
use rmlx_core::{Array, Dtype, Error};

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-10 * (1.0 + b.abs()),
        "{what}: got {a}, want {b}"
    );
}

#[test]
fn vector_norms() {
    let v = [3.0f64, -4.0, 0.0, 1.5, -0.5];
    let x = Array::from_slice(&v, &[5]).unwrap();
    let p = |o: Option<NormOrd>| {
        linalg::norm(&x, o, None, false)
            .unwrap()
            .item::<f64>()
            .unwrap()
    };
    let l2 = v.iter().map(|a| a * a).sum::<f64>().sqrt();
    close(p(None), l2, "default");
    close(p(Some(NormOrd::P(2.0))), l2, "2");
    close(
        p(Some(NormOrd::P(1.0))),
        v.iter().map(|a| a.abs()).sum(),
        "1",
    );
    close(p(Some(NormOrd::P(0.0))), 4.0, "0");
    close(p(Some(f64::INFINITY.into())), 4.0, "inf");
    close(p(Some(f64::NEG_INFINITY.into())), 0.0, "-inf");
    let p3 = v
        .iter()
        .map(|a| a.abs().powi(3))
        .sum::<f64>()
        .powf(1.0 / 3.0);
    close(p(Some(3.into())), p3, "3");
    assert!(matches!(
        linalg::norm(&x, Some(NormOrd::Fro), None, false)
            .err()
            .unwrap(),
        Error::Value(_)
    ));
}

#[test]
fn matrix_norms_and_axes() {
    // [2, 3, 4]: matrix norms over axes (1, 2), vector norms over axis 2
    let v: Vec<f64> = (0..24).map(|i| ((i * 7) % 11) as f64 - 5.0).collect();
    let x = Array::from_slice(&v, &[2, 3, 4]).unwrap();
    let at = |b: usize, i: usize, j: usize| v[b * 12 + i * 4 + j];
    let fro = linalg::norm(&x, Some(NormOrd::Fro), [1, 2], false).unwrap();
    assert_eq!(fro.shape(), &[2]);
    let one = linalg::norm(&x, Some(NormOrd::P(1.0)), [-2, -1], false).unwrap();
    let inf = linalg::norm(&x, Some(f64::INFINITY.into()), [1, 2], true).unwrap();
    assert_eq!(inf.shape(), &[2, 1, 1]);
    let (fro, one, inf) = (
        fro.to_vec::<f64>().unwrap(),
        one.to_vec::<f64>().unwrap(),
        inf.to_vec::<f64>().unwrap(),
    );
    for b in 0..2 {
        let f: f64 = (0..3)
            .flat_map(|i| (0..4).map(move |j| (i, j)))
            .map(|(i, j)| at(b, i, j).powi(2))
            .sum::<f64>()
            .sqrt();
        close(fro[b], f, "fro");
        let col = (0..4)
            .map(|j| (0..3).map(|i| at(b, i, j).abs()).sum::<f64>())
            .fold(0.0, f64::max);
        close(one[b], col, "1");
        let row = (0..3)
            .map(|i| (0..4).map(|j| at(b, i, j).abs()).sum::<f64>())
            .fold(0.0, f64::max);
        close(inf[b], row, "inf");
    }
    let vn = linalg::norm(&x, None, [2], true).unwrap();
    assert_eq!(vn.shape(), &[2, 3, 1]);
    let vn = vn.to_vec::<f64>().unwrap();
    for r in 0..6 {
        close(
            vn[r],
            v[r * 4..r * 4 + 4]
                .iter()
                .map(|a| a * a)
                .sum::<f64>()
                .sqrt(),
            "rows",
        );
    }
    // default over everything, ints converted to float32
    let xi = Array::from_slice(&[3i32, 4], &[2]).unwrap();
    let n = linalg::norm(&xi, None, None, false).unwrap();
    assert_eq!(n.dtype(), Dtype::F32);
    assert_eq!(n.item::<f32>().unwrap(), 5.0);
    // the singular-value orders on matrices with known singular values (3 and 2: a rotation
    // times diag(3, -2)), and an order no matrix norm has
    let (c, s) = (0.6f64, 0.8f64);
    let m = Array::from_slice(&[3.0 * c, 2.0 * s, 3.0 * s, -2.0 * c], &[1, 2, 2]).unwrap();
    let m = m.broadcast_to(&[2, 2, 2]).unwrap();
    let get = |o: NormOrd| {
        linalg::norm(&m, Some(o), [1, 2], false)
            .unwrap()
            .to_vec::<f64>()
            .unwrap()
    };
    for (o, want) in [
        (NormOrd::P(2.0), 3.0),
        (NormOrd::P(-2.0), 2.0),
        (NormOrd::Nuc, 5.0),
    ] {
        for v in get(o) {
            assert!((v - want).abs() < 1e-12, "{o:?}: {v} != {want}");
        }
    }
    assert!(matches!(
        linalg::norm(&x, Some(NormOrd::P(3.0)), [1, 2], false)
            .err()
            .unwrap(),
        Error::Value(_)
    ));
    assert!(linalg::norm(&x, Some(NormOrd::Fro), None, false).is_err());
    assert!(linalg::norm(&x, None, [3], false).is_err());
    assert!(linalg::norm(&x, Some(NormOrd::P(1.0)), [0, 1, 2], false).is_err());
}
