//! `Conv1d`, `Conv2d`, `MaxPool1d/2d`, `AvgPool1d/2d` against naive loops written here, their
//! gradients against finite differences (f64), init, reprs, the spec builder, and errors.

use crate::support;

use rmlx_core::tree::tree_flatten;
use rmlx_core::{self as mx, random, Array, Dtype, Result};
use rmlx_nn::{
    forward_dyn, AvgPool1d, AvgPool2d, Conv1d, Conv2d, MaxPool1d, MaxPool2d, ModuleExt, Sequential,
    Size2,
};

/// Deterministic uniform numbers in [-1, 1) (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.next()).collect()
    }
    fn below(&mut self, n: usize) -> usize {
        ((self.next() + 1.0) * 0.5 * n as f64) as usize % n
    }
}

fn arr(v: &[f64], shape: &[usize]) -> Array {
    Array::from_slice(v, shape).unwrap()
}

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}: element {i}: got {g}, want {w}"
        );
    }
}

/// Naive 2-D pooling of x (N, H, W, C): max (padding -inf) or mean (padding 0, full divisor).
fn naive_pool(
    x: &[f64],
    [n, h, w, c]: [usize; 4],
    k: (usize, usize),
    s: (usize, usize),
    p: (usize, usize),
    max: bool,
) -> (Vec<f64>, [usize; 4]) {
    let oh = (h + 2 * p.0 - k.0) / s.0 + 1;
    let ow = (w + 2 * p.1 - k.1) / s.1 + 1;
    let mut out = Vec::with_capacity(n * oh * ow * c);
    for b in 0..n {
        for i in 0..oh {
            for j in 0..ow {
                for ch in 0..c {
                    let mut acc = if max { f64::NEG_INFINITY } else { 0.0 };
                    for a in 0..k.0 {
                        for e in 0..k.1 {
                            let (y, z) = (
                                (i * s.0 + a) as isize - p.0 as isize,
                                (j * s.1 + e) as isize - p.1 as isize,
                            );
                            let v = if y < 0 || z < 0 || y as usize >= h || z as usize >= w {
                                if max {
                                    f64::NEG_INFINITY
                                } else {
                                    0.0
                                }
                            } else {
                                x[((b * h + y as usize) * w + z as usize) * c + ch]
                            };
                            acc = if max { acc.max(v) } else { acc + v };
                        }
                    }
                    out.push(if max { acc } else { acc / (k.0 * k.1) as f64 });
                }
            }
        }
    }
    (out, [n, oh, ow, c])
}

/// Naive channels-last 2-D convolution with bias.
#[allow(clippy::too_many_arguments)]
fn naive_conv(
    x: &[f64],
    [n, h, w, c]: [usize; 4],
    wt: &[f64],
    [o, kh, kw, cg]: [usize; 4],
    bias: &[f64],
    s: (usize, usize),
    p: (usize, usize),
    d: (usize, usize),
) -> (Vec<f64>, [usize; 4]) {
    let g = c / cg;
    let og = o / g;
    let oh = (h + 2 * p.0 - d.0 * (kh - 1) - 1) / s.0 + 1;
    let ow = (w + 2 * p.1 - d.1 * (kw - 1) - 1) / s.1 + 1;
    let mut out = Vec::new();
    for b in 0..n {
        for i in 0..oh {
            for j in 0..ow {
                for oc in 0..o {
                    let gi = oc / og;
                    let mut acc = bias[oc];
                    for a in 0..kh {
                        for e in 0..kw {
                            let y = (i * s.0 + a * d.0) as isize - p.0 as isize;
                            let z = (j * s.1 + e * d.1) as isize - p.1 as isize;
                            if y < 0 || z < 0 || y as usize >= h || z as usize >= w {
                                continue;
                            }
                            for ci in 0..cg {
                                acc += x
                                    [((b * h + y as usize) * w + z as usize) * c + gi * cg + ci]
                                    * wt[((oc * kh + a) * kw + e) * cg + ci];
                            }
                        }
                    }
                    out.push(acc);
                }
            }
        }
    }
    (out, [n, oh, ow, o])
}

#[test]
fn conv_layers_match_naive() {
    let mut rng = Rng(0xC0FFEE);
    for case in 0..16 {
        let groups = [1, 2][case % 2];
        let (c, o) = (2 * groups, 3 * groups);
        let (kh, kw) = (1 + rng.below(3), 1 + rng.below(3));
        let s = (1 + rng.below(2), 1 + rng.below(3));
        let p = (rng.below(2), rng.below(2));
        let d = (1 + rng.below(2), 1);
        let h = d.0 * (kh - 1) + 1 + rng.below(3);
        let w = kw + rng.below(3);
        let mut conv = Conv2d::new(c, o, (kh, kw), s, p, d, groups, true).unwrap();
        let wv = rng.vec(o * kh * kw * 2);
        let bv = rng.vec(o);
        conv.weight = arr(&wv, &[o, kh, kw, 2]);
        conv.bias = Some(arr(&bv, &[o]));
        let xv = rng.vec(2 * h * w * c);
        let (want, os) = naive_conv(&xv, [2, h, w, c], &wv, [o, kh, kw, 2], &bv, s, p, d);
        let y = conv.forward(&arr(&xv, &[2, h, w, c])).unwrap();
        assert_eq!(y.shape(), &os);
        assert_close(&y.to_vec::<f64>().unwrap(), &want, 1e-12, "Conv2d");

        // Conv1d: the same with H = 1
        let mut c1 = Conv1d::new(c, o, kw, s.1, p.1, 1, groups, case % 3 != 0).unwrap();
        let wv1 = rng.vec(o * kw * 2);
        c1.weight = arr(&wv1, &[o, kw, 2]);
        let b1 = match &c1.bias {
            Some(_) => {
                let b = rng.vec(o);
                c1.bias = Some(arr(&b, &[o]));
                b
            }
            None => vec![0.0; o],
        };
        let xv1 = rng.vec(w * c);
        let (want1, os1) = naive_conv(
            &xv1,
            [1, 1, w, c],
            &wv1,
            [o, 1, kw, 2],
            &b1,
            (1, s.1),
            (0, p.1),
            (1, 1),
        );
        let y1 = c1.forward(&arr(&xv1, &[1, w, c])).unwrap();
        assert_eq!(y1.shape(), &[1, os1[2], o]);
        assert_close(&y1.to_vec::<f64>().unwrap(), &want1, 1e-12, "Conv1d");
    }
}

#[test]
fn conv_init_shapes_scale_and_reprs() {
    random::seed(3);
    let c = Conv2d::new(6, 4, (3, 2), 1, 0, 1, 2, true).unwrap();
    assert_eq!(c.weight.shape(), &[4, 3, 2, 3]);
    let scale = (1.0f32 / (6.0 * 3.0 * 2.0)).sqrt();
    let w = c.weight.to_vec::<f32>().unwrap();
    assert!(w.iter().all(|v| v.abs() <= scale));
    assert!(w.iter().any(|v| v.abs() > scale * 0.5));
    assert_eq!(
        c.bias.as_ref().unwrap().to_vec::<f32>().unwrap(),
        vec![0.0; 4]
    );
    let names: Vec<String> = tree_flatten(&c.parameters())
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(names, vec!["weight", "bias"]);
    assert_eq!(
        c.to_string(),
        "Conv2d(6, 4, kernel_size=(3, 2), stride=(1, 1), padding=(0, 0), dilation=1, groups=2, bias=True)"
    );
    let c = Conv2d::new(1, 1, 3, (2, 1), (1, 0), (2, 2), 1, false).unwrap();
    assert_eq!(
        c.to_string(),
        "Conv2d(1, 1, kernel_size=(3, 3), stride=(2, 1), padding=(1, 0), dilation=(2, 2), groups=1, bias=False)"
    );
    assert_eq!(tree_flatten(&c.parameters()).len(), 1);
    let c = Conv1d::new(2, 3, 3, 1, 0, 1, 1, true).unwrap();
    assert_eq!(
        c.to_string(),
        "Conv1d(2, 3, kernel_size=3, stride=1, padding=0, dilation=1, groups=1, bias=True)"
    );
    let c = Conv1d::new(4, 2, 5, 2, 1, 3, 2, false).unwrap();
    assert_eq!(
        c.to_string(),
        "Conv1d(4, 2, kernel_size=5, stride=2, padding=1, dilation=3, groups=2, bias=False)"
    );
    // same seed, same draws as Linear-style uniform init: weight first
    random::seed(5);
    let a = Conv1d::new(2, 3, 3, 1, 0, 1, 1, true).unwrap();
    random::seed(5);
    let b = random::uniform_with(
        -(1.0f64 / 6.0).sqrt(),
        (1.0f64 / 6.0).sqrt(),
        &[3, 3, 2],
        Dtype::F32,
        None,
    )
    .unwrap();
    assert_eq!(
        a.weight.to_vec::<f32>().unwrap(),
        b.to_vec::<f32>().unwrap()
    );
}

#[test]
fn conv_layer_errors() {
    assert!(Conv1d::new(3, 4, 3, 1, 0, 1, 2, true).is_err()); // 3 % 2
    assert!(Conv1d::new(4, 4, 3, 1, 0, 1, 0, true).is_err());
    assert!(Conv1d::new(4, 4, 0, 1, 0, 1, 1, true).is_err());
    assert!(Conv2d::new(3, 4, (3, 0), 1, 0, 1, 1, true).is_err());
    let c = Conv2d::new(3, 4, 3, 1, 0, 1, 1, true).unwrap();
    assert!(c
        .forward(&mx::ones(&[1, 5, 5, 2], Dtype::F32).unwrap())
        .is_err());
    assert!(c
        .forward(&mx::ones(&[5, 5, 3], Dtype::F32).unwrap())
        .is_err());
    assert!(c
        .forward(&mx::ones(&[1, 2, 5, 3], Dtype::F32).unwrap())
        .is_err());
    let c = Conv1d::new(2, 4, 3, 0, 0, 1, 1, true).unwrap(); // stride 0: error at call
    assert!(c
        .forward(&mx::ones(&[1, 5, 2], Dtype::F32).unwrap())
        .is_err());
    let c = Conv1d::new(2, 3, 1, 1, 0, 1, 2, true).unwrap(); // out 3 % groups 2
    assert!(c
        .forward(&mx::ones(&[1, 5, 2], Dtype::F32).unwrap())
        .is_err());
}

#[test]
fn pools_match_naive_random() {
    let mut rng = Rng(0xF00D);
    for case in 0..40 {
        let k = (1 + rng.below(3), 1 + rng.below(3));
        let s = if case % 4 == 0 {
            None
        } else {
            Some((1 + rng.below(3), 1 + rng.below(3)))
        };
        let p = (rng.below(k.0.min(2)), rng.below(k.1.min(2)));
        let st = s.unwrap_or(k);
        let h = k.0 * (1 + rng.below(3)) + rng.below(2);
        let w = k.1 * (1 + rng.below(3)) + rng.below(2);
        let c = 1 + rng.below(3);
        let xv = rng.vec(2 * h * w * c);
        let x = if case % 2 == 0 {
            arr(&xv, &[2, h, w, c])
        } else {
            // the same values through a transposed view
            let mut t = vec![0.0; xv.len()];
            for b in 0..2 {
                for i in 0..h {
                    for j in 0..w {
                        for ch in 0..c {
                            t[((b * c + ch) * h + i) * w + j] = xv[((b * h + i) * w + j) * c + ch];
                        }
                    }
                }
            }
            arr(&t, &[2, c, h, w])
                .transpose_axes(&[0, 2, 3, 1])
                .unwrap()
        };
        let stride = s.map(Size2::from);
        for max in [true, false] {
            let (want, os) = naive_pool(&xv, [2, h, w, c], k, st, p, max);
            let y = if max {
                MaxPool2d::new(k, stride, p).unwrap().forward(&x).unwrap()
            } else {
                AvgPool2d::new(k, stride, p).unwrap().forward(&x).unwrap()
            };
            assert_eq!(y.shape(), &os, "k {k:?} s {st:?} p {p:?}");
            assert_close(
                &y.to_vec::<f64>().unwrap(),
                &want,
                1e-12,
                &format!("max {max} k {k:?} s {st:?} p {p:?}"),
            );
            // 1-D on the W axis of the first row
            let x1v: Vec<f64> = (0..w * c).map(|i| xv[i]).collect();
            let (want1, _) = naive_pool(&x1v, [1, 1, w, c], (1, k.1), (1, st.1), (0, p.1), max);
            let x1 = arr(&x1v, &[1, w, c]);
            let s1 = s.map(|s| s.1);
            let y1 = if max {
                MaxPool1d::new(k.1, s1, p.1).unwrap().forward(&x1).unwrap()
            } else {
                AvgPool1d::new(k.1, s1, p.1).unwrap().forward(&x1).unwrap()
            };
            assert_close(&y1.to_vec::<f64>().unwrap(), &want1, 1e-12, "1d");
        }
    }
}

#[test]
fn pool_dtypes() {
    let x = mx::arange(0.0, 12.0, 1.0, Dtype::F32)
        .unwrap()
        .reshape([1, 6, 2])
        .unwrap();
    for dt in [Dtype::F16, Dtype::Bf16, Dtype::F32, Dtype::F64] {
        let xd = x.astype(dt).unwrap();
        let m = MaxPool1d::new(2, None, 1).unwrap().forward(&xd).unwrap();
        assert_eq!(m.dtype(), dt);
        assert_eq!(
            m.astype(Dtype::F32).unwrap().to_vec::<f32>().unwrap(),
            vec![0.0, 1.0, 4.0, 5.0, 8.0, 9.0, 10.0, 11.0]
        );
        let a = AvgPool1d::new(3, None, 0).unwrap().forward(&xd).unwrap();
        assert_eq!(a.dtype(), dt);
        assert_eq!(
            a.astype(Dtype::F32).unwrap().to_vec::<f32>().unwrap(),
            vec![2.0, 3.0, 8.0, 9.0]
        );
    }
    // integers: max keeps the dtype, mean gives float32 (MLX's mean)
    let xi = Array::from_slice(&[3i32, -1, 7, 2], &[1, 4, 1]).unwrap();
    let m = MaxPool1d::new(2, None, 0).unwrap().forward(&xi).unwrap();
    assert_eq!(m.to_vec::<i32>().unwrap(), vec![3, 7]);
    let a = AvgPool1d::new(2, None, 0).unwrap().forward(&xi).unwrap();
    assert_eq!(a.dtype(), Dtype::F32);
    assert_eq!(a.to_vec::<f32>().unwrap(), vec![1.0, 4.5]);
}

/// Checks the gradient of sum(f(x) * r) against central differences.
fn fd_pool(name: &str, f: &dyn Fn(&Array) -> Result<Array>, shape: &[usize], seed: u64) {
    let mut rng = Rng(seed);
    let xv = rng.vec(shape.iter().product());
    let y = f(&arr(&xv, shape)).unwrap();
    let r = arr(&rng.vec(y.size()), y.shape());
    let loss =
        |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&f(&p[0])? * &r)?.sum(None, false)?]) };
    let g = mx::grad(loss, &[0])(&[arr(&xv, shape)]).unwrap()[0]
        .to_vec::<f64>()
        .unwrap();
    let eps = 1e-6;
    for k in 0..xv.len() {
        let at = |d: f64| {
            let mut v = xv.clone();
            v[k] += d;
            (&f(&arr(&v, shape)).unwrap() * &r)
                .unwrap()
                .sum(None, false)
                .unwrap()
                .item::<f64>()
                .unwrap()
        };
        let fd = (at(eps) - at(-eps)) / (2.0 * eps);
        assert!(
            (g[k] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
            "{name}: grad[{k}] {} vs fd {fd}",
            g[k]
        );
    }
}

#[test]
fn pool_gradients_match_finite_differences() {
    let m = MaxPool2d::new((2, 3), Some((1, 2).into()), (1, 1)).unwrap();
    fd_pool("MaxPool2d overlapping", &|x| m.forward(x), &[2, 4, 5, 2], 1);
    let m = MaxPool2d::new(2, None, 0).unwrap();
    fd_pool("MaxPool2d tiled", &|x| m.forward(x), &[1, 4, 4, 3], 2);
    let a = AvgPool2d::new((3, 2), Some((2, 1).into()), (1, 0)).unwrap();
    fd_pool("AvgPool2d", &|x| a.forward(x), &[2, 5, 3, 2], 3);
    let m1 = MaxPool1d::new(3, Some(2), 1).unwrap();
    fd_pool("MaxPool1d", &|x| m1.forward(x), &[2, 7, 2], 4);
    let a1 = AvgPool1d::new(2, None, 1).unwrap();
    fd_pool("AvgPool1d", &|x| a1.forward(x), &[1, 6, 3], 5);
    let c = Conv2d::new(2, 2, 2, 1, 1, 1, 1, true).unwrap();
    let c = {
        let mut c = c;
        c.weight = c.weight.astype(Dtype::F64).unwrap();
        c.bias = Some(arr(&[0.5, -0.25], &[2]));
        c
    };
    fd_pool("Conv2d layer input", &|x| c.forward(x), &[1, 3, 3, 2], 6);
}

#[test]
fn max_pool_ties_follow_core_max_vjp() {
    // one window of four equal values: the pool's gradient is core max's gradient
    let x = Array::from_slice(&[2.0f64, 2.0, 1.0, 2.0], &[1, 2, 2, 1]).unwrap();
    let pool = MaxPool2d::new(2, None, 0).unwrap();
    let gp = mx::grad(
        |p: &[Array]| Ok(vec![pool.forward(&p[0])?.sum(None, false)?]),
        &[0],
    )(std::slice::from_ref(&x))
    .unwrap();
    let gm =
        mx::grad(|p: &[Array]| Ok(vec![p[0].max(None, false)?]), &[0])(std::slice::from_ref(&x))
            .unwrap();
    assert_eq!(
        gp[0].to_vec::<f64>().unwrap(),
        gm[0].to_vec::<f64>().unwrap()
    );
    // and overlapping windows accumulate: x = [1, 3, 2], k=2 s=1 -> both windows pick 3
    let x = Array::from_slice(&[1.0f64, 3.0, 2.0], &[1, 3, 1]).unwrap();
    let pool = MaxPool1d::new(2, Some(1), 0).unwrap();
    let g = mx::grad(
        |p: &[Array]| Ok(vec![pool.forward(&p[0])?.sum(None, false)?]),
        &[0],
    )(&[x])
    .unwrap();
    assert_eq!(g[0].to_vec::<f64>().unwrap(), vec![0.0, 2.0, 0.0]);
}

#[test]
fn pool_errors_and_reprs() {
    assert!(MaxPool1d::new(0, None, 0).is_err());
    assert!(AvgPool1d::new(2, Some(0), 0).is_err());
    let e = MaxPool2d::new((2, 0), None, 0).err().unwrap().to_string();
    assert_eq!(
        e,
        "[MaxPool2d] 'kernel_size' must be positive but got (2, 0)."
    );
    assert!(AvgPool2d::new(2, Some((0, 1).into()), 0).is_err());
    let p = MaxPool2d::new(3, None, 0).unwrap();
    assert!(p.forward(&mx::ones(&[4, 4], Dtype::F32).unwrap()).is_err()); // rank < 3
    assert!(p
        .forward(&mx::ones(&[1, 4, 4], Dtype::F32).unwrap())
        .is_err()); // 1 spatial axis
    assert!(p
        .forward(&mx::ones(&[1, 2, 4, 1], Dtype::F32).unwrap())
        .is_err()); // window > input
    assert!(MaxPool2d::new(3, None, 1)
        .unwrap()
        .forward(&mx::ones(&[1, 2, 4, 1], Dtype::F32).unwrap())
        .is_ok());
    let huge = MaxPool1d::new(2, None, usize::MAX).unwrap();
    assert!(huge
        .forward(&mx::ones(&[1, 3, 2], Dtype::F32).unwrap())
        .is_err());
    let p1 = AvgPool1d::new(4, None, 0).unwrap();
    assert!(p1
        .forward(&mx::ones(&[1, 3, 2], Dtype::F32).unwrap())
        .is_err());
    assert_eq!(
        AvgPool2d::new((3, 2), Some((1, 1).into()), (1, 0))
            .unwrap()
            .to_string(),
        "AvgPool2d(kernel_size=(3, 2), stride=(1, 1), padding=(1, 0))"
    );
    assert_eq!(
        AvgPool1d::new(2, None, 0).unwrap().to_string(),
        "AvgPool1d(kernel_size=(2,), stride=(2,), padding=(0,))"
    );
    assert!(MaxPool1d::new(2, None, 0).unwrap().parameters().is_empty());
}

#[test]
fn sequential_forward_dyn_and_spec_builder() {
    random::seed(0);
    let net = Sequential::new(vec![
        Box::new(Conv2d::new(3, 4, 3, 1, 1, 1, 1, true).unwrap()),
        Box::new(MaxPool2d::new(2, None, 0).unwrap()),
        Box::new(Conv2d::new(4, 2, 1, 1, 0, 1, 2, false).unwrap()),
        Box::new(AvgPool2d::new(2, None, 0).unwrap()),
    ]);
    let x = mx::ones(&[2, 8, 8, 3], Dtype::F32).unwrap();
    assert_eq!(net.forward(&x).unwrap().shape(), &[2, 2, 2, 2]);
    let c1 = Conv1d::new(2, 2, 1, 1, 0, 1, 1, true).unwrap();
    assert_eq!(
        forward_dyn(&c1, &mx::ones(&[1, 3, 2], Dtype::F32).unwrap())
            .unwrap()
            .shape(),
        &[1, 3, 2]
    );
    let names: Vec<String> = tree_flatten(&net.parameters())
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        names,
        vec!["layers.0.weight", "layers.0.bias", "layers.2.weight"]
    );

    // the oracle spec builder knows the new classes
    let spec: serde_json::Value = serde_json::json!({
        "class": "Sequential",
        "layers": [
            {"class": "Conv2d", "args": {"in_channels": 3, "out_channels": 4, "kernel_size": [3, 1], "padding": 1, "groups": 1}},
            {"class": "MaxPool2d", "args": {"kernel_size": 2, "stride": null}},
            {"class": "AvgPool2d", "args": {"kernel_size": [1, 2], "stride": [1, 1], "padding": 0}},
            {"class": "Conv1d", "args": {"in_channels": 2, "out_channels": 2, "kernel_size": 3, "bias": false}},
            {"class": "MaxPool1d", "args": {"kernel_size": 2}},
            {"class": "AvgPool1d", "args": {"kernel_size": [2], "stride": [1]}}
        ]
    });
    let m = support::build(&spec).unwrap();
    assert_eq!(
        m.to_string().lines().nth(1).map(str::trim),
        Some("(layers.0): Conv2d(3, 4, kernel_size=(3, 1), stride=(1, 1), padding=(1, 1), dilation=1, groups=1, bias=True)")
    );
    let bad = serde_json::json!({"class": "Conv2d", "args": {"in_channels": 3, "out_channels": 4, "kernel_size": [1, 2, 3]}});
    assert!(support::build(&bad).is_err());
}

/// 3-D pooling against MLX 0.32.4 on the same draws (`mx.random.seed(0); x =
/// mx.random.normal((2, 4, 5, 6, 3))`, whose values rmlx reproduces bit for bit): the shapes, and
/// the sum and sum of squares MLX printed for each pooled result.
#[test]
fn pools_3d_match_mlx() {
    use rmlx_nn::{AvgPool3d, MaxPool3d};
    mx::random::seed(0);
    let x = mx::random::normal(&[2, 4, 5, 6, 3], None).unwrap();
    let max = MaxPool3d::new((2, 3, 2), Some((1, 2, 2).into()), (1, 1, 0)).unwrap();
    let avg = AvgPool3d::new((1, 2, 3), Some((1, 1, 2).into()), (0, 1, 1)).unwrap();
    for (y, shape, sum, sq) in [
        (
            max.forward(&x).unwrap(),
            [2, 5, 3, 3, 3],
            368.7938537597656,
            615.0930786132812,
        ),
        (
            avg.forward(&x).unwrap(),
            [2, 4, 6, 3, 3],
            5.674104690551758,
            47.3636589050293,
        ),
    ] {
        assert_eq!(y.shape(), &shape);
        let s = y.sum(None, false).unwrap().item::<f32>().unwrap() as f64;
        let q = y
            .square()
            .unwrap()
            .sum(None, false)
            .unwrap()
            .item::<f32>()
            .unwrap() as f64;
        assert!((s - sum).abs() < 1e-3 && (q - sq).abs() < 1e-3, "{s} {q}");
    }
    assert_eq!(
        avg.to_string(),
        "AvgPool3d(kernel_size=(1, 2, 3), stride=(1, 1, 2), padding=(0, 1, 1))"
    );
    assert!(MaxPool3d::new(0, None, 0).is_err());
    assert!(max
        .forward(&mx::ones(&[2, 4, 5, 3], Dtype::F32).unwrap())
        .is_err());
}
