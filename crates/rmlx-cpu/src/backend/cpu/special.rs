//! Special functions with MLX's exact numerics: `erf` and the `erfinv` approximation MLX uses
//! (single precision, fused multiply-adds), which `random::normal` depends on bit for bit.

/// The error function in single precision.
#[inline]
pub fn erf_f32(x: f32) -> f32 {
    libm::erff(x)
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
