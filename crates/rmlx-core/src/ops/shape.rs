//! Shape ops: views (broadcast_to, transpose, slice, expand_dims, squeeze, reshape of contiguous
//! data) and copies (concatenate, pad, repeat, tile…).

use std::sync::Arc;

use super::broadcast_shapes;
use crate::primitives::shape::Broadcast;
use crate::{bail, Array, Result};

impl Array {
    /// Broadcasts to `shape` with numpy's rules: a view, no copy.
    ///
    /// ```
    /// use rmlx_core::Array;
    /// let a = Array::from_slice(&[1.0f32, 2.0], &[2])?;
    /// assert_eq!(a.broadcast_to(&[3, 2])?.to_vec::<f32>()?, vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
    /// # Ok::<(), rmlx_core::Error>(())
    /// ```
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Array> {
        broadcast_to(self, shape)
    }
}

/// Broadcasts `a` to `shape`; see [`Array::broadcast_to`].
pub fn broadcast_to(a: &Array, shape: &[usize]) -> Result<Array> {
    if a.shape() == shape {
        return Ok(a.clone());
    }
    let b = broadcast_shapes("broadcast_to", a.shape(), shape)?;
    if b != shape {
        bail!(
            Shape,
            "broadcast_to: cannot broadcast array of shape {:?} to shape {:?}",
            a.shape(),
            shape
        );
    }
    Ok(Array::from_primitive(
        shape.to_vec(),
        a.dtype(),
        Arc::new(Broadcast {
            shape: shape.to_vec(),
        }),
        vec![a.clone()],
    ))
}
