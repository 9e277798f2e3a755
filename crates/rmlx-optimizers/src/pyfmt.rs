//! Python's `repr(float)`, so validation messages read exactly as MLX's (`1.0`, `1e-08`, `0.5`).

/// Formats `x` as Python's `repr(float)`: shortest round-trip digits, scientific notation with a
/// two-digit exponent below `1e-4` or from `1e16`, and a trailing `.0` on integral values.
pub fn py_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let exp = x.abs().log10().floor() as i32;
    if (-4..16).contains(&exp) {
        let s = format!("{x}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        // Rust's `{:e}` gives the shortest round-trip mantissa, e.g. `1e-8`, `1.5e20`.
        let s = format!("{x:e}");
        let (mant, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        let sign = if e < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", e.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::py_float;

    #[test]
    fn matches_python_repr() {
        assert_eq!(py_float(1.0), "1.0");
        assert_eq!(py_float(0.0), "0.0");
        assert_eq!(py_float(-0.5), "-0.5");
        assert_eq!(py_float(1e-8), "1e-08");
        assert_eq!(py_float(1e-30), "1e-30");
        assert_eq!(py_float(0.001), "0.001");
        assert_eq!(py_float(0.0001), "0.0001");
        assert_eq!(py_float(0.00001), "1e-05");
        assert_eq!(py_float(1.5e20), "1.5e+20");
        assert_eq!(py_float(0.999), "0.999");
        assert_eq!(py_float(2.5), "2.5");
        assert_eq!(py_float(-1e-8), "-1e-08");
    }
}
