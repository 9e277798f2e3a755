//! `load_weights` / `save_weights` (MLX_SEMANTICS 65–71).

use super::{Module, ModuleExt};
use indexmap::IndexMap;
use rmlx_core::tree::{tree_flatten, tree_unflatten};
use rmlx_core::{Array, Error, Result};
use std::path::{Path, PathBuf};

/// What `load_weights` reads: `(dotted name, array)` pairs or a `.safetensors` / `.npz` file.
#[derive(Clone)]
pub enum Weights {
    /// Named arrays, e.g. from another model's `parameters()` flattened.
    Pairs(Vec<(String, Array)>),
    /// A file; the format follows the extension.
    File(PathBuf),
}

impl From<Vec<(String, Array)>> for Weights {
    fn from(v: Vec<(String, Array)>) -> Self {
        Weights::Pairs(v)
    }
}
impl From<Vec<(&str, Array)>> for Weights {
    fn from(v: Vec<(&str, Array)>) -> Self {
        Weights::Pairs(v.into_iter().map(|(k, a)| (k.to_string(), a)).collect())
    }
}
impl From<&Path> for Weights {
    fn from(p: &Path) -> Self {
        Weights::File(p.to_path_buf())
    }
}
impl From<PathBuf> for Weights {
    fn from(p: PathBuf) -> Self {
        Weights::File(p)
    }
}
impl From<&str> for Weights {
    fn from(p: &str) -> Self {
        Weights::File(PathBuf::from(p))
    }
}
impl From<&String> for Weights {
    fn from(p: &String) -> Self {
        Weights::File(PathBuf::from(p))
    }
}

/// A shape as Python prints a tuple: `()`, `(4,)`, `(4, 8)`.
pub(crate) fn py_shape(s: &[usize]) -> String {
    match s {
        [] => "()".into(),
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            s.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

pub(crate) fn load_weights(m: &mut dyn Module, weights: Weights, strict: bool) -> Result<()> {
    let pairs = match weights {
        Weights::Pairs(p) => p,
        Weights::File(path) => super::weights_io::read(&path)?,
    };
    // Later duplicates win, as with Python's dict(pairs).
    let mut new: IndexMap<String, Array> = IndexMap::new();
    for (k, a) in pairs {
        new.insert(k, a);
    }
    if strict {
        let params = m.parameters();
        let curr: IndexMap<String, &Array> = tree_flatten(&params).into_iter().collect();
        let mut extras: Vec<&String> = new.keys().filter(|k| !curr.contains_key(*k)).collect();
        if !extras.is_empty() {
            extras.sort();
            let list: Vec<&str> = extras.iter().map(|s| s.as_str()).collect();
            return Err(Error::Value(format!(
                "Received {} parameters not in model: \n{}.",
                extras.len(),
                list.join(",\n")
            )));
        }
        let mut missing: Vec<&String> = curr.keys().filter(|k| !new.contains_key(*k)).collect();
        if !missing.is_empty() {
            missing.sort();
            let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
            return Err(Error::Value(format!(
                "Missing {} parameters: \n{}.",
                missing.len(),
                list.join(",\n")
            )));
        }
        for (k, v) in &curr {
            if let Some(n) = new.get(k) {
                if n.shape() != v.shape() {
                    return Err(Error::Value(format!(
                        "Expected shape {} but received shape {} for parameter {k}",
                        py_shape(v.shape()),
                        py_shape(n.shape())
                    )));
                }
            }
        }
    }
    if !strict {
        // keys the model does not have are ignored (as MLX's non-strict update ignores them);
        // dropping them first also keeps a key like `layers.1000000000.weight` from building a
        // list of a billion placeholders
        let params = m.parameters();
        let names: std::collections::HashSet<String> =
            tree_flatten(&params).into_iter().map(|(k, _)| k).collect();
        new.retain(|k, _| names.contains(k));
    }
    if new.is_empty() {
        return Ok(());
    }
    let tree = tree_unflatten(new.into_iter().collect())?;
    super::update::update(m, &tree, false)
}

pub(crate) fn save_weights(m: &dyn Module, path: &Path) -> Result<()> {
    let params = m.parameters();
    let pairs: Vec<(String, Array)> = tree_flatten(&params)
        .into_iter()
        .map(|(k, a)| (k, a.clone()))
        .collect();
    super::weights_io::write(path, &pairs)
}
