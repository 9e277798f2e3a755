//! Hugging Face checkpoint folders: `config.json`, `model.safetensors` (or shards listed in
//! `model.safetensors.index.json`), and strict loading by parameter name.

use indexmap::IndexMap;
use rmlx_core::io::load_safetensors;
use rmlx_core::{Array, Error, Result};
use rmlx_nn::{Module, ModuleExt};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// Reads `dir/config.json` as JSON.
pub fn read_config(dir: impl AsRef<Path>) -> Result<Value> {
    read_json(&dir.as_ref().join("config.json"))
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| Error::Format {
        path: path.display().to_string(),
        message: format!("not valid JSON: {e}"),
    })
}

/// Every array of the checkpoint in `dir`: `model.safetensors`, or the shards that
/// `model.safetensors.index.json` lists (its `weight_map`), in file order.
pub fn load_checkpoint(dir: impl AsRef<Path>) -> Result<IndexMap<String, Array>> {
    let dir = dir.as_ref();
    let single = dir.join("model.safetensors");
    if single.exists() {
        return Ok(load_safetensors(&single)?.0);
    }
    let index_path = dir.join("model.safetensors.index.json");
    if !index_path.exists() {
        return Err(Error::Io {
            path: dir.display().to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the folder holds neither model.safetensors nor model.safetensors.index.json",
            ),
        });
    }
    let index = read_json(&index_path)?;
    let map = index
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| Error::Format {
            path: index_path.display().to_string(),
            message: "no \"weight_map\" object".into(),
        })?;
    let shards: BTreeSet<&str> = map.values().filter_map(Value::as_str).collect();
    let mut all = IndexMap::new();
    for shard in shards {
        if shard.contains('/') || shard.contains('\\') {
            return Err(Error::Format {
                path: index_path.display().to_string(),
                message: format!("shard name {shard:?} must be a file name in the same folder"),
            });
        }
        all.extend(load_safetensors(dir.join(shard))?.0);
    }
    Ok(all)
}

/// Loads `weights` into `model` strictly: every parameter of the model must be present with its
/// shape, and no other name may be left. On a mismatch nothing changes and the error lists the
/// missing keys, the unexpected keys and the shape mismatches together.
pub fn load_strict<M: Module + ?Sized>(
    model: &mut M,
    weights: IndexMap<String, Array>,
    what: &str,
) -> Result<()> {
    let params: IndexMap<String, Array> = model
        .parameters()
        .flatten()
        .into_iter()
        .map(|(k, v)| (k, v.clone()))
        .collect();
    let missing: Vec<&str> = params
        .keys()
        .filter(|k| !weights.contains_key(*k))
        .map(String::as_str)
        .collect();
    let unexpected: Vec<&str> = weights
        .keys()
        .filter(|k| !params.contains_key(*k))
        .map(String::as_str)
        .collect();
    let shapes: Vec<String> = params
        .iter()
        .filter_map(|(k, p)| {
            let w = weights.get(k)?;
            (w.shape() != p.shape())
                .then(|| format!("{k}: checkpoint {:?}, model {:?}", w.shape(), p.shape()))
        })
        .collect();
    if !missing.is_empty() || !unexpected.is_empty() || !shapes.is_empty() {
        let list = |v: &[&str]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        return Err(Error::Value(format!(
            "{what}: the checkpoint does not fit the model.\n  missing keys ({}): {}\n  unexpected keys ({}): {}\n  shape mismatches ({}): {}",
            missing.len(),
            list(&missing),
            unexpected.len(),
            list(&unexpected),
            shapes.len(),
            if shapes.is_empty() { "none".to_string() } else { shapes.join("; ") }
        )));
    }
    model.load_weights(weights.into_iter().collect::<Vec<_>>(), true)?;
    Ok(())
}

/// `config[key]` as a `usize`, or an error naming the key.
pub(crate) fn get_usize(config: &Value, key: &str) -> Result<usize> {
    config[key].as_u64().map(|v| v as usize).ok_or_else(|| {
        Error::Value(format!(
            "config.json: \"{key}\" must be a non-negative integer"
        ))
    })
}

/// `config[key]` as a `usize`, or `default` when absent or null.
pub(crate) fn get_usize_or(config: &Value, key: &str, default: usize) -> Result<usize> {
    match &config[key] {
        Value::Null => Ok(default),
        _ => get_usize(config, key),
    }
}

/// `config[key]` as an `f64`, or `default` when absent or null.
pub(crate) fn get_f64_or(config: &Value, key: &str, default: f64) -> Result<f64> {
    match &config[key] {
        Value::Null => Ok(default),
        v => v
            .as_f64()
            .ok_or_else(|| Error::Value(format!("config.json: \"{key}\" must be a number"))),
    }
}

/// `config[key]` as a `bool`, or `default` when absent or null.
pub(crate) fn get_bool_or(config: &Value, key: &str, default: bool) -> Result<bool> {
    match &config[key] {
        Value::Null => Ok(default),
        v => v
            .as_bool()
            .ok_or_else(|| Error::Value(format!("config.json: \"{key}\" must be true or false"))),
    }
}
