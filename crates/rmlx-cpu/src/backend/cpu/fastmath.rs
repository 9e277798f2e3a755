//! Branch-free single-precision `exp`, `expm1`, `tanh` and `sigmoid` that the compiler
//! auto-vectorises (plain arithmetic, fused multiply-adds, selects and integer bit tricks).
//!
//! Accuracy (checked against `f64` in the tests): `exp` and `expm1` within 2 ulp, `tanh` and
//! `sigmoid` within 3 ulp, over the whole range including overflow, underflow to subnormals,
//! infinities and NaN.

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split so that `n * LN2_HI` is exact for |n| < 256.
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// 1.5 * 2^23: adding and subtracting it rounds to the nearest integer (ties to even) for
/// |v| < 2^22 with SSE2 arithmetic only.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// `expm1(r)` for |r| <= ln(2)/2: Taylor series to degree 7 (truncation error < 2e-8 relative,
/// a quarter of an f32 ulp).
#[inline(always)]
fn expm1_poly(r: f32) -> f32 {
    let mut p = 1.0 / 5_040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    (p * r) * r + r
}

/// `2^k` for `k` in [-126, 127].
#[inline(always)]
fn pow2i(k: i32) -> f32 {
    f32::from_bits((k.wrapping_add(127) as u32) << 23)
}

/// Splits `x` as `n * ln2 + r` with integer `n` and |r| <= ln(2)/2 (for clamped `x`), and
/// returns `n` also as an integer. That integer is read from the bits of the rounding sum (the
/// low mantissa bits of `x * log2(e) + 1.5 * 2^23` hold `n`), not converted with `as i32`: that
/// conversion saturates and maps NaN to 0, which the compiler cannot vectorise, so it would turn
/// every SIMD loop calling these functions into scalar code. For a NaN `x` the integer is
/// meaningless, and the NaN carried by `r` decides the result.
#[inline(always)]
fn reduce(x: f32) -> (f32, f32, i32) {
    let t = x * LOG2E + ROUND_MAGIC;
    let n = t - ROUND_MAGIC;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let ni = (t.to_bits() as i32).wrapping_sub(ROUND_MAGIC.to_bits() as i32);
    (n, r, ni)
}

/// `e^x` in single precision, within 2 ulp.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    // NaN passes through the clamp.
    let xc = x.clamp(-104.0, 89.0);
    // e^-104 rounds to 0. Inputs at the bottom of the clamp (masked scores: -inf, -1e9) return
    // that 0 directly and compute from 0 meanwhile: the scaling below would underflow, which
    // costs a microcode assist per vector lane on Intel cores (as in `softmax::exp_f32`, where a
    // causally masked attention ran up to 2x slower for it).
    let zero = xc <= -104.0;
    let (_, r, ni) = reduce(if zero { 0.0 } else { xc });
    let p = expm1_poly(r) + 1.0; // NaN stays NaN whatever the scale
    let n1 = ni >> 1;
    // Two factors so 2^n can reach the subnormal range and 2^128 (overflow to inf).
    let e = p * pow2i(n1) * pow2i(ni.wrapping_sub(n1));
    if zero {
        0.0
    } else {
        e
    }
}

/// `e^x - 1` in single precision, within 2 ulp (accurate near 0).
#[inline(always)]
pub fn expm1_f32(x: f32) -> f32 {
    let xc = x.clamp(-30.0, 89.0);
    let (_, r, ni) = reduce(xc);
    let q = expm1_poly(r);
    let n1 = ni >> 1;
    let (s1, s2) = (pow2i(n1), pow2i(ni.wrapping_sub(n1)));
    let s = s1 * s2;
    // For small n, 2^n - 1 is exact and the result is one rounding of q*2^n + (2^n - 1).
    let small = q * s + (s - 1.0);
    let big = (q + 1.0) * s1 * s2 - 1.0;
    if ni > 24 {
        big
    } else {
        small
    }
}

/// `expm1(r)` for |r| <= ln(2)/2 as [`expm1_poly`], with each step one fused multiply-add.
#[inline(always)]
fn expm1_poly_fma(r: f32) -> f32 {
    let mut p: f32 = 1.0 / 5_040.0;
    p = p.mul_add(r, 1.0 / 720.0);
    p = p.mul_add(r, 1.0 / 120.0);
    p = p.mul_add(r, 1.0 / 24.0);
    p = p.mul_add(r, 1.0 / 6.0);
    p = p.mul_add(r, 0.5);
    (p * r).mul_add(r, r)
}

/// `tanh(x)` in single precision, within 3 ulp: `-expm1(-2|x|) / (2 + expm1(-2|x|))` with the
/// sign of `x`. The argument of `expm1` is never positive and is clamped at -30 (where tanh is
/// 1 in f32), so its scale `2^n` is one normal power of two and `expm1` needs no overflow path.
///
/// Built on fused multiply-adds (`f32::mul_add`, one rounding each), so its bits are the same
/// wherever it runs. The element-wise kernels that call it are compiled with FMA (dispatched at
/// run time: about 1.6x faster than separate multiplies and adds); code compiled for the
/// baseline x86-64 target gets the same bits from the C library's `fmaf`, more slowly.
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    let a = -2.0 * x.abs();
    let a = if a < -30.0 { -30.0 } else { a }; // NaN passes through
    let t = a.mul_add(LOG2E, ROUND_MAGIC);
    let n = t - ROUND_MAGIC;
    let r = (-n).mul_add(LN2_HI, a);
    let r = (-n).mul_add(LN2_LO, r);
    let ni = (t.to_bits() as i32).wrapping_sub(ROUND_MAGIC.to_bits() as i32);
    let s = pow2i(ni); // n in [-44, 0]
    let u = expm1_poly_fma(r).mul_add(s, s - 1.0);
    let t = -u / (2.0 + u);
    t.copysign(x)
}

/// The logistic function `1 / (1 + e^-x)` in single precision, within 3 ulp: with
/// `e = e^-|x|`, `1 / (1 + e)` for `x >= 0` and `e / (1 + e)` below (no overflow, accurate tails).
#[inline(always)]
pub fn sigmoid_f32(x: f32) -> f32 {
    let e = exp_f32(-x.abs());
    let s = 1.0 / (1.0 + e);
    if x < 0.0 {
        e * s
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in ulps of `got` from the exactly rounded `want` (computed in f64).
    fn ulps(got: f32, want: f64) -> f64 {
        if want.is_nan() {
            return if got.is_nan() { 0.0 } else { f64::INFINITY };
        }
        let w = want as f32;
        if w.is_infinite() || got.is_infinite() {
            return if got == w { 0.0 } else { f64::INFINITY };
        }
        // ulp at the magnitude of `want` (subnormal ulp at the bottom)
        let ulp = if w == 0.0 || w.abs() < f32::MIN_POSITIVE {
            f32::from_bits(1) as f64
        } else {
            let b = w.abs().to_bits();
            (f32::from_bits(b + 1) - f32::from_bits(b)) as f64
        };
        (got as f64 - want).abs() / ulp
    }

    fn sweep(f: fn(f32) -> f32, g: fn(f64) -> f64, lo: f32, hi: f32, max_ulp: f64) {
        let steps = 400_000;
        let mut worst = (0.0, 0.0f32);
        for i in 0..=steps {
            let x = lo + (hi - lo) * (i as f32 / steps as f32);
            let e = ulps(f(x), g(x as f64));
            if e > worst.0 {
                worst = (e, x);
            }
        }
        assert!(
            worst.0 <= max_ulp,
            "worst {} ulp at x = {}",
            worst.0,
            worst.1
        );
    }

    #[test]
    fn exp_within_2_ulp() {
        sweep(exp_f32, f64::exp, -104.0, 89.0, 2.0);
        sweep(exp_f32, f64::exp, -1.0, 1.0, 2.0);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(1000.0), f32::INFINITY);
        assert_eq!(exp_f32(0.0), 1.0);
        assert!(exp_f32(f32::NAN).is_nan());
        assert!(exp_f32(-100.0) > 0.0); // subnormal
    }

    #[test]
    fn exp_gives_the_unclamped_formulas_bits_at_the_bottom_of_its_range() {
        // the formula without the early 0, as it was
        fn plain(x: f32) -> f32 {
            let (_, r, ni) = reduce(x.clamp(-104.0, 89.0));
            let p = expm1_poly(r) + 1.0;
            let n1 = ni >> 1;
            p * pow2i(n1) * pow2i(ni.wrapping_sub(n1))
        }
        let steps = 200_000;
        let xs = (0..=steps)
            .map(|i| -110.0 + 30.0 * (i as f32 / steps as f32))
            .chain([
                -104.0,
                f32::NEG_INFINITY,
                f32::MIN,
                -1e9,
                -103.99,
                -87.4,
                -87.3,
            ]);
        for x in xs {
            assert_eq!(exp_f32(x).to_bits(), plain(x).to_bits(), "at {x}");
        }
        assert_eq!(exp_f32(-104.0).to_bits(), 0);
    }

    #[test]
    fn expm1_within_2_ulp() {
        sweep(expm1_f32, f64::exp_m1, -40.0, 89.0, 2.0);
        sweep(expm1_f32, f64::exp_m1, -1e-3, 1e-3, 2.0);
        sweep(expm1_f32, f64::exp_m1, -1.0, 1.0, 2.0);
        assert_eq!(expm1_f32(f32::NEG_INFINITY), -1.0);
        assert_eq!(expm1_f32(f32::INFINITY), f32::INFINITY);
        assert!(expm1_f32(f32::NAN).is_nan());
        assert_eq!(expm1_f32(1e-30), 1e-30);
    }

    #[test]
    fn tanh_and_sigmoid_within_3_ulp() {
        sweep(tanh_f32, f64::tanh, -20.0, 20.0, 3.0);
        sweep(tanh_f32, f64::tanh, -1e-2, 1e-2, 3.0);
        sweep(
            sigmoid_f32,
            |x| 1.0 / (1.0 + (-x).exp()),
            -100.0,
            100.0,
            3.0,
        );
        assert_eq!(tanh_f32(f32::INFINITY), 1.0);
        assert_eq!(tanh_f32(f32::NEG_INFINITY), -1.0);
        assert!(tanh_f32(f32::NAN).is_nan());
        assert_eq!(sigmoid_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(sigmoid_f32(f32::INFINITY), 1.0);
    }
}
