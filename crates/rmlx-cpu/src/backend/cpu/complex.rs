//! complex64 kernels: the elementwise unary and binary ops MLX defines on complex numbers, the
//! complex-to-real conversions, and the real/imaginary parts.
//!
//! Values are [`Complex32`] (two interleaved `f32`). Comparisons and `maximum`/`minimum` order
//! complex numbers lexicographically (real part, then imaginary part), as MLX's `complex64_t`
//! operators do.

use std::cmp::Ordering;

use super::binary::BinaryOp;
use super::elementwise::{map_binary, map_unary};
use super::unary::UnaryOp;
use crate::buffer::Data;
use crate::dtype::Complex32;
use crate::{bail, Dtype, Result};

/// MLX's order on complex numbers: the real parts, then the imaginary parts. `None` when a part
/// is NaN.
fn lex_cmp(a: Complex32, b: Complex32) -> Option<Ordering> {
    match a.re.partial_cmp(&b.re)? {
        Ordering::Equal => a.im.partial_cmp(&b.im),
        o => Some(o),
    }
}

fn is_nan(z: Complex32) -> bool {
    z.re.is_nan() || z.im.is_nan()
}

/// `x / |x|`, and 0 for 0 (MLX's `sign` of a complex number).
fn sign(z: Complex32) -> Complex32 {
    let n = z.norm();
    if n == 0.0 {
        Complex32::new(0.0, 0.0)
    } else {
        z / n
    }
}

/// Computes the unary `op` over a complex64 `x` into `dtype` (complex64, or bool for the
/// predicates).
pub fn unary(op: UnaryOp, x: Data, dtype: Dtype) -> Result<Data> {
    use UnaryOp::*;
    let pred: Option<fn(Complex32) -> bool> = match op {
        IsNan => Some(is_nan),
        IsInf => Some(|z| z.re.is_infinite() || z.im.is_infinite()),
        IsFinite => Some(|z| z.re.is_finite() && z.im.is_finite()),
        _ => None,
    };
    if let Some(p) = pred {
        return map_unary::<Complex32, u8>(x, dtype, move |z| p(z) as u8);
    }
    let f: fn(Complex32) -> Complex32 = match op {
        Abs => |z| Complex32::new(z.norm(), 0.0),
        Negative => |z| -z,
        Sign => sign,
        Square => |z| z * z,
        Sqrt => |z| z.sqrt(),
        Rsqrt => |z| z.sqrt().inv(),
        Reciprocal => |z| z.inv(),
        Exp => |z| z.exp(),
        Log => |z| z.ln(),
        Log1p => |z| (z + 1.0).ln(),
        Log2 => |z| z.ln() / std::f32::consts::LN_2,
        Log10 => |z| z.ln() / std::f32::consts::LN_10,
        Sin => |z| z.sin(),
        Cos => |z| z.cos(),
        Tan => |z| z.tan(),
        ArcSin => |z| z.asin(),
        ArcCos => |z| z.acos(),
        ArcTan => |z| z.atan(),
        Sinh => |z| z.sinh(),
        Cosh => |z| z.cosh(),
        Tanh => |z| z.tanh(),
        ArcSinh => |z| z.asinh(),
        ArcCosh => |z| z.acosh(),
        ArcTanh => |z| z.atanh(),
        Round => |z| Complex32::new(z.re.round_ties_even(), z.im.round_ties_even()),
        op => bail!(
            Dtype,
            "[{}] Not supported for complex64.",
            op.name().to_lowercase()
        ),
    };
    map_unary::<Complex32, Complex32>(x, dtype, f)
}

/// Computes the binary `op` over complex64 `a` and `b` (same shape) into `dtype` (complex64, or
/// bool for comparisons).
pub fn binary(op: BinaryOp, a: Data, b: Data, dtype: Dtype) -> Result<Data> {
    use BinaryOp::*;
    let cmp: Option<fn(Complex32, Complex32) -> bool> = match op {
        Equal => Some(|x, y| x == y),
        NotEqual => Some(|x, y| x != y),
        Less => Some(|x, y| lex_cmp(x, y) == Some(Ordering::Less)),
        LessEqual => Some(|x, y| matches!(lex_cmp(x, y), Some(Ordering::Less | Ordering::Equal))),
        Greater => Some(|x, y| lex_cmp(x, y) == Some(Ordering::Greater)),
        GreaterEqual => {
            Some(|x, y| matches!(lex_cmp(x, y), Some(Ordering::Greater | Ordering::Equal)))
        }
        _ => None,
    };
    if let Some(c) = cmp {
        return map_binary::<Complex32, Complex32, u8>(a, b, dtype, move |x, y| c(x, y) as u8);
    }
    let f: fn(Complex32, Complex32) -> Complex32 = match op {
        Add => |x, y| x + y,
        Subtract => |x, y| x - y,
        Multiply => |x, y| x * y,
        Divide => |x, y| x / y,
        // std::pow's complex power, as MLX (so 0 ** 0 is nan+nanj)
        Power => |x, y| x.powc(y),
        Maximum => |x, y| {
            if is_nan(x) || lex_cmp(x, y) == Some(Ordering::Greater) {
                x
            } else {
                y
            }
        },
        Minimum => |x, y| {
            if is_nan(x) || lex_cmp(x, y) == Some(Ordering::Less) {
                x
            } else {
                y
            }
        },
        op => bail!(
            Dtype,
            "[{}] Complex type not supported.",
            op.name().to_lowercase()
        ),
    };
    map_binary::<Complex32, Complex32, Complex32>(a, b, dtype, f)
}

/// Which part of a complex number [`part`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComplexPart {
    /// the real part (MLX's `Real`)
    Real,
    /// the imaginary part (MLX's `Imag`)
    Imag,
}

/// The real or imaginary part of a complex64 `x`, as float32.
pub fn part(x: Data, which: ComplexPart) -> Result<Data> {
    if x.dtype != Dtype::C64 {
        bail!(
            Dtype,
            "[real/imag] expected a complex64 input, got {}",
            x.dtype
        );
    }
    Ok(match which {
        ComplexPart::Real => map_unary::<Complex32, f32>(x, Dtype::F32, |z| z.re)?,
        ComplexPart::Imag => map_unary::<Complex32, f32>(x, Dtype::F32, |z| z.im)?,
    })
}

/// The complex conjugate of a complex64 `x`.
pub fn conjugate(x: Data) -> Result<Data> {
    if x.dtype != Dtype::C64 {
        bail!(
            Dtype,
            "[conjugate] expected a complex64 input, got {}",
            x.dtype
        );
    }
    map_unary::<Complex32, Complex32>(x, Dtype::C64, |z| z.conj())
}

/// `re + i·im` from two float32 arrays of one shape.
pub fn from_parts(re: Data, im: Data) -> Result<Data> {
    if re.dtype != Dtype::F32 || im.dtype != Dtype::F32 {
        bail!(
            Dtype,
            "[complex] expected float32 real and imaginary parts, got {} and {}",
            re.dtype,
            im.dtype
        );
    }
    map_binary::<f32, f32, Complex32>(re, im, Dtype::C64, Complex32::new)
}
