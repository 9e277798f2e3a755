//! Element types, MLX's promotion lattice, and the [`Element`] trait that ties a Rust type to a
//! [`Dtype`].

use bytemuck::Pod;
use half::{bf16, f16};
use std::fmt;

/// The element type of an `Array`, as MLX names them.
///
/// ```
/// use rmlx_cpu::Dtype;
/// assert_eq!(Dtype::promote(Dtype::U32, Dtype::I32), Dtype::I64);
/// assert_eq!(Dtype::promote(Dtype::Bf16, Dtype::F16), Dtype::F32);
/// assert_eq!(Dtype::F32.to_string(), "float32");
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dtype {
    /// `bool_`: one byte per element, 0 or 1.
    Bool,
    /// `uint8`
    U8,
    /// `uint16`
    U16,
    /// `uint32`
    U32,
    /// `uint64`
    U64,
    /// `int8`
    I8,
    /// `int16`
    I16,
    /// `int32`
    I32,
    /// `int64`
    I64,
    /// `float16` (IEEE half)
    F16,
    /// `bfloat16`
    Bf16,
    /// `float32`
    F32,
    /// `float64` (CPU only, as in MLX)
    F64,
    /// `complex64`: two f32 (real, imaginary), stored interleaved as [`Complex32`].
    C64,
}

/// The element of a [`Dtype::C64`] array: MLX's `complex64_t`, two `f32`.
pub use num_complex::Complex32;

/// Every dtype, in MLX's order.
pub const ALL_DTYPES: [Dtype; 14] = [
    Dtype::Bool,
    Dtype::U8,
    Dtype::U16,
    Dtype::U32,
    Dtype::U64,
    Dtype::I8,
    Dtype::I16,
    Dtype::I32,
    Dtype::I64,
    Dtype::F16,
    Dtype::Bf16,
    Dtype::F32,
    Dtype::F64,
    Dtype::C64,
];

impl Dtype {
    /// Bytes per element.
    pub const fn size(self) -> usize {
        match self {
            Dtype::Bool | Dtype::U8 | Dtype::I8 => 1,
            Dtype::U16 | Dtype::I16 | Dtype::F16 | Dtype::Bf16 => 2,
            Dtype::U32 | Dtype::I32 | Dtype::F32 => 4,
            Dtype::U64 | Dtype::I64 | Dtype::F64 | Dtype::C64 => 8,
        }
    }

    /// True for f16, bf16, f32 and f64.
    pub const fn is_float(self) -> bool {
        matches!(self, Dtype::F16 | Dtype::Bf16 | Dtype::F32 | Dtype::F64)
    }

    /// True for complex64 (MLX's `complexfloating`).
    pub const fn is_complex(self) -> bool {
        matches!(self, Dtype::C64)
    }

    /// True for the float and complex types (MLX's `inexact`).
    pub const fn is_inexact(self) -> bool {
        self.is_float() || self.is_complex()
    }

    /// True for the signed and unsigned integer types (not bool).
    pub const fn is_int(self) -> bool {
        self.is_signed_int() || self.is_unsigned_int()
    }

    /// True for i8, i16, i32, i64.
    pub const fn is_signed_int(self) -> bool {
        matches!(self, Dtype::I8 | Dtype::I16 | Dtype::I32 | Dtype::I64)
    }

    /// True for u8, u16, u32, u64.
    pub const fn is_unsigned_int(self) -> bool {
        matches!(self, Dtype::U8 | Dtype::U16 | Dtype::U32 | Dtype::U64)
    }

    /// MLX's name: `"float32"`, `"bfloat16"`, `"bool"`, …
    pub const fn name(self) -> &'static str {
        match self {
            Dtype::Bool => "bool",
            Dtype::U8 => "uint8",
            Dtype::U16 => "uint16",
            Dtype::U32 => "uint32",
            Dtype::U64 => "uint64",
            Dtype::I8 => "int8",
            Dtype::I16 => "int16",
            Dtype::I32 => "int32",
            Dtype::I64 => "int64",
            Dtype::F16 => "float16",
            Dtype::Bf16 => "bfloat16",
            Dtype::F32 => "float32",
            Dtype::F64 => "float64",
            Dtype::C64 => "complex64",
        }
    }

    /// Parses MLX's name (`"float32"`, also `"bool_"`).
    pub fn from_name(name: &str) -> Option<Dtype> {
        ALL_DTYPES
            .iter()
            .copied()
            .find(|d| d.name() == name)
            .or(if name == "bool_" {
                Some(Dtype::Bool)
            } else {
                None
            })
    }

    /// The type both operands of a binary op are cast to (MLX's JAX-style lattice).
    ///
    /// bool < every number; unsigned/signed pairs widen to the next signed type (`u32 + i32 → i64`),
    /// `u64` with a signed type gives `f32`; any int with a float gives the float; `f16 + bf16 → f32`;
    /// anything with `complex64` gives `complex64`.
    pub fn promote(a: Dtype, b: Dtype) -> Dtype {
        use Dtype::*;
        if a == b {
            return a;
        }
        match (a, b) {
            (C64, _) | (_, C64) => C64,
            (Bool, x) | (x, Bool) => x,
            (F64, _) | (_, F64) => F64,
            (F16, Bf16) | (Bf16, F16) => F32,
            (F32, _) | (_, F32) => F32,
            (x, y) if x.is_float() && !y.is_float() => x,
            (x, y) if y.is_float() && !x.is_float() => y,
            (x, y) if x.is_unsigned_int() && y.is_unsigned_int() => x.max(y),
            (x, y) if x.is_signed_int() && y.is_signed_int() => x.max(y),
            (u, s) | (s, u) if u.is_unsigned_int() && s.is_signed_int() => match u {
                U8 => s.max(I16),
                U16 => s.max(I32),
                U32 => I64,
                _ => F32,
            },
            _ => F32,
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A Rust type that is stored as the elements of an array of one [`Dtype`].
///
/// Implemented for `u8`, `u16`, `u32`, `u64`, `i8`, `i16`, `i32`, `i64`, [`f16`], [`bf16`], `f32`
/// and `f64`. Booleans are stored as `u8` (0 or 1) under [`Dtype::Bool`]; use
/// `Array::from_bools` and `to_vec::<bool>` for them.
pub trait Element: Pod + Copy + Send + Sync + PartialEq + fmt::Debug + 'static {
    /// The dtype an array of this type has.
    const DTYPE: Dtype;
    /// Lossy conversion to f64 (used for printing, scalars and tests).
    fn to_f64(self) -> f64;
    /// Conversion from f64 with Rust's `as` semantics (saturating for ints).
    fn from_f64(v: f64) -> Self;
}

macro_rules! impl_element_prim {
    ($($t:ty => $d:ident),*) => {$(
        impl Element for $t {
            const DTYPE: Dtype = Dtype::$d;
            #[inline(always)]
            fn to_f64(self) -> f64 { self as f64 }
            #[inline(always)]
            fn from_f64(v: f64) -> Self { v as $t }
        }
    )*};
}
impl_element_prim!(u8 => U8, u16 => U16, u32 => U32, u64 => U64, i8 => I8, i16 => I16,
    i32 => I32, i64 => I64, f32 => F32, f64 => F64);

impl Element for f16 {
    const DTYPE: Dtype = Dtype::F16;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self.to_f64()
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        f16::from_f64(v)
    }
}

impl Element for bf16 {
    const DTYPE: Dtype = Dtype::Bf16;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self.to_f64()
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        bf16::from_f64(v)
    }
}

impl Element for Complex32 {
    const DTYPE: Dtype = Dtype::C64;
    /// The real part (MLX's complex-to-real conversion).
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self.re as f64
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        Complex32::new(v as f32, 0.0)
    }
}

/// Runs `$body` with `$T` bound to the Rust storage type of `$dtype` (bool → `u8`, complex64 →
/// [`Complex32`]). With `half => $half`, f16 and bf16 run `$half` instead (kernels that compute
/// them in f32 tiles need no f16/bf16 instance of `$body`); with `complex => $complex`, complex64
/// runs `$complex` (kernels whose body needs an ordered or real type).
///
/// ```ignore
/// dispatch_all!(dtype, T => { kernel::<T>(...) })
/// dispatch_all!(dtype, T => { kernel::<T>(...) }, half => tiles(...))
/// dispatch_all!(dtype, T => { kernel::<T>(...) }, complex => bail!(Dtype, "..."))
/// ```
#[macro_export]
#[doc(hidden)]
macro_rules! dispatch_all {
    ($dtype:expr, $T:ident => $body:expr, half => $half:expr, complex => $complex:expr) => {{
        match $dtype {
            $crate::Dtype::F16 | $crate::Dtype::Bf16 => $half,
            $crate::Dtype::C64 => $complex,
            $crate::Dtype::Bool | $crate::Dtype::U8 => {
                type $T = u8;
                $body
            }
            $crate::Dtype::U16 => {
                type $T = u16;
                $body
            }
            $crate::Dtype::U32 => {
                type $T = u32;
                $body
            }
            $crate::Dtype::U64 => {
                type $T = u64;
                $body
            }
            $crate::Dtype::I8 => {
                type $T = i8;
                $body
            }
            $crate::Dtype::I16 => {
                type $T = i16;
                $body
            }
            $crate::Dtype::I32 => {
                type $T = i32;
                $body
            }
            $crate::Dtype::I64 => {
                type $T = i64;
                $body
            }
            $crate::Dtype::F32 => {
                type $T = f32;
                $body
            }
            $crate::Dtype::F64 => {
                type $T = f64;
                $body
            }
        }
    }};
    ($dtype:expr, $T:ident => $body:expr, half => $half:expr) => {{
        $crate::dispatch_all!($dtype, $T => $body, half => $half, complex => {
            type $T = $crate::dtype::Complex32;
            $body
        })
    }};
    ($dtype:expr, $T:ident => $body:expr, complex => $complex:expr) => {{
        $crate::dispatch_all!($dtype, $T => $body, half => match $dtype {
            $crate::Dtype::F16 => {
                type $T = $crate::half::f16;
                $body
            }
            _ => {
                type $T = $crate::half::bf16;
                $body
            }
        }, complex => $complex)
    }};
    ($dtype:expr, $T:ident => $body:expr) => {{
        $crate::dispatch_all!($dtype, $T => $body, complex => {
            type $T = $crate::dtype::Complex32;
            $body
        })
    }};
}

/// Like [`dispatch_all!`] for the four float dtypes; `$other` runs for the rest.
#[macro_export]
#[doc(hidden)]
macro_rules! dispatch_float {
    ($dtype:expr, $T:ident => $body:expr, _ => $other:expr) => {{
        match $dtype {
            $crate::Dtype::F16 => {
                type $T = $crate::half::f16;
                $body
            }
            $crate::Dtype::Bf16 => {
                type $T = $crate::half::bf16;
                $body
            }
            $crate::Dtype::F32 => {
                type $T = f32;
                $body
            }
            $crate::Dtype::F64 => {
                type $T = f64;
                $body
            }
            _ => $other,
        }
    }};
}

/// Types `Array::to_vec` and `Array::item` can return: every [`Element`] and `bool`.
pub trait ToVecElement: Sized {
    /// The dtype the array is converted to before copying.
    const STORAGE_DTYPE: Dtype;
    /// The storage type.
    type Storage: Pod;
    /// Converts the copied storage.
    fn from_storage(v: Vec<Self::Storage>) -> Vec<Self>;
}

impl<T: Element> ToVecElement for T {
    const STORAGE_DTYPE: Dtype = T::DTYPE;
    type Storage = T;
    fn from_storage(v: Vec<T>) -> Vec<T> {
        v
    }
}

impl ToVecElement for bool {
    const STORAGE_DTYPE: Dtype = Dtype::Bool;
    type Storage = u8;
    fn from_storage(v: Vec<u8>) -> Vec<bool> {
        v.into_iter().map(|b| b != 0).collect()
    }
}

/// Rust values that make a 0-d array (`rmlx_core::array(1.5f32)`, `array(true)`): every
/// [`Element`] and `bool`.
pub trait ScalarValue: Copy {
    /// A one-element buffer holding the value, and its dtype.
    fn into_buffer(self) -> (crate::buffer::Buffer, Dtype);
}

impl<T: Element> ScalarValue for T {
    fn into_buffer(self) -> (crate::buffer::Buffer, Dtype) {
        (crate::buffer::Buffer::from_slice(&[self]), T::DTYPE)
    }
}

impl ScalarValue for bool {
    fn into_buffer(self) -> (crate::buffer::Buffer, Dtype) {
        (
            crate::buffer::Buffer::from_slice(&[self as u8]),
            Dtype::Bool,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotion_matches_mlx() {
        use Dtype::*;
        assert_eq!(Dtype::promote(I8, I32), I32);
        assert_eq!(Dtype::promote(U32, I32), I64);
        assert_eq!(Dtype::promote(U8, I8), I16);
        assert_eq!(Dtype::promote(U64, I8), F32);
        assert_eq!(Dtype::promote(Bf16, F16), F32);
        assert_eq!(Dtype::promote(F16, F32), F32);
        assert_eq!(Dtype::promote(I32, F16), F16);
        assert_eq!(Dtype::promote(Bool, U8), U8);
        assert_eq!(Dtype::promote(F64, Bf16), F64);
        assert_eq!(Dtype::promote(F64, C64), C64);
        assert_eq!(Dtype::promote(Bool, C64), C64);
        for a in ALL_DTYPES {
            for b in ALL_DTYPES {
                assert_eq!(Dtype::promote(a, b), Dtype::promote(b, a), "{a} {b}");
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for d in ALL_DTYPES {
            assert_eq!(Dtype::from_name(d.name()), Some(d));
        }
        assert_eq!(Dtype::from_name("complex64"), Some(Dtype::C64));
        assert_eq!(Dtype::from_name("complex128"), None);
    }
}
