//! Reductions: sum, mean, prod, max, min, arg-reductions, var/std, logsumexp, scans, softmax.

use std::sync::Arc;

use super::Axes;
use crate::primitives::reduce::{Reduce, ReduceOp};
use crate::{Array, Dtype, Result};

/// The dtype MLX gives a sum: bool and small ints widen to int32 (uint32 for small unsigned).
pub(crate) fn sum_dtype(d: Dtype) -> Dtype {
    match d {
        Dtype::Bool | Dtype::I8 | Dtype::I16 => Dtype::I32,
        Dtype::U8 | Dtype::U16 => Dtype::U32,
        d => d,
    }
}

/// Builds a reduction node over `axes`; the result keeps them as size 1 when `keepdims`.
pub(crate) fn reduce_op(
    op_name: &str,
    op: ReduceOp,
    a: &Array,
    axes: Axes,
    keepdims: bool,
    dtype: Dtype,
) -> Result<Array> {
    let axes = axes.resolve(op_name, a.ndim())?;
    let mut kept_shape = a.shape().to_vec();
    for &ax in &axes {
        kept_shape[ax] = 1;
    }
    let out = Array::from_primitive(
        kept_shape,
        dtype,
        Arc::new(Reduce {
            op,
            axes: axes.clone(),
        }),
        vec![a.clone()],
    );
    if keepdims {
        Ok(out)
    } else {
        let shape: Vec<usize> = (0..a.ndim())
            .filter(|i| !axes.contains(i))
            .map(|i| a.shape()[i])
            .collect();
        out.reshape(&shape)
    }
}

/// Sum over `axes` (see [`Axes`]): `sum(&x, None, false)` sums everything.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
/// assert_eq!(mx::sum(&x, None, false)?.item::<f32>()?, 10.0);
/// assert_eq!(x.sum(0, false)?.to_vec::<f32>()?, vec![4.0, 6.0]);
/// assert_eq!(x.sum(-1, true)?.shape(), &[2, 1]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn sum(a: &Array, axes: impl Into<Axes>, keepdims: bool) -> Result<Array> {
    reduce_op(
        "sum",
        ReduceOp::Sum,
        a,
        axes.into(),
        keepdims,
        sum_dtype(a.dtype()),
    )
}

impl Array {
    /// Sum over `axes`; see [`sum`].
    pub fn sum(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Array> {
        sum(self, axes, keepdims)
    }
}
