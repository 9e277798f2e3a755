//! Saving and loading optimizer state as safetensors, with the dotted keys of
//! [`Optimizer::state`](crate::Optimizer::state), so training resumes exactly.
//!
//! The file holds every state array in its own dtype (`step` as uint64) and, in the header's
//! metadata, `format = "rmlx-optimizer-state"`, the optimizer's class name and the key order
//! (`keys`, newline-separated), so the reloaded state keeps the original order.

use std::collections::HashMap;
use std::path::Path;

use rmlx_core::{bail, dispatch_all, Array, Dtype, Error, Result};
use safetensors::tensor::TensorView;

use crate::optimizer::Optimizer;

fn st_dtype(d: Dtype) -> Result<safetensors::Dtype> {
    use safetensors::Dtype as S;
    Ok(match d {
        Dtype::Bool => S::BOOL,
        Dtype::U8 => S::U8,
        Dtype::U16 => S::U16,
        Dtype::U32 => S::U32,
        Dtype::U64 => S::U64,
        Dtype::I8 => S::I8,
        Dtype::I16 => S::I16,
        Dtype::I32 => S::I32,
        Dtype::I64 => S::I64,
        Dtype::F16 => S::F16,
        Dtype::Bf16 => S::BF16,
        Dtype::F32 => S::F32,
        Dtype::F64 => S::F64,
        Dtype::C64 => bail!(
            Dtype,
            "save_state: complex64 optimizer state cannot be written to safetensors"
        ),
    })
}

fn rmlx_dtype(d: safetensors::Dtype, path: &str, key: &str) -> Result<Dtype> {
    use safetensors::Dtype as S;
    Ok(match d {
        S::BOOL => Dtype::Bool,
        S::U8 => Dtype::U8,
        S::U16 => Dtype::U16,
        S::U32 => Dtype::U32,
        S::U64 => Dtype::U64,
        S::I8 => Dtype::I8,
        S::I16 => Dtype::I16,
        S::I32 => Dtype::I32,
        S::I64 => Dtype::I64,
        S::F16 => Dtype::F16,
        S::BF16 => Dtype::Bf16,
        S::F32 => Dtype::F32,
        S::F64 => Dtype::F64,
        other => {
            return Err(Error::Format {
                path: path.into(),
                message: format!("tensor '{key}' has unsupported dtype {other:?}"),
            })
        }
    })
}

/// The elements of `a` as little-endian bytes, row-major.
fn array_bytes(a: &Array) -> Result<Vec<u8>> {
    if a.dtype() == Dtype::Bool {
        return Ok(a.to_vec::<bool>()?.into_iter().map(u8::from).collect());
    }
    Ok(dispatch_all!(a.dtype(), T => {
        let v = a.to_vec::<T>()?;
        bytemuck::cast_slice::<T, u8>(&v).to_vec()
    }))
}

fn array_from_bytes(dtype: Dtype, shape: &[usize], bytes: &[u8]) -> Result<Array> {
    if dtype == Dtype::Bool {
        let v: Vec<bool> = bytes.iter().map(|&b| b != 0).collect();
        return Array::from_bools(&v, shape);
    }
    dispatch_all!(dtype, T => {
        let v: Vec<T> = bytes
            .chunks_exact(std::mem::size_of::<T>())
            .map(bytemuck::pod_read_unaligned::<T>)
            .collect();
        Array::from_slice(&v, shape)
    })
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Format {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Writes `optimizer.state()` to a safetensors file (evaluating the state).
///
/// ```
/// use rmlx_core::Array;
/// use rmlx_optimizers::{load_state, save_state, Adam, Optimizer};
/// let mut opt = Adam::new(0.01);
/// let p = vec![("w".to_string(), Array::from_slice(&[1.0f32, 2.0], &[2])?)];
/// opt.apply_gradients(&p, &p)?;
/// let file = std::env::temp_dir().join(format!("rmlx_doc_state_{}.safetensors", std::process::id()));
/// save_state(&opt, &file)?;
/// let mut resumed = Adam::new(0.01);
/// load_state(&mut resumed, &file)?;
/// assert_eq!(resumed.step(), 1);
/// # std::fs::remove_file(&file).ok();
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn save_state(optimizer: &dyn Optimizer, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let state = optimizer.state();
    let mut seen = std::collections::HashSet::new();
    for (k, _) in &state {
        if !seen.insert(k.as_str()) {
            bail!(Key, "save_state: duplicate state key '{k}'");
        }
    }
    let bytes: Vec<Vec<u8>> = state
        .iter()
        .map(|(_, a)| array_bytes(a))
        .collect::<Result<_>>()?;
    let views: Vec<(String, TensorView<'_>)> = state
        .iter()
        .zip(&bytes)
        .map(|((k, a), b)| {
            TensorView::new(st_dtype(a.dtype())?, a.shape().to_vec(), b)
                .map(|v| (k.clone(), v))
                .map_err(|e| io_err(path, e))
        })
        .collect::<Result<_>>()?;
    let keys: Vec<&str> = state.iter().map(|(k, _)| k.as_str()).collect();
    let meta = HashMap::from([
        ("format".to_string(), "rmlx-optimizer-state".to_string()),
        ("optimizer".to_string(), optimizer.name().to_string()),
        ("keys".to_string(), keys.join("\n")),
    ]);
    // written to a temporary file and renamed: a process killed mid-save leaves the earlier
    // state whole
    rmlx_core::io::write_atomic_path(path, |tmp| {
        safetensors::tensor::serialize_to_file(views, &Some(meta), tmp).map_err(|e| match e {
            safetensors::SafeTensorError::IoError(source) => Error::Io {
                path: path.display().to_string(),
                source,
            },
            e => io_err(path, e),
        })
    })
}

/// Reads a state written by [`save_state`] (or any safetensors file with the dotted keys of
/// [`Optimizer::state`]) and installs it with [`Optimizer::set_state`].
pub fn load_state(optimizer: &mut dyn Optimizer, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| io_err(path, e))?;
    let (_, header) =
        safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| io_err(path, e))?;
    let mut names: Vec<String> = st.names().into_iter().cloned().collect();
    names.sort();
    if let Some(order) = header.metadata().as_ref().and_then(|m| m.get("keys")) {
        let ordered: Vec<String> = order.split('\n').map(str::to_string).collect();
        let mut a = ordered.clone();
        a.sort();
        if a == names {
            names = ordered;
        }
    }
    let p = path.display().to_string();
    let state: Vec<(String, Array)> = names
        .into_iter()
        .map(|k| {
            let t = st.tensor(&k).map_err(|e| io_err(path, e))?;
            let d = rmlx_dtype(t.dtype(), &p, &k)?;
            Ok((k, array_from_bytes(d, t.shape(), t.data())?))
        })
        .collect::<Result<_>>()?;
    optimizer.set_state(&state)
}
