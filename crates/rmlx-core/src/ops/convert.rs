//! Dtype conversion: `astype`.

use std::sync::Arc;

use crate::primitives::convert::AsType;
use crate::{Array, Dtype, Result};

impl Array {
    /// Converts the elements to `dtype` (numpy's `astype`; floats to ints truncate toward zero
    /// and saturate, anything to bool is `!= 0`). Returns `self` unchanged when the dtype matches.
    ///
    /// ```
    /// use rmlx_core::{Array, Dtype};
    /// let a = Array::from_slice(&[1.7f32, -2.5], &[2])?;
    /// assert_eq!(a.astype(Dtype::I32)?.to_vec::<i32>()?, vec![1, -2]);
    /// # Ok::<(), rmlx_core::Error>(())
    /// ```
    pub fn astype(&self, dtype: Dtype) -> Result<Array> {
        astype(self, dtype)
    }
}

/// Converts `a` to `dtype`; see [`Array::astype`].
pub fn astype(a: &Array, dtype: Dtype) -> Result<Array> {
    if a.dtype() == dtype {
        return Ok(a.clone());
    }
    Ok(Array::from_primitive(
        a.shape().to_vec(),
        dtype,
        Arc::new(AsType { dtype }),
        vec![a.clone()],
    ))
}

/// Whether `from` converts to `to` by MLX's promotion rules: promoting the two gives `to`
/// (`mx.can_cast`; pass `a.dtype()` for an array).
///
/// ```
/// use rmlx_core::{can_cast, Dtype};
/// assert!(can_cast(Dtype::I32, Dtype::F32));
/// assert!(!can_cast(Dtype::F32, Dtype::I32));
/// assert!(can_cast(Dtype::F64, Dtype::C64));
/// ```
pub fn can_cast(from: Dtype, to: Dtype) -> bool {
    Dtype::promote(from, to) == to
}
