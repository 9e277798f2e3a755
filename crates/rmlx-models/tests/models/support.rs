use indexmap::IndexMap;
use rmlx_core::{Array, Result};
use std::path::PathBuf;

/// `crates/rmlx-models/tests/data/<name>`.
pub fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

pub fn load(name: &str) -> IndexMap<String, Array> {
    rmlx_core::io::load_safetensors(data(name)).unwrap().0
}

/// Largest |a - b| over two arrays of one shape (as f32).
pub fn max_abs_diff(a: &Array, b: &Array) -> Result<f32> {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    let (a, b) = (
        a.astype(rmlx_core::Dtype::F32)?.to_vec::<f32>()?,
        b.astype(rmlx_core::Dtype::F32)?.to_vec::<f32>()?,
    );
    Ok(a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max))
}

/// A fresh scratch folder, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "rmlx-models-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
