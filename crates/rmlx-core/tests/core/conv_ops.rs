//! `conv1d` / `conv2d` / `conv3d` / `conv_general` against naive nested loops written here (f64),
//! on random shapes with strides, padding, dilations, groups, input dilation, flip, and transposed
//! or sliced (non-contiguous) inputs; dtypes; finite-difference gradients (vjp and jvp, input and
//! weight) in f64 and a second derivative; every bad argument is an `Err`.

use rmlx_core::{self as mx, s, Array, Dtype, Result, SliceArg};

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

/// One 2-D convolution's parameters (a 1-D one is H = KH = 1).
#[derive(Clone, Copy, Debug)]
struct P {
    stride: (usize, usize),
    lo: (usize, usize),
    hi: (usize, usize),
    dil: (usize, usize),
    idil: (usize, usize),
    groups: usize,
    flip: bool,
}

impl P {
    fn simple(stride: (usize, usize), pad: (usize, usize), dil: (usize, usize), g: usize) -> P {
        P {
            stride,
            lo: pad,
            hi: pad,
            dil,
            idil: (1, 1),
            groups: g,
            flip: false,
        }
    }
}

/// Naive channels-last 2-D convolution: x (N, H, W, C) row-major, w (O, KH, KW, C/g).
fn naive2d(x: &[f64], xs: [usize; 4], w: &[f64], ws: [usize; 4], p: P) -> (Vec<f64>, [usize; 4]) {
    let [n, h, wd, c] = xs;
    let [o, kh, kw, cg] = ws;
    let og = o / p.groups;
    // the virtual (dilated, padded) input
    let hv = (h.max(1) - 1) * p.idil.0 + usize::from(h > 0) + p.lo.0 + p.hi.0;
    let wv = (wd.max(1) - 1) * p.idil.1 + usize::from(wd > 0) + p.lo.1 + p.hi.1;
    let ext = |k: usize, d: usize| d * (k - 1) + 1;
    let oh = (hv - ext(kh, p.dil.0)) / p.stride.0 + 1;
    let ow = (wv - ext(kw, p.dil.1)) / p.stride.1 + 1;
    let get = |b: usize, i: usize, j: usize, ch: usize| -> f64 {
        let (i, j) = (i as isize - p.lo.0 as isize, j as isize - p.lo.1 as isize);
        if i < 0 || j < 0 {
            return 0.0;
        }
        let (i, j) = (i as usize, j as usize);
        if i % p.idil.0 != 0 || j % p.idil.1 != 0 {
            return 0.0;
        }
        let (i, j) = (i / p.idil.0, j / p.idil.1);
        if i >= h || j >= wd {
            return 0.0;
        }
        x[((b * h + i) * wd + j) * c + ch]
    };
    let mut out = vec![0.0; n * oh * ow * o];
    for b in 0..n {
        for y in 0..oh {
            for z in 0..ow {
                for oc in 0..o {
                    let g = oc / og;
                    let mut acc = 0.0;
                    for a in 0..kh {
                        for e in 0..kw {
                            let (wa, we) = if p.flip {
                                (kh - 1 - a, kw - 1 - e)
                            } else {
                                (a, e)
                            };
                            for ci in 0..cg {
                                let xv = get(
                                    b,
                                    y * p.stride.0 + a * p.dil.0,
                                    z * p.stride.1 + e * p.dil.1,
                                    g * cg + ci,
                                );
                                acc += xv * w[((oc * kh + wa) * kw + we) * cg + ci];
                            }
                        }
                    }
                    out[((b * oh + y) * ow + z) * o + oc] = acc;
                }
            }
        }
    }
    (out, [n, oh, ow, o])
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

/// The same values as a transposed view: built as (N, C, H, W) then transposed to NHWC.
fn nhwc_transposed(v: &[f64], s: [usize; 4]) -> Array {
    let [n, h, w, c] = s;
    let mut t = vec![0.0; v.len()];
    for b in 0..n {
        for i in 0..h {
            for j in 0..w {
                for ch in 0..c {
                    t[((b * c + ch) * h + i) * w + j] = v[((b * h + i) * w + j) * c + ch];
                }
            }
        }
    }
    arr(&t, &[n, c, h, w])
        .transpose_axes(&[0, 2, 3, 1])
        .unwrap()
}

#[test]
fn conv2d_matches_naive_random() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for case in 0..40 {
        let groups = [1, 1, 2, 3][rng.below(4)];
        let cg = 1 + rng.below(3);
        let og = 1 + rng.below(3);
        let (c, o) = (cg * groups, og * groups);
        let kh = 1 + rng.below(3);
        let kw = 1 + rng.below(3);
        let p = P::simple(
            (1 + rng.below(3), 1 + rng.below(3)),
            (rng.below(3), rng.below(3)),
            (1 + rng.below(2), 1 + rng.below(2)),
            groups,
        );
        let ext_h = p.dil.0 * (kh - 1) + 1;
        let ext_w = p.dil.1 * (kw - 1) + 1;
        let h = (ext_h.saturating_sub(2 * p.lo.0)).max(1) + rng.below(4);
        let w = (ext_w.saturating_sub(2 * p.lo.1)).max(1) + rng.below(4);
        let n = 1 + rng.below(2);
        let xs = [n, h, w, c];
        let ws = [o, kh, kw, cg];
        let xv = rng.vec(xs.iter().product());
        let wv = rng.vec(ws.iter().product());
        let (want, os) = naive2d(&xv, xs, &wv, ws, p);
        let x = if case % 2 == 0 {
            arr(&xv, &xs)
        } else {
            nhwc_transposed(&xv, xs)
        };
        let y = mx::conv2d(&x, &arr(&wv, &ws), p.stride, p.lo, p.dil, groups).unwrap();
        assert_eq!(y.shape(), &os, "case {case} {p:?}");
        assert_eq!(y.dtype(), Dtype::F64);
        assert_close(&y.to_vec::<f64>().unwrap(), &want, 1e-12, &format!("{p:?}"));
    }
}

#[test]
fn conv1d_matches_naive_random() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    for case in 0..40 {
        let groups = [1, 2, 4][rng.below(3)];
        let cg = 1 + rng.below(2);
        let og = 1 + rng.below(2);
        let (c, o) = (cg * groups, og * groups);
        let k = 1 + rng.below(4);
        let (stride, pad, dil) = (1 + rng.below(3), rng.below(3), 1 + rng.below(3));
        let ext = dil * (k - 1) + 1;
        let l = ext.saturating_sub(2 * pad).max(1) + rng.below(5);
        let n = 1 + rng.below(3);
        let xv = rng.vec(n * l * c);
        let wv = rng.vec(o * k * cg);
        let p = P::simple((1, stride), (0, pad), (1, dil), groups);
        let (want, os) = naive2d(&xv, [n, 1, l, c], &wv, [o, 1, k, cg], p);
        // a sliced input: every other row of a (2n, L, C) array
        let x = if case % 2 == 1 {
            let mut big = vec![0.0; 2 * n * l * c];
            for b in 0..n {
                big[2 * b * l * c..(2 * b + 1) * l * c]
                    .copy_from_slice(&xv[b * l * c..(b + 1) * l * c]);
            }
            let b = arr(&big, &[2 * n, l, c]);
            b.slice(&[SliceArg::from(..).step(2)]).unwrap()
        } else {
            arr(&xv, &[n, l, c])
        };
        let y = mx::conv1d(&x, &arr(&wv, &[o, k, cg]), stride, pad, dil, groups).unwrap();
        assert_eq!(y.shape(), &[os[0], os[2], os[3]], "case {case}");
        assert_close(&y.to_vec::<f64>().unwrap(), &want, 1e-12, &format!("{p:?}"));
    }
}

#[test]
fn conv_general_input_dilation_flip_and_asymmetric_padding() {
    let mut rng = Rng(42);
    for case in 0..12 {
        let groups = 1 + case % 2;
        let (c, o) = (2 * groups, 2 * groups);
        let p = P {
            stride: (1 + rng.below(2), 1 + rng.below(2)),
            lo: (rng.below(3), rng.below(2)),
            hi: (rng.below(2), rng.below(3)),
            dil: (1 + rng.below(2), 1),
            idil: (1 + rng.below(3), 1 + rng.below(2)),
            groups,
            flip: case % 3 != 0,
        };
        let xs = [1, 3, 4, c];
        let ws = [o, 2, 2, c / groups];
        let xv = rng.vec(xs.iter().product());
        let wv = rng.vec(ws.iter().product());
        let (want, os) = naive2d(&xv, xs, &wv, ws, p);
        let y = mx::conv_general(
            &arr(&xv, &xs),
            &arr(&wv, &ws),
            &[p.stride.0, p.stride.1],
            &[p.lo.0, p.lo.1],
            &[p.hi.0, p.hi.1],
            &[p.dil.0, p.dil.1],
            &[p.idil.0, p.idil.1],
            groups,
            p.flip,
        )
        .unwrap();
        assert_eq!(y.shape(), &os, "{p:?}");
        assert_close(&y.to_vec::<f64>().unwrap(), &want, 1e-12, &format!("{p:?}"));
    }
    // one value broadcast to all axes; empty = defaults
    let x = arr(&Rng(5).vec(2 * 5 * 5 * 3), &[2, 5, 5, 3]);
    let w = arr(&Rng(6).vec(4 * 3 * 3 * 3), &[4, 3, 3, 3]);
    let a = mx::conv_general(&x, &w, &[2], &[1], &[1], &[], &[], 1, false).unwrap();
    let b = mx::conv2d(&x, &w, (2, 2), (1, 1), (1, 1), 1).unwrap();
    assert_eq!(a.to_vec::<f64>().unwrap(), b.to_vec::<f64>().unwrap());
    assert!(mx::conv_general(&x, &w, &[1, 1, 1], &[], &[], &[], &[], 1, false).is_err());
}

#[test]
fn conv3d_matches_conv2d_with_unit_depth() {
    let mut rng = Rng(77);
    let x = rng.vec(2 * 5 * 4 * 3);
    let w = rng.vec(2 * 2 * 3 * 3);
    let x3 = arr(&x, &[2, 1, 5, 4, 3]);
    let w3 = arr(&w, &[2, 1, 2, 3, 3]);
    let y3 = mx::conv3d(&x3, &w3, (1, 2, 1), (0, 1, 1), (1, 1, 2), 1).unwrap();
    let y2 = mx::conv2d(
        &arr(&x, &[2, 5, 4, 3]),
        &arr(&w, &[2, 2, 3, 3]),
        (2, 1),
        (1, 1),
        (1, 2),
        1,
    )
    .unwrap();
    assert_eq!(y3.shape()[2..], y2.shape()[1..]);
    assert_eq!(y3.to_vec::<f64>().unwrap(), y2.to_vec::<f64>().unwrap());
}

#[test]
fn dtypes_and_promotion() {
    let mut rng = Rng(9);
    let xv = rng.vec(2 * 6 * 4);
    let wv = rng.vec(3 * 3 * 2);
    let p = P::simple((1, 2), (0, 1), (1, 1), 2);
    for (dt, tol) in [
        (Dtype::F16, 1e-2),
        (Dtype::Bf16, 5e-2),
        (Dtype::F32, 1e-5),
        (Dtype::F64, 1e-12),
    ] {
        let x = arr(&xv, &[2, 6, 4]).astype(dt).unwrap();
        let w = arr(&wv, &[3, 3, 2]).astype(dt).unwrap();
        // groups 2 needs C_out divisible by 2: use 2 output channels of the 3
        let w = w.slice(s![0..2]).unwrap();
        let y = mx::conv1d(&x, &w, 2, 1, 1, 2).unwrap();
        assert_eq!(y.dtype(), dt);
        let got = y.astype(Dtype::F64).unwrap().to_vec::<f64>().unwrap();
        let (want2, _) = naive2d(&xv, [2, 1, 6, 4], &wv[..2 * 3 * 2], [2, 1, 3, 2], p);
        assert_close(&got, &want2, tol, &format!("{dt:?}"));
    }
    // input f32, weight f64 -> f64; integer weight with float input is promoted
    let x = arr(&xv, &[2, 6, 4]).astype(Dtype::F32).unwrap();
    let w = arr(&wv[..3 * 4], &[1, 3, 4]);
    assert_eq!(mx::conv1d(&x, &w, 1, 0, 1, 1).unwrap().dtype(), Dtype::F64);
    let wi = Array::from_slice(&[1i32; 12], &[1, 3, 4]).unwrap();
    let yi = mx::conv1d(&x, &wi, 1, 0, 1, 1).unwrap();
    assert_eq!(yi.dtype(), Dtype::F32);
    // integer input is an error (MLX: floating point types only)
    let xi = Array::from_slice(&[1i32; 48], &[2, 6, 4]).unwrap();
    assert!(matches!(
        mx::conv1d(&xi, &w, 1, 0, 1, 1),
        Err(mx::Error::Dtype(_))
    ));
}

#[test]
fn empty_batch_and_single_tap() {
    let x = mx::zeros(&[0, 5, 2], Dtype::F32).unwrap();
    let w = mx::ones(&[3, 2, 2], Dtype::F32).unwrap();
    let y = mx::conv1d(&x, &w, 1, 0, 1, 1).unwrap();
    assert_eq!(y.shape(), &[0, 4, 3]);
    assert_eq!(y.to_vec::<f32>().unwrap(), Vec::<f32>::new());
    // 1x1 kernel = per-pixel matmul
    let xv: Vec<f32> = (0..12).map(|i| i as f32).collect();
    let x = Array::from_slice(&xv, &[1, 2, 2, 3]).unwrap();
    let w = Array::from_slice(&[1.0f32, 0.0, -1.0], &[1, 1, 1, 3]).unwrap();
    let y = mx::conv2d(&x, &w, (1, 1), (0, 0), (1, 1), 1).unwrap();
    assert_eq!(y.to_vec::<f32>().unwrap(), vec![-2.0; 4]);
}

fn err_msg(r: Result<Array>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(a) => panic!("expected an error, got shape {:?}", a.shape()),
    }
}

#[test]
fn bad_arguments_are_errors() {
    let x = mx::ones(&[1, 5, 4], Dtype::F32).unwrap();
    let w = mx::ones(&[2, 3, 4], Dtype::F32).unwrap();
    // ranks
    let m = err_msg(mx::conv1d(
        &mx::ones(&[5, 4], Dtype::F32).unwrap(),
        &w,
        1,
        0,
        1,
        1,
    ));
    assert!(m.contains("conv1d") && m.contains("[N, ..., C_in]"), "{m}");
    let m = err_msg(mx::conv1d(
        &x,
        &mx::ones(&[2, 4], Dtype::F32).unwrap(),
        1,
        0,
        1,
        1,
    ));
    assert!(
        m.contains("weight") && m.contains("[C_out, ..., C_in]"),
        "{m}"
    );
    let x4 = mx::ones(&[1, 5, 5, 4], Dtype::F32).unwrap();
    assert!(mx::conv2d(&x, &w, (1, 1), (0, 0), (1, 1), 1).is_err());
    assert!(mx::conv1d(&x4, &w, 1, 0, 1, 1).is_err());
    assert!(mx::conv_general(
        &mx::ones(&[3, 4], Dtype::F32).unwrap(),
        &w,
        &[],
        &[],
        &[],
        &[],
        &[],
        1,
        false
    )
    .is_err());
    // channel mismatch
    let m = err_msg(mx::conv1d(
        &x,
        &mx::ones(&[2, 3, 3], Dtype::F32).unwrap(),
        1,
        0,
        1,
        1,
    ));
    assert!(
        m.contains("input channels") && m.contains("[1, 5, 4]"),
        "{m}"
    );
    // groups: C_in not divisible, C_out not divisible, weight channels * groups != C_in, zero
    let m = err_msg(mx::conv1d(
        &x,
        &mx::ones(&[3, 3, 1], Dtype::F32).unwrap(),
        1,
        0,
        1,
        3,
    ));
    assert!(m.contains("divisible by the number of groups"), "{m}");
    let m = err_msg(mx::conv1d(
        &x,
        &mx::ones(&[3, 3, 2], Dtype::F32).unwrap(),
        1,
        0,
        1,
        2,
    ));
    assert!(m.contains("output channels"), "{m}");
    assert!(mx::conv1d(&x, &mx::ones(&[2, 3, 4], Dtype::F32).unwrap(), 1, 0, 1, 2).is_err());
    assert!(mx::conv1d(&x, &w, 1, 0, 1, 0).is_err());
    // zero stride / dilation
    assert!(mx::conv1d(&x, &w, 0, 0, 1, 1).is_err());
    assert!(mx::conv1d(&x, &w, 1, 0, 0, 1).is_err());
    let w2 = mx::ones(&[2, 2, 2, 4], Dtype::F32).unwrap();
    assert!(mx::conv2d(&x4, &w2, (1, 0), (0, 0), (1, 1), 1).is_err());
    assert!(mx::conv2d(&x4, &w2, (1, 1), (0, 0), (0, 1), 1).is_err());
    assert!(mx::conv_general(&x4, &w2, &[], &[], &[], &[], &[0], 1, false).is_err());
    // kernel larger than the padded input (also through dilation)
    let m = err_msg(mx::conv1d(
        &x,
        &mx::ones(&[2, 6, 4], Dtype::F32).unwrap(),
        1,
        0,
        1,
        1,
    ));
    assert!(m.contains("after padding"), "{m}");
    assert!(mx::conv1d(&x, &mx::ones(&[2, 6, 4], Dtype::F32).unwrap(), 1, 1, 1, 1).is_ok());
    assert!(mx::conv1d(&x, &w, 1, 0, 3, 1).is_err()); // extent 7 > 5
    assert!(mx::conv2d(
        &x4,
        &mx::ones(&[1, 1, 7, 4], Dtype::F32).unwrap(),
        (1, 1),
        (0, 0),
        (1, 1),
        1
    )
    .is_err());
    // empty kernel
    assert!(mx::conv1d(&x, &mx::ones(&[2, 0, 4], Dtype::F32).unwrap(), 1, 0, 1, 1).is_err());
    // sizes that overflow are errors, not panics
    assert!(mx::conv1d(&x, &w, 1, usize::MAX, 1, 1).is_err());
    assert!(mx::conv1d(&x, &w, 1, 0, usize::MAX, 1).is_err());
    let w2k = mx::ones(&[2, 2, 4], Dtype::F32).unwrap();
    assert!(mx::conv1d(&x, &w2k, 1, 0, usize::MAX, 1).is_err());
    assert!(mx::conv_general(&x, &w, &[], &[], &[], &[], &[usize::MAX / 2 + 1], 1, false).is_err());
    assert!(mx::conv_general(&x, &w, &[], &[], &[], &[], &[usize::MAX], 1, false).is_err());
    // non-float input
    let xb = mx::ones(&[1, 5, 4], Dtype::Bool).unwrap();
    assert!(mx::conv1d(&xb, &w, 1, 0, 1, 1).is_err());
}

/// A convolution of (input, weight) under test.
type ConvFn = Box<dyn Fn(&Array, &Array) -> Result<Array>>;

fn fd_check(name: &str, f: ConvFn, xs: &[usize], ws: &[usize], seed: u64) {
    let mut rng = Rng(seed);
    let xv = rng.vec(xs.iter().product());
    let wv = rng.vec(ws.iter().product());
    let x = arr(&xv, xs);
    let w = arr(&wv, ws);
    let y = f(&x, &w).unwrap();
    let r = arr(&rng.vec(y.size()), y.shape());
    let f = std::rc::Rc::new(f);
    let (f1, r1) = (f.clone(), r.clone());
    let loss = move |p: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![(&f1(&p[0], &p[1])? * &r1)?.sum(None, false)?])
    };
    let g = mx::grad(&loss, &[0, 1])(&[x.clone(), w.clone()]).unwrap();
    let eval = |xv: &[f64], wv: &[f64]| -> f64 {
        (&f(&arr(xv, xs), &arr(wv, ws)).unwrap() * &r)
            .unwrap()
            .sum(None, false)
            .unwrap()
            .item::<f64>()
            .unwrap()
    };
    let eps = 1e-6;
    for (which, vals) in [(0usize, &xv), (1, &wv)] {
        let gv = g[which].to_vec::<f64>().unwrap();
        assert_eq!(gv.len(), vals.len());
        for k in 0..vals.len() {
            let mut plus = vals.clone();
            let mut minus = vals.clone();
            plus[k] += eps;
            minus[k] -= eps;
            let fd = if which == 0 {
                (eval(&plus, &wv) - eval(&minus, &wv)) / (2.0 * eps)
            } else {
                (eval(&xv, &plus) - eval(&xv, &minus)) / (2.0 * eps)
            };
            assert!(
                (gv[k] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                "{name}: grad {which}[{k}]: {} vs fd {fd}",
                gv[k]
            );
        }
    }
    // jvp: directional derivative along (tx, tw) = sum(r * (conv(tx, w) + conv(x, tw)))
    let tx = arr(&rng.vec(xv.len()), xs);
    let tw = arr(&rng.vec(wv.len()), ws);
    let f2 = f.clone();
    let fwd = move |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![f2(&p[0], &p[1])?]) };
    let (_, t) = mx::jvp(&fwd, &[x.clone(), w.clone()], &[tx.clone(), tw.clone()]).unwrap();
    let want = (&f(&tx, &w).unwrap() + &f(&x, &tw).unwrap()).unwrap(); // bilinear
    assert_close(
        &t[0].to_vec::<f64>().unwrap(),
        &want.to_vec::<f64>().unwrap(),
        1e-12,
        &format!("{name} jvp"),
    );
}

#[test]
fn conv1d_gradients_match_finite_differences() {
    fd_check(
        "conv1d s2 p1 d2 g2",
        Box::new(|x, w| mx::conv1d(x, w, 2, 1, 2, 2)),
        &[2, 7, 4],
        &[4, 2, 2],
        11,
    );
    fd_check(
        "conv1d plain",
        Box::new(|x, w| mx::conv1d(x, w, 1, 0, 1, 1)),
        &[1, 5, 3],
        &[2, 3, 3],
        12,
    );
}

#[test]
fn conv2d_gradients_match_finite_differences() {
    fd_check(
        "conv2d s(2,1) p(1,0) d(1,2) g1",
        Box::new(|x, w| mx::conv2d(x, w, (2, 1), (1, 0), (1, 2), 1)),
        &[1, 4, 5, 2],
        &[3, 2, 2, 2],
        13,
    );
    fd_check(
        "conv2d depthwise",
        Box::new(|x, w| mx::conv2d(x, w, (1, 1), (1, 1), (1, 1), 2)),
        &[2, 3, 3, 2],
        &[2, 2, 2, 1],
        14,
    );
    fd_check(
        "conv_general idil flip",
        Box::new(|x, w| mx::conv_general(x, w, &[1], &[1, 0], &[0, 1], &[1], &[2, 1], 1, true)),
        &[1, 3, 3, 2],
        &[2, 2, 2, 2],
        15,
    );
}

#[test]
fn second_derivative_through_conv() {
    // L(w) = sum(conv(x, w)^2) is quadratic in w: d/dw_k of (dL/dw)_j = 2 sum_m P_mk P_mj, which
    // we compare against finite differences of the first gradient.
    let mut rng = Rng(21);
    let xv = rng.vec(5 * 2);
    let wv = rng.vec(2 * 2 * 2);
    let x = arr(&xv, &[1, 5, 2]);
    let l = |p: &[Array]| -> Result<Vec<Array>> {
        let y = mx::conv1d(&p[0], &p[1], 1, 1, 1, 1)?;
        Ok(vec![(&y * &y)?.sum(None, false)?])
    };
    let g1 = |p: &[Array]| -> Result<Vec<Array>> {
        let g = mx::grad(l, &[1])(p)?;
        Ok(vec![g[0].slice(s![0..1, 1..2, 0..1])?.sum(None, false)?])
    };
    let h = mx::grad(g1, &[1])(&[x.clone(), arr(&wv, &[2, 2, 2])]).unwrap();
    let hv = h[0].to_vec::<f64>().unwrap();
    let eps = 1e-5;
    for k in 0..wv.len() {
        let at = |d: f64| {
            let mut w = wv.clone();
            w[k] += d;
            g1(&[x.clone(), arr(&w, &[2, 2, 2])]).unwrap()[0]
                .item::<f64>()
                .unwrap()
        };
        let fd = (at(eps) - at(-eps)) / (2.0 * eps);
        assert!((hv[k] - fd).abs() < 1e-6, "h[{k}] {} vs {fd}", hv[k]);
    }
}
