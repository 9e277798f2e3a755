//! Every loss of `rmlx_nn::losses`: its value against a naive f64 loop written here (each
//! reduction), finite-difference gradient checks in f64 for each reduction, and the bad-input
//! errors (invalid reduction, label smoothing outside [0, 1), shape mismatches).

use crate::fd;

use fd::{assert_close, check_grad, vals, Rng};
use rmlx_core::{Array, Result};
use rmlx_nn::losses::*;

const REDUCTIONS: [Reduction; 3] = [Reduction::None, Reduction::Mean, Reduction::Sum];

/// Checks `f` (a loss with the reduction as its last argument): the `None` value against `naive`
/// (of shape `out_shape`), `Mean`/`Sum` against the mean/sum of `naive`, and the gradients with
/// respect to `inputs[argnums]` for each reduction (the `None` output weighted by random
/// weights and summed).
fn check_loss<F>(
    name: &str,
    f: F,
    inputs: &[Array],
    argnums: &[usize],
    naive: &[f64],
    out_shape: &[usize],
) where
    F: Fn(&[Array], Reduction) -> Result<Array> + Clone + 'static,
{
    let none = f(inputs, Reduction::None).unwrap();
    assert_eq!(none.shape(), out_shape, "{name}: shape");
    assert_close(&format!("{name}: none"), &vals(&none), naive, 1e-12);
    let sum: f64 = naive.iter().sum();
    let mean = sum / naive.len() as f64;
    let m = f(inputs, Reduction::Mean).unwrap();
    assert_eq!(m.shape(), &[] as &[usize], "{name}: mean is a scalar");
    assert_close(&format!("{name}: mean"), &vals(&m), &[mean], 1e-12);
    let s = f(inputs, Reduction::Sum).unwrap();
    assert_close(&format!("{name}: sum"), &vals(&s), &[sum], 1e-12);
    let mut rng = Rng::new(99);
    for red in REDUCTIONS {
        let w = rng.array(out_shape, 0.5, 1.5);
        let f = f.clone();
        let scalar = move |x: &[Array]| -> Result<Array> {
            let out = f(x, red)?;
            match red {
                Reduction::None => (&out * &w)?.sum(None, false),
                _ => Ok(out),
            }
        };
        check_grad(&format!("{name} ({red:?})"), scalar, inputs, argnums, 1e-6);
    }
}

fn arr(v: &[f64], shape: &[usize]) -> Array {
    Array::from_vec(v.to_vec(), shape).unwrap()
}

fn sig(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn lse(v: &[f64]) -> f64 {
    let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// Rows of a `[r, c]` row-major buffer.
fn rows(v: &[f64], c: usize) -> Vec<&[f64]> {
    v.chunks(c).collect()
}

#[test]
fn cross_entropy_class_indices() {
    let mut rng = Rng::new(1);
    let (r, c) = (3, 4);
    let logits = rng.vec(r * c, -2.0, 2.0);
    let idx = [2i32, 0, 3];
    let targets = Array::from_vec(idx.to_vec(), &[r]).unwrap();
    let weights = rng.vec(r, 0.5, 1.5);
    for ls in [0.0, 0.3] {
        let naive: Vec<f64> = rows(&logits, c)
            .iter()
            .zip(idx)
            .zip(&weights)
            .map(|((row, t), w)| {
                let mean = row.iter().sum::<f64>() / c as f64;
                w * (lse(row) - (1.0 - ls) * row[t as usize] - ls * mean)
            })
            .collect();
        let t = targets.clone();
        let f = move |x: &[Array], red| cross_entropy(&x[0], &t, Some(&x[1]), -1, ls, red);
        check_loss(
            &format!("cross_entropy ls={ls}"),
            f,
            &[arr(&logits, &[r, c]), arr(&weights, &[r])],
            &[0, 1],
            &naive,
            &[r],
        );
    }
    // along axis 0: classes down the columns
    let t0 = Array::from_vec(vec![1i32, 0, 2, 1], &[c]).unwrap();
    let naive: Vec<f64> = (0..c)
        .map(|j| {
            let col: Vec<f64> = (0..r).map(|i| logits[i * c + j]).collect();
            lse(&col) - col[[1usize, 0, 2, 1][j]]
        })
        .collect();
    let f = move |x: &[Array], red| cross_entropy(&x[0], &t0, None, 0, 0.0, red);
    check_loss(
        "cross_entropy axis 0",
        f,
        &[arr(&logits, &[r, c])],
        &[0],
        &naive,
        &[c],
    );
}

#[test]
fn cross_entropy_probabilities() {
    let mut rng = Rng::new(2);
    let (r, c) = (2, 5);
    let logits = rng.vec(r * c, -2.0, 2.0);
    let probs = rng.vec(r * c, 0.0, 1.0);
    for ls in [0.0, 0.25] {
        let naive: Vec<f64> = rows(&logits, c)
            .iter()
            .zip(rows(&probs, c))
            .map(|(row, p)| {
                let score: f64 = row.iter().zip(p).map(|(a, b)| a * b).sum();
                let mean = row.iter().sum::<f64>() / c as f64;
                lse(row) - (1.0 - ls) * score - ls * mean
            })
            .collect();
        let f = move |x: &[Array], red| cross_entropy(&x[0], &x[1], None, -1, ls, red);
        check_loss(
            &format!("cross_entropy probs ls={ls}"),
            f,
            &[arr(&logits, &[r, c]), arr(&probs, &[r, c])],
            &[0, 1],
            &naive,
            &[r],
        );
    }
}

#[test]
fn binary_cross_entropy_logits_and_probabilities() {
    let mut rng = Rng::new(3);
    let n = 6;
    let x = rng.vec(n, -3.0, 3.0);
    let t = rng.vec(n, 0.0, 1.0);
    let w = rng.vec(n, 0.5, 1.5);
    let naive: Vec<f64> = (0..n)
        .map(|i| w[i] * -(t[i] * sig(x[i]).ln() + (1.0 - t[i]) * (1.0 - sig(x[i])).ln()))
        .collect();
    let f = |x: &[Array], red| binary_cross_entropy(&x[0], &x[1], Some(&x[2]), true, red);
    check_loss(
        "bce logits",
        f,
        &[arr(&x, &[2, 3]), arr(&t, &[2, 3]), arr(&w, &[2, 3])],
        &[0, 1, 2],
        &naive,
        &[2, 3],
    );
    let p = rng.vec(n, 0.05, 0.95);
    let naive: Vec<f64> = (0..n)
        .map(|i| -(t[i] * p[i].ln() + (1.0 - t[i]) * (1.0 - p[i]).ln()))
        .collect();
    let f = |x: &[Array], red| binary_cross_entropy(&x[0], &x[1], None, false, red);
    check_loss(
        "bce probs",
        f,
        &[arr(&p, &[n]), arr(&t, &[n])],
        &[0, 1],
        &naive,
        &[n],
    );
    // log clamped at -100: p = 0 with t = 1 gives 100, not inf
    let v = binary_cross_entropy(
        &arr(&[0.0], &[1]),
        &arr(&[1.0], &[1]),
        None,
        false,
        Reduction::Sum,
    )
    .unwrap();
    assert_eq!(vals(&v), [100.0]);
}

/// `n` pairs `(a, b)` with `|a - b|` at least `gap` away from every value in `kinks`.
fn apart(rng: &mut Rng, n: usize, kinks: &[f64], gap: f64) -> (Vec<f64>, Vec<f64>) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    while a.len() < n {
        let (x, y) = (rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0));
        if kinks.iter().all(|k| ((x - y).abs() - k).abs() > gap) {
            a.push(x);
            b.push(y);
        }
    }
    (a, b)
}

#[test]
fn l1_mse_smooth_l1_huber_log_cosh() {
    let mut rng = Rng::new(4);
    let shape = [3, 2];
    let (p, t) = apart(&mut rng, 6, &[0.0, 0.5, 1.0], 1e-3);
    let ins = [arr(&p, &shape), arr(&t, &shape)];
    let d: Vec<f64> = p.iter().zip(&t).map(|(a, b)| a - b).collect();

    let naive: Vec<f64> = d.iter().map(|e| e.abs()).collect();
    check_loss(
        "l1",
        |x: &[Array], r| l1_loss(&x[0], &x[1], r),
        &ins,
        &[0, 1],
        &naive,
        &shape,
    );

    let naive: Vec<f64> = d.iter().map(|e| e * e).collect();
    check_loss(
        "mse",
        |x: &[Array], r| mse_loss(&x[0], &x[1], r),
        &ins,
        &[0, 1],
        &naive,
        &shape,
    );

    for beta in [1.0, 0.5] {
        let naive: Vec<f64> = d
            .iter()
            .map(|e| {
                if e.abs() < beta {
                    0.5 * e * e / beta
                } else {
                    e.abs() - 0.5 * beta
                }
            })
            .collect();
        let f = move |x: &[Array], r| smooth_l1_loss(&x[0], &x[1], beta, r);
        check_loss(
            &format!("smooth_l1 beta={beta}"),
            f,
            &ins,
            &[0, 1],
            &naive,
            &shape,
        );
    }

    for delta in [1.0, 0.5] {
        let naive: Vec<f64> = d
            .iter()
            .map(|e| {
                if e.abs() <= delta {
                    0.5 * e * e
                } else {
                    delta * (e.abs() - 0.5 * delta)
                }
            })
            .collect();
        let f = move |x: &[Array], r| huber_loss(&x[0], &x[1], delta, r);
        check_loss(
            &format!("huber delta={delta}"),
            f,
            &ins,
            &[0, 1],
            &naive,
            &shape,
        );
    }

    let naive: Vec<f64> = d.iter().map(|e| e.cosh().ln()).collect();
    check_loss(
        "log_cosh",
        |x: &[Array], r| log_cosh_loss(&x[0], &x[1], r),
        &ins,
        &[0, 1],
        &naive,
        &shape,
    );
}

#[test]
fn nll_and_kl_div() {
    let mut rng = Rng::new(5);
    let (r, c) = (3, 4);
    let logp = rng.vec(r * c, -3.0, -0.1);
    let idx = [1usize, 3, 0];
    let targets = Array::from_vec(idx.iter().map(|&i| i as i32).collect(), &[r]).unwrap();
    let naive: Vec<f64> = (0..r).map(|i| -logp[i * c + idx[i]]).collect();
    let f = move |x: &[Array], red| nll_loss(&x[0], &targets, -1, red);
    check_loss("nll", f, &[arr(&logp, &[r, c])], &[0], &naive, &[r]);

    let logq = rng.vec(r * c, -3.0, -0.1);
    let naive: Vec<f64> = (0..r)
        .map(|i| {
            (0..c)
                .map(|j| {
                    let (x, t) = (logp[i * c + j], logq[i * c + j]);
                    t.exp() * (t - x)
                })
                .sum()
        })
        .collect();
    let f = |x: &[Array], red| kl_div_loss(&x[0], &x[1], -1, red);
    check_loss(
        "kl_div",
        f,
        &[arr(&logp, &[r, c]), arr(&logq, &[r, c])],
        &[0, 1],
        &naive,
        &[r],
    );
}

#[test]
fn gaussian_nll() {
    let mut rng = Rng::new(6);
    let n = 6;
    let x = rng.vec(n, -2.0, 2.0);
    let t = rng.vec(n, -2.0, 2.0);
    let v = rng.vec(n, 0.3, 2.0);
    for full in [false, true] {
        let naive: Vec<f64> = (0..n)
            .map(|i| {
                let mut l = 0.5 * (v[i].ln() + (t[i] - x[i]).powi(2) / v[i]);
                if full {
                    l += 0.5 * (2.0 * std::f64::consts::PI).ln();
                }
                l
            })
            .collect();
        let f = move |a: &[Array], r| gaussian_nll_loss(&a[0], &a[1], &a[2], full, 1e-6, r);
        check_loss(
            &format!("gaussian_nll full={full}"),
            f,
            &[arr(&x, &[2, 3]), arr(&t, &[2, 3]), arr(&v, &[2, 3])],
            &[0, 1, 2],
            &naive,
            &[2, 3],
        );
    }
    // vars below eps are clamped to eps
    let l = gaussian_nll_loss(
        &arr(&[0.0], &[1]),
        &arr(&[0.0], &[1]),
        &arr(&[1e-9], &[1]),
        false,
        1e-2,
        Reduction::Sum,
    )
    .unwrap();
    assert_close("clamp", &vals(&l), &[0.5 * 1e-2f64.ln()], 1e-12);
}

#[test]
fn triplet() {
    let mut rng = Rng::new(7);
    let (r, c) = (4, 3);
    let margin = 0.5;
    let eps = 1e-6;
    let (a, p, n) = loop {
        let a = rng.vec(r * c, -1.0, 1.0);
        let p = rng.vec(r * c, -1.0, 1.0);
        let n = rng.vec(r * c, -1.0, 1.0);
        let inner = |i: usize| {
            let dist = |b: &[f64]| {
                ((0..c)
                    .map(|j| (a[i * c + j] - b[i * c + j]).powi(2))
                    .sum::<f64>()
                    + eps)
                    .sqrt()
            };
            dist(&p) - dist(&n) + margin
        };
        // keep every row away from the hinge, with both active and inactive rows
        let v: Vec<f64> = (0..r).map(inner).collect();
        if v.iter().all(|x| x.abs() > 1e-3)
            && v.iter().any(|x| *x > 0.0)
            && v.iter().any(|x| *x < 0.0)
        {
            break (a, p, n);
        }
    };
    let naive: Vec<f64> = (0..r)
        .map(|i| {
            let dist = |b: &[f64]| {
                ((0..c)
                    .map(|j| (a[i * c + j] - b[i * c + j]).powi(2))
                    .sum::<f64>()
                    + eps)
                    .sqrt()
            };
            (dist(&p) - dist(&n) + margin).max(0.0)
        })
        .collect();
    let f = move |x: &[Array], red| triplet_loss(&x[0], &x[1], &x[2], -1, 2.0, margin, eps, red);
    check_loss(
        "triplet",
        f,
        &[arr(&a, &[r, c]), arr(&p, &[r, c]), arr(&n, &[r, c])],
        &[0, 1, 2],
        &naive,
        &[r],
    );
}

#[test]
fn hinge_and_margin_ranking() {
    let mut rng = Rng::new(8);
    let n = 8;
    let mut x = Vec::new();
    let mut t = Vec::new();
    while x.len() < n {
        let (a, b) = (
            rng.uniform(-2.0, 2.0),
            if rng.uniform(0.0, 1.0) < 0.5 {
                -1.0
            } else {
                1.0
            },
        );
        if (1.0 - a * b).abs() > 1e-3 {
            x.push(a);
            t.push(b);
        }
    }
    let naive: Vec<f64> = (0..n).map(|i| (1.0 - x[i] * t[i]).max(0.0)).collect();
    check_loss(
        "hinge",
        |a: &[Array], r| hinge_loss(&a[0], &a[1], r),
        &[arr(&x, &[n]), arr(&t, &[n])],
        &[0, 1],
        &naive,
        &[n],
    );

    let margin = 0.1;
    let mut x1 = Vec::new();
    let mut x2 = Vec::new();
    while x1.len() < n {
        let (a, b) = (rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0));
        let ti = t[x1.len()];
        if (-ti * (a - b) + margin).abs() > 1e-3 {
            x1.push(a);
            x2.push(b);
        }
    }
    let naive: Vec<f64> = (0..n)
        .map(|i| (-t[i] * (x1[i] - x2[i]) + margin).max(0.0))
        .collect();
    let f = move |a: &[Array], r| margin_ranking_loss(&a[0], &a[1], &a[2], margin, r);
    check_loss(
        "margin_ranking",
        f,
        &[arr(&x1, &[n]), arr(&x2, &[n]), arr(&t, &[n])],
        &[0, 1, 2],
        &naive,
        &[n],
    );
}

#[test]
fn cosine_similarity() {
    let mut rng = Rng::new(9);
    let (r, c) = (3, 4);
    let a = rng.vec(r * c, -1.0, 1.0);
    let b = rng.vec(r * c, -1.0, 1.0);
    let naive: Vec<f64> = (0..r)
        .map(|i| {
            let (u, v) = (&a[i * c..(i + 1) * c], &b[i * c..(i + 1) * c]);
            let dot: f64 = u.iter().zip(v).map(|(x, y)| x * y).sum();
            let nu = u.iter().map(|x| x * x).sum::<f64>().sqrt();
            let nv = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            dot / (nu * nv).max(1e-8)
        })
        .collect();
    let f = |x: &[Array], red| cosine_similarity_loss(&x[0], &x[1], 1, 1e-8, red);
    check_loss(
        "cosine_similarity",
        f,
        &[arr(&a, &[r, c]), arr(&b, &[r, c])],
        &[0, 1],
        &naive,
        &[r],
    );
}

#[test]
fn bad_inputs() {
    let msg = "Invalid reduction. Must be 'none', 'mean', or 'sum'.";
    for bad in ["avg", "", "Mean", "NONE"] {
        assert_eq!(Reduction::from_name(bad).unwrap_err().to_string(), msg);
    }
    assert_eq!(Reduction::from_name("none").unwrap(), Reduction::None);
    assert_eq!(Reduction::from_name("mean").unwrap(), Reduction::Mean);
    assert_eq!(Reduction::from_name("sum").unwrap(), Reduction::Sum);

    let logits = arr(&[0.0; 6], &[2, 3]);
    let idx = Array::from_vec(vec![0i32, 1], &[2]).unwrap();
    for ls in [-0.1, 1.0, 1.5] {
        let e = cross_entropy(&logits, &idx, None, -1, ls, Reduction::None)
            .unwrap_err()
            .to_string();
        assert_eq!(e, format!("Label smoothing must in [0, 1), got {ls}."));
    }
    assert!(cross_entropy(&logits, &idx, None, -1, 0.999, Reduction::None).is_ok());

    let e = |r: Result<Array>| r.unwrap_err().to_string();
    let a23 = arr(&[0.5; 6], &[2, 3]);
    let a32 = arr(&[0.5; 6], &[3, 2]);
    let a3 = arr(&[0.5; 3], &[3]);
    // targets: probabilities of another shape, indices of another shape
    assert_eq!(
        e(cross_entropy(&logits, &a32, None, -1, 0.0, Reduction::None)),
        "Targets shape (3, 2) does not match logits shape (2, 3)."
    );
    let idx3 = Array::from_vec(vec![0i32, 1, 2], &[3]).unwrap();
    assert_eq!(
        e(cross_entropy(
            &logits,
            &idx3,
            None,
            -1,
            0.0,
            Reduction::None
        )),
        "Targets shape (3,) does not match logits shape (2, 3)."
    );
    assert_eq!(
        e(cross_entropy(
            &logits,
            &idx,
            Some(&a3),
            -1,
            0.0,
            Reduction::None
        )),
        "Weights with shape (3,) is not the same as output loss with shape (2,)."
    );
    assert_eq!(
        e(binary_cross_entropy(
            &a23,
            &a32,
            None,
            true,
            Reduction::Mean
        )),
        "Inputs shape (2, 3) does not match targets shape (3, 2)."
    );
    assert_eq!(
        e(binary_cross_entropy(
            &a23,
            &a23,
            Some(&a3),
            true,
            Reduction::Mean
        )),
        "Weights with shape (3,) is not the same as output loss with shape (2, 3)."
    );
    for r in [
        l1_loss(&a23, &a32, Reduction::Mean),
        mse_loss(&a23, &a32, Reduction::Mean),
        smooth_l1_loss(&a23, &a32, 1.0, Reduction::Mean),
    ] {
        assert_eq!(
            e(r),
            "Predictions shape (2, 3) does not match targets shape (3, 2)."
        );
    }
    assert_eq!(
        e(gaussian_nll_loss(
            &a23,
            &a32,
            &a23,
            false,
            1e-6,
            Reduction::Mean
        )),
        "Inputs shape (2, 3) does not match targets shape (3, 2)."
    );
    assert_eq!(
        e(gaussian_nll_loss(
            &a23,
            &a23,
            &a32,
            false,
            1e-6,
            Reduction::Mean
        )),
        "Inputs shape (2, 3) does not match vars shape (3, 2)."
    );
    assert_eq!(
        e(margin_ranking_loss(&a23, &a23, &a32, 0.0, Reduction::None)),
        "The shapes of the arguments do not match. The provided shapes are inputs1.shape=(2, 3), inputs2.shape=(2, 3), and targets.shape=(3, 2)."
    );
    // losses without a shape check still fail on non-broadcasting shapes instead of panicking
    assert!(hinge_loss(&a23, &a32, Reduction::None).is_err());
    assert!(huber_loss(&a23, &a32, 1.0, Reduction::None).is_err());
    assert!(log_cosh_loss(&a23, &a32, Reduction::None).is_err());
    assert!(kl_div_loss(&a23, &a32, -1, Reduction::None).is_err());
    assert!(nll_loss(&a23, &idx3, 5, Reduction::None).is_err());
    assert!(cross_entropy(&a23, &idx, None, 2, 0.0, Reduction::None).is_err());
}
