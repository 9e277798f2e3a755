//! [`checkpoint`]: trade compute for memory (MLX's `mx.checkpoint`).

use super::CustomFunction;
use crate::{Array, Result};

/// `f` as one graph node that keeps none of `f`'s intermediates: the forward pass computes only
/// the output, and the reverse pass re-runs `f` under [`vjp`](super::vjp) to differentiate it
/// (recomputation instead of storage). `f` must return exactly one array.
///
/// ```
/// use rmlx_core::{self as mx, Array, Result};
/// let layer = mx::checkpoint(|p: &[Array]| Ok(vec![(&(&p[0] * &p[0])? * &p[1])?]));
/// let loss = move |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![layer(p)?[0].sum(None, false)?]) };
/// let x = Array::from_slice(&[1.0f32, 2.0], &[2])?;
/// let w = Array::from_slice(&[3.0f32, 4.0], &[2])?;
/// let g = mx::grad(loss, &[0, 1])(&[x, w])?;
/// assert_eq!(g[0].to_vec::<f32>()?, vec![6.0, 16.0]); // 2 x w
/// assert_eq!(g[1].to_vec::<f32>()?, vec![1.0, 4.0]); // x²
/// # Ok::<(), mx::Error>(())
/// ```
pub fn checkpoint<F>(f: F) -> impl Fn(&[Array]) -> Result<Vec<Array>> + Clone + Send + Sync
where
    F: Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
{
    CustomFunction::new(f).named("Checkpoint").into_fn()
}
