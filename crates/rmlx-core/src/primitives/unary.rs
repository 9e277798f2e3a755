//! Elementwise unary primitives (`Exp`, `Sin`, `Abs`, `LogicalNot`, …) and `StopGradient`.
//!
//! The op layer ([`crate::ops::unary`]) applies MLX's dtype rules before building a node: math
//! functions see float inputs only (integers are cast to float32 first), `LogicalNot` sees bool,
//! `BitwiseInvert` integers. Kernels compute f16/bf16 in f32.

use super::Primitive;
use crate::backend::cpu::elementwise::map_unary;
use crate::backend::cpu::scalar::{Arith, Bits, FloatMath, Real};
use crate::buffer::Data;
use crate::ops::zeros_like;
use crate::{bail, dispatch_all, dispatch_float, Array, Dtype, Result};

/// Which unary operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `|x|`
    Abs,
    /// `-x`
    Negative,
    /// -1, 0 or 1
    Sign,
    /// `x * x`
    Square,
    /// `sqrt(x)`
    Sqrt,
    /// `1 / sqrt(x)`
    Rsqrt,
    /// `1 / x`
    Reciprocal,
    /// `e^x`
    Exp,
    /// `e^x - 1`
    Expm1,
    /// natural log
    Log,
    /// `ln(1 + x)`
    Log1p,
    /// base-2 log
    Log2,
    /// base-10 log
    Log10,
    /// sine
    Sin,
    /// cosine
    Cos,
    /// tangent
    Tan,
    /// arcsine
    ArcSin,
    /// arccosine
    ArcCos,
    /// arctangent
    ArcTan,
    /// hyperbolic sine
    Sinh,
    /// hyperbolic cosine
    Cosh,
    /// hyperbolic tangent
    Tanh,
    /// inverse hyperbolic sine
    ArcSinh,
    /// inverse hyperbolic cosine
    ArcCosh,
    /// inverse hyperbolic tangent
    ArcTanh,
    /// logistic sigmoid
    Sigmoid,
    /// error function
    Erf,
    /// inverse error function
    ErfInv,
    /// round down
    Floor,
    /// round up
    Ceil,
    /// round half to even
    Round,
    /// `!x` on bool
    LogicalNot,
    /// `~x` on integers
    BitwiseInvert,
    /// NaN test (bool output)
    IsNan,
    /// ±inf test (bool output)
    IsInf,
    /// finite test (bool output)
    IsFinite,
}

impl UnaryOp {
    /// MLX's primitive name.
    pub fn name(self) -> &'static str {
        use UnaryOp::*;
        match self {
            Abs => "Abs",
            Negative => "Negative",
            Sign => "Sign",
            Square => "Square",
            Sqrt => "Sqrt",
            Rsqrt => "Rsqrt",
            Reciprocal => "Reciprocal",
            Exp => "Exp",
            Expm1 => "Expm1",
            Log => "Log",
            Log1p => "Log1p",
            Log2 => "Log2",
            Log10 => "Log10",
            Sin => "Sin",
            Cos => "Cos",
            Tan => "Tan",
            ArcSin => "ArcSin",
            ArcCos => "ArcCos",
            ArcTan => "ArcTan",
            Sinh => "Sinh",
            Cosh => "Cosh",
            Tanh => "Tanh",
            ArcSinh => "ArcSinh",
            ArcCosh => "ArcCosh",
            ArcTanh => "ArcTanh",
            Sigmoid => "Sigmoid",
            Erf => "Erf",
            ErfInv => "ErfInv",
            Floor => "Floor",
            Ceil => "Ceil",
            Round => "Round",
            LogicalNot => "LogicalNot",
            BitwiseInvert => "BitwiseInvert",
            IsNan => "IsNaN",
            IsInf => "IsInf",
            IsFinite => "IsFinite",
        }
    }

    /// True for the ops whose output is bool.
    pub fn outputs_bool(self) -> bool {
        matches!(
            self,
            UnaryOp::LogicalNot | UnaryOp::IsNan | UnaryOp::IsInf | UnaryOp::IsFinite
        )
    }

    /// True for the ops with a zero derivative everywhere (or no derivative).
    pub fn has_zero_gradient(self) -> bool {
        use UnaryOp::*;
        matches!(
            self,
            Sign | Floor | Ceil | Round | LogicalNot | BitwiseInvert | IsNan | IsInf | IsFinite
        )
    }
}

/// An elementwise unary operation.
#[derive(Debug)]
pub struct Unary(pub UnaryOp);

fn float_kernel<T: Real>(op: UnaryOp, x: Data, dtype: Dtype) -> Result<Data> {
    use UnaryOp::*;
    macro_rules! m {
        ($f:ident) => {
            map_unary::<T, T>(x, dtype, |v| T::from_c(<T::C as FloatMath>::$f(v.to_c())))
        };
    }
    macro_rules! pred {
        ($f:ident) => {
            map_unary::<T, u8>(x, dtype, |v| <T::C as FloatMath>::$f(v.to_c()) as u8)
        };
    }
    Ok(match op {
        Square => m!(square),
        Sqrt => m!(sqrt),
        Rsqrt => m!(rsqrt),
        Reciprocal => m!(reciprocal),
        Exp => m!(exp),
        Expm1 => m!(expm1),
        Log => m!(log),
        Log1p => m!(log1p),
        Log2 => m!(log2),
        Log10 => m!(log10),
        Sin => m!(sin),
        Cos => m!(cos),
        Tan => m!(tan),
        ArcSin => m!(arcsin),
        ArcCos => m!(arccos),
        ArcTan => m!(arctan),
        Sinh => m!(sinh),
        Cosh => m!(cosh),
        Tanh => m!(tanh),
        ArcSinh => m!(arcsinh),
        ArcCosh => m!(arccosh),
        ArcTanh => m!(arctanh),
        Sigmoid => m!(sigmoid),
        Erf => m!(erf),
        ErfInv => m!(erfinv),
        Floor => m!(floor),
        Ceil => m!(ceil),
        Round => m!(round),
        IsNan => pred!(is_nan),
        IsInf => pred!(is_inf),
        IsFinite => pred!(is_finite),
        Abs | Negative | Sign | LogicalNot | BitwiseInvert => {
            bail!(Dtype, "{}: internal: not a float kernel", op.name())
        }
    })
}

fn int_invert(x: Data, dtype: Dtype) -> Result<Data> {
    macro_rules! inv {
        ($t:ty) => {
            map_unary::<$t, $t>(x, dtype, <$t as Bits>::not)
        };
    }
    Ok(match x.dtype {
        Dtype::U8 => inv!(u8),
        Dtype::U16 => inv!(u16),
        Dtype::U32 => inv!(u32),
        Dtype::U64 => inv!(u64),
        Dtype::I8 => inv!(i8),
        Dtype::I16 => inv!(i16),
        Dtype::I32 => inv!(i32),
        Dtype::I64 => inv!(i64),
        Dtype::Bool => map_unary::<u8, u8>(x, dtype, |v| (v == 0) as u8),
        d => bail!(
            Dtype,
            "bitwise_invert: expected an integer or bool array, got {d}"
        ),
    })
}

impl Primitive for Unary {
    fn output_shapes(&self, inputs: &[Array]) -> Result<Vec<Vec<usize>>> {
        super::elementwise_output_shapes(self.0.name(), inputs)
    }

    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn eval_cpu(&self, inputs: Vec<Data>, _shape: &[usize], dtype: Dtype) -> Result<Data> {
        use UnaryOp::*;
        let Some(x) = inputs.into_iter().next() else {
            bail!(Value, "{}: expected one input", self.0.name());
        };
        let in_dtype = x.dtype;
        match self.0 {
            Abs => Ok(dispatch_all!(in_dtype, T => map_unary::<T, T>(x, dtype, <T as Arith>::abs))),
            Negative => {
                Ok(dispatch_all!(in_dtype, T => map_unary::<T, T>(x, dtype, <T as Arith>::neg)))
            }
            Sign => {
                Ok(dispatch_all!(in_dtype, T => map_unary::<T, T>(x, dtype, <T as Arith>::sign)))
            }
            LogicalNot => Ok(map_unary::<u8, u8>(x, dtype, |v| (v == 0) as u8)),
            BitwiseInvert => int_invert(x, dtype),
            Square if !in_dtype.is_float() => Ok(dispatch_all!(in_dtype, T =>
                map_unary::<T, T>(x, dtype, |v| <T as Arith>::mul(v, v)))),
            op => dispatch_float!(in_dtype, T => float_kernel::<T>(op, x, dtype), _ => bail!(
                Dtype,
                "{}: expected a floating point input, got {in_dtype}",
                op.name()
            )),
        }
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        output: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        let x = &primals[0];
        argnums
            .iter()
            .map(|_| {
                if self.0.has_zero_gradient() {
                    return zeros_like(x);
                }
                match self.0 {
                    UnaryOp::Negative => crate::ops::negative(cotangent),
                    op => cotangent * &derivative(op, x, output)?,
                }
            })
            .collect()
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], _argnums: &[usize]) -> Result<Array> {
        let x = &primals[0];
        let t = &tangents[0];
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
    fn output_shapes(&self, inputs: &[Array]) -> Result<Vec<Vec<usize>>> {
        super::elementwise_output_shapes("StopGradient", inputs)
    }

    fn name(&self) -> &'static str {
        "StopGradient"
    }

    fn eval_cpu(&self, inputs: Vec<Data>, _shape: &[usize], _dtype: Dtype) -> Result<Data> {
        match inputs.into_iter().next() {
            Some(x) => Ok(x),
            None => bail!(Value, "StopGradient: expected one input"),
        }
    }

    fn vjp(
        &self,
        primals: &[Array],
        _cotangent: &Array,
        _output: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        super::zero_cotangents(primals, argnums)
    }

    fn jvp(&self, primals: &[Array], _tangents: &[Array], _argnums: &[usize]) -> Result<Array> {
        zeros_like(&primals[0])
    }
}
