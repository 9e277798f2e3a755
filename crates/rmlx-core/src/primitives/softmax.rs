//! `Softmax` and `LogSumExp` over the last axis (the op layer moves other axes there).

use super::{batching, Primitive, Vmapped};
use crate::backend::cpu::copy::contiguous;
use crate::backend::cpu::softmax;
use crate::buffer::Data;
use crate::checked::Checked;
use crate::{bail, Array, Dtype, Result};

/// Softmax over the last axis of a float array; same shape and dtype out.
#[derive(Debug)]
pub struct Softmax {
    /// For f16/bf16: accumulate in f32 (MLX's `precise=True`).
    pub precise: bool,
}

impl Primitive for Softmax {
    define_name!("Softmax");

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        let [x] = super::take_inputs(self.name(), inputs)?;
        if !x.dtype().is_float() {
            bail!(
                Dtype,
                "[Softmax] expects a real floating input, got {}",
                x.dtype()
            );
        }
        let x = if x.is_contiguous() { x } else { contiguous(x) };
        Ok(softmax::softmax(&x, self.precise))
    }

    /// `y * (cot - sum(cot * y, -1, keepdims))`.
    fn vjp(
        &self,
        _: &[Array],
        cotangent: &Array,
        output: &Array,
        _: &[usize],
    ) -> Result<Vec<Array>> {
        let y = output;
        let s = (cotangent * y)?.sum(-1, true)?;
        Ok(vec![(y * &(cotangent - &s)?)?])
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        let y = crate::ops::reduction::softmax(primals.at(0)?, -1, self.precise)?;
        let t = tangents.at(0)?;
        let s = (t * &y)?.sum(-1, true)?;
        &y * &(t - &s)?
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = last_axis_input(self.name(), inputs, axes)?;
        let out = Array::from_primitive(
            x.shape().to_vec(),
            x.dtype(),
            std::sync::Arc::new(Softmax {
                precise: self.precise,
            }),
            vec![x],
        );
        Ok((vec![out], vec![Some(ax)]))
    }
}

/// The input of a last-axis primitive with its mapped axis anywhere but last (moved to the
/// front when it was last), and where it is.
fn last_axis_input(name: &str, inputs: &[Array], axes: &[Option<usize>]) -> Result<(Array, usize)> {
    let (x, ax) = batching::single(name, inputs, axes)?;
    if ax + 1 == x.ndim() {
        Ok((batching::move_axis(&x, ax, 0)?, 0))
    } else {
        Ok((x, ax))
    }
}

/// `log(sum(exp(x)))` over the last axis, computed stably (the maximum is subtracted first);
/// the output keeps that axis as size 1.
#[derive(Debug)]
pub struct LogSumExp;

impl Primitive for LogSumExp {
    define_name!("LogSumExp");

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        let [x] = super::take_inputs(self.name(), inputs)?;
        if !x.dtype().is_float() {
            bail!(
                Dtype,
                "[LogSumExp] expects a real floating input, got {}",
                x.dtype()
            );
        }
        let x = if x.is_contiguous() { x } else { contiguous(x) };
        Ok(softmax::logsumexp(&x))
    }

    /// `softmax(x) * cot`.
    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _: &Array,
        _: &[usize],
    ) -> Result<Vec<Array>> {
        let p = crate::ops::reduction::softmax(primals.at(0)?, -1, true)?;
        Ok(vec![(&p * cotangent)?])
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        let p = crate::ops::reduction::softmax(primals.at(0)?, -1, true)?;
        (&p * tangents.at(0)?)?.sum(-1, true)
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = last_axis_input(self.name(), inputs, axes)?;
        let mut kept = x.shape().to_vec();
        if let Some(l) = kept.last_mut() {
            *l = 1;
        }
        let out = Array::from_primitive(kept, x.dtype(), std::sync::Arc::new(LogSumExp), vec![x]);
        Ok((vec![out], vec![Some(ax)]))
    }
}
