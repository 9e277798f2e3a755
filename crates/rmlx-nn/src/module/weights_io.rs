//! File reading and writing for `load_weights` / `save_weights`.

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
        Some("safetensors") | Some("npz") => Err(Error::Format {
            path: path.display().to_string(),
            message: "reading weight files needs rmlx_core::io, which this build does not have yet"
                .into(),
        }),
        _ => Err(unsupported(path)),
    }
}

/// Writes named arrays to a `.safetensors` or `.npz` file.
pub(crate) fn write(path: &Path, _pairs: &[(String, Array)]) -> Result<()> {
    match extension(path) {
        Some("safetensors") | Some("npz") => Err(Error::Format {
            path: path.display().to_string(),
            message: "writing weight files needs rmlx_core::io, which this build does not have yet"
                .into(),
        }),
        _ => Err(unsupported(path)),
    }
}
