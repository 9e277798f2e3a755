//! Sorting primitives along one axis (`Sort`, `ArgSort`, `ArgPartition`, `ArgTopK`) and the
//! gather / scatter-add along an axis that carry gradients through them.

use std::sync::Arc;

use super::{batching, Primitive, Vmapped};
use crate::backend::cpu::complex_order::Lex;
use crate::backend::cpu::convert::{cast, widen_half};
use crate::backend::cpu::sort;
use crate::buffer::Data;
use crate::checked::Checked;
use crate::ops::zeros_like;
use crate::{bail, dispatch_all, Array, Dtype, Result};

/// Values sorted along `axis` (NaN last).
#[derive(Debug, Clone)]
pub struct Sort {
    /// The axis.
    pub axis: usize,
}

/// The stable sorting permutation along `axis` (uint32).
#[derive(Debug, Clone)]
pub struct ArgSort {
    /// The axis.
    pub axis: usize,
}

/// A partitioning permutation along `axis` around position `kth` (uint32).
#[derive(Debug, Clone)]
pub struct ArgPartition {
    /// The position that ends up holding its sorted value.
    pub kth: usize,
    /// The axis.
    pub axis: usize,
}

/// Indices of the `k` largest elements along `axis`, by ascending value (uint32).
#[derive(Debug, Clone)]
pub struct ArgTopK {
    /// How many.
    pub k: usize,
    /// The axis.
    pub axis: usize,
}

/// `count` elements fit along `axis` of `x` (ArgPartition's `kth + 1`, ArgTopK's `k`).
fn check_count(name: &str, what: &str, count: usize, x: &Data, axis: usize) -> Result<()> {
    let n = x.shape().get(axis).copied().unwrap_or(0);
    if count > n {
        bail!(
            Value,
            "{name}: {what} asks for {count} elements along axis {axis} of shape {:?}",
            x.shape()
        );
    }
    Ok(())
}

/// The one input of a sort-family primitive, whose `axis` must be one of its axes.
fn first(name: &str, inputs: Vec<Data>, axis: usize) -> Result<Data> {
    let [x] = super::take_inputs(name, inputs)?;
    if axis >= x.shape().len() {
        bail!(
            Axis,
            "{name}: axis {axis} is out of range for an input of shape {:?}",
            x.shape()
        );
    }
    Ok(x)
}

fn no_grad_vjp(primals: &[Array]) -> Result<Vec<Array>> {
    Ok(vec![zeros_like(primals.at(0)?)?])
}

impl Primitive for Sort {
    define_name!("Sort");

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        let x = first(self.name(), inputs, self.axis)?;
        Ok(dispatch_all!(x.dtype(), T => sort::sort::<T>(x, self.axis),
            half => cast(sort::sort::<f32>(widen_half(&x)?, self.axis), x.dtype())?,
            complex => sort::sort::<Lex>(x, self.axis)))
    }

    /// The cotangent goes back to where each sorted element came from.
    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _: &Array,
        _: &[usize],
    ) -> Result<Vec<Array>> {
        let x = primals.at(0)?;
        let idx = crate::ops::sort::argsort(x, self.axis as isize)?;
        Ok(vec![scatter_add_along(
            cotangent,
            &idx,
            self.axis,
            *x.shape().at(self.axis)?,
        )?])
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        let idx = crate::ops::sort::argsort(primals.at(0)?, self.axis as isize)?;
        gather_along(tangents.at(0)?, &idx, self.axis)
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        let sort = Sort {
            axis: batching::shift_axis(self.axis, ax),
        };
        let out = Array::from_primitive(x.shape().to_vec(), x.dtype(), Arc::new(sort), vec![x]);
        Ok((vec![out], vec![Some(ax)]))
    }
}

macro_rules! index_primitive {
    ($T:ident, $name:expr, |$s:ident, $x:ident| $body:expr, |$ss:ident, $shape:ident| $out:expr) => {
        impl Primitive for $T {
            fn name(&self) -> &'static str {
                $name
            }

            fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
                let $s = self;
                let $x = first(self.name(), inputs, $s.axis)?;
                Ok($body)
            }

            fn vjp(
                &self,
                primals: &[Array],
                _: &Array,
                _: &Array,
                _: &[usize],
            ) -> Result<Vec<Array>> {
                no_grad_vjp(primals)
            }

            /// Indices are piecewise constant: a zero (uint32) tangent, as MLX.
            // `$out` may own its shape already (`to_vec`) or build one; the copy is tiny.
            #[allow(clippy::unnecessary_to_owned)]
            fn jvp(&self, primals: &[Array], _: &[Array], _: &[usize]) -> Result<Array> {
                let ($ss, $shape) = (self, primals.at(0)?.shape());
                crate::zeros(&$out, Dtype::U32)
            }

            #[allow(clippy::unnecessary_to_owned)]
            fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
                let (x, ax) = batching::single(self.name(), inputs, axes)?;
                let mut p = self.clone();
                p.axis = batching::shift_axis(self.axis, ax);
                let shape = {
                    let ($ss, $shape) = (&p, x.shape());
                    $out
                };
                let out = Array::from_primitive(shape, Dtype::U32, Arc::new(p), vec![x]);
                Ok((vec![out], vec![Some(ax)]))
            }
        }
    };
}
index_primitive!(
    ArgSort,
    "ArgSort",
    |s, x| dispatch_all!(x.dtype(), T => sort::argsort::<T>(x, s.axis),
        half => sort::argsort::<f32>(widen_half(&x)?, s.axis),
        complex => sort::argsort::<Lex>(x, s.axis)),
    |_s, shape| shape.to_vec()
);
index_primitive!(
    ArgPartition,
    "ArgPartition",
    |s, x| {
        check_count("ArgPartition", "kth", s.kth + 1, &x, s.axis)?;
        dispatch_all!(x.dtype(), T => sort::argpartition::<T>(x, s.kth, s.axis),
            half => sort::argpartition::<f32>(widen_half(&x)?, s.kth, s.axis),
            complex => sort::argpartition::<Lex>(x, s.kth, s.axis))
    },
    |_s, shape| shape.to_vec()
);
index_primitive!(
    ArgTopK,
    "ArgTopK",
    |s, x| {
        check_count("ArgTopK", "k", s.k, &x, s.axis)?;
        dispatch_all!(x.dtype(), T => sort::argtopk::<T>(x, s.k, s.axis),
            half => sort::argtopk::<f32>(widen_half(&x)?, s.k, s.axis),
            complex => sort::argtopk::<Lex>(x, s.k, s.axis))
    },
    |s, shape| {
        let mut out = shape.to_vec();
        if let Some(d) = out.get_mut(s.axis) {
            *d = s.k;
        }
        out
    }
);

/// `out[.., j, ..] = x[.., idx[.., j, ..], ..]` along `axis` (MLX's `take_along_axis` for
/// indices that match `x` on every other axis). Inputs `(x, idx)`.
#[derive(Debug, Clone)]
pub(crate) struct GatherAxis {
    pub(crate) axis: usize,
}

/// The transpose of [`GatherAxis`]: inputs `(updates, idx)`, output of `updates`' shape with
/// `axis` of size `n`, zeros plus `updates` added at `idx`.
#[derive(Debug)]
pub(crate) struct ScatterAddAxis {
    pub(crate) axis: usize,
    pub(crate) n: usize,
}

/// Gathers `x` along `axis` at uint32 `idx` (same shape as `x` except along `axis`).
pub(crate) fn gather_along(x: &Array, idx: &Array, axis: usize) -> Result<Array> {
    Ok(Array::from_primitive(
        idx.shape().to_vec(),
        x.dtype(),
        Arc::new(GatherAxis { axis }),
        vec![x.clone(), idx.clone()],
    ))
}

/// Scatter-adds `upd` along `axis` at `idx` into zeros whose `axis` has size `n`.
pub(crate) fn scatter_add_along(upd: &Array, idx: &Array, axis: usize, n: usize) -> Result<Array> {
    let mut shape = upd.shape().to_vec();
    *shape.at_mut(axis)? = n;
    Ok(Array::from_primitive(
        shape,
        upd.dtype(),
        Arc::new(ScatterAddAxis { axis, n }),
        vec![upd.clone(), idx.clone()],
    ))
}

fn two(inputs: Vec<Data>, op: &str) -> Result<(Data, Data)> {
    let mut it = inputs.into_iter();
    match (it.next(), it.next()) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => bail!(Value, "{op}: expected two inputs"),
    }
}

impl Primitive for GatherAxis {
    define_name!("GatherAxis");

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        let (x, idx) = two(inputs, "GatherAxis")?;
        // a gather only moves elements: one kernel per element width
        crate::dispatch_width!(x.dtype(), T => sort::gather_axis::<T>(x, idx, self.axis))
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        argnums
            .iter()
            .map(|&i| {
                if i == 0 {
                    let n = *primals.at(0)?.shape().at(self.axis)?;
                    scatter_add_along(cotangent, primals.at(1)?, self.axis, n)
                } else {
                    zeros_like(primals.at(1)?)
                }
            })
            .collect()
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Array> {
        match argnums.iter().position(|&a| a == 0) {
            Some(k) => gather_along(tangents.at(k)?, primals.at(1)?, self.axis),
            None => zeros_like(&gather_along(primals.at(0)?, primals.at(1)?, self.axis)?),
        }
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (v, ax) = batching::align_elementwise(self.name(), inputs, axes, true)?;
        let axis = batching::shift_axis(self.axis, ax);
        Ok((
            vec![gather_along(v.at(0)?, v.at(1)?, axis)?],
            vec![Some(ax)],
        ))
    }
}

impl Primitive for ScatterAddAxis {
    define_name!("ScatterAddAxis");

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        let (u, idx) = two(inputs, "ScatterAddAxis")?;
        dispatch_all!(u.dtype(), T => sort::scatter_add_axis::<T>(u, idx, self.axis, self.n),
            complex => sort::scatter_add_axis::<Lex>(u, idx, self.axis, self.n))
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        argnums
            .iter()
            .map(|&i| {
                if i == 0 {
                    gather_along(cotangent, primals.at(1)?, self.axis)
                } else {
                    zeros_like(primals.at(1)?)
                }
            })
            .collect()
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Array> {
        match argnums.iter().position(|&a| a == 0) {
            Some(k) => scatter_add_along(tangents.at(k)?, primals.at(1)?, self.axis, self.n),
            None => zeros_like(&scatter_add_along(
                primals.at(0)?,
                primals.at(1)?,
                self.axis,
                self.n,
            )?),
        }
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (v, ax) = batching::align_elementwise(self.name(), inputs, axes, true)?;
        let axis = batching::shift_axis(self.axis, ax);
        Ok((
            vec![scatter_add_along(v.at(0)?, v.at(1)?, axis, self.n)?],
            vec![Some(ax)],
        ))
    }
}

/// Insertion points of the values (input 1) in a sorted 1-D sequence (input 0): MLX's
/// `SearchSorted`. Integer output, so no gradient flows (zero cotangents).
#[derive(Debug, Clone)]
pub struct SearchSorted {
    /// Count the sequence elements equal to a value as before it (`side="right"`).
    pub right: bool,
}

impl Primitive for SearchSorted {
    define_name!("SearchSorted");

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        let [s, v] = super::take_inputs(self.name(), inputs)?;
        Ok(
            dispatch_all!(s.dtype(), T => sort::searchsorted::<T>(&s, &v, self.right),
            half => sort::searchsorted::<f32>(&widen_half(&s)?, &widen_half(&v)?, self.right),
            complex => bail!(Dtype, "[searchsorted] Not supported for complex64.")),
        )
    }

    fn vjp(
        &self,
        primals: &[Array],
        _: &Array,
        _: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        super::zero_cotangents(primals, argnums)
    }

    fn jvp(&self, primals: &[Array], _: &[Array], _: &[usize]) -> Result<Array> {
        crate::ops::zeros(primals.at(1)?.shape(), Dtype::U32)
    }

    fn output_shapes(&self, inputs: &[Array]) -> Result<Vec<Vec<usize>>> {
        match inputs {
            [_, v] => Ok(vec![v.shape().to_vec()]),
            _ => bail!(Value, "SearchSorted: expected two inputs"),
        }
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        match (inputs, axes) {
            ([s, v], [None, ax]) => Ok((
                vec![crate::ops::searchsorted(s, v, if self.right { "right" } else { "left" })?],
                vec![*ax],
            )),
            _ => bail!(
                Transform,
                "[searchsorted] Cannot vmap over the sorted sequence, only over the values being searched for."
            ),
        }
    }
}
