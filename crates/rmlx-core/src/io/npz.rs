//! `.npz`: a zip archive with one `NAME.npy` member per array (numpy's `savez`, as MLX's
//! `mx.savez` / `mx.savez_compressed` write it and `mx.load` reads it).

use std::borrow::Borrow;
use std::io::{Read, Seek, Write};
use std::path::Path;

use indexmap::IndexMap;
use zip::result::ZipError;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

use super::npy::{parse_npy, write_npy};
use super::{check_unique, format_err, io_err, read_file, with_extension};
use crate::{Array, Error, Result};

fn zip_err(path: &Path, e: ZipError) -> Error {
    match e {
        ZipError::Io(e) => io_err(path, e),
        other => format_err(path, format!("not a valid .npz (zip) archive: {other}")),
    }
}

fn write_npz<K, V>(
    path: &Path,
    arrays: impl IntoIterator<Item = (K, V)>,
    method: CompressionMethod,
) -> Result<()>
where
    K: AsRef<str>,
    V: Borrow<Array>,
{
    let path = with_extension(path, ".npz");
    let arrays: Vec<(K, V)> = arrays.into_iter().collect();
    check_unique("savez", arrays.iter().map(|(k, _)| k.as_ref()))?;
    let refs: Vec<&Array> = arrays.iter().map(|(_, v)| v.borrow()).collect();
    crate::eval(&refs)?;
    super::write_atomic(&path, |w| {
        let mut zip = zip::ZipWriter::new(&mut *w);
        for (name, a) in &arrays {
            let a: &Array = a.borrow();
            let options = SimpleFileOptions::default()
                .compression_method(method)
                .large_file(a.nbytes() as u64 >= u32::MAX as u64 - 4096);
            zip.start_file(format!("{}.npy", name.as_ref()), options)
                .map_err(|e| zip_err(&path, e))?;
            write_npy(&mut zip, a, &path)?;
        }
        let inner = zip.finish().map_err(|e| zip_err(&path, e))?;
        inner.flush().map_err(|e| io_err(&path, e))
    })
}

/// Saves named arrays to an uncompressed `.npz` (`mx.savez`); `.npz` is appended to the path when
/// missing. Accepts any iterator of `(name, array)` pairs: `[("w", &w), ("b", &b)]`, a
/// `&IndexMap<String, Array>`, …
pub fn savez<K: AsRef<str>, V: Borrow<Array>>(
    path: impl AsRef<Path>,
    arrays: impl IntoIterator<Item = (K, V)>,
) -> Result<()> {
    write_npz(path.as_ref(), arrays, CompressionMethod::Stored)
}

/// Like [`savez`] with each member deflate-compressed (`mx.savez_compressed`).
pub fn savez_compressed<K: AsRef<str>, V: Borrow<Array>>(
    path: impl AsRef<Path>,
    arrays: impl IntoIterator<Item = (K, V)>,
) -> Result<()> {
    write_npz(path.as_ref(), arrays, CompressionMethod::Deflated)
}

/// Loads every member of an `.npz` archive, in archive order, keyed by its name without `.npy`.
///
/// ```
/// use rmlx_core::{io, Array};
/// let path = std::env::temp_dir().join(format!("rmlx-npz-doc-{}.npz", std::process::id()));
/// let a = Array::from_slice(&[1.5f32, 2.5], &[2])?;
/// io::savez_compressed(&path, [("a", &a)])?;
/// let m = io::load_npz(&path)?;
/// assert_eq!(m["a"].to_vec::<f32>()?, vec![1.5, 2.5]);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn load_npz(path: impl AsRef<Path>) -> Result<IndexMap<String, Array>> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    read_npz(std::io::Cursor::new(bytes), path)
}

fn read_npz<R: Read + Seek>(reader: R, path: &Path) -> Result<IndexMap<String, Array>> {
    let mut archive = zip::ZipArchive::new(reader).map_err(|e| zip_err(path, e))?;
    let mut out = IndexMap::new();
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).map_err(|e| zip_err(path, e))?;
        let name = member.name().to_string();
        let key = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        let declared = member.size();
        let mut data = Vec::new();
        (&mut member)
            .take(declared.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|e| format_err(path, format!("member '{name}' is corrupt: {e}")))?;
        if data.len() as u64 != declared {
            return Err(format_err(
                path,
                format!(
                    "member '{name}' holds {} bytes, its header says {declared}",
                    data.len()
                ),
            ));
        }
        let member_path = path.join(&name);
        let arr = parse_npy(&data, &member_path).map_err(|e| match e {
            Error::Format { message, .. } => {
                format_err(path, format!("member '{name}': {message}"))
            }
            other => other,
        })?;
        if out.insert(key.clone(), arr).is_some() {
            return Err(format_err(path, format!("duplicate member '{key}'")));
        }
    }
    Ok(out)
}
