//! Elementwise binary primitives. Inputs arrive broadcast to the output shape and cast to a common
//! dtype by the op layer ([`crate::ops::binary`]); comparisons and logical ops output bool.

use super::Primitive;
use crate::backend::cpu::elementwise::map_binary;
use crate::backend::cpu::scalar::{maximum, minimum, Arith, Bits, FloatMath, Real};
use crate::buffer::Data;
use crate::ops::zeros_like;
use crate::{bail, dispatch_all, dispatch_float, Array, Dtype, Result};

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
    /// `floor(a / b)`
    FloorDivide,
    /// Python's `a % b` (sign of `b`)
    Remainder,
    /// `a ** b`
    Power,
    /// elementwise max, NaN-propagating
    Maximum,
    /// elementwise min, NaN-propagating
    Minimum,
    /// `ln(e^a + e^b)`
    LogAddExp,
    /// `atan2(a, b)`
    ArcTan2,
    /// `a == b`
    Equal,
    /// `a != b`
    NotEqual,
    /// `a < b`
    Less,
    /// `a <= b`
    LessEqual,
    /// `a > b`
    Greater,
    /// `a >= b`
    GreaterEqual,
    /// `a && b` on bool
    LogicalAnd,
    /// `a || b` on bool
    LogicalOr,
    /// `a & b`
    BitwiseAnd,
    /// `a | b`
    BitwiseOr,
    /// `a ^ b`
    BitwiseXor,
    /// `a << b`
    LeftShift,
    /// `a >> b`
    RightShift,
}

impl BinaryOp {
    /// MLX's primitive name.
    pub fn name(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Add => "Add",
            Subtract => "Subtract",
            Multiply => "Multiply",
            Divide => "Divide",
            FloorDivide => "FloorDivide",
            Remainder => "Remainder",
            Power => "Power",
            Maximum => "Maximum",
            Minimum => "Minimum",
            LogAddExp => "LogAddExp",
            ArcTan2 => "ArcTan2",
            Equal => "Equal",
            NotEqual => "NotEqual",
            Less => "Less",
            LessEqual => "LessEqual",
            Greater => "Greater",
            GreaterEqual => "GreaterEqual",
            LogicalAnd => "LogicalAnd",
            LogicalOr => "LogicalOr",
            BitwiseAnd => "BitwiseAnd",
            BitwiseOr => "BitwiseOr",
            BitwiseXor => "BitwiseXor",
            LeftShift => "LeftShift",
            RightShift => "RightShift",
        }
    }

    /// True for the comparisons and logical ops (bool output).
    pub fn outputs_bool(self) -> bool {
        use BinaryOp::*;
        matches!(
            self,
            Equal | NotEqual | Less | LessEqual | Greater | GreaterEqual | LogicalAnd | LogicalOr
        )
    }

    /// True for the bitwise and shift ops (integer and bool inputs only).
    pub fn is_bitwise(self) -> bool {
        use BinaryOp::*;
        matches!(
            self,
            BitwiseAnd | BitwiseOr | BitwiseXor | LeftShift | RightShift
        )
    }
}

/// An elementwise binary operation.
#[derive(Debug)]
pub struct Binary(pub BinaryOp);

fn arith<T: Arith + bytemuck::Pod>(op: BinaryOp, a: Data, b: Data, dtype: Dtype) -> Result<Data> {
    use BinaryOp::*;
    Ok(match op {
        Add => map_binary::<T, T, T>(a, b, dtype, T::add),
        Subtract => map_binary::<T, T, T>(a, b, dtype, T::sub),
        Multiply => map_binary::<T, T, T>(a, b, dtype, T::mul),
        Divide => map_binary::<T, T, T>(a, b, dtype, T::div),
        FloorDivide => map_binary::<T, T, T>(a, b, dtype, T::floor_div),
        Remainder => map_binary::<T, T, T>(a, b, dtype, T::rem),
        Power => map_binary::<T, T, T>(a, b, dtype, T::pow),
        Maximum => map_binary::<T, T, T>(a, b, dtype, maximum::<T>),
        Minimum => map_binary::<T, T, T>(a, b, dtype, minimum::<T>),
        Equal => map_binary::<T, T, u8>(a, b, dtype, |x, y| (x == y) as u8),
        NotEqual => map_binary::<T, T, u8>(a, b, dtype, |x, y| (x != y) as u8),
        Less => map_binary::<T, T, u8>(a, b, dtype, |x, y| (x < y) as u8),
        LessEqual => map_binary::<T, T, u8>(a, b, dtype, |x, y| (x <= y) as u8),
        Greater => map_binary::<T, T, u8>(a, b, dtype, |x, y| (x > y) as u8),
        GreaterEqual => map_binary::<T, T, u8>(a, b, dtype, |x, y| (x >= y) as u8),
        _ => bail!(Dtype, "{}: internal: not an arithmetic kernel", op.name()),
    })
}

fn float_only<T: Real>(op: BinaryOp, a: Data, b: Data, dtype: Dtype) -> Result<Data> {
    Ok(match op {
        BinaryOp::LogAddExp => map_binary::<T, T, T>(a, b, dtype, |x, y| {
            T::from_c(<T::C as FloatMath>::logaddexp(x.to_c(), y.to_c()))
        }),
        BinaryOp::ArcTan2 => map_binary::<T, T, T>(a, b, dtype, |x, y| {
            T::from_c(<T::C as FloatMath>::arctan2(x.to_c(), y.to_c()))
        }),
        op => bail!(Dtype, "{}: internal: not a float kernel", op.name()),
    })
}

fn bits<T: Bits + bytemuck::Pod>(op: BinaryOp, a: Data, b: Data, dtype: Dtype) -> Result<Data> {
    use BinaryOp::*;
    Ok(match op {
        BitwiseAnd => map_binary::<T, T, T>(a, b, dtype, T::and),
        BitwiseOr => map_binary::<T, T, T>(a, b, dtype, T::or),
        BitwiseXor => map_binary::<T, T, T>(a, b, dtype, T::xor),
        LeftShift => map_binary::<T, T, T>(a, b, dtype, T::shl),
        RightShift => map_binary::<T, T, T>(a, b, dtype, T::shr),
        op => bail!(Dtype, "{}: internal: not a bitwise kernel", op.name()),
    })
}

/// Bool operands of arithmetic ops: computed on 0/1 bytes and normalised to 0/1 (so `add` is
/// `or`, `multiply` is `and`, `maximum` is `or`…).
fn bool_arith(op: BinaryOp, a: Data, b: Data, dtype: Dtype) -> Result<Data> {
    use BinaryOp::*;
    Ok(match op {
        Add | Maximum | LogicalOr | BitwiseOr => {
            map_binary::<u8, u8, u8>(a, b, dtype, |x, y| x | y)
        }
        Multiply | Minimum | LogicalAnd | BitwiseAnd => {
            map_binary::<u8, u8, u8>(a, b, dtype, |x, y| x & y)
        }
        Subtract | BitwiseXor => map_binary::<u8, u8, u8>(a, b, dtype, |x, y| x ^ y),
        FloorDivide | Divide => map_binary::<u8, u8, u8>(a, b, dtype, |x, y| x & y),
        Remainder => map_binary::<u8, u8, u8>(a, b, dtype, |_, _| 0),
        Power => map_binary::<u8, u8, u8>(a, b, dtype, |x, y| x | (y ^ 1)),
        op if op.outputs_bool() => arith::<u8>(op, a, b, dtype)?,
        op => bail!(Dtype, "{}: not supported for bool inputs", op.name()),
    })
}

impl Primitive for Binary {
    fn output_shapes(&self, inputs: &[Array]) -> Result<Vec<Vec<usize>>> {
        super::elementwise_output_shapes(self.0.name(), inputs)
    }

    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn eval_cpu(&self, inputs: Vec<Data>, _shape: &[usize], dtype: Dtype) -> Result<Data> {
        let [a, b] = super::take_inputs(self.0.name(), inputs)?;
        let op = self.0;
        let d = a.dtype;
        if d == Dtype::Bool && !op.is_bitwise()
            || matches!(op, BinaryOp::LogicalAnd | BinaryOp::LogicalOr)
        {
            return bool_arith(op, a, b, dtype);
        }
        if op.is_bitwise() {
            macro_rules! b {
                ($t:ty) => {
                    bits::<$t>(op, a, b, dtype)
                };
            }
            return match d {
                Dtype::Bool => bool_arith(op, a, b, dtype),
                Dtype::U8 => b!(u8),
                Dtype::U16 => b!(u16),
                Dtype::U32 => b!(u32),
                Dtype::U64 => b!(u64),
                Dtype::I8 => b!(i8),
                Dtype::I16 => b!(i16),
                Dtype::I32 => b!(i32),
                Dtype::I64 => b!(i64),
                d => bail!(
                    Dtype,
                    "{}: only integer and bool types are supported, got {d}",
                    op.name()
                ),
            };
        }
        if matches!(op, BinaryOp::LogAddExp | BinaryOp::ArcTan2) {
            return dispatch_float!(d, T => float_only::<T>(op, a, b, dtype), _ => bail!(
                Dtype,
                "{}: expected floating point inputs, got {d}",
                op.name()
            ));
        }
        dispatch_all!(d, T => arith::<T>(op, a, b, dtype))
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
                    Partial::Factor(f) => (cotangent * &f)?,
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
                &primals[0],
                &primals[1],
            )?)
        } else {
            None
        };
        let mut total: Option<Array> = None;
        for (t, &i) in tangents.iter().zip(argnums) {
            let o = out.as_ref().unwrap_or(&primals[0]);
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
                    primals[0].dtype()
                };
                Array::scalar_as(0.0, dtype).broadcast_to(primals[0].shape())
            }
        }
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
    let (a, b) = (&primals[0], &primals[1]);
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
