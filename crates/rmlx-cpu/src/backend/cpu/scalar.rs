//! Scalar arithmetic per storage type, with MLX's semantics: integers wrap, floats are IEEE,
//! f16/bf16 compute in f32 and round once.
//!
//! [`Arith`] covers every numeric storage type (bool is `u8` and handled by the callers),
//! [`Bits`] the integer-only bitwise operations, and [`Real`] / [`FloatMath`] the float math
//! functions, which f16/bf16 evaluate in f32.

use half::{bf16, f16};

use super::fastmath;
use super::special;

/// The arithmetic the elementwise kernels need on one element type.
pub trait Arith: Copy + Send + Sync + PartialOrd + 'static {
    /// `a + b`
    fn add(a: Self, b: Self) -> Self;
    /// `a - b`
    fn sub(a: Self, b: Self) -> Self;
    /// `a * b`
    fn mul(a: Self, b: Self) -> Self;
    /// `a / b` (integers: truncating; division by zero gives 0)
    fn div(a: Self, b: Self) -> Self;
    /// Floor division `floor(a / b)` (integers: rounds toward negative infinity; `/ 0` gives 0).
    fn floor_div(a: Self, b: Self) -> Self;
    /// Python's `a % b`: the result has the sign of `b` (integers: `% 0` gives 0).
    fn rem(a: Self, b: Self) -> Self;
    /// `a ** b` (integers: exact by squaring, wrapping; negative exponents give `1 / a` truncated).
    fn pow(a: Self, b: Self) -> Self;
    /// `|a|` (wrapping for the most negative integer; identity for unsigned).
    fn abs(a: Self) -> Self;
    /// `-a` (wrapping for integers, so unsigned values wrap around).
    fn neg(a: Self) -> Self;
    /// -1, 0 or 1 (MLX: NaN gives 0; unsigned: 0 or 1).
    fn sign(a: Self) -> Self;
    /// True for a float NaN.
    fn is_nan(a: Self) -> bool;
}

/// MLX's `maximum`: a NaN in either operand propagates; on ties the second operand is returned.
#[inline(always)]
pub fn maximum<T: Arith>(a: T, b: T) -> T {
    if T::is_nan(a) || a > b {
        a
    } else {
        b
    }
}

/// MLX's `minimum`: a NaN in either operand propagates; on ties the second operand is returned.
#[inline(always)]
pub fn minimum<T: Arith>(a: T, b: T) -> T {
    if T::is_nan(a) || a < b {
        a
    } else {
        b
    }
}

macro_rules! arith_int {
    ($signed:expr; $($t:ty),*) => {$(
        impl Arith for $t {
            #[inline(always)] fn add(a: Self, b: Self) -> Self { a.wrapping_add(b) }
            #[inline(always)] fn sub(a: Self, b: Self) -> Self { a.wrapping_sub(b) }
            #[inline(always)] fn mul(a: Self, b: Self) -> Self { a.wrapping_mul(b) }
            #[inline(always)] fn div(a: Self, b: Self) -> Self { if b == 0 { 0 } else { a.wrapping_div(b) } }
            #[inline(always)]
            fn floor_div(a: Self, b: Self) -> Self {
                if b == 0 {
                    return 0;
                }
                let q = a.wrapping_div(b);
                #[allow(unused_comparisons, clippy::absurd_extreme_comparisons)]
                let adjust = a.wrapping_rem(b) != 0 && ((a < 0) != (b < 0));
                if adjust { q.wrapping_sub(1) } else { q }
            }
            #[inline(always)]
            fn rem(a: Self, b: Self) -> Self {
                if b == 0 {
                    return 0;
                }
                let r = a.wrapping_rem(b);
                #[allow(unused_comparisons, clippy::absurd_extreme_comparisons)]
                let adjust = r != 0 && ((r < 0) != (b < 0));
                if adjust { r.wrapping_add(b) } else { r }
            }
            #[inline(always)]
            #[allow(unused_comparisons, clippy::absurd_extreme_comparisons)]
            fn pow(a: Self, b: Self) -> Self {
                if b < 0 {
                    // 1 / a^|b| truncated toward zero
                    return match a as i128 {
                        1 => 1,
                        -1 => if (b as i128) % 2 == 0 { 1 } else { a },
                        _ => 0,
                    };
                }
                let (mut base, mut e, mut acc) = (a, b, 1 as $t);
                while e != 0 {
                    if e & 1 == 1 {
                        acc = acc.wrapping_mul(base);
                    }
                    base = base.wrapping_mul(base);
                    e >>= 1;
                }
                acc
            }
            #[inline(always)]
            #[allow(unused_comparisons, clippy::absurd_extreme_comparisons)]
            fn abs(a: Self) -> Self { if a < 0 { (0 as $t).wrapping_sub(a) } else { a } }
            #[inline(always)] fn neg(a: Self) -> Self { (0 as $t).wrapping_sub(a) }
            #[inline(always)]
            #[allow(unused_comparisons, clippy::absurd_extreme_comparisons)]
            fn sign(a: Self) -> Self {
                if a > 0 { 1 } else if a < 0 { (0 as $t).wrapping_sub(1) } else { 0 }
            }
            #[inline(always)] fn is_nan(_: Self) -> bool { false }
        }
    )*};
}
arith_int!(false; u8, u16, u32, u64);
arith_int!(true; i8, i16, i32, i64);

macro_rules! arith_float {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            #[inline(always)] fn add(a: Self, b: Self) -> Self { a + b }
            #[inline(always)] fn sub(a: Self, b: Self) -> Self { a - b }
            #[inline(always)] fn mul(a: Self, b: Self) -> Self { a * b }
            #[inline(always)] fn div(a: Self, b: Self) -> Self { a / b }
            #[inline(always)] fn floor_div(a: Self, b: Self) -> Self { (a / b).floor() }
            #[inline(always)]
            fn rem(a: Self, b: Self) -> Self {
                let r = a % b;
                if r != 0.0 && ((r < 0.0) != (b < 0.0)) { r + b } else { r }
            }
            #[inline(always)] fn pow(a: Self, b: Self) -> Self { a.powf(b) }
            #[inline(always)] fn abs(a: Self) -> Self { a.abs() }
            #[inline(always)] fn neg(a: Self) -> Self { -a }
            #[inline(always)]
            fn sign(a: Self) -> Self {
                if a > 0.0 { 1.0 } else if a < 0.0 { -1.0 } else { 0.0 }
            }
            #[inline(always)] fn is_nan(a: Self) -> bool { a.is_nan() }
        }
    )*};
}
arith_float!(f32, f64);

macro_rules! arith_half {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            #[inline(always)] fn add(a: Self, b: Self) -> Self { <$t>::from_f32(a.to_f32() + b.to_f32()) }
            #[inline(always)] fn sub(a: Self, b: Self) -> Self { <$t>::from_f32(a.to_f32() - b.to_f32()) }
            #[inline(always)] fn mul(a: Self, b: Self) -> Self { <$t>::from_f32(a.to_f32() * b.to_f32()) }
            #[inline(always)] fn div(a: Self, b: Self) -> Self { <$t>::from_f32(a.to_f32() / b.to_f32()) }
            #[inline(always)] fn floor_div(a: Self, b: Self) -> Self { <$t>::from_f32(f32::floor_div(a.to_f32(), b.to_f32())) }
            #[inline(always)] fn rem(a: Self, b: Self) -> Self { <$t>::from_f32(f32::rem(a.to_f32(), b.to_f32())) }
            #[inline(always)] fn pow(a: Self, b: Self) -> Self { <$t>::from_f32(a.to_f32().powf(b.to_f32())) }
            #[inline(always)] fn abs(a: Self) -> Self { <$t>::from_bits(a.to_bits() & 0x7fff) }
            #[inline(always)] fn neg(a: Self) -> Self { <$t>::from_bits(a.to_bits() ^ 0x8000) }
            #[inline(always)] fn sign(a: Self) -> Self { <$t>::from_f32(f32::sign(a.to_f32())) }
            #[inline(always)] fn is_nan(a: Self) -> bool { a.is_nan() }
        }
    )*};
}
arith_half!(f16, bf16);

/// Bitwise operations on integer storage types (bool arrays use `u8` holding 0/1).
pub trait Bits: Arith {
    /// `a & b`
    fn and(a: Self, b: Self) -> Self;
    /// `a | b`
    fn or(a: Self, b: Self) -> Self;
    /// `a ^ b`
    fn xor(a: Self, b: Self) -> Self;
    /// `!a` (bitwise invert)
    fn not(a: Self) -> Self;
    /// `a << b`; shifts by a negative amount or by the bit width or more give 0.
    fn shl(a: Self, b: Self) -> Self;
    /// `a >> b` (arithmetic for signed types); shifts of the bit width or more give 0, or -1
    /// for a negative signed `a`; negative amounts give 0.
    fn shr(a: Self, b: Self) -> Self;
}

macro_rules! bits_int {
    ($($t:ty),*) => {$(
        impl Bits for $t {
            #[inline(always)] fn and(a: Self, b: Self) -> Self { a & b }
            #[inline(always)] fn or(a: Self, b: Self) -> Self { a | b }
            #[inline(always)] fn xor(a: Self, b: Self) -> Self { a ^ b }
            #[inline(always)] fn not(a: Self) -> Self { !a }
            #[inline(always)]
            #[allow(unused_comparisons, clippy::absurd_extreme_comparisons)]
            fn shl(a: Self, b: Self) -> Self {
                if b < 0 || b as u128 >= <$t>::BITS as u128 { 0 } else { a << (b as u32) }
            }
            #[inline(always)]
            #[allow(unused_comparisons, clippy::absurd_extreme_comparisons)]
            fn shr(a: Self, b: Self) -> Self {
                if b < 0 {
                    0
                } else if b as u128 >= <$t>::BITS as u128 {
                    if a < 0 { (0 as $t).wrapping_sub(1) } else { 0 }
                } else {
                    a >> (b as u32)
                }
            }
        }
    )*};
}
bits_int!(u8, u16, u32, u64, i8, i16, i32, i64);

/// Float math in one precision (implemented for `f32` and `f64`).
pub trait FloatMath: Copy + Send + Sync + PartialOrd + 'static {
    /// `e^x`
    fn exp(x: Self) -> Self;
    /// `e^x - 1`
    fn expm1(x: Self) -> Self;
    /// natural log
    fn log(x: Self) -> Self;
    /// `ln(1 + x)`
    fn log1p(x: Self) -> Self;
    /// base-2 log
    fn log2(x: Self) -> Self;
    /// base-10 log
    fn log10(x: Self) -> Self;
    /// square root
    fn sqrt(x: Self) -> Self;
    /// `1 / sqrt(x)`
    fn rsqrt(x: Self) -> Self;
    /// `1 / x`
    fn reciprocal(x: Self) -> Self;
    /// `x * x`
    fn square(x: Self) -> Self;
    /// sine
    fn sin(x: Self) -> Self;
    /// cosine
    fn cos(x: Self) -> Self;
    /// tangent
    fn tan(x: Self) -> Self;
    /// arcsine
    fn arcsin(x: Self) -> Self;
    /// arccosine
    fn arccos(x: Self) -> Self;
    /// arctangent
    fn arctan(x: Self) -> Self;
    /// hyperbolic sine
    fn sinh(x: Self) -> Self;
    /// hyperbolic cosine
    fn cosh(x: Self) -> Self;
    /// hyperbolic tangent
    fn tanh(x: Self) -> Self;
    /// inverse hyperbolic sine
    fn arcsinh(x: Self) -> Self;
    /// inverse hyperbolic cosine
    fn arccosh(x: Self) -> Self;
    /// inverse hyperbolic tangent
    fn arctanh(x: Self) -> Self;
    /// `1 / (1 + e^-x)`
    fn sigmoid(x: Self) -> Self;
    /// error function
    fn erf(x: Self) -> Self;
    /// inverse error function (MLX's approximation in f32)
    fn erfinv(x: Self) -> Self;
    /// round toward negative infinity
    fn floor(x: Self) -> Self;
    /// round toward positive infinity
    fn ceil(x: Self) -> Self;
    /// round half to even
    fn round(x: Self) -> Self;
    /// NaN test
    fn is_nan(x: Self) -> bool;
    /// ±inf test
    fn is_inf(x: Self) -> bool;
    /// finite test
    fn is_finite(x: Self) -> bool;
    /// `ln(e^a + e^b)` without overflow (MLX's formulation)
    fn logaddexp(a: Self, b: Self) -> Self;
    /// four-quadrant arctangent of `a / b`
    fn arctan2(a: Self, b: Self) -> Self;
}

macro_rules! float_math_common {
    ($t:ty) => {
        #[inline(always)]
        fn log(x: Self) -> Self {
            x.ln()
        }
        #[inline(always)]
        fn log1p(x: Self) -> Self {
            x.ln_1p()
        }
        #[inline(always)]
        fn log2(x: Self) -> Self {
            x.log2()
        }
        #[inline(always)]
        fn log10(x: Self) -> Self {
            x.log10()
        }
        #[inline(always)]
        fn sqrt(x: Self) -> Self {
            x.sqrt()
        }
        #[inline(always)]
        fn rsqrt(x: Self) -> Self {
            1.0 / x.sqrt()
        }
        #[inline(always)]
        fn reciprocal(x: Self) -> Self {
            1.0 / x
        }
        #[inline(always)]
        fn square(x: Self) -> Self {
            x * x
        }
        #[inline(always)]
        fn sin(x: Self) -> Self {
            x.sin()
        }
        #[inline(always)]
        fn cos(x: Self) -> Self {
            x.cos()
        }
        #[inline(always)]
        fn tan(x: Self) -> Self {
            x.tan()
        }
        #[inline(always)]
        fn arcsin(x: Self) -> Self {
            x.asin()
        }
        #[inline(always)]
        fn arccos(x: Self) -> Self {
            x.acos()
        }
        #[inline(always)]
        fn arctan(x: Self) -> Self {
            x.atan()
        }
        #[inline(always)]
        fn sinh(x: Self) -> Self {
            x.sinh()
        }
        #[inline(always)]
        fn cosh(x: Self) -> Self {
            x.cosh()
        }
        #[inline(always)]
        fn arcsinh(x: Self) -> Self {
            x.asinh()
        }
        #[inline(always)]
        fn arccosh(x: Self) -> Self {
            x.acosh()
        }
        #[inline(always)]
        fn arctanh(x: Self) -> Self {
            x.atanh()
        }
        #[inline(always)]
        fn floor(x: Self) -> Self {
            x.floor()
        }
        #[inline(always)]
        fn ceil(x: Self) -> Self {
            x.ceil()
        }
        #[inline(always)]
        fn round(x: Self) -> Self {
            x.round_ties_even()
        }
        #[inline(always)]
        fn is_nan(x: Self) -> bool {
            x.is_nan()
        }
        #[inline(always)]
        fn is_inf(x: Self) -> bool {
            x.is_infinite()
        }
        #[inline(always)]
        fn is_finite(x: Self) -> bool {
            x.is_finite()
        }
        #[inline(always)]
        fn logaddexp(a: Self, b: Self) -> Self {
            if a.is_nan() || b.is_nan() {
                return <$t>::NAN;
            }
            let (hi, lo) = if a > b { (a, b) } else { (b, a) };
            if lo == <$t>::NEG_INFINITY || hi == <$t>::INFINITY {
                hi
            } else {
                hi + Self::log1p(Self::exp(lo - hi))
            }
        }
        #[inline(always)]
        fn arctan2(a: Self, b: Self) -> Self {
            a.atan2(b)
        }
    };
}

impl FloatMath for f32 {
    float_math_common!(f32);
    #[inline(always)]
    fn exp(x: Self) -> Self {
        fastmath::exp_f32(x)
    }
    #[inline(always)]
    fn expm1(x: Self) -> Self {
        fastmath::expm1_f32(x)
    }
    #[inline(always)]
    fn tanh(x: Self) -> Self {
        fastmath::tanh_f32(x)
    }
    #[inline(always)]
    fn sigmoid(x: Self) -> Self {
        fastmath::sigmoid_f32(x)
    }
    #[inline(always)]
    fn erf(x: Self) -> Self {
        special::erf_f32(x)
    }
    #[inline(always)]
    fn erfinv(x: Self) -> Self {
        special::erfinv_f32(x)
    }
}

impl FloatMath for f64 {
    float_math_common!(f64);
    #[inline(always)]
    fn exp(x: Self) -> Self {
        x.exp()
    }
    #[inline(always)]
    fn expm1(x: Self) -> Self {
        x.exp_m1()
    }
    #[inline(always)]
    fn tanh(x: Self) -> Self {
        x.tanh()
    }
    #[inline(always)]
    fn sigmoid(x: Self) -> Self {
        let e = (-x.abs()).exp();
        let s = 1.0 / (1.0 + e);
        if x < 0.0 {
            e * s
        } else {
            s
        }
    }
    #[inline(always)]
    fn erf(x: Self) -> Self {
        special::erf_f64(x)
    }
    #[inline(always)]
    fn erfinv(x: Self) -> Self {
        special::erfinv_f64(x)
    }
}

/// A float storage type and the precision it computes in (`f16`/`bf16` compute in `f32`).
pub trait Real: bytemuck::Pod + Send + Sync + 'static {
    /// The compute type.
    type C: FloatMath;
    /// Widens to the compute type.
    fn to_c(self) -> Self::C;
    /// Rounds back from the compute type.
    fn from_c(c: Self::C) -> Self;
}

impl Real for f32 {
    type C = f32;
    #[inline(always)]
    fn to_c(self) -> f32 {
        self
    }
    #[inline(always)]
    fn from_c(c: f32) -> f32 {
        c
    }
}

impl Real for f64 {
    type C = f64;
    #[inline(always)]
    fn to_c(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_c(c: f64) -> f64 {
        c
    }
}

macro_rules! real_half {
    ($($t:ty),*) => {$(
        impl Real for $t {
            type C = f32;
            #[inline(always)] fn to_c(self) -> f32 { self.to_f32() }
            #[inline(always)] fn from_c(c: f32) -> Self { <$t>::from_f32(c) }
        }
    )*};
}
real_half!(f16, bf16);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_floor_division_and_remainder() {
        assert_eq!(i32::floor_div(-7, 2), -4);
        assert_eq!(i32::rem(-7, 2), 1);
        assert_eq!(i32::rem(7, -2), -1);
        assert_eq!(i32::floor_div(7, 0), 0);
        assert_eq!(i8::floor_div(i8::MIN, -1), i8::MIN); // wraps
        assert_eq!(f32::rem(-7.0, 2.0), 1.0);
        assert_eq!(f32::rem(7.5, -2.0), -0.5);
        assert_eq!(u8::rem(7, 3), 1);
    }

    #[test]
    fn integer_power_and_shifts() {
        assert_eq!(<i32 as Arith>::pow(3, 4), 81);
        assert_eq!(<i32 as Arith>::pow(2, -1), 0);
        assert_eq!(<i32 as Arith>::pow(-1, -3), -1);
        assert_eq!(<u8 as Arith>::pow(2, 9), 0); // wraps
        assert_eq!(i32::shl(1, 40), 0);
        assert_eq!(i32::shr(-8, 40), -1);
        assert_eq!(i32::shr(-8, 1), -4);
        assert_eq!(u16::shl(1, 15), 32768);
    }

    #[test]
    fn max_min_nan_and_ties() {
        assert!(maximum(f32::NAN, 1.0).is_nan());
        assert!(maximum(1.0, f32::NAN).is_nan());
        assert!(minimum(f32::NAN, 1.0).is_nan());
        assert!(minimum(1.0f32, f32::NAN).is_nan());
        assert_eq!(maximum(3i32, 2), 3);
        assert_eq!(minimum(3i32, 2), 2);
    }
}
