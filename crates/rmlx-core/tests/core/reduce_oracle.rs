//! The MLX oracle's reduction and softmax cases (`core_ops.safetensors`): output and vjp of
//! sum, mean, max (ties included), var, std, logsumexp and softmax against MLX 0.32.4.

use std::collections::HashMap;

use crate::oracle;
use rmlx_core::{self as mx, Array, Axes, Result};
use serde_json::{Map, Value};

fn load_f32(t: &HashMap<String, Array>, key: &str) -> Array {
    let a = t.get(key).unwrap_or_else(|| panic!("missing tensor {key}"));
    assert_eq!(a.dtype(), mx::Dtype::F32, "{key}");
    a.clone()
}

fn axes(k: &Map<String, Value>) -> Axes {
    match k.get("axis") {
        None | Some(Value::Null) => Axes::All,
        Some(Value::Number(n)) => Axes::List(vec![n.as_i64().unwrap() as isize]),
        Some(Value::Array(v)) => {
            Axes::List(v.iter().map(|a| a.as_i64().unwrap() as isize).collect())
        }
        Some(other) => panic!("axis {other}"),
    }
}

fn apply(op: &str, k: &Map<String, Value>, x: &Array) -> Option<Result<Array>> {
    let keep = k.get("keepdims").and_then(Value::as_bool).unwrap_or(false);
    let ddof = k.get("ddof").and_then(Value::as_u64).unwrap_or(0) as usize;
    Some(match op {
        "sum" => mx::sum(x, axes(k), keep),
        "mean" => mx::mean(x, axes(k), keep),
        "max" => mx::max(x, axes(k), keep),
        "min" => mx::min(x, axes(k), keep),
        "prod" => mx::prod(x, axes(k), keep),
        "var" => mx::var(x, axes(k), keep, ddof),
        "std" => mx::std(x, axes(k), keep, ddof),
        "logsumexp" => mx::logsumexp(x, axes(k), keep),
        "softmax" => mx::softmax(x, axes(k), false),
        _ => return None,
    })
}

fn close(what: &str, got: &Array, want: &Array, tol: &Value) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let rtol = tol["rtol"].as_f64().unwrap_or(0.0);
    let atol = tol["atol"].as_f64().unwrap_or(0.0);
    let g = got.to_vec::<f64>().unwrap();
    let w = want.to_vec::<f64>().unwrap();
    for (i, (a, e)) in g.iter().zip(&w).enumerate() {
        assert!(
            (a - e).abs() <= atol + rtol * e.abs(),
            "{what}[{i}]: got {a}, MLX gives {e}"
        );
    }
}

#[test]
fn reduction_cases_match_mlx() {
    let cases = oracle::cases();
    let st = oracle::tensors("core_ops.safetensors").unwrap();
    let mut ran = Vec::new();
    for c in &cases {
        if c["kind"] != "core_op" {
            continue;
        }
        let op = c["op"].as_str().unwrap();
        let prefix = c["prefix"].as_str().unwrap();
        let k = c["kwargs"].as_object().cloned().unwrap_or_default();
        // Cases of other ops (binary ones with inputs `a`, `b`…) are not ours: skip before loading.
        if apply(op, &k, &Array::scalar(0.0f32)).is_none() {
            continue;
        }
        let x = load_f32(&st, &format!("{prefix}input.x"));
        let Some(out) = apply(op, &k, &x) else {
            continue;
        };
        let name = c["name"].as_str().unwrap();
        close(
            &format!("{name} out"),
            &out.unwrap(),
            &load_f32(&st, &format!("{prefix}out")),
            &c["tolerances"]["out"],
        );
        let cot = load_f32(&st, &format!("{prefix}cotangent"));
        let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![apply(op, &k, &p[0]).unwrap()?]) };
        let (_, g) = mx::vjp(f, &[x], &[cot]).unwrap();
        close(
            &format!("{name} vjp"),
            &g[0],
            &load_f32(&st, &format!("{prefix}vjp.x")),
            &c["tolerances"]["vjp"],
        );
        ran.push(name.to_string());
    }
    // softmax x2, logsumexp x3, sum x3, mean x3, max x4, var x2, std x2
    assert!(ran.len() >= 19, "ran only {ran:?}");
}
