//! Gradient clipping by global norm.

use rmlx_core::{bail, Array, Dtype, Result};

use crate::math::{map2, sqrt, square};
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
    // where(total < max_norm, 1, normalizer): below the limit gradients stay bit-identical.
    let scale = map2("clip_grad_norm", &total, &normalizer, move |n, z| {
        if n < max_norm {
            1.0
        } else {
            z
        }
    })?;
    let clipped = grads
        .iter()
        .map(|(k, g)| Ok((k.clone(), (g * scale.astype(g.dtype())?)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok((clipped, total))
}
