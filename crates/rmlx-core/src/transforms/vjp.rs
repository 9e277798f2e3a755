//! Reverse mode: [`vjp`] and [`vjp_with_argnums`], with MLX's two-part gradient pruning.

use std::collections::{HashMap, HashSet};

use super::{fmt_shape, make_tracer, zeros_like, STOP_GRADIENT};
use crate::checked::Checked;
use crate::context::TracingGuard;
use crate::graph::{Node, Siblings};
use crate::{bail, Array, Result};

/// Vector-Jacobian product of `f` at `primals` for the output `cotangents`: returns `f`'s outputs
/// and one cotangent per primal (MLX's `mx.vjp`).
///
/// Outputs produced by [`stop_gradient`](super::stop_gradient) take no cotangent; the others are
/// paired with `cotangents` in order and must match their shapes. Each cotangent is cast to its
/// output's dtype. A primal the outputs do not depend on gets zeros.
///
/// ```
/// use rmlx_core::{self as mx, Array, Result};
/// let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&p[0] * &p[1])?]) };
/// let x = Array::from_slice(&[1.0f32, 2.0], &[2])?;
/// let y = Array::from_slice(&[3.0f32, 4.0], &[2])?;
/// let c = Array::from_slice(&[1.0f32, 10.0], &[2])?;
/// let (outs, vjps) = mx::vjp(f, &[x, y], &[c])?;
/// assert_eq!(outs[0].to_vec::<f32>()?, vec![3.0, 8.0]);
/// assert_eq!(vjps[0].to_vec::<f32>()?, vec![3.0, 40.0]); // c * y
/// assert_eq!(vjps[1].to_vec::<f32>()?, vec![1.0, 20.0]); // c * x
/// # Ok::<(), mx::Error>(())
/// ```
pub fn vjp<F>(f: F, primals: &[Array], cotangents: &[Array]) -> Result<(Vec<Array>, Vec<Array>)>
where
    F: Fn(&[Array]) -> Result<Vec<Array>>,
{
    let argnums: Vec<usize> = (0..primals.len()).collect();
    vjp_with_argnums(f, primals, cotangents, &argnums)
}

/// [`vjp`] computing cotangents only for the primals at `argnums` (returned in `argnums` order).
///
/// Only nodes on a path from one of those primals to an output are differentiated, and each node
/// is asked only for the cotangents of its inputs on such a path: this is where the gradients of
/// everything else (frozen parameters, data) are pruned.
pub fn vjp_with_argnums<F>(
    f: F,
    primals: &[Array],
    cotangents: &[Array],
    argnums: &[usize],
) -> Result<(Vec<Array>, Vec<Array>)>
where
    F: Fn(&[Array]) -> Result<Vec<Array>>,
{
    check_argnums("vjp", argnums, primals.len())?;
    let tracers: Vec<Array> = primals.iter().map(make_tracer).collect();
    let outputs = {
        let _guard = TracingGuard::new();
        f(&tracers)?
    };
    let pairs = pair_cotangents(&outputs, cotangents)?;

    // Pruning, part 1: the tape holds only nodes with an input that leads to a differentiated
    // primal. Everything else (including anything under a StopGradient) is left out.
    let mut cache: HashSet<usize> = tracers.iter().map(Array::id).collect();
    let mut calc_grad = argnums
        .iter()
        .map(|&i| tracers.at(i).map(Array::id))
        .collect::<Result<HashSet<usize>>>()?;
    let tape = build_tape(&outputs, &mut cache, &mut calc_grad);

    // Pruning, part 2: walk the tape backwards asking each node only for the inputs in calc_grad.
    let mut cotan_map: HashMap<usize, Array> = HashMap::new();
    for (oi, ci) in pairs {
        let out = outputs.at(oi)?;
        let c = cotangents.at(ci)?.astype(out.dtype())?;
        accumulate(&mut cotan_map, out.id(), c)?;
    }
    // A multi-output node is differentiated once, at its earliest output on the tape: every
    // consumer of any of its outputs comes later on the tape, so all their cotangents are in.
    let mut first_of: HashMap<usize, usize> = HashMap::new();
    for (i, a) in tape.iter().enumerate() {
        if let Some((s, _)) = a.sibling_group() {
            first_of.entry(s.key()).or_insert(i);
        }
    }
    for (idx, a) in tape.iter().enumerate().rev() {
        let Some(node) = a.node() else {
            continue;
        };
        let (cotangents, outputs) = match &node.siblings {
            None => {
                let Some(c) = cotan_map.remove(&a.id()) else {
                    continue;
                };
                (vec![c], vec![a.clone()])
            }
            Some((s, _)) => {
                if first_of.get(&s.key()) != Some(&idx) {
                    continue;
                }
                let cots: Vec<Option<Array>> = (0..s.outputs.len())
                    .map(|k| s.id(k).and_then(|id| cotan_map.remove(&id)))
                    .collect();
                if cots.iter().all(Option::is_none) {
                    continue;
                }
                let cots = cots
                    .into_iter()
                    .zip(&s.outputs)
                    .map(|(c, (shape, dtype))| match c {
                        Some(c) => Ok(c),
                        None => crate::ops::zeros(shape, *dtype),
                    })
                    .collect::<Result<Vec<_>>>()?;
                (cots, sibling_outputs(&node, s)?)
            }
        };
        let node_argnums: Vec<usize> = node
            .inputs
            .iter()
            .enumerate()
            .filter(|(_, x)| calc_grad.contains(&x.id()))
            .map(|(i, _)| i)
            .collect();
        let vjps = node
            .primitive
            .vjp_multi(&node.inputs, &cotangents, &outputs, &node_argnums)?;
        if vjps.len() != node_argnums.len() {
            bail!(
                Transform,
                "vjp: primitive {} returned {} cotangents for {} requested inputs",
                node.primitive.name(),
                vjps.len(),
                node_argnums.len()
            );
        }
        for (v, &i) in vjps.into_iter().zip(&node_argnums) {
            let input = node.inputs.at(i)?;
            if v.shape() != input.shape() {
                bail!(
                    Transform,
                    "vjp: primitive {} returned a cotangent of shape {:?} for input {} of shape {:?}",
                    node.primitive.name(),
                    v.shape(),
                    i,
                    input.shape()
                );
            }
            accumulate(&mut cotan_map, input.id(), v)?;
        }
    }
    let vjps = argnums
        .iter()
        .map(|&i| match cotan_map.remove(&tracers.at(i)?.id()) {
            Some(c) => Ok(c),
            None => zeros_like(primals.at(i)?),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((outputs, vjps))
}

/// Every output of a multi-output node: the live ones as they are, a dropped one recomputed
/// (lazily, from the same primitive and inputs) for the rules that read output values.
fn sibling_outputs(node: &Node, s: &Siblings) -> Result<Vec<Array>> {
    let mut fresh: Option<Vec<Array>> = None;
    (0..s.outputs.len())
        .map(|k| match s.get(k) {
            Some(a) => Ok(a),
            None => fresh
                .get_or_insert_with(|| {
                    Array::from_primitive_multi(
                        s.outputs.clone(),
                        node.primitive.clone(),
                        node.inputs.clone(),
                    )
                })
                .at(k)
                .cloned(),
        })
        .collect()
}

/// Rejects out-of-range and repeated argument numbers (MLX's messages).
pub(crate) fn check_argnums(op: &str, argnums: &[usize], n_inputs: usize) -> Result<()> {
    let mut seen = HashSet::new();
    for &a in argnums {
        if a >= n_inputs {
            bail!(
                Transform,
                "[{op}] Invalid argument number {a} for function with {n_inputs} inputs."
            );
        }
        if !seen.insert(a) {
            bail!(
                Transform,
                "[{op}] Repeat argument number {a} not allowed in {op}."
            );
        }
    }
    Ok(())
}

/// Pairs each output not produced by StopGradient with the next cotangent, checking counts and
/// shapes. Returns (output index, cotangent index) pairs.
fn pair_cotangents(outputs: &[Array], cotangents: &[Array]) -> Result<Vec<(usize, usize)>> {
    let mut pairs = Vec::new();
    let mut ci = 0;
    for (i, out) in outputs.iter().enumerate() {
        if out.primitive_name() == Some(STOP_GRADIENT) {
            continue;
        }
        if ci >= cotangents.len() {
            bail!(
                Transform,
                "[vjp] Number of outputs to compute gradients for ({}) does not match number of cotangents ({}).",
                outputs.len(),
                cotangents.len()
            );
        }
        let c = cotangents.at(ci)?;
        if out.shape() != c.shape() {
            let mut msg = format!(
                "[vjp] Output shape {} does not match cotangent shape {}.",
                fmt_shape(out.shape()),
                fmt_shape(c.shape())
            );
            if outputs.len() == 1 && out.size() == 1 {
                msg.push_str(" If you are using grad your function must return a scalar.");
            }
            return Err(crate::Error::Transform(msg));
        }
        pairs.push((i, ci));
        ci += 1;
    }
    if ci != cotangents.len() {
        bail!(
            Transform,
            "[vjp] Number of outputs to compute gradients for ({}) does not match number of cotangents ({}).",
            ci,
            cotangents.len()
        );
    }
    Ok(pairs)
}

/// Iterative post-order DFS from `outputs` over tracer nodes. A node joins the tape (and
/// `calc_grad`) when one of its inputs is in `calc_grad`; StopGradient nodes never do. Arrays in
/// `cache` (the primals' tracers) are not descended into. Non-tracer arrays cannot depend on a
/// tracer, so they are skipped.
pub(crate) fn build_tape(
    outputs: &[Array],
    cache: &mut HashSet<usize>,
    calc_grad: &mut HashSet<usize>,
) -> Vec<Array> {
    build_tape_with(outputs, cache, calc_grad, true)
}

pub(crate) fn build_tape_with(
    outputs: &[Array],
    cache: &mut HashSet<usize>,
    calc_grad: &mut HashSet<usize>,
    respect_stop_gradient: bool,
) -> Vec<Array> {
    let mut tape = Vec::new();
    // (array, its inputs, next input to visit)
    let mut stack: Vec<(Array, Vec<Array>, usize)> = Vec::new();
    for out in outputs {
        if !out.0.tracer || !cache.insert(out.id()) {
            continue;
        }
        stack.push((out.clone(), out.inputs(), 0));
        while let Some((_, inputs, next)) = stack.last_mut() {
            if let Some(child) = inputs.get(*next).cloned() {
                *next += 1;
                if child.0.tracer && cache.insert(child.id()) {
                    let grandchildren = child.inputs();
                    stack.push((child, grandchildren, 0));
                }
                continue;
            }
            let Some((a, inputs, _)) = stack.pop() else {
                break;
            };
            if respect_stop_gradient && a.primitive_name() == Some(STOP_GRADIENT) {
                continue;
            }
            if inputs.iter().any(|x| calc_grad.contains(&x.id())) {
                calc_grad.insert(a.id());
                tape.push(a);
            }
        }
    }
    tape
}

/// Adds `c` to the cotangent (or tangent) recorded for `id`.
pub(crate) fn accumulate(map: &mut HashMap<usize, Array>, id: usize, c: Array) -> Result<()> {
    let v = match map.remove(&id) {
        Some(prev) => (&prev + &c)?,
        None => c,
    };
    map.insert(id, v);
    Ok(())
}
