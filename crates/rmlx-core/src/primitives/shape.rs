//! Shape primitives. Views return the input buffer with new strides; nothing is copied.

use super::Primitive;
use crate::backend::cpu::copy::contiguous;
use crate::buffer::{contiguous_strides, Data};
use crate::{Array, Dtype, Result};

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

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], _: Dtype) -> Result<Data> {
        let [mut x] = super::take_inputs(self.name(), inputs)?;
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

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _: &Array,
        _: &[usize],
    ) -> Result<Vec<Array>> {
        Ok(vec![sum_to_shape(cotangent, primals[0].shape())?])
    }

    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        tangents[0].broadcast_to(&self.shape)
    }
}

/// Sums `x` over the axes along which `shape` was broadcast to `x.shape()` (the reverse of
/// broadcasting), giving an array of exactly `shape`.
pub fn sum_to_shape(x: &Array, shape: &[usize]) -> Result<Array> {
    if x.shape() == shape {
        return Ok(x.clone());
    }
    let pad = x.ndim() - shape.len();
    let mut axes: Vec<isize> = (0..pad as isize).collect();
    for (i, &d) in shape.iter().enumerate() {
        if d == 1 && x.shape()[pad + i] != 1 {
            axes.push((pad + i) as isize);
        }
    }
    x.sum(axes, true)?.reshape(shape)
}

/// Row-major reshape: a view when the input is contiguous, else a copy.
#[derive(Debug)]
pub struct Reshape {
    /// Target shape.
    pub shape: Vec<usize>,
}

impl Primitive for Reshape {
    fn name(&self) -> &'static str {
        "Reshape"
    }

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], _: Dtype) -> Result<Data> {
        let [x] = super::take_inputs(self.name(), inputs)?;
        if let Some(strides) = reshape_strides(&x.shape, &x.strides, shape) {
            let mut x = x;
            x.shape = shape.to_vec();
            x.strides = strides;
            return Ok(x);
        }
        let mut x = contiguous(x);
        x.shape = shape.to_vec();
        x.strides = contiguous_strides(shape);
        Ok(x)
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _: &Array,
        _: &[usize],
    ) -> Result<Vec<Array>> {
        Ok(vec![cotangent.reshape(primals[0].shape())?])
    }

    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        tangents[0].reshape(&self.shape)
    }
}

/// Strides that view a layout `(old_shape, old_strides)` as `new_shape` (same size, row-major
/// order) without copying, or `None` when the old axes being merged or split are not contiguous
/// with each other (numpy's no-copy reshape test).
pub fn reshape_strides(
    old_shape: &[usize],
    old_strides: &[isize],
    new_shape: &[usize],
) -> Option<Vec<isize>> {
    if new_shape.contains(&0) || old_shape.contains(&0) {
        return Some(contiguous_strides(new_shape));
    }
    let (os, ost): (Vec<usize>, Vec<isize>) = old_shape
        .iter()
        .zip(old_strides)
        .filter(|(&d, _)| d != 1)
        .map(|(&d, &s)| (d, s))
        .unzip();
    let mut out = vec![0isize; new_shape.len()];
    let (mut ni, mut oi) = (0usize, 0usize);
    while ni < new_shape.len() && oi < os.len() {
        if new_shape[ni] == 1 {
            ni += 1;
            continue;
        }
        let (mut np, mut op) = (new_shape[ni], os[oi]);
        let (mut nj, mut oj) = (ni + 1, oi + 1);
        while np != op {
            if np < op {
                np *= *new_shape.get(nj)?;
                nj += 1;
            } else {
                op *= *os.get(oj)?;
                oj += 1;
            }
        }
        for k in oi..oj - 1 {
            if ost[k] != os[k + 1] as isize * ost[k + 1] {
                return None;
            }
        }
        out[nj - 1] = ost[oj - 1];
        for k in (ni + 1..nj).rev() {
            out[k - 1] = out[k] * new_shape[k] as isize;
        }
        ni = nj;
        oi = oj;
    }
    Some(out)
}

/// Permutes axes: output axis `i` is input axis `perm[i]`. A view.
#[derive(Debug)]
pub struct Transpose {
    /// The permutation.
    pub perm: Vec<usize>,
}

impl Primitive for Transpose {
    fn name(&self) -> &'static str {
        "Transpose"
    }

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], _: Dtype) -> Result<Data> {
        let [mut x] = super::take_inputs(self.name(), inputs)?;
        x.strides = self.perm.iter().map(|&p| x.strides[p]).collect();
        x.shape = shape.to_vec();
        Ok(x)
    }

    fn vjp(&self, _: &[Array], cotangent: &Array, _: &Array, _: &[usize]) -> Result<Vec<Array>> {
        let mut inv = vec![0usize; self.perm.len()];
        for (i, &p) in self.perm.iter().enumerate() {
            inv[p] = i;
        }
        Ok(vec![cotangent.transpose_axes(&inv)?])
    }

    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        tangents[0].transpose_axes(&self.perm)
    }
}
