//! Elementwise unary ops with MLX's dtype rules: math functions on integer or bool input give
//! float32; `abs`/`negative`/`sign`/`square` keep integer dtypes; `floor`/`ceil`/`round` are the
//! identity on integers; `logical_not` and the `is*` tests give bool.

use std::sync::Arc;

use crate::primitives::unary::{StopGradient, Unary, UnaryOp};
use crate::{bail, Array, Dtype, Result};

fn node(op: UnaryOp, a: &Array, dtype: Dtype) -> Array {
    Array::from_primitive(
        a.shape().to_vec(),
        dtype,
        Arc::new(Unary(op)),
        vec![a.clone()],
    )
}

/// Builds the node for `op` applied to `a`, with MLX's dtype rules (see the module docs).
pub fn unary_op(op: UnaryOp, a: &Array) -> Result<Array> {
    use UnaryOp::*;
    let d = a.dtype();
    match op {
        Abs if d == Dtype::C64 => node(op, a, d).astype(Dtype::F32),
        Floor | Ceil | Expm1 | Sigmoid | Erf | ErfInv | BitwiseInvert if d == Dtype::C64 => bail!(
            Dtype,
            "[{}] Not supported for complex64.",
            op.name().to_lowercase()
        ),
        Abs | Sign | Square if d == Dtype::Bool => Ok(a.clone()),
        Abs | Sign | Square => Ok(node(op, a, d)),
        Negative if d == Dtype::Bool => bail!(
            Dtype,
            "negative: not supported for bool, use logical_not instead"
        ),
        Negative => Ok(node(op, a, d)),
        Floor | Ceil | Round if !d.is_inexact() => Ok(a.clone()),
        LogicalNot => Ok(node(op, &a.astype(Dtype::Bool)?, Dtype::Bool)),
        BitwiseInvert if d.is_float() => bail!(
            Dtype,
            "bitwise_invert: expected an integer or bool array, got {d}"
        ),
        BitwiseInvert => Ok(node(op, a, d)),
        IsNan | IsInf | IsFinite if !d.is_inexact() => {
            let v = Array::scalar_as((op == IsFinite) as u8 as f64, Dtype::Bool);
            v.broadcast_to(a.shape())
        }
        IsNan | IsInf | IsFinite => Ok(node(op, a, Dtype::Bool)),
        _ if d.is_inexact() => Ok(node(op, a, d)),
        _ => Ok(node(op, &a.astype(Dtype::F32)?, Dtype::F32)),
    }
}

macro_rules! unary_ops {
    ($($name:ident => $op:ident, $doc:literal;)*) => {
        $(
            #[doc = $doc]
            #[doc = ""]
            #[doc = "Free-function form of the [`Array`] method of the same name."]
            pub fn $name(a: &Array) -> Result<Array> {
                unary_op(UnaryOp::$op, a)
            }
        )*
        impl Array {
            $(
                #[doc = $doc]
                pub fn $name(&self) -> Result<Array> {
                    unary_op(UnaryOp::$op, self)
                }
            )*
        }
    };
}

unary_ops! {
    abs => Abs, "Elementwise absolute value (keeps the dtype; integers wrap at their minimum).";
    negative => Negative, "Elementwise `-a` (keeps the dtype; `Err` for bool, as MLX).";
    sign => Sign, "Elementwise sign: -1, 0 or 1 (keeps the dtype; NaN gives 0 as in MLX).";
    square => Square, "Elementwise `a * a` (keeps the dtype).";
    sqrt => Sqrt, "Elementwise square root (integers give float32).";
    rsqrt => Rsqrt, "Elementwise `1 / sqrt(a)` (integers give float32).";
    reciprocal => Reciprocal, "Elementwise `1 / a` (integers give float32).";
    exp => Exp, "Elementwise `e^a` (integers give float32).";
    expm1 => Expm1, "Elementwise `e^a - 1`, accurate near 0 (integers give float32).";
    log => Log, "Elementwise natural logarithm (integers give float32).";
    log1p => Log1p, "Elementwise `ln(1 + a)`, accurate near 0 (integers give float32).";
    log2 => Log2, "Elementwise base-2 logarithm (integers give float32).";
    log10 => Log10, "Elementwise base-10 logarithm (integers give float32).";
    sin => Sin, "Elementwise sine (integers give float32).";
    cos => Cos, "Elementwise cosine (integers give float32).";
    tan => Tan, "Elementwise tangent (integers give float32).";
    arcsin => ArcSin, "Elementwise arcsine (integers give float32).";
    arccos => ArcCos, "Elementwise arccosine (integers give float32).";
    arctan => ArcTan, "Elementwise arctangent (integers give float32).";
    sinh => Sinh, "Elementwise hyperbolic sine (integers give float32).";
    cosh => Cosh, "Elementwise hyperbolic cosine (integers give float32).";
    tanh => Tanh, "Elementwise hyperbolic tangent (integers give float32).";
    arcsinh => ArcSinh, "Elementwise inverse hyperbolic sine (integers give float32).";
    arccosh => ArcCosh, "Elementwise inverse hyperbolic cosine (integers give float32).";
    arctanh => ArcTanh, "Elementwise inverse hyperbolic tangent (integers give float32).";
    sigmoid => Sigmoid, "Elementwise logistic sigmoid `1 / (1 + e^-a)` (integers give float32).";
    erf => Erf, "Elementwise error function (integers give float32).";
    erfinv => ErfInv, "Elementwise inverse error function, MLX's approximation (integers give float32).";
    floor => Floor, "Elementwise floor (the identity on integers and bool).";
    ceil => Ceil, "Elementwise ceiling (the identity on integers and bool).";
    round => Round, "Elementwise rounding half to even, as MLX (the identity on integers and bool).";
    logical_not => LogicalNot, "Elementwise logical not; any dtype, non-zero is true; gives bool.";
    bitwise_invert => BitwiseInvert, "Elementwise bitwise `~a` for integers, logical not for bool; `Err` for floats.";
    isnan => IsNan, "Elementwise NaN test, giving bool (all false for integers).";
    isinf => IsInf, "Elementwise ±infinity test, giving bool (all false for integers).";
    isfinite => IsFinite, "Elementwise finiteness test, giving bool (all true for integers).";
}

/// Returns `a` unchanged in evaluation (no copy) but blocks gradients: its derivative is zero
/// in `vjp`/`jvp`/`grad`. The node's primitive is named `"StopGradient"`.
///
/// ```
/// use rmlx_core::Array;
/// let a = Array::from_slice(&[1.0f32, 2.0], &[2])?;
/// let s = rmlx_core::stop_gradient(&a)?;
/// assert_eq!(s.primitive_name(), Some("StopGradient"));
/// assert_eq!(s.to_vec::<f32>()?, vec![1.0, 2.0]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn stop_gradient(a: &Array) -> Result<Array> {
    Ok(Array::from_primitive(
        a.shape().to_vec(),
        a.dtype(),
        Arc::new(StopGradient),
        vec![a.clone()],
    ))
}

impl Array {
    /// Method form of [`stop_gradient`].
    pub fn stop_gradient(&self) -> Result<Array> {
        stop_gradient(self)
    }
}
