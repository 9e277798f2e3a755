//! vmap composed with the other transforms, both ways, against independent computations:
//! `vmap(grad)` and `vmap(vjp)` against a loop of gradients, `grad(vmap)` and `jvp(vmap)`
//! against the transforms of the loop, `vmap(vmap)` against a double loop.

use crate::gauss::Rng;
use crate::vmap_rules::{assert_close, check, looped, rand, F};
use rmlx_core::{self as mx, Array, Result};

/// A small network with a loss: tanh(x @ w1 + b) @ w2, squared error against y.
fn loss(p: &[Array]) -> Result<Vec<Array>> {
    let (w1, b, w2, x, y) = (&p[0], &p[1], &p[2], &p[3], &p[4]);
    let h = (&x.matmul(w1)? + b)?.tanh()?;
    let e = (&h.matmul(w2)? - y)?;
    Ok(vec![(&e * &e)?.mean(None, false)?])
}

fn params(r: &mut Rng) -> Vec<Array> {
    vec![rand(r, &[4, 6]), rand(r, &[6]), rand(r, &[6, 2])]
}

#[test]
fn vmap_of_grad_is_the_loop_of_grads() {
    let mut r = Rng(11);
    let mut args = params(&mut r);
    args.push(rand(&mut r, &[5, 3, 4])); // 5 examples of 3 rows
    args.push(rand(&mut r, &[5, 3, 2]));
    let g: F = |p| mx::grad(loss, &[0, 1, 2])(p);
    check(
        "vmap(grad)",
        g,
        &args,
        &[None, None, None, Some(0), Some(0)],
        0,
    );
    // the examples along another axis, the gradients' example axis last
    let xt = args[3].moveaxis(0, 2).unwrap();
    let yt = args[4].moveaxis(0, 1).unwrap();
    let moved = [args[0].clone(), args[1].clone(), args[2].clone(), xt, yt];
    check(
        "vmap(grad) moved",
        g,
        &moved,
        &[None, None, None, Some(2), Some(1)],
        -1,
    );
    // per-example gradients with respect to a mapped input
    let gx: F = |p| mx::grad(loss, &[3])(p);
    check(
        "vmap(grad x)",
        gx,
        &args,
        &[None, None, None, Some(0), Some(0)],
        0,
    );
    // value_and_grad and a mapped parameter (one model per example)
    let w1s = rand(&mut r, &[5, 4, 6]);
    let vg: F = |p| {
        let (v, g) = mx::value_and_grad(loss, &[0])(p)?;
        Ok(vec![v[0].clone(), g[0].clone()])
    };
    let per_model = [
        w1s,
        args[1].clone(),
        args[2].clone(),
        args[3].clone(),
        args[4].clone(),
    ];
    check(
        "vmap(value_and_grad)",
        vg,
        &per_model,
        &[Some(0), None, None, Some(0), Some(0)],
        0,
    );
}

#[test]
fn vmap_of_vjp_and_of_jvp_are_the_loops() {
    let mut r = Rng(12);
    let x = rand(&mut r, &[4, 3, 5]);
    let c = rand(&mut r, &[4, 3]);
    fn f(p: &[Array]) -> Result<Vec<Array>> {
        Ok(vec![p[0].softmax(-1, false)?.logsumexp(-1, false)?])
    }
    let v: F = |p| Ok(mx::vjp(f, &p[..1], &p[1..])?.1);
    check("vmap(vjp)", v, &[x.clone(), c], &[Some(0), Some(0)], 0);
    let t = rand(&mut r, &[4, 3, 5]);
    let j: F = |p| Ok(mx::jvp(f, &p[..1], &p[1..])?.1);
    check(
        "vmap(jvp)",
        j,
        &[x.clone(), t.clone()],
        &[Some(0), Some(0)],
        0,
    );
    check(
        "vmap(jvp) shared tangent",
        j,
        &[x, t.slice(mx::s![0..1]).unwrap().squeeze(0).unwrap()],
        &[Some(0), None],
        0,
    );
}

#[test]
fn grad_and_jvp_of_vmap_are_those_of_the_loop() {
    let mut r = Rng(13);
    let mut args = params(&mut r);
    args.push(rand(&mut r, &[5, 3, 4]));
    args.push(rand(&mut r, &[5, 3, 2]));
    let axes = [None, None, None, Some(0), Some(0)];
    // total loss over the examples: once through vmap, once through the loop (take + stack)
    let through_vmap = |p: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![mx::vmap(loss, &axes, &[])(p)?[0].sum(None, false)?])
    };
    let through_loop = |p: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![looped(loss, p, &axes, 0)[0].sum(None, false)?])
    };
    let gv = mx::grad(through_vmap, &[0, 1, 2, 3])(&args).unwrap();
    let gl = mx::grad(through_loop, &[0, 1, 2, 3])(&args).unwrap();
    for (i, (a, b)) in gv.iter().zip(&gl).enumerate() {
        assert_close(&format!("grad(vmap) input {i}"), a, b, 1e-5);
    }
    let tangents: Vec<Array> = args.iter().map(|a| rand(&mut r, a.shape())).collect();
    let (_, jv) = mx::jvp(through_vmap, &args, &tangents).unwrap();
    let (_, jl) = mx::jvp(through_loop, &args, &tangents).unwrap();
    assert_close("jvp(vmap)", &jv[0], &jl[0], 1e-5);
    // second order: grad(grad) inside vmap
    fn cube(p: &[Array]) -> Result<Vec<Array>> {
        Ok(vec![(&(&p[0] * &p[0])? * &p[0])?.sum(None, false)?])
    }
    let hv: F = |p| {
        let inner = |q: &[Array]| -> Result<Vec<Array>> {
            Ok(vec![mx::grad(cube, &[0])(&q[..1])?[0].sum(None, false)?])
        };
        mx::grad(inner, &[0])(p)
    };
    check(
        "vmap(grad(grad))",
        hv,
        &[rand(&mut r, &[3, 4])],
        &[Some(1)],
        0,
    );
}

#[test]
fn vmap_of_vmap_is_the_double_loop() {
    let mut r = Rng(14);
    // pairwise distances: f(a, b) for every a in A and b in B
    let dist = |p: &[Array]| -> Result<Vec<Array>> {
        let d = (&p[0] - &p[1])?;
        Ok(vec![(&d * &d)?.sum(None, false)?.sqrt()?])
    };
    let a = rand(&mut r, &[3, 4]);
    let b = rand(&mut r, &[5, 4]);
    let inner = mx::vmap(dist, &[None, Some(0)], &[]);
    let outer = mx::vmap(inner, &[Some(0), None], &[]);
    let d = outer(&[a.clone(), b.clone()]).unwrap();
    assert_eq!(d[0].shape(), &[3, 5]);
    let av = a.to_vec::<f32>().unwrap();
    let bv = b.to_vec::<f32>().unwrap();
    let got = d[0].to_vec::<f32>().unwrap();
    for i in 0..3 {
        for j in 0..5 {
            let want: f32 = (0..4)
                .map(|k| (av[i * 4 + k] - bv[j * 4 + k]).powi(2))
                .sum::<f32>()
                .sqrt();
            assert!(
                (got[i * 5 + j] - want).abs() < 1e-5,
                "({i},{j}): {} vs {want}",
                got[i * 5 + j]
            );
        }
    }
    // both mapped, the inner one along the second axis: a batch of matrices times vectors
    let mv = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&p[0] * &p[1])?.sum(None, false)?]) };
    let m = rand(&mut r, &[2, 4, 3]);
    let v = rand(&mut r, &[2, 3]);
    let rows = mx::vmap(mv, &[Some(0), None], &[]);
    let batch = mx::vmap(rows, &[Some(0), Some(0)], &[]);
    let out = batch(&[m.clone(), v.clone()]).unwrap();
    let want = m
        .matmul(&v.expand_dims(-1).unwrap())
        .unwrap()
        .squeeze(-1)
        .unwrap();
    assert_close("vmap(vmap)", &out[0], &want, 1e-5);
}

#[test]
fn prefix_tree_axes_map_leaves_and_check_structure() {
    use rmlx_core::tree::{tree_unflatten, Tree};
    let mut r = Rng(15);
    let params = tree_unflatten(vec![
        ("w".to_string(), rand(&mut r, &[4, 2])),
        ("b".to_string(), rand(&mut r, &[2])),
    ])
    .unwrap();
    let batch = tree_unflatten(vec![("x".to_string(), rand(&mut r, &[5, 4]))]).unwrap();
    let f = |a: &[Tree<Array>]| -> Result<Vec<Tree<Array>>> {
        let p = &a[0];
        let w = p.get("w").and_then(Tree::as_leaf).unwrap();
        let b = p.get("b").and_then(Tree::as_leaf).unwrap();
        let x = a[1].get("x").and_then(Tree::as_leaf).unwrap();
        Ok(vec![Tree::Leaf((&x.matmul(w)? + b)?)])
    };
    let x = batch.get("x").and_then(Tree::as_leaf).unwrap().clone();
    let w = params.get("w").and_then(Tree::as_leaf).unwrap().clone();
    let b = params.get("b").and_then(Tree::as_leaf).unwrap().clone();
    let want = (&x.matmul(&w).unwrap() + &b).unwrap();
    // the whole argument unmapped, or leaf by leaf: the same
    let axes = [Tree::Leaf(None), Tree::Leaf(Some(0))];
    let out = mx::vmap_tree_prefix(f, &axes, &[])(&[params.clone(), batch.clone()]).unwrap();
    assert_close("prefix leaf", out[0].as_leaf().unwrap(), &want, 1e-5);
    let per_leaf = tree_unflatten(vec![("w".to_string(), None), ("b".to_string(), None)]).unwrap();
    let axes = [per_leaf, Tree::Leaf(Some(0))];
    let out = mx::vmap_tree_prefix(f, &axes, &[])(&[params.clone(), batch.clone()]).unwrap();
    assert_close("prefix dict", out[0].as_leaf().unwrap(), &want, 1e-5);
    // a key the argument lacks, or a missing one, is an error naming it
    let wrong = tree_unflatten(vec![("w".to_string(), None), ("c".to_string(), None)]).unwrap();
    let e = match mx::vmap_tree_prefix(f, &[wrong, Tree::Leaf(Some(0))], &[])(&[
        params.clone(),
        batch.clone(),
    ]) {
        Ok(_) => panic!("mismatched axes accepted"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("\"c\""), "{e}");
}
