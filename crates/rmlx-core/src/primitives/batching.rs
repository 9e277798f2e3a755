//! The building blocks of vmap rules ([`Primitive::vmap`](super::Primitive::vmap)).
//!
//! A rule receives its inputs already vectorised: input `i` carries the mapped dimension at
//! `axes[i]`, or does not carry it (`None`: the same value for every mapped index). Most rules
//! keep the mapped axis where it is and only renumber their own axis parameters
//! ([`shift_axis`]); elementwise rules bring their inputs to one common axis
//! ([`align_elementwise`]); rules over "the last axes" or with fixed-rank inputs move it to the
//! front ([`to_front`], [`all_front`]). Moving is a transpose view, never a loop over the
//! mapped index.

use crate::{bail, Array, Result};

/// The size of the mapped dimension: the length of the first mapped input's mapped axis (the
/// vmap driver has checked that all agree). `name` is the primitive, for the error when no
/// input is mapped.
pub fn batch_size(name: &str, inputs: &[Array], axes: &[Option<usize>]) -> Result<usize> {
    for (x, ax) in inputs.iter().zip(axes) {
        if let Some(a) = ax {
            match x.shape().get(*a) {
                Some(&n) => return Ok(n),
                None => bail!(
                    Transform,
                    "vmap: {name} got mapped axis {a} for an input of shape {:?}",
                    x.shape()
                ),
            }
        }
    }
    bail!(
        Transform,
        "vmap: {name} was asked to vectorise with no mapped input"
    )
}

/// The position axis `axis` of the unmapped computation has in an input whose mapped axis is at
/// `mapped`: one further when the mapped axis was inserted before it.
///
/// ```
/// use rmlx_core::primitives::batching::shift_axis;
/// assert_eq!(shift_axis(2, 0), 3);
/// assert_eq!(shift_axis(2, 3), 2);
/// assert_eq!(shift_axis(2, 2), 3);
/// ```
pub fn shift_axis(axis: usize, mapped: usize) -> usize {
    if axis >= mapped {
        axis + 1
    } else {
        axis
    }
}

/// `x` with its axis `from` moved to `to` (`x` itself when they are equal).
pub fn move_axis(x: &Array, from: usize, to: usize) -> Result<Array> {
    if from == to {
        return Ok(x.clone());
    }
    x.moveaxis(from as isize, to as isize)
}

/// `x` with its mapped axis first; an unmapped input is returned as it is.
pub fn to_front(x: &Array, axis: Option<usize>) -> Result<Array> {
    match axis {
        Some(a) => move_axis(x, a, 0),
        None => Ok(x.clone()),
    }
}

/// `x` (unmapped) broadcast with a mapped axis of size `n` inserted at `at` (a view).
pub fn broadcast_mapped(x: &Array, n: usize, at: usize) -> Result<Array> {
    let mut shape = x.shape().to_vec();
    shape.insert(at, n);
    x.expand_dims(at as isize)?.broadcast_to(&shape)
}

/// Every input with its mapped axis first; unmapped inputs broadcast (as views) to carry it, so
/// all inputs have the mapped axis at 0. Returns the inputs and the mapped size.
pub fn all_front(
    name: &str,
    inputs: &[Array],
    axes: &[Option<usize>],
) -> Result<(Vec<Array>, usize)> {
    let n = batch_size(name, inputs, axes)?;
    let out = inputs
        .iter()
        .zip(axes)
        .map(|(x, ax)| match ax {
            Some(a) => move_axis(x, *a, 0),
            None => broadcast_mapped(x, n, 0),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((out, n))
}

/// The inputs of an elementwise primitive (all of one shape in the unmapped computation) with
/// the mapped axis at one common position: the axis the mapped inputs share when they agree
/// (nothing moves), else 0. Unmapped inputs get a size-1 axis there (they broadcast) or, with
/// `full`, are broadcast to the full mapped shape (for primitives that need equal shapes).
/// Returns the inputs and the common axis.
pub fn align_elementwise(
    name: &str,
    inputs: &[Array],
    axes: &[Option<usize>],
    full: bool,
) -> Result<(Vec<Array>, usize)> {
    let n = batch_size(name, inputs, axes)?;
    let mut mapped = axes.iter().flatten();
    let first = *mapped.next().unwrap_or(&0);
    let target = if mapped.all(|&a| a == first) {
        first
    } else {
        0
    };
    let out = inputs
        .iter()
        .zip(axes)
        .map(|(x, ax)| match ax {
            Some(a) => move_axis(x, *a, target),
            None if full => broadcast_mapped(x, n, target),
            None if target == 0 => Ok(x.clone()),
            None => x.expand_dims(target as isize),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((out, target))
}

/// The rule's answer when every output carries the mapped axis at `axis`.
pub fn outputs_at(outputs: Vec<Array>, axis: usize) -> super::Vmapped {
    let axes = vec![Some(axis); outputs.len()];
    (outputs, axes)
}

/// The only input of a unary rule and its mapped axis, or an error naming the primitive.
pub fn single(name: &str, inputs: &[Array], axes: &[Option<usize>]) -> Result<(Array, usize)> {
    match (inputs.first(), axes.first()) {
        (Some(x), Some(Some(a))) if *a < x.ndim() => Ok((x.clone(), *a)),
        (Some(x), Some(Some(a))) => bail!(
            Transform,
            "vmap: {name} got mapped axis {a} for an input of shape {:?}",
            x.shape()
        ),
        _ => bail!(
            Transform,
            "vmap: {name} expects one mapped input, got {} inputs with axes {axes:?}",
            inputs.len()
        ),
    }
}
