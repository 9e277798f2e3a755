//! `AsType`: elementwise dtype conversion.

use super::{batching, Primitive, Vmapped};
use crate::backend::cpu::convert;
pub use crate::backend::cpu::convert::Convert;
use crate::buffer::Data;
use crate::checked::Checked;
use crate::{Array, Dtype, Result};

/// Converts elements to `dtype`.
#[derive(Debug)]
pub struct AsType {
    /// Target dtype.
    pub dtype: Dtype,
}

impl Primitive for AsType {
    define_elementwise_shapes!();

    define_name!("AsType");

    fn eval_cpu(&self, inputs: Vec<Data>, _shape: &[usize], dtype: Dtype) -> Result<Data> {
        let [x] = super::take_inputs("AsType", inputs)?;
        convert::cast(x, dtype)
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _: &Array,
        _: &[usize],
    ) -> Result<Vec<Array>> {
        Ok(vec![cotangent.astype(primals.at(0)?.dtype())?])
    }

    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        tangents.at(0)?.astype(self.dtype)
    }

    fn fusion_step(&self, inputs: &[Dtype]) -> Option<crate::backend::cpu::fused::Step> {
        let x = *inputs.first()?;
        (crate::backend::cpu::fused::supports(x)
            && crate::backend::cpu::fused::supports(self.dtype))
        .then_some(crate::backend::cpu::fused::Step::Cast)
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        Ok((vec![x.astype(self.dtype)?], vec![Some(ax)]))
    }
}
