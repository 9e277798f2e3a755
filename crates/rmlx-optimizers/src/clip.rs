//! Gradient clipping by global norm.

use rmlx_core::{bail, Array, Dtype, Result};

use crate::math::{sqrt, square, where_};
use crate::pyfmt::py_float;

/// Clips the global norm of `grads` to `max_norm`, as MLX's `clip_grad_norm`: returns the
/// (possibly) rescaled gradients and the original total norm (a 0-d array).
///
/// The norm is `sqrt(Σ Σ g²)`, accumulated in float32 (float64 for float64 gradients; fp16 and
/// bf16 squares are summed in float32). Gradients are unchanged when the norm is below
/// `max_norm`, and otherwise multiplied by `max_norm / (norm + 1e-6)` (cast to their dtype).
/// A negative `max_norm` is an error.
///
/// ```
/// use rmlx_core::Array;
/// use rmlx_optimizers::clip_grad_norm;
/// let g = vec![("w".to_string(), Array::from_slice(&[3.0f32, 4.0], &[2])?)];
/// let (clipped, norm) = clip_grad_norm(&g, 1.0)?;
/// assert_eq!(norm.item::<f32>()?, 5.0);
/// let c = clipped[0].1.to_vec::<f32>()?;
/// assert!((c[0] - 0.6).abs() < 1e-6 && (c[1] - 0.8).abs() < 1e-6);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn clip_grad_norm(
    grads: &[(String, Array)],
    max_norm: f64,
) -> Result<(Vec<(String, Array)>, Array)> {
    if max_norm.is_nan() || max_norm < 0.0 {
        bail!(
            Value,
            "clip_grad_norm: max_norm should be >=0, {} was provided instead",
            py_float(max_norm)
        );
    }
    let mut acc = Array::scalar(0.0f32);
    for (_, g) in grads {
        let d = Dtype::promote(g.dtype(), Dtype::F32);
        let s = square(&g.astype(d)?)?.sum(None::<&[isize]>, false)?;
        acc = (&acc + &s)?;
    }
    let total = sqrt(&acc)?;
    let normalizer = (max_norm / (&total + 1e-6)?)?;
    // MLX: where(total_norm < max_norm, g, g * normalizer): below the limit, bit-identical.
    let below = rmlx_core::less(&total, &Array::scalar_as(max_norm, total.dtype()))?;
    let clipped = grads
        .iter()
        .map(|(k, g)| {
            let scaled = (g * normalizer.astype(g.dtype())?)?;
            Ok((k.clone(), where_(&below, g, &scaled)?))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((clipped, total))
}

/// [`clip_grad_norm`] on a gradient tree: the clipped tree has the same structure (`{}`
/// placeholders are kept, MLX_SEMANTICS 85) and the total norm is over its leaves.
///
/// ```
/// use rmlx_core::{tree::tree_unflatten, Array};
/// use rmlx_optimizers::clip::clip_grad_norm_tree;
/// let g = tree_unflatten(vec![("a.1".to_string(), Array::from_slice(&[6.0f32, 8.0], &[2])?)])?;
/// let (c, norm) = clip_grad_norm_tree(&g, 5.0)?;
/// assert_eq!(norm.item::<f32>()?, 10.0);
/// assert!(c.get("a.0").unwrap().is_empty()); // the placeholder survives
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn clip_grad_norm_tree(
    grads: &rmlx_core::tree::Tree<Array>,
    max_norm: f64,
) -> Result<(rmlx_core::tree::Tree<Array>, Array)> {
    let flat: Vec<(String, Array)> = rmlx_core::tree::tree_flatten(grads)
        .into_iter()
        .map(|(k, g)| (k, g.clone()))
        .collect();
    let (clipped, total) = clip_grad_norm(&flat, max_norm)?;
    let map: std::collections::HashMap<String, Array> = clipped.into_iter().collect();
    let tree = rmlx_core::tree::try_tree_map(grads, |path, g| {
        Ok(map.get(path).cloned().unwrap_or_else(|| g.clone()))
    })?;
    Ok((tree, total))
}
