//! Reduction primitives: sum, prod, max, min over a set of axes (output keeps them as size 1;
//! the op layer reshapes when `keepdims` is false).

use half::{bf16, f16};

use super::Primitive;
use crate::backend::cpu::reduce::{reduce, Reducer};
use crate::buffer::{Buffer, Data};
use crate::{bail, Array, Dtype, Element, Result};

/// Which reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    /// Sum of the elements.
    Sum,
}

/// Reduces `axes` (sorted) to size 1.
#[derive(Debug)]
pub struct Reduce {
    /// The reduction.
    pub op: ReduceOp,
    /// Axes reduced, ascending.
    pub axes: Vec<usize>,
}

struct SumF32;
impl<T: Element> Reducer<T, f32> for SumF32 {
    fn init(&self) -> f32 {
        0.0
    }
    fn load(&self, x: T) -> f32 {
        x.to_f64() as f32
    }
    fn combine(&self, a: f32, b: f32) -> f32 {
        a + b
    }
}
struct SumF64;
impl Reducer<f64, f64> for SumF64 {
    fn init(&self) -> f64 {
        0.0
    }
    fn load(&self, x: f64) -> f64 {
        x
    }
    fn combine(&self, a: f64, b: f64) -> f64 {
        a + b
    }
}
struct SumI64;
impl<T: Element> Reducer<T, i64> for SumI64 {
    fn init(&self) -> i64 {
        0
    }
    fn load(&self, x: T) -> i64 {
        x.to_f64() as i64
    }
    fn combine(&self, a: i64, b: i64) -> i64 {
        a.wrapping_add(b)
    }
}
struct SumU64;
impl<T: Element> Reducer<T, u64> for SumU64 {
    fn init(&self) -> u64 {
        0
    }
    fn load(&self, x: T) -> u64 {
        x.to_f64() as u64
    }
    fn combine(&self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }
}
struct SumF32Direct;
impl Reducer<f32, f32> for SumF32Direct {
    fn init(&self) -> f32 {
        0.0
    }
    fn load(&self, x: f32) -> f32 {
        x
    }
    fn combine(&self, a: f32, b: f32) -> f32 {
        a + b
    }
}

fn write<T: Element, A: Copy>(
    vals: Vec<A>,
    shape: &[usize],
    dtype: Dtype,
    f: impl Fn(A) -> T,
) -> Data {
    let mut buf = Buffer::new(vals.len() * dtype.size());
    for (o, v) in buf.as_mut_slice::<T>().iter_mut().zip(vals) {
        *o = f(v);
    }
    Data::new(buf, dtype, shape)
}

fn sum(x: &Data, axes: &[usize], shape: &[usize], dtype: Dtype) -> Result<Data> {
    Ok(match x.dtype {
        Dtype::F32 => write::<f32, f32>(reduce(x, axes, &SumF32Direct), shape, dtype, |v| v),
        Dtype::F64 => write::<f64, f64>(reduce(x, axes, &SumF64), shape, dtype, |v| v),
        Dtype::F16 => write::<f16, f32>(
            reduce::<f16, f32, _>(x, axes, &SumF32),
            shape,
            dtype,
            f16::from_f32,
        ),
        Dtype::Bf16 => write::<bf16, f32>(
            reduce::<bf16, f32, _>(x, axes, &SumF32),
            shape,
            dtype,
            bf16::from_f32,
        ),
        d => match dtype {
            Dtype::I32 => {
                crate::dispatch_all!(d, T => write::<i32, i64>(reduce::<T, i64, _>(x, axes, &SumI64), shape, dtype, |v| v as i32))
            }
            Dtype::I64 => {
                crate::dispatch_all!(d, T => write::<i64, i64>(reduce::<T, i64, _>(x, axes, &SumI64), shape, dtype, |v| v))
            }
            Dtype::U32 => {
                crate::dispatch_all!(d, T => write::<u32, u64>(reduce::<T, u64, _>(x, axes, &SumU64), shape, dtype, |v| v as u32))
            }
            Dtype::U64 => {
                crate::dispatch_all!(d, T => write::<u64, u64>(reduce::<T, u64, _>(x, axes, &SumU64), shape, dtype, |v| v))
            }
            other => bail!(Dtype, "sum: unsupported output dtype {other} for input {d}"),
        },
    })
}

impl Primitive for Reduce {
    fn name(&self) -> &'static str {
        match self.op {
            ReduceOp::Sum => "Sum",
        }
    }

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        match self.op {
            ReduceOp::Sum => sum(&inputs[0], &self.axes, shape, dtype),
        }
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _: &Array,
        _: &[usize],
    ) -> Result<Vec<Array>> {
        match self.op {
            // the cotangent has the reduced axes as size 1: broadcast it back
            ReduceOp::Sum => Ok(vec![cotangent
                .astype(primals[0].dtype())?
                .broadcast_to(primals[0].shape())?]),
        }
    }

    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        match self.op {
            ReduceOp::Sum => crate::ops::reduction::sum(&tangents[0], self.axes_isize(), true),
        }
    }
}

impl Reduce {
    fn axes_isize(&self) -> Vec<isize> {
        self.axes.iter().map(|&a| a as isize).collect()
    }
}
