//! Matrix-product primitives: `Matmul` (`a @ b`) and `AddMM` (`beta * c + alpha * (a @ b)`).
//!
//! Inputs arrive from the op layer with at least two axes, the same batch shape (broadcast as
//! views, so the `Broadcast` vjp sums batch gradients back) and one float dtype.

use super::Primitive;
use crate::backend::cpu::gemm;
use crate::buffer::Data;
use crate::ops::linalg::{matmul, swap_last};
use crate::{Array, Dtype, Result};

/// `a @ b` over the last two axes.
#[derive(Debug)]
pub struct Matmul;

impl Primitive for Matmul {
    fn name(&self) -> &'static str {
        "Matmul"
    }

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        gemm::matmul(&inputs[0], &inputs[1], None, 1.0, 0.0, shape, dtype)
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
            .map(|&i| {
                if i == 0 {
                    matmul(cotangent, &swap_last(b)?)
                } else {
                    matmul(&swap_last(a)?, cotangent)
                }
            })
            .collect()
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Array> {
        let (a, b) = (&primals[0], &primals[1]);
        let mut total: Option<Array> = None;
        for (t, &i) in tangents.iter().zip(argnums) {
            let term = if i == 0 { matmul(t, b)? } else { matmul(a, t)? };
            total = Some(match total {
                None => term,
                Some(acc) => (&acc + &term)?,
            });
        }
        total.ok_or_else(|| crate::err!(Transform, "jvp: Matmul called without tangents"))
    }
}

/// `beta * c + alpha * (a @ b)`; inputs `[c, a, b]`, `c` broadcast to the output shape.
#[derive(Debug)]
pub struct AddMM {
    /// Scale of the product.
    pub alpha: f64,
    /// Scale of `c`.
    pub beta: f64,
}

fn scaled(x: Array, s: f64) -> Result<Array> {
    if s == 1.0 {
        Ok(x)
    } else {
        &x * s
    }
}

impl Primitive for AddMM {
    fn name(&self) -> &'static str {
        "AddMM"
    }

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        gemm::matmul(
            &inputs[1],
            &inputs[2],
            Some(&inputs[0]),
            self.alpha,
            self.beta,
            shape,
            dtype,
        )
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _output: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        let (a, b) = (&primals[1], &primals[2]);
        argnums
            .iter()
            .map(|&i| match i {
                0 => scaled(cotangent.clone(), self.beta),
                1 => scaled(matmul(cotangent, &swap_last(b)?)?, self.alpha),
                _ => scaled(matmul(&swap_last(a)?, cotangent)?, self.alpha),
            })
            .collect()
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Array> {
        let (a, b) = (&primals[1], &primals[2]);
        let mut total: Option<Array> = None;
        for (t, &i) in tangents.iter().zip(argnums) {
            let term = match i {
                0 => scaled(t.clone(), self.beta)?,
                1 => scaled(matmul(t, b)?, self.alpha)?,
                _ => scaled(matmul(a, t)?, self.alpha)?,
            };
            total = Some(match total {
                None => term,
                Some(acc) => (&acc + &term)?,
            });
        }
        total.ok_or_else(|| crate::err!(Transform, "jvp: AddMM called without tangents"))
    }
}
