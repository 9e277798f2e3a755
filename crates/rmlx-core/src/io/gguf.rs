//! `.gguf` writing (MLX's `mx.save_gguf`): GGUF version 3, little-endian, 32-byte alignment, as
//! llama.cpp's `ggml` reads it. Tensors are stored unquantized (float32, float16, bfloat16,
//! float64 and the signed integer types; ggml has no unsigned or bool tensors), with their dims
//! in ggml's order (fastest first). Metadata values are strings, lists of strings, or arrays
//! (a one-element array is a scalar, a 1-D array a GGUF array), as MLX accepts.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use super::{io_err, row_major, row_major_bytes, with_extension, write_atomic};
use crate::{bail, Array, Dtype, Result};

/// A metadata value of [`save_gguf`].
#[derive(Debug, Clone)]
pub enum GgufValue {
    /// A UTF-8 string.
    Str(String),
    /// A list of strings (a GGUF array of strings).
    Strings(Vec<String>),
    /// A scalar (one element) or a 1-D array of numbers or bools.
    Array(Array),
}

const ALIGNMENT: usize = 32;

/// GGUF's metadata value type of an array's elements.
fn value_type(d: Dtype) -> Result<u32> {
    Ok(match d {
        Dtype::U8 => 0,
        Dtype::I8 => 1,
        Dtype::U16 => 2,
        Dtype::I16 => 3,
        Dtype::U32 => 4,
        Dtype::I32 => 5,
        Dtype::F32 => 6,
        Dtype::Bool => 7,
        Dtype::U64 => 10,
        Dtype::I64 => 11,
        Dtype::F64 => 12,
        d => bail!(
            Dtype,
            "[save_gguf] metadata arrays of type {d} are not supported"
        ),
    })
}

/// ggml's tensor type of a dtype.
fn tensor_type(d: Dtype) -> Result<u32> {
    Ok(match d {
        Dtype::F32 => 0,
        Dtype::F16 => 1,
        Dtype::I8 => 24,
        Dtype::I16 => 25,
        Dtype::I32 => 26,
        Dtype::I64 => 27,
        Dtype::F64 => 28,
        Dtype::Bf16 => 30,
        d => bail!(
            Dtype,
            "[save_gguf] tensors of type {d} are not supported (ggml stores float32/16, \
             bfloat16, float64 and signed integers)"
        ),
    })
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

fn bytes_of(a: &Array) -> Result<Vec<u8>> {
    let d = row_major(a)?;
    Ok(row_major_bytes(&d)?.to_vec())
}

fn put_value(out: &mut Vec<u8>, key: &str, v: &GgufValue) -> Result<()> {
    match v {
        GgufValue::Str(s) => {
            out.extend(8u32.to_le_bytes());
            put_str(out, s);
        }
        GgufValue::Strings(list) => {
            out.extend(9u32.to_le_bytes());
            out.extend(8u32.to_le_bytes());
            out.extend((list.len() as u64).to_le_bytes());
            for s in list {
                put_str(out, s);
            }
        }
        GgufValue::Array(a) => {
            let t = value_type(a.dtype())?;
            if a.ndim() > 1 {
                bail!(
                    Shape,
                    "[save_gguf] metadata '{key}' must be a scalar or 1-D, got shape {:?}",
                    a.shape()
                );
            }
            let bytes = bytes_of(a)?;
            if a.size() == 1 {
                out.extend(t.to_le_bytes());
            } else {
                out.extend(9u32.to_le_bytes());
                out.extend(t.to_le_bytes());
                out.extend((a.size() as u64).to_le_bytes());
            }
            out.extend(bytes);
        }
    }
    Ok(())
}

fn pad_to(out: &mut Vec<u8>, align: usize) {
    let rem = out.len() % align;
    if rem != 0 {
        out.resize(out.len() + align - rem, 0);
    }
}

/// Saves named arrays and metadata in GGUF format (`mx.save_gguf`); `.gguf` is appended when
/// missing. The write is atomic (a temporary file renamed into place).
///
/// ```
/// use std::collections::BTreeMap;
/// use rmlx_core::{io::gguf::{save_gguf, GgufValue}, Array};
/// let dir = std::env::temp_dir().join(format!("rmlx-gguf-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let w = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
/// let mut meta = BTreeMap::new();
/// meta.insert("general.name".to_string(), GgufValue::Str("tiny".into()));
/// save_gguf(dir.join("m.gguf"), [("w", &w)], &meta)?;
/// let bytes = std::fs::read(dir.join("m.gguf")).unwrap();
/// assert_eq!(&bytes[..4], b"GGUF");
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn save_gguf<K: AsRef<str>, V: std::borrow::Borrow<Array>>(
    path: impl AsRef<Path>,
    arrays: impl IntoIterator<Item = (K, V)>,
    metadata: &BTreeMap<String, GgufValue>,
) -> Result<()> {
    let path = with_extension(path.as_ref(), ".gguf");
    let arrays: Vec<(String, Array)> = arrays
        .into_iter()
        .map(|(k, v)| (k.as_ref().to_string(), v.borrow().clone()))
        .collect();
    super::check_unique("save_gguf", arrays.iter().map(|(k, _)| k.as_str()))?;
    let refs: Vec<&Array> = arrays.iter().map(|(_, a)| a).collect();
    crate::eval(&refs)?;
    let mut head = Vec::new();
    head.extend(b"GGUF");
    head.extend(3u32.to_le_bytes());
    head.extend((arrays.len() as u64).to_le_bytes());
    head.extend((metadata.len() as u64).to_le_bytes());
    for (k, v) in metadata {
        put_str(&mut head, k);
        put_value(&mut head, k, v)?;
    }
    let mut data = Vec::new();
    for (name, a) in &arrays {
        let t = tensor_type(a.dtype())?;
        put_str(&mut head, name);
        head.extend((a.ndim() as u32).to_le_bytes());
        for &d in a.shape().iter().rev() {
            head.extend((d as u64).to_le_bytes());
        }
        head.extend(t.to_le_bytes());
        pad_to(&mut data, ALIGNMENT);
        head.extend((data.len() as u64).to_le_bytes());
        data.extend(bytes_of(a)?);
    }
    pad_to(&mut head, ALIGNMENT);
    write_atomic(&path, |w| {
        w.write_all(&head)
            .and_then(|()| w.write_all(&data))
            .map_err(|e| io_err(&path, e))
    })
}
