//! Gather and scatter along one axis: `take` / `take_along_axis` and their transposes
//! (scatter-add, used by their vjps, and put for `put_along_axis`).

use super::{batching, Primitive, Vmapped};
use crate::backend::cpu::copy::writable_copy;
use crate::backend::cpu::gather::{
    gather, read_indices, row_major, scatter, view_strides, AxisWalk,
};
use crate::backend::cpu::scalar::Arith;
use crate::buffer::{Buffer, Data};
use crate::checked::Checked;
use crate::dtype::Complex32;
use crate::ops::creation::zeros;
use crate::ops::indexing::{gather_raw, scatter_raw};
use crate::{bail, Array, Dtype, Result};

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
) -> Result<AxisWalk> {
    // The walk must cover the indexed array's axes as the kind lays them out: a take replaces
    // axis `axis` by the index axes, an along-axis walk keeps the rank (broadcast axes walk with
    // stride 0). The ops build nodes that fit; a primitive called directly may not.
    let nd = shape.len();
    let fits = axis < nd
        && strides.len() == nd
        && match kind {
            IndexKind::Take => {
                let k = idx_shape.len();
                walk_shape.len() == nd - 1 + k
                    && walk_shape.get(..axis) == shape.get(..axis)
                    && walk_shape.get(axis..axis + k) == Some(idx_shape)
                    && walk_shape.get(axis + k..) == shape.get(axis + 1..)
            }
            IndexKind::AlongAxis => idx_shape.len() == nd && walk_shape.len() == nd,
        };
    if !fits {
        bail!(
            Shape,
            "{}: an array of shape {shape:?} indexed along axis {axis} by indices of shape \
             {idx_shape:?} cannot give {walk_shape:?}",
            kind.op_name()
        );
    }
    let idx_rm = row_major(idx_shape);
    let (data_strides, idx_strides) = match kind {
        IndexKind::Take => {
            let k = idx_shape.len();
            let mut ds = strides.span(..axis)?.to_vec();
            ds.extend(std::iter::repeat_n(0, k));
            ds.extend_from_slice(strides.span(axis + 1..)?);
            let mut is = vec![0isize; axis];
            is.extend_from_slice(&idx_rm);
            is.extend(std::iter::repeat_n(0, shape.len() - axis - 1));
            (ds, is)
        }
        IndexKind::AlongAxis => {
            let mut ds = view_strides(walk_shape, 0, shape, strides);
            *ds.at_mut(axis)? = 0;
            (ds, view_strides(walk_shape, 0, idx_shape, &idx_rm))
        }
    };
    Ok(AxisWalk {
        shape: walk_shape.to_vec(),
        data_strides,
        idx_strides,
        axis_stride: *strides.at(axis)?,
    })
}

/// Indices into a `[B * n, ...]` array made from per-example indices `idx` (`[B, ...]`, mapped
/// axis first) into axes of length `n`: example `b`'s index `i` becomes `b * n + i` (negative
/// indices counted from the end first). An index outside `[-n, n)` becomes `B * n`, outside the
/// merged axis too, so evaluation still fails on it instead of reading another example's row.
fn merged_indices(idx: &Array, n: usize) -> Result<Array> {
    let b = *idx.shape().at(0)?;
    let i = idx.astype(Dtype::I64)?;
    let nn = Array::scalar_as(n as f64, Dtype::I64);
    let zero = Array::scalar_as(0.0, Dtype::I64);
    let i = i.less(&zero)?.where_(&(&i + &nn)?, &i)?;
    let valid = i.greater_equal(&zero)?.logical_and(&i.less(&nn)?)?;
    let mut row_shape = vec![1usize; idx.ndim()];
    *row_shape.at_mut(0)? = b;
    let rows = crate::ops::creation::arange(0.0, b as f64, 1.0, Dtype::I64)?.reshape(&row_shape)?;
    let merged = (&i + &(&rows * &nn)?)?;
    let outside = Array::scalar_as((b * n) as f64, Dtype::I64);
    valid.where_(&merged, &outside)
}

/// `a` (`[B, *pre, n, *post]`, the indexed axis at `axis + 1`) as `[B * n, *pre, *post]`.
fn merge_indexed_axis(a: &Array, axis: usize) -> Result<Array> {
    let a = batching::move_axis(a, axis + 1, 1)?;
    let mut shape = vec![*a.shape().at(0)? * *a.shape().at(1)?];
    shape.extend_from_slice(a.shape().span(2..)?);
    a.reshape(&shape)
}

/// The permutation taking `[B, *I, *pre, *post]` (a gather at axis 0 of a merged array) to
/// `[B, *pre, *I, *post]`, for index rank `ni` and `npre` axes before the indexed one.
fn take_order(ni: usize, npre: usize, nd: usize) -> Vec<usize> {
    let mut perm = vec![0];
    perm.extend(1 + ni..1 + ni + npre);
    perm.extend(1..1 + ni);
    perm.extend(1 + ni + npre..nd);
    perm
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
        let [a, idx] = super::take_inputs(self.name(), inputs)?;
        let (a, idx) = (&a, &idx);
        if a.dtype() != dtype {
            bail!(
                Dtype,
                "{}: a {} array gathered into a {dtype} output",
                self.name(),
                a.dtype()
            );
        }
        let idxv = read_indices(
            self.kind.op_name(),
            idx,
            self.axis,
            *a.shape().at(self.axis)?,
        )?;
        let walk = axis_walk(
            self.kind,
            self.axis,
            shape,
            a.shape(),
            a.strides(),
            idx.shape(),
        )?;
        let n: usize = shape.iter().product();
        let mut buf = Buffer::new(n * dtype.size());
        crate::dispatch_width!(dtype, T => gather::<T>(
            a,
            &idxv,
            &walk,
            buf.as_mut_slice::<T>().span_mut(..n)?,
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
        let (a, idx) = (primals.at(0)?, primals.at(1)?);
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
        let idx = primals.at(1)?;
        match argnums.iter().position(|&a| a == 0) {
            Some(p) => gather_raw(tangents.at(p)?, idx, self.kind, self.axis),
            None => {
                let out = gather_raw(primals.at(0)?, idx, self.kind, self.axis)?;
                zeros(out.shape(), primals.at(0)?.dtype())
            }
        }
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (a, idx) = (inputs.at(0)?, inputs.at(1)?);
        let out = match (self.kind, *axes.at(0)?, *axes.at(1)?) {
            (IndexKind::Take, Some(aa), None) => {
                let a = batching::move_axis(a, aa, 0)?;
                (gather_raw(&a, idx, self.kind, self.axis + 1)?, 0)
            }
            (IndexKind::Take, None, Some(ia)) => {
                // the mapped axis is one of the index axes, which replace the indexed one
                (gather_raw(a, idx, self.kind, self.axis)?, self.axis + ia)
            }
            (IndexKind::Take, _, _) => {
                // every example picks from its own array: one gather from the examples merged
                let (v, _) = batching::all_front(self.name(), inputs, axes)?;
                let n = *v.at(0)?.shape().at(self.axis + 1)?;
                let merged = merge_indexed_axis(v.at(0)?, self.axis)?;
                let flat = merged_indices(v.at(1)?, n)?;
                let g = gather_raw(&merged, &flat, IndexKind::Take, 0)?;
                let ni = v.at(1)?.ndim() - 1;
                (g.transpose_axes(&take_order(ni, self.axis, g.ndim()))?, 0)
            }
            (IndexKind::AlongAxis, _, _) => {
                // index and array have the same rank: a size-1 mapped axis broadcasts
                let a = match *axes.at(0)? {
                    Some(aa) => batching::move_axis(a, aa, 0)?,
                    None => a.expand_dims(0)?,
                };
                let idx = match *axes.at(1)? {
                    Some(ia) => batching::move_axis(idx, ia, 0)?,
                    None => idx.expand_dims(0)?,
                };
                (gather_raw(&a, &idx, self.kind, self.axis + 1)?, 0)
            }
        };
        Ok((vec![out.0], vec![Some(out.1)]))
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
        if base.shape() != shape || base.dtype() != dtype || upd.dtype() != dtype {
            bail!(
                Shape,
                "{}: a {} array of shape {:?} updated with {} values for a {dtype} output of \
                 shape {shape:?}",
                self.name(),
                base.dtype(),
                base.shape(),
                upd.dtype()
            );
        }
        let op = match self.kind {
            IndexKind::Take => "scatter",
            IndexKind::AlongAxis => "put_along_axis",
        };
        let idxv = read_indices(op, &idx, self.axis, *shape.at(self.axis)?)?;
        let n: usize = shape.iter().product();
        let mut buf = writable_copy(base);
        let strides = row_major(shape);
        let walk = axis_walk(
            self.kind,
            self.axis,
            upd.shape(),
            shape,
            &strides,
            idx.shape(),
        )?;
        if !self.add {
            crate::dispatch_width!(dtype, T => scatter::<T>(
                buf.as_mut_slice::<T>().span_mut(..n)?, &idxv, &upd, &walk, |_, u| u));
        } else if dtype == Dtype::Bool {
            scatter::<u8>(
                buf.as_mut_slice().span_mut(..n)?,
                &idxv,
                &upd,
                &walk,
                |a, u| a | u,
            );
        } else {
            crate::dispatch_all!(dtype, T => scatter::<T>(
                buf.as_mut_slice::<T>().span_mut(..n)?, &idxv, &upd, &walk, <T as Arith>::add),
                complex => scatter::<Complex32>(buf.as_mut_slice().span_mut(..n)?, &idxv, &upd, &walk,
                    |a, u| a + u));
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
        let (idx, upd) = (primals.at(1)?, primals.at(2)?);
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
        let dtype = tangents.at(0)?.dtype();
        let pick = |k: usize| -> Result<Array> {
            match argnums.iter().position(|&a| a == k) {
                Some(p) => Ok(tangents.at(p)?.clone()),
                None => zeros(primals.at(k)?.shape(), dtype),
            }
        };
        scatter_raw(
            &pick(0)?,
            primals.at(1)?,
            &pick(2)?,
            self.kind,
            self.axis,
            self.add,
        )
    }

    /// Base and updates with the mapped axis first (an unmapped base is copied for every
    /// example); mapped indices of `take` kind scatter into the examples merged along the
    /// indexed axis.
    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let n_map = batching::batch_size(self.name(), inputs, axes)?;
        let front = |i: usize| match *axes.at(i)? {
            Some(a) => batching::move_axis(inputs.at(i)?, a, 0),
            None => batching::broadcast_mapped(inputs.at(i)?, n_map, 0),
        };
        let base = front(0)?;
        let upd = front(2)?;
        let out = match (self.kind, *axes.at(1)?) {
            (IndexKind::Take, None) => scatter_raw(
                &base,
                inputs.at(1)?,
                &upd,
                self.kind,
                self.axis + 1,
                self.add,
            )?,
            (IndexKind::Take, Some(_)) => {
                let idx = front(1)?;
                let n = *base.shape().at(self.axis + 1)?;
                let merged = merge_indexed_axis(&base, self.axis)?;
                let flat = merged_indices(&idx, n)?;
                // updates [B, *pre, *I, *post] -> [B, *I, *pre, *post], the walk of a scatter
                // at axis 0 of the merged base
                let ni = idx.ndim() - 1;
                let order = take_order(ni, self.axis, upd.ndim());
                let mut inverse = vec![0; order.len()];
                for (i, &p) in order.iter().enumerate() {
                    *inverse.at_mut(p)? = i;
                }
                let upd = upd.transpose_axes(&inverse)?;
                let s = scatter_raw(&merged, &flat, &upd, IndexKind::Take, 0, self.add)?;
                let mut shape = vec![n_map, n];
                shape.extend_from_slice(s.shape().span(1..)?);
                batching::move_axis(&s.reshape(&shape)?, 1, self.axis + 1)?
            }
            (IndexKind::AlongAxis, ia) => {
                let idx = match ia {
                    Some(a) => batching::move_axis(inputs.at(1)?, a, 0)?,
                    None => inputs.at(1)?.expand_dims(0)?,
                };
                scatter_raw(&base, &idx, &upd, self.kind, self.axis + 1, self.add)?
            }
        };
        Ok((vec![out], vec![Some(0)]))
    }
}

/// How [`ScatterReduce`] combines an update with the value already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScatterReduceOp {
    /// `a * u` (MLX's `ScatterProd`)
    Prod,
    /// `maximum(a, u)` (MLX's `ScatterMax`)
    Max,
    /// `minimum(a, u)` (MLX's `ScatterMin`)
    Min,
}

/// Scatter of `take`-style indices along `axis` that multiplies, or keeps the maximum or minimum
/// (MLX's `ScatterProd`/`ScatterMax`/`ScatterMin`, behind `x.at[idx].multiply/maximum/minimum`).
/// Inputs: base, indices, updates (already the indexed shape). As in MLX it has no vjp; its vmap
/// rule needs unmapped indices.
#[derive(Debug, Clone)]
pub struct ScatterReduce {
    /// How updates combine.
    pub op: ScatterReduceOp,
    /// The indexed axis.
    pub axis: usize,
}

impl Primitive for ScatterReduce {
    fn name(&self) -> &'static str {
        match self.op {
            ScatterReduceOp::Prod => "ScatterProd",
            ScatterReduceOp::Max => "ScatterMax",
            ScatterReduceOp::Min => "ScatterMin",
        }
    }

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let [base, idx, upd] = super::take_inputs(self.name(), inputs)?;
        let idxv = read_indices("scatter", &idx, self.axis, *shape.at(self.axis)?)?;
        let n: usize = shape.iter().product();
        let mut buf = writable_copy(base);
        let strides = row_major(shape);
        let walk = axis_walk(
            IndexKind::Take,
            self.axis,
            upd.shape(),
            shape,
            &strides,
            idx.shape(),
        )?;
        use crate::backend::cpu::scalar::{maximum, minimum};
        let op = self.op;
        if dtype == Dtype::Bool {
            let f = match op {
                ScatterReduceOp::Prod | ScatterReduceOp::Min => |a: u8, u: u8| a & u,
                ScatterReduceOp::Max => |a: u8, u: u8| a | u,
            };
            scatter::<u8>(buf.as_mut_slice().span_mut(..n)?, &idxv, &upd, &walk, f);
        } else {
            crate::dispatch_all!(dtype, T => {
                let f = match op {
                    ScatterReduceOp::Prod => <T as Arith>::mul,
                    ScatterReduceOp::Max => maximum::<T>,
                    ScatterReduceOp::Min => minimum::<T>,
                };
                scatter::<T>(buf.as_mut_slice::<T>().span_mut(..n)?, &idxv, &upd, &walk, f)
            }, complex => match op {
                ScatterReduceOp::Prod => scatter::<Complex32>(
                    buf.as_mut_slice().span_mut(..n)?, &idxv, &upd, &walk, |a, u| a * u),
                _ => return Err(crate::err!(Dtype, "[{}] Not supported for complex64.", self.name())),
            });
        }
        Ok(Data::new(buf, dtype, shape))
    }

    fn vjp(&self, _: &[Array], _: &Array, _: &Array, _: &[usize]) -> Result<Vec<Array>> {
        Err(crate::err!(
            Transform,
            "[{}] VJP not implemented (MLX has none): use at(..).add for differentiable updates",
            self.name()
        ))
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        if axes.at(1)?.is_some() {
            return Err(crate::err!(
                Transform,
                "[{}] vmap over the indices is not supported",
                self.name()
            ));
        }
        let n_map = batching::batch_size(self.name(), inputs, axes)?;
        let front = |i: usize| match *axes.at(i)? {
            Some(a) => batching::move_axis(inputs.at(i)?, a, 0),
            None => batching::broadcast_mapped(inputs.at(i)?, n_map, 0),
        };
        let (base, upd) = (front(0)?, front(2)?);
        // updates [B, *idx, *rest]: the indexed axis moves to 1 in the base
        let p = ScatterReduce {
            op: self.op,
            axis: self.axis + 1,
        };
        let out = Array::from_primitive(
            base.shape().to_vec(),
            base.dtype(),
            std::sync::Arc::new(p),
            vec![base, inputs.at(1)?.clone(), upd],
        );
        Ok((vec![out], vec![Some(0)]))
    }
}
