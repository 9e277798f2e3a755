//! `.safetensors`: named arrays plus a `__metadata__` string map, through the `safetensors` crate,
//! with MLX's dtype names (`F32 F16 BF16 BOOL I8 I16 I32 I64 U8 U16 U32 U64`).
//!
//! Differences from MLX, on purpose: float64 is saved as `F64` (the format defines it; MLX refuses
//! with "[save_safetensors] received invalid dtype.", so such a file only loads back in rmlx or
//! other safetensors readers). `F8_E4M3` loads as raw `uint8` as in MLX; other dtypes are an
//! error (`[safetensor] unsupported dtype X`). complex64 cannot be saved: the `safetensors` crate
//! has no `C64` dtype (MLX writes one), so saving it is an error that says to use `.npz`.

use std::borrow::{Borrow, Cow};
use std::collections::HashMap;
use std::path::Path;

use indexmap::IndexMap;
use safetensors::tensor::{Dtype as StDtype, SafeTensors, View};

use super::{array_from_bytes, check_unique, format_err, read_file, row_major, with_extension};
use crate::buffer::Data;
use crate::{Array, Dtype, Result};

fn to_st(d: Dtype) -> StDtype {
    match d {
        Dtype::Bool => StDtype::BOOL,
        Dtype::U8 => StDtype::U8,
        Dtype::U16 => StDtype::U16,
        Dtype::U32 => StDtype::U32,
        Dtype::U64 => StDtype::U64,
        Dtype::I8 => StDtype::I8,
        Dtype::I16 => StDtype::I16,
        Dtype::I32 => StDtype::I32,
        Dtype::I64 => StDtype::I64,
        Dtype::F16 => StDtype::F16,
        Dtype::Bf16 => StDtype::BF16,
        Dtype::F32 => StDtype::F32,
        Dtype::F64 => StDtype::F64,
        // Rejected by `save_safetensors` before any tensor is built.
        Dtype::C64 => StDtype::U64,
    }
}

fn from_st(d: StDtype) -> Option<Dtype> {
    Some(match d {
        StDtype::BOOL => Dtype::Bool,
        StDtype::U8 | StDtype::F8_E4M3 => Dtype::U8,
        StDtype::U16 => Dtype::U16,
        StDtype::U32 => Dtype::U32,
        StDtype::U64 => Dtype::U64,
        StDtype::I8 => Dtype::I8,
        StDtype::I16 => Dtype::I16,
        StDtype::I32 => Dtype::I32,
        StDtype::I64 => Dtype::I64,
        StDtype::F16 => Dtype::F16,
        StDtype::BF16 => Dtype::Bf16,
        StDtype::F32 => Dtype::F32,
        StDtype::F64 => Dtype::F64,
        _ => return None,
    })
}

/// One array prepared for writing: row-major data.
struct Tensor {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Data,
    nbytes: usize,
}

impl View for &Tensor {
    fn dtype(&self) -> StDtype {
        to_st(self.dtype)
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        // Row-major by construction (checked in `save_safetensors`).
        Cow::Borrowed(self.data.contiguous_bytes().unwrap_or(&[]))
    }
    fn data_len(&self) -> usize {
        self.nbytes
    }
}

/// Saves named arrays and an optional string metadata map (`mx.save_safetensors`);
/// `.safetensors` is appended to the path when missing. Accepts any iterator of `(name, array)`
/// pairs: `[("w", &w)]`, a `&IndexMap<String, Array>`, …
pub fn save_safetensors<K: AsRef<str>, V: Borrow<Array>>(
    path: impl AsRef<Path>,
    arrays: impl IntoIterator<Item = (K, V)>,
    metadata: Option<&HashMap<String, String>>,
) -> Result<()> {
    let path = with_extension(path.as_ref(), ".safetensors");
    let arrays: Vec<(K, V)> = arrays.into_iter().collect();
    check_unique("save_safetensors", arrays.iter().map(|(k, _)| k.as_ref()))?;
    let refs: Vec<&Array> = arrays.iter().map(|(_, v)| v.borrow()).collect();
    crate::eval(&refs)?;
    let mut tensors = Vec::with_capacity(arrays.len());
    for (name, a) in &arrays {
        let a: &Array = a.borrow();
        if a.dtype() == Dtype::C64 {
            return Err(crate::err!(
                Dtype,
                "[save_safetensors] '{}': complex64 is not supported by this safetensors writer; \
                 save complex arrays with save_npz",
                name.as_ref()
            ));
        }
        let data = row_major(a)?;
        // Checked here, so `View::data` below always has the bytes.
        super::row_major_bytes(&data)?;
        tensors.push((
            name.as_ref().to_string(),
            Tensor {
                dtype: a.dtype(),
                shape: a.shape().to_vec(),
                data,
                nbytes: a.nbytes(),
            },
        ));
    }
    let meta = metadata.cloned();
    super::write_atomic_path(&path, |tmp| {
        safetensors::serialize_to_file(tensors.iter().map(|(n, t)| (n.clone(), t)), &meta, tmp)
            .map_err(|e| match e {
                safetensors::SafeTensorError::IoError(e) => super::io_err(&path, e),
                other => format_err(&path, format!("cannot serialize: {other:?}")),
            })
    })
}

/// Loads every array of a `.safetensors` file, in file (data offset) order, and its
/// `__metadata__` map (empty when absent).
pub fn load_safetensors(
    path: impl AsRef<Path>,
) -> Result<(IndexMap<String, Array>, HashMap<String, String>)> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| {
        format_err(
            path,
            format!("not a valid safetensors file (truncated or corrupt): {e:?}"),
        )
    })?;
    let (_, meta) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| format_err(path, format!("invalid safetensors header: {e:?}")))?;
    let metadata = meta.metadata().clone().unwrap_or_default();
    let mut views = st.tensors();
    views.sort_by(|(na, a), (nb, b)| {
        (a.data().as_ptr() as usize, na).cmp(&(b.data().as_ptr() as usize, nb))
    });
    let mut out = IndexMap::with_capacity(views.len());
    for (name, view) in views {
        let dtype = from_st(view.dtype()).ok_or_else(|| {
            format_err(
                path,
                format!("[safetensor] unsupported dtype {:?}", view.dtype()),
            )
        })?;
        let shape = view.shape().to_vec();
        let expected = shape
            .iter()
            .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d));
        if expected != Some(view.data().len()) {
            return Err(format_err(
                path,
                format!("tensor '{name}': invalid data offsets for shape {shape:?}"),
            ));
        }
        out.insert(name, array_from_bytes(view.data(), dtype, &shape));
    }
    Ok((out, metadata))
}
