//! Creation-related primitives: the triangular masks of `tril` / `triu`.

use bytemuck::Pod;

use super::{batching, Primitive, Vmapped};
use crate::backend::cpu::copy::writable_copy;
use crate::buffer::Data;
use crate::checked::Checked;
use crate::{Array, Dtype, Result};

/// Zeroes the elements of the last two axes outside a triangle: `upper == false` keeps
/// `col - row <= k` (`tril`), `upper == true` keeps `col - row >= k` (`triu`).
#[derive(Debug)]
pub struct TriMask {
    /// The diagonal offset.
    pub k: isize,
    /// Keep the upper triangle (`triu`) instead of the lower one.
    pub upper: bool,
}

impl TriMask {
    fn keeps(&self, row: usize, col: usize) -> bool {
        let d = col as isize - row as isize;
        if self.upper {
            d >= self.k
        } else {
            d <= self.k
        }
    }

    fn apply<T: Pod>(&self, out: &mut [T], rows: usize, cols: usize) {
        if rows == 0 || cols == 0 {
            return;
        }
        for mat in out.chunks_mut(rows * cols) {
            for (r, row) in mat.chunks_mut(cols).enumerate() {
                for (c, v) in row.iter_mut().enumerate() {
                    if !self.keeps(r, c) {
                        *v = T::zeroed();
                    }
                }
            }
        }
    }
}

impl Primitive for TriMask {
    fn name(&self) -> &'static str {
        if self.upper {
            "Triu"
        } else {
            "Tril"
        }
    }

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let [x] = super::take_inputs(self.name(), inputs)?;
        let n = x.size();
        let mut buf = writable_copy(x);
        let nd = shape.len();
        let (rows, cols) = (*shape.at(nd - 2)?, *shape.at(nd - 1)?);
        crate::dispatch_width!(dtype, T => self.apply::<T>(buf.as_mut_slice::<T>().span_mut(..n)?, rows, cols));
        Ok(Data::new(buf, dtype, shape))
    }

    fn vjp(&self, _: &[Array], cotangent: &Array, _: &Array, _: &[usize]) -> Result<Vec<Array>> {
        Ok(vec![crate::ops::creation::tri_mask(
            cotangent, self.k, self.upper,
        )?])
    }

    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        crate::ops::creation::tri_mask(tangents.at(0)?, self.k, self.upper)
    }

    /// The mask covers the last two axes: a mapped axis among them moves to the front.
    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        let (x, ax) = if ax + 2 >= x.ndim() {
            (batching::move_axis(&x, ax, 0)?, 0)
        } else {
            (x, ax)
        };
        Ok((
            vec![crate::ops::creation::tri_mask(&x, self.k, self.upper)?],
            vec![Some(ax)],
        ))
    }
}
