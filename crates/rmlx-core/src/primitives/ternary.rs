//! `Select` (the primitive behind `where_`): `cond ? x : y` elementwise over three inputs that
//! the op layer has broadcast to one shape (cond as bool, x and y in one dtype).

use super::{batching, Primitive, Vmapped};
use crate::backend::cpu::elementwise::map_ternary;
use crate::buffer::Data;
use crate::checked::Checked;
use crate::ops::zeros_like;
use crate::{Array, Dtype, Result};

/// `where(cond, x, y)`.
#[derive(Debug)]
pub struct Select;

impl Primitive for Select {
    define_elementwise_shapes!();

    define_name!("Select");

    fn eval_cpu(&self, inputs: Vec<Data>, _shape: &[usize], dtype: Dtype) -> Result<Data> {
        let [c, x, y] = super::take_inputs("Select", inputs)?;
        // selection only moves elements: one kernel per element width, not per dtype
        Ok(crate::dispatch_width!(dtype, T => map_ternary::<T>(&c, &x, &y, dtype)?))
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _output: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        let c = primals.at(0)?;
        let zero = Array::scalar_as(0.0, cotangent.dtype());
        argnums
            .iter()
            .map(|&i| match i {
                0 => zeros_like(c),
                1 => c.where_(cotangent, &zero),
                _ => c.where_(&zero, cotangent),
            })
            .collect()
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Array> {
        let c = primals.at(0)?;
        let dtype = primals.at(1)?.dtype();
        let zero = Array::scalar_as(0.0, dtype);
        let mut tx = zero.clone();
        let mut ty = zero;
        for (t, &i) in tangents.iter().zip(argnums) {
            match i {
                1 => tx = t.clone(),
                2 => ty = t.clone(),
                _ => {}
            }
        }
        c.where_(&tx, &ty)?.broadcast_to(c.shape())
    }

    fn fusion_step(&self, inputs: &[Dtype]) -> Option<crate::backend::cpu::fused::Step> {
        inputs
            .iter()
            .all(|&x| crate::backend::cpu::fused::supports(x))
            .then_some(crate::backend::cpu::fused::Step::Select)
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (v, ax) = batching::align_elementwise(self.name(), inputs, axes, false)?;
        Ok((vec![v.at(0)?.where_(v.at(1)?, v.at(2)?)?], vec![Some(ax)]))
    }
}
