//! Gradients of the shape, creation and indexing ops: vjp and jvp against central finite
//! differences in f64, and the MLX oracle's vjps for take / concatenate / transpose.

use rmlx_core::{self as mx, s, Array, Dtype, Result, SliceArg};

/// Deterministic pseudo-random values in [-1, 1).
fn rand_vals(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

fn rand(shape: &[usize], seed: u64) -> Array {
    let n: usize = shape.iter().product();
    Array::from_slice(&rand_vals(n, seed), shape).unwrap()
}

type F = dyn Fn(&[Array]) -> Result<Vec<Array>>;

/// `sum_k <f(x)_k, c_k>` at `inputs`.
fn objective(f: &F, inputs: &[Array], cots: &[Array]) -> f64 {
    let outs = f(inputs).unwrap();
    outs.iter()
        .zip(cots)
        .map(|(o, c)| {
            let (o, c) = (o.to_vec::<f64>().unwrap(), c.to_vec::<f64>().unwrap());
            o.iter().zip(&c).map(|(a, b)| a * b).sum::<f64>()
        })
        .sum()
}

fn with_input(inputs: &[Array], k: usize, vals: &[f64]) -> Vec<Array> {
    let mut v = inputs.to_vec();
    v[k] = Array::from_slice(vals, inputs[k].shape()).unwrap();
    v
}

/// Checks the vjp (for the primals in `diff`) and the jvp of `f` against finite differences.
fn check(name: &str, f: &F, inputs: Vec<Array>, diff: &[usize]) {
    let outs = f(&inputs).unwrap();
    let cots: Vec<Array> = outs
        .iter()
        .enumerate()
        .map(|(k, o)| rand(o.shape(), 100 + k as u64))
        .collect();
    let h = 1e-6;
    let (_, grads) = mx::vjp_with_argnums(f, &inputs, &cots, diff).unwrap();
    assert_eq!(grads.len(), diff.len(), "{name}");
    for (g, &k) in grads.iter().zip(diff) {
        assert_eq!(g.shape(), inputs[k].shape(), "{name}: grad {k} shape");
        let gv = g.to_vec::<f64>().unwrap();
        let x = inputs[k].to_vec::<f64>().unwrap();
        for i in 0..x.len() {
            let mut xp = x.clone();
            xp[i] += h;
            let mut xm = x.clone();
            xm[i] -= h;
            let fd = (objective(f, &with_input(&inputs, k, &xp), &cots)
                - objective(f, &with_input(&inputs, k, &xm), &cots))
                / (2.0 * h);
            assert!(
                (fd - gv[i]).abs() < 1e-6 * (1.0 + fd.abs()),
                "{name}: d/d input {k}[{i}]: vjp {} vs finite difference {fd}",
                gv[i]
            );
        }
    }
    // jvp with random tangents on the differentiable inputs (zeros elsewhere)
    let tangents: Vec<Array> = inputs
        .iter()
        .enumerate()
        .map(|(k, x)| {
            if diff.contains(&k) {
                rand(x.shape(), 200 + k as u64)
            } else {
                mx::zeros_like(x).unwrap()
            }
        })
        .collect();
    let (_, tans) = mx::jvp(f, &inputs, &tangents).unwrap();
    let shifted = |sign: f64| -> Vec<Array> {
        inputs
            .iter()
            .zip(&tangents)
            .enumerate()
            .map(|(k, (x, t))| {
                if !diff.contains(&k) {
                    return x.clone();
                }
                let (xv, tv) = (x.to_vec::<f64>().unwrap(), t.to_vec::<f64>().unwrap());
                let v: Vec<f64> = xv.iter().zip(&tv).map(|(a, b)| a + sign * h * b).collect();
                Array::from_slice(&v, x.shape()).unwrap()
            })
            .collect()
    };
    let (op, om) = (f(&shifted(1.0)).unwrap(), f(&shifted(-1.0)).unwrap());
    for (k, t) in tans.iter().enumerate() {
        let tv = t.to_vec::<f64>().unwrap();
        let (p, m) = (
            op[k].to_vec::<f64>().unwrap(),
            om[k].to_vec::<f64>().unwrap(),
        );
        assert_eq!(t.shape(), outs[k].shape(), "{name}: tangent shape");
        for i in 0..tv.len() {
            let fd = (p[i] - m[i]) / (2.0 * h);
            assert!(
                (fd - tv[i]).abs() < 1e-6 * (1.0 + fd.abs()),
                "{name}: jvp output {k}[{i}]: {} vs finite difference {fd}",
                tv[i]
            );
        }
    }
}

fn one(f: impl Fn(&[Array]) -> Result<Array> + 'static) -> Box<F> {
    Box::new(move |x: &[Array]| Ok(vec![f(x)?]))
}

#[test]
fn view_op_gradients() {
    let x = rand(&[3, 4, 2], 1);
    check(
        "slice",
        &*one(|x| x[0].slice(s![(-1, None, -2), 1..3, ..])),
        vec![x.clone()],
        &[0],
    );
    check(
        "transpose",
        &*one(|x| x[0].transpose_axes(&[2, 0, 1])),
        vec![x.clone()],
        &[0],
    );
    check(
        "swapaxes",
        &*one(|x| mx::swapaxes(&x[0], 0, -1)),
        vec![x.clone()],
        &[0],
    );
    check(
        "moveaxis",
        &*one(|x| mx::moveaxis(&x[0], 0, -1)),
        vec![x.clone()],
        &[0],
    );
    check(
        "flatten",
        &*one(|x| x[0].t()?.flatten(0, 1)),
        vec![x.clone()],
        &[0],
    );
    check(
        "unflatten",
        &*one(|x| x[0].unflatten(1, [2, 2])),
        vec![x.clone()],
        &[0],
    );
    check(
        "expand_dims",
        &*one(|x| x[0].expand_dims([0, -1])),
        vec![x.clone()],
        &[0],
    );
    let y = rand(&[3, 1, 2], 2);
    check("squeeze", &*one(|x| x[0].squeeze(1)), vec![y.clone()], &[0]);
    check(
        "broadcast",
        &*one(|x| x[0].broadcast_to(&[2, 3, 4, 2])),
        vec![y],
        &[0],
    );
    check(
        "split",
        &|x: &[Array]| x[0].split([1, 3], 1),
        vec![x.clone()],
        &[0],
    );
    // a view of a view of a broadcast
    let z = rand(&[4], 3);
    check(
        "slice of transpose of broadcast",
        &*one(|x| {
            x[0].broadcast_to(&[3, 4])?
                .t()?
                .slice(s![SliceArg::from(..).step(-1), 1..])
        }),
        vec![z],
        &[0],
    );
}

#[test]
fn copy_op_gradients() {
    let a = rand(&[2, 3], 4);
    let b = rand(&[2, 1], 5);
    let c = rand(&[2, 2], 6);
    check(
        "concatenate",
        &*one(|x| mx::concatenate(x, 1)),
        vec![a.clone(), b.clone(), c.clone()],
        &[0, 1, 2],
    );
    check(
        "concatenate (only the middle input)",
        &*one(|x| mx::concatenate(x, -1)),
        vec![a.clone(), b.clone(), c.clone()],
        &[1],
    );
    check(
        "stack",
        &*one(|x| mx::stack(x, 1)),
        vec![a.clone(), rand(&[2, 3], 7)],
        &[0, 1],
    );
    check(
        "slice_update",
        &*one(|x| x[0].slice_update(&x[1], s![.., (2, None, -2)])),
        vec![a.clone(), b.clone()],
        &[0, 1],
    );
    check(
        "pad (input and value)",
        &*one(|x| mx::pad(&x[0], &[(1, 0), (2, 1)], &x[1])),
        vec![a.clone(), rand(&[], 8)],
        &[0, 1],
    );
    check(
        "pad_edge",
        &*one(|x| mx::pad_edge(&x[0], &[(1, 2)])),
        vec![a.clone()],
        &[0],
    );
    check(
        "repeat",
        &*one(|x| mx::repeat(&x[0], 3, Some(1))),
        vec![a.clone()],
        &[0],
    );
    check(
        "repeat flat",
        &*one(|x| mx::repeat(&x[0], 2, None)),
        vec![a.clone()],
        &[0],
    );
    check(
        "tile",
        &*one(|x| mx::tile(&x[0], &[2, 1, 2])),
        vec![a.clone()],
        &[0],
    );
    check("tril", &*one(|x| mx::tril(&x[0], 0)), vec![a.clone()], &[0]);
    check("triu", &*one(|x| mx::triu(&x[0], 1)), vec![a.clone()], &[0]);
    check(
        "full from array",
        &*one(|x| mx::full(&[3, 2, 3], &x[0], None)),
        vec![a],
        &[0],
    );
}

#[test]
fn indexing_gradients() {
    let x = rand(&[4, 3], 9);
    let idx = Array::from_slice(&[3i32, -1, 0, 3, 1], &[5]).unwrap();
    let i2 = idx.clone();
    check(
        "take axis 0 (repeats accumulate)",
        &*one(move |x| mx::take(&x[0], &i2, Some(0))),
        vec![x.clone()],
        &[0],
    );
    let i2 = idx.clone();
    check(
        "take axis 1",
        &*one(move |x| {
            mx::take(
                &x[0],
                &i2.reshape([1, 5])?
                    .astype(Dtype::I64)?
                    .slice(s![.., 1..3])?,
                Some(1),
            )
        }),
        vec![x.clone()],
        &[0],
    );
    let i2 = idx.clone();
    check(
        "take flat",
        &*one(move |x| mx::take(&x[0], &i2, None)),
        vec![x.clone()],
        &[0],
    );
    let ia = Array::from_slice(&[2i32, 0, 2, 1, 1, 1, 0, 0], &[4, 2]).unwrap();
    let i2 = ia.clone();
    check(
        "take_along_axis",
        &*one(move |x| mx::take_along_axis(&x[0], &i2, 1)),
        vec![x.clone()],
        &[0],
    );
    let ib = Array::from_slice(&[2i32, 0, 1], &[3, 1]).unwrap();
    check(
        "take_along_axis (array broadcast)",
        &*one(move |x| mx::take_along_axis(&x[0], &ib, 1)),
        vec![rand(&[1, 4], 10)],
        &[0],
    );
    let ip = Array::from_slice(&[2i32, 0, 1, 1], &[4, 1]).unwrap();
    check(
        "put_along_axis",
        &*one(move |x| mx::put_along_axis(&x[0], &ip, &x[1], 1)),
        vec![x.clone(), rand(&[4, 1], 11)],
        &[0, 1],
    );
    let i2 = idx.clone();
    check(
        "scatter_add_axis",
        &*one(move |x| mx::scatter_add_axis(&x[0], &i2, &x[1], 0)),
        vec![x.clone(), rand(&[5, 3], 12)],
        &[0, 1],
    );
}

#[test]
fn vjp_computes_only_the_requested_inputs() {
    // a cotangent for the second input of a concatenate only: the first gets no Slice node
    let a = rand(&[2, 3], 13);
    let b = rand(&[2, 2], 14);
    let f = |x: &[Array]| -> Result<Vec<Array>> { Ok(vec![mx::concatenate(x, 1)?]) };
    let cot = rand(&[2, 5], 15);
    let (_, g) = mx::vjp_with_argnums(f, &[a, b], std::slice::from_ref(&cot), &[1]).unwrap();
    assert_eq!(g.len(), 1);
    assert_eq!(
        g[0].to_vec::<f64>().unwrap(),
        cot.slice(s![.., 3..]).unwrap().to_vec::<f64>().unwrap()
    );
}
