//! Elementwise unary primitives (`Exp`, `Sin`, `Abs`, `LogicalNot`, …) and `StopGradient`.
//!
//! The op layer ([`crate::ops::unary`]) applies MLX's dtype rules before building a node: math
//! functions see float inputs only (integers are cast to float32 first), `LogicalNot` sees bool,
//! `BitwiseInvert` integers. Kernels compute f16/bf16 in f32.

use super::{batching, Primitive, Vmapped};
use crate::backend::cpu::unary;
pub use crate::backend::cpu::unary::UnaryOp;
use crate::buffer::Data;
use crate::checked::Checked;
use crate::ops::zeros_like;
use crate::{bail, Array, Dtype, Result};

/// An elementwise unary operation.
#[derive(Debug)]
pub struct Unary(pub UnaryOp);

impl Primitive for Unary {
    define_elementwise_shapes!();

    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn eval_cpu(&self, inputs: Vec<Data>, _shape: &[usize], dtype: Dtype) -> Result<Data> {
        let [x] = super::take_inputs(self.0.name(), inputs)?;
        unary::eval(self.0, x, dtype)
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        output: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        let x = primals.at(0)?;
        argnums
            .iter()
            .map(|_| {
                if self.0.has_zero_gradient() {
                    return zeros_like(x);
                }
                match self.0 {
                    UnaryOp::Negative => crate::ops::negative(cotangent),
                    // MLX's vjp conjugates the derivative (a no-op for real inputs); |z| keeps
                    // sign(z) as it is
                    UnaryOp::Abs => cotangent * &derivative(UnaryOp::Abs, x, output)?,
                    op => cotangent * &crate::ops::conjugate(&derivative(op, x, output)?)?,
                }
            })
            .collect()
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], _argnums: &[usize]) -> Result<Array> {
        let x = primals.at(0)?;
        let t = tangents.at(0)?;
        if self.0.has_zero_gradient() {
            return zeros_like(&crate::ops::unary::unary_op(self.0, x)?);
        }
        match self.0 {
            UnaryOp::Negative => crate::ops::negative(t),
            op => {
                let out = crate::ops::unary::unary_op(op, x)?;
                t * &derivative(op, x, &out)?
            }
        }
    }

    fn fusion_step(&self, inputs: &[Dtype]) -> Option<crate::backend::cpu::fused::Step> {
        let x = *inputs.first()?;
        crate::backend::cpu::fused::fusable_unary(self.0, x)
            .then_some(crate::backend::cpu::fused::Step::Unary(self.0))
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        Ok((
            vec![crate::ops::unary::unary_op(self.0, &x)?],
            vec![Some(ax)],
        ))
    }
}

/// `f'(x)` as an array, for the differentiable unary ops, given `x` and `out = f(x)`.
fn derivative(op: UnaryOp, x: &Array, out: &Array) -> Result<Array> {
    use std::f64::consts::{LN_10, LN_2, PI};
    use UnaryOp::*;
    match op {
        Abs => x.sign(),
        Square => x * 2.0,
        Sqrt => 0.5 / out,
        Rsqrt => (&(out * out)? * out)? * -0.5,
        Reciprocal => (out * out)?.negative(),
        Exp => Ok(out.clone()),
        Expm1 => out + 1.0,
        Log => x.reciprocal(),
        Log1p => (x + 1.0)?.reciprocal(),
        Log2 => (x * LN_2)?.reciprocal(),
        Log10 => (x * LN_10)?.reciprocal(),
        Sin => x.cos(),
        Cos => x.sin()?.negative(),
        Tan => x.cos()?.square()?.reciprocal(),
        ArcSin => (1.0 - &x.square()?)?.rsqrt(),
        ArcCos => (1.0 - &x.square()?)?.rsqrt()?.negative(),
        ArcTan => (x.square()? + 1.0)?.reciprocal(),
        Sinh => x.cosh(),
        Cosh => x.sinh(),
        Tanh => 1.0 - &out.square()?,
        ArcSinh => (x.square()? + 1.0)?.rsqrt(),
        ArcCosh => (x.square()? - 1.0)?.rsqrt(),
        ArcTanh => (1.0 - &x.square()?)?.reciprocal(),
        Sigmoid => out * &(1.0 - out)?,
        Erf => x.square()?.negative()?.exp()? * (2.0 / PI.sqrt()),
        ErfInv => out.square()?.exp()? * (PI.sqrt() / 2.0),
        Negative => Ok(Array::scalar_as(-1.0, x.dtype())),
        Sign | Floor | Ceil | Round | LogicalNot | BitwiseInvert | IsNan | IsInf | IsFinite => {
            zeros_like(x)
        }
    }
}

/// `stop_gradient`: the identity in evaluation (the input's data is shared, not copied), a
/// zero derivative in every transform.
#[derive(Debug)]
pub struct StopGradient;

impl Primitive for StopGradient {
    define_elementwise_shapes!();

    define_name!("StopGradient");

    fn eval_cpu(&self, inputs: Vec<Data>, _shape: &[usize], _dtype: Dtype) -> Result<Data> {
        match inputs.into_iter().next() {
            Some(x) => Ok(x),
            None => bail!(Value, "StopGradient: expected one input"),
        }
    }

    define_zero_grads!();

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        Ok((vec![crate::ops::unary::stop_gradient(&x)?], vec![Some(ax)]))
    }
}
