//! Each optimizer's first two updates against its formula computed independently here, in f64
//! loops over plain vectors (MLX_SEMANTICS 84, oracle README §2.1 table, MLX's docstrings).

use rmlx_core::Array;
use rmlx_optimizers::*;

const W0: [f32; 6] = [0.5, -1.25, 2.0, 0.75, -0.3, 1.1];
const G1: [f32; 6] = [0.1, -0.4, 0.25, -0.05, 0.6, -0.2];
const G2: [f32; 6] = [-0.3, 0.2, 0.15, 0.35, -0.1, 0.05];
const SHAPE: [usize; 2] = [2, 3];

fn flat(name: &str, v: &[f32], shape: &[usize]) -> Vec<(String, Array)> {
    vec![(name.to_string(), Array::from_slice(v, shape).unwrap())]
}

/// Two updates of a single parameter `w` (shape `shape`) with gradients `g1`, `g2`.
fn two_steps(opt: &mut dyn Optimizer, shape: &[usize]) -> [Vec<f32>; 2] {
    let mut params = flat("w", &W0, shape);
    let mut out = Vec::new();
    for g in [&G1, &G2] {
        let grads = flat("w", g, shape);
        params = opt.apply_gradients(&grads, &params).unwrap();
        out.push(params[0].1.to_vec::<f32>().unwrap());
    }
    [out[0].clone(), out[1].clone()]
}

fn close(got: &[f32], want: &[f64], rtol: f64, atol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= atol + rtol * w.abs(),
            "{what}[{i}]: got {g}, want {w}"
        );
    }
}

fn f64v(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// Runs a per-element reference `f(w, g, state, t)` for two steps.
fn reference<S: Clone>(init: S, mut f: impl FnMut(f64, f64, &mut S, u32) -> f64) -> [Vec<f64>; 2] {
    let mut w = f64v(&W0);
    let mut st = vec![init; W0.len()];
    let mut out = Vec::new();
    for (t, g) in [(1u32, &G1), (2, &G2)] {
        for i in 0..w.len() {
            w[i] = f(w[i], g[i] as f64, &mut st[i], t);
        }
        out.push(w.clone());
    }
    [out[0].clone(), out[1].clone()]
}

fn check_two(opt: &mut dyn Optimizer, want: [Vec<f64>; 2], tol: f64, what: &str) {
    let got = two_steps(opt, &SHAPE);
    close(&got[0], &want[0], tol, tol * 0.1, &format!("{what} step1"));
    close(&got[1], &want[1], tol, tol * 0.1, &format!("{what} step2"));
}

#[test]
fn sgd_plain() {
    let lr = 0.1;
    let want = reference((), |w, g, _, _| w - lr * g);
    check_two(&mut SGD::new(lr), want, 1e-6, "SGD");
}

#[test]
fn sgd_momentum_dampening_weight_decay() {
    let (lr, mu, wd, tau) = (0.1, 0.9, 0.01, 0.25);
    let want = reference(0.0f64, |w, g, v, _| {
        let g = g + wd * w;
        *v = mu * *v + (1.0 - tau) * g;
        w - lr * *v
    });
    let mut opt = SGD::with_options(
        lr,
        SGDOptions {
            momentum: mu,
            weight_decay: wd,
            dampening: tau,
            nesterov: false,
        },
    )
    .unwrap();
    check_two(&mut opt, want, 1e-6, "SGD momentum");
}

#[test]
fn sgd_nesterov() {
    let (lr, mu, wd) = (0.05, 0.8, 0.1);
    let want = reference(0.0f64, |w, g, v, _| {
        let g = g + wd * w;
        *v = mu * *v + g;
        w - lr * (g + mu * *v)
    });
    let mut opt = SGD::with_options(
        lr,
        SGDOptions {
            momentum: mu,
            weight_decay: wd,
            dampening: 0.0,
            nesterov: true,
        },
    )
    .unwrap();
    check_two(&mut opt, want, 1e-6, "SGD nesterov");
}

#[test]
fn rmsprop() {
    let (lr, a, eps) = (0.01, 0.9, 1e-6);
    let want = reference(0.0f64, |w, g, v, _| {
        *v = a * *v + (1.0 - a) * g * g;
        w - lr * g / (v.sqrt() + eps)
    });
    check_two(
        &mut RMSprop::with_options(lr, a, eps).unwrap(),
        want,
        1e-5,
        "RMSprop",
    );
}

#[test]
fn adagrad() {
    let (lr, eps) = (0.1, 1e-8);
    let want = reference(0.0f64, |w, g, v, _| {
        *v += g * g;
        w - lr * g / (v.sqrt() + eps)
    });
    check_two(&mut Adagrad::new(lr), want, 1e-5, "Adagrad");
}

#[test]
fn adadelta() {
    let (lr, rho, eps) = (1.0, 0.9, 1e-6);
    let want = reference((0.0f64, 0.0f64), |w, g, (v, u), _| {
        *v = rho * *v + (1.0 - rho) * g * g;
        let d = (*u + eps).sqrt() / (*v + eps).sqrt() * g;
        *u = rho * *u + (1.0 - rho) * d * d;
        w - lr * d
    });
    check_two(&mut AdaDelta::new(lr), want, 1e-5, "AdaDelta");
}

fn adam_ref(lr: f64, b1: f64, b2: f64, eps: f64, bc: bool, wd: f64) -> [Vec<f64>; 2] {
    reference((0.0f64, 0.0f64), |w, g, (m, v), t| {
        let w = w * (1.0 - lr * wd);
        *m = b1 * *m + (1.0 - b1) * g;
        *v = b2 * *v + (1.0 - b2) * g * g;
        if bc {
            let t = t as i32;
            w - (lr / (1.0 - b1.powi(t))) * *m / (v.sqrt() / (1.0 - b2.powi(t)).sqrt() + eps)
        } else {
            w - lr * *m / (v.sqrt() + eps)
        }
    })
}

#[test]
fn adam_default_has_no_bias_correction() {
    let want = adam_ref(0.01, 0.9, 0.999, 1e-8, false, 0.0);
    check_two(&mut Adam::new(0.01), want, 1e-5, "Adam");
}

#[test]
fn adam_bias_correction() {
    let opts = AdamOptions {
        betas: [0.8, 0.99],
        eps: 1e-6,
        bias_correction: true,
    };
    let want = adam_ref(0.01, 0.8, 0.99, 1e-6, true, 0.0);
    check_two(
        &mut Adam::with_options(0.01, opts).unwrap(),
        want,
        1e-5,
        "Adam bc",
    );
}

#[test]
fn adamw_decoupled_decay_default_001() {
    let want = adam_ref(0.05, 0.9, 0.999, 1e-8, false, 0.01);
    check_two(&mut AdamW::new(0.05), want, 1e-5, "AdamW");
    let opts = AdamOptions {
        bias_correction: true,
        ..Default::default()
    };
    let want = adam_ref(0.05, 0.9, 0.999, 1e-8, true, 0.1);
    check_two(
        &mut AdamW::with_options(0.05, opts, 0.1).unwrap(),
        want,
        1e-5,
        "AdamW bc",
    );
}

#[test]
fn adamax() {
    let (lr, b1, b2, eps) = (0.02, 0.9, 0.999, 1e-8);
    let want = reference((0.0f64, 0.0f64), |w, g, (m, v), _| {
        *m = b1 * *m + (1.0 - b1) * g;
        *v = (b2 * *v).max(g.abs());
        w - lr * *m / (*v + eps)
    });
    check_two(&mut Adamax::new(lr), want, 1e-5, "Adamax");
}

#[test]
fn lion_with_weight_decay() {
    let (lr, b1, b2, wd) = (0.01, 0.9, 0.99, 0.1);
    let want = reference(0.0f64, |w, g, m, _| {
        let c = b1 * *m + (1.0 - b1) * g;
        *m = b2 * *m + (1.0 - b2) * g;
        let w = (1.0 - lr * wd) * w;
        w - lr * c.signum()
    });
    check_two(
        &mut Lion::with_options(lr, [b1, b2], wd).unwrap(),
        want,
        1e-6,
        "Lion",
    );
}

#[test]
fn lion_sign_of_zero_is_zero() {
    let mut opt = Lion::new(0.1);
    let w = flat("w", &[1.0, 2.0], &[2]);
    let g = flat("w", &[0.0, 1.0], &[2]);
    let out = opt.apply_gradients(&g, &w).unwrap();
    assert_eq!(out[0].1.to_vec::<f32>().unwrap(), vec![1.0, 1.9]);
}

fn rms(v: &[f64]) -> f64 {
    (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt()
}

#[test]
fn adafactor_factored_defaults() {
    // 2x3 matrix: row/column factored second moments, relative step, parameter scale.
    let (r, c) = (2usize, 3usize);
    let (eps1, eps2, clip, decay) = (1e-30f64, 1e-3f64, 1.0f64, -0.8f64);
    let mut w = f64v(&W0);
    let mut row = vec![0.0f64; r];
    let mut col = vec![0.0f64; c];
    let mut want = Vec::new();
    for (t, g) in [(1.0f64, &G1), (2.0, &G2)] {
        let g = f64v(g);
        let lr = eps2.max(rms(&w)) * 1e-2f64.min(1.0 / t.sqrt());
        let beta2 = 1.0 - t.powf(decay);
        let sq: Vec<f64> = g.iter().map(|x| x * x + eps1).collect();
        for i in 0..r {
            let m = (0..c).map(|j| sq[i * c + j]).sum::<f64>() / c as f64;
            row[i] = beta2 * row[i] + (1.0 - beta2) * m;
        }
        for j in 0..c {
            let m = (0..r).map(|i| sq[i * c + j]).sum::<f64>() / r as f64;
            col[j] = beta2 * col[j] + (1.0 - beta2) * m;
        }
        let row_mean = row.iter().sum::<f64>() / r as f64;
        let mut u: Vec<f64> = (0..r * c)
            .map(|k| {
                let (i, j) = (k / c, k % c);
                (row[i] / row_mean).sqrt().recip() * col[j].sqrt().recip() * g[k]
            })
            .collect();
        let d = 1.0f64.max(rms(&u) / clip);
        u.iter_mut().for_each(|x| *x = lr * *x / d);
        for k in 0..w.len() {
            w[k] -= u[k];
        }
        want.push(w.clone());
    }
    let got = two_steps(&mut Adafactor::new(), &SHAPE);
    close(&got[0], &want[0], 1e-5, 1e-7, "Adafactor step1");
    close(&got[1], &want[1], 1e-5, 1e-7, "Adafactor step2");
    // State: row and column factors only.
    let mut opt = Adafactor::new();
    two_steps(&mut opt, &SHAPE);
    let keys: Vec<String> = opt.state().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "step",
            "learning_rate",
            "w.exp_avg_sq_row",
            "w.exp_avg_sq_col"
        ]
    );
}

#[test]
fn adafactor_vector_first_moment_weight_decay_fixed_lr() {
    let (lr, eps1, clip, decay, b1, wd) = (0.05, 1e-30, 0.5, -0.8, 0.9, 0.1);
    let mut w = f64v(&W0);
    let mut v = vec![0.0f64; w.len()];
    let mut avg = vec![0.0f64; w.len()];
    let mut want = Vec::new();
    for (t, g) in [(1.0f64, &G1), (2.0, &G2)] {
        let g = f64v(g);
        let beta2 = 1.0 - t.powf(decay);
        let mut u = vec![0.0; w.len()];
        for k in 0..w.len() {
            v[k] = beta2 * v[k] + (1.0 - beta2) * (g[k] * g[k] + eps1);
            u[k] = g[k] / v[k].sqrt();
        }
        let d = 1.0f64.max(rms(&u) / clip);
        for k in 0..w.len() {
            avg[k] = b1 * avg[k] + (1.0 - b1) * lr * u[k] / d;
            w[k] = w[k] + w[k] * (-wd * lr) - avg[k];
        }
        want.push(w.clone());
    }
    let mut opt = Adafactor::with_options(AdafactorOptions {
        learning_rate: Some(LearningRate::Constant(lr as f32)),
        clip_threshold: clip,
        beta_1: Some(b1),
        weight_decay: wd,
        scale_parameter: false,
        relative_step: false,
        ..Default::default()
    })
    .unwrap();
    let got = two_steps(&mut opt, &[6]);
    close(&got[0], &want[0], 1e-5, 1e-7, "Adafactor 1-D step1");
    close(&got[1], &want[1], 1e-5, 1e-7, "Adafactor 1-D step2");
}

type Mat = Vec<Vec<f64>>;

fn mm(a: &Mat, b: &Mat) -> Mat {
    let (n, k, m) = (a.len(), b.len(), b[0].len());
    (0..n)
        .map(|i| {
            (0..m)
                .map(|j| (0..k).map(|l| a[i][l] * b[l][j]).sum())
                .collect()
        })
        .collect()
}

fn tr(a: &Mat) -> Mat {
    (0..a[0].len())
        .map(|j| (0..a.len()).map(|i| a[i][j]).collect())
        .collect()
}

fn ns5(g: &Mat, steps: usize) -> Mat {
    let (a, b, c) = (3.4445, -4.7750, 2.0315);
    let transpose = g.len() > g[0].len();
    let mut x = if transpose { tr(g) } else { g.clone() };
    let norm = x.iter().flatten().map(|v| v * v).sum::<f64>().sqrt() + 1e-7;
    x.iter_mut().flatten().for_each(|v| *v /= norm);
    for _ in 0..steps {
        let am = mm(&x, &tr(&x));
        let aa = mm(&am, &am);
        let bm: Mat = (0..am.len())
            .map(|i| (0..am.len()).map(|j| b * am[i][j] + c * aa[i][j]).collect())
            .collect();
        let bx = mm(&bm, &x);
        x = (0..x.len())
            .map(|i| (0..x[0].len()).map(|j| a * x[i][j] + bx[i][j]).collect())
            .collect();
    }
    if transpose {
        tr(&x)
    } else {
        x
    }
}

fn muon_ref(rows: usize, cols: usize, lr: f64, mu: f64, wd: f64) -> [Vec<f64>; 2] {
    let mut w = f64v(&W0);
    let mut v = vec![0.0f64; w.len()];
    let mut out = Vec::new();
    for g in [&G1, &G2] {
        let g: Vec<f64> = (0..w.len()).map(|k| g[k] as f64 + wd * w[k]).collect();
        let mut u = vec![0.0; w.len()];
        for k in 0..w.len() {
            v[k] = mu * v[k] + (1.0 - mu) * g[k];
            u[k] = (1.0 - mu) * g[k] + mu * v[k];
        }
        let um: Mat = (0..rows)
            .map(|i| u[i * cols..(i + 1) * cols].to_vec())
            .collect();
        let o = ns5(&um, 5);
        let scale = (rows as f64 / cols as f64).max(1.0).sqrt();
        for k in 0..w.len() {
            w[k] -= lr * scale * o[k / cols][k % cols];
        }
        out.push(w.clone());
    }
    [out[0].clone(), out[1].clone()]
}

#[test]
fn muon_matrices_both_orientations() {
    for (r, c) in [(2usize, 3usize), (3, 2)] {
        let want = muon_ref(r, c, 0.02, 0.95, 0.01);
        let got = two_steps(&mut Muon::new(0.02), &[r, c]);
        close(
            &got[0],
            &want[0],
            1e-4,
            1e-6,
            &format!("Muon {r}x{c} step1"),
        );
        close(
            &got[1],
            &want[1],
            1e-4,
            1e-6,
            &format!("Muon {r}x{c} step2"),
        );
    }
}

#[test]
fn muon_vector_is_momentum_sgd() {
    let (lr, mu) = (0.1, 0.9);
    let want = reference(0.0f64, |w, g, v, _| {
        *v = mu * *v + (1.0 - mu) * g;
        w - lr * *v
    });
    let mut opt = Muon::with_options(
        lr,
        MuonOptions {
            momentum: mu,
            weight_decay: 0.0,
            nesterov: false,
            ns_steps: 5,
        },
    );
    let got = two_steps(&mut opt, &[6]);
    close(&got[0], &want[0], 1e-6, 1e-7, "Muon 1-D step1");
    close(&got[1], &want[1], 1e-6, 1e-7, "Muon 1-D step2");
}

#[test]
fn newton_schulz_is_nearly_orthogonal() {
    // Singular values land in roughly [0.5, 1.5] (the quintic's design).
    let g = Array::from_slice(&W0, &[2, 3]).unwrap();
    let o = newton_schulz5(&g, 5).unwrap().to_vec::<f32>().unwrap();
    let x: Mat = (0..2)
        .map(|i| (0..3).map(|j| o[i * 3 + j] as f64).collect())
        .collect();
    let xxt = mm(&x, &tr(&x));
    for (i, row) in xxt.iter().enumerate() {
        assert!((0.25..2.25).contains(&row[i]), "diag {}", row[i]);
    }
}

#[test]
fn updates_keep_fp16_and_bf16() {
    use rmlx_core::{f16, Dtype};
    let names = [
        "SGD",
        "RMSprop",
        "Adagrad",
        "AdaDelta",
        "Adam",
        "AdamW",
        "Adamax",
        "Lion",
        "Adafactor",
        "Muon",
    ];
    for dtype in [Dtype::F16, Dtype::Bf16] {
        for name in names {
            let args = [
                ("learning_rate", HParam::Num(0.01)),
                ("momentum", HParam::Num(0.9)),
            ];
            let args: Vec<(&str, HParam)> = args
                .into_iter()
                .filter(|(k, _)| *k == "learning_rate" || name == "SGD" || name == "Muon")
                .collect();
            let mut opt = optimizer_from_name(name, &args).unwrap();
            let w = Array::from_slice(&W0, &SHAPE)
                .unwrap()
                .astype(dtype)
                .unwrap();
            let g = Array::from_slice(&G1, &SHAPE)
                .unwrap()
                .astype(dtype)
                .unwrap();
            let out = opt
                .apply_gradients(&[("w".into(), g)], &[("w".into(), w)])
                .unwrap();
            assert_eq!(out[0].1.dtype(), dtype, "{name} {dtype:?}");
            let v = out[0].1.to_vec::<f32>().unwrap();
            assert!(v.iter().all(|x| x.is_finite()), "{name}: {v:?}");
        }
    }
    let _ = f16::from_f32(0.0);
}

#[test]
fn bias_correction_fp16_propagates() {
    use rmlx_core::Dtype;
    let opts = AdamOptions {
        bias_correction: true,
        ..Default::default()
    };
    let mut opt = Adam::with_options(0.01, opts).unwrap();
    let w = Array::from_slice(&W0, &SHAPE)
        .unwrap()
        .astype(Dtype::F16)
        .unwrap();
    let g = Array::from_slice(&G1, &SHAPE)
        .unwrap()
        .astype(Dtype::F16)
        .unwrap();
    let out = opt
        .apply_gradients(&[("w".into(), g)], &[("w".into(), w)])
        .unwrap();
    assert_eq!(out[0].1.dtype(), Dtype::F16);
    let want = adam_ref(0.01, 0.9, 0.999, 1e-8, true, 0.0);
    close(
        &out[0].1.to_vec::<f32>().unwrap(),
        &want[0],
        2e-3,
        2e-3,
        "Adam bc fp16",
    );
}
