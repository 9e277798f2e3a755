//! Slicing primitives: `Slice` (a view), `SliceUpdate` (a functional update of a strided region)
//! and `Concatenate`.

use super::{batching, Primitive, Vmapped};
use crate::backend::cpu::copy::{concatenate, writable_copy, write_view};
use crate::buffer::{contiguous_strides, Data};
use crate::checked::Checked;
use crate::ops::creation::zeros;
use crate::ops::slicing::{slice_raw, slice_update_raw};
use crate::{bail, Array, Dtype, Result};

/// A strided sub-array: axis `i` starts at `starts[i]` and steps by `steps[i]` (negative allowed);
/// the output shape says how many elements each axis keeps. A view: only offset and strides change.
#[derive(Debug)]
pub struct Slice {
    /// First index per axis (in range whenever the axis keeps any element).
    pub starts: Vec<usize>,
    /// Step per axis (non-zero).
    pub steps: Vec<isize>,
    /// Elements kept per axis (the output shape).
    pub shape: Vec<usize>,
}

impl Primitive for Slice {
    define_name!("Slice");

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], _: Dtype) -> Result<Data> {
        let [x] = super::take_inputs(self.name(), inputs)?;
        let layout = x.layout().slice(&self.starts, &self.steps, shape);
        x.with_layout(layout)
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _: &Array,
        _: &[usize],
    ) -> Result<Vec<Array>> {
        let z = zeros(primals.at(0)?.shape(), cotangent.dtype())?;
        Ok(vec![slice_update_raw(
            &z,
            cotangent,
            &self.starts,
            &self.steps,
        )?])
    }

    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        slice_raw(tangents.at(0)?, &self.starts, &self.steps, &self.shape)
    }

    /// The mapped axis is taken whole.
    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        let (mut starts, mut steps, mut shape) =
            (self.starts.clone(), self.steps.clone(), self.shape.clone());
        starts.insert(ax, 0);
        steps.insert(ax, 1);
        shape.insert(ax, *x.shape().at(ax)?);
        Ok((
            vec![slice_raw(&x, &starts, &steps, &shape)?],
            vec![Some(ax)],
        ))
    }
}

/// Writes `update` (inputs\[1\], already of the region's shape and the source's dtype) into the
/// strided region `starts`/`steps` of a copy of the source (inputs\[0\]).
#[derive(Debug)]
pub struct SliceUpdate {
    /// First index per axis.
    pub starts: Vec<usize>,
    /// Step per axis (non-zero).
    pub steps: Vec<isize>,
}

impl SliceUpdate {
    /// What the kernel assumes (the op checked it; a direct call may not have): the source is
    /// the output, the update has the output's rank and dtype, and the strided region it fills
    /// lies inside the output.
    fn check(&self, src: &Data, upd: &Data, shape: &[usize], dtype: Dtype) -> Result<()> {
        let nd = shape.len();
        if src.shape() != shape
            || src.dtype() != dtype
            || upd.dtype() != dtype
            || upd.shape().len() != nd
            || self.starts.len() != nd
            || self.steps.len() != nd
        {
            bail!(
                Shape,
                "SliceUpdate: a {} source {:?} and a {} update {:?} with starts {:?} and steps \
                 {:?} do not fit a {dtype} output {shape:?}",
                src.dtype(),
                src.shape(),
                upd.dtype(),
                upd.shape(),
                self.starts,
                self.steps
            );
        }
        if upd.size() == 0 {
            return Ok(());
        }
        for (((&start, &step), &m), &d) in self
            .starts
            .iter()
            .zip(&self.steps)
            .zip(upd.shape())
            .zip(shape)
        {
            let last = start as i128 + (m as i128 - 1) * step as i128;
            if start >= d || last < 0 || last >= d as i128 {
                bail!(
                    Index,
                    "SliceUpdate: {m} elements from {start} by {step} leave an axis of {d}"
                );
            }
        }
        Ok(())
    }
}

impl Primitive for SliceUpdate {
    define_name!("SliceUpdate");

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let [src, upd] = super::take_inputs(self.name(), inputs)?;
        self.check(&src, &upd, shape, dtype)?;
        let n: usize = shape.iter().product();
        let mut buf = writable_copy(src);
        if upd.size() > 0 {
            let base = contiguous_strides(shape);
            let strides: Vec<isize> = base.iter().zip(&self.steps).map(|(&b, &s)| b * s).collect();
            let offset: isize = self
                .starts
                .iter()
                .zip(&base)
                .map(|(&st, &b)| st as isize * b)
                .sum();
            crate::dispatch_width!(dtype, T => write_view::<T>(
                &upd,
                buf.as_mut_slice::<T>().span_mut(..n)?,
                &strides,
                offset as usize,
            ));
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
        let region = primals.at(1)?.shape();
        argnums
            .iter()
            .map(|&i| {
                if i == 0 {
                    let z = zeros(region, cotangent.dtype())?;
                    slice_update_raw(cotangent, &z, &self.starts, &self.steps)
                } else {
                    slice_raw(cotangent, &self.starts, &self.steps, region)
                }
            })
            .collect()
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Array> {
        let pick = |k: usize| -> Result<Array> {
            match argnums.iter().position(|&a| a == k) {
                Some(p) => Ok(tangents.at(p)?.clone()),
                None => zeros(primals.at(k)?.shape(), tangents.at(0)?.dtype()),
            }
        };
        slice_update_raw(&pick(0)?, &pick(1)?, &self.starts, &self.steps)
    }

    /// Source and update with the mapped axis first (an unmapped source is copied for every
    /// index), the mapped axis taken whole.
    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (v, _) = batching::all_front(self.name(), inputs, axes)?;
        let mut starts = self.starts.clone();
        let mut steps = self.steps.clone();
        starts.insert(0, 0);
        steps.insert(0, 1);
        Ok((
            vec![slice_update_raw(v.at(0)?, v.at(1)?, &starts, &steps)?],
            vec![Some(0)],
        ))
    }
}

/// Joins the inputs (same dtype, shapes equal except along `axis`) along `axis`.
#[derive(Debug)]
pub struct Concatenate {
    /// The axis (non-negative).
    pub axis: usize,
}

impl Primitive for Concatenate {
    define_name!("Concatenate");

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let Some(&total) = shape.get(self.axis) else {
            bail!(
                Axis,
                "Concatenate: axis {} is out of range for an output of shape {shape:?}",
                self.axis
            );
        };
        let mut along = 0usize;
        for x in &inputs {
            let fits = x.dtype() == dtype
                && x.shape().len() == shape.len()
                && x.shape()
                    .iter()
                    .zip(shape)
                    .enumerate()
                    .all(|(a, (&s, &o))| a == self.axis || s == o);
            if !fits {
                bail!(
                    Shape,
                    "Concatenate: a {} input of shape {:?} does not fit a {dtype} output of shape \
                     {shape:?} along axis {}",
                    x.dtype(),
                    x.shape(),
                    self.axis
                );
            }
            along += x.shape().get(self.axis).copied().unwrap_or(0);
        }
        if along != total {
            bail!(
                Shape,
                "Concatenate: inputs of {along} elements along axis {} for an output of {total}",
                self.axis
            );
        }
        let buf = concatenate(&inputs, self.axis, shape);
        Ok(Data::new(buf, dtype, shape))
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        let nd = cotangent.ndim();
        let mut offsets = Vec::with_capacity(primals.len());
        let mut at = 0;
        for p in primals {
            offsets.push(at);
            at += *p.shape().at(self.axis)?;
        }
        argnums
            .iter()
            .map(|&i| {
                let mut starts = vec![0usize; nd];
                *starts.at_mut(self.axis)? = *offsets.at(i)?;
                slice_raw(cotangent, &starts, &vec![1; nd], primals.at(i)?.shape())
            })
            .collect()
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Array> {
        let dtype = tangents.at(0)?.dtype();
        let parts: Vec<Array> = primals
            .iter()
            .enumerate()
            .map(|(k, p)| match argnums.iter().position(|&a| a == k) {
                Some(pos) => Ok(tangents.at(pos)?.clone()),
                None => zeros(p.shape(), dtype),
            })
            .collect::<Result<_>>()?;
        crate::ops::joining::concatenate(&parts, self.axis as isize)
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (v, ax) = batching::align_elementwise(self.name(), inputs, axes, true)?;
        let axis = batching::shift_axis(self.axis, ax);
        Ok((
            vec![crate::ops::joining::concatenate(&v, axis as isize)?],
            vec![Some(ax)],
        ))
    }
}
