//! The array helpers the optimizers use, on top of `rmlx_core`'s ops, named and composed as in
//! MLX's optimizer code (`mx.mean(mx.square(x))`, `mx.linalg.norm(x)`, …).

use rmlx_core::{Array, Dtype, Result};

pub use rmlx_core::{
    abs, addmm, matmul, maximum, minimum, rsqrt, sign, sqrt, square, where_, zeros, zeros_like,
};

/// Mean over `axis` (negative counts from the end).
pub fn mean_axis(a: &Array, axis: isize, keepdims: bool) -> Result<Array> {
    rmlx_core::mean(a, axis, keepdims)
}

/// Mean of every element, as a 0-d array.
pub fn mean_all(a: &Array) -> Result<Array> {
    rmlx_core::mean(a, None::<&[isize]>, false)
}

/// Frobenius / 2-norm of all elements, `sqrt(sum(x²))`, as a 0-d array.
pub fn norm_all(a: &Array) -> Result<Array> {
    sqrt(&square(a)?.sum(None::<&[isize]>, false)?)
}

/// A 0-d array of `value` in `dtype`.
pub fn scalar(value: f64, dtype: Dtype) -> Array {
    Array::scalar_as(value, dtype)
}
