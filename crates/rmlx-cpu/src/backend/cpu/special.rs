//! Special functions with MLX's exact numerics: `erf` and the `erfinv` approximation MLX uses
//! (single precision, fused multiply-adds), which `random::normal` depends on bit for bit.

/// `erf(x) / x` on |x| < 1 as a polynomial in `u = 2x² - 1` (Chebyshev fit, degree 8).
const ERF_SMALL: [f32; 9] = [
    0.965_468_76,
    -0.140_536_08,
    0.019_852_497,
    -0.002_285_485_6,
    0.000_217_517_17,
    -1.753_682_4e-5,
    1.223_362_6e-6,
    -7.557_493e-8,
    4.138_779e-9,
];

/// `erfcx(x) = e^(x²) erfc(x)` on 1 <= x <= 4 as a polynomial in `v = (x - 2.5) / 1.5`
/// (Chebyshev fit, degree 11).
const ERFCX_LARGE: [f32; 12] = [
    0.210_806_35,
    -0.111_521_006,
    0.056_110_96,
    -0.027_005_725,
    0.012_484_035,
    -0.005_567_333,
    0.002_425_885,
    -0.001_017_117_8,
    0.000_367_868_66,
    -0.000_143_948_6,
    9.640_452e-5,
    -3.692_872_3e-5,
];

#[inline(always)]
fn horner<const N: usize>(c: &[f32; N], u: f32) -> f32 {
    let mut r = c[N - 1];
    for &k in c[..N - 1].iter().rev() {
        r = r * u + k;
    }
    r
}

/// The error function in single precision, within 2 ulp over the whole range, branch-free so
/// that loops over slices vectorise: `x · P(2x² - 1)` below |x| = 1, `1 - e^(-x²) · erfcx(x)`
/// from 1 to 4 (above 4, `erf` rounds to ±1), with the sign of `x`. NaN gives NaN.
#[inline(always)]
pub fn erf_f32(x: f32) -> f32 {
    let a = x.abs();
    let small = a * horner(&ERF_SMALL, 2.0 * (a * a) - 1.0);
    let al = a.clamp(1.0, 4.0); // NaN passes through
    let g = horner(&ERFCX_LARGE, (al - 2.5) * (1.0 / 1.5));
    let large = 1.0 - super::fastmath::exp_f32(-(al * al)) * g;
    let r = if a < 1.0 { small } else { large };
    r.copysign(x)
}

/// The error function in double precision.
#[inline]
pub fn erf_f64(x: f64) -> f64 {
    libm::erf(x)
}

/// Inverse error function, single precision: the minimax polynomial in `t = ln(1 - a²)` that MLX
/// evaluates (two ranges split at |t| = 6.125, max error ≈ 2.4 ulp), with the same FMA order so
/// results match MLX bit for bit. ±1 → ±inf, |a| > 1 → NaN.
pub fn erfinv_f32(a: f32) -> f32 {
    let t = a.mul_add(0.0 - a, 1.0).ln();
    let p = if t.abs() > 6.125 {
        let mut p = 3.036_975_7e-10_f32;
        p = p.mul_add(t, 2.932_431e-8);
        p = p.mul_add(t, 1.221_503_3e-6);
        p = p.mul_add(t, 2.841_089_6e-5);
        p = p.mul_add(t, 3.935_529_7e-4);
        p = p.mul_add(t, 3.026_988_1e-3);
        p = p.mul_add(t, 4.831_858e-3);
        p = p.mul_add(t, -2.646_461_4e-1);
        p.mul_add(t, 8.400_165e-1)
    } else {
        let mut p = 5.438_778_3e-9_f32;
        p = p.mul_add(t, 1.432_854_5e-7);
        p = p.mul_add(t, 1.227_747_9e-6);
        p = p.mul_add(t, 1.129_636_3e-7);
        p = p.mul_add(t, -5.615_307_6e-5);
        p = p.mul_add(t, -1.476_976_3e-4);
        p = p.mul_add(t, 2.314_686_8e-3);
        p = p.mul_add(t, 1.153_925_8e-2);
        p = p.mul_add(t, -2.320_154_8e-1);
        p.mul_add(t, 8.862_269e-1)
    };
    a * p
}

/// Inverse error function in double precision: the f32 approximation refined by two Newton
/// steps on `erf(x) - a`.
pub fn erfinv_f64(a: f64) -> f64 {
    if a.abs() >= 1.0 {
        return if a.abs() == 1.0 {
            a * f64::INFINITY
        } else {
            f64::NAN
        };
    }
    let mut x = erfinv_f32(a as f32) as f64;
    let k = 2.0 / std::f64::consts::PI.sqrt();
    for _ in 0..2 {
        let err = erf_f64(x) - a;
        x -= err / (k * (-x * x).exp());
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf_f32 against libm's double-precision erf, in ulps of the rounded result.
    #[test]
    fn erf_f32_is_within_2_ulp() {
        let mut worst = 0.0f64;
        let mut check = |x: f32| {
            let want = libm::erf(x as f64);
            let got = erf_f32(x) as f64;
            // the spacing of f32 values at |want|: 2^(exponent - 23)
            let exponent = ((want as f32).abs().to_bits() >> 23).max(1);
            let ulp = f32::from_bits(exponent << 23) as f64 * f32::EPSILON as f64;
            let e = (got - want).abs() / ulp;
            assert!(e <= 2.0, "erf({x}) = {got}, want {want} ({e:.2} ulp)");
            worst = worst.max(e);
        };
        for i in -600_000..=600_000 {
            check(i as f32 * 1e-5); // [-6, 6]
        }
        for k in 0..400 {
            let x = 10f32.powf(-30.0 + k as f32 * 0.075);
            check(x);
            check(-x);
        }
        assert!(worst > 0.0);
        assert_eq!(erf_f32(0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(erf_f32(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(erf_f32(f32::INFINITY), 1.0);
        assert_eq!(erf_f32(f32::NEG_INFINITY), -1.0);
        assert!(erf_f32(f32::NAN).is_nan());
    }

    #[test]
    fn erfinv_inverts_erf() {
        for &x in &[-0.999f32, -0.7, -0.3, 0.0, 0.1, 0.5, 0.9, 0.9999] {
            let y = erfinv_f32(x);
            assert!((erf_f32(y) - x).abs() < 2e-6, "{x} -> {y}");
            let y64 = erfinv_f64(x as f64);
            assert!((erf_f64(y64) - x as f64).abs() < 1e-14);
        }
        assert_eq!(erfinv_f32(1.0), f32::INFINITY);
        assert!(erfinv_f32(1.5).is_nan());
    }
}
