//! Per-type ordering for reductions, scans and sorts: NaN-aware max/min and numpy's sort order
//! (NaN after every number), plus each type's identity values.

use std::cmp::Ordering;

use half::{bf16, f16};

/// Ordering and identities of one storage type.
pub trait Ordered: Copy + Send + Sync + PartialOrd + 'static {
    /// True for a float NaN (never for integers).
    fn is_nan(self) -> bool;
    /// The smallest value (`-inf` for floats): the identity of `max`.
    fn lowest() -> Self;
    /// The largest value (`+inf` for floats): the identity of `min`.
    fn highest() -> Self;
    /// `max(a, b)`, NaN if either is NaN (numpy's `maximum`).
    #[inline(always)]
    fn max_nan(a: Self, b: Self) -> Self {
        if a.is_nan() || b < a {
            a
        } else {
            b
        }
    }
    /// `min(a, b)`, NaN if either is NaN.
    #[inline(always)]
    fn min_nan(a: Self, b: Self) -> Self {
        if a.is_nan() || b > a {
            a
        } else {
            b
        }
    }
    /// numpy's sort order: numbers ascending, NaN last (all NaNs equal).
    #[inline(always)]
    fn cmp_nan_last(a: &Self, b: &Self) -> Ordering {
        match a.partial_cmp(b) {
            Some(o) => o,
            None => a.is_nan().cmp(&b.is_nan()),
        }
    }
}

macro_rules! ordered_int {
    ($($t:ty),*) => {$(
        impl Ordered for $t {
            #[inline(always)] fn is_nan(self) -> bool { false }
            #[inline(always)] fn lowest() -> Self { <$t>::MIN }
            #[inline(always)] fn highest() -> Self { <$t>::MAX }
            #[inline(always)] fn cmp_nan_last(a: &Self, b: &Self) -> Ordering { a.cmp(b) }
        }
    )*};
}
ordered_int!(u8, u16, u32, u64, i8, i16, i32, i64);

macro_rules! ordered_float {
    ($($t:ty),*) => {$(
        impl Ordered for $t {
            #[inline(always)] fn is_nan(self) -> bool { self.is_nan() }
            #[inline(always)] fn lowest() -> Self { <$t>::NEG_INFINITY }
            #[inline(always)] fn highest() -> Self { <$t>::INFINITY }
        }
    )*};
}
ordered_float!(f32, f64, f16, bf16);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_handling() {
        assert!(f32::max_nan(1.0, f32::NAN).is_nan());
        assert!(f32::max_nan(f32::NAN, 1.0).is_nan());
        assert!(f32::min_nan(f32::NAN, 1.0).is_nan());
        assert_eq!(f32::max_nan(1.0, 2.0), 2.0);
        assert_eq!(i8::min_nan(-3, 2), -3);
        let mut v = [3.0, f32::NAN, -1.0, f32::INFINITY];
        v.sort_by(f32::cmp_nan_last);
        assert_eq!(&v[..3], &[-1.0, 3.0, f32::INFINITY]);
        assert!(v[3].is_nan());
    }
}
