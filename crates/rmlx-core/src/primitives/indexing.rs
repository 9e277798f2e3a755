//! Gather and scatter along one axis: `take` / `take_along_axis` and their transposes
//! (scatter-add, used by their vjps, and put for `put_along_axis`).

use super::Primitive;
use crate::backend::cpu::copy::writable_copy;
use crate::backend::cpu::gather::{
    gather, read_indices, row_major, scatter, view_strides, AxisWalk,
};
use crate::backend::cpu::scalar::Arith;
use crate::buffer::{Buffer, Data};
use crate::ops::creation::zeros;
use crate::ops::indexing::{gather_raw, scatter_raw};
use crate::{Array, Dtype, Result};

/// How the indices address the indexed array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    /// `take(a, idx, axis)`: every index picks a whole slice at `axis`; the index axes replace
    /// `axis` in the output (`a.shape[..axis] + idx.shape + a.shape[axis+1..]`).
    Take,
    /// `take_along_axis(a, idx, axis)`: indices and `a` have the same rank and broadcast against
    /// each other except along `axis`.
    AlongAxis,
}

impl IndexKind {
    fn op_name(self) -> &'static str {
        match self {
            IndexKind::Take => "take",
            IndexKind::AlongAxis => "take_along_axis",
        }
    }
}

/// Builds the walk over `walk_shape` for an array of `shape`/`strides` indexed by `idx_shape`.
fn axis_walk(
    kind: IndexKind,
    axis: usize,
    walk_shape: &[usize],
    shape: &[usize],
    strides: &[isize],
    idx_shape: &[usize],
) -> AxisWalk {
    let idx_rm = row_major(idx_shape);
    let (data_strides, idx_strides) = match kind {
        IndexKind::Take => {
            let k = idx_shape.len();
            let mut ds = strides[..axis].to_vec();
            ds.extend(std::iter::repeat_n(0, k));
            ds.extend_from_slice(&strides[axis + 1..]);
            let mut is = vec![0isize; axis];
            is.extend_from_slice(&idx_rm);
            is.extend(std::iter::repeat_n(0, shape.len() - axis - 1));
            (ds, is)
        }
        IndexKind::AlongAxis => {
            let mut ds = view_strides(walk_shape, 0, shape, strides);
            ds[axis] = 0;
            (ds, view_strides(walk_shape, 0, idx_shape, &idx_rm))
        }
    };
    AxisWalk {
        shape: walk_shape.to_vec(),
        data_strides,
        idx_strides,
        axis_stride: strides[axis],
    }
}

/// Gathers along `axis` (inputs: the array, the integer indices).
#[derive(Debug)]
pub struct Gather {
    /// How the indices address the array.
    pub kind: IndexKind,
    /// The indexed axis (non-negative).
    pub axis: usize,
}

impl Primitive for Gather {
    fn name(&self) -> &'static str {
        match self.kind {
            IndexKind::Take => "Gather",
            IndexKind::AlongAxis => "GatherAxis",
        }
    }

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let (a, idx) = (&inputs[0], &inputs[1]);
        let idxv = read_indices(self.kind.op_name(), idx, self.axis, a.shape[self.axis])?;
        let walk = axis_walk(
            self.kind, self.axis, shape, &a.shape, &a.strides, &idx.shape,
        );
        let n: usize = shape.iter().product();
        let mut buf = Buffer::new(n * dtype.size());
        crate::dispatch_width!(dtype, T => gather::<T>(
            a,
            &idxv,
            &walk,
            &mut buf.as_mut_slice::<T>()[..n],
        ));
        Ok(Data::new(buf, dtype, shape))
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        let (a, idx) = (&primals[0], &primals[1]);
        argnums
            .iter()
            .map(|&i| {
                if i == 0 {
                    let z = zeros(a.shape(), cotangent.dtype())?;
                    scatter_raw(&z, idx, cotangent, self.kind, self.axis, true)
                } else {
                    zeros(idx.shape(), idx.dtype())
                }
            })
            .collect()
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Array> {
        let idx = &primals[1];
        match argnums.iter().position(|&a| a == 0) {
            Some(p) => gather_raw(&tangents[p], idx, self.kind, self.axis),
            None => {
                let out = gather_raw(&primals[0], idx, self.kind, self.axis)?;
                zeros(out.shape(), primals[0].dtype())
            }
        }
    }
}

/// Scatters updates along `axis` into a copy of an array (inputs: the array, the integer indices,
/// the updates, already of the walk shape and the array's dtype). Adds when `add`, else writes
/// (repeated indices: the last write wins).
#[derive(Debug)]
pub struct Scatter {
    /// How the indices address the array.
    pub kind: IndexKind,
    /// The indexed axis (non-negative).
    pub axis: usize,
    /// Scatter-add (true) or put (false).
    pub add: bool,
}

impl Primitive for Scatter {
    fn name(&self) -> &'static str {
        match (self.kind, self.add) {
            (IndexKind::Take, true) => "ScatterAdd",
            (IndexKind::Take, false) => "Scatter",
            (IndexKind::AlongAxis, true) => "ScatterAddAxis",
            (IndexKind::AlongAxis, false) => "ScatterAxis",
        }
    }

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let [base, idx, upd] = super::take_inputs(self.name(), inputs)?;
        let op = match self.kind {
            IndexKind::Take => "scatter",
            IndexKind::AlongAxis => "put_along_axis",
        };
        let idxv = read_indices(op, &idx, self.axis, shape[self.axis])?;
        let n: usize = shape.iter().product();
        let mut buf = writable_copy(base);
        let strides = row_major(shape);
        let walk = axis_walk(
            self.kind, self.axis, &upd.shape, shape, &strides, &idx.shape,
        );
        if !self.add {
            crate::dispatch_width!(dtype, T => scatter::<T>(
                &mut buf.as_mut_slice::<T>()[..n], &idxv, &upd, &walk, |_, u| u));
        } else if dtype == Dtype::Bool {
            scatter::<u8>(&mut buf.as_mut_slice()[..n], &idxv, &upd, &walk, |a, u| {
                a | u
            });
        } else {
            crate::dispatch_all!(dtype, T => scatter::<T>(
                &mut buf.as_mut_slice::<T>()[..n], &idxv, &upd, &walk, <T as Arith>::add));
        }
        Ok(Data::new(buf, dtype, shape))
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        let (idx, upd) = (&primals[1], &primals[2]);
        argnums
            .iter()
            .map(|&i| match i {
                0 if self.add => Ok(cotangent.clone()),
                0 => {
                    let z = zeros(upd.shape(), cotangent.dtype())?;
                    scatter_raw(cotangent, idx, &z, self.kind, self.axis, false)
                }
                1 => zeros(idx.shape(), idx.dtype()),
                _ => gather_raw(cotangent, idx, self.kind, self.axis),
            })
            .collect()
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Array> {
        let dtype = tangents[0].dtype();
        let pick = |k: usize| -> Result<Array> {
            match argnums.iter().position(|&a| a == k) {
                Some(p) => Ok(tangents[p].clone()),
                None => zeros(primals[k].shape(), dtype),
            }
        };
        scatter_raw(
            &pick(0)?,
            &primals[1],
            &pick(2)?,
            self.kind,
            self.axis,
            self.add,
        )
    }
}
