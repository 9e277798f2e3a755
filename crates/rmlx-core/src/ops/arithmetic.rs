//! Elementwise arithmetic: unary math, binary ops with broadcasting and MLX's type promotion, and
//! the `+ - * /` operators on `&Array`, `Array` and scalars.

use std::ops::{Add, Div, Mul, Sub};
use std::sync::Arc;

use super::broadcast_arrays;
use crate::primitives::binary::{Binary, BinaryOp};
use crate::{Array, Dtype, Result};

fn binary_op(op: BinaryOp, name: &str, a: &Array, b: &Array) -> Result<Array> {
    let mut dtype = Dtype::promote(a.dtype(), b.dtype());
    if op == BinaryOp::Divide && !dtype.is_float() {
        dtype = Dtype::F32; // int / int is true division (MLX: float32)
    }
    let a = a.astype(dtype)?;
    let b = b.astype(dtype)?;
    let v = broadcast_arrays(name, &[&a, &b])?;
    Ok(Array::from_primitive(
        v[0].shape().to_vec(),
        dtype,
        Arc::new(Binary(op)),
        v,
    ))
}

/// `a + b` with broadcasting.
pub fn add(a: &Array, b: &Array) -> Result<Array> {
    binary_op(BinaryOp::Add, "add", a, b)
}

/// `a - b` with broadcasting.
pub fn subtract(a: &Array, b: &Array) -> Result<Array> {
    binary_op(BinaryOp::Subtract, "subtract", a, b)
}

/// `a * b` with broadcasting.
pub fn multiply(a: &Array, b: &Array) -> Result<Array> {
    binary_op(BinaryOp::Multiply, "multiply", a, b)
}

/// `a / b` with broadcasting; integer inputs give float32 (true division).
pub fn divide(a: &Array, b: &Array) -> Result<Array> {
    binary_op(BinaryOp::Divide, "divide", a, b)
}

/// `-a`.
pub fn negative(a: &Array) -> Result<Array> {
    let zero = Array::scalar_as(0.0, a.dtype());
    subtract(&zero, a)
}

/// A scalar converted the way MLX converts a Python scalar next to an array: it takes the
/// array's dtype, except that a float scalar next to an integer or bool array is float32.
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
    ($Trait:ident, $method:ident, $func:ident) => {
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
        impl_operator!(@scalar $Trait, $method, $func, f64, true);
        impl_operator!(@scalar $Trait, $method, $func, i32, false);
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

impl_operator!(Add, add, add);
impl_operator!(Sub, sub, subtract);
impl_operator!(Mul, mul, multiply);
impl_operator!(Div, div, divide);
