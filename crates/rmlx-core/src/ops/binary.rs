//! Elementwise binary ops (broadcasting, MLX type promotion), comparisons, logical and bitwise
//! ops, `where_` and `clip`.

use std::sync::Arc;

use super::broadcast_arrays;
use crate::checked::Checked;
use crate::primitives::binary::{Binary, BinaryOp, DivMod};
use crate::primitives::ternary::Select;
use crate::{bail, Array, Dtype, Result};

/// The user-facing (snake case) name of a binary op, for error messages.
fn op_name(op: BinaryOp) -> &'static str {
    use BinaryOp::*;
    match op {
        Add => "add",
        Subtract => "subtract",
        Multiply => "multiply",
        Divide => "divide",
        FloorDivide => "floor_divide",
        Remainder => "remainder",
        Power => "power",
        Maximum => "maximum",
        Minimum => "minimum",
        LogAddExp => "logaddexp",
        ArcTan2 => "arctan2",
        Equal => "equal",
        NotEqual => "not_equal",
        Less => "less",
        LessEqual => "less_equal",
        Greater => "greater",
        GreaterEqual => "greater_equal",
        LogicalAnd => "logical_and",
        LogicalOr => "logical_or",
        BitwiseAnd => "bitwise_and",
        BitwiseOr => "bitwise_or",
        BitwiseXor => "bitwise_xor",
        LeftShift => "left_shift",
        RightShift => "right_shift",
    }
}

/// Builds the node for `op(a, b)`: broadcasts, promotes with MLX's lattice and picks the output
/// dtype (float for `divide`/`logaddexp`/`arctan2` of integers, bool for comparisons and logical
/// ops). Bitwise ops reject floating point operands.
pub fn binary_op(op: BinaryOp, a: &Array, b: &Array) -> Result<Array> {
    use BinaryOp::*;
    let name = op_name(op);
    let promoted = Dtype::promote(a.dtype(), b.dtype());
    if promoted == Dtype::C64
        && (op.is_bitwise() || matches!(op, FloorDivide | Remainder | LogAddExp | ArcTan2))
    {
        bail!(Dtype, "[{name}] Complex type not supported.");
    }
    let (in_dtype, out_dtype) = match op {
        Divide | LogAddExp | ArcTan2 => {
            let d = if promoted.is_inexact() {
                promoted
            } else {
                Dtype::F32
            };
            (d, d)
        }
        LogicalAnd | LogicalOr => (Dtype::Bool, Dtype::Bool),
        op if op.outputs_bool() => (promoted, Dtype::Bool),
        op if op.is_bitwise() => {
            if promoted.is_float() {
                bail!(
                    Dtype,
                    "{name}: only integer and bool types are supported, got {} and {}",
                    a.dtype(),
                    b.dtype()
                );
            }
            let d = if matches!(op, LeftShift | RightShift) && promoted == Dtype::Bool {
                Dtype::U8
            } else {
                promoted
            };
            (d, d)
        }
        _ => (promoted, promoted),
    };
    let a = a.astype(in_dtype)?;
    let b = b.astype(in_dtype)?;
    let v = broadcast_arrays(name, &[&a, &b])?;
    Ok(Array::from_primitive(
        v.at(0)?.shape().to_vec(),
        out_dtype,
        Arc::new(Binary(op)),
        v,
    ))
}

macro_rules! binary_ops {
    ($($name:ident => $op:ident, $doc:literal;)*) => {
        $(
            #[doc = $doc]
            #[doc = ""]
            #[doc = "Broadcasts `a` and `b` and promotes them to a common dtype (MLX's rules)."]
            pub fn $name(a: &Array, b: &Array) -> Result<Array> {
                binary_op(BinaryOp::$op, a, b)
            }
        )*
        impl Array {
            $(
                #[doc = $doc]
                #[allow(clippy::should_implement_trait)]
                pub fn $name(&self, other: &Array) -> Result<Array> {
                    binary_op(BinaryOp::$op, self, other)
                }
            )*
        }
    };
}

binary_ops! {
    add => Add, "Elementwise `a + b` (integers wrap; bool + bool is logical or).";
    subtract => Subtract, "Elementwise `a - b` (integers wrap).";
    multiply => Multiply, "Elementwise `a * b` (integers wrap; bool * bool is logical and).";
    divide => Divide, "Elementwise true division `a / b`; integer operands give float32.";
    floor_divide => FloorDivide, "Elementwise floor division `floor(a / b)`, as Python's `//` (integer division by zero gives 0).";
    remainder => Remainder, "Elementwise remainder with the sign of the divisor, as Python's `%` (integer `% 0` gives 0).";
    power => Power, "Elementwise `a ** b` (integers: exact, wrapping; negative exponents truncate toward zero).";
    maximum => Maximum, "Elementwise maximum; a NaN in either operand gives NaN, as MLX.";
    minimum => Minimum, "Elementwise minimum; a NaN in either operand gives NaN, as MLX.";
    logaddexp => LogAddExp, "Elementwise `log(exp(a) + exp(b))` computed without overflow; integers give float32.";
    arctan2 => ArcTan2, "Elementwise four-quadrant arctangent of `a / b`; integers give float32.";
    equal => Equal, "Elementwise `a == b`, giving bool.";
    not_equal => NotEqual, "Elementwise `a != b`, giving bool.";
    less => Less, "Elementwise `a < b`, giving bool.";
    less_equal => LessEqual, "Elementwise `a <= b`, giving bool.";
    greater => Greater, "Elementwise `a > b`, giving bool.";
    greater_equal => GreaterEqual, "Elementwise `a >= b`, giving bool.";
    logical_and => LogicalAnd, "Elementwise logical and of the operands as bools (non-zero is true), giving bool.";
    logical_or => LogicalOr, "Elementwise logical or of the operands as bools (non-zero is true), giving bool.";
    bitwise_and => BitwiseAnd, "Elementwise `a & b` for integer and bool operands; `Err` for floats.";
    bitwise_or => BitwiseOr, "Elementwise `a | b` for integer and bool operands; `Err` for floats.";
    bitwise_xor => BitwiseXor, "Elementwise `a ^ b` for integer and bool operands; `Err` for floats.";
    left_shift => LeftShift, "Elementwise `a << b` for integers (shifts past the width give 0); `Err` for floats.";
    right_shift => RightShift, "Elementwise `a >> b` for integers (arithmetic for signed types); `Err` for floats.";
}

/// The quotient and remainder of `a / b` in one node (MLX's `mx.divmod`): `floor_divide(a, b)`
/// and `remainder(a, b)`, evaluated together. Broadcasts and promotes as `floor_divide`; the
/// gradients are zero, as in MLX.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[7i32, -7, 9], &[3])?;
/// let b = Array::from_slice(&[2i32], &[1])?;
/// let (q, r) = mx::divmod(&a, &b)?;
/// assert_eq!(q.to_vec::<i32>()?, vec![3, -4, 4]);
/// assert_eq!(r.to_vec::<i32>()?, vec![1, 1, 1]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn divmod(a: &Array, b: &Array) -> Result<(Array, Array)> {
    let d = Dtype::promote(a.dtype(), b.dtype());
    let a = a.astype(d)?;
    let b = b.astype(d)?;
    let v = broadcast_arrays("divmod", &[&a, &b])?;
    let shape = v.at(0)?.shape().to_vec();
    let mut outs =
        Array::from_primitive_multi(vec![(shape.clone(), d), (shape, d)], Arc::new(DivMod), v);
    match (outs.pop(), outs.pop()) {
        (Some(r), Some(q)) => Ok((q, r)),
        _ => bail!(Value, "divmod: expected two outputs"),
    }
}

impl Array {
    /// [`divmod`] with `self` as the dividend.
    pub fn divmod(&self, other: &Array) -> Result<(Array, Array)> {
        divmod(self, other)
    }
}

/// Picks `x` where `cond` is true and `y` elsewhere. All three broadcast together; `cond` is cast
/// to bool (non-zero is true) and `x`, `y` are promoted to a common dtype.
///
/// ```
/// use rmlx_core::{where_, Array};
/// let c = Array::from_bools(&[true, false, true], &[3])?;
/// let x = Array::from_slice(&[1.0f32, 2.0, 3.0], &[3])?;
/// let y = Array::from_slice(&[0.0f32], &[1])?;
/// assert_eq!(where_(&c, &x, &y)?.to_vec::<f32>()?, vec![1.0, 0.0, 3.0]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn where_(cond: &Array, x: &Array, y: &Array) -> Result<Array> {
    let dtype = Dtype::promote(x.dtype(), y.dtype());
    let c = cond.astype(Dtype::Bool)?;
    let x = x.astype(dtype)?;
    let y = y.astype(dtype)?;
    let v = broadcast_arrays("where", &[&c, &x, &y])?;
    Ok(Array::from_primitive(
        v.at(0)?.shape().to_vec(),
        dtype,
        Arc::new(Select),
        v,
    ))
}

/// Clips `a` to `[min, max]` (`maximum(a, min)` then `minimum(·, max)`, broadcasting and
/// promoting as those do). Either bound may be `None`, not both (as MLX).
///
/// ```
/// use rmlx_core::{clip, Array};
/// let a = Array::from_slice(&[-2.0f32, 0.5, 3.0], &[3])?;
/// let lo = Array::scalar(0.0f32);
/// let hi = Array::scalar(1.0f32);
/// assert_eq!(clip(&a, Some(&lo), Some(&hi))?.to_vec::<f32>()?, vec![0.0, 0.5, 1.0]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn clip(a: &Array, min: Option<&Array>, max: Option<&Array>) -> Result<Array> {
    if min.is_none() && max.is_none() {
        bail!(Value, "clip: min and max cannot both be None");
    }
    let mut out = a.clone();
    if let Some(lo) = min {
        out = maximum(&out, lo)?;
    }
    if let Some(hi) = max {
        out = minimum(&out, hi)?;
    }
    Ok(out)
}

impl Array {
    /// Method form of [`where_`] with `self` as the condition: `cond.where_(x, y)`.
    pub fn where_(&self, x: &Array, y: &Array) -> Result<Array> {
        where_(self, x, y)
    }

    /// Method form of [`clip`].
    pub fn clip(&self, min: Option<&Array>, max: Option<&Array>) -> Result<Array> {
        clip(self, min, max)
    }
}
