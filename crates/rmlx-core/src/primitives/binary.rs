//! Elementwise binary primitives. Inputs arrive broadcast to the output shape and cast to a common
//! dtype by the op layer; comparisons output bool.

use super::Primitive;
use crate::backend::cpu::elementwise::map_binary;
use crate::backend::cpu::scalar::Arith;
use crate::buffer::Data;
use crate::{dispatch_all, Array, Dtype, Result};

/// Which binary operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `a + b`
    Add,
    /// `a - b`
    Subtract,
    /// `a * b`
    Multiply,
    /// `a / b`
    Divide,
}

/// An elementwise binary operation.
#[derive(Debug)]
pub struct Binary(pub BinaryOp);

fn arith<T: Arith + bytemuck::Pod>(op: BinaryOp, a: Data, b: Data, dtype: Dtype) -> Data {
    match op {
        BinaryOp::Add => map_binary::<T, T, T>(a, b, dtype, T::add),
        BinaryOp::Subtract => map_binary::<T, T, T>(a, b, dtype, T::sub),
        BinaryOp::Multiply => map_binary::<T, T, T>(a, b, dtype, T::mul),
        BinaryOp::Divide => map_binary::<T, T, T>(a, b, dtype, T::div),
    }
}

impl Primitive for Binary {
    fn name(&self) -> &'static str {
        match self.0 {
            BinaryOp::Add => "Add",
            BinaryOp::Subtract => "Subtract",
            BinaryOp::Multiply => "Multiply",
            BinaryOp::Divide => "Divide",
        }
    }

    fn eval_cpu(&self, inputs: Vec<Data>, _shape: &[usize], dtype: Dtype) -> Result<Data> {
        let mut it = inputs.into_iter();
        let (a, b) = (
            it.next().expect("two inputs"),
            it.next().expect("two inputs"),
        );
        Ok(dispatch_all!(a.dtype, T => arith::<T>(self.0, a, b, dtype)))
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _output: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        let (a, b) = (&primals[0], &primals[1]);
        argnums
            .iter()
            .map(|&i| match (self.0, i) {
                (BinaryOp::Add, _) => Ok(cotangent.clone()),
                (BinaryOp::Subtract, 0) => Ok(cotangent.clone()),
                (BinaryOp::Subtract, _) => crate::ops::arithmetic::negative(cotangent),
                (BinaryOp::Multiply, 0) => cotangent * b,
                (BinaryOp::Multiply, _) => cotangent * a,
                (BinaryOp::Divide, 0) => cotangent / b,
                (BinaryOp::Divide, _) => {
                    // -cot * a / b^2
                    let q = ((cotangent * a)? / (b * b)?)?;
                    crate::ops::arithmetic::negative(&q)
                }
            })
            .collect()
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Array> {
        let (a, b) = (&primals[0], &primals[1]);
        let mut total: Option<Array> = None;
        for (t, &i) in tangents.iter().zip(argnums) {
            let term = match (self.0, i) {
                (BinaryOp::Add, _) | (BinaryOp::Subtract, 0) => t.clone(),
                (BinaryOp::Subtract, _) => crate::ops::arithmetic::negative(t)?,
                (BinaryOp::Multiply, 0) => (t * b)?,
                (BinaryOp::Multiply, _) => (t * a)?,
                (BinaryOp::Divide, 0) => (t / b)?,
                (BinaryOp::Divide, _) => crate::ops::arithmetic::negative(&((t * a)? / (b * b)?)?)?,
            };
            total = Some(match total {
                None => term,
                Some(acc) => (&acc + &term)?,
            });
        }
        Ok(total.expect("jvp called with at least one tangent"))
    }
}
