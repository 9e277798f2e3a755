//! [`Lex`]: a complex64 element ordered as MLX orders complex numbers (lexicographically: the
//! real parts, then the imaginary parts), so the generic sorting, max/min, arg-reduction and scan
//! kernels run on complex64 buffers unchanged. A complex number with a NaN part counts as NaN
//! (sorted last, propagated by max/min).

use std::cmp::Ordering;

use bytemuck::{Pod, Zeroable};

use super::order::Ordered;
use super::scalar::Arith;
use super::scan::ScanElem;
use crate::dtype::{Complex32, Element};
use crate::Dtype;

/// A complex64 value with MLX's lexicographic order; the same bytes as [`Complex32`].
#[derive(Clone, Copy, Debug, PartialEq, Default)]
#[repr(transparent)]
pub struct Lex(pub Complex32);

// SAFETY: `Lex` is `repr(transparent)` over `Complex32` (two `f32`, itself `Pod` and
// `Zeroable`): any bit pattern is valid and there is no padding.
unsafe impl Zeroable for Lex {}
// SAFETY: as above.
unsafe impl Pod for Lex {}

impl PartialOrd for Lex {
    fn partial_cmp(&self, other: &Lex) -> Option<Ordering> {
        match self.0.re.partial_cmp(&other.0.re)? {
            Ordering::Equal => self.0.im.partial_cmp(&other.0.im),
            o => Some(o),
        }
    }
}

impl Element for Lex {
    const DTYPE: Dtype = Dtype::C64;
    fn to_f64(self) -> f64 {
        self.0.re as f64
    }
    fn from_f64(v: f64) -> Self {
        Lex(Complex32::new(v as f32, 0.0))
    }
}

impl Ordered for Lex {
    #[inline(always)]
    fn is_nan(self) -> bool {
        self.0.re.is_nan() || self.0.im.is_nan()
    }
    #[inline(always)]
    fn lowest() -> Self {
        Lex(Complex32::new(f32::NEG_INFINITY, f32::NEG_INFINITY))
    }
    #[inline(always)]
    fn highest() -> Self {
        Lex(Complex32::new(f32::INFINITY, f32::INFINITY))
    }
}

impl Arith for Lex {
    fn add(a: Self, b: Self) -> Self {
        Lex(a.0 + b.0)
    }
    fn sub(a: Self, b: Self) -> Self {
        Lex(a.0 - b.0)
    }
    fn mul(a: Self, b: Self) -> Self {
        Lex(a.0 * b.0)
    }
    fn div(a: Self, b: Self) -> Self {
        Lex(a.0 / b.0)
    }
    /// Not defined on complex numbers (the elementwise ops refuse it before a kernel runs).
    fn floor_div(_: Self, _: Self) -> Self {
        Lex(Complex32::new(f32::NAN, f32::NAN))
    }
    /// Not defined on complex numbers (as `floor_div`).
    fn rem(_: Self, _: Self) -> Self {
        Lex(Complex32::new(f32::NAN, f32::NAN))
    }
    fn pow(a: Self, b: Self) -> Self {
        Lex(a.0.powc(b.0))
    }
    fn abs(a: Self) -> Self {
        Lex(Complex32::new(a.0.norm(), 0.0))
    }
    fn neg(a: Self) -> Self {
        Lex(-a.0)
    }
    fn sign(a: Self) -> Self {
        let n = a.0.norm();
        Lex(if n == 0.0 { a.0 } else { a.0 / n })
    }
    fn is_nan(a: Self) -> bool {
        Ordered::is_nan(a)
    }
}

impl ScanElem for Lex {
    fn zero() -> Self {
        Lex(Complex32::new(0.0, 0.0))
    }
    fn one() -> Self {
        Lex(Complex32::new(1.0, 0.0))
    }
    /// `log(exp(a) + exp(b))` on complex numbers, shifted by the larger (lexicographic) operand
    /// for stability: `m + log(exp(a - m) + exp(b - m))`.
    fn log_add_exp(a: Self, b: Self) -> Self {
        if Ordered::is_nan(a) || Ordered::is_nan(b) {
            return Lex(Complex32::new(f32::NAN, f32::NAN));
        }
        if a.0.re == f32::NEG_INFINITY {
            return b;
        }
        if b.0.re == f32::NEG_INFINITY {
            return a;
        }
        let m = if a > b { a.0 } else { b.0 };
        Lex(m + ((a.0 - m).exp() + (b.0 - m).exp()).ln())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexicographic_order_and_nan() {
        let z = |r: f32, i: f32| Lex(Complex32::new(r, i));
        let mut v = [
            z(1.0, 2.0),
            z(0.0, 5.0),
            z(1.0, -1.0),
            z(f32::NAN, 0.0),
            z(-1.0, 9.0),
        ];
        v.sort_by(Lex::cmp_nan_last);
        assert_eq!(
            &v[..4],
            &[z(-1.0, 9.0), z(0.0, 5.0), z(1.0, -1.0), z(1.0, 2.0)]
        );
        assert!(Ordered::is_nan(v[4]));
        assert_eq!(Lex::max_nan(z(1.0, 2.0), z(1.0, 3.0)), z(1.0, 3.0));
        let l = Lex::log_add_exp(z(0.0, 0.0), z(0.0, 0.0));
        assert!((l.0.re - std::f32::consts::LN_2).abs() < 1e-6 && l.0.im.abs() < 1e-6);
    }
}
