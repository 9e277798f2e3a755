//! Shape primitives. Views return the input buffer with new strides; nothing is copied.

use super::Primitive;
use crate::buffer::Data;
use crate::{Dtype, Result};

/// Broadcast to `shape`: new leading axes and size-1 axes get stride 0.
#[derive(Debug)]
pub struct Broadcast {
    /// Target shape.
    pub shape: Vec<usize>,
}

impl Primitive for Broadcast {
    fn name(&self) -> &'static str {
        "Broadcast"
    }

    fn eval_cpu(&self, mut inputs: Vec<Data>, shape: &[usize], _: Dtype) -> Result<Data> {
        let mut x = inputs.remove(0);
        let pad = shape.len() - x.shape.len();
        let mut strides = vec![0isize; shape.len()];
        for i in 0..x.shape.len() {
            strides[pad + i] = if x.shape[i] == 1 && shape[pad + i] != 1 {
                0
            } else {
                x.strides[i]
            };
        }
        x.shape = shape.to_vec();
        x.strides = strides;
        Ok(x)
    }
}
