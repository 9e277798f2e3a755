//! The vectorising transform: [`vmap`] and [`vmap_tree`] (MLX's `mx.vmap`).
//!
//! `vmap(f, in_axes, out_axes)` traces `f` once on *placeholders* shaped like one slice of each
//! mapped input (an unmapped input is passed as it is), then replays the recorded graph: every
//! node with a mapped input is rebuilt by its primitive's vmap rule
//! ([`Primitive::vmap`](crate::primitives::Primitive::vmap)) on the whole mapped inputs, which
//! moves the mapped axis through the computation instead of looping over it. Nodes that do not
//! depend on a mapped input are shared as they are. The result is an ordinary lazy graph, so
//! `vmap` composes with every transform: `vmap(grad(f))` (per-example gradients), `grad(vmap(f))`,
//! `jvp` of `vmap`, and `vmap` of `vmap`.
//!
//! A placeholder has no value: evaluating something that depends on a mapped input inside `f`
//! (`item`, `to_vec`, `eval`) is an error, as in MLX.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::tree::refill;
use super::vjp::build_tape_with;
use crate::buffer::Data;
use crate::checked::Checked;
use crate::context::TracingGuard;
use crate::define_name;
use crate::graph::Node;
use crate::primitives::Primitive;
use crate::tree::{tree_flatten, Tree};
use crate::{bail, Array, Dtype, Error, Result};

/// A mapped input as `f` sees it while being traced: one slice's shape and dtype, and no value.
#[derive(Debug)]
struct Placeholder;

impl Primitive for Placeholder {
    define_name!("VmapInput");

    fn eval_cpu(&self, _: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        Err(Error::Transform(
            "[vmap] cannot evaluate an array computed from a vmapped input inside the function \
             being vmapped (it has no value until the whole batch is computed); return it \
             instead"
                .into(),
        ))
    }
}

fn placeholder(shape: Vec<usize>, dtype: Dtype) -> Array {
    Array::with_tracer_flag(shape, dtype, Node::new(Arc::new(Placeholder), Vec::new()))
}

/// Vectorises `f` over one axis of its inputs (MLX's `mx.vmap(fun, in_axes, out_axes)`).
///
/// `in_axes[i]` is the mapped axis of input `i` (negative counts from the end) or `None` for an
/// input passed whole to every application; `out_axes[k]` is where output `k` carries the
/// mapped axis. An empty `in_axes` maps axis 0 of every input; an empty `out_axes` puts the
/// mapped axis first in every output. All mapped axes must have the same length, and at least
/// one input must be mapped.
///
/// ```
/// use rmlx_core::{self as mx, Array, Result};
/// // a function written for one vector, applied to each row of a matrix
/// let norm = |x: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&x[0] * &x[0])?.sum(None, false)?]) };
/// let x = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
/// let rows = mx::vmap(norm, &[Some(0)], &[0])(&[x.clone()])?;
/// assert_eq!(rows[0].to_vec::<f32>()?, vec![14.0, 77.0]);
/// let cols = mx::vmap(norm, &[Some(-1)], &[])(&[x])?;
/// assert_eq!(cols[0].to_vec::<f32>()?, vec![17.0, 29.0, 45.0]);
/// # Ok::<(), mx::Error>(())
/// ```
///
/// Per-example gradients are `vmap` of `grad`, with the parameters unmapped:
///
/// ```
/// use rmlx_core::{self as mx, Array, Result};
/// let loss = |p: &[Array]| -> Result<Vec<Array>> {
///     let err = (&(&p[0] * &p[1])? - &p[2])?; // w * x - y
///     Ok(vec![(&err * &err)?.sum(None, false)?])
/// };
/// let w = Array::from_slice(&[2.0f32], &[1])?;
/// let x = Array::from_slice(&[1.0f32, 2.0, 3.0], &[3, 1])?;
/// let y = Array::from_slice(&[1.0f32, 1.0, 1.0], &[3, 1])?;
/// let per_example = mx::vmap(mx::grad(loss, &[0]), &[None, Some(0), Some(0)], &[]);
/// let g = per_example(&[w, x, y])?;
/// assert_eq!(g[0].shape(), &[3, 1]);
/// assert_eq!(g[0].to_vec::<f32>()?, vec![2.0, 12.0, 30.0]); // 2 (w x - y) x
/// # Ok::<(), mx::Error>(())
/// ```
pub fn vmap<F>(
    f: F,
    in_axes: &[Option<isize>],
    out_axes: &[isize],
) -> impl Fn(&[Array]) -> Result<Vec<Array>>
where
    F: Fn(&[Array]) -> Result<Vec<Array>>,
{
    let in_axes = in_axes.to_vec();
    let out_axes = out_axes.to_vec();
    move |inputs: &[Array]| {
        let in_axes = if in_axes.is_empty() {
            vec![Some(0); inputs.len()]
        } else {
            in_axes.clone()
        };
        let axes = resolve_in_axes(inputs, &in_axes)?;
        let (traced_inputs, traced_outputs) = trace(&f, inputs, &axes)?;
        let out_axes = if out_axes.is_empty() {
            vec![0; traced_outputs.len()]
        } else {
            out_axes.clone()
        };
        replace(inputs, &traced_inputs, &traced_outputs, &axes, &out_axes)
    }
}

/// [`vmap`] over tree arguments (nested dicts and lists of arrays, like a Module's parameters):
/// `in_axes[i]` maps every leaf of argument `i` (`None`: the whole argument is shared, as
/// parameters are for per-example gradients), `out_axes[k]` places the mapped axis in every leaf
/// of output `k` (empty slices: axis 0 everywhere).
///
/// ```
/// use rmlx_core::tree::Tree;
/// use rmlx_core::{self as mx, Array, Result};
/// let f = |args: &[Tree<Array>]| -> Result<Vec<Tree<Array>>> {
///     let w = args[0].get("w").and_then(Tree::as_leaf).unwrap();
///     let x = args[1].as_leaf().unwrap();
///     Ok(vec![Tree::Leaf((w * x)?.sum(None, false)?)])
/// };
/// let params = Tree::Dict([("w".to_string(), Tree::Leaf(Array::from_slice(&[1.0f32, 2.0], &[2])?))].into());
/// let xs = Tree::Leaf(Array::from_slice(&[1.0f32, 1.0, 3.0, 4.0], &[2, 2])?);
/// let out = mx::vmap_tree(f, &[None, Some(0)], &[])(&[params, xs])?;
/// assert_eq!(out[0].as_leaf().unwrap().to_vec::<f32>()?, vec![3.0, 11.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn vmap_tree<F>(
    f: F,
    in_axes: &[Option<isize>],
    out_axes: &[isize],
) -> impl Fn(&[Tree<Array>]) -> Result<Vec<Tree<Array>>>
where
    F: Fn(&[Tree<Array>]) -> Result<Vec<Tree<Array>>>,
{
    let prefix: Vec<Tree<Option<isize>>> = in_axes.iter().map(|&a| Tree::Leaf(a)).collect();
    vmap_tree_prefix(f, &prefix, out_axes)
}

/// [`vmap_tree`] with an axis tree per argument, as MLX's `in_axes` prefix trees: a leaf gives
/// every array below it that axis (or `None`), a dict or list must have the argument's keys or
/// length and goes on deeper. `vmap_tree_prefix(f, &[Tree::Leaf(Some(0))], ..)` is
/// `vmap_tree(f, &[Some(0)], ..)`.
///
/// ```
/// use rmlx_core::tree::Tree;
/// use rmlx_core::{self as mx, Array, Result};
/// // {"w": shared, "x": mapped}
/// let f = |args: &[Tree<Array>]| -> Result<Vec<Tree<Array>>> {
///     let w = args[0].get("w").and_then(Tree::as_leaf).unwrap();
///     let x = args[0].get("x").and_then(Tree::as_leaf).unwrap();
///     Ok(vec![Tree::Leaf((w * x)?.sum(None, false)?)])
/// };
/// let arg = Tree::Dict([
///     ("w".to_string(), Tree::Leaf(Array::from_slice(&[1.0f32, 2.0], &[2])?)),
///     ("x".to_string(), Tree::Leaf(Array::from_slice(&[1.0f32, 1.0, 3.0, 4.0], &[2, 2])?)),
/// ].into());
/// let axes = Tree::Dict([("w".to_string(), Tree::Leaf(None)), ("x".to_string(), Tree::Leaf(Some(0)))].into());
/// let out = mx::vmap_tree_prefix(f, &[axes], &[])(&[arg])?;
/// assert_eq!(out[0].as_leaf().unwrap().to_vec::<f32>()?, vec![3.0, 11.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn vmap_tree_prefix<F>(
    f: F,
    in_axes: &[Tree<Option<isize>>],
    out_axes: &[isize],
) -> impl Fn(&[Tree<Array>]) -> Result<Vec<Tree<Array>>>
where
    F: Fn(&[Tree<Array>]) -> Result<Vec<Tree<Array>>>,
{
    let in_axes = in_axes.to_vec();
    let out_axes = out_axes.to_vec();
    move |args: &[Tree<Array>]| {
        if !in_axes.is_empty() && in_axes.len() != args.len() {
            bail!(
                Transform,
                "[vmap] The number of in axes ({}) must match the number of arguments ({}).",
                in_axes.len(),
                args.len()
            );
        }
        let mut leaves = Vec::new();
        let mut leaf_axes = Vec::new();
        let mut counts = Vec::with_capacity(args.len());
        for (i, a) in args.iter().enumerate() {
            let flat = tree_flatten(a);
            counts.push(flat.len());
            let before = leaf_axes.len();
            match in_axes.get(i) {
                Some(t) => prefix_axes(a, t, "", &mut leaf_axes)?,
                None => leaf_axes.extend(std::iter::repeat_n(Some(0), flat.len())),
            }
            if leaf_axes.len() - before != flat.len() {
                bail!(
                    Transform,
                    "[vmap] the axes of argument {i} give {} leaves for its {}",
                    leaf_axes.len() - before,
                    flat.len()
                );
            }
            leaves.extend(flat.into_iter().map(|(_, leaf)| leaf.clone()));
        }
        let axes = resolve_in_axes(&leaves, &leaf_axes)?;
        let structure: Vec<Tree<Array>> = args.to_vec();
        let out_structure: std::cell::RefCell<Vec<Tree<Array>>> = Default::default();
        let flat_f = |xs: &[Array]| -> Result<Vec<Array>> {
            let mut at = 0;
            let rebuilt: Vec<Tree<Array>> = structure
                .iter()
                .zip(&counts)
                .map(|(s, &n)| {
                    let part = xs.span(at..at + n)?;
                    at += n;
                    Ok(refill(s, part))
                })
                .collect::<Result<_>>()?;
            let outs = f(&rebuilt)?;
            let flat: Vec<Array> = outs
                .iter()
                .flat_map(|t| tree_flatten(t).into_iter().map(|(_, v)| v.clone()))
                .collect();
            *out_structure.borrow_mut() = outs;
            Ok(flat)
        };
        let (traced_in, traced_out) = trace(&flat_f, &leaves, &axes)?;
        let outs = out_structure.take();
        if !out_axes.is_empty() && out_axes.len() != outs.len() {
            bail!(
                Transform,
                "[vmap] The number of out axes ({}) must match the number of outputs ({}).",
                out_axes.len(),
                outs.len()
            );
        }
        let mut flat_out_axes = Vec::with_capacity(traced_out.len());
        for (k, t) in outs.iter().enumerate() {
            let ax = out_axes.get(k).copied().unwrap_or(0);
            flat_out_axes.extend(std::iter::repeat_n(ax, t.num_leaves()));
        }
        let mapped = replace(&leaves, &traced_in, &traced_out, &axes, &flat_out_axes)?;
        let mut at = 0;
        outs.iter()
            .map(|t| {
                let n = t.num_leaves();
                let part = mapped.span(at..at + n)?;
                at += n;
                Ok(refill(t, part))
            })
            .collect()
    }
}

/// The axis of every leaf of `arg` (in flatten order) under the prefix tree `axes`.
fn prefix_axes(
    arg: &Tree<Array>,
    axes: &Tree<Option<isize>>,
    path: &str,
    out: &mut Vec<Option<isize>>,
) -> Result<()> {
    let at = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (axes, arg) {
        (Tree::Leaf(ax), _) => {
            out.extend(std::iter::repeat_n(*ax, tree_flatten(arg).len()));
            Ok(())
        }
        (Tree::Dict(da), Tree::Dict(d)) => {
            if let Some(k) = da.keys().find(|k| !d.contains_key(*k)) {
                bail!(
                    Transform,
                    "[vmap] in_axes names \"{}\", which the argument does not have",
                    at(k)
                );
            }
            for (k, v) in d {
                match da.get(k) {
                    Some(t) => prefix_axes(v, t, &at(k), out)?,
                    None => bail!(
                        Transform,
                        "[vmap] in_axes lacks \"{}\" of the argument",
                        at(k)
                    ),
                }
            }
            Ok(())
        }
        (Tree::List(la), Tree::List(l)) if la.len() == l.len() => {
            for (i, (t, v)) in la.iter().zip(l).enumerate() {
                prefix_axes(v, t, &at(&i.to_string()), out)?;
            }
            Ok(())
        }
        _ => bail!(
            Transform,
            "[vmap] in_axes at \"{path}\" does not match the argument's structure"
        ),
    }
}

/// Checks `in_axes` against the inputs (MLX's messages) and makes them non-negative.
fn resolve_in_axes(inputs: &[Array], in_axes: &[Option<isize>]) -> Result<Vec<Option<usize>>> {
    if in_axes.len() != inputs.len() {
        bail!(
            Transform,
            "[vmap] The number of in axes ({}) must match the number of inputs ({}).",
            in_axes.len(),
            inputs.len()
        );
    }
    let mut size: Option<usize> = None;
    let mut axes = Vec::with_capacity(inputs.len());
    for (x, ax) in inputs.iter().zip(in_axes) {
        let Some(ax) = *ax else {
            axes.push(None);
            continue;
        };
        if x.ndim() == 0 {
            bail!(
                Transform,
                "[vmap] Cannot vmap an input with zero dimensions."
            );
        }
        let nd = x.ndim() as isize;
        let a = if ax < 0 { ax + nd } else { ax };
        if a < 0 || a >= nd {
            bail!(
                Transform,
                "[vmap] Invalid vectorization axis {a} for array with shape {:?}",
                x.shape()
            );
        }
        let a = a as usize;
        let n = *x.shape().at(a)?;
        match size {
            Some(s) if s != n => bail!(Transform, "[vmap] Inconsistent axis sizes: {n} and {s}."),
            _ => size = Some(n),
        }
        axes.push(Some(a));
    }
    if size.is_none() {
        bail!(Transform, "At least one of in_axes must be non-None.");
    }
    Ok(axes)
}

/// Runs `f` on placeholders for the mapped inputs (the unmapped ones as they are).
fn trace<F>(f: &F, inputs: &[Array], axes: &[Option<usize>]) -> Result<(Vec<Array>, Vec<Array>)>
where
    F: Fn(&[Array]) -> Result<Vec<Array>>,
{
    let traced: Vec<Array> = inputs
        .iter()
        .zip(axes)
        .map(|(x, ax)| match ax {
            Some(a) => {
                let mut shape = x.shape().to_vec();
                shape.remove(*a);
                placeholder(shape, x.dtype())
            }
            None => x.clone(),
        })
        .collect();
    let outputs = {
        let _guard = TracingGuard::new();
        f(&traced)?
    };
    Ok((traced, outputs))
}

/// Replays the traced graph with every node that depends on a mapped input rebuilt by its
/// primitive's vmap rule, and places the mapped axis of each output at `out_axes`.
fn replace(
    inputs: &[Array],
    traced_inputs: &[Array],
    traced_outputs: &[Array],
    axes: &[Option<usize>],
    out_axes: &[isize],
) -> Result<Vec<Array>> {
    if out_axes.len() != traced_outputs.len() {
        bail!(
            Transform,
            "[vmap] The number of out axes ({}) must match the number of outputs ({}).",
            out_axes.len(),
            traced_outputs.len()
        );
    }
    let size = inputs
        .iter()
        .zip(axes)
        .find_map(|(x, ax)| ax.map(|a| x.shape().at(a).copied()))
        .ok_or_else(|| Error::Transform("At least one of in_axes must be non-None.".into()))??;

    // id of a traced array -> (its vectorised value, where that carries the mapped axis)
    let mut mapped: HashMap<usize, (Array, Option<usize>)> = HashMap::new();
    let mut cache: HashSet<usize> = HashSet::new();
    let mut needs: HashSet<usize> = HashSet::new();
    for ((t, x), ax) in traced_inputs.iter().zip(inputs).zip(axes) {
        if ax.is_some() {
            mapped.insert(t.id(), (x.clone(), *ax));
            needs.insert(t.id());
            cache.insert(t.id());
        }
    }
    // every node with an input that depends on a mapped input, inputs before consumers
    let tape = build_tape_with(traced_outputs, &mut cache, &mut needs, false);
    let mut done: HashSet<usize> = HashSet::new();
    for a in &tape {
        let Some(node) = a.node() else {
            continue;
        };
        let group = node.siblings.as_ref().map(|(s, _)| s.clone());
        if let Some(s) = &group {
            if !done.insert(s.key()) {
                continue;
            }
        }
        let mut v_inputs = Vec::with_capacity(node.inputs.len());
        let mut v_axes = Vec::with_capacity(node.inputs.len());
        for x in &node.inputs {
            match mapped.get(&x.id()) {
                Some((v, ax)) => {
                    v_inputs.push(v.clone());
                    v_axes.push(*ax);
                }
                None => {
                    v_inputs.push(x.clone());
                    v_axes.push(None);
                }
            }
        }
        let name = node.primitive.name();
        let (outs, out_ax) = if v_axes.iter().all(Option::is_none) {
            // every mapped input of this node turned out not to carry the mapped axis
            let outs = match &group {
                Some(s) => {
                    Array::from_primitive_multi(s.outputs.clone(), node.primitive.clone(), v_inputs)
                }
                None => vec![Array::from_primitive(
                    a.shape().to_vec(),
                    a.dtype(),
                    node.primitive.clone(),
                    v_inputs,
                )],
            };
            let n = outs.len();
            (outs, vec![None; n])
        } else {
            node.primitive.vmap(&v_inputs, &v_axes)?
        };
        // (id, shape, dtype) of each output of the traced node
        let originals: Vec<(Option<usize>, Vec<usize>, Dtype)> = match &group {
            Some(s) => s
                .outputs
                .iter()
                .enumerate()
                .map(|(k, (shape, dtype))| (s.id(k), shape.clone(), *dtype))
                .collect(),
            None => vec![(Some(a.id()), a.shape().to_vec(), a.dtype())],
        };
        if outs.len() != originals.len() || out_ax.len() != outs.len() {
            bail!(
                Transform,
                "vmap: the rule of {name} returned {} outputs ({} axes) for a node with {}",
                outs.len(),
                out_ax.len(),
                originals.len()
            );
        }
        for ((out, ax), (id, shape, dtype)) in outs.into_iter().zip(out_ax).zip(originals) {
            let mut expect = shape.clone();
            if let Some(ax) = ax {
                if ax > expect.len() {
                    bail!(
                        Transform,
                        "vmap: the rule of {name} put the mapped axis at {ax} of an output of rank {}",
                        expect.len() + 1
                    );
                }
                expect.insert(ax, size);
            }
            if out.shape() != expect.as_slice() || out.dtype() != dtype {
                bail!(
                    Transform,
                    "vmap: the rule of {name} returned {:?} {} where {:?} {} was expected",
                    out.shape(),
                    out.dtype(),
                    expect,
                    dtype
                );
            }
            if let Some(id) = id {
                mapped.insert(id, (out, ax));
            }
        }
    }

    traced_outputs
        .iter()
        .zip(out_axes)
        .map(|(t, &want)| {
            let nd = t.ndim() as isize + 1;
            let to = if want < 0 { want + nd } else { want };
            if to < 0 || to >= nd {
                bail!(
                    Transform,
                    "[vmap] Invalid output vectorization axis {want} for array with shape {:?}",
                    t.shape()
                );
            }
            let to = to as usize;
            match mapped.get(&t.id()) {
                Some((out, Some(from))) => crate::primitives::batching::move_axis(out, *from, to),
                Some((out, None)) => crate::primitives::batching::broadcast_mapped(out, size, to),
                // an output that does not depend on a mapped input is the same for every index
                None => crate::primitives::batching::broadcast_mapped(t, size, to),
            }
        })
        .collect()
}
