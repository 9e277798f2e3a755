//! `.npy`: one array per file (numpy's format, as MLX's `mx.save`/`mx.load` read and write it).
//!
//! Header: the magic `\x93NUMPY`, a version (1.0, or 2.0 for headers over 64 KiB), the header
//! length, and a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`
//! padded with spaces to a multiple of 64 bytes. `descr` strings are MLX's: `|b1 |u1 |i1 <u2 <i2
//! <u4 <i4 <u8 <i8 <f2 <f4 <f8`, and `<V2` for bfloat16 (numpy has no bfloat16; MLX writes it as
//! a 2-byte void type). Loading also accepts big-endian (`>`) data and `fortran_order: True`
//! (the result is then a column-major view).

use std::io::Write;
use std::path::Path;

use super::{array_from_bytes, format_err, io_err, read_file, row_major, MAX_HEADER_BYTES};
use crate::checked::Checked;
use crate::{Array, Dtype, Result};

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// MLX's array-protocol type string for `dtype`.
pub fn descr(dtype: Dtype) -> &'static str {
    match dtype {
        Dtype::Bool => "|b1",
        Dtype::U8 => "|u1",
        Dtype::I8 => "|i1",
        Dtype::U16 => "<u2",
        Dtype::I16 => "<i2",
        Dtype::U32 => "<u4",
        Dtype::I32 => "<i4",
        Dtype::U64 => "<u8",
        Dtype::I64 => "<i8",
        Dtype::F16 => "<f2",
        Dtype::F32 => "<f4",
        Dtype::F64 => "<f8",
        Dtype::Bf16 => "<V2",
        Dtype::C64 => "<c8",
    }
}

/// Parses a type string; returns the dtype and whether the data is big-endian.
fn parse_descr(s: &str) -> Option<(Dtype, bool)> {
    let (big, body) = match s.as_bytes().first()? {
        b'<' | b'|' | b'=' => (false, &s[1..]),
        b'>' => (true, &s[1..]),
        _ => (false, s),
    };
    let dtype = match body {
        "b1" | "?" => Dtype::Bool,
        "u1" => Dtype::U8,
        "i1" => Dtype::I8,
        "u2" => Dtype::U16,
        "i2" => Dtype::I16,
        "u4" => Dtype::U32,
        "i4" => Dtype::I32,
        "u8" => Dtype::U64,
        "i8" => Dtype::I64,
        "f2" => Dtype::F16,
        "f4" => Dtype::F32,
        "f8" => Dtype::F64,
        "V2" => Dtype::Bf16,
        "c8" => Dtype::C64,
        _ => return None,
    };
    Some((dtype, big && dtype.size() > 1))
}

/// The header dict text (padded, newline-terminated) and the prefix length it is written after.
fn header_text(dtype: Dtype, shape: &[usize]) -> (String, bool) {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_str = match dims.len() {
        0 => "()".to_string(),
        1 => format!("({},)", dims.concat()),
        _ => format!("({})", dims.join(", ")),
    };
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
        descr(dtype),
        shape_str
    );
    for (prefix, v1) in [(10usize, true), (12, false)] {
        let unpadded = prefix + dict.len() + 1;
        let pad = (64 - unpadded % 64) % 64;
        let text = format!("{dict}{}\n", " ".repeat(pad));
        if !v1 || text.len() <= u16::MAX as usize {
            return (text, v1);
        }
    }
    unreachable!("the version 2 branch always returns")
}

/// Writes `a` in `.npy` format to `w` (row-major).
pub(crate) fn write_npy(w: &mut impl Write, a: &Array, path: &Path) -> Result<()> {
    let data = row_major(a)?;
    let (text, v1) = header_text(a.dtype(), a.shape());
    let mut head = Vec::with_capacity(12 + text.len());
    head.extend_from_slice(MAGIC);
    if v1 {
        head.extend_from_slice(&[1, 0]);
        head.extend_from_slice(&(text.len() as u16).to_le_bytes());
    } else {
        head.extend_from_slice(&[2, 0]);
        head.extend_from_slice(&(text.len() as u32).to_le_bytes());
    }
    head.extend_from_slice(text.as_bytes());
    w.write_all(&head).map_err(|e| io_err(path, e))?;
    w.write_all(super::row_major_bytes(&data)?)
        .map_err(|e| io_err(path, e))
}

/// Saves one array as `.npy` (`mx.save`); `.npy` is appended to the path when missing.
///
/// ```
/// use rmlx_core::{io, Array};
/// let path = std::env::temp_dir().join(format!("rmlx-npy-doc-{}.npy", std::process::id()));
/// let a = Array::from_slice(&[1i32, 2, 3, 4, 5, 6], &[2, 3])?;
/// io::save(&path, &a.t()?)?;                // a transposed view is written row-major
/// let b = io::load(&path)?;
/// assert_eq!(b.shape(), &[3, 2]);
/// assert_eq!(b.to_vec::<i32>()?, vec![1, 4, 2, 5, 3, 6]);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn save(path: impl AsRef<Path>, a: &Array) -> Result<()> {
    let path = super::with_extension(path.as_ref(), ".npy");
    // Evaluate before touching the file system, so a failing graph leaves no trace.
    a.eval()?;
    super::write_atomic(&path, |w| write_npy(w, a, &path))
}

/// Loads a `.npy` file (`mx.load` on a `.npy` path).
pub fn load(path: impl AsRef<Path>) -> Result<Array> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    parse_npy(&bytes, path)
}

/// A tiny parser for the header's Python literal: a dict of strings, booleans, ints and tuples.
struct Lit<'a> {
    s: &'a [u8],
    i: usize,
}

#[derive(Debug)]
enum Value {
    Str(String),
    Bool(bool),
    Int(usize),
    Tuple(Vec<usize>),
}

impl<'a> Lit<'a> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn string(&mut self) -> Option<String> {
        self.ws();
        let q = *self.s.get(self.i)?;
        if q != b'\'' && q != b'"' {
            return None;
        }
        let start = self.i + 1;
        let len = self.s.get(start..)?.iter().position(|&c| c == q)?;
        self.i = start + len + 1;
        String::from_utf8(self.s.get(start..start + len)?.to_vec()).ok()
    }

    fn int(&mut self) -> Option<usize> {
        self.ws();
        let start = self.i;
        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        // A trailing `L` (Python 2 longs) is accepted.
        let digits = std::str::from_utf8(self.s.get(start..self.i)?).ok()?;
        if self.s.get(self.i) == Some(&b'L') {
            self.i += 1;
        }
        digits.parse().ok()
    }

    fn value(&mut self) -> Option<Value> {
        self.ws();
        match *self.s.get(self.i)? {
            b'\'' | b'"' => self.string().map(Value::Str),
            b'(' => {
                self.i += 1;
                let mut dims = Vec::new();
                loop {
                    if self.eat(b')') {
                        return Some(Value::Tuple(dims));
                    }
                    dims.push(self.int()?);
                    if !self.eat(b',') {
                        return self.eat(b')').then_some(Value::Tuple(dims));
                    }
                }
            }
            b'T' if self.s.get(self.i..)?.starts_with(b"True") => {
                self.i += 4;
                Some(Value::Bool(true))
            }
            b'F' if self.s.get(self.i..)?.starts_with(b"False") => {
                self.i += 5;
                Some(Value::Bool(false))
            }
            c if c.is_ascii_digit() => self.int().map(Value::Int),
            _ => None,
        }
    }

    fn dict(&mut self) -> Option<Vec<(String, Value)>> {
        if !self.eat(b'{') {
            return None;
        }
        let mut out = Vec::new();
        loop {
            if self.eat(b'}') {
                return Some(out);
            }
            let k = self.string()?;
            if !self.eat(b':') {
                return None;
            }
            out.push((k, self.value()?));
            if !self.eat(b',') {
                return self.eat(b'}').then_some(out);
            }
        }
    }
}

/// Parses a whole `.npy` file image.
pub(crate) fn parse_npy(bytes: &[u8], path: &Path) -> Result<Array> {
    if bytes.len() < 10 || bytes.span(..6)? != MAGIC {
        return Err(format_err(
            path,
            "not an .npy file (missing the \\x93NUMPY magic or truncated header)",
        ));
    }
    let major = *bytes.at(6)?;
    let (hlen, start) = match major {
        1 => (
            u16::from_le_bytes([*bytes.at(8)?, *bytes.at(9)?]) as usize,
            10usize,
        ),
        2 | 3 => {
            let Some(b) = bytes.get(8..12) else {
                return Err(format_err(path, "truncated .npy header"));
            };
            (
                u32::from_le_bytes([*b.at(0)?, *b.at(1)?, *b.at(2)?, *b.at(3)?]) as usize,
                12,
            )
        }
        v => return Err(format_err(path, format!("unsupported .npy version {v}"))),
    };
    if hlen > MAX_HEADER_BYTES {
        return Err(format_err(
            path,
            format!("header length {hlen} exceeds the {MAX_HEADER_BYTES}-byte limit"),
        ));
    }
    let end = start + hlen;
    if end > bytes.len() {
        return Err(format_err(
            path,
            format!(
                "header length {hlen} exceeds the file size ({} bytes)",
                bytes.len()
            ),
        ));
    }
    let mut lit = Lit {
        s: bytes.span(start..end)?,
        i: 0,
    };
    let Some(dict) = lit.dict() else {
        return Err(format_err(path, "malformed .npy header dict"));
    };
    let (mut dtype, mut fortran, mut shape) = (None, None, None);
    for (k, v) in dict {
        match (k.as_str(), v) {
            ("descr", Value::Str(s)) => {
                dtype =
                    Some(parse_descr(&s).ok_or_else(|| {
                        format_err(path, format!("unsupported dtype descr '{s}'"))
                    })?)
            }
            ("fortran_order", Value::Bool(b)) => fortran = Some(b),
            ("shape", Value::Tuple(t)) => shape = Some(t),
            ("shape", Value::Int(n)) => shape = Some(vec![n]),
            (k, v) => {
                return Err(format_err(
                    path,
                    format!("unexpected header entry '{k}': {v:?}"),
                ))
            }
        }
    }
    let (Some((dtype, big_endian)), Some(fortran), Some(shape)) = (dtype, fortran, shape) else {
        return Err(format_err(
            path,
            "header lacks one of 'descr', 'fortran_order', 'shape'",
        ));
    };
    // the strides multiply every non-zero dimension, even when another one is zero
    shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format_err(path, format!("shape {shape:?} is too large")))?;
    let nbytes = shape.iter().product::<usize>() * dtype.size();
    let data = bytes.span(end..)?;
    if data.len() != nbytes {
        return Err(format_err(
            path,
            format!(
                "data is {} bytes but shape {shape:?} of {dtype} needs {nbytes} (truncated or corrupt)",
                data.len()
            ),
        ));
    }
    let arr = if fortran {
        let rev: Vec<usize> = shape.iter().rev().copied().collect();
        let col = array_from_bytes(data, dtype, &rev);
        crate::transpose(&col, None)?
    } else {
        array_from_bytes(data, dtype, &shape)
    };
    if big_endian {
        return swap_bytes(&arr);
    }
    Ok(arr)
}

/// A copy of `a` with each element's bytes reversed (big-endian files; each part of a complex
/// number on its own).
fn swap_bytes(a: &Array) -> Result<Array> {
    let d = row_major(a)?;
    let size = match a.dtype() {
        Dtype::C64 => 4,
        d => d.size(),
    };
    let mut bytes = super::row_major_bytes(&d)?.to_vec();
    bytes.chunks_mut(size).for_each(|c| c.reverse());
    Ok(array_from_bytes(&bytes, a.dtype(), a.shape()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_padded_to_64() {
        for shape in [&[][..], &[3], &[2, 3, 4]] {
            let (t, v1) = header_text(Dtype::F32, shape);
            assert!(v1);
            assert_eq!((10 + t.len()) % 64, 0);
            assert!(t.ends_with('\n'));
        }
        assert!(header_text(Dtype::Bf16, &[3]).0.contains("'<V2'"));
        assert!(header_text(Dtype::F32, &[3]).0.contains("(3,)"));
    }

    #[test]
    fn descr_round_trips() {
        for d in crate::ALL_DTYPES {
            assert_eq!(parse_descr(descr(d)), Some((d, false)));
        }
        assert_eq!(parse_descr(">f4"), Some((Dtype::F32, true)));
        assert_eq!(parse_descr("<c16"), None);
    }
}
