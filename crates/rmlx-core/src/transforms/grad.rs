//! [`grad`] and [`value_and_grad`]: reverse mode seeded with `1` for a scalar output.

use super::vjp::vjp_with_argnums;
use crate::checked::Checked;
use crate::{bail, Array, Result};

/// Returns a function computing `f`'s outputs and the gradients of its first output (a scalar)
/// with respect to the inputs at `argnums` (in `argnums` order), MLX's `mx.value_and_grad`.
///
/// Every output after the first is auxiliary: it is returned with its gradient stopped. The seed
/// cotangent is `1` in the first output's dtype. Errors (at call time): an empty `argnums`
/// (`[grad] Must specify at least one argument.`), an argument number out of range or repeated, a
/// function returning no outputs, and a non-scalar first output (`[vjp] Output shape (4,1) does
/// not match cotangent shape ().`).
///
/// ```
/// use rmlx_core::{self as mx, Array, Result};
/// // loss = sum(w * x), aux = x + 1
/// let f = |p: &[Array]| -> Result<Vec<Array>> {
///     Ok(vec![(&p[0] * &p[1])?.sum(None, false)?, (&p[1] + 1.0)?])
/// };
/// let w = Array::from_slice(&[1.0f32, 2.0], &[2])?;
/// let x = Array::from_slice(&[3.0f32, 4.0], &[2])?;
/// let (vals, grads) = mx::value_and_grad(f, &[1, 0])(&[w, x])?;
/// assert_eq!(vals[0].item::<f32>()?, 11.0);
/// assert_eq!(vals[1].to_vec::<f32>()?, vec![4.0, 5.0]);
/// assert_eq!(grads[0].to_vec::<f32>()?, vec![1.0, 2.0]); // d/dx = w
/// assert_eq!(grads[1].to_vec::<f32>()?, vec![3.0, 4.0]); // d/dw = x
/// # Ok::<(), mx::Error>(())
/// ```
pub fn value_and_grad<F>(
    f: F,
    argnums: &[usize],
) -> impl Fn(&[Array]) -> Result<(Vec<Array>, Vec<Array>)>
where
    F: Fn(&[Array]) -> Result<Vec<Array>>,
{
    let argnums = argnums.to_vec();
    move |inputs: &[Array]| {
        let sorted = check_grad_argnums(&argnums, inputs.len())?;
        let gfun = |x: &[Array]| stop_aux_gradients(f(x)?);
        let seed = Array::scalar(1.0f32);
        let (outs, grads) = vjp_with_argnums(gfun, inputs, &[seed], &sorted)?;
        // back to the caller's argnums order
        let ordered = argnums
            .iter()
            .map(|a| grads.at(sorted.binary_search(a).unwrap_or(0)).cloned())
            .collect::<Result<Vec<_>>>()?;
        Ok((outs, ordered))
    }
}

/// Returns a function computing the gradients of `f` (which must return exactly one scalar
/// array) with respect to the inputs at `argnums`, in `argnums` order (MLX's `mx.grad`).
/// Composes: `grad(grad(f, &[0]), &[0])` is the second derivative.
///
/// ```
/// use rmlx_core::{self as mx, Array, Result};
/// let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&p[0] * &p[0])?.sum(None, false)?]) };
/// let g = mx::grad(f, &[0])(&[Array::from_slice(&[1.0f32, -2.0], &[2])?])?;
/// assert_eq!(g[0].to_vec::<f32>()?, vec![2.0, -4.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn grad<F>(f: F, argnums: &[usize]) -> impl Fn(&[Array]) -> Result<Vec<Array>>
where
    F: Fn(&[Array]) -> Result<Vec<Array>>,
{
    let single = move |x: &[Array]| -> Result<Vec<Array>> {
        let outs = f(x)?;
        if outs.len() != 1 {
            bail!(
                Transform,
                "[grad] The return value of the function whose gradient we want to compute should be a scalar array; but {} arrays were returned (use value_and_grad for auxiliary outputs).",
                outs.len()
            );
        }
        Ok(outs)
    };
    let vg = value_and_grad(single, argnums);
    move |inputs: &[Array]| Ok(vg(inputs)?.1)
}

/// Checks that a function being differentiated returned something, and stops the gradient of
/// every output after the first (the auxiliary outputs of `value_and_grad`).
pub(super) fn stop_aux_gradients(mut outs: Vec<Array>) -> Result<Vec<Array>> {
    if outs.is_empty() {
        bail!(
            Transform,
            "[value_and_grad] The function whose gradient we want to compute returned no arrays; it must return a scalar array, optionally followed by auxiliary arrays."
        );
    }
    for o in outs.iter_mut().skip(1) {
        *o = crate::stop_gradient(o)?;
    }
    Ok(outs)
}

/// MLX's argnums checks for grad/value_and_grad; returns them sorted.
pub(super) fn check_grad_argnums(argnums: &[usize], n_inputs: usize) -> Result<Vec<usize>> {
    if argnums.is_empty() {
        bail!(Transform, "[grad] Must specify at least one argument.");
    }
    for &a in argnums {
        if a >= n_inputs {
            bail!(
                Transform,
                "[grad] Invalid argument number {a} for function with {n_inputs} inputs."
            );
        }
    }
    let mut sorted = argnums.to_vec();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| matches!(w, [a, b] if a == b)) {
        bail!(
            Transform,
            "[grad] Repeat argument number not allowed in grad."
        );
    }
    Ok(sorted)
}
