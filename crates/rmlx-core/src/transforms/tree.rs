//! Tree versions of the transforms: [`vjp_tree`], [`jvp_tree`], [`grad_tree`] and
//! [`value_and_grad_tree`] take [`Tree<Array>`] arguments (nested dicts and lists of arrays,
//! like MLX's parameter trees) and return gradients shaped like the differentiated arguments.
//!
//! Each is the flat transform over the arguments' leaves in [`tree_flatten`](crate::tree::tree_flatten)
//! order: the function sees trees rebuilt from (traced) leaves, and only the leaves of the
//! differentiated arguments are differentiated, so the flat transforms' gradient pruning applies
//! leaf by leaf.

use super::grad::{check_grad_argnums, stop_aux_gradients};
use super::jvp::{check_tangent_count, jvp};
use super::vjp::vjp_with_argnums;
use crate::checked::Checked;
use crate::tree::{tree_flatten, tree_map, Tree};
use crate::{bail, Array, Result};

/// What [`value_and_grad_tree`] returns: the function's outputs, and one gradient tree per
/// differentiated argument.
pub type ValuesAndGradTrees = (Vec<Array>, Vec<Tree<Array>>);

/// The leaves of every argument, concatenated, and where each argument's leaves start.
fn flatten_args(args: &[Tree<Array>]) -> (Vec<Array>, Vec<usize>) {
    let mut leaves = Vec::new();
    let mut starts = Vec::with_capacity(args.len() + 1);
    for a in args {
        starts.push(leaves.len());
        leaves.extend(tree_flatten(a).into_iter().map(|(_, v)| v.clone()));
    }
    starts.push(leaves.len());
    (leaves, starts)
}

/// `structure` with its leaves replaced, in flatten order, by `leaves`.
pub(crate) fn refill(structure: &Tree<Array>, leaves: &[Array]) -> Tree<Array> {
    let mut i = 0;
    tree_map(structure, |old| {
        let v = leaves.get(i).cloned().unwrap_or_else(|| old.clone());
        i += 1;
        v
    })
}

/// Rebuilds every argument tree from a flat leaf list laid out as [`flatten_args`] laid it out.
fn unflatten_args(
    structures: &[Tree<Array>],
    starts: &[usize],
    leaves: &[Array],
) -> Result<Vec<Tree<Array>>> {
    structures
        .iter()
        .enumerate()
        .map(|(i, s)| Ok(refill(s, leaves.span(*starts.at(i)?..*starts.at(i + 1)?)?)))
        .collect()
}

/// [`value_and_grad`](super::value_and_grad) over tree arguments: returns a function computing
/// `f`'s outputs and, for each argument at `argnums` (in `argnums` order), a tree shaped like
/// that argument holding the gradient of `f`'s first output (a scalar) for each of its leaves.
///
/// Auxiliary outputs (every output after the first) come back with their gradients stopped, as
/// in the flat version; the argnums checks and messages are the flat version's.
///
/// ```
/// use rmlx_core::tree::{tree_unflatten, Tree};
/// use rmlx_core::{self as mx, Array, Result};
/// // loss = sum(params.w * x) + params.b
/// let loss = |args: &[Tree<Array>]| -> Result<Vec<Array>> {
///     let p = &args[0];
///     let x = args[1].as_leaf().unwrap();
///     let w = p.get("w").and_then(Tree::as_leaf).unwrap();
///     let b = p.get("b").and_then(Tree::as_leaf).unwrap();
///     Ok(vec![((w * x)?.sum(None, false)? + b)?])
/// };
/// let params = tree_unflatten(vec![
///     ("w".to_string(), Array::from_slice(&[1.0f32, 2.0], &[2])?),
///     ("b".to_string(), mx::array(0.5f32)),
/// ])?;
/// let x = Tree::Leaf(Array::from_slice(&[3.0f32, 4.0], &[2])?);
/// let (vals, grads) = mx::value_and_grad_tree(loss, &[0])(&[params, x])?;
/// assert_eq!(vals[0].item::<f32>()?, 11.5);
/// let g = &grads[0];
/// assert_eq!(g.get("w").and_then(Tree::as_leaf).unwrap().to_vec::<f32>()?, vec![3.0, 4.0]);
/// assert_eq!(g.get("b").and_then(Tree::as_leaf).unwrap().item::<f32>()?, 1.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn value_and_grad_tree<F>(
    f: F,
    argnums: &[usize],
) -> impl Fn(&[Tree<Array>]) -> Result<ValuesAndGradTrees>
where
    F: Fn(&[Tree<Array>]) -> Result<Vec<Array>>,
{
    let argnums = argnums.to_vec();
    move |args: &[Tree<Array>]| {
        check_grad_argnums(&argnums, args.len())?;
        let (leaves, starts) = flatten_args(args);
        let mut leaf_argnums: Vec<usize> = Vec::new();
        for &a in &argnums {
            leaf_argnums.extend(*starts.at(a)?..*starts.at(a + 1)?);
        }
        let flat_f = |xs: &[Array]| stop_aux_gradients(f(&unflatten_args(args, &starts, xs)?)?);
        let seed = Array::scalar(1.0f32);
        let (outs, flat_grads) = if leaf_argnums.is_empty() {
            // differentiated arguments without leaves: nothing to trace, gradients are empty trees
            (flat_f(&leaves)?, Vec::new())
        } else {
            vjp_with_argnums(flat_f, &leaves, &[seed], &leaf_argnums)?
        };
        // flat_grads follow leaf_argnums (sorted leaf positions); map each back to its argument
        let mut grads = Vec::with_capacity(argnums.len());
        for &a in &argnums {
            let mut g = Vec::with_capacity(*starts.at(a + 1)? - *starts.at(a)?);
            for leaf in *starts.at(a)?..*starts.at(a + 1)? {
                let pos = leaf_argnums.binary_search(&leaf).unwrap_or(0);
                g.push(flat_grads.at(pos)?.clone());
            }
            grads.push(refill(args.at(a)?, &g));
        }
        Ok((outs, grads))
    }
}

/// [`grad`](super::grad) over tree arguments: the gradient trees of `f`'s single scalar output
/// with respect to the arguments at `argnums`, each shaped like its argument.
pub fn grad_tree<F>(f: F, argnums: &[usize]) -> impl Fn(&[Tree<Array>]) -> Result<Vec<Tree<Array>>>
where
    F: Fn(&[Tree<Array>]) -> Result<Vec<Array>>,
{
    let single = move |x: &[Tree<Array>]| -> Result<Vec<Array>> {
        let outs = f(x)?;
        if outs.len() != 1 {
            bail!(
                Transform,
                "[grad] The return value of the function whose gradient we want to compute should be a scalar array; but {} arrays were returned (use value_and_grad for auxiliary outputs).",
                outs.len()
            );
        }
        Ok(outs)
    };
    let vg = value_and_grad_tree(single, argnums);
    move |args: &[Tree<Array>]| Ok(vg(args)?.1)
}

/// [`vjp`](super::vjp) over tree primals: `f`'s outputs and, for every primal, a tree shaped like
/// it holding the cotangent of each leaf.
///
/// ```
/// use rmlx_core::tree::Tree;
/// use rmlx_core::{self as mx, Array, Result};
/// let f = |p: &[Tree<Array>]| -> Result<Vec<Array>> {
///     let l = match &p[0] { Tree::List(l) => l, _ => unreachable!() };
///     Ok(vec![(l[0].as_leaf().unwrap() * l[1].as_leaf().unwrap())?])
/// };
/// let p = Tree::List(vec![Tree::Leaf(mx::array(2.0f32)), Tree::Leaf(mx::array(5.0f32))]);
/// let (outs, cts) = mx::vjp_tree(f, &[p], &[mx::array(1.0f32)])?;
/// assert_eq!(outs[0].item::<f32>()?, 10.0);
/// let flat: Vec<f32> = cts[0].flatten().iter().map(|(_, a)| a.item::<f32>().unwrap()).collect();
/// assert_eq!(flat, vec![5.0, 2.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn vjp_tree<F>(
    f: F,
    primals: &[Tree<Array>],
    cotangents: &[Array],
) -> Result<(Vec<Array>, Vec<Tree<Array>>)>
where
    F: Fn(&[Tree<Array>]) -> Result<Vec<Array>>,
{
    let (leaves, starts) = flatten_args(primals);
    let flat_f = |xs: &[Array]| f(&unflatten_args(primals, &starts, xs)?);
    if leaves.is_empty() {
        return Ok((flat_f(&[])?, primals.to_vec()));
    }
    let argnums: Vec<usize> = (0..leaves.len()).collect();
    let (outs, cts) = vjp_with_argnums(flat_f, &leaves, cotangents, &argnums)?;
    Ok((outs, unflatten_args(primals, &starts, &cts)?))
}

/// [`jvp`](super::jvp) over tree primals: `tangents` must have the primals' structure (the same
/// dotted leaf paths, in order); returns `f`'s outputs and their tangents.
pub fn jvp_tree<F>(
    f: F,
    primals: &[Tree<Array>],
    tangents: &[Tree<Array>],
) -> Result<(Vec<Array>, Vec<Array>)>
where
    F: Fn(&[Tree<Array>]) -> Result<Vec<Array>>,
{
    check_tangent_count(primals.len(), tangents.len())?;
    for (i, (p, t)) in primals.iter().zip(tangents).enumerate() {
        let pk: Vec<String> = tree_flatten(p).into_iter().map(|(k, _)| k).collect();
        let tk: Vec<String> = tree_flatten(t).into_iter().map(|(k, _)| k).collect();
        if pk != tk {
            bail!(
                Transform,
                "[jvp] The tangent tree of input {i} does not have the input's structure: input leaves {pk:?}, tangent leaves {tk:?}."
            );
        }
    }
    let (leaves, starts) = flatten_args(primals);
    let (tleaves, _) = flatten_args(tangents);
    jvp(
        |xs: &[Array]| f(&unflatten_args(primals, &starts, xs)?),
        &leaves,
        &tleaves,
    )
}
