//! fast::{layer_norm, rms_norm, rope, scaled_dot_product_attention} against naive f64
//! implementations, dtypes, errors, and their vjp/jvp rules by finite differences (f64).
// Tests favour plain `&[x.clone()]` argument lists and inline fn-pointer tables over helpers.

use rmlx_core::fast::{self, SdpaMask};
use rmlx_core::primitives::fast::{LayerNorm, MaskKind, RmsNorm, ScaledDotProductAttention};
use rmlx_core::primitives::Primitive;
use rmlx_core::{Array, Dtype, Error};

use crate::gauss::{arr, Rng};

fn assert_close(got: &[f64], want: &[f64], rtol: f64, atol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "{what}: element {i}: got {g}, want {w}"
        );
    }
}

fn naive_layer_norm(
    x: &[f64],
    d: usize,
    w: Option<&[f64]>,
    b: Option<&[f64]>,
    eps: f64,
) -> Vec<f64> {
    x.chunks(d)
        .flat_map(|r| {
            let m = r.iter().sum::<f64>() / d as f64;
            let v = r.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / d as f64;
            let s = 1.0 / (v + eps).sqrt();
            (0..d)
                .map(|i| (r[i] - m) * s * w.map_or(1.0, |w| w[i]) + b.map_or(0.0, |b| b[i]))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn naive_rms_norm(x: &[f64], d: usize, w: Option<&[f64]>, eps: f64) -> Vec<f64> {
    x.chunks(d)
        .flat_map(|r| {
            let ms = r.iter().map(|x| x * x).sum::<f64>() / d as f64;
            let s = 1.0 / (ms + eps).sqrt();
            (0..d)
                .map(|i| r[i] * s * w.map_or(1.0, |w| w[i]))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn naive_rope(
    x: &[f64],
    seq: usize,
    d: usize,
    dims: usize,
    trad: bool,
    base: f64,
    scale: f64,
    off: i64,
) -> Vec<f64> {
    let mut out = x.to_vec();
    let half = dims / 2;
    for (r, row) in x.chunks(d).enumerate() {
        let pos = ((r % seq) as i64 + off) as f64 * scale;
        for i in 0..half {
            let th = pos * base.powf(-2.0 * i as f64 / dims as f64);
            let (a, b) = if trad {
                (2 * i, 2 * i + 1)
            } else {
                (i, i + half)
            };
            out[r * d + a] = row[a] * th.cos() - row[b] * th.sin();
            out[r * d + b] = row[a] * th.sin() + row[b] * th.cos();
        }
    }
    out
}

/// Mask for the naive attention: additive value or keep flag per (b, h, i, j).
enum NaiveMask<'a> {
    None,
    Add(&'a dyn Fn(usize, usize, usize, usize) -> f64),
    Keep(&'a dyn Fn(usize, usize, usize, usize) -> bool),
    Causal,
}

#[allow(clippy::too_many_arguments)]
fn naive_sdpa(
    q: &[f64],
    k: &[f64],
    v: &[f64],
    (b, h, lq, lk, d, dv): (usize, usize, usize, usize, usize, usize),
    scale: f64,
    mask: &NaiveMask,
) -> Vec<f64> {
    let mut out = vec![0.0; b * h * lq * dv];
    for bb in 0..b {
        for hh in 0..h {
            let bh = bb * h + hh;
            for i in 0..lq {
                let mut s: Vec<f64> = (0..lk)
                    .map(|j| {
                        let dotp: f64 = (0..d)
                            .map(|p| q[(bh * lq + i) * d + p] * k[(bh * lk + j) * d + p])
                            .sum();
                        let mut x = dotp * scale;
                        match mask {
                            NaiveMask::None => {}
                            NaiveMask::Add(f) => x += f(bb, hh, i, j),
                            NaiveMask::Keep(f) => {
                                if !f(bb, hh, i, j) {
                                    x = f64::NEG_INFINITY
                                }
                            }
                            NaiveMask::Causal => {
                                if j as isize > i as isize + lk as isize - lq as isize {
                                    x = f64::NEG_INFINITY
                                }
                            }
                        }
                        x
                    })
                    .collect();
                let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = s
                    .iter_mut()
                    .map(|x| {
                        *x = (*x - m).exp();
                        *x
                    })
                    .sum();
                for e in 0..dv {
                    out[(bh * lq + i) * dv + e] =
                        (0..lk).map(|j| s[j] / z * v[(bh * lk + j) * dv + e]).sum();
                }
            }
        }
    }
    out
}

#[test]
fn layer_norm_matches_naive_for_every_float_dtype() {
    let mut r = Rng(1);
    let (rows, d) = (37, 19);
    let x = r.vec(rows * d);
    let w = r.vec(d);
    let b = r.vec(d);
    for (dtype, tol) in [
        (Dtype::F64, 1e-12),
        (Dtype::F32, 1e-5),
        (Dtype::F16, 2e-2),
        (Dtype::Bf16, 8e-2),
    ] {
        let xa = arr(&x, &[rows, d], dtype);
        let (wa, ba) = (arr(&w, &[d], dtype), arr(&b, &[d], dtype));
        let xq = xa.to_vec::<f64>().unwrap();
        let (wq, bq) = (wa.to_vec::<f64>().unwrap(), ba.to_vec::<f64>().unwrap());
        for (wo, bo) in [(true, true), (true, false), (false, true), (false, false)] {
            let y = fast::layer_norm(&xa, wo.then_some(&wa), bo.then_some(&ba), 1e-5).unwrap();
            assert_eq!(y.dtype(), dtype);
            let want = naive_layer_norm(&xq, d, wo.then_some(&wq[..]), bo.then_some(&bq[..]), 1e-5);
            assert_close(
                &y.to_vec::<f64>().unwrap(),
                &want,
                tol,
                tol * 4.0,
                &format!("layer_norm {dtype} {wo} {bo}"),
            );
        }
        let y = fast::rms_norm(&xa, Some(&wa), 1e-5).unwrap();
        let want = naive_rms_norm(&xq, d, Some(&wq), 1e-5);
        assert_close(
            &y.to_vec::<f64>().unwrap(),
            &want,
            tol,
            tol * 4.0,
            &format!("rms_norm {dtype}"),
        );
    }
}

#[test]
fn norms_on_large_and_strided_inputs() {
    // enough rows for the parallel path, and a transposed (non-contiguous) input
    let mut r = Rng(2);
    let (rows, d) = (300, 256);
    let x = r.vec(rows * d);
    let xa = arr(&x, &[rows, d], Dtype::F32);
    let y = fast::layer_norm(&xa, None, None, 1e-5).unwrap();
    assert_close(
        &y.to_vec::<f64>().unwrap(),
        &naive_layer_norm(&x, d, None, None, 1e-5),
        1e-5,
        1e-5,
        "ln large",
    );
    let xt = arr(&x, &[d, rows], Dtype::F64).t().unwrap();
    let xtv = xt.to_vec::<f64>().unwrap();
    let y = fast::rms_norm(&xt, None, 1e-6).unwrap();
    assert_close(
        &y.to_vec::<f64>().unwrap(),
        &naive_rms_norm(&xtv, d, None, 1e-6),
        1e-12,
        1e-12,
        "rms strided",
    );
}

#[test]
fn rope_matches_naive() {
    let mut r = Rng(3);
    let (b, seq, d) = (2, 5, 8);
    let x = r.vec(b * seq * d);
    for (dims, trad, base, scale, off) in [
        (8, false, 10000.0, 1.0, 0),
        (8, true, 10000.0, 1.0, 3),
        (4, false, 500.0, 0.5, 2),
        (6, true, 10.0, 2.0, -1),
    ] {
        let xa = arr(&x, &[b, seq, d], Dtype::F64);
        let y = fast::rope(&xa, dims, trad, base, scale, off).unwrap();
        let want = naive_rope(&x, seq, d, dims, trad, base, scale, off);
        assert_close(&y.to_vec::<f64>().unwrap(), &want, 1e-12, 1e-12, "rope");
        let y32 = fast::rope(
            &xa.astype(Dtype::F32).unwrap(),
            dims,
            trad,
            base,
            scale,
            off,
        )
        .unwrap();
        assert_close(&y32.to_vec::<f64>().unwrap(), &want, 1e-4, 1e-4, "rope f32");
    }
    let bad = arr(&x, &[b, seq, d], Dtype::F32);
    assert!(matches!(
        fast::rope(&bad, 10, false, 1e4, 1.0, 0).err().unwrap(),
        Error::Value(_)
    ));
    assert!(matches!(
        fast::rope(&bad, 3, false, 1e4, 1.0, 0).err().unwrap(),
        Error::Value(_)
    ));
}

#[test]
fn sdpa_matches_naive_with_every_mask() {
    let mut r = Rng(4);
    let (b, h, lq, lk, d, dv) = (2, 3, 5, 7, 8, 6);
    let q = r.vec(b * h * lq * d);
    let k = r.vec(b * h * lk * d);
    let v = r.vec(b * h * lk * dv);
    let madd = r.vec(lq * lk);
    let dims = (b, h, lq, lk, d, dv);
    let scale = 0.37;
    for dtype in [Dtype::F64, Dtype::F32, Dtype::F16, Dtype::Bf16] {
        let tol = match dtype {
            Dtype::F64 => 1e-12,
            Dtype::F32 => 1e-5,
            Dtype::F16 => 2e-2,
            _ => 8e-2,
        };
        let qa = arr(&q, &[b, h, lq, d], dtype);
        let ka = arr(&k, &[b, h, lk, d], dtype);
        let va = arr(&v, &[b, h, lk, dv], dtype);
        let (qq, kq, vq) = (
            qa.to_vec::<f64>().unwrap(),
            ka.to_vec::<f64>().unwrap(),
            va.to_vec::<f64>().unwrap(),
        );
        let run = |m: SdpaMask| {
            fast::scaled_dot_product_attention(&qa, &ka, &va, scale, m)
                .unwrap()
                .to_vec::<f64>()
                .unwrap()
        };
        assert_close(
            &run(SdpaMask::None),
            &naive_sdpa(&qq, &kq, &vq, dims, scale, &NaiveMask::None),
            tol,
            tol,
            "no mask",
        );
        assert_close(
            &run(SdpaMask::Causal),
            &naive_sdpa(&qq, &kq, &vq, dims, scale, &NaiveMask::Causal),
            tol,
            tol,
            "causal",
        );
        let ma = arr(&madd, &[lq, lk], dtype);
        let mq = ma.to_vec::<f64>().unwrap();
        let add = |_: usize, _: usize, i: usize, j: usize| mq[i * lk + j];
        assert_close(
            &run(SdpaMask::Array(&ma)),
            &naive_sdpa(&qq, &kq, &vq, dims, scale, &NaiveMask::Add(&add)),
            tol,
            tol,
            "additive",
        );
        // a bool mask broadcast over batch and varying per head: [1, H, Lq, Lk]
        let keep_fn =
            |_: usize, hh: usize, i: usize, j: usize| !(i + j + hh).is_multiple_of(3) || j == 0;
        let kb: Vec<bool> = (0..h * lq * lk)
            .map(|t| keep_fn(0, t / (lq * lk), (t / lk) % lq, t % lk))
            .collect();
        let mb = Array::from_bools(&kb, &[1, h, lq, lk]).unwrap();
        assert_close(
            &run(SdpaMask::Array(&mb)),
            &naive_sdpa(&qq, &kq, &vq, dims, scale, &NaiveMask::Keep(&keep_fn)),
            tol,
            tol,
            "bool",
        );
    }
}

#[test]
fn sdpa_transposed_inputs_and_grouped_heads() {
    let mut r = Rng(5);
    let (b, hq, hkv, l, d) = (1, 4, 2, 6, 4);
    let q = r.vec(b * hq * l * d);
    let k = r.vec(b * hkv * l * d);
    let v = r.vec(b * hkv * l * d);
    // q given as [B, L, H, D] transposed to [B, H, L, D] (what multi-head attention does)
    let qt = arr(&q, &[b, l, hq, d], Dtype::F64)
        .transpose_axes(&[0, 2, 1, 3])
        .unwrap();
    let qv = qt.to_vec::<f64>().unwrap();
    let ka = arr(&k, &[b, hkv, l, d], Dtype::F64);
    let va = arr(&v, &[b, hkv, l, d], Dtype::F64);
    let y = fast::scaled_dot_product_attention(&qt, &ka, &va, 0.5, SdpaMask::Causal).unwrap();
    assert_eq!(y.shape(), &[b, hq, l, d]);
    // expand k, v by hand: head h uses kv head h / 2
    let rep = |x: &[f64]| -> Vec<f64> {
        (0..hq)
            .flat_map(|hh| x[(hh / 2) * l * d..(hh / 2 + 1) * l * d].to_vec())
            .collect()
    };
    let want = naive_sdpa(
        &qv,
        &rep(&k),
        &rep(&v),
        (b, hq, l, l, d, d),
        0.5,
        &NaiveMask::Causal,
    );
    assert_close(&y.to_vec::<f64>().unwrap(), &want, 1e-12, 1e-12, "gqa");
}

#[test]
fn fast_ops_reject_bad_input() {
    let x = Array::from_slice(&[0.0f32; 12], &[3, 4]).unwrap();
    let w3 = Array::from_slice(&[1.0f32; 3], &[3]).unwrap();
    assert!(matches!(
        fast::layer_norm(&x, Some(&w3), None, 1e-5).err().unwrap(),
        Error::Shape(_)
    ));
    assert!(matches!(
        fast::rms_norm(&x, Some(&w3), 1e-5).err().unwrap(),
        Error::Shape(_)
    ));
    let xi = Array::from_slice(&[1i32; 12], &[3, 4]).unwrap();
    let e = fast::layer_norm(&xi, None, None, 1e-5).err().unwrap();
    assert!(
        matches!(e, Error::Dtype(_)) && e.to_string().contains("int32"),
        "{e}"
    );
    let q = Array::from_slice(&[0.0f32; 24], &[1, 2, 3, 4]).unwrap();
    let k3 = Array::from_slice(&[0.0f32; 24], &[1, 3, 2, 4]).unwrap();
    assert!(matches!(
        fast::scaled_dot_product_attention(&q, &k3, &k3, 1.0, SdpaMask::None)
            .err()
            .unwrap(),
        Error::Shape(_)
    ));
    assert!(fast::scaled_dot_product_attention(&x, &x, &x, 1.0, SdpaMask::None).is_err());
    let bad_mask = Array::from_slice(&[0.0f32; 5], &[5]).unwrap();
    assert!(
        fast::scaled_dot_product_attention(&q, &q, &q, 1.0, SdpaMask::Array(&bad_mask)).is_err()
    );
    let int_mask = Array::from_slice(&[0i32; 9], &[3, 3]).unwrap();
    assert!(matches!(
        fast::scaled_dot_product_attention(&q, &q, &q, 1.0, SdpaMask::Array(&int_mask))
            .err()
            .unwrap(),
        Error::Dtype(_)
    ));
}

fn dot(y: &Array, cot: &Array) -> f64 {
    y.to_vec::<f64>()
        .unwrap()
        .iter()
        .zip(cot.to_vec::<f64>().unwrap())
        .map(|(a, b)| a * b)
        .sum()
}

fn fd_grad(f: &dyn Fn(&[Array]) -> Array, primals: &[Array], cot: &Array, i: usize) -> Vec<f64> {
    let base = primals[i].to_vec::<f64>().unwrap();
    let shape = primals[i].shape().to_vec();
    let h = 1e-6;
    (0..base.len())
        .map(|j| {
            let mut p = primals.to_vec();
            let mut v = base.clone();
            v[j] += h;
            p[i] = Array::from_slice(&v, &shape).unwrap();
            let up = dot(&f(&p), cot);
            v[j] -= 2.0 * h;
            p[i] = Array::from_slice(&v, &shape).unwrap();
            let down = dot(&f(&p), cot);
            (up - down) / (2.0 * h)
        })
        .collect()
}

/// Checks `prim.vjp` for each argnum alone against finite differences of `f`, and `prim.jvp`
/// against the same directional derivative.
fn check_grads(
    prim: &dyn Primitive,
    f: &dyn Fn(&[Array]) -> Array,
    primals: &[Array],
    argnums: &[usize],
    r: &mut Rng,
    what: &str,
) {
    let y = f(primals);
    let cot = arr(&r.vec(y.size()), y.shape(), Dtype::F64);
    for &i in argnums {
        let g = prim.vjp(primals, &cot, &y, &[i]).unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].shape(), primals[i].shape(), "{what} vjp {i} shape");
        let want = fd_grad(f, primals, &cot, i);
        assert_close(
            &g[0].to_vec::<f64>().unwrap(),
            &want,
            1e-5,
            1e-6,
            &format!("{what} vjp {i}"),
        );
    }
    // all requested at once agrees with the singles
    let all = prim.vjp(primals, &cot, &y, argnums).unwrap();
    assert_eq!(all.len(), argnums.len());
    // jvp: <cot, J t> = <vjp(cot), t>
    let tangents: Vec<Array> = argnums
        .iter()
        .map(|&i| arr(&r.vec(primals[i].size()), primals[i].shape(), Dtype::F64))
        .collect();
    let jt = prim.jvp(primals, &tangents, argnums).unwrap();
    let lhs = dot(&jt, &cot);
    let rhs: f64 = all.iter().zip(&tangents).map(|(g, t)| dot(g, t)).sum();
    assert!(
        (lhs - rhs).abs() <= 1e-8 * (1.0 + rhs.abs()),
        "{what} jvp: {lhs} vs {rhs}"
    );
}

#[test]
fn norm_gradients_by_finite_differences() {
    let mut r = Rng(6);
    let (rows, d) = (4, 6);
    let x = arr(&r.vec(rows * d), &[2, 2, d], Dtype::F64);
    let w = arr(&r.vec(d), &[d], Dtype::F64);
    let b = arr(&r.vec(d), &[d], Dtype::F64);
    let eps = 1e-5;
    let f = |p: &[Array]| fast::layer_norm(&p[0], Some(&p[1]), Some(&p[2]), eps).unwrap();
    let prim = LayerNorm {
        eps,
        has_weight: true,
        has_bias: true,
    };
    check_grads(
        &prim,
        &f,
        &[x.clone(), w.clone(), b.clone()],
        &[0, 1, 2],
        &mut r,
        "layer_norm",
    );
    let f = |p: &[Array]| fast::layer_norm(&p[0], None, Some(&p[1]), eps).unwrap();
    let prim = LayerNorm {
        eps,
        has_weight: false,
        has_bias: true,
    };
    check_grads(
        &prim,
        &f,
        &[x.clone(), b.clone()],
        &[0, 1],
        &mut r,
        "layer_norm bias only",
    );
    let f = |p: &[Array]| fast::layer_norm(&p[0], None, None, eps).unwrap();
    let prim = LayerNorm {
        eps,
        has_weight: false,
        has_bias: false,
    };
    check_grads(&prim, &f, &[x.clone()], &[0], &mut r, "layer_norm plain");
    let f = |p: &[Array]| fast::rms_norm(&p[0], Some(&p[1]), eps).unwrap();
    let prim = RmsNorm {
        eps,
        has_weight: true,
    };
    check_grads(
        &prim,
        &f,
        &[x.clone(), w.clone()],
        &[0, 1],
        &mut r,
        "rms_norm",
    );
}

#[test]
fn rope_gradient_is_the_inverse_rotation() {
    let mut r = Rng(7);
    let x = arr(&r.vec(2 * 4 * 6), &[2, 4, 6], Dtype::F64);
    for trad in [false, true] {
        let f = |p: &[Array]| fast::rope(&p[0], 4, trad, 100.0, 0.7, 2).unwrap();
        let y = f(&[x.clone()]);
        let node_prim = rmlx_core::primitives::fast::Rope {
            params: rmlx_core::primitives::fast::RopeParams {
                dims: 4,
                traditional: trad,
                base: 100.0,
                scale: 0.7,
                offset: 2,
                inverse: false,
            },
        };
        assert_eq!(y.primitive_name(), Some("RoPE"));
        check_grads(&node_prim, &f, &[x.clone()], &[0], &mut r, "rope");
    }
}

#[test]
fn sdpa_gradients_by_finite_differences() {
    let mut r = Rng(8);
    let (b, h, lq, lk, d, dv) = (1, 2, 3, 4, 3, 2);
    let q = arr(&r.vec(b * h * lq * d), &[b, h, lq, d], Dtype::F64);
    let k = arr(&r.vec(b * h * lk * d), &[b, h, lk, d], Dtype::F64);
    let v = arr(&r.vec(b * h * lk * dv), &[b, h, lk, dv], Dtype::F64);
    let scale = 0.6;
    let prim = |m| ScaledDotProductAttention { scale, mask: m };
    let p3 = [q.clone(), k.clone(), v.clone()];
    let f = |p: &[Array]| {
        fast::scaled_dot_product_attention(&p[0], &p[1], &p[2], scale, SdpaMask::None).unwrap()
    };
    check_grads(&prim(MaskKind::None), &f, &p3, &[0, 1, 2], &mut r, "sdpa");
    let f = |p: &[Array]| {
        fast::scaled_dot_product_attention(&p[0], &p[1], &p[2], scale, SdpaMask::Causal).unwrap()
    };
    check_grads(
        &prim(MaskKind::Causal),
        &f,
        &p3,
        &[0, 1, 2],
        &mut r,
        "sdpa causal",
    );
    // additive mask (also differentiable), given already broadcast as the primitive sees it
    let m = arr(&r.vec(b * h * lq * lk), &[b, h, lq, lk], Dtype::F64);
    let f = |p: &[Array]| {
        fast::scaled_dot_product_attention(&p[0], &p[1], &p[2], scale, SdpaMask::Array(&p[3]))
            .unwrap()
    };
    check_grads(
        &prim(MaskKind::Additive),
        &f,
        &[q.clone(), k.clone(), v.clone(), m],
        &[0, 1, 2, 3],
        &mut r,
        "sdpa additive",
    );
    // bool mask: gradients for q, k, v
    let keep: Vec<bool> = (0..b * h * lq * lk).map(|t| t % 3 != 1).collect();
    let mb = Array::from_bools(&keep, &[b, h, lq, lk]).unwrap();
    let f = |p: &[Array]| {
        fast::scaled_dot_product_attention(&p[0], &p[1], &p[2], scale, SdpaMask::Array(&mb))
            .unwrap()
    };
    check_grads(
        &prim(MaskKind::Keep),
        &f,
        &[q, k, v, mb.clone()],
        &[0, 1, 2],
        &mut r,
        "sdpa bool",
    );
}
