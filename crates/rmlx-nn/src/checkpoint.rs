//! [`checkpoint`]: gradient checkpointing of a module call (MLX's `nn.utils.checkpoint`).

use crate::module::update::update_skip_placeholders;
use crate::{Module, ModuleExt};
use rmlx_core::tree::{tree_flatten, tree_map};
use rmlx_core::{Array, Result};
use std::sync::Arc;

/// `f(module, inputs)` as one recomputed node: the forward pass keeps none of `f`'s
/// intermediates, and the backward pass re-runs `f` to differentiate it, with respect to the
/// module's **trainable parameters** and the inputs (MLX's `nn.utils.checkpoint(module, fn)`,
/// built on [`rmlx_core::checkpoint`]). `f` must return exactly one array.
///
/// The module is captured when `checkpoint` is called (a cheap clone: arrays are shared handles),
/// so call `checkpoint` right before the call, as MLX's Transformer does. Frozen parameters are
/// constants of the checkpointed function (they get no gradient, as without checkpointing).
/// Random draws inside `f` (dropout in training mode) are redrawn when `f` is re-run, as in MLX,
/// so checkpointing a layer with active dropout changes its gradients.
///
/// ```
/// use rmlx_core::{Array, Result};
/// use rmlx_nn::{checkpoint, value_and_grad, Linear};
/// let mut l = Linear::new(2, 3, true)?;
/// let x = Array::from_slice(&[1.0f32, 2.0], &[1, 2])?;
/// let plain = value_and_grad(&mut l, |m: &Linear| Ok(vec![m.forward(&x)?.sum(None, false)?]))?;
/// let ck = value_and_grad(&mut l, |m: &Linear| {
///     let f = checkpoint(m, |m: &Linear, xs: &[Array]| Ok(vec![m.forward(&xs[0])?]));
///     Ok(vec![f(&[x.clone()])?[0].sum(None, false)?])
/// })?;
/// assert_eq!(plain.0[0].item::<f32>()?, ck.0[0].item::<f32>()?);
/// let g = |t: &rmlx_core::tree::Tree<Array>| t.get("weight").and_then(|w| w.as_leaf()).unwrap().to_vec::<f32>();
/// assert_eq!(g(&plain.1)?, g(&ck.1)?);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn checkpoint<M, F>(
    module: &M,
    f: F,
) -> impl Fn(&[Array]) -> Result<Vec<Array>> + Clone + Send + Sync
where
    M: Module + Clone + Send + Sync,
    F: Fn(&M, &[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
{
    let params = Arc::new(module.trainable_parameters());
    let flat: Vec<Array> = tree_flatten(&params)
        .into_iter()
        .map(|(_, a)| a.clone())
        .collect();
    let n = flat.len();
    let template = Arc::new(module.clone());
    let inner = rmlx_core::checkpoint(move |all: &[Array]| -> Result<Vec<Array>> {
        let mut m = (*template).clone();
        let mut i = 0;
        let tree = tree_map(&params, |orig| {
            let a = all.get(i).cloned().unwrap_or_else(|| orig.clone());
            i += 1;
            a
        });
        update_skip_placeholders(m.as_module_mut(), &tree)?;
        f(&m, all.get(n..).unwrap_or(&[]))
    });
    move |inputs: &[Array]| {
        let mut all = flat.clone();
        all.extend_from_slice(inputs);
        inner(&all)
    }
}
