//! RNN, GRU and LSTM: parameter names/order/shapes and init draws, forward against naive f64
//! step loops written here, finite-difference gradients, hidden-state arguments, bad input.

use crate::fd;

use fd::{assert_close, check_grad, vals, Rng};
use rmlx_core::{random, Array, Dtype, Result};
use rmlx_nn::{value_and_grad, ModuleExt, Nonlinearity, GRU, LSTM, RNN};

fn sig(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `out[j] = sum_k v[k] * w[k, j]` for `w` of shape `[v.len(), cols]`.
fn vecmat(v: &[f64], w: &[f64], cols: usize) -> Vec<f64> {
    (0..cols)
        .map(|j| v.iter().enumerate().map(|(k, a)| a * w[k * cols + j]).sum())
        .collect()
}

/// The dims of a test problem: batch (0 = unbatched), length, input and hidden sizes.
#[derive(Clone, Copy)]
struct Dims {
    n: usize,
    l: usize,
    d: usize,
    h: usize,
}

impl Dims {
    fn x_shape(&self) -> Vec<usize> {
        if self.n == 0 {
            vec![self.l, self.d]
        } else {
            vec![self.n, self.l, self.d]
        }
    }
    fn h_shape(&self) -> Vec<usize> {
        if self.n == 0 {
            vec![self.h]
        } else {
            vec![self.n, self.h]
        }
    }
    fn nb(&self) -> usize {
        self.n.max(1)
    }
}

/// Naive recurrences over `x` (`[nb, l, d]` flattened) with per-sequence initial states; `step`
/// maps `(x_t, h, c)` to the new `(h, c)`. Returns all h and all c, `[nb, l, h]` flattened.
fn naive_loop(
    dm: Dims,
    x: &[f64],
    h0: &[f64],
    c0: &[f64],
    step: impl Fn(&[f64], &[f64], &[f64]) -> (Vec<f64>, Vec<f64>),
) -> (Vec<f64>, Vec<f64>) {
    let (mut hs, mut cs) = (Vec::new(), Vec::new());
    for b in 0..dm.nb() {
        let mut h = h0[b * dm.h..(b + 1) * dm.h].to_vec();
        let mut c = c0[b * dm.h..(b + 1) * dm.h].to_vec();
        for t in 0..dm.l {
            let o = (b * dm.l + t) * dm.d;
            let (h2, c2) = step(&x[o..o + dm.d], &h, &c);
            h = h2;
            c = c2;
            hs.extend_from_slice(&h);
            cs.extend_from_slice(&c);
        }
    }
    (hs, cs)
}

#[allow(clippy::too_many_arguments)]
fn naive_rnn(
    dm: Dims,
    x: &[f64],
    h0: &[f64],
    wxh: &[f64],
    whh: &[f64],
    b: &[f64],
    act: fn(f64) -> f64,
) -> Vec<f64> {
    naive_loop(dm, x, h0, h0, |xt, h, c| {
        let a = vecmat(xt, wxh, dm.h);
        let r = vecmat(h, whh, dm.h);
        let hn = (0..dm.h).map(|j| act(a[j] + r[j] + b[j])).collect();
        (hn, c.to_vec())
    })
    .0
}

#[allow(clippy::too_many_arguments)]
fn naive_gru(
    dm: Dims,
    x: &[f64],
    h0: &[f64],
    wx: &[f64],
    wh: &[f64],
    b: &[f64],
    bhn: &[f64],
) -> Vec<f64> {
    let hh = dm.h;
    naive_loop(dm, x, h0, h0, |xt, h, c| {
        let a = vecmat(xt, wx, 3 * hh);
        let r_ = vecmat(h, wh, 3 * hh);
        let mut out = vec![0.0; hh];
        for j in 0..hh {
            let r = sig(a[j] + b[j] + r_[j]);
            let z = sig(a[hh + j] + b[hh + j] + r_[hh + j]);
            let n = (a[2 * hh + j] + b[2 * hh + j] + r * (r_[2 * hh + j] + bhn[j])).tanh();
            out[j] = (1.0 - z) * n + z * h[j];
        }
        (out, c.to_vec())
    })
    .0
}

#[allow(clippy::too_many_arguments)]
fn naive_lstm(
    dm: Dims,
    x: &[f64],
    h0: &[f64],
    c0: &[f64],
    wx: &[f64],
    wh: &[f64],
    b: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let hh = dm.h;
    naive_loop(dm, x, h0, c0, |xt, h, c| {
        let a = vecmat(xt, wx, 4 * hh);
        let r = vecmat(h, wh, 4 * hh);
        let g = |k: usize| a[k] + r[k] + b[k];
        let (mut hn, mut cn) = (vec![0.0; hh], vec![0.0; hh]);
        for j in 0..hh {
            let i = sig(g(j));
            let f = sig(g(hh + j));
            let gg = g(2 * hh + j).tanh();
            let o = sig(g(3 * hh + j));
            cn[j] = f * c[j] + i * gg;
            hn[j] = o * cn[j].tanh();
        }
        (hn, cn)
    })
}

fn names(m: &dyn rmlx_nn::Module) -> Vec<(String, Vec<usize>)> {
    m.parameters()
        .flatten()
        .into_iter()
        .map(|(k, a)| (k, a.shape().to_vec()))
        .collect()
}

fn s(k: &str, shape: &[usize]) -> (String, Vec<usize>) {
    (k.to_string(), shape.to_vec())
}

#[test]
fn parameter_names_shapes_order() {
    let (d, h) = (3, 5);
    assert_eq!(
        names(&RNN::new(d, h, true).unwrap()),
        [s("Wxh", &[3, 5]), s("Whh", &[5, 5]), s("bias", &[5])]
    );
    assert_eq!(
        names(&RNN::new(d, h, false).unwrap()),
        [s("Wxh", &[3, 5]), s("Whh", &[5, 5])]
    );
    assert_eq!(
        names(&GRU::new(d, h, true).unwrap()),
        [
            s("Wx", &[3, 15]),
            s("Wh", &[5, 15]),
            s("b", &[15]),
            s("bhn", &[5])
        ]
    );
    assert_eq!(
        names(&GRU::new(d, h, false).unwrap()),
        [s("Wx", &[3, 15]), s("Wh", &[5, 15])]
    );
    assert_eq!(
        names(&LSTM::new(d, h, true).unwrap()),
        [s("Wx", &[3, 20]), s("Wh", &[5, 20]), s("bias", &[20])]
    );
    assert_eq!(
        names(&LSTM::new(d, h, false).unwrap()),
        [s("Wx", &[3, 20]), s("Wh", &[5, 20])]
    );
}

#[test]
fn init_draws_follow_the_global_key_sequence() {
    let scale = 1.0 / 5f64.sqrt();
    let draw = |shape: &[usize]| {
        vals(&random::uniform_with(-scale, scale, shape, Dtype::F32, None).unwrap())
    };
    let check = |m: &dyn rmlx_nn::Module, shapes: &[&[usize]]| {
        let got: Vec<Vec<f64>> = m
            .parameters()
            .flatten()
            .into_iter()
            .map(|(_, a)| vals(a))
            .collect();
        random::seed(7);
        let want: Vec<Vec<f64>> = shapes.iter().map(|s| draw(s)).collect();
        assert_eq!(got, want, "{}", m.class_name());
        for v in got.iter().flatten() {
            assert!(v.abs() <= scale);
        }
    };
    random::seed(7);
    let rnn = RNN::new(3, 5, true).unwrap();
    check(&rnn, &[&[3, 5], &[5, 5], &[5]]);
    random::seed(7);
    let gru = GRU::new(3, 5, true).unwrap();
    check(&gru, &[&[3, 15], &[5, 15], &[15], &[5]]);
    random::seed(7);
    let lstm = LSTM::new(3, 5, true).unwrap();
    check(&lstm, &[&[3, 20], &[5, 20], &[20]]);
    random::seed(7);
    let lstm = LSTM::new(3, 5, false).unwrap();
    check(&lstm, &[&[3, 20], &[5, 20]]);
    assert_eq!(rnn.wxh.dtype(), Dtype::F32);
}

#[test]
fn repr_and_class_names() {
    let r = RNN::new(3, 4, true).unwrap();
    assert_eq!(
        r.repr(),
        "RNN(input_dims=3, hidden_size=4, nonlinearity=tanh, bias=True)"
    );
    assert_eq!(
        GRU::new(3, 4, false).unwrap().repr(),
        "GRU(input_dims=3, hidden_size=4, bias=False)"
    );
    assert_eq!(
        LSTM::new(2, 4, true).unwrap().repr(),
        "LSTM(input_dims=2, hidden_size=4, bias=True)"
    );
}

/// f64 parameters for a layer (replacing the f32 init), and their values.
fn f64_params(rng: &mut Rng, shapes: &[&[usize]]) -> Vec<(Array, Vec<f64>)> {
    shapes
        .iter()
        .map(|s| {
            let a = rng.array(s, -0.7, 0.7);
            let v = vals(&a);
            (a, v)
        })
        .collect()
}

const CASES: [Dims; 3] = [
    Dims {
        n: 2,
        l: 3,
        d: 3,
        h: 4,
    },
    Dims {
        n: 0,
        l: 4,
        d: 2,
        h: 3,
    },
    Dims {
        n: 1,
        l: 1,
        d: 2,
        h: 2,
    },
];

#[test]
fn rnn_matches_naive_loop() {
    let mut rng = Rng::new(1);
    for dm in CASES {
        for bias in [true, false] {
            for with_h in [false, true] {
                let mut m = RNN::new(dm.d, dm.h, bias).unwrap();
                let p = f64_params(&mut rng, &[&[dm.d, dm.h], &[dm.h, dm.h], &[dm.h]]);
                m.wxh = p[0].0.clone();
                m.whh = p[1].0.clone();
                let bv = if bias {
                    m.bias = Some(p[2].0.clone());
                    p[2].1.clone()
                } else {
                    vec![0.0; dm.h]
                };
                let x = rng.array(&dm.x_shape(), -1.0, 1.0);
                let h0 = rng.array(&dm.h_shape(), -1.0, 1.0);
                let out = m.forward(&x, with_h.then_some(&h0)).unwrap();
                let mut oshape = dm.x_shape();
                *oshape.last_mut().unwrap() = dm.h;
                assert_eq!(out.shape(), &oshape[..]);
                let h0v = if with_h {
                    vals(&h0)
                } else {
                    vec![0.0; dm.nb() * dm.h]
                };
                let want = naive_rnn(dm, &vals(&x), &h0v, &p[0].1, &p[1].1, &bv, f64::tanh);
                assert_close("rnn", &vals(&out), &want, 1e-12);
            }
        }
    }
}

#[test]
fn gru_matches_naive_loop() {
    let mut rng = Rng::new(2);
    for dm in CASES {
        for bias in [true, false] {
            for with_h in [false, true] {
                let mut m = GRU::new(dm.d, dm.h, bias).unwrap();
                let h3 = 3 * dm.h;
                let p = f64_params(&mut rng, &[&[dm.d, h3], &[dm.h, h3], &[h3], &[dm.h]]);
                m.wx = p[0].0.clone();
                m.wh = p[1].0.clone();
                let (bv, bhnv) = if bias {
                    m.b = Some(p[2].0.clone());
                    m.bhn = Some(p[3].0.clone());
                    (p[2].1.clone(), p[3].1.clone())
                } else {
                    (vec![0.0; h3], vec![0.0; dm.h])
                };
                let x = rng.array(&dm.x_shape(), -1.0, 1.0);
                let h0 = rng.array(&dm.h_shape(), -1.0, 1.0);
                let out = m.forward(&x, with_h.then_some(&h0)).unwrap();
                let mut oshape = dm.x_shape();
                *oshape.last_mut().unwrap() = dm.h;
                assert_eq!(out.shape(), &oshape[..]);
                assert_eq!(out.dtype(), Dtype::F64);
                let h0v = if with_h {
                    vals(&h0)
                } else {
                    vec![0.0; dm.nb() * dm.h]
                };
                let want = naive_gru(dm, &vals(&x), &h0v, &p[0].1, &p[1].1, &bv, &bhnv);
                assert_close("gru", &vals(&out), &want, 1e-12);
            }
        }
    }
}

#[test]
fn lstm_matches_naive_loop() {
    let mut rng = Rng::new(3);
    for dm in CASES {
        for bias in [true, false] {
            for (with_h, with_c) in [(false, false), (true, false), (false, true), (true, true)] {
                let mut m = LSTM::new(dm.d, dm.h, bias).unwrap();
                let h4 = 4 * dm.h;
                let p = f64_params(&mut rng, &[&[dm.d, h4], &[dm.h, h4], &[h4]]);
                m.wx = p[0].0.clone();
                m.wh = p[1].0.clone();
                let bv = if bias {
                    m.bias = Some(p[2].0.clone());
                    p[2].1.clone()
                } else {
                    vec![0.0; h4]
                };
                let x = rng.array(&dm.x_shape(), -1.0, 1.0);
                let h0 = rng.array(&dm.h_shape(), -1.0, 1.0);
                let c0 = rng.array(&dm.h_shape(), -1.0, 1.0);
                let (hs, cs) = m
                    .forward(&x, with_h.then_some(&h0), with_c.then_some(&c0))
                    .unwrap();
                let mut oshape = dm.x_shape();
                *oshape.last_mut().unwrap() = dm.h;
                assert_eq!(hs.shape(), &oshape[..]);
                assert_eq!(cs.shape(), &oshape[..]);
                let zeros = vec![0.0; dm.nb() * dm.h];
                let h0v = if with_h { vals(&h0) } else { zeros.clone() };
                let c0v = if with_c { vals(&c0) } else { zeros };
                let (wh_, wc_) = naive_lstm(dm, &vals(&x), &h0v, &c0v, &p[0].1, &p[1].1, &bv);
                assert_close("lstm h", &vals(&hs), &wh_, 1e-12);
                assert_close("lstm c", &vals(&cs), &wc_, 1e-12);
            }
        }
    }
}

#[test]
fn unbatched_hidden_broadcasts_over_the_batch() {
    // an [H] initial state is shared by every sequence of an [N, L, D] batch
    let mut rng = Rng::new(4);
    let m = GRU::new(2, 3, true).unwrap();
    let x = rng.array(&[2, 3, 2], -1.0, 1.0).astype(Dtype::F32).unwrap();
    let h = rng.array(&[3], -1.0, 1.0).astype(Dtype::F32).unwrap();
    let hb = h
        .reshape(&[1, 3][..])
        .unwrap()
        .broadcast_to(&[2, 3])
        .unwrap();
    let a = m.forward(&x, Some(&h)).unwrap();
    let b = m.forward(&x, Some(&hb)).unwrap();
    assert_eq!(vals(&a), vals(&b));
}

#[test]
fn none_hidden_equals_zeros() {
    let mut rng = Rng::new(5);
    let x = rng.array(&[2, 4, 3], -1.0, 1.0).astype(Dtype::F32).unwrap();
    let z = Array::from_vec(vec![0.0f32; 2 * 5], &[2, 5]).unwrap();
    let rnn = RNN::new(3, 5, true).unwrap();
    assert_close(
        "rnn",
        &vals(&rnn.forward(&x, None).unwrap()),
        &vals(&rnn.forward(&x, Some(&z)).unwrap()),
        0.0,
    );
    let gru = GRU::new(3, 5, true).unwrap();
    assert_eq!(
        vals(&gru.forward(&x, None).unwrap()),
        vals(&gru.forward(&x, Some(&z)).unwrap())
    );
    let lstm = LSTM::new(3, 5, true).unwrap();
    let (h1, c1) = lstm.forward(&x, None, None).unwrap();
    let (h2, c2) = lstm.forward(&x, Some(&z), Some(&z)).unwrap();
    assert_eq!(vals(&h1), vals(&h2));
    assert_eq!(vals(&c1), vals(&c2));
    assert_eq!(h1.dtype(), Dtype::F32);
}

#[test]
fn rnn_nonlinearities() {
    let mut rng = Rng::new(6);
    let dm = CASES[0];
    let x = rng.array(&dm.x_shape(), -1.0, 1.0);
    let mut m = RNN::with_nonlinearity(dm.d, dm.h, true, Nonlinearity::Relu).unwrap();
    let p = f64_params(&mut rng, &[&[dm.d, dm.h], &[dm.h, dm.h], &[dm.h]]);
    m.wxh = p[0].0.clone();
    m.whh = p[1].0.clone();
    m.bias = Some(p[2].0.clone());
    let h0 = vec![0.0; dm.nb() * dm.h];
    let want = naive_rnn(dm, &vals(&x), &h0, &p[0].1, &p[1].1, &p[2].1, |v| {
        v.max(0.0)
    });
    assert_close(
        "relu rnn",
        &vals(&m.forward(&x, None).unwrap()),
        &want,
        1e-12,
    );
    // a custom closure
    m.nonlinearity = Nonlinearity::custom("cube", |a: &Array| &(a * a)? * a);
    assert!(m.repr().contains("nonlinearity=cube"), "{}", m.repr());
    let want = naive_rnn(dm, &vals(&x), &h0, &p[0].1, &p[1].1, &p[2].1, |v| v * v * v);
    assert_close(
        "cube rnn",
        &vals(&m.forward(&x, None).unwrap()),
        &want,
        1e-12,
    );
    let t = Nonlinearity::default()
        .apply(&Array::from_slice(&[0.5f64], &[1]).unwrap())
        .unwrap();
    assert_eq!(t.item::<f64>().unwrap(), 0.5f64.tanh());
}

fn weights_like(rng: &mut Rng, a: &Array) -> Array {
    rng.array(a.shape(), -1.0, 1.0)
}

#[test]
fn rnn_finite_difference_gradients() {
    let mut rng = Rng::new(7);
    let dm = Dims {
        n: 2,
        l: 3,
        d: 2,
        h: 3,
    };
    let base = RNN::new(dm.d, dm.h, true).unwrap();
    let inputs = vec![
        rng.array(&dm.x_shape(), -1.0, 1.0),
        rng.array(&[dm.d, dm.h], -0.7, 0.7),
        rng.array(&[dm.h, dm.h], -0.7, 0.7),
        rng.array(&[dm.h], -0.7, 0.7),
        rng.array(&dm.h_shape(), -1.0, 1.0),
    ];
    let w = weights_like(
        &mut rng,
        &base
            .forward(&inputs[0].astype(Dtype::F32).unwrap(), None)
            .unwrap(),
    );
    let f = move |p: &[Array]| -> Result<Array> {
        let mut m = base.clone();
        m.wxh = p[1].clone();
        m.whh = p[2].clone();
        m.bias = Some(p[3].clone());
        (&m.forward(&p[0], Some(&p[4]))? * &w)?.sum(None, false)
    };
    check_grad("rnn", f, &inputs, &[0, 1, 2, 3, 4], 1e-7);
}

#[test]
fn gru_finite_difference_gradients() {
    let mut rng = Rng::new(8);
    let dm = Dims {
        n: 2,
        l: 3,
        d: 2,
        h: 2,
    };
    let base = GRU::new(dm.d, dm.h, true).unwrap();
    let h3 = 3 * dm.h;
    let inputs = vec![
        rng.array(&dm.x_shape(), -1.0, 1.0),
        rng.array(&[dm.d, h3], -0.7, 0.7),
        rng.array(&[dm.h, h3], -0.7, 0.7),
        rng.array(&[h3], -0.7, 0.7),
        rng.array(&[dm.h], -0.7, 0.7),
        rng.array(&dm.h_shape(), -1.0, 1.0),
    ];
    let w = rng.array(&[dm.n, dm.l, dm.h], -1.0, 1.0);
    let f = move |p: &[Array]| -> Result<Array> {
        let mut m = base.clone();
        m.wx = p[1].clone();
        m.wh = p[2].clone();
        m.b = Some(p[3].clone());
        m.bhn = Some(p[4].clone());
        (&m.forward(&p[0], Some(&p[5]))? * &w)?.sum(None, false)
    };
    check_grad("gru", f, &inputs, &[0, 1, 2, 3, 4, 5], 1e-7);
}

#[test]
fn lstm_finite_difference_gradients() {
    let mut rng = Rng::new(9);
    let dm = Dims {
        n: 0,
        l: 3,
        d: 2,
        h: 2,
    };
    let base = LSTM::new(dm.d, dm.h, true).unwrap();
    let h4 = 4 * dm.h;
    let inputs = vec![
        rng.array(&dm.x_shape(), -1.0, 1.0),
        rng.array(&[dm.d, h4], -0.7, 0.7),
        rng.array(&[dm.h, h4], -0.7, 0.7),
        rng.array(&[h4], -0.7, 0.7),
        rng.array(&dm.h_shape(), -1.0, 1.0),
        rng.array(&dm.h_shape(), -1.0, 1.0),
    ];
    let wh = rng.array(&[dm.l, dm.h], -1.0, 1.0);
    let wc = rng.array(&[dm.l, dm.h], -1.0, 1.0);
    let f = move |p: &[Array]| -> Result<Array> {
        let mut m = base.clone();
        m.wx = p[1].clone();
        m.wh = p[2].clone();
        m.bias = Some(p[3].clone());
        let (h, c) = m.forward(&p[0], Some(&p[4]), Some(&p[5]))?;
        (&h * &wh)?.sum(None, false)? + (&c * &wc)?.sum(None, false)?
    };
    check_grad("lstm", f, &inputs, &[0, 1, 2, 3, 4, 5], 1e-7);
}

#[test]
fn nn_value_and_grad_names_the_recurrent_parameters() {
    let mut m = LSTM::new(2, 3, true).unwrap();
    let x = Array::from_vec(vec![0.25f32; 2 * 4 * 2], &[2, 4, 2]).unwrap();
    let (_, g) = value_and_grad(&mut m, |m: &LSTM| {
        Ok(vec![m.forward(&x, None, None)?.0.sum(None, false)?])
    })
    .unwrap();
    let keys: Vec<(String, Vec<usize>)> = g
        .flatten()
        .into_iter()
        .map(|(k, a)| (k, a.shape().to_vec()))
        .collect();
    assert_eq!(
        keys,
        [s("Wx", &[2, 12]), s("Wh", &[3, 12]), s("bias", &[12])]
    );
    m.freeze("Wx").unwrap();
    let (_, g) = value_and_grad(&mut m, |m: &LSTM| {
        Ok(vec![m.forward(&x, None, None)?.1.sum(None, false)?])
    })
    .unwrap();
    let keys: Vec<String> = g.flatten().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["Wh", "bias"]);
}

/// The message of an expected error.
fn err<T>(r: Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_inputs_are_errors() {
    let rnn = RNN::new(3, 4, true).unwrap();
    let gru = GRU::new(3, 4, true).unwrap();
    let lstm = LSTM::new(3, 4, true).unwrap();
    let arr =
        |shape: &[usize]| Array::from_vec(vec![0.5f32; shape.iter().product()], shape).unwrap();
    for shape in [
        &[3][..],
        &[1, 2, 2, 3][..],
        &[2, 5, 2][..],
        &[5, 4][..],
        &[2, 0, 3][..],
    ] {
        let x = arr(shape);
        let e1 = err(rnn.forward(&x, None));
        let e2 = err(gru.forward(&x, None));
        let e3 = err(lstm.forward(&x, None, None));
        assert!(e1.contains("[RNN]"), "{e1}");
        assert!(e2.contains("[GRU]"), "{e2}");
        assert!(e3.contains("[LSTM]"), "{e3}");
        assert!(e1.contains(&format!("{shape:?}")), "{e1}");
    }
    let x = arr(&[2, 5, 3]);
    for h in [arr(&[3]), arr(&[3, 4]), arr(&[2, 2, 4])] {
        let e = rnn.forward(&x, Some(&h)).err().unwrap().to_string();
        assert!(e.contains("[RNN] the initial hidden state"), "{e}");
        let e = gru.forward(&x, Some(&h)).err().unwrap().to_string();
        assert!(e.contains("[GRU] the initial hidden state"), "{e}");
        let e = lstm.forward(&x, None, Some(&h)).err().unwrap().to_string();
        assert!(e.contains("[LSTM] the initial cell state"), "{e}");
    }
    // accepted initial states: [H], [N, H], [1, H]
    for h in [arr(&[4]), arr(&[2, 4]), arr(&[1, 4])] {
        assert_eq!(gru.forward(&x, Some(&h)).unwrap().shape(), &[2, 5, 4]);
    }
}

use crate::support;

#[test]
fn spec_builder_makes_recurrent_layers() {
    let spec = |c: &str, bias: bool| serde_json::json!({"class": c, "args": {"input_size": 3, "hidden_size": 2, "bias": bias}});
    type Case<'a> = (&'a str, bool, &'a [(&'a str, &'a [usize])]);
    let cases: [Case; 4] = [
        (
            "RNN",
            true,
            &[("Wxh", &[3, 2]), ("Whh", &[2, 2]), ("bias", &[2])],
        ),
        (
            "GRU",
            true,
            &[("Wx", &[3, 6]), ("Wh", &[2, 6]), ("b", &[6]), ("bhn", &[2])],
        ),
        ("GRU", false, &[("Wx", &[3, 6]), ("Wh", &[2, 6])]),
        (
            "LSTM",
            true,
            &[("Wx", &[3, 8]), ("Wh", &[2, 8]), ("bias", &[8])],
        ),
    ];
    for (c, bias, want) in cases {
        let m = support::build(&spec(c, bias)).unwrap();
        assert_eq!(m.class_name(), c);
        let want: Vec<(String, Vec<usize>)> = want.iter().map(|(k, sh)| s(k, sh)).collect();
        assert_eq!(names(m.as_ref()), want);
    }
}

#[test]
fn rnn_and_gru_chain_in_sequential() {
    use rmlx_nn::{Linear, Sequential};
    let mut rng = Rng::new(10);
    let x = rng.array(&[2, 3, 4], -1.0, 1.0).astype(Dtype::F32).unwrap();
    let gru = GRU::new(4, 5, true).unwrap();
    let rnn = RNN::new(5, 3, false).unwrap();
    let lin = Linear::new(3, 2, true).unwrap();
    let want = lin
        .forward(&rnn.forward(&gru.forward(&x, None).unwrap(), None).unwrap())
        .unwrap();
    let seq = Sequential::new(vec![Box::new(gru), Box::new(rnn), Box::new(lin)]);
    let names: Vec<String> = seq
        .parameters()
        .flatten()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        names,
        [
            "layers.0.Wx",
            "layers.0.Wh",
            "layers.0.b",
            "layers.0.bhn",
            "layers.1.Wxh",
            "layers.1.Whh",
            "layers.2.weight",
            "layers.2.bias"
        ]
    );
    assert_eq!(vals(&seq.forward(&x).unwrap()), vals(&want));
    // the LSTM returns two arrays: not a single-input layer
    let seq = Sequential::new(vec![Box::new(LSTM::new(4, 2, true).unwrap())]);
    assert!(err(seq.forward(&x)).contains("LSTM"));
}
