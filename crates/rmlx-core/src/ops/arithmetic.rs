//! Operators on arrays: `+ - * / %` with arrays and `f64`/`i32` scalars, `& | ^ << >>` with arrays
//! and `i32` scalars, unary `-` and `!`. All return `Result<Array>`.
//!
//! Scalars are *weak*, as Python scalars in MLX: they take the array's dtype, except that a float
//! scalar next to an integer or bool array gives float32 (see [`weak_scalar`]).
//!
//! ```
//! use rmlx_core::Array;
//! let a = Array::from_slice(&[5i32, -7], &[2])?;
//! assert_eq!((&a % 3)?.to_vec::<i32>()?, vec![2, 2]);
//! assert_eq!((-&a)?.to_vec::<i32>()?, vec![-5, 7]);
//! assert_eq!((!&a)?.to_vec::<i32>()?, vec![!5, !-7]);
//! assert_eq!((&a << 1)?.to_vec::<i32>()?, vec![10, -14]);
//! # Ok::<(), rmlx_core::Error>(())
//! ```

use std::ops::{Add, BitAnd, BitOr, BitXor, Div, Mul, Neg, Not, Rem, Shl, Shr, Sub};

use super::binary::{
    add, bitwise_and, bitwise_or, bitwise_xor, divide, left_shift, multiply, remainder,
    right_shift, subtract,
};
use super::unary::{bitwise_invert, negative};
use crate::{Array, Dtype, Result};

/// A scalar converted the way MLX converts a Python scalar next to an array: it takes the
/// array's dtype, except that a float scalar next to an integer or bool array is float32, and
/// an integer scalar next to a bool array is int32.
pub fn weak_scalar(value: f64, is_float: bool, like: &Array) -> Array {
    let d = like.dtype();
    let dtype = if is_float && !d.is_float() {
        Dtype::F32
    } else if !is_float && d == Dtype::Bool {
        Dtype::I32
    } else {
        d
    };
    Array::scalar_as(value, dtype)
}

macro_rules! impl_operator {
    ($Trait:ident, $method:ident, $func:ident $(, $scalar:ty, $float:expr)*) => {
        impl $Trait<&Array> for &Array {
            type Output = Result<Array>;
            fn $method(self, rhs: &Array) -> Result<Array> {
                $func(self, rhs)
            }
        }
        impl $Trait<Array> for Array {
            type Output = Result<Array>;
            fn $method(self, rhs: Array) -> Result<Array> {
                $func(&self, &rhs)
            }
        }
        impl $Trait<&Array> for Array {
            type Output = Result<Array>;
            fn $method(self, rhs: &Array) -> Result<Array> {
                $func(&self, rhs)
            }
        }
        impl $Trait<Array> for &Array {
            type Output = Result<Array>;
            fn $method(self, rhs: Array) -> Result<Array> {
                $func(self, &rhs)
            }
        }
        $(impl_operator!(@scalar $Trait, $method, $func, $scalar, $float);)*
    };
    (@scalar $Trait:ident, $method:ident, $func:ident, $t:ty, $float:expr) => {
        impl $Trait<$t> for &Array {
            type Output = Result<Array>;
            fn $method(self, rhs: $t) -> Result<Array> {
                $func(self, &weak_scalar(rhs as f64, $float, self))
            }
        }
        impl $Trait<$t> for Array {
            type Output = Result<Array>;
            fn $method(self, rhs: $t) -> Result<Array> {
                $func(&self, &weak_scalar(rhs as f64, $float, &self))
            }
        }
        impl $Trait<&Array> for $t {
            type Output = Result<Array>;
            fn $method(self, rhs: &Array) -> Result<Array> {
                $func(&weak_scalar(self as f64, $float, rhs), rhs)
            }
        }
        impl $Trait<Array> for $t {
            type Output = Result<Array>;
            fn $method(self, rhs: Array) -> Result<Array> {
                $func(&weak_scalar(self as f64, $float, &rhs), &rhs)
            }
        }
    };
}

impl_operator!(Add, add, add, f64, true, i32, false);
impl_operator!(Sub, sub, subtract, f64, true, i32, false);
impl_operator!(Mul, mul, multiply, f64, true, i32, false);
impl_operator!(Div, div, divide, f64, true, i32, false);
impl_operator!(Rem, rem, remainder, f64, true, i32, false);
impl_operator!(BitAnd, bitand, bitwise_and, i32, false);
impl_operator!(BitOr, bitor, bitwise_or, i32, false);
impl_operator!(BitXor, bitxor, bitwise_xor, i32, false);
impl_operator!(Shl, shl, left_shift, i32, false);
impl_operator!(Shr, shr, right_shift, i32, false);

impl Neg for &Array {
    type Output = Result<Array>;
    /// [`negative`]
    fn neg(self) -> Result<Array> {
        negative(self)
    }
}

impl Neg for Array {
    type Output = Result<Array>;
    /// [`negative`]
    fn neg(self) -> Result<Array> {
        negative(&self)
    }
}

impl Not for &Array {
    type Output = Result<Array>;
    /// MLX's `~`: logical not for bool, bitwise invert for integers, `Err` for floats.
    fn not(self) -> Result<Array> {
        bitwise_invert(self)
    }
}

impl Not for Array {
    type Output = Result<Array>;
    /// MLX's `~`: logical not for bool, bitwise invert for integers, `Err` for floats.
    fn not(self) -> Result<Array> {
        bitwise_invert(&self)
    }
}
