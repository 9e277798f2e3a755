//! `ConvTranspose1d/2d/3d` and `Conv3d`: forward against a naive scatter loop written here,
//! gradients against finite differences (f64), MLX's initial draws and reprs, and errors.

use crate::fd::{check_grad, vals, Rng};
use rmlx_core::{self as mx, Array, Dtype};
use rmlx_nn::{Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d};

/// Transposed convolution by its definition: every input element scatters the kernel, scaled,
/// at `i * stride - padding + k * dilation` (2-D; a 1-D case is `H = KH = 1`).
#[allow(clippy::too_many_arguments)]
fn naive_2d(
    x: &[f64],
    (n, h, w, ci): (usize, usize, usize, usize),
    wt: &[f64],
    (co, kh, kw): (usize, usize, usize),
    stride: (usize, usize),
    pad: (usize, usize),
    dil: (usize, usize),
    out_pad: (usize, usize),
) -> (Vec<f64>, [usize; 4]) {
    let oh = (h - 1) * stride.0 + dil.0 * (kh - 1) + out_pad.0 + 1 - 2 * pad.0;
    let ow = (w - 1) * stride.1 + dil.1 * (kw - 1) + out_pad.1 + 1 - 2 * pad.1;
    let mut y = vec![0.0; n * oh * ow * co];
    for b in 0..n {
        for i in 0..h {
            for j in 0..w {
                for c in 0..ci {
                    let v = x[((b * h + i) * w + j) * ci + c];
                    for o in 0..co {
                        for a in 0..kh {
                            for e in 0..kw {
                                let p = (i * stride.0 + a * dil.0) as isize - pad.0 as isize;
                                let q = (j * stride.1 + e * dil.1) as isize - pad.1 as isize;
                                if p < 0 || q < 0 || p as usize >= oh || q as usize >= ow {
                                    continue;
                                }
                                let k = ((o * kh + a) * kw + e) * ci + c;
                                y[((b * oh + p as usize) * ow + q as usize) * co + o] += v * wt[k];
                            }
                        }
                    }
                }
            }
        }
    }
    (y, [n, oh, ow, co])
}

#[test]
fn transposed_layers_match_the_scatter_definition() {
    let mut rng = Rng::new(11);
    // (stride, padding, dilation, output_padding) per axis pair
    for &(s, p, d, op) in &[
        ((1, 1), (0, 0), (1, 1), (0, 0)),
        ((2, 3), (1, 0), (1, 2), (1, 2)),
        ((3, 2), (2, 1), (2, 1), (0, 1)),
    ] {
        let (n, h, w, ci, co, kh, kw) = (2, 3, 4, 3, 2, 3, 2);
        let x = rng.vec(n * h * w * ci, -1.0, 1.0);
        let mut layer = ConvTranspose2d::new(ci, co, (kh, kw), s, p, d, op, true).unwrap();
        layer.weight = Array::from_vec(rng.vec(co * kh * kw * ci, -1.0, 1.0), &[co, kh, kw, ci])
            .unwrap()
            .astype(Dtype::F32)
            .unwrap();
        layer.bias = Some(Array::from_slice(&[0.5f32, -0.25], &[2]).unwrap());
        let xa = Array::from_vec(x.clone(), &[n, h, w, ci])
            .unwrap()
            .astype(Dtype::F32)
            .unwrap();
        let got = layer.forward(&xa).unwrap();
        let (mut want, shape) = naive_2d(
            &x,
            (n, h, w, ci),
            &vals(&layer.weight),
            (co, kh, kw),
            s,
            p,
            d,
            op,
        );
        want.iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v += [0.5, -0.25][i % 2]);
        assert_eq!(got.shape(), &shape);
        let g = vals(&got);
        for (i, (a, b)) in g.iter().zip(&want).enumerate() {
            assert!(
                (a - b).abs() < 1e-4,
                "2-D {s:?} {p:?} {d:?} {op:?}: element {i}: {a} vs {b}"
            );
        }

        // the same numbers through the 1-D layer (height 1)
        let mut l1 = ConvTranspose1d::new(ci, co, kw, s.1, p.1, d.1, op.1, false).unwrap();
        let w1: Vec<f64> = (0..co * kw * ci).map(|_| rng.uniform(-1.0, 1.0)).collect();
        l1.weight = Array::from_vec(w1.clone(), &[co, kw, ci])
            .unwrap()
            .astype(Dtype::F32)
            .unwrap();
        let x1 = rng.vec(n * w * ci, -1.0, 1.0);
        let got = l1
            .forward(
                &Array::from_vec(x1.clone(), &[n, w, ci])
                    .unwrap()
                    .astype(Dtype::F32)
                    .unwrap(),
            )
            .unwrap();
        let (want, shape) = naive_2d(
            &x1,
            (n, 1, w, ci),
            &w1,
            (co, 1, kw),
            (1, s.1),
            (0, p.1),
            (1, d.1),
            (0, op.1),
        );
        assert_eq!(got.shape(), &[shape[0], shape[2], shape[3]]);
        for (a, b) in vals(&got).iter().zip(&want) {
            assert!((a - b).abs() < 1e-4, "1-D: {a} vs {b}");
        }
    }
}

#[test]
fn transposed_convolutions_have_finite_difference_gradients() {
    let mut rng = Rng::new(5);
    let x = rng.array(&[1, 4, 2], -1.0, 1.0);
    let w = rng.array(&[3, 3, 2], -1.0, 1.0);
    let c = rng.array(&[1, 8, 3], -1.0, 1.0);
    check_grad(
        "conv_transpose1d",
        move |p: &[Array]| {
            (&mx::conv_transpose1d(&p[0], &p[1], 2, 1, 1, 1, 1)? * &c)?.sum(None, false)
        },
        &[x, w],
        &[0, 1],
        1e-6,
    );
    let x = rng.array(&[1, 2, 3, 2], -1.0, 1.0);
    let w = rng.array(&[2, 2, 2, 2], -1.0, 1.0);
    let y = mx::conv_transpose2d(&x, &w, (2, 1), (0, 1), (1, 2), (1, 0), 1).unwrap();
    let c = rng.array(y.shape(), -1.0, 1.0);
    check_grad(
        "conv_transpose2d",
        move |p: &[Array]| {
            (&mx::conv_transpose2d(&p[0], &p[1], (2, 1), (0, 1), (1, 2), (1, 0), 1)? * &c)?
                .sum(None, false)
        },
        &[x, w],
        &[0, 1],
        1e-6,
    );
    // 3-D with output_padding on a strided axis (where MLX 0.32.4's gradient has a wrong shape)
    let x = rng.array(&[1, 2, 1, 2, 1], -1.0, 1.0);
    let w = rng.array(&[1, 2, 1, 2, 1], -1.0, 1.0);
    let y = mx::conv_transpose3d(&x, &w, (2, 1, 2), (0, 0, 1), (1, 1, 1), (1, 0, 0), 1).unwrap();
    assert_eq!(y.shape(), &[1, 5, 1, 2, 1]);
    let c = rng.array(y.shape(), -1.0, 1.0);
    check_grad(
        "conv_transpose3d",
        move |p: &[Array]| {
            (&mx::conv_transpose3d(&p[0], &p[1], (2, 1, 2), (0, 0, 1), (1, 1, 1), (1, 0, 0), 1)?
                * &c)?
                .sum(None, false)
        },
        &[x, w],
        &[0, 1],
        1e-6,
    );
}

#[test]
fn three_d_layers_shapes_init_and_reprs() {
    mx::random::seed(3);
    let l = ConvTranspose1d::new(2, 3, 2, 1, 0, 1, 0, true).unwrap();
    let first: Vec<f32> = l.weight.flatten(0, -1).unwrap().to_vec::<f32>().unwrap()[..4].to_vec();
    // MLX 0.32.4: mx.random.seed(3); nn.ConvTranspose1d(2, 3, 2).weight.flatten()[:4]
    let want = [-0.379751f32, 0.315131, 0.370222, 0.455955];
    assert!(
        first.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6),
        "{first:?}"
    );
    let reprs = [
        (
            ConvTranspose1d::new(4, 2, 3, 2, 1, 1, 1, true).unwrap().to_string(),
            "ConvTranspose1d(4, 2, kernel_size=3, stride=2, padding=1, dilation=1, output_padding=1, bias=True)",
        ),
        (
            ConvTranspose2d::new(3, 8, 2, 2, 0, 1, 0, false).unwrap().to_string(),
            "ConvTranspose2d(3, 8, kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=1, output_padding=(0, 0), bias=False)",
        ),
        (
            ConvTranspose2d::new(3, 8, (2, 3), (2, 1), (1, 0), (1, 2), (1, 0), true).unwrap().to_string(),
            "ConvTranspose2d(3, 8, kernel_size=(2, 3), stride=(2, 1), padding=(1, 0), dilation=(1, 2), output_padding=(1, 0), bias=True)",
        ),
        (
            ConvTranspose3d::new(2, 4, 3, 2, 1, 1, 1, true).unwrap().to_string(),
            "ConvTranspose3d(2, 4, kernel_size=(3, 3, 3), stride=(2, 2, 2), padding=(1, 1, 1), dilation=1, output_padding=(1, 1, 1), bias=True)",
        ),
        (
            Conv3d::new(2, 4, (1, 3, 3), 1, (0, 1, 1), 1, true).unwrap().to_string(),
            "Conv3d(2, 4, kernel_size=(1, 3, 3), stride=(1, 1, 1), padding=(0, 1, 1), dilation=1, bias=True)",
        ),
    ];
    for (got, want) in reprs {
        assert_eq!(got, want);
    }
    let t3 = ConvTranspose3d::new(2, 4, 3, 2, 1, 1, 1, true).unwrap();
    let y = t3
        .forward(&mx::ones(&[1, 3, 4, 5, 2], Dtype::F32).unwrap())
        .unwrap();
    assert_eq!(y.shape(), &[1, 6, 8, 10, 4]);
    // a 3-D transposed convolution of a 1-deep, 1-high volume is the 1-D one
    let mut t = ConvTranspose3d::new(2, 3, (1, 1, 2), (1, 1, 2), 0, 1, 0, false).unwrap();
    let mut t1 = ConvTranspose1d::new(2, 3, 2, 2, 0, 1, 0, false).unwrap();
    t1.weight = t.weight.reshape([3, 2, 2]).unwrap();
    t.weight = t1.weight.reshape([3, 1, 1, 2, 2]).unwrap();
    let x = mx::random::normal(&[2, 5, 2], None).unwrap();
    let a = t
        .forward(&x.reshape([2, 1, 1, 5, 2]).unwrap())
        .unwrap()
        .reshape([2, 10, 3])
        .unwrap();
    let b = t1.forward(&x).unwrap();
    let d = vals(&(&a - &b).unwrap())
        .iter()
        .fold(0f64, |m, v| m.max(v.abs()));
    assert!(d < 1e-6);
    let c3 = Conv3d::new(2, 4, 3, 1, 1, 1, true).unwrap();
    assert_eq!(
        c3.forward(&mx::ones(&[1, 5, 6, 7, 2], Dtype::F32).unwrap())
            .unwrap()
            .shape(),
        &[1, 5, 6, 7, 4]
    );
}

#[test]
fn transposed_convolution_errors() {
    let x = mx::ones(&[1, 4, 2], Dtype::F32).unwrap();
    let w = mx::ones(&[3, 2, 2], Dtype::F32).unwrap();
    // padding beyond dilation * (kernel - 1)
    assert!(mx::conv_transpose1d(&x, &w, 1, 2, 1, 0, 1).is_err());
    assert!(mx::conv_transpose1d(&x, &w, 0, 0, 1, 0, 1).is_err());
    assert!(
        mx::conv_transpose1d(&x, &mx::ones(&[3, 2], Dtype::F32).unwrap(), 1, 0, 1, 0, 1).is_err()
    );
    assert!(mx::conv_transpose2d(&x, &w, (1, 1), (0, 0), (1, 1), (0, 0), 1).is_err());
    assert!(ConvTranspose1d::new(2, 3, 0, 1, 0, 1, 0, true).is_err());
}
