//! The one loader of the MLX oracle for rmlx-core's tests: the folder (`RMLX_ORACLE_DIR`, else
//! the in-repo copy `tests/data/oracle`), its `cases.json`, and the tensors of one of its
//! safetensors files, read with rmlx's own loader (which `io_formats` checks separately).

use std::collections::HashMap;
use std::path::PathBuf;

use rmlx_core::Array;
use serde_json::Value;

/// The oracle folder.
pub fn dir() -> PathBuf {
    match std::env::var_os("RMLX_ORACLE_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/oracle"),
    }
}

/// Every case of `cases.json` (a list of objects with `kind`, `name`, `op`, `prefix`…).
pub fn cases() -> Vec<Value> {
    let path = dir().join("cases.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The cases of one `kind` (`"core_op"`, …).
pub fn cases_of(kind: &str) -> Vec<Value> {
    cases().into_iter().filter(|c| c["kind"] == kind).collect()
}

/// The arrays of the oracle file `file` by name, or the loader's error.
pub fn tensors(file: &str) -> Result<HashMap<String, Array>, String> {
    let path = dir().join(file);
    rmlx_core::io::load_safetensors(&path)
        .map(|(arrays, _)| arrays.into_iter().collect())
        .map_err(|e| e.to_string())
}

/// The gradient with respect to `inputs[0]` of `sum_k sum(f(inputs)[k] * cots[k])`: how the
/// oracle generators record a function's gradient for a fixed cotangent per output.
pub fn weighted_sum_grad(
    f: impl Fn(&[Array]) -> rmlx_core::Result<Vec<Array>>,
    inputs: &[Array],
    cots: &[Array],
) -> rmlx_core::Result<Array> {
    let rest = inputs[1..].to_vec();
    let loss = |x: &[Array]| -> rmlx_core::Result<Vec<Array>> {
        let mut all = vec![x[0].clone()];
        all.extend(rest.iter().cloned());
        let mut total: Option<Array> = None;
        for (o, ct) in f(&all)?.iter().zip(cots) {
            let s = (o * ct)?.sum(None, false)?;
            total = Some(match total {
                None => s,
                Some(t) => (&t + &s)?,
            });
        }
        total
            .map(|t| vec![t])
            .ok_or_else(|| rmlx_core::Error::Value("no outputs".into()))
    };
    let g = rmlx_core::grad(loss, &[0])(&inputs[..1])?;
    Ok(g.into_iter().next().expect("one gradient"))
}
