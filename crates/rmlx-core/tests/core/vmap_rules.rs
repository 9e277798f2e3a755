//! vmap against an independent computation: for every primitive family, `vmap(f)` over a batch
//! equals `f` applied to each slice and stacked (the loop vmap must not be). In-axes at the front,
//! in the middle, at the end and negative; unmapped inputs; out-axes moved.

use crate::gauss::{arr, Rng};
use rmlx_core::fast::{self, SdpaMask};
use rmlx_core::{self as mx, random, Array, Dtype, Result};

pub(crate) type F = fn(&[Array]) -> Result<Vec<Array>>;

/// Slice `b` of `x` along `axis`, the axis removed.
fn slice_at(x: &Array, axis: usize, b: usize) -> Array {
    let idx = Array::from_slice(&[b as i32], &[1]).unwrap();
    mx::take(x, &idx, Some(axis as isize))
        .unwrap()
        .squeeze(axis as isize)
        .unwrap()
}

/// `f` run on each slice of the mapped inputs and stacked along `out_axis`.
pub(crate) fn looped(
    f: F,
    inputs: &[Array],
    in_axes: &[Option<isize>],
    out_axis: isize,
) -> Vec<Array> {
    let axes: Vec<Option<usize>> = inputs
        .iter()
        .zip(in_axes)
        .map(|(x, a)| {
            a.map(|a| {
                if a < 0 {
                    (a + x.ndim() as isize) as usize
                } else {
                    a as usize
                }
            })
        })
        .collect();
    let n = inputs
        .iter()
        .zip(&axes)
        .find_map(|(x, a)| a.map(|a| x.shape()[a]))
        .unwrap();
    let per: Vec<Vec<Array>> = (0..n)
        .map(|b| {
            let xs: Vec<Array> = inputs
                .iter()
                .zip(&axes)
                .map(|(x, a)| match a {
                    Some(a) => slice_at(x, *a, b),
                    None => x.clone(),
                })
                .collect();
            f(&xs).unwrap()
        })
        .collect();
    (0..per[0].len())
        .map(|k| {
            let parts: Vec<Array> = per.iter().map(|o| o[k].clone()).collect();
            mx::stack(&parts, out_axis).unwrap()
        })
        .collect()
}

pub(crate) fn assert_close(name: &str, got: &Array, want: &Array, tol: f64) {
    assert_eq!(got.shape(), want.shape(), "{name}: shape");
    assert_eq!(got.dtype(), want.dtype(), "{name}: dtype");
    let g = got.astype(Dtype::F64).unwrap().to_vec::<f64>().unwrap();
    let w = want.astype(Dtype::F64).unwrap().to_vec::<f64>().unwrap();
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        let ok = a == b || (a - b).abs() <= tol * (1.0 + b.abs()) || (a.is_nan() && b.is_nan());
        assert!(ok, "{name}: element {i}: vmap {a}, loop {b}");
    }
}

/// vmap(f) equals the loop, for the given axes.
pub(crate) fn check(
    name: &str,
    f: F,
    inputs: &[Array],
    in_axes: &[Option<isize>],
    out_axis: isize,
) {
    let want = looped(f, inputs, in_axes, out_axis);
    let got = mx::vmap(f, in_axes, &vec![out_axis; want.len()])(inputs)
        .unwrap_or_else(|e| panic!("{name}: vmap failed: {e}"));
    assert_eq!(got.len(), want.len(), "{name}: outputs");
    for (g, w) in got.iter().zip(&want) {
        assert_close(name, g, w, 1e-5);
    }
}

pub(crate) fn rand(rng: &mut Rng, shape: &[usize]) -> Array {
    let n = shape.iter().product();
    arr(&rng.vec(n), shape, Dtype::F32)
}

fn one(x: Result<Array>) -> Result<Vec<Array>> {
    Ok(vec![x?])
}

#[test]
fn elementwise_rules_match_the_loop() {
    let mut r = Rng(1);
    let x = rand(&mut r, &[3, 4, 5]);
    let y = rand(&mut r, &[4, 3, 5]);
    let c = rand(&mut r, &[4, 5]);
    let fs: &[(&str, F)] = &[
        ("exp", |a| one(a[0].exp())),
        ("tanh", |a| one(a[0].tanh())),
        ("abs-sign", |a| one(&a[0].abs()? * &a[0].sign()?)),
        ("astype", |a| one(a[0].astype(Dtype::F16))),
        ("stop_gradient", |a| one(a[0].stop_gradient())),
    ];
    for (name, f) in fs {
        for ax in [0, 1, 2, -1] {
            check(name, *f, &[x.clone()], &[Some(ax)], 0);
        }
        check(name, *f, &[x.clone()], &[Some(1)], -1);
    }
    let bs: &[(&str, F)] = &[
        ("add", |a| one(&a[0] + &a[1])),
        ("power", |a| one(a[0].abs()?.power(&a[1]))),
        ("maximum", |a| one(a[0].maximum(&a[1]))),
        ("greater", |a| one(a[0].greater(&a[1]))),
        ("where", |a| one(a[0].greater(&a[1])?.where_(&a[0], &a[1]))),
        ("divmod", |a| {
            let (q, r) = mx::divmod(&a[0], &(a[1].abs()? + 0.5)?)?;
            Ok(vec![q, r])
        }),
        ("scalar", |a| one(&(&a[0] * 2.0)? - &a[1])),
    ];
    for (name, f) in bs {
        // same axis, different axes, one side unmapped
        check(name, *f, &[x.clone(), x.clone()], &[Some(0), Some(0)], 0);
        check(name, *f, &[x.clone(), y.clone()], &[Some(0), Some(1)], 0);
        check(name, *f, &[y.clone(), c.clone()], &[Some(1), None], 1);
        check(name, *f, &[c.clone(), y.clone()], &[None, Some(-2)], 2);
    }
}

#[test]
fn reduction_and_scan_rules_match_the_loop() {
    let mut r = Rng(2);
    let x = rand(&mut r, &[3, 4, 5]);
    let fs: &[(&str, F)] = &[
        ("sum", |a| one(a[0].sum(-1, false))),
        ("sum-all", |a| one(a[0].sum(None, true))),
        ("prod", |a| one(a[0].prod(0, false))),
        ("max", |a| one(a[0].max([0, 1], true))),
        ("min", |a| one(a[0].min(1, false))),
        ("mean", |a| one(a[0].mean(None, false))),
        ("var", |a| one(a[0].var(-1, false, 1))),
        ("any", |a| {
            one(a[0].greater(&mx::array(0.5f32))?.any(0, false))
        }),
        ("argmax", |a| one(a[0].argmax(1, false))),
        ("argmin", |a| one(a[0].argmin(None, false))),
        ("logsumexp", |a| one(a[0].logsumexp(-1, false))),
        ("logsumexp0", |a| one(a[0].logsumexp(0, true))),
        ("softmax", |a| one(a[0].softmax(-1, false))),
        ("softmax0", |a| one(a[0].softmax(0, true))),
        ("cumsum", |a| one(a[0].cumsum(Some(1), false, true))),
        ("cumprod", |a| one(a[0].cumprod(Some(0), true, false))),
        ("cummax", |a| one(a[0].cummax(Some(-1), false, true))),
        ("logcumsumexp", |a| {
            one(mx::logcumsumexp(&a[0], Some(1), true, false))
        }),
        ("sort", |a| one(a[0].sort(-1))),
        ("argsort", |a| one(a[0].argsort(0))),
        ("partition", |a| one(a[0].partition(1, -1))),
        ("topk", |a| one(a[0].topk(2, 0))),
    ];
    for (name, f) in fs {
        for ax in [0, 1, 2] {
            check(name, *f, &[x.clone()], &[Some(ax)], 0);
        }
        check(name, *f, &[x.clone()], &[Some(-1)], -1);
    }
}

#[test]
fn shape_and_slicing_rules_match_the_loop() {
    let mut r = Rng(3);
    let x = rand(&mut r, &[3, 4, 6]);
    let u = rand(&mut r, &[3, 2, 6]);
    let fs: &[(&str, F)] = &[
        ("reshape", |a| one(a[0].reshape([2, -1]))),
        ("transpose", |a| one(a[0].t())),
        ("moveaxis", |a| one(a[0].moveaxis(0, 1))),
        ("broadcast", |a| {
            one(a[0].broadcast_to(&[2, a[0].shape()[0], a[0].shape()[1]]))
        }),
        ("expand+squeeze", |a| one(a[0].expand_dims(1)?.squeeze(1))),
        ("slice", |a| {
            one(a[0].slice(mx::s![1.., mx::SliceArg::all().step(2)]))
        }),
        ("slice-rev", |a| {
            one(a[0].slice(mx::s![mx::SliceArg::all().step(-1)]))
        }),
        ("concat", |a| {
            one(mx::concatenate(&[a[0].clone(), a[0].exp()?], 1))
        }),
        ("stack", |a| {
            one(mx::stack(&[a[0].clone(), a[0].clone()], 0))
        }),
        ("split", |a| a[0].split(2, -1)),
        ("pad", |a| one(a[0].pad(&[(1, 0), (0, 2)], 0.0f32))),
        ("tril", |a| one(a[0].tril(0))),
        ("triu", |a| one(a[0].triu(1))),
        ("repeat", |a| one(a[0].repeat(2, Some(0)))),
        ("flip", |a| one(mx::flip(&a[0], 0))),
        ("roll", |a| one(mx::roll(&a[0], 1, Some(-1)))),
        ("kron", |a| one(mx::kron(&a[0], &a[0].t()?))),
        ("nan_to_num", |a| {
            one(mx::nan_to_num(&a[0].log()?, 0.0, None, None))
        }),
    ];
    for (name, f) in fs {
        for ax in [0, 1, 2] {
            check(name, *f, &[x.clone()], &[Some(ax)], 0);
        }
        check(name, *f, &[x.clone()], &[Some(1)], 2);
    }
    let diag: F = |a| one(mx::diagonal(&a[0], 1, 0, 1));
    for ax in [0, 1, 2] {
        check("diagonal", diag, &[x.clone()], &[Some(ax)], 0);
    }
    check("diagonal", diag, &[x.clone()], &[Some(1)], 1);
    let su: F = |a| one(a[0].slice_update(&a[1], mx::s![1..3]));
    check(
        "slice_update",
        su,
        &[x.clone(), u.clone()],
        &[Some(0), Some(0)],
        0,
    );
    let u2 = rand(&mut r, &[2, 4, 6]);
    check("slice_update", su, &[x.clone(), u2], &[Some(2), Some(2)], 0);
    let u1 = rand(&mut r, &[2, 6]);
    check(
        "slice_update",
        su,
        &[x.clone(), u1.clone()],
        &[Some(1), None],
        0,
    );
    let x1 = rand(&mut r, &[4, 6]);
    check("slice_update", su, &[x1, u.clone()], &[None, Some(0)], 0);
    let cat2: F = |a| one(mx::concatenate(&[a[0].clone(), a[1].clone()], 0));
    check(
        "concat2",
        cat2,
        &[x.clone(), u.clone()],
        &[Some(0), Some(0)],
        0,
    );
    check(
        "concat2",
        cat2,
        &[x.clone(), u1.clone()],
        &[Some(1), None],
        1,
    );
}

#[test]
fn matmul_and_fast_rules_match_the_loop() {
    let mut r = Rng(4);
    let a = rand(&mut r, &[3, 4, 5]);
    let b = rand(&mut r, &[3, 5, 2]);
    let w = rand(&mut r, &[5, 2]);
    let v = rand(&mut r, &[3, 5]);
    let mm: F = |x| one(x[0].matmul(&x[1]));
    check(
        "matmul both",
        mm,
        &[a.clone(), b.clone()],
        &[Some(0), Some(0)],
        0,
    );
    check("matmul a", mm, &[a.clone(), w.clone()], &[Some(0), None], 0);
    check(
        "matmul a mid",
        mm,
        &[a.clone(), w.clone()],
        &[Some(1), None],
        1,
    );
    let a2 = rand(&mut r, &[4, 5]);
    check(
        "matmul b",
        mm,
        &[a2.clone(), b.clone()],
        &[None, Some(0)],
        0,
    );
    let bt = rand(&mut r, &[5, 2, 3]);
    check("matmul b last", mm, &[a2.clone(), bt], &[None, Some(2)], -1);
    check("matvec", mm, &[a2.clone(), v.clone()], &[None, Some(0)], 0);
    check("vecmat", mm, &[v.clone(), w.clone()], &[Some(0), None], 0);
    let bat = rand(&mut r, &[2, 3, 4, 5]);
    let wb = rand(&mut r, &[2, 5, 3]);
    check(
        "batched matmul",
        mm,
        &[bat.clone(), wb.clone()],
        &[Some(1), None],
        0,
    );
    let lin: F = |x| one(mx::addmm(&x[2], &x[0], &x[1], 0.5, 2.0));
    let bias = rand(&mut r, &[4, 2]);
    check(
        "addmm a",
        lin,
        &[a.clone(), w.clone(), bias],
        &[Some(0), None, None],
        0,
    );
    let bias = rand(&mut r, &[4, 3, 2]);
    check(
        "addmm b",
        lin,
        &[a2.clone(), b.clone(), bias],
        &[None, Some(0), Some(1)],
        0,
    );
    let bias = rand(&mut r, &[3, 4, 2]);
    check(
        "addmm all",
        lin,
        &[a.clone(), b.clone(), bias.clone()],
        &[Some(0), Some(0), Some(0)],
        0,
    );
    let row = rand(&mut r, &[2]);
    check(
        "addmm row bias",
        lin,
        &[a.clone(), w.clone(), row],
        &[Some(1), None, None],
        0,
    );

    let x = rand(&mut r, &[3, 4, 6]);
    let g = rand(&mut r, &[3, 6]);
    let ln: F = |a| one(fast::layer_norm(&a[0], Some(&a[1]), Some(&a[1]), 1e-5));
    check(
        "layer_norm",
        ln,
        &[x.clone(), g.clone()],
        &[Some(0), Some(0)],
        0,
    );
    let xt = rand(&mut r, &[4, 6, 3]);
    check("layer_norm", ln, &[xt, g.clone()], &[Some(2), Some(0)], 0);
    let g1 = rand(&mut r, &[6]);
    check(
        "layer_norm shared",
        ln,
        &[x.clone(), g1.clone()],
        &[Some(1), None],
        0,
    );
    let rms: F = |a| one(fast::rms_norm(&a[0], Some(&a[1]), 1e-5));
    let xm = rand(&mut r, &[4, 3, 6]);
    check("rms_norm", rms, &[xm, g.clone()], &[Some(1), Some(0)], 0);
    check(
        "rms_norm shared",
        rms,
        &[x.clone(), g1.clone()],
        &[Some(-3), None],
        0,
    );
    let rope: F = |a| one(fast::rope(&a[0], 4, false, 10000.0, 1.0, 2));
    check("rope", rope, &[x.clone()], &[Some(0)], 0);
    check("rope", rope, &[x.clone()], &[Some(2)], 1);

    let q = rand(&mut r, &[3, 1, 2, 4, 8]);
    let k = rand(&mut r, &[1, 2, 5, 8]);
    let attn: F = |a| {
        one(fast::scaled_dot_product_attention(
            &a[0],
            &a[1],
            &a[1],
            0.3,
            SdpaMask::None,
        ))
    };
    check("sdpa", attn, &[q.clone(), k.clone()], &[Some(0), None], 0);
    let causal: F = |a| {
        one(fast::scaled_dot_product_attention(
            &a[0],
            &a[1],
            &a[1],
            0.3,
            SdpaMask::Causal,
        ))
    };
    let kb = rand(&mut r, &[1, 2, 4, 3, 8]);
    check(
        "sdpa causal",
        causal,
        &[q.clone(), kb],
        &[Some(0), Some(3)],
        0,
    );
    let masked: F = |a| {
        one(fast::scaled_dot_product_attention(
            &a[0],
            &a[1],
            &a[1],
            0.3,
            SdpaMask::Array(&a[2]),
        ))
    };
    let m = rand(&mut r, &[3, 4, 5]);
    check(
        "sdpa mask",
        masked,
        &[q, k, m],
        &[Some(0), None, Some(0)],
        0,
    );
}

#[test]
fn indexing_rules_match_the_loop() {
    let mut r = Rng(5);
    let x = rand(&mut r, &[3, 4, 5]);
    let idx = Array::from_slice(&[2i32, -1, 0, 3, 1, 1], &[3, 2]).unwrap();
    let take1: F = |a| one(a[0].take(&a[1], Some(1)));
    check(
        "take a",
        take1,
        &[x.clone(), idx.clone()],
        &[Some(0), None],
        0,
    );
    check(
        "take idx",
        take1,
        &[x.clone(), idx.clone()],
        &[None, Some(0)],
        0,
    );
    check(
        "take idx1",
        take1,
        &[x.clone(), idx.clone()],
        &[None, Some(1)],
        0,
    );
    check(
        "take both",
        take1,
        &[x.clone(), idx.clone()],
        &[Some(0), Some(0)],
        0,
    );
    let idx_t = Array::from_slice(&[3i32, 0, -2, 1, 2, 0, 1, 1, 3, -4], &[2, 5]).unwrap();
    check(
        "take both mid",
        take1,
        &[x.clone(), idx_t],
        &[Some(2), Some(1)],
        1,
    );
    let take_flat: F = |a| one(a[0].take(&a[1], None));
    check(
        "take flat",
        take_flat,
        &[x.clone(), idx.clone()],
        &[Some(0), Some(0)],
        0,
    );
    let along: F = |a| one(a[0].take_along_axis(&a[1], 0));
    let ia = Array::from_slice(&[0i32, 2, 1, 3, 0, 1, 2, 3, 3, 2, 1, 0], &[3, 2, 2]).unwrap();
    let xa = rand(&mut r, &[3, 4, 2]);
    check(
        "along both",
        along,
        &[xa.clone(), ia.clone()],
        &[Some(0), Some(0)],
        0,
    );
    let ia1 = Array::from_slice(&[0i32, 2, 1, 3], &[2, 2]).unwrap();
    check(
        "along a",
        along,
        &[xa.clone(), ia1.clone()],
        &[Some(0), None],
        0,
    );
    let xa1 = rand(&mut r, &[4, 2]);
    check(
        "along idx",
        along,
        &[xa1.clone(), ia.clone()],
        &[None, Some(0)],
        0,
    );
    let put: F = |a| one(mx::put_along_axis(&a[0], &a[1], &a[2], 0));
    let vals = rand(&mut r, &[3, 2, 2]);
    check(
        "put",
        put,
        &[xa.clone(), ia.clone(), vals.clone()],
        &[Some(0), Some(0), Some(0)],
        0,
    );
    let vals1 = rand(&mut r, &[2, 2]);
    check(
        "put idx",
        put,
        &[xa1.clone(), ia.clone(), vals1],
        &[None, Some(0), None],
        0,
    );
    let sadd: F = |a| one(mx::scatter_add_axis(&a[0], &a[1], &a[2], 1));
    let ib = Array::from_slice(&[1i32, 1, 0, 1, 0, 0], &[3, 2, 1]).unwrap();
    let vb = rand(&mut r, &[3, 2, 1]);
    let xb = rand(&mut r, &[3, 2, 2]);
    check(
        "scatter_add_axis",
        sadd,
        &[xb.clone(), ib.clone(), vb.clone()],
        &[Some(0), Some(0), Some(0)],
        0,
    );
    // the gradient of take with mapped indices is a mapped scatter-add
    let gtake: F = |a| {
        let f = |p: &[Array]| -> Result<Vec<Array>> {
            Ok(vec![p[0].take(&p[1], Some(1))?.sum(None, false)?])
        };
        mx::grad(f, &[0])(&[a[0].clone(), a[1].clone()])
    };
    check(
        "grad take",
        gtake,
        &[x.clone(), idx.clone()],
        &[Some(0), Some(0)],
        0,
    );
    check(
        "grad take idx",
        gtake,
        &[x.clone(), idx.clone()],
        &[None, Some(0)],
        0,
    );
    // an index out of range in one example is still an error, not another example's value
    let bad = Array::from_slice(&[0i32, 5, 1, 1, 2, 2], &[3, 2]).unwrap();
    let out = mx::vmap(take1, &[Some(0), Some(0)], &[])(&[x, bad]).unwrap();
    assert!(out[0].eval().is_err());
}

#[test]
fn random_rules_follow_the_keys() {
    // a mapped key array: one draw per key, each the draw that key gives alone
    let keys = random::split(&random::key(7), 3).unwrap();
    let f: F = |k| one(random::uniform(&[4], Some(&k[0])));
    check("uniform per key", f, &[keys.clone()], &[Some(0)], 0);
    let n: F = |k| one(random::normal(&[2, 2], Some(&k[0])));
    check("normal per key", n, &[keys.clone()], &[Some(0)], 1);
    let keys_t = keys.t().unwrap();
    check("keys mapped last", f, &[keys_t], &[Some(1)], 0);
    // draws from an unmapped key are the same for every example
    let x = Array::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
    let shared: F = |a| one(&a[0] + &random::uniform(&[], Some(&random::key(1)))?);
    check("shared key", shared, &[x], &[Some(0)], 0);
}

#[test]
fn custom_functions_vmap_their_function_or_their_rule() {
    // f(x) = sin(x) with a deliberately wrong vjp (cos + 1)
    let f = mx::custom_vjp(
        |x: &[Array]| Ok(vec![x[0].sin()?]),
        |p: &[Array], c: &[Array], _: &[Array]| Ok(vec![(&c[0] * &(p[0].cos()? + 1.0)?)?]),
    );
    let x = Array::from_slice(&[0.1f32, 0.5, 0.9, 1.3, 1.7, 2.1], &[3, 2]).unwrap();
    let vf = mx::vmap(f.clone(), &[Some(1)], &[0]);
    let y = vf(&[x.clone()]).unwrap();
    assert_close("custom fwd", &y[0], &x.sin().unwrap().t().unwrap(), 1e-6);
    // vmap(grad(f)) uses the rule...
    let g1 = |p: &[Array]| -> Result<Vec<Array>> {
        let inner = |q: &[Array]| -> Result<Vec<Array>> { Ok(vec![f(q)?[0].sum(None, false)?]) };
        mx::grad(inner, &[0])(p)
    };
    let per = mx::vmap(g1, &[Some(0)], &[])(&[x.clone()]).unwrap();
    assert_close(
        "vmap(grad) rule",
        &per[0],
        &(x.cos().unwrap() + 1.0).unwrap(),
        1e-6,
    );
    // ...while grad(vmap(f)) differentiates the vmapped function, as MLX's default does
    let loss = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![vf(p)?[0].sum(None, false)?]) };
    let g = mx::grad(loss, &[0])(&[x.clone()]).unwrap();
    assert_close("grad(vmap) function", &g[0], &x.cos().unwrap(), 1e-6);
    // a vmap rule of its own is used instead (here: a wrong one, to see it is called)
    let h = mx::CustomFunction::new(|x: &[Array]| Ok(vec![x[0].sin()?]))
        .with_vmap(|x: &[Array], axes: &[Option<usize>]| Ok((vec![x[0].cos()?], axes.to_vec())))
        .into_fn();
    let y = mx::vmap(h, &[Some(1)], &[1])(&[x.clone()]).unwrap();
    assert_close("custom vmap rule", &y[0], &x.cos().unwrap(), 1e-6);
}

#[test]
fn vmap_errors_are_mlx_errors() {
    let f: F = |a| one(&a[0] + &a[1]);
    let x = mx::zeros(&[3, 2], Dtype::F32).unwrap();
    let y = mx::zeros(&[4, 2], Dtype::F32).unwrap();
    let msg = |r: Result<Vec<Array>>| match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    };
    assert!(msg(mx::vmap(f, &[], &[])(&[x.clone(), y.clone()]))
        .contains("Inconsistent axis sizes: 4 and 3"));
    assert!(
        msg(mx::vmap(f, &[None, None], &[])(&[x.clone(), x.clone()]))
            .contains("At least one of in_axes")
    );
    assert!(msg(mx::vmap(f, &[Some(2), Some(0)], &[])(&[
        x.clone(),
        x.clone()
    ]))
    .contains("Invalid vectorization axis 2"));
    assert!(msg(mx::vmap(f, &[Some(0)], &[])(&[x.clone(), x.clone()]))
        .contains("number of in axes (1)"));
    assert!(
        msg(mx::vmap(f, &[], &[0, 1])(&[x.clone(), x.clone()])).contains("number of out axes (2)")
    );
    assert!(msg(mx::vmap(f, &[], &[3])(&[x.clone(), x.clone()]))
        .contains("Invalid output vectorization axis 3"));
    let s = mx::array(1.0f32);
    assert!(msg(mx::vmap(f, &[], &[])(&[s.clone(), s])).contains("zero dimensions"));
    // evaluating a mapped value inside the function is an error, not a wrong answer
    let eager: F = |a| {
        let v = a[0].sum(None, false)?.item::<f32>()?;
        one(&a[0] * v as f64)
    };
    assert!(msg(mx::vmap(eager, &[], &[])(&[x])).contains("cannot evaluate"));
}

/// vmap of the gradients of every family: the backward passes build primitives of their own
/// (NormVjpX, SdpaProbs, ScanGrad, GatherAxis/ScatterAddAxis, EqualMask, Sqrt…), whose rules
/// this exercises.
#[test]
fn gradient_primitives_have_rules_too() {
    let mut r = Rng(6);
    let x = rand(&mut r, &[3, 4, 6]);
    let g = |f: fn(&Array) -> Result<Array>| {
        move |p: &[Array]| -> Result<Vec<Array>> {
            let inner =
                |q: &[Array]| -> Result<Vec<Array>> { Ok(vec![f(&q[0])?.sum(None, false)?]) };
            mx::grad(inner, &[0])(p)
        }
    };
    macro_rules! grad_case {
        ($name:expr, $f:expr) => {{
            let f: fn(&Array) -> Result<Array> = $f;
            let got = mx::vmap(g(f), &[Some(1)], &[0])(&[x.clone()]).unwrap();
            let want: Vec<Array> = (0..4)
                .map(|b| g(f)(&[slice_at(&x, 1, b)]).unwrap()[0].clone())
                .collect();
            assert_close($name, &got[0], &mx::stack(&want, 0).unwrap(), 1e-4);
        }};
    }
    grad_case!("sort", |a| a.sort(-1)?.square());
    grad_case!("cumprod", |a| a.cumprod(Some(0), false, true));
    grad_case!("cummax", |a| a.cummax(Some(-1), true, true));
    grad_case!("max", |a| a.max(-1, false));
    grad_case!("std", |a| a.std(None, false, 1));
    grad_case!("layer_norm", |a| fast::layer_norm(a, None, None, 1e-5)?
        .square());
    grad_case!("rms_norm", |a| fast::rms_norm(a, None, 1e-5)?.square());
    grad_case!("softmax", |a| a.softmax(-1, false)?.square());
    grad_case!("take_along", |a| {
        let i = a.argsort(-1)?;
        a.take_along_axis(&i, -1)?.square()
    });
    grad_case!("sdpa", |a| {
        let q = a.reshape([1, 1, 3, 6])?;
        let m = Array::from_slice(&[0.0f32, -1.0, 0.5, 0.0, 0.0, -2.0, 1.0, 0.0, 0.0], &[3, 3])?;
        fast::scaled_dot_product_attention(&q, &q, &q, 0.4, SdpaMask::Array(&m))
    });
    grad_case!("rope", |a| fast::rope(
        &a.reshape([1, 3, 6])?,
        6,
        true,
        100.0,
        1.0,
        0
    )?
    .square());
    // forward mode through the running extreme (CumArgExtreme)
    let jf: F = |p| {
        let f =
            |q: &[Array]| -> Result<Vec<Array>> { Ok(vec![q[0].cummax(Some(0), false, true)?]) };
        Ok(mx::jvp(f, &p[..1], &p[1..])?.1)
    };
    check(
        "jvp cummax",
        jf,
        &[x.clone(), rand(&mut r, &[3, 4, 6])],
        &[Some(2), Some(2)],
        0,
    );
}

#[test]
fn random_samplers_follow_the_keys() {
    let keys = random::split(&random::key(9), 4).unwrap();
    let fs: &[(&str, F)] = &[
        ("bernoulli", |k| {
            one(random::bernoulli(0.3f32, Some(&[5]), Some(&k[0])))
        }),
        ("randint", |k| {
            one(random::randint(0, 7, &[5], Dtype::I32, Some(&k[0])))
        }),
        ("gumbel", |k| {
            one(random::gumbel(&[5], Dtype::F32, Some(&k[0])))
        }),
        ("truncated_normal", |k| {
            one(random::truncated_normal(
                -1.0f32,
                2.0f32,
                Some(&[5]),
                Dtype::F32,
                Some(&k[0]),
            ))
        }),
        ("categorical", |k| {
            let logits = Array::from_slice(&[0.0f32, 1.0, 2.0], &[3])?;
            one(random::categorical(&logits, -1, Some(&k[0])))
        }),
    ];
    for (name, f) in fs {
        check(name, *f, &[keys.clone()], &[Some(0)], 0);
    }
}
