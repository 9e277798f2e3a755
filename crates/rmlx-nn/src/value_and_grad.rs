//! `nn::value_and_grad`: the loss and the gradients of a model's trainable parameters
//! (MLX_SEMANTICS 72–79, with MLX's bugs 75 and 77 fixed as the rmlx decisions say).

use crate::module::update::update_skip_placeholders;
use crate::{Module, ModuleExt};
use rmlx_core::tree::{tree_flatten, tree_map, Tree};
use rmlx_core::{Array, Error, Result};
use std::cell::RefCell;

/// Evaluates `loss_fn(model)` and differentiates its first output with respect to the model's
/// trainable parameters, taken at call time. Returns the outputs (the loss first, then any
/// auxiliary arrays, whose gradients are stopped) and the gradients as a tree shaped exactly like
/// `model.trainable_parameters()` (`{}` for parameter-less or fully frozen modules; frozen list
/// elements stay `{}` placeholders and work, unlike in MLX). Frozen parameters get no gradient
/// and their reverse pass is pruned.
///
/// The model's parameters are the same arrays before and after the call. A model with nothing
/// trainable gives `Err("no trainable parameters: every parameter is frozen")`.
///
/// ```
/// use rmlx_core::{Array, Result};
/// use rmlx_nn::{value_and_grad, Keys, Linear, ModuleExt};
/// let mut l = Linear::new(2, 1, true)?;
/// l.freeze("weight")?;
/// let x = Array::from_slice(&[1.0f32, 2.0], &[1, 2])?;
/// let (outs, grads) = value_and_grad(&mut l, |m: &Linear| -> Result<Vec<Array>> {
///     Ok(vec![m.forward(&x)?.sum(None, false)?])
/// })?;
/// assert_eq!(outs.len(), 1);
/// let names: Vec<String> = grads.flatten().into_iter().map(|(k, _)| k).collect();
/// assert_eq!(names, ["bias"]);
/// assert_eq!(grads.get("bias").and_then(|t| t.as_leaf()).unwrap().to_vec::<f32>()?, vec![1.0]);
/// l.freeze(Keys::All)?;
/// let err = value_and_grad(&mut l, |m: &Linear| Ok(vec![m.weight.sum(None, false)?])).err().unwrap();
/// assert_eq!(err.to_string(), "no trainable parameters: every parameter is frozen");
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn value_and_grad<M, F>(model: &mut M, loss_fn: F) -> Result<(Vec<Array>, Tree<Array>)>
where
    M: Module + ?Sized,
    F: FnMut(&M) -> Result<Vec<Array>>,
{
    let (params, inputs) = trainable_leaves(&*model)?;
    let argnums: Vec<usize> = (0..inputs.len()).collect();
    let cell = RefCell::new((model, loss_fn));
    let rebuild = |xs: &[Array]| refill(&params, xs);
    let f = |xs: &[Array]| -> Result<Vec<Array>> {
        let mut guard = cell.borrow_mut();
        let (m, loss) = &mut *guard;
        update_skip_placeholders(m.as_module_mut(), &rebuild(xs))?;
        loss(&**m)
    };
    let result = rmlx_core::value_and_grad(f, &argnums)(&inputs);
    // put the original arrays back whatever happened
    {
        let mut guard = cell.borrow_mut();
        update_skip_placeholders(guard.0.as_module_mut(), &params)?;
    }
    let (outs, grads) = result?;
    if grads.len() != inputs.len() {
        return Err(Error::Transform(format!(
            "value_and_grad: expected {} gradients, got {}",
            inputs.len(),
            grads.len()
        )));
    }
    Ok((outs, rebuild(&grads)))
}

/// Per-example gradients (MLX's `mx.vmap(mx.grad(loss_fn), in_axes=(None, 0, 0))` over a
/// model's trainable parameters): for every index `i` of axis 0 of the arrays in `data`, the
/// gradient of `loss_fn(model, &[data[0][i], data[1][i], ...])` (a scalar, for one example) with
/// respect to each trainable parameter. Returns a tree shaped like
/// `model.trainable_parameters()` whose leaves carry the examples along a new axis 0: a weight
/// `[out, in]` gets `[n, out, in]`. Frozen parameters get no gradient and their reverse pass is
/// pruned, as in [`value_and_grad`].
///
/// The examples are computed together by `vmap` (the example axis moves through every
/// operation), not one after another. Inside `loss_fn` the data arrays are one example each,
/// without the example axis.
///
/// ```
/// use rmlx_core::{Array, Result};
/// use rmlx_nn::{per_example_grads, Linear, ModuleExt};
/// let mut l = Linear::new(2, 1, true)?;
/// l.freeze("weight")?;
/// let x = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2])?;
/// let g = per_example_grads(&mut l, &[x], |m: &Linear, d: &[Array]| {
///     (&m.forward(&d[0])? * 2.0)?.sum(None, false)
/// })?;
/// let names: Vec<String> = g.flatten().into_iter().map(|(k, _)| k).collect();
/// assert_eq!(names, ["bias"]);
/// let b = g.get("bias").and_then(|t| t.as_leaf()).unwrap();
/// assert_eq!(b.shape(), &[3, 1]);
/// assert_eq!(b.to_vec::<f32>()?, vec![2.0, 2.0, 2.0]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn per_example_grads<M, F>(model: &mut M, data: &[Array], loss_fn: F) -> Result<Tree<Array>>
where
    M: Module + ?Sized,
    F: FnMut(&M, &[Array]) -> Result<Array>,
{
    let (params, leaves) = trainable_leaves(&*model)?;
    if data.is_empty() {
        return Err(Error::Value(
            "per_example_grads: no data arrays to take the examples from".into(),
        ));
    }
    let np = leaves.len();
    let argnums: Vec<usize> = (0..np).collect();
    let cell = RefCell::new((model, loss_fn));
    let rebuild = |xs: &[Array]| refill(&params, xs);
    let f = |xs: &[Array]| -> Result<Vec<Array>> {
        let mut guard = cell.borrow_mut();
        let (m, loss) = &mut *guard;
        let (params, data) = xs.split_at_checked(np).ok_or_else(|| {
            rmlx_core::Error::Value("value_and_grad: fewer inputs than parameters".into())
        })?;
        update_skip_placeholders(m.as_module_mut(), &rebuild(params))?;
        Ok(vec![loss(&**m, data)?])
    };
    let mut inputs = leaves.clone();
    inputs.extend_from_slice(data);
    let mut in_axes = vec![None; np];
    in_axes.extend(std::iter::repeat_n(Some(0), data.len()));
    let result = rmlx_core::vmap(rmlx_core::grad(f, &argnums), &in_axes, &[])(&inputs);
    {
        let mut guard = cell.borrow_mut();
        update_skip_placeholders(guard.0.as_module_mut(), &params)?;
    }
    let grads = result?;
    if grads.len() != np {
        return Err(Error::Transform(format!(
            "per_example_grads: expected {np} gradients, got {}",
            grads.len()
        )));
    }
    Ok(rebuild(&grads))
}

/// The model's trainable parameters and their leaves in flatten order, or the error for a model
/// with nothing trainable.
fn trainable_leaves<M: Module + ?Sized>(model: &M) -> Result<(Tree<Array>, Vec<Array>)> {
    let params = model.trainable_parameters();
    let leaves: Vec<Array> = tree_flatten(&params)
        .into_iter()
        .map(|(_, a)| a.clone())
        .collect();
    if leaves.is_empty() {
        return Err(Error::Value(
            "no trainable parameters: every parameter is frozen".into(),
        ));
    }
    Ok((params, leaves))
}

/// `params` with its leaves replaced, in flatten order, by `xs` (the originals past its end).
fn refill(params: &Tree<Array>, xs: &[Array]) -> Tree<Array> {
    let mut i = 0;
    tree_map(params, |orig| {
        let a = xs.get(i).cloned().unwrap_or_else(|| orig.clone());
        i += 1;
        a
    })
}
