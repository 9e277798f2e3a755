//! Replays every scenario of the MLX oracle's `module_semantics.json` (MLX 0.32.4): builds each
//! model from its spec, applies each operation, and compares parameters, trainable keys, training
//! flags, named_modules, leaf_modules, children, constant_params and errors with MLX's.

use crate::support;

use rmlx_core::tree::tree_flatten;
use rmlx_core::Error;
use rmlx_nn::{Keys, Module, ModuleExt, Weights};
use serde_json::{json, Value};
use support::{build, json_array, json_tree, oracle_dir};

fn parameters(m: &dyn Module) -> Value {
    let p = m.parameters();
    Value::Array(
        tree_flatten(&p)
            .into_iter()
            .map(|(k, a)| json!([k, a.shape()]))
            .collect(),
    )
}

fn trainable(m: &dyn Module) -> Value {
    let p = m.trainable_parameters();
    Value::Array(
        tree_flatten(&p)
            .into_iter()
            .map(|(k, _)| json!(k))
            .collect(),
    )
}

fn training(m: &dyn Module) -> Value {
    Value::Array(
        m.named_modules()
            .into_iter()
            .map(|(k, x)| json!([k, x.training()]))
            .collect(),
    )
}

fn named_modules(m: &dyn Module) -> Value {
    Value::Array(
        m.named_modules()
            .into_iter()
            .map(|(k, x)| json!([k, x.class_name()]))
            .collect(),
    )
}

fn leaf_modules(m: &dyn Module) -> Value {
    let t = m.leaf_modules();
    Value::Array(
        tree_flatten(&t)
            .into_iter()
            .map(|(k, _)| json!(k))
            .collect(),
    )
}

fn children(m: &dyn Module) -> Value {
    let t = m.children();
    let keys: Vec<Value> = match &t {
        rmlx_core::tree::Tree::Dict(d) => d.keys().map(|k| json!(k)).collect(),
        _ => vec![],
    };
    let flat: Vec<Value> = tree_flatten(&t)
        .into_iter()
        .map(|(k, _)| json!(k))
        .collect();
    json!({"keys": keys, "flat": flat})
}

fn constant_params(m: &dyn Module) -> Result<Value, String> {
    let p = m.parameters();
    let mut out = Vec::new();
    for (k, a) in tree_flatten(&p) {
        if a.size() < 2 {
            continue;
        }
        let v = a
            .astype(rmlx_core::Dtype::F64)
            .and_then(|x| x.to_vec::<f64>())
            .map_err(|e| e.to_string())?;
        if v.iter().all(|x| *x == v[0]) {
            out.push(json!([k, v[0]]));
        }
    }
    Ok(Value::Array(out))
}

fn num_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| num_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| num_eq(v, w)))
        }
        _ => a == b,
    }
}

fn check(field: &str, got: Value, want: Option<&Value>, fails: &mut Vec<String>, at: &str) {
    if let Some(w) = want {
        if !num_eq(&got, w) {
            fails.push(format!("{at}: {field}: got {got} want {w}"));
        }
    }
}

fn check_state(m: &dyn Module, want: &Value, fails: &mut Vec<String>, at: &str, full: bool) {
    check(
        "parameters",
        parameters(m),
        want.get("parameters"),
        fails,
        at,
    );
    check("trainable", trainable(m), want.get("trainable"), fails, at);
    check("training", training(m), want.get("training"), fails, at);
    if full {
        check(
            "named_modules",
            named_modules(m),
            want.get("named_modules"),
            fails,
            at,
        );
        check(
            "leaf_modules",
            leaf_modules(m),
            want.get("leaf_modules"),
            fails,
            at,
        );
        check("children", children(m), want.get("children"), fails, at);
        if let Some(c) = want.get("class") {
            check("class", json!(m.class_name()), Some(c), fails, at);
        }
    }
    if let Some(w) = want.get("constant_params") {
        match constant_params(m) {
            Ok(g) => check("constant_params", g, Some(w), fails, at),
            Err(e) => fails.push(format!("{at}: constant_params: {e}")),
        }
    }
}

fn keys_of(op: &Value) -> Result<Keys, String> {
    let names = match op.get("keys") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(vec![s.clone()]),
        Some(Value::Array(l)) => Some(
            l.iter()
                .map(|x| {
                    x.as_str()
                        .map(String::from)
                        .ok_or("non-string key".to_string())
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(o) => return Err(format!("unknown keys {o}")),
    };
    let recurse = op
        .get("recurse")
        .and_then(Value::as_bool)
        .ok_or("no recurse")?;
    let strict = op
        .get("strict")
        .and_then(Value::as_bool)
        .ok_or("no strict")?;
    Ok(Keys::from(names).recurse(recurse).with_strict(strict))
}

/// Applies one op. Outer Err = the op could not be run (a test failure); inner = the module's result.
fn apply(root: &mut dyn Module, op: &Value) -> Result<Result<(), Error>, String> {
    let path = op
        .get("path")
        .and_then(Value::as_str)
        .ok_or("op without path")?;
    let kind = op
        .get("op")
        .and_then(Value::as_str)
        .ok_or("op without name")?;
    let m = root
        .module_at_mut(path)
        .ok_or_else(|| format!("no module at path {path:?}"))?;
    Ok(match kind {
        "freeze" => m.freeze(keys_of(op)?).map(|_| ()),
        "unfreeze" => m.unfreeze(keys_of(op)?).map(|_| ()),
        "train" => {
            m.train(
                op.get("mode")
                    .and_then(Value::as_bool)
                    .ok_or("train without mode")?,
            );
            Ok(())
        }
        "eval" => {
            m.eval();
            Ok(())
        }
        "update" => {
            let strict = op
                .get("strict")
                .and_then(Value::as_bool)
                .ok_or("no strict")?;
            let tree = json_tree(op.get("parameters").ok_or("no parameters")?)
                .map_err(|e| e.to_string())?;
            m.update(&tree, strict).map(|_| ())
        }
        "load_weights" => {
            let strict = op
                .get("strict")
                .and_then(Value::as_bool)
                .ok_or("no strict")?;
            let ws = op
                .get("weights")
                .and_then(Value::as_array)
                .ok_or("no weights")?;
            let mut pairs = Vec::new();
            for w in ws {
                let name = w.get(0).and_then(Value::as_str).ok_or("weight name")?;
                let arr = json_array(w.get(1).ok_or("weight value")?).map_err(|e| e.to_string())?;
                pairs.push((name.to_string(), arr));
            }
            m.load_weights(Weights::Pairs(pairs), strict).map(|_| ())
        }
        "inspect" => Ok(()),
        other => return Err(format!("unknown op {other}")),
    })
}

fn run_scenario(s: &Value) -> Vec<String> {
    let name = s.get("name").and_then(Value::as_str).unwrap_or("?");
    let mut fails = Vec::new();
    let mut model = match build(&s["model"]) {
        Ok(m) => m,
        Err(e) => return vec![format!("{name}: build failed: {e}")],
    };
    check_state(
        model.as_ref(),
        &s["initial"],
        &mut fails,
        &format!("{name} initial"),
        true,
    );
    let steps = s
        .get("steps")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, st) in steps.iter().enumerate() {
        let at = format!("{name} step {i} {}", st["op"]);
        let res = match apply(model.as_mut(), &st["op"]) {
            Ok(r) => r,
            Err(e) => {
                fails.push(format!("{at}: could not run: {e}"));
                continue;
            }
        };
        let ok = st.get("ok").and_then(Value::as_bool).unwrap_or(true);
        match (&res, ok) {
            (Ok(()), true) => {}
            (Ok(()), false) => fails.push(format!("{at}: succeeded, MLX raised {}", st["error"])),
            (Err(e), true) => fails.push(format!("{at}: failed with {e}, MLX succeeded")),
            (Err(e), false) => {
                let want_type = st["error"]["type"].as_str().unwrap_or("");
                let got_type = match e {
                    Error::Key(_) => "KeyError",
                    Error::Value(_) => "ValueError",
                    _ => "other",
                };
                let want_msg = st["error"]["message"].as_str().unwrap_or("");
                if got_type != want_type || e.to_string() != want_msg {
                    fails.push(format!(
                        "{at}: error {got_type}({:?}), want {want_type}({want_msg:?})",
                        e.to_string()
                    ));
                }
            }
        }
        check_state(model.as_ref(), st, &mut fails, &at, false);
        if let Some(sub) = st.get("sub") {
            let path = st["op"]["path"].as_str().unwrap_or("");
            match model.module_at(path) {
                Some(m) => check_state(m, sub, &mut fails, &format!("{at} sub"), true),
                None => fails.push(format!("{at}: no module at {path}")),
            }
        }
    }
    fails
}

#[test]
fn oracle_module_semantics() {
    let path = oracle_dir().join("module_semantics.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let scenarios: Vec<Value> = serde_json::from_str(&text).expect("module_semantics.json parses");
    assert!(!scenarios.is_empty());
    let (mut passed, mut failed, mut steps) = (0, 0, 0);
    let mut report = Vec::new();
    for s in &scenarios {
        steps += s["steps"].as_array().map_or(0, |v| v.len());
        let f = run_scenario(s);
        if f.is_empty() {
            passed += 1;
        } else {
            failed += 1;
            report.extend(f);
        }
    }
    for r in &report {
        println!("FAIL {r}");
    }
    println!(
        "oracle_module_semantics: {passed} passed, {failed} failed ({} scenarios, {steps} steps)",
        scenarios.len()
    );
    assert_eq!(
        failed,
        0,
        "{} failures, first: {:?}",
        report.len(),
        report.first()
    );
}
