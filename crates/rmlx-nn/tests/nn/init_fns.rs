//! `nn::init` against closed forms: exact fans, sample statistics on large draws, orthogonality,
//! sparsity counts, and MLX's error messages.

use rmlx_core::{random, Array, Dtype};
use rmlx_nn::init::{self, calculate_fan_in_fan_out, FanMode};

fn zeros(shape: &[usize]) -> Array {
    rmlx_core::zeros(shape, Dtype::F32).unwrap()
}

fn stats(a: &Array) -> (f64, f64, f64) {
    let v = a.astype(Dtype::F64).unwrap().to_vec::<f64>().unwrap();
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let max = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    (mean, var.sqrt(), max)
}

#[test]
fn fans_are_mlx_exact() {
    assert_eq!(calculate_fan_in_fan_out(&zeros(&[3, 5])).unwrap(), (5, 3));
    // conv-style weight (out, kh, kw, in): receptive field kh*kw multiplies both
    assert_eq!(
        calculate_fan_in_fan_out(&zeros(&[8, 3, 2, 4])).unwrap(),
        (24, 48)
    );
    assert_eq!(
        calculate_fan_in_fan_out(&zeros(&[6, 7, 2])).unwrap(),
        (14, 42)
    );
    assert_eq!(
        calculate_fan_in_fan_out(&zeros(&[5])).err().unwrap().to_string(),
        "Glorot / He initialization requires at least 2 dimensional input but input with 1 dimensions."
    );
}

#[test]
fn constant_identity_dtype() {
    let c = init::constant(2.5, Dtype::F16)(&zeros(&[2, 3])).unwrap();
    assert_eq!(c.dtype(), Dtype::F16);
    assert_eq!(
        c.astype(Dtype::F32).unwrap().to_vec::<f32>().unwrap(),
        vec![2.5; 6]
    );
    let i = init::identity(Dtype::F32)(&zeros(&[3, 3])).unwrap();
    assert_eq!(
        i.to_vec::<f32>().unwrap(),
        vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    );
    assert_eq!(
        init::identity(Dtype::F32)(&zeros(&[2, 3]))
            .err()
            .unwrap()
            .to_string(),
        "The input array must be a square matrix but got shape (2, 3)."
    );
    assert!(init::identity(Dtype::F32)(&zeros(&[3])).is_err());
}

#[test]
fn normal_and_uniform_statistics() {
    random::seed(1);
    let big = zeros(&[200, 200]);
    let (m, s, _) = stats(&init::normal(1.5, 0.5, Dtype::F32)(&big).unwrap());
    assert!((m - 1.5).abs() < 0.01 && (s - 0.5).abs() < 0.01, "{m} {s}");
    let u = init::uniform(-2.0, 4.0, Dtype::F32)(&big).unwrap();
    let (m, s, _) = stats(&u);
    assert!(
        (m - 1.0).abs() < 0.03 && (s - 6.0 / 12f64.sqrt()).abs() < 0.02,
        "{m} {s}"
    );
    let v = u.to_vec::<f32>().unwrap();
    assert!(v.iter().all(|x| (-2.0..4.0).contains(x)));
    // same draws as the global sequence gives directly (MLX's normal(shape, scale, loc))
    random::seed(3);
    let a = init::normal(0.0, 1.0, Dtype::F32)(&zeros(&[4])).unwrap();
    random::seed(3);
    let b = random::normal(&[4], None).unwrap();
    assert_eq!(a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
}

#[test]
fn glorot_and_he_scales() {
    random::seed(2);
    let w = zeros(&[100, 4, 100]); // fan_in 400, fan_out 400
    let (m, s, _) = stats(&init::glorot_normal(Dtype::F32)(&w, 2.0).unwrap());
    let want = 2.0 * (2.0f64 / 800.0).sqrt();
    assert!(
        m.abs() < 0.005 && (s / want - 1.0).abs() < 0.02,
        "{m} {s} {want}"
    );
    let (_, s, max) = stats(&init::glorot_uniform(Dtype::F32)(&w, 1.0).unwrap());
    let limit = (6.0f64 / 800.0).sqrt();
    assert!(max <= limit && max > 0.99 * limit);
    assert!((s / (limit / 3f64.sqrt()) - 1.0).abs() < 0.02);

    let w = zeros(&[50, 400]); // fan_in 400, fan_out 50
    let he_n = init::he_normal(Dtype::F32);
    let (_, s, _) = stats(&he_n(&w, FanMode::FanIn, 1.0).unwrap());
    assert!((s / (1.0 / 20.0) - 1.0).abs() < 0.02, "{s}");
    let (_, s, _) = stats(&he_n(&w, FanMode::FanOut, 3.0).unwrap());
    assert!((s / (3.0 / 50f64.sqrt()) - 1.0).abs() < 0.02, "{s}");
    let he_u = init::he_uniform(Dtype::F32);
    let (_, _, max) = stats(&he_u(&w, "fan_out".parse().unwrap(), 1.0).unwrap());
    let limit = (3.0f64 / 50.0).sqrt();
    assert!(max <= limit && max > 0.99 * limit);
    assert_eq!(
        "fan_avg".parse::<FanMode>().err().unwrap().to_string(),
        "Invalid mode: fan_avg. Valid modes are: fan_in, fan_out"
    );
    assert!(he_u(&zeros(&[7]), FanMode::FanIn, 1.0).is_err());
    assert_eq!(
        init::glorot_normal(Dtype::F16)(&zeros(&[3, 3]), 1.0)
            .unwrap()
            .dtype(),
        Dtype::F16
    );
}

fn check_orthonormal(q: &[f64], rows: usize, cols: usize, gain: f64) {
    // the smaller side is orthonormal (times gain²)
    let (outer, inner, by_cols) = if rows >= cols {
        (cols, rows, true)
    } else {
        (rows, cols, false)
    };
    for a in 0..outer {
        for b in 0..outer {
            let d: f64 = (0..inner)
                .map(|k| {
                    if by_cols {
                        q[k * cols + a] * q[k * cols + b]
                    } else {
                        q[a * cols + k] * q[b * cols + k]
                    }
                })
                .sum();
            let want = if a == b { gain * gain } else { 0.0 };
            assert!((d - want).abs() < 1e-5, "({a},{b}) {d} vs {want}");
        }
    }
}

#[test]
fn orthogonal_is_orthogonal() {
    random::seed(5);
    for (r, c, gain) in [(6, 6, 1.0), (7, 3, 2.0), (3, 8, 0.5)] {
        let q = init::orthogonal(gain, Dtype::F32)(&zeros(&[r, c])).unwrap();
        assert_eq!(q.shape(), &[r, c]);
        assert_eq!(q.dtype(), Dtype::F32);
        let v = q.astype(Dtype::F64).unwrap().to_vec::<f64>().unwrap();
        check_orthonormal(&v, r, c, gain);
    }
    // the sign fix makes Q the unique one with a positive R diagonal: R = Qᵀ M has a positive
    // diagonal for the very draw the initializer made
    random::seed(9);
    let q = init::orthogonal(1.0, Dtype::F32)(&zeros(&[4, 4])).unwrap();
    random::seed(9);
    let m = random::normal(&[4, 4], None).unwrap();
    let r = q.t().unwrap().matmul(&m).unwrap().to_vec::<f32>().unwrap();
    for i in 0..4 {
        assert!(r[i * 4 + i] > 0.0);
        for j in 0..i {
            assert!(r[i * 4 + j].abs() < 1e-4);
        }
    }
    assert_eq!(
        init::orthogonal(1.0, Dtype::F32)(&zeros(&[4]))
            .err()
            .unwrap()
            .to_string(),
        "Orthogonal initialization requires at least 2D tensor but got 1D."
    );
    assert_eq!(
        init::orthogonal(1.0, Dtype::F32)(&zeros(&[2, 2, 2]))
            .err()
            .unwrap()
            .to_string(),
        "Orthogonal initialization currently only supports 2D arrays."
    );
}

#[test]
fn sparse_zeroes_ceil_sparsity_per_row() {
    random::seed(6);
    let (rows, cols) = (40, 10);
    let a = init::sparse(0.25, 3.0, 0.1, Dtype::F32)(&zeros(&[rows, cols])).unwrap();
    let v = a.to_vec::<f32>().unwrap();
    for r in 0..rows {
        let row = &v[r * cols..(r + 1) * cols];
        // ceil(0.25 * 10) = 3 zeros; the rest are N(3, 0.1²), far from zero
        assert_eq!(row.iter().filter(|x| **x == 0.0).count(), 3, "row {r}");
        assert!(row
            .iter()
            .filter(|x| **x != 0.0)
            .all(|x| (x - 3.0).abs() < 1.0));
    }
    // the zero positions differ between rows (a random order per row)
    let pattern = |r: usize| -> Vec<bool> {
        v[r * cols..(r + 1) * cols]
            .iter()
            .map(|x| *x == 0.0)
            .collect()
    };
    assert!((1..rows).any(|r| pattern(r) != pattern(0)));
    assert_eq!(
        init::sparse(0.5, 0.0, 1.0, Dtype::F32)(&zeros(&[4]))
            .err()
            .unwrap()
            .to_string(),
        "Only tensors with 2 dimensions are supported"
    );
    let none = init::sparse(0.0, 0.0, 1.0, Dtype::F32)(&zeros(&[3, 4])).unwrap();
    assert!(none.to_vec::<f32>().unwrap().iter().all(|x| *x != 0.0));
    assert!(init::sparse(1.5, 0.0, 1.0, Dtype::F32)(&zeros(&[3, 4])).is_err());
}
