//! Array IO in MLX's formats: `.safetensors` (dict of named arrays plus a string metadata map),
//! `.npy` (one array) and `.npz` (a zip of `.npy` members), reading and writing the files MLX
//! reads and writes.
//!
//! - Every save writes a temporary file in the destination folder, syncs it, and renames it over
//!   the destination: a crash never leaves half a file, and a failed save leaves any earlier
//!   file intact.
//! - Arrays are written row-major whatever their layout (transposed or sliced views are copied
//!   into order first).
//! - Bad input never panics: a truncated, corrupt or foreign file gives [`Error::Format`] naming
//!   the file; a missing or unreadable one gives [`Error::Io`] with the path.
//! - Loading reads the whole file at once (MLX loads lazily; the values are the same).
//!
//! ```
//! use rmlx_core::{io, Array};
//! let dir = std::env::temp_dir().join(format!("rmlx-io-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let w = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
//! let path = dir.join("model.safetensors");
//! io::save_safetensors(&path, [("weight", &w)], None)?;
//! let (arrays, _meta) = io::load_safetensors(&path)?;
//! assert_eq!(arrays["weight"].to_vec::<f32>()?, vec![1.0, 2.0, 3.0, 4.0]);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), rmlx_core::Error>(())
//! ```

pub mod gguf;
pub mod npy;
pub mod npz;
pub mod safetensors;

pub use self::safetensors::{load_safetensors, save_safetensors};
pub use gguf::{save_gguf, GgufValue};
pub use npy::{load, save};
pub use npz::{load_npz, savez, savez_compressed};

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::backend::cpu::copy::contiguous;
use crate::buffer::{Buffer, Data};
use crate::{Array, Dtype, Error, Result};

/// Headers larger than this are rejected as corrupt (the safetensors limit, applied to npy too).
pub const MAX_HEADER_BYTES: usize = 100_000_000;

pub(crate) fn format_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Format {
        path: path.display().to_string(),
        message: message.into(),
    }
}

pub(crate) fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Reads a whole file (`Error::Io` naming it when that fails).
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| io_err(path, e))
}

/// `path` with `ext` (".npy") appended unless it already ends with it, as MLX does.
pub(crate) fn with_extension(path: &Path, ext: &str) -> PathBuf {
    let s = path.as_os_str().to_string_lossy();
    if s.ends_with(ext) {
        path.to_path_buf()
    } else {
        let mut os = path.as_os_str().to_os_string();
        os.push(ext);
        PathBuf::from(os)
    }
}

static TMP_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Runs `write` on a temporary path in `path`'s folder, syncs it, then renames it to `path`. On
/// any error the temporary file is removed and `path` is untouched: a process killed mid-write
/// leaves the earlier file whole. Every saver of rmlx writes through it.
pub fn write_atomic_path(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Some(name) = path.file_name() else {
        return Err(io_err(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
        ));
    };
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = write(&tmp).and_then(|()| {
        File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| io_err(path, e))?;
        std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// [`write_atomic_path`] with a buffered writer over the temporary file.
pub(crate) fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<()>,
) -> Result<()> {
    write_atomic_path(path, |tmp| {
        let file = File::create(tmp).map_err(|e| io_err(path, e))?;
        let mut w = BufWriter::new(file);
        write(&mut w)?;
        w.flush().map_err(|e| io_err(path, e))
    })
}

/// The array's elements, evaluated and laid out row-major: read their bytes with
/// [`row_major_bytes`].
pub(crate) fn row_major(a: &Array) -> Result<Data> {
    Ok(contiguous(a.data()?))
}

/// The bytes of a row-major `Data` (from [`row_major`]); an error if it is not row-major.
pub(crate) fn row_major_bytes(d: &Data) -> Result<&[u8]> {
    d.contiguous_bytes().ok_or_else(|| {
        crate::err!(
            Shape,
            "expected row-major data, got shape {:?} strides {:?}",
            d.shape(),
            d.strides()
        )
    })
}

/// An evaluated array holding a copy of `bytes` (little-endian elements of `dtype`). Bool bytes
/// are normalised to 0/1.
pub(crate) fn array_from_bytes(bytes: &[u8], dtype: Dtype, shape: &[usize]) -> Array {
    let mut buf = Buffer::new(bytes.len());
    buf.bytes_mut().copy_from_slice(bytes);
    if dtype == Dtype::Bool {
        buf.bytes_mut()
            .iter_mut()
            .for_each(|b| *b = (*b != 0) as u8);
    }
    Array::from_data(Data::new(buf, dtype, shape))
}

/// Checks a list of names for duplicates (`Error::Key`).
pub(crate) fn check_unique<'a>(op: &str, names: impl Iterator<Item = &'a str>) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for n in names {
        if !seen.insert(n) {
            return Err(Error::Key(format!("{op}: duplicate array name '{n}'")));
        }
    }
    Ok(())
}
