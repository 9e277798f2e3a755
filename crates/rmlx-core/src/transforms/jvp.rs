//! Forward mode: [`jvp`].

use std::collections::{HashMap, HashSet};

use super::vjp::build_tape_with;
use super::{fmt_shape, make_tracer, zeros_like};
use crate::checked::Checked;
use crate::context::TracingGuard;
use crate::{bail, Array, Result};

/// Jacobian-vector product of `f` at `primals` along `tangents` (one per primal, same shapes):
/// returns `f`'s outputs and their tangents (MLX's `mx.jvp`). An output that does not depend on
/// any primal gets a zero tangent.
///
/// ```
/// use rmlx_core::{self as mx, Array, Result};
/// let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&p[0] * &p[0])?]) };
/// let x = Array::from_slice(&[1.0f32, 2.0], &[2])?;
/// let t = Array::from_slice(&[1.0f32, 0.5], &[2])?;
/// let (outs, tans) = mx::jvp(f, &[x], &[t])?;
/// assert_eq!(outs[0].to_vec::<f32>()?, vec![1.0, 4.0]);
/// assert_eq!(tans[0].to_vec::<f32>()?, vec![2.0, 2.0]); // 2 x t
/// # Ok::<(), mx::Error>(())
/// ```
pub fn jvp<F>(f: F, primals: &[Array], tangents: &[Array]) -> Result<(Vec<Array>, Vec<Array>)>
where
    F: Fn(&[Array]) -> Result<Vec<Array>>,
{
    check_tangent_count(primals.len(), tangents.len())?;
    for (i, (p, t)) in primals.iter().zip(tangents).enumerate() {
        if p.shape() != t.shape() {
            bail!(
                Transform,
                "[jvp] Input shape does not match shape of tangent (input {i}: {} vs tangent {}).",
                fmt_shape(p.shape()),
                fmt_shape(t.shape())
            );
        }
    }
    let tracers: Vec<Array> = primals.iter().map(make_tracer).collect();
    let outputs = {
        let _guard = TracingGuard::new();
        f(&tracers)?
    };
    let mut cache: HashSet<usize> = tracers.iter().map(Array::id).collect();
    let mut calc_grad = cache.clone();
    let tape = build_tape_with(&outputs, &mut cache, &mut calc_grad, false);

    let mut tan_map: HashMap<usize, Array> = tracers
        .iter()
        .zip(tangents)
        .map(|(p, t)| (p.id(), t.clone()))
        .collect();
    for a in &tape {
        let Some(node) = a.node() else {
            continue;
        };
        let mut argnums = Vec::new();
        let mut tans = Vec::new();
        for (i, x) in node.inputs.iter().enumerate() {
            if let Some(t) = tan_map.get(&x.id()) {
                argnums.push(i);
                tans.push(t.clone());
            }
        }
        if argnums.is_empty() {
            continue;
        }
        let Some((s, _)) = &node.siblings else {
            let t = node.primitive.jvp(&node.inputs, &tans, &argnums)?;
            check_tangent_shape(node.primitive.name(), &t, a.shape())?;
            tan_map.insert(a.id(), t);
            continue;
        };
        // a multi-output node: its first output on the tape computes every output's tangent
        if tan_map.contains_key(&a.id()) {
            continue;
        }
        let ts = node.primitive.jvp_multi(&node.inputs, &tans, &argnums)?;
        if ts.len() != s.outputs.len() {
            bail!(
                Transform,
                "jvp: primitive {} returned {} tangents for {} outputs",
                node.primitive.name(),
                ts.len(),
                s.outputs.len()
            );
        }
        for (k, t) in ts.into_iter().enumerate() {
            check_tangent_shape(node.primitive.name(), &t, &s.outputs.at(k)?.0)?;
            if let Some(id) = s.id(k) {
                tan_map.insert(id, t);
            }
        }
    }
    let tans = outputs
        .iter()
        .map(|o| match tan_map.get(&o.id()) {
            Some(t) => Ok(t.clone()),
            None => zeros_like(o),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((outputs, tans))
}

fn check_tangent_shape(name: &str, t: &Array, shape: &[usize]) -> Result<()> {
    if t.shape() != shape {
        bail!(
            Transform,
            "jvp: primitive {name} returned a tangent of shape {:?} for an output of shape {:?}",
            t.shape(),
            shape
        );
    }
    Ok(())
}

/// MLX's check that every primal has a tangent.
pub(super) fn check_tangent_count(primals: usize, tangents: usize) -> Result<()> {
    if primals != tangents {
        bail!(
            Transform,
            "[jvp] Number of inputs does not match number of tangents ({primals} inputs, {tangents} tangents)."
        );
    }
    Ok(())
}
