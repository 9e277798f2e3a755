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
    let params = model.trainable_parameters();
    let inputs: Vec<Array> = tree_flatten(&params)
        .into_iter()
        .map(|(_, a)| a.clone())
        .collect();
    if inputs.is_empty() {
        return Err(Error::Value(
            "no trainable parameters: every parameter is frozen".into(),
        ));
    }
    let argnums: Vec<usize> = (0..inputs.len()).collect();
    let cell = RefCell::new((model, loss_fn));
    let rebuild = |xs: &[Array]| -> Tree<Array> {
        let mut i = 0;
        tree_map(&params, |orig| {
            let a = xs.get(i).cloned().unwrap_or_else(|| orig.clone());
            i += 1;
            a
        })
    };
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
