//! `ConvertFP8` (float <-> float8 e4m3, MLX's `to_fp8` / `from_fp8`) and `View` (a bit-cast to
//! another dtype, MLX's `view`).

use half::{bf16, f16};

use super::{batching, Primitive, Vmapped};
use crate::backend::cpu::elementwise::map_unary;
use crate::backend::cpu::fp8::{from_fp8, from_fp8_f16, to_fp8};
use crate::buffer::{collect_contiguous, Buffer, Data};
use crate::{bail, Array, Dtype, Result};

/// float -> e4m3 bytes (`to: true`) or e4m3 bytes -> float of the output dtype.
#[derive(Debug)]
pub struct ConvertFp8 {
    /// The direction.
    pub to: bool,
    /// The output dtype (uint8 for `to`).
    pub dtype: Dtype,
}

impl Primitive for ConvertFp8 {
    define_name!("ConvertFP8");

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], dtype: Dtype) -> Result<Data> {
        let [x] = super::take_inputs("ConvertFP8", inputs)?;
        Ok(if self.to {
            match x.dtype() {
                Dtype::F32 => map_unary::<f32, u8>(x, dtype, to_fp8)?,
                Dtype::F16 => map_unary::<f16, u8>(x, dtype, |v| to_fp8(v.to_f32()))?,
                Dtype::Bf16 => map_unary::<bf16, u8>(x, dtype, |v| to_fp8(v.to_f32()))?,
                Dtype::F64 => map_unary::<f64, u8>(x, dtype, |v| to_fp8(v as f32))?,
                d => bail!(
                    Dtype,
                    "[to_fp8] Only real floating types are supported but x.dtype() == {d}."
                ),
            }
        } else {
            match dtype {
                Dtype::F32 => map_unary::<u8, f32>(x, dtype, from_fp8)?,
                Dtype::F16 => map_unary::<u8, f16>(x, dtype, from_fp8_f16)?,
                Dtype::Bf16 => map_unary::<u8, bf16>(x, dtype, |b| bf16::from_f32(from_fp8(b)))?,
                Dtype::F64 => map_unary::<u8, f64>(x, dtype, |b| from_fp8(b) as f64)?,
                d => bail!(
                    Dtype,
                    "[from_fp8] Only real floating types are supported but dtype == {d}."
                ),
            }
        })
    }

    define_zero_grads!();

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        let out = if self.to {
            crate::ops::to_fp8(&x)?
        } else {
            crate::ops::from_fp8(&x, self.dtype)?
        };
        Ok((vec![out], vec![Some(ax)]))
    }
}

/// The same bytes read as another dtype; the last axis scales by the size ratio.
#[derive(Debug)]
pub struct View {
    /// The dtype the bytes are read as.
    pub dtype: Dtype,
}

impl Primitive for View {
    define_name!("View");

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let [x] = super::take_inputs("View", inputs)?;
        let bytes: Vec<u8> = if let Some(b) = x.contiguous_bytes() {
            b.to_vec()
        } else {
            crate::dispatch_width!(x.dtype(), T => bytemuck::cast_slice::<T, u8>(&collect_contiguous::<T>(&x)).to_vec())
        };
        Ok(Data::new(Buffer::from_slice(&bytes), dtype, shape))
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        // the mapped axis must not be the last one (its bytes are regrouped)
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        let x = batching::move_axis(&x, ax, 0)?;
        if x.ndim() < 2 {
            bail!(
                Transform,
                "vmap: view of a mapped 1-D array changes the mapped axis"
            );
        }
        Ok((vec![crate::ops::view(&x, self.dtype)?], vec![Some(0)]))
    }
}
