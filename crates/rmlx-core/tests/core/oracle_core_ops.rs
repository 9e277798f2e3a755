//! The MLX oracle for core ops: every `kind: core_op` case of `cases.json` is run through a
//! generic, table-driven dispatch on `op` + `kwargs`; the output is compared within
//! `tolerances.out` and the vjp of the op (for the stored cotangent, w.r.t. every differentiable
//! input) within `tolerances.vjp`. Tolerance rule: `|a - e| <= atol + rtol * |e|`.
//!
//! Reads `RMLX_ORACLE_DIR` if set, else `tests/data/oracle`. A case that cannot run (missing op,
//! bad data) counts as a failure: nothing is skipped.

use std::collections::HashMap;

use crate::oracle;
use rmlx_core::{self as mx, Array, Axes, Result};
use serde_json::{Map, Value};

// ---------- kwargs ----------

fn kw<'a>(kw: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    kw.get(key).filter(|v| !v.is_null())
}

fn kw_axes(k: &Map<String, Value>, key: &str) -> Result<Axes> {
    Ok(match kw(k, key) {
        None => Axes::All,
        Some(Value::Number(n)) => Axes::List(vec![n.as_i64().ok_or_else(|| bad(key))? as isize]),
        Some(Value::Array(v)) => Axes::List(
            v.iter()
                .map(|x| x.as_i64().map(|i| i as isize).ok_or_else(|| bad(key)))
                .collect::<Result<_>>()?,
        ),
        Some(_) => return Err(bad(key)),
    })
}

fn kw_ints(k: &Map<String, Value>, key: &str) -> Result<Option<Vec<isize>>> {
    match kw(k, key) {
        None => Ok(None),
        Some(Value::Array(v)) => Ok(Some(
            v.iter()
                .map(|x| x.as_i64().map(|i| i as isize).ok_or_else(|| bad(key)))
                .collect::<Result<_>>()?,
        )),
        Some(_) => Err(bad(key)),
    }
}

fn kw_int(k: &Map<String, Value>, key: &str) -> Result<Option<isize>> {
    match kw(k, key) {
        None => Ok(None),
        Some(v) => Ok(Some(v.as_i64().ok_or_else(|| bad(key))? as isize)),
    }
}

fn kw_bool(k: &Map<String, Value>, key: &str, default: bool) -> Result<bool> {
    match kw(k, key) {
        None => Ok(default),
        Some(v) => v.as_bool().ok_or_else(|| bad(key)),
    }
}

fn kw_f64(k: &Map<String, Value>, key: &str) -> Result<Option<f64>> {
    match kw(k, key) {
        None => Ok(None),
        Some(v) => Ok(Some(v.as_f64().ok_or_else(|| bad(key))?)),
    }
}

fn kw_str<'a>(k: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    kw(k, key).and_then(Value::as_str)
}

fn bad(key: &str) -> mx::Error {
    mx::Error::Value(format!("oracle: malformed kwarg {key}"))
}

fn unavailable(op: &str) -> mx::Error {
    mx::Error::Value(format!("op {op} not available"))
}

fn arg(x: &[Array], i: usize, op: &str) -> Result<Array> {
    x.get(i)
        .cloned()
        .ok_or_else(|| mx::Error::Value(format!("oracle: {op} needs input {i}")))
}

// ---------- dispatch ----------

/// Applies core op `op` with `kwargs` to `x` (the case's inputs in order).
fn apply(op: &str, k: &Map<String, Value>, x: &[Array]) -> Result<Array> {
    let a = |i| arg(x, i, op);
    match op {
        "add" => mx::add(&a(0)?, &a(1)?),
        "subtract" => mx::subtract(&a(0)?, &a(1)?),
        "multiply" => mx::multiply(&a(0)?, &a(1)?),
        "divide" => mx::divide(&a(0)?, &a(1)?),
        "sum" => mx::sum(&a(0)?, kw_axes(k, "axis")?, kw_bool(k, "keepdims", false)?),
        "transpose" => {
            let axes = kw_ints(k, "axes")?;
            mx::transpose(&a(0)?, axes.as_deref())
        }
        "reshape" => {
            let shape = kw_ints(k, "shape")?.ok_or_else(|| bad("shape"))?;
            a(0)?.reshape(shape)
        }
        "maximum" => mx::maximum(&a(0)?, &a(1)?),
        "where" => mx::where_(&a(0)?, &a(1)?, &a(2)?),
        "exp" => mx::exp(&a(0)?),
        "log" => mx::log(&a(0)?),
        "tanh" => mx::tanh(&a(0)?),
        "sigmoid" => mx::sigmoid(&a(0)?),
        "erf" => mx::erf(&a(0)?),
        "square" => mx::square(&a(0)?),
        "sqrt" => mx::sqrt(&a(0)?),
        "rsqrt" => mx::rsqrt(&a(0)?),
        "softmax" => mx::softmax(&a(0)?, kw_axes(k, "axis")?, false),
        "logsumexp" => mx::logsumexp(&a(0)?, kw_axes(k, "axis")?, kw_bool(k, "keepdims", false)?),
        "mean" => mx::mean(&a(0)?, kw_axes(k, "axis")?, kw_bool(k, "keepdims", false)?),
        "max" => a(0)?.max(kw_axes(k, "axis")?, kw_bool(k, "keepdims", false)?),
        "var" | "std" => {
            let ddof = kw_int(k, "ddof")?.unwrap_or(0);
            let ddof = usize::try_from(ddof).map_err(|_| bad("ddof"))?;
            let (axes, keep) = (kw_axes(k, "axis")?, kw_bool(k, "keepdims", false)?);
            if op == "var" {
                mx::var(&a(0)?, axes, keep, ddof)
            } else {
                mx::std(&a(0)?, axes, keep, ddof)
            }
        }
        "matmul" => mx::matmul(&a(0)?, &a(1)?),
        "addmm" => {
            let alpha = kw_f64(k, "alpha")?.unwrap_or(1.0);
            let beta = kw_f64(k, "beta")?.unwrap_or(1.0);
            mx::addmm(&a(0)?, &a(1)?, &a(2)?, alpha, beta)
        }
        "concatenate" => mx::concatenate(x, kw_int(k, "axis")?.unwrap_or(0)),
        "take" => mx::take(&a(0)?, &a(1)?, kw_int(k, "axis")?),
        "take_along_axis" => {
            let axis = kw_int(k, "axis")?.ok_or_else(|| bad("axis"))?;
            mx::take_along_axis(&a(0)?, &a(1)?, axis)
        }
        "layer_norm" => {
            // weight/bias are inputs when present; `"weight": null` in kwargs marks them absent
            let eps = kw_f64(k, "eps")?.unwrap_or(1e-5);
            let w = x.get(1);
            let b = x.get(2);
            mx::fast::layer_norm(&a(0)?, w, b, eps)
        }
        "rms_norm" => {
            let eps = kw_f64(k, "eps")?.unwrap_or(1e-5);
            mx::fast::rms_norm(&a(0)?, x.get(1), eps)
        }
        "scaled_dot_product_attention" => {
            let scale = kw_f64(k, "scale")?.ok_or_else(|| bad("scale"))?;
            let m;
            let mask = match kw_str(k, "mask") {
                None => mx::fast::SdpaMask::None,
                Some("causal") => mx::fast::SdpaMask::Causal,
                Some("input") => {
                    m = a(3)?;
                    mx::fast::SdpaMask::Array(&m)
                }
                Some(other) => {
                    return Err(mx::Error::Value(format!(
                        "oracle: unknown sdpa mask {other}"
                    )))
                }
            };
            mx::fast::scaled_dot_product_attention(&a(0)?, &a(1)?, &a(2)?, scale, mask)
        }
        // nn activations, composed from core ops
        "relu" | "gelu" | "gelu_approx" | "gelu_fast_approx" => nn_activation(op, &a(0)?),
        _ => Err(unavailable(op)),
    }
}

/// The nn activations of the oracle, written with core ops as `mlx.nn` defines them.
fn nn_activation(op: &str, x: &Array) -> Result<Array> {
    let dt = x.dtype();
    let c = |v: f64| Array::scalar_as(v, dt);
    match op {
        // maximum(x, 0): on ties the gradient goes to the second argument, so relu'(0) = 0
        "relu" => mx::maximum(x, &c(0.0)),
        // x * (1 + erf(x / sqrt(2))) / 2
        "gelu" => {
            let e = mx::erf(&(x / std::f64::consts::SQRT_2)?)?;
            &(x * &(&e + 1.0)?)? / 2.0
        }
        // 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))
        "gelu_approx" => {
            let x3 = (&(x * x)? * x)?;
            let inner = (&(x + &(&x3 * 0.044715)?)? * (2.0 / std::f64::consts::PI).sqrt())?;
            &(x * 0.5)? * &(&mx::tanh(&inner)? + 1.0)?
        }
        // x * sigmoid(1.702 * x)
        "gelu_fast_approx" => x * &mx::sigmoid(&(x * 1.702)?)?,
        _ => Err(unavailable(op)),
    }
}

// ---------- comparison ----------

fn compare(what: &str, got: &Array, want: &Array, tol: &Value) -> std::result::Result<(), String> {
    if got.shape() != want.shape() {
        return Err(format!(
            "{what}: shape {:?}, expected {:?}",
            got.shape(),
            want.shape()
        ));
    }
    let rtol = tol["rtol"].as_f64().unwrap_or(0.0);
    let atol = tol["atol"].as_f64().unwrap_or(0.0);
    let g = got.to_vec::<f64>().map_err(|e| format!("{what}: {e}"))?;
    let w = want.to_vec::<f64>().map_err(|e| format!("{what}: {e}"))?;
    let mut worst: Option<(usize, f64, f64)> = None;
    let mut n_bad = 0;
    for (i, (a, e)) in g.iter().zip(&w).enumerate() {
        let ok = (a - e).abs() <= atol + rtol * e.abs() || (a.is_nan() && e.is_nan()) || a == e;
        if !ok {
            n_bad += 1;
            if worst.is_none_or(|(_, wa, we)| (a - e).abs() > (wa - we).abs()) {
                worst = Some((i, *a, *e));
            }
        }
    }
    match worst {
        None => Ok(()),
        Some((i, a, e)) => Err(format!(
            "{what}: {n_bad}/{} elements out of tolerance (rtol {rtol}, atol {atol}); worst at {i}: {a} vs {e}",
            g.len()
        )),
    }
}

fn run_case(
    case: &Value,
    files: &mut HashMap<String, HashMap<String, Array>>,
) -> std::result::Result<(), String> {
    let op = case["op"].as_str().ok_or("no op")?;
    let prefix = case["prefix"].as_str().ok_or("no prefix")?;
    let file = case["file"].as_str().ok_or("no file")?;
    if !files.contains_key(file) {
        let t = oracle::tensors(file)?;
        files.insert(file.to_string(), t);
    }
    let tensors = &files[file];
    let get = |key: &str| -> std::result::Result<Array, String> {
        tensors
            .get(&format!("{prefix}{key}"))
            .cloned()
            .ok_or_else(|| format!("missing tensor {prefix}{key}"))
    };
    let empty = Map::new();
    let kwargs = case["kwargs"].as_object().unwrap_or(&empty).clone();
    let specs = case["inputs"].as_array().ok_or("no inputs")?;
    let mut inputs = Vec::new();
    let mut diff = Vec::new();
    let mut names = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let name = s["name"].as_str().ok_or("input without name")?;
        inputs.push(get(&format!("input.{name}"))?);
        names.push(name.to_string());
        if s["differentiable"].as_bool().unwrap_or(false) {
            diff.push(i);
        }
    }
    let out = apply(op, &kwargs, &inputs).map_err(|e| e.to_string())?;
    compare("out", &out, &get("out")?, &case["tolerances"]["out"])?;
    if !diff.is_empty() {
        let cot = get("cotangent")?;
        let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![apply(op, &kwargs, p)?]) };
        let (_, vjps) =
            mx::vjp_with_argnums(f, &inputs, &[cot], &diff).map_err(|e| format!("vjp: {e}"))?;
        for (v, &i) in vjps.iter().zip(&diff) {
            let name = &names[i];
            compare(
                &format!("vjp.{name}"),
                v,
                &get(&format!("vjp.{name}"))?,
                &case["tolerances"]["vjp"],
            )?;
        }
    }
    Ok(())
}

#[test]
fn oracle_core_ops() {
    let cases = oracle::cases_of("core_op");
    let mut files = HashMap::new();
    let (mut passed, mut failed) = (0, Vec::new());
    for case in &cases {
        let name = case["name"].as_str().unwrap_or("?");
        match run_case(case, &mut files) {
            Ok(()) => passed += 1,
            Err(e) => failed.push(format!("{name}: {e}")),
        }
    }
    for f in &failed {
        println!("FAIL {f}");
    }
    println!("{passed} passed, {} failed", failed.len());
    assert!(passed + failed.len() > 0, "no core_op cases found");
    assert!(
        failed.is_empty(),
        "{} core-op oracle cases failed",
        failed.len()
    );
}
