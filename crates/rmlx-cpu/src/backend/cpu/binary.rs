//! Elementwise binary kernels: [`BinaryOp`] and [`eval`], which picks the element types once and
//! runs the generic elementwise kernel. Inputs arrive broadcast to the output shape and cast to a
//! common dtype; comparisons and logical ops output bool.

use half::{bf16, f16};

use super::elementwise::{
    load_f32, map_binary, map_tiles, store_bool, store_f32, Load, Store, TILE,
};
use super::scalar::{maximum, minimum, Arith, Bits, FloatMath, Real};
use crate::buffer::Data;
use crate::{bail, dispatch_all, Dtype, Result};

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

fn arith<T: Arith + bytemuck::Pod>(op: BinaryOp, a: Data, b: Data, dtype: Dtype) -> Result<Data> {
    use BinaryOp::*;
    Ok(match op {
        Add => map_binary::<T, T, T>(a, b, dtype, T::add)?,
        Subtract => map_binary::<T, T, T>(a, b, dtype, T::sub)?,
        Multiply => map_binary::<T, T, T>(a, b, dtype, T::mul)?,
        Divide => map_binary::<T, T, T>(a, b, dtype, T::div)?,
        FloorDivide => map_binary::<T, T, T>(a, b, dtype, T::floor_div)?,
        Remainder => map_binary::<T, T, T>(a, b, dtype, T::rem)?,
        Power => map_binary::<T, T, T>(a, b, dtype, T::pow)?,
        Maximum => map_binary::<T, T, T>(a, b, dtype, maximum::<T>)?,
        Minimum => map_binary::<T, T, T>(a, b, dtype, minimum::<T>)?,
        Equal => map_binary::<T, T, u8>(a, b, dtype, |x, y| (x == y) as u8)?,
        NotEqual => map_binary::<T, T, u8>(a, b, dtype, |x, y| (x != y) as u8)?,
        Less => map_binary::<T, T, u8>(a, b, dtype, |x, y| (x < y) as u8)?,
        LessEqual => map_binary::<T, T, u8>(a, b, dtype, |x, y| (x <= y) as u8)?,
        Greater => map_binary::<T, T, u8>(a, b, dtype, |x, y| (x > y) as u8)?,
        GreaterEqual => map_binary::<T, T, u8>(a, b, dtype, |x, y| (x >= y) as u8)?,
        _ => bail!(Dtype, "{}: internal: not an arithmetic kernel", op.name()),
    })
}

/// f16/bf16 operands: f32 tiles through the op's f32 slice kernel, rounded once on the way out
/// (the same numbers as the per-element f32 computation), with no f16/bf16 kernel instances.
fn half_kernel(
    op: BinaryOp,
    inputs: [&Data; 2],
    dtype: Dtype,
    (load, store): (Load<f32>, Store<f32>),
) -> Result<Data> {
    let f = f32_tile_op(op)?;
    let store = if op.outputs_bool() { store_bool } else { store };
    let run = |t: &mut [[f32; TILE]; 2], m: usize| {
        let [a, b] = t;
        f(&mut a[..m], &b[..m])
    };
    map_tiles::<f32, 2>(inputs, dtype, [load, load], &run, store)
}

/// `a[i] = f(a[i], b[i])` over two f32 tiles.
#[inline(always)]
fn zip_tiles(a: &mut [f32], b: &[f32], f: impl Fn(f32, f32) -> f32) {
    for (x, &y) in a.iter_mut().zip(b) {
        *x = f(*x, y);
    }
}

/// `a[i] = op(a[i], b[i])` over f32 tiles.
type TileOp = fn(&mut [f32], &[f32]);

/// The f32 tile kernel of a float op (comparisons write 1.0 or 0.0).
fn f32_tile_op(op: BinaryOp) -> Result<TileOp> {
    use BinaryOp::*;
    macro_rules! cmp {
        ($op:tt) => {
            |a: &mut [f32], b: &[f32]| zip_tiles(a, b, |x, y| (x $op y) as u8 as f32)
        };
    }
    Ok(match op {
        Add => |a, b| zip_tiles(a, b, <f32 as Arith>::add),
        Subtract => |a, b| zip_tiles(a, b, <f32 as Arith>::sub),
        Multiply => |a, b| zip_tiles(a, b, <f32 as Arith>::mul),
        Divide => |a, b| zip_tiles(a, b, <f32 as Arith>::div),
        FloorDivide => |a, b| zip_tiles(a, b, <f32 as Arith>::floor_div),
        Remainder => |a, b| zip_tiles(a, b, <f32 as Arith>::rem),
        Power => |a, b| zip_tiles(a, b, <f32 as Arith>::pow),
        Maximum => |a, b| zip_tiles(a, b, maximum::<f32>),
        Minimum => |a, b| zip_tiles(a, b, minimum::<f32>),
        LogAddExp => |a, b| zip_tiles(a, b, <f32 as FloatMath>::logaddexp),
        ArcTan2 => |a, b| zip_tiles(a, b, <f32 as FloatMath>::arctan2),
        Equal => cmp!(==),
        NotEqual => cmp!(!=),
        Less => cmp!(<),
        LessEqual => cmp!(<=),
        Greater => cmp!(>),
        GreaterEqual => cmp!(>=),
        op => bail!(
            Dtype,
            "{}: not supported for floating point inputs",
            op.name()
        ),
    })
}

fn float_only<T: Real>(op: BinaryOp, a: Data, b: Data, dtype: Dtype) -> Result<Data> {
    Ok(match op {
        BinaryOp::LogAddExp => map_binary::<T, T, T>(a, b, dtype, |x, y| {
            T::from_c(<T::C as FloatMath>::logaddexp(x.to_c(), y.to_c()))
        })?,
        BinaryOp::ArcTan2 => map_binary::<T, T, T>(a, b, dtype, |x, y| {
            T::from_c(<T::C as FloatMath>::arctan2(x.to_c(), y.to_c()))
        })?,
        op => bail!(Dtype, "{}: internal: not a float kernel", op.name()),
    })
}

fn bits<T: Bits + bytemuck::Pod>(op: BinaryOp, a: Data, b: Data, dtype: Dtype) -> Result<Data> {
    use BinaryOp::*;
    Ok(match op {
        BitwiseAnd => map_binary::<T, T, T>(a, b, dtype, T::and)?,
        BitwiseOr => map_binary::<T, T, T>(a, b, dtype, T::or)?,
        BitwiseXor => map_binary::<T, T, T>(a, b, dtype, T::xor)?,
        LeftShift => map_binary::<T, T, T>(a, b, dtype, T::shl)?,
        RightShift => map_binary::<T, T, T>(a, b, dtype, T::shr)?,
        op => bail!(Dtype, "{}: internal: not a bitwise kernel", op.name()),
    })
}

/// Bool operands of arithmetic ops: computed on 0/1 bytes and normalised to 0/1 (so `add` is
/// `or`, `multiply` is `and`, `maximum` is `or`…).
fn bool_arith(op: BinaryOp, a: Data, b: Data, dtype: Dtype) -> Result<Data> {
    use BinaryOp::*;
    Ok(match op {
        Add | Maximum | LogicalOr | BitwiseOr => {
            map_binary::<u8, u8, u8>(a, b, dtype, |x, y| x | y)?
        }
        Multiply | Minimum | LogicalAnd | BitwiseAnd => {
            map_binary::<u8, u8, u8>(a, b, dtype, |x, y| x & y)?
        }
        Subtract | BitwiseXor => map_binary::<u8, u8, u8>(a, b, dtype, |x, y| x ^ y)?,
        FloorDivide | Divide => map_binary::<u8, u8, u8>(a, b, dtype, |x, y| x & y)?,
        Remainder => map_binary::<u8, u8, u8>(a, b, dtype, |_, _| 0)?,
        Power => map_binary::<u8, u8, u8>(a, b, dtype, |x, y| x | (y ^ 1))?,
        op if op.outputs_bool() => arith::<u8>(op, a, b, dtype)?,
        op => bail!(Dtype, "{}: not supported for bool inputs", op.name()),
    })
}

/// Computes `op` elementwise over `a` and `b` (same shape, any strides) into a new (or donated)
/// array of `dtype`.
pub fn eval(op: BinaryOp, a: Data, b: Data, dtype: Dtype) -> Result<Data> {
    // The op broadcasts and promotes its operands before building the node: the kernels walk
    // two arrays of one shape and one dtype.
    if a.shape != b.shape || a.dtype != b.dtype {
        bail!(
            Shape,
            "{}: kernel operands must share one shape and dtype (broadcast and promote them \
             first), got {} {:?} and {} {:?}",
            op.name(),
            a.dtype,
            a.shape,
            b.dtype,
            b.shape
        );
    }
    let d = a.dtype;
    if d == Dtype::C64 {
        return super::complex::binary(op, a, b, dtype);
    }
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
    let io = match d {
        Dtype::F16 => Some((load_f32::<f16> as Load<f32>, store_f32::<f16> as Store<f32>)),
        Dtype::Bf16 => Some((
            load_f32::<bf16> as Load<f32>,
            store_f32::<bf16> as Store<f32>,
        )),
        _ => None,
    };
    if let Some(io) = io {
        return half_kernel(op, [&a, &b], dtype, io);
    }
    if matches!(op, BinaryOp::LogAddExp | BinaryOp::ArcTan2) {
        return match d {
            Dtype::F32 => float_only::<f32>(op, a, b, dtype),
            Dtype::F64 => float_only::<f64>(op, a, b, dtype),
            _ => bail!(
                Dtype,
                "{}: expected floating point inputs, got {d}",
                op.name()
            ),
        };
    }
    dispatch_all!(d, T => arith::<T>(op, a, b, dtype), half => bail!(
        Dtype,
        "{}: internal: f16/bf16 run in f32 tiles",
        op.name()
    ), complex => super::complex::binary(op, a, b, dtype))
}
