//! Optimizer-only oracle check (oracle README §2.1, step 7): for every model case of
//! `cases.json`, build the optimizer from its class name and arguments, start from `param.*`,
//! feed the stored `grad.*` then `grad2.*`, and compare with `step1.*` / `step2.*` within
//! `tolerances.optimizer_only`. Frozen parameters must stay bit-identical.

use std::path::PathBuf;

use rmlx_core::Array;
use rmlx_optimizers::{optimizer_from_name, HParam, Optimizer, Schedule};
use serde_json::Value;

fn oracle_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../rmlx-core/tests/data/oracle")
}

struct Tensors {
    bytes: Vec<u8>,
}

impl Tensors {
    fn get(&self, name: &str) -> Result<Array, String> {
        let st = safetensors::SafeTensors::deserialize(&self.bytes).map_err(|e| e.to_string())?;
        let t = st.tensor(name).map_err(|e| format!("{name}: {e}"))?;
        if t.dtype() != safetensors::Dtype::F32 {
            return Err(format!("{name}: expected F32, got {:?}", t.dtype()));
        }
        let v: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Array::from_slice(&v, t.shape()).map_err(|e| e.to_string())
    }
}

fn to_hparam(v: &Value) -> Result<HParam, String> {
    Ok(match v {
        Value::Null => HParam::None,
        Value::Bool(b) => HParam::Bool(*b),
        Value::Number(n) => HParam::Num(n.as_f64().ok_or("bad number")?),
        Value::Array(a) => HParam::List(
            a.iter()
                .map(|x| x.as_f64().ok_or_else(|| format!("non-numeric list {v}")))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(o) => {
            let name = o
                .get("schedule")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("object argument without 'schedule': {v}"))?;
            let args: Vec<(String, f64)> = o
                .get("args")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, x)| x.as_f64().map(|f| (k.clone(), f)))
                        .collect()
                })
                .unwrap_or_default();
            let args: Vec<(&str, f64)> = args.iter().map(|(k, x)| (k.as_str(), *x)).collect();
            HParam::Schedule(Schedule::from_name(name, &args).map_err(|e| e.to_string())?)
        }
        Value::String(s) => return Err(format!("unexpected string argument {s}")),
    })
}

fn build_optimizer(spec: &Value) -> Result<Box<dyn Optimizer>, String> {
    let class = spec["class"].as_str().ok_or("optimizer without class")?;
    let args: Vec<(String, HParam)> = spec["args"]
        .as_object()
        .ok_or("optimizer without args")?
        .iter()
        .map(|(k, v)| Ok((k.clone(), to_hparam(v)?)))
        .collect::<Result<_, String>>()?;
    let args: Vec<(&str, HParam)> = args.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    optimizer_from_name(class, &args).map_err(|e| e.to_string())
}

fn compare(name: &str, got: &Array, want: &Array, rtol: f64, atol: f64) -> Result<(), String> {
    if got.shape() != want.shape() {
        return Err(format!(
            "{name}: shape {:?} vs {:?}",
            got.shape(),
            want.shape()
        ));
    }
    let g = got.to_vec::<f32>().map_err(|e| e.to_string())?;
    let w = want.to_vec::<f32>().map_err(|e| e.to_string())?;
    let mut worst = (0.0f64, 0usize);
    for (i, (&a, &b)) in g.iter().zip(&w).enumerate() {
        let err = (a as f64 - b as f64).abs();
        let lim = atol + rtol * (b as f64).abs();
        if err.is_nan() || err > lim {
            let excess = if err.is_nan() {
                f64::INFINITY
            } else {
                err / lim
            };
            if excess > worst.0 {
                worst = (excess, i);
            }
        }
    }
    if worst.0 > 0.0 {
        let i = worst.1;
        return Err(format!(
            "{name}: element {i}: got {} want {} (rtol {rtol}, atol {atol})",
            g[i], w[i]
        ));
    }
    Ok(())
}

fn run_case(case: &Value) -> Result<(), String> {
    let file = case["file"].as_str().ok_or("no file")?;
    let t = Tensors {
        bytes: std::fs::read(oracle_dir().join(file)).map_err(|e| e.to_string())?,
    };
    let names: Vec<String> = case["parameters"]
        .as_array()
        .ok_or("no parameters")?
        .iter()
        .map(|p| p[0].as_str().unwrap_or_default().to_string())
        .collect();
    let trainable: Vec<String> = case["trainable"]
        .as_array()
        .ok_or("no trainable")?
        .iter()
        .map(|p| p.as_str().unwrap_or_default().to_string())
        .collect();
    let tol = &case["tolerances"]["optimizer_only"];
    let (rtol, atol) = (
        tol["rtol"].as_f64().ok_or("no rtol")?,
        tol["atol"].as_f64().ok_or("no atol")?,
    );
    let lrs: Vec<f64> = case["learning_rates"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();

    let initial: Vec<(String, Array)> = names
        .iter()
        .map(|n| Ok((n.clone(), t.get(&format!("param.{n}"))?)))
        .collect::<Result<_, String>>()?;
    let mut params = initial.clone();
    let mut opt = build_optimizer(&case["optimizer"])?;

    for (step, (gprefix, sprefix)) in [("grad", "step1"), ("grad2", "step2")]
        .into_iter()
        .enumerate()
    {
        let grads: Vec<(String, Array)> = trainable
            .iter()
            .map(|n| Ok((n.clone(), t.get(&format!("{gprefix}.{n}"))?)))
            .collect::<Result<_, String>>()?;
        let updated = opt
            .apply_gradients(&grads, &params)
            .map_err(|e| format!("{sprefix}: {e}"))?;
        if updated.len() != grads.len() {
            return Err(format!(
                "{sprefix}: {} updates for {} grads",
                updated.len(),
                grads.len()
            ));
        }
        for (k, v) in updated {
            if let Some(slot) = params.iter_mut().find(|(n, _)| *n == k) {
                slot.1 = v;
            }
        }
        if let Some(&want_lr) = lrs.get(step) {
            let got = opt.learning_rate() as f64;
            if (got - want_lr).abs() > 1e-7 * want_lr.abs().max(1e-30) {
                return Err(format!("{sprefix}: learning rate {got} vs {want_lr}"));
            }
        }
        if opt.step() != step as u64 + 1 {
            return Err(format!("{sprefix}: step counter {}", opt.step()));
        }
        for ((n, p), (_, p0)) in params.iter().zip(&initial) {
            let want = t.get(&format!("{sprefix}.{n}"))?;
            if trainable.contains(n) {
                compare(&format!("{sprefix}.{n}"), p, &want, rtol, atol)?;
            } else {
                // Frozen: untouched, bit for bit (and equal to the oracle's).
                let (a, b, c) = (
                    p.to_vec::<f32>().map_err(|e| e.to_string())?,
                    p0.to_vec::<f32>().map_err(|e| e.to_string())?,
                    want.to_vec::<f32>().map_err(|e| e.to_string())?,
                );
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                if bits(&a) != bits(&b) || bits(&a) != bits(&c) {
                    return Err(format!("{sprefix}.{n}: frozen parameter changed"));
                }
            }
        }
    }
    // Memory: only trainable parameters have state.
    for (k, _) in opt.state() {
        if k == "step" || k == "learning_rate" {
            continue;
        }
        let path = k.rsplit_once('.').map(|(p, _)| p).unwrap_or(&k);
        if !trainable.iter().any(|t| t == path) {
            return Err(format!("state entry {k} for a frozen parameter"));
        }
    }
    Ok(())
}

#[test]
fn oracle_optimizer_only() {
    let text = std::fs::read_to_string(oracle_dir().join("cases.json")).expect("cases.json");
    let cases: Value = serde_json::from_str(&text).expect("valid JSON");
    let (mut passed, mut failed) = (0, 0);
    for case in cases.as_array().expect("a list") {
        if case["kind"] != "model" {
            continue;
        }
        let name = case["name"].as_str().unwrap_or("?");
        match run_case(case) {
            Ok(()) => passed += 1,
            Err(e) => {
                failed += 1;
                println!("FAIL {name} ({}): {e}", case["optimizer"]["class"]);
            }
        }
    }
    println!("optimizer-only oracle: {passed} passed, {failed} failed");
    assert!(passed > 0, "no model cases found");
    assert_eq!(failed, 0, "{failed} optimizer-only oracle cases failed");
}
