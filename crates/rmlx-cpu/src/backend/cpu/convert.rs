//! Elementwise dtype conversion (`AsType`): exact fast paths for the common float pairs, bool
//! as 0/1, and every other pair through f64 tiles.

use half::{bf16, f16};

use super::elementwise::{load_f64, map_through_f64, map_unary, store_f64, LoadF64, StoreF64};
use crate::buffer::Data;
use crate::{dispatch_all, Dtype, Result};

/// Numeric conversion between storage types, with numpy/MLX semantics.
pub trait Convert<U> {
    /// Converts one element.
    fn convert(self) -> U;
}

macro_rules! convert_via_f64 {
    ($($from:ty),*) => {$(
        impl<U: crate::Element> Convert<U> for $from {
            #[inline(always)]
            fn convert(self) -> U { U::from_f64(crate::Element::to_f64(self)) }
        }
    )*};
}
convert_via_f64!(u16, u32, u64, i8, i16, i32, i64, f16, bf16, f32, f64, u8);

/// f16/bf16 data widened exactly to f32, row-major. Kernels that compare or move values (max,
/// min, arg-reductions, sort) run on the widened copy and narrow their result back with
/// [`cast`], which is exact for values taken from the input: they need no half-precision
/// instances of their own.
pub fn widen_half(x: &Data) -> Result<Data> {
    cast(x.clone(), Dtype::F32)
}

/// `x` (any strides) converted elementwise to `to`, row-major, with numpy/MLX semantics.
pub fn cast(x: Data, to: Dtype) -> Result<Data> {
    let from = x.dtype;
    if to == Dtype::Bool {
        return dispatch_all!(from, T => map_unary::<T, u8>(x, to, |v| (crate::Element::to_f64(v) != 0.0) as u8),
            complex => map_unary::<crate::dtype::Complex32, u8>(x, to, |z| (z.re != 0.0 || z.im != 0.0) as u8));
    }
    if from == Dtype::Bool {
        return dispatch_all!(to, U => map_unary::<u8, U>(x, to, |v| <U as crate::Element>::from_f64((v != 0) as u8 as f64)));
    }
    // Fast exact paths for the common float conversions.
    match (from, to) {
        (Dtype::F32, Dtype::F16) => return map_unary::<f32, f16>(x, to, f16::from_f32),
        (Dtype::F32, Dtype::Bf16) => return map_unary::<f32, bf16>(x, to, bf16::from_f32),
        (Dtype::F16, Dtype::F32) => return map_unary::<f16, f32>(x, to, f16::to_f32),
        (Dtype::Bf16, Dtype::F32) => return map_unary::<bf16, f32>(x, to, bf16::to_f32),
        (Dtype::F32, Dtype::F64) => return map_unary::<f32, f64>(x, to, |v| v as f64),
        (Dtype::F64, Dtype::F32) => return map_unary::<f64, f32>(x, to, |v| v as f32),
        (Dtype::I32, Dtype::F32) => return map_unary::<i32, f32>(x, to, |v| v as f32),
        (Dtype::F32, Dtype::I32) => return map_unary::<f32, i32>(x, to, |v| v as i32),
        _ => {}
    }
    // Every other pair goes through f64 (the same numbers as `Convert`), in tiles: one loader
    // per source and one storer per target type instead of a kernel per pair.
    let load: LoadF64 = dispatch_all!(from, T => load_f64::<T>);
    let store: StoreF64 = dispatch_all!(to, U => store_f64::<U>);
    map_through_f64(&x, to, load, store)
}
