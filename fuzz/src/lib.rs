//! Shared by the harnesses: the loaders read paths, so each input is written to one file per
//! process (in `/dev/shm` when it exists) and loaded from there.

use std::path::PathBuf;

/// A per-process scratch file with the given extension, holding `data`.
pub fn scratch(data: &[u8], ext: &str) -> PathBuf {
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let p = dir.join(format!("rmlx-fuzz-{}.{ext}", std::process::id()));
    std::fs::write(&p, data).expect("the scratch file is writable");
    p
}
