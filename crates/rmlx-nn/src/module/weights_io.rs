//! File reading and writing for `load_weights` / `save_weights`, through `rmlx_core::io`
//! (safetensors or npz by extension, MLX's parameter names; saves are atomic: a temporary file in
//! the same folder, then a rename, so a failed save leaves any earlier file intact).

use rmlx_core::io::{load_npz, load_safetensors, save_safetensors, savez};
use rmlx_core::{Array, Error, Result};
use std::path::Path;

fn unsupported(path: &Path) -> Error {
    Error::Value(format!(
        "Unsupported file extension for {}. Use '.npz' or '.safetensors'.",
        path.display()
    ))
}

fn extension(path: &Path) -> Option<&str> {
    path.extension().and_then(|e| e.to_str())
}

/// Reads every named array of a `.safetensors` or `.npz` file.
pub(crate) fn read(path: &Path) -> Result<Vec<(String, Array)>> {
    match extension(path) {
        Some("safetensors") => Ok(load_safetensors(path)?.0.into_iter().collect()),
        Some("npz") => Ok(load_npz(path)?.into_iter().collect()),
        _ => Err(unsupported(path)),
    }
}

/// Writes named arrays to a `.safetensors` or `.npz` file.
pub(crate) fn write(path: &Path, pairs: &[(String, Array)]) -> Result<()> {
    let items = pairs.iter().map(|(k, v)| (k.as_str(), v));
    match extension(path) {
        Some("safetensors") => save_safetensors(path, items, None),
        Some("npz") => savez(path, items),
        _ => Err(unsupported(path)),
    }
}
