//! Elementwise binary primitives. Inputs arrive broadcast to the output shape and cast to a common
//! dtype by the op layer ([`crate::ops::binary`]); comparisons and logical ops output bool.

use super::{batching, Primitive, Vmapped};
use crate::backend::cpu::binary;
pub use crate::backend::cpu::binary::BinaryOp;
use crate::buffer::Data;
use crate::checked::Checked;
use crate::ops::zeros_like;
use crate::{bail, Array, Dtype, Result};

/// An elementwise binary operation.
#[derive(Debug)]
pub struct Binary(pub BinaryOp);

impl Primitive for Binary {
    define_elementwise_shapes!();

    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn eval_cpu(&self, inputs: Vec<Data>, _shape: &[usize], dtype: Dtype) -> Result<Data> {
        let [a, b] = super::take_inputs(self.0.name(), inputs)?;
        binary::eval(self.0, a, b, dtype)
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        output: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        argnums
            .iter()
            .map(|&i| {
                let Some(p) = primals.get(i) else {
                    bail!(Transform, "{}: vjp: no input {i}", self.0.name());
                };
                Ok(match partial(self.0, i, primals, output)? {
                    Partial::Zero => zeros_like(p)?,
                    Partial::One => cotangent.clone(),
                    Partial::MinusOne => cotangent.negative()?,
                    // MLX's vjp conjugates the factor (a no-op for real inputs)
                    Partial::Factor(f) => (cotangent * &crate::ops::conjugate(&f)?)?,
                })
            })
            .collect()
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Array> {
        let out = if argnums.iter().any(|&i| {
            matches!(
                (self.0, i),
                (BinaryOp::Divide, 1) | (BinaryOp::Power, 1) | (BinaryOp::Remainder, 1)
            )
        }) {
            Some(crate::ops::binary::binary_op(
                self.0,
                primals.at(0)?,
                primals.at(1)?,
            )?)
        } else {
            None
        };
        let mut total: Option<Array> = None;
        for (t, &i) in tangents.iter().zip(argnums) {
            let o = out.as_ref().unwrap_or(primals.at(0)?);
            let term = match partial(self.0, i, primals, o)? {
                Partial::Zero => continue,
                Partial::One => t.clone(),
                Partial::MinusOne => t.negative()?,
                Partial::Factor(f) => (t * &f)?,
            };
            total = Some(match total {
                None => term,
                Some(acc) => (&acc + &term)?,
            });
        }
        match total {
            Some(t) => Ok(t),
            None => {
                let dtype = if self.0.outputs_bool() {
                    Dtype::Bool
                } else {
                    primals.at(0)?.dtype()
                };
                Array::scalar_as(0.0, dtype).broadcast_to(primals.at(0)?.shape())
            }
        }
    }

    fn fusion_step(&self, inputs: &[Dtype]) -> Option<crate::backend::cpu::fused::Step> {
        let a = *inputs.first()?;
        crate::backend::cpu::fused::fusable_binary(self.0, a)
            .then_some(crate::backend::cpu::fused::Step::Binary(self.0))
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (v, ax) = batching::align_elementwise(self.name(), inputs, axes, false)?;
        let out = crate::ops::binary::binary_op(self.0, v.at(0)?, v.at(1)?)?;
        Ok((vec![out], vec![Some(ax)]))
    }
}

/// The partial derivative of the output with respect to input `i`.
enum Partial {
    Zero,
    One,
    MinusOne,
    Factor(Array),
}

fn partial(op: BinaryOp, i: usize, primals: &[Array], out: &Array) -> Result<Partial> {
    use BinaryOp::*;
    let (a, b) = (primals.at(0)?, primals.at(1)?);
    Ok(match (op, i) {
        (Add, _) | (Subtract, 0) | (Remainder, 0) => Partial::One,
        (Subtract, _) => Partial::MinusOne,
        (Multiply, 0) => Partial::Factor(b.clone()),
        (Multiply, _) => Partial::Factor(a.clone()),
        (Divide, 0) => Partial::Factor(b.reciprocal()?),
        // d(a/b)/db = -a/b^2 = -out/b
        (Divide, _) => Partial::Factor((out / b)?.negative()?),
        (Remainder, _) => {
            if a.dtype().is_float() {
                Partial::Factor((a / b)?.floor()?.negative()?)
            } else {
                Partial::Zero
            }
        }
        (Power, 0) => Partial::Factor((&a.power(&(b - 1i32)?)? * b)?),
        (Power, _) => {
            if a.dtype().is_float() {
                // out * ln(a), with 0 where a == 0 (the limit for b > 0)
                let zero = Array::scalar_as(0.0, a.dtype());
                let la = a.equal(&zero)?.where_(&zero, &a.log()?)?;
                Partial::Factor((out * &la)?)
            } else {
                Partial::Zero
            }
        }
        // MLX: a gets the gradient where a > b, b where a <= b (ties go to b)
        (Maximum, 0) => Partial::Factor(a.greater(b)?.astype(a.dtype())?),
        (Maximum, _) => Partial::Factor(a.less_equal(b)?.astype(a.dtype())?),
        (Minimum, 0) => Partial::Factor(a.less(b)?.astype(a.dtype())?),
        (Minimum, _) => Partial::Factor(a.greater_equal(b)?.astype(a.dtype())?),
        (LogAddExp, 0) => Partial::Factor((a - b)?.sigmoid()?),
        (LogAddExp, _) => Partial::Factor((b - a)?.sigmoid()?),
        (ArcTan2, 0) => Partial::Factor((b / &(a.square()? + b.square()?)?)?),
        (ArcTan2, _) => Partial::Factor((a / &(a.square()? + b.square()?)?)?.negative()?),
        _ => Partial::Zero,
    })
}

/// `divmod`: the quotient `floor(a / b)` and the remainder (sign of `b`) as one node with two
/// outputs (MLX's `DivMod`). Both are piecewise constant in the inputs, so their gradients are
/// zero, as in MLX.
#[derive(Debug)]
pub struct DivMod;

impl Primitive for DivMod {
    define_name!("DivMod");

    fn eval_cpu(&self, _: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        bail!(
            Value,
            "DivMod: has two outputs (evaluated through eval_cpu_multi)"
        )
    }

    fn eval_cpu_multi(
        &self,
        inputs: Vec<Data>,
        outputs: &[(Vec<usize>, Dtype)],
    ) -> Result<Vec<Data>> {
        let [a, b] = super::take_inputs("DivMod", inputs)?;
        let [(_, dq), (_, dr)] = outputs else {
            bail!(Value, "DivMod: expected two outputs, got {}", outputs.len());
        };
        let q = binary::eval(BinaryOp::FloorDivide, a.clone(), b.clone(), *dq)?;
        let r = binary::eval(BinaryOp::Remainder, a, b, *dr)?;
        Ok(vec![q, r])
    }

    fn output_shapes(&self, inputs: &[Array]) -> Result<Vec<Vec<usize>>> {
        let shape = super::elementwise_output_shapes("DivMod", inputs)?.remove(0);
        Ok(vec![shape.clone(), shape])
    }

    fn vjp_multi(
        &self,
        primals: &[Array],
        _: &[Array],
        _: &[Array],
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        super::zero_cotangents(primals, argnums)
    }

    fn jvp_multi(&self, primals: &[Array], _: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        let z = zeros_like(primals.at(0)?)?;
        Ok(vec![z.clone(), z])
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (v, ax) = batching::align_elementwise(self.name(), inputs, axes, false)?;
        let (q, r) = crate::ops::binary::divmod(v.at(0)?, v.at(1)?)?;
        Ok(batching::outputs_at(vec![q, r], ax))
    }
}
