//! Tree versions of the transforms: gradients shaped like the arguments, checked against finite
//! differences in f64, jvp against vjp, and the bad-input errors.

use rmlx_core::tree::{tree_flatten, tree_unflatten, Tree};
use rmlx_core::{self as mx, Array, Dtype, Result};

fn leaf<'a>(t: &'a Tree<Array>, path: &str) -> &'a Array {
    t.get(path).and_then(Tree::as_leaf).expect(path)
}

fn randn(shape: &[usize], key: u64) -> Array {
    mx::random::normal_with(shape, Dtype::F64, 0.0, 1.0, Some(&mx::random::key(key))).unwrap()
}

/// `params = {"layers": [{"w": [3, 4], "b": [4]}, {"w": [4, 2]}], "scale": []}`.
fn params() -> Tree<Array> {
    tree_unflatten(vec![
        ("layers.0.w".to_string(), randn(&[3, 4], 1)),
        ("layers.0.b".to_string(), randn(&[4], 2)),
        ("layers.1.w".to_string(), randn(&[4, 2], 3)),
        ("scale".to_string(), Array::scalar(0.7f64)),
    ])
    .unwrap()
}

/// A two-layer tanh network's squared output, times `scale`.
fn loss(args: &[Tree<Array>]) -> Result<Vec<Array>> {
    let p = &args[0];
    let x = args[1].as_leaf().expect("x is a leaf");
    let h = (x.matmul(leaf(p, "layers.0.w"))? + leaf(p, "layers.0.b"))?.tanh()?;
    let y = h.matmul(leaf(p, "layers.1.w"))?;
    let l = ((&y * &y)?.sum(None, false)? * leaf(p, "scale"))?;
    Ok(vec![l, y])
}

fn scalar(a: &Array) -> f64 {
    a.item::<f64>().unwrap()
}

#[test]
fn value_and_grad_tree_matches_finite_differences() -> Result<()> {
    let p = params();
    let x = Tree::Leaf(randn(&[5, 3], 9));
    let (vals, grads) = mx::value_and_grad_tree(loss, &[0])(&[p.clone(), x.clone()])?;
    assert_eq!(grads.len(), 1);
    // same structure as the argument
    let pk: Vec<String> = tree_flatten(&p).into_iter().map(|(k, _)| k).collect();
    let gk: Vec<String> = tree_flatten(&grads[0])
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(pk, gk);
    assert_eq!(vals.len(), 2, "aux output returned");
    let base = scalar(&vals[0]);
    let eps = 1e-6;
    for (path, g) in tree_flatten(&grads[0]) {
        let value = leaf(&p, &path).to_vec::<f64>()?;
        let g = g.to_vec::<f64>()?;
        assert_eq!(g.len(), value.len(), "{path}");
        for i in 0..value.len() {
            let mut bumped = value.clone();
            bumped[i] += eps;
            let shape = leaf(&p, &path).shape().to_vec();
            let mut pairs: Vec<(String, Array)> = tree_flatten(&p)
                .into_iter()
                .map(|(k, v)| (k, v.clone()))
                .collect();
            for (k, v) in pairs.iter_mut() {
                if *k == path {
                    *v = Array::from_vec(bumped.clone(), &shape)?;
                }
            }
            let p2 = tree_unflatten(pairs)?;
            let up = scalar(&loss(&[p2, x.clone()])?[0]);
            let fd = (up - base) / eps;
            assert!(
                (fd - g[i]).abs() <= 1e-4 * (1.0 + fd.abs()),
                "{path}[{i}]: analytic {} vs finite difference {fd}",
                g[i]
            );
        }
    }
    Ok(())
}

#[test]
fn gradients_for_several_arguments_come_in_argnums_order() -> Result<()> {
    let p = params();
    let xa = randn(&[5, 3], 9);
    let x = Tree::Leaf(xa.clone());
    let g = mx::grad_tree(|a: &[Tree<Array>]| Ok(vec![loss(a)?.remove(0)]), &[1, 0])(&[
        p.clone(),
        x.clone(),
    ])?;
    assert_eq!(g.len(), 2);
    assert_eq!(g[0].as_leaf().expect("x gradient").shape(), &[5, 3]);
    assert_eq!(tree_flatten(&g[1]).len(), 4);
    // the x gradient agrees with the flat transform over the same function
    let flat = |xs: &[Array]| {
        let p2 = tree_unflatten(vec![
            ("layers.0.w".to_string(), xs[1].clone()),
            ("layers.0.b".to_string(), xs[2].clone()),
            ("layers.1.w".to_string(), xs[3].clone()),
            ("scale".to_string(), xs[4].clone()),
        ])?;
        Ok(vec![loss(&[p2, Tree::Leaf(xs[0].clone())])?.remove(0)])
    };
    let leaves: Vec<Array> = std::iter::once(xa)
        .chain(tree_flatten(&p).into_iter().map(|(_, v)| v.clone()))
        .collect();
    let gf = mx::grad(flat, &[0])(&leaves)?;
    assert_eq!(
        g[0].as_leaf().unwrap().to_vec::<f64>()?,
        gf[0].to_vec::<f64>()?
    );
    Ok(())
}

#[test]
fn jvp_tree_agrees_with_vjp_tree() -> Result<()> {
    let p = params();
    let x = Tree::Leaf(randn(&[5, 3], 9));
    let f = |a: &[Tree<Array>]| Ok(vec![loss(a)?.remove(0)]);
    let t = tree_unflatten(vec![
        ("layers.0.w".to_string(), randn(&[3, 4], 11)),
        ("layers.0.b".to_string(), randn(&[4], 12)),
        ("layers.1.w".to_string(), randn(&[4, 2], 13)),
        ("scale".to_string(), Array::scalar(0.3f64)),
    ])?;
    let tx = Tree::Leaf(mx::zeros(&[5, 3], Dtype::F64)?);
    let (_, tangents) = mx::jvp_tree(f, &[p.clone(), x.clone()], &[t.clone(), tx])?;
    let (_, cts) = mx::vjp_tree(f, &[p, x], &[Array::scalar(1.0f64)])?;
    // <grad, t> == directional derivative
    let mut dot = 0.0;
    for ((_, g), (_, tv)) in tree_flatten(&cts[0]).into_iter().zip(tree_flatten(&t)) {
        dot += scalar(&(g * tv)?.sum(None, false)?);
    }
    let d = scalar(&tangents[0]);
    assert!((dot - d).abs() <= 1e-9 * (1.0 + d.abs()), "{dot} vs {d}");
    Ok(())
}

#[test]
fn tree_transforms_reject_bad_input() {
    let p = params();
    let x = Tree::Leaf(randn(&[5, 3], 9));
    let e = mx::value_and_grad_tree(loss, &[2])(&[p.clone(), x.clone()])
        .expect_err("argnum out of range");
    assert!(e.to_string().contains("Invalid argument number 2"), "{e}");
    let e = mx::value_and_grad_tree(loss, &[])(&[p.clone(), x.clone()]).expect_err("empty argnums");
    assert!(e.to_string().contains("at least one argument"), "{e}");
    // a non-scalar first output
    let e = mx::grad_tree(|a: &[Tree<Array>]| Ok(vec![loss(a)?.remove(1)]), &[0])(&[
        p.clone(),
        x.clone(),
    ])
    .expect_err("non-scalar output");
    assert!(
        e.to_string().contains("does not match cotangent shape"),
        "{e}"
    );
    // a tangent tree of another structure
    let wrong = tree_unflatten(vec![("w".to_string(), randn(&[3, 4], 1))]).unwrap();
    let e = mx::jvp_tree(
        |a: &[Tree<Array>]| Ok(vec![loss(a)?.remove(0)]),
        &[p, x.clone()],
        &[wrong, x],
    )
    .expect_err("structure mismatch");
    assert!(e.to_string().contains("structure"), "{e}");
}
