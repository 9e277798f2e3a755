//! `Display` and `Debug` for [`Array`], printing as MLX's Python `repr` does:
//! `array([[1, 2],\n       [3, 4]], dtype=int32)`, `array(1.5, dtype=float32)`,
//! `array([True, False], dtype=bool)`.
//!
//! Floats print with 6 significant digits like C's `%g` (so `1.0` prints `1`, `1e-7` prints
//! `1e-07`); axes longer than 6 are summarised as `first 3, ..., last 3`, as MLX does. Printing
//! evaluates the array; an evaluation error prints `array(<error: …>)` instead of panicking.
//!
//! ```
//! use rmlx_core::Array;
//! let a = Array::from_slice(&[1.0f32, 2.5, -3.0, 4.0], &[2, 2])?;
//! assert_eq!(a.to_string(), "array([[1, 2.5],\n       [-3, 4]], dtype=float32)");
//! # Ok::<(), rmlx_core::Error>(())
//! ```

use std::fmt;

use crate::{Array, Dtype, Result};

/// Axes longer than this are summarised.
const SUMMARY_EDGE: usize = 3;

/// C's `%g` with 6 significant digits (`std::ostream` default), as MLX prints floats.
pub fn format_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{x:.5e}");
    let Some((mant, exp)) = sci.split_once('e') else {
        return sci;
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let m = strip_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (5 - exp).max(0) as usize;
        strip_zeros(&format!("{x:.decimals$}")).to_string()
    }
}

/// MLX's complex format: `1+2j`, `-0.5+0j`, `3.25-1j`.
pub fn format_complex(z: crate::dtype::Complex32) -> String {
    let im = format_element(z.im as f64);
    let sign = if im.starts_with('-') { "" } else { "+" };
    format!("{}{sign}{im}j", format_element(z.re as f64))
}

/// How arrays print (MLX's `mx.PrintOptions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrintOptions {
    /// Decimal places of floats, fixed (`-1`: MLX's default, 6 significant digits).
    pub precision: i32,
}

impl Default for PrintOptions {
    fn default() -> PrintOptions {
        PrintOptions { precision: -1 }
    }
}

static PRECISION: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// The current print options (`mx.get_printoptions`).
pub fn get_printoptions() -> PrintOptions {
    PrintOptions {
        precision: PRECISION.load(std::sync::atomic::Ordering::Relaxed),
    }
}

/// Sets the print options for every later print, process-wide (`mx.set_printoptions`).
///
/// ```
/// use rmlx_core::{fmt, Array};
/// let x = Array::from_slice(&[1.23456f32, 2.0], &[2])?;
/// {
///     let _p = fmt::printoptions(3);
///     assert_eq!(x.to_string(), "array([1.235, 2.000], dtype=float32)");
/// }
/// assert_eq!(x.to_string(), "array([1.23456, 2], dtype=float32)");
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn set_printoptions(options: PrintOptions) {
    PRECISION.store(options.precision, std::sync::atomic::Ordering::Relaxed);
}

/// The scope of a [`printoptions`] call: the previous options come back when it is dropped.
#[must_use = "the options apply only while the returned scope is alive"]
#[derive(Debug)]
pub struct PrintOptionsScope(PrintOptions);

impl Drop for PrintOptionsScope {
    fn drop(&mut self) {
        set_printoptions(self.0);
    }
}

/// `with mx.printoptions(precision=p):` — floats print with `p` decimals while the returned
/// scope lives.
pub fn printoptions(precision: i32) -> PrintOptionsScope {
    let old = get_printoptions();
    set_printoptions(PrintOptions { precision });
    PrintOptionsScope(old)
}

/// One float as an array prints it: [`format_float`], or fixed decimals when a precision is set.
fn format_element(x: f64) -> String {
    let p = get_printoptions().precision;
    if p < 0 || !x.is_finite() {
        return format_float(x);
    }
    format!("{x:.prec$}", prec = p as usize)
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// The elements as printed strings, row-major.
fn element_strings(a: &Array) -> Result<Vec<String>> {
    let d = a.dtype();
    Ok(match d {
        Dtype::Bool => a
            .to_vec::<bool>()?
            .into_iter()
            .map(|b| if b { "True" } else { "False" }.to_string())
            .collect(),
        Dtype::U8 | Dtype::U16 | Dtype::U32 | Dtype::U64 => a
            .astype(Dtype::U64)?
            .to_vec::<u64>()?
            .iter()
            .map(u64::to_string)
            .collect(),
        Dtype::I8 | Dtype::I16 | Dtype::I32 | Dtype::I64 => a
            .astype(Dtype::I64)?
            .to_vec::<i64>()?
            .iter()
            .map(i64::to_string)
            .collect(),
        Dtype::F64 => a.to_vec::<f64>()?.into_iter().map(format_element).collect(),
        Dtype::C64 => a
            .to_vec::<crate::dtype::Complex32>()?
            .into_iter()
            .map(format_complex)
            .collect(),
        Dtype::F16 | Dtype::Bf16 | Dtype::F32 => a
            .to_vec::<f32>()?
            .into_iter()
            .map(|v| format_element(v as f64))
            .collect(),
    })
}

fn write_sub(out: &mut String, vals: &[String], shape: &[usize], dim: usize, base: usize) {
    let n = shape.get(dim).copied().unwrap_or(0);
    let inner: usize = shape.get(dim + 1..).map_or(1, |s| s.iter().product());
    let is_last = dim + 1 == shape.len();
    let prefix = if is_last {
        String::new()
    } else {
        " ".repeat(7 + dim)
    };
    let sep = if is_last { ", " } else { ",\n" };
    out.push('[');
    let mut i = 0;
    while i < n {
        if i > 0 {
            out.push_str(&prefix);
        }
        if i == SUMMARY_EDGE && n > 2 * SUMMARY_EDGE {
            out.push_str("...");
            i = n - SUMMARY_EDGE;
            out.push_str(sep);
            continue;
        }
        if is_last {
            out.push_str(vals.get(base + i).map_or("?", |s| s.as_str()));
        } else {
            write_sub(out, vals, shape, dim + 1, base + i * inner);
        }
        if i + 1 < n {
            out.push_str(sep);
        }
        i += 1;
    }
    out.push(']');
}

fn render(a: &Array) -> Result<String> {
    let vals = element_strings(a)?;
    let mut body = String::new();
    if a.ndim() == 0 {
        body.push_str(vals.first().map_or("?", |s| s.as_str()));
    } else {
        write_sub(&mut body, &vals, a.shape(), 0, 0);
    }
    Ok(format!("array({body}, dtype={})", a.dtype()))
}

impl fmt::Display for Array {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match render(self) {
            Ok(s) => f.write_str(&s),
            Err(e) => write!(f, "array(<error: {e}>)"),
        }
    }
}

impl fmt::Debug for Array {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_percent_g() {
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(1.5), "1.5");
        assert_eq!(format_float(-0.1), "-0.1");
        assert_eq!(format_float(1.0 / 3.0), "0.333333");
        assert_eq!(format_float(123456.0), "123456");
        assert_eq!(format_float(1234567.0), "1.23457e+06");
        assert_eq!(format_float(1e-7), "1e-07");
        assert_eq!(format_float(0.0001), "0.0001");
        assert_eq!(format_float(0.00001234), "1.234e-05");
        assert_eq!(format_float(f64::NAN), "nan");
        assert_eq!(format_float(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_float(-0.0), "-0");
        assert_eq!(format_float(1e100), "1e+100");
        assert_eq!(format_float(999999.5), "1e+06");
    }
}
