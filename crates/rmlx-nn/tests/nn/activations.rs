//! Every activation, in function and module form: values against closed forms computed here in
//! f64, gradients against central differences, the module forms against the functions, and the
//! bad-input errors.

use crate::fd;

use fd::{assert_close, check_grad, vals, Rng};
use rmlx_core::{Array, Result};
use rmlx_nn::activations as act;
use rmlx_nn::{forward_dyn, Module, ModuleExt};

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

fn erf(x: f64) -> f64 {
    // Abramowitz–Stegun 7.1.26 is too coarse; integrate the series instead (|x| <= 4 here)
    let mut sum = 0.0f64;
    let mut term = x;
    let mut n = 0.0f64;
    while term.abs() > 1e-17 * sum.abs().max(1e-300) || n < 3.0 {
        sum += term / (2.0 * n + 1.0);
        n += 1.0;
        term *= -x * x / n;
        if n > 200.0 {
            break;
        }
    }
    2.0 / std::f64::consts::PI.sqrt() * sum
}

type Elementwise = (&'static str, fn(&Array) -> Result<Array>, fn(f64) -> f64);

/// `(name, function, closed form)` for the elementwise activations with default parameters.
fn elementwise() -> Vec<Elementwise> {
    vec![
        ("sigmoid", act::sigmoid, sigmoid),
        ("tanh", act::tanh, f64::tanh),
        ("relu", act::relu, |x| x.max(0.0)),
        ("relu2", act::relu2, |x| x.max(0.0).powi(2)),
        ("relu6", act::relu6, |x| x.clamp(0.0, 6.0)),
        (
            "leaky_relu",
            |x| act::leaky_relu(x, 0.01),
            |x| {
                if x > 0.0 {
                    x
                } else {
                    0.01 * x
                }
            },
        ),
        (
            "elu",
            |x| act::elu(x, 1.3),
            |x| {
                if x > 0.0 {
                    x
                } else {
                    1.3 * (x.exp() - 1.0)
                }
            },
        ),
        (
            "celu",
            |x| act::celu(x, 0.7),
            |x| x.max(0.0) + 0.7 * ((x.min(0.0) / 0.7).exp() - 1.0),
        ),
        ("selu", act::selu, |x| {
            1.0507
                * if x > 0.0 {
                    x
                } else {
                    1.67326 * (x.exp() - 1.0)
                }
        }),
        ("softplus", act::softplus, softplus),
        ("softsign", act::softsign, |x| x / (1.0 + x.abs())),
        (
            "softshrink",
            |x| act::softshrink(x, 0.5),
            |x| {
                if x > 0.5 {
                    x - 0.5
                } else if x < -0.5 {
                    x + 0.5
                } else {
                    0.0
                }
            },
        ),
        (
            "hard_shrink",
            |x| act::hard_shrink(x, 0.5),
            |x| {
                if x.abs() > 0.5 {
                    x
                } else {
                    0.0
                }
            },
        ),
        (
            "hard_tanh",
            |x| act::hard_tanh(x, -1.0, 1.0),
            |x| x.clamp(-1.0, 1.0),
        ),
        ("silu", act::silu, |x| x * sigmoid(x)),
        ("log_sigmoid", act::log_sigmoid, |x| -softplus(-x)),
        ("mish", act::mish, |x| x * softplus(x).tanh()),
        ("hardswish", act::hardswish, |x| {
            x * (x + 3.0).clamp(0.0, 6.0) / 6.0
        }),
        ("gelu", act::gelu, |x| {
            x * (1.0 + erf(x / std::f64::consts::SQRT_2)) / 2.0
        }),
        ("gelu_approx", act::gelu_approx, |x| {
            let c = (2.0 / std::f64::consts::PI).sqrt();
            0.5 * x * (1.0 + (c * (x + 0.044715 * x.powi(3))).tanh())
        }),
        ("gelu_fast_approx", act::gelu_fast_approx, |x| {
            x * sigmoid(1.702 * x)
        }),
    ]
}

/// Random values in `±[0.05, 4]`, kept away from every kink (0, ±0.5, ±1, ±3, 6).
fn smooth_input(rng: &mut Rng, n: usize) -> Vec<f64> {
    let kinks = [0.0, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0, 6.0];
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        let x = rng.uniform(-4.0, 4.0);
        if kinks.iter().all(|k| (x - k).abs() > 0.05) {
            v.push(x);
        }
    }
    v
}

#[test]
fn elementwise_values_match_closed_forms() {
    let mut rng = Rng::new(1);
    let xs = smooth_input(&mut rng, 64);
    // a transposed view, so the strided paths are exercised too
    let x = Array::from_vec(xs.clone(), &[8, 8]).unwrap().t().unwrap();
    let xt: Vec<f64> = (0..64).map(|i| xs[(i % 8) * 8 + i / 8]).collect();
    for (name, f, closed) in elementwise() {
        let y = vals(&f(&x).unwrap());
        let want: Vec<f64> = xt.iter().map(|&v| closed(v)).collect();
        assert_close(name, &y, &want, 1e-12);
        // f32 input keeps f32
        let y32 = f(&x.astype(rmlx_core::Dtype::F32).unwrap()).unwrap();
        assert_eq!(y32.dtype(), rmlx_core::Dtype::F32, "{name}");
        assert_close(&format!("{name} f32"), &vals(&y32), &want, 2e-5);
    }
}

#[test]
fn elementwise_gradients_match_finite_differences() {
    let mut rng = Rng::new(2);
    let x = Array::from_vec(smooth_input(&mut rng, 12), &[3, 4]).unwrap();
    let w = rng.array(&[3, 4], -1.0, 1.0);
    for (name, f, _) in elementwise() {
        let w = w.clone();
        check_grad(
            name,
            move |a: &[Array]| (f(&a[0])? * &w)?.sum(None, false),
            std::slice::from_ref(&x),
            &[0],
            1e-6,
        );
    }
}

#[test]
fn relu_family_gradient_at_zero_is_zero() {
    // MLX: maximum sends ties to the second argument, so relu'(0) = 0
    let x = Array::from_slice(&[0.0f64, 1.0, -1.0], &[3]).unwrap();
    let g = rmlx_core::grad(
        |a: &[Array]| Ok(vec![act::relu(&a[0])?.sum(None, false)?]),
        &[0],
    )(&[x])
    .unwrap();
    assert_eq!(vals(&g[0]), vec![0.0, 1.0, 0.0]);
}

#[test]
fn axis_activations_match_closed_forms_and_gradients() {
    let mut rng = Rng::new(3);
    let x = rng.array(&[3, 6], -3.0, 3.0);
    let xv = vals(&x);
    let rows: Vec<&[f64]> = xv.chunks(6).collect();
    // softmax, softmin, log_softmax over the last axis
    let mut sm = Vec::new();
    let mut smin = Vec::new();
    let mut lsm = Vec::new();
    for r in &rows {
        let m = r.iter().cloned().fold(f64::MIN, f64::max);
        let z: f64 = r.iter().map(|v| (v - m).exp()).sum();
        sm.extend(r.iter().map(|v| (v - m).exp() / z));
        lsm.extend(r.iter().map(|v| v - m - z.ln()));
        let mn = r.iter().cloned().fold(f64::MAX, f64::min);
        let zn: f64 = r.iter().map(|v| (mn - v).exp()).sum();
        smin.extend(r.iter().map(|v| (mn - v).exp() / zn));
    }
    assert_close("softmax", &vals(&act::softmax(&x, -1).unwrap()), &sm, 1e-12);
    assert_close(
        "softmin",
        &vals(&act::softmin(&x, -1).unwrap()),
        &smin,
        1e-12,
    );
    assert_close(
        "log_softmax",
        &vals(&act::log_softmax(&x, -1).unwrap()),
        &lsm,
        1e-12,
    );
    // glu: first half times sigmoid of the second half
    let glu: Vec<f64> = rows
        .iter()
        .flat_map(|r| (0..3).map(move |j| r[j] * sigmoid(r[j + 3])))
        .collect();
    assert_close("glu", &vals(&act::glu(&x, -1).unwrap()), &glu, 1e-12);
    let w = rng.array(&[3, 6], -1.0, 1.0);
    let w3 = rng.array(&[3, 3], -1.0, 1.0);
    type AxisFn = fn(&Array) -> Result<Array>;
    let fns: [(&str, AxisFn, &Array); 4] = [
        ("softmax", |x| act::softmax(x, -1), &w),
        ("softmin", |x| act::softmin(x, -1), &w),
        ("log_softmax", |x| act::log_softmax(x, -1), &w),
        ("glu", |x| act::glu(x, -1), &w3),
    ];
    for (name, f, w) in fns {
        let w = w.clone();
        check_grad(
            name,
            move |a: &[Array]| (f(&a[0])? * &w)?.sum(None, false),
            std::slice::from_ref(&x),
            &[0],
            1e-6,
        );
    }
}

#[test]
fn step_and_prelu() {
    let x = Array::from_slice(&[-2.0f64, -0.5, 0.0, 0.3, 4.0], &[5]).unwrap();
    let s = act::step(&x, 0.0).unwrap();
    assert_eq!(s.dtype(), rmlx_core::Dtype::I32);
    assert_eq!(s.to_vec::<i32>().unwrap(), vec![0, 0, 0, 1, 1]);
    assert_eq!(
        act::step(&x, -1.0).unwrap().to_vec::<i32>().unwrap(),
        vec![0, 1, 1, 1, 1]
    );
    // prelu with a per-channel slope, and its gradient for x and alpha
    let mut rng = Rng::new(4);
    let xs = Array::from_vec(smooth_input(&mut rng, 8), &[2, 4]).unwrap();
    let alpha = Array::from_slice(&[0.1f64, 0.2, 0.3, 0.4], &[4]).unwrap();
    let y = vals(&act::prelu(&xs, &alpha).unwrap());
    let xv = vals(&xs);
    let want: Vec<f64> = xv
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v > 0.0 {
                v
            } else {
                [0.1, 0.2, 0.3, 0.4][i % 4] * v
            }
        })
        .collect();
    assert_close("prelu", &y, &want, 1e-12);
    let w = rng.array(&[2, 4], -1.0, 1.0);
    check_grad(
        "prelu",
        move |a: &[Array]| (act::prelu(&a[0], &a[1])? * &w)?.sum(None, false),
        &[xs, alpha],
        &[0, 1],
        1e-6,
    );
}

#[test]
fn module_forms_equal_the_functions() {
    use rmlx_nn::{
        Activation, HardShrink, HardTanh, Hardswish, LeakyReLU, LogSigmoid, LogSoftmax, Mish,
        PReLU, ReLU, ReLU2, ReLU6, SiLU, Sigmoid, Softmax, Softmin, Softplus, Softshrink, Softsign,
        Step, Tanh, CELU, ELU, GELU, GLU, SELU,
    };
    let mut rng = Rng::new(5);
    let x = Array::from_vec(smooth_input(&mut rng, 24), &[4, 6]).unwrap();
    type F = fn(&Array) -> Result<Array>;
    let pairs: Vec<(Box<dyn Module>, F)> = vec![
        (Box::new(ReLU::new()), act::relu),
        (Box::new(ReLU2::new()), act::relu2),
        (Box::new(ReLU6::new()), act::relu6),
        (Box::new(SELU::new()), act::selu),
        (Box::new(Sigmoid::new()), act::sigmoid),
        (Box::new(SiLU::new()), act::silu),
        (Box::new(Tanh::new()), act::tanh),
        (Box::new(Softplus::new()), act::softplus),
        (Box::new(Softsign::new()), act::softsign),
        (Box::new(Mish::new()), act::mish),
        (Box::new(LogSigmoid::new()), act::log_sigmoid),
        (Box::new(Hardswish::new()), act::hardswish),
        (Box::new(HardTanh::new()), |x| act::hard_tanh(x, -1.0, 1.0)),
        (Box::new(LogSoftmax::new()), |x| act::log_softmax(x, -1)),
        (Box::new(Softmax::new()), |x| act::softmax(x, -1)),
        (Box::new(Softmin::new()), |x| act::softmin(x, -1)),
        (Box::new(GLU::new()), |x| act::glu(x, -1)),
        (Box::new(LeakyReLU::new(0.01)), |x| act::leaky_relu(x, 0.01)),
        (Box::new(ELU::new(1.0)), |x| act::elu(x, 1.0)),
        (Box::new(CELU::new(1.0)), |x| act::celu(x, 1.0)),
        (Box::new(Softshrink::new(0.5)), |x| act::softshrink(x, 0.5)),
        (Box::new(HardShrink::new(0.5)), |x| act::hard_shrink(x, 0.5)),
        (Box::new(Step::new(0.0)), |x| act::step(x, 0.0)),
        (Box::new(GELU::new("none").unwrap()), act::gelu),
        (Box::new(GELU::new("precise").unwrap()), act::gelu_approx),
        (Box::new(GELU::new("tanh").unwrap()), act::gelu_approx),
        (Box::new(GELU::new("fast").unwrap()), act::gelu_fast_approx),
        (Box::new(PReLU::new(1, 0.25).unwrap()), |x| {
            act::prelu(x, &Array::scalar(0.25f32))
        }),
    ];
    for (m, f) in &pairs {
        let got = vals(&forward_dyn(m.as_ref(), &x).unwrap());
        let want = vals(&f(&x).unwrap());
        assert_close(m.class_name(), &got, &want, 1e-6);
    }
    // only PReLU has a parameter
    for (m, _) in &pairs {
        let n = m.parameters().flatten().len();
        assert_eq!(
            n,
            usize::from(m.class_name() == "PReLU"),
            "{}",
            m.class_name()
        );
    }
    // the Transformer's activation enum applies the same functions
    assert_close(
        "Activation::Gelu",
        &vals(&Activation::from_name("gelu").unwrap().apply(&x).unwrap()),
        &vals(&act::gelu(&x).unwrap()),
        1e-12,
    );
}

#[test]
fn bad_input_is_an_error() {
    use rmlx_nn::GELU;
    let e = GELU::new("cubic").err().expect("unknown approximation");
    assert!(e.to_string().contains("'cubic'"), "{e}");
    let e = act::gelu_by_name(&Array::scalar(1.0f32), "erf").expect_err("unknown approximation");
    assert!(e.to_string().contains("approximation"), "{e}");
    // glu needs an even axis
    let odd = Array::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
    assert!(act::glu(&odd, -1).is_err());
    // softmax over an axis that does not exist
    assert!(act::softmax(&odd, 2).is_err());
    // prelu with a slope that does not broadcast
    let slope = Array::from_slice(&[0.1f32, 0.2], &[2]).unwrap();
    assert!(act::prelu(&odd, &slope).is_err());
}

/// Compiled, `gelu_approx`, `gelu` and `silu` each become one superinstruction of the fused
/// kernel (the constants the functions trace are the ones the kernel recognises), with the
/// numbers of the uncompiled functions, and their gradients through the compiled function are
/// the uncompiled ones.
#[test]
fn compiled_activations_are_one_fused_step_with_the_uncompiled_numbers() {
    type Act = fn(&Array) -> Result<Array>;
    let cases: [(&str, Act, &str); 3] = [
        ("gelu_approx", act::gelu_approx, "Activation(GeluTanh)"),
        ("gelu", act::gelu, "Activation(Gelu)"),
        ("silu", act::silu, "Activation(Silu)"),
    ];
    let f64s = |a: &Array| -> Vec<f64> {
        a.to_vec::<f32>()
            .unwrap()
            .iter()
            .map(|&v| v as f64)
            .collect()
    };
    let mut rng = Rng::new(11);
    let xs: Vec<f32> = smooth_input(&mut rng, 3000)
        .iter()
        .map(|&v| v as f32 * 3.0)
        .collect();
    let x = Array::from_slice(&xs, &[3, 1000]).unwrap();
    for (name, f, step) in cases {
        let compiled = rmlx_core::compile(move |p: &[Array]| Ok(vec![f(&p[0])?]));
        let got = compiled.call(std::slice::from_ref(&x)).unwrap();
        let prim = format!("{:?}", got[0].primitive().expect("a compiled node"));
        assert!(prim.contains(step), "{name}: {prim}");
        // gelu_approx's cube is x * x * x when fused and powf unfused: an ulp apart
        assert_close(name, &f64s(&got[0]), &f64s(&f(&x).unwrap()), 1e-6);
        let through_compiled = rmlx_core::grad(
            |p: &[Array]| Ok(vec![compiled.call(p)?[0].sum(None, false)?]),
            &[0],
        );
        let plain = rmlx_core::grad(|p: &[Array]| Ok(vec![f(&p[0])?.sum(None, false)?]), &[0]);
        let gc = through_compiled(std::slice::from_ref(&x)).unwrap();
        let gp = plain(std::slice::from_ref(&x)).unwrap();
        assert_close(name, &f64s(&gc[0]), &f64s(&gp[0]), 1e-5);
    }
}
