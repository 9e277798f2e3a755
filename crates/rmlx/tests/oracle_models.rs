//! The MLX oracle for whole models: every `kind: model` case of `cases.json` (from
//! `RMLX_ORACLE_DIR`, default the in-repo copy under rmlx-core) is built from its spec, loaded
//! with `param.*` (strict), frozen as `freeze_ops` says, and checked against MLX: the trainable
//! set (names and order), the eval-mode output, the loss and the gradients of exactly the
//! trainable parameters (through `nn::value_and_grad`), then two optimizer updates (`step1.*`,
//! `loss2`, `grad2.*`, `step2.*`) with frozen parameters bit-identical. Nothing is skipped: a
//! case that cannot run is a failure.

mod oracle_support;

use oracle_support::nn_support::{build, oracle_dir};
use oracle_support::{call, check_bits, check_close, load_safetensors};
use rmlx_core::tree::{tree_flatten, Tree};
use rmlx_core::{Array, Result};
use rmlx_nn::losses::{cross_entropy, mse_loss, Reduction};
use rmlx_nn::{value_and_grad, Keys, Module, ModuleExt};
use rmlx_optimizers::{optimizer_from_name, HParam, Schedule};
use serde_json::Value;
use std::collections::HashMap;

type R<T> = std::result::Result<T, String>;

fn e2s(e: rmlx_core::Error) -> String {
    e.to_string()
}

fn tol(case: &Value, k: &str) -> R<(f64, f64)> {
    let t = case
        .get("tolerances")
        .and_then(|t| t.get(k))
        .ok_or_else(|| format!("no tolerances.{k}"))?;
    Ok((
        t.get("rtol").and_then(Value::as_f64).unwrap_or(0.0),
        t.get("atol").and_then(Value::as_f64).unwrap_or(0.0),
    ))
}

fn hparam(v: &Value) -> R<HParam> {
    Ok(match v {
        Value::Null => HParam::None,
        Value::Bool(b) => HParam::Bool(*b),
        Value::Number(n) => HParam::Num(n.as_f64().ok_or("bad number")?),
        Value::Array(l) => HParam::List(
            l.iter()
                .map(|x| x.as_f64().ok_or_else(|| "bad list entry".to_string()))
                .collect::<R<_>>()?,
        ),
        Value::Object(o) => {
            let name = o
                .get("schedule")
                .and_then(Value::as_str)
                .ok_or("schedule without a name")?;
            let args: Vec<(String, f64)> = o
                .get("args")
                .and_then(Value::as_object)
                .map(|a| {
                    a.iter()
                        .filter_map(|(k, v)| v.as_f64().map(|x| (k.clone(), x)))
                        .collect()
                })
                .unwrap_or_default();
            let refs: Vec<(&str, f64)> = args.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            HParam::Schedule(Schedule::from_name(name, &refs).map_err(e2s)?)
        }
        Value::String(s) => return Err(format!("unexpected string hyper-parameter {s}")),
    })
}

fn keys_of(op: &Value) -> R<Keys> {
    let mut k = match op.get("keys") {
        None | Some(Value::Null) => Keys::All,
        Some(Value::String(s)) => Keys::from(s.as_str()),
        Some(Value::Array(l)) => Keys::from(
            l.iter()
                .map(|x| x.as_str().map(str::to_string).ok_or("bad key"))
                .collect::<std::result::Result<Vec<String>, _>>()?,
        ),
        Some(other) => return Err(format!("bad keys {other}")),
    };
    k = k.recurse(op.get("recurse").and_then(Value::as_bool).unwrap_or(true));
    k = k.with_strict(op.get("strict").and_then(Value::as_bool).unwrap_or(false));
    Ok(k)
}

fn apply_freeze_ops(model: &mut dyn Module, ops: &[Value]) -> R<()> {
    for op in ops {
        let path = op.get("path").and_then(Value::as_str).unwrap_or("");
        let target: &mut dyn Module = if path.is_empty() {
            model
        } else {
            model
                .module_at_mut(path)
                .ok_or_else(|| format!("freeze_ops: no module at {path}"))?
        };
        let keys = keys_of(op)?;
        match op.get("op").and_then(Value::as_str) {
            Some("freeze") => target.freeze(keys).map(|_| ()),
            Some("unfreeze") => target.unfreeze(keys).map(|_| ()),
            other => return Err(format!("freeze_ops: unknown op {other:?}")),
        }
        .map_err(e2s)?;
    }
    Ok(())
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|l| {
            l.iter()
                .filter_map(|x| match x {
                    Value::String(s) => Some(s.clone()),
                    Value::Array(p) => p.first().and_then(Value::as_str).map(str::to_string),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn flat(t: &Tree<Array>) -> Vec<(String, Array)> {
    tree_flatten(t)
        .into_iter()
        .map(|(k, a)| (k, a.clone()))
        .collect()
}

/// The loss of the case on the model's current parameters.
fn loss_of(
    m: &dyn Module,
    args: &[Option<Array>],
    target: &Array,
    loss_fn: &str,
    reduction: Reduction,
) -> Result<Array> {
    let y = call(m, args)?;
    match loss_fn {
        "mse_loss" => mse_loss(&y, target, reduction),
        "cross_entropy" => cross_entropy(&y, target, None, -1, 0.0, reduction),
        other => Err(rmlx_core::Error::Value(format!("unknown loss {other}"))),
    }
}

struct Ctx<'a> {
    t: &'a HashMap<String, Array>,
    case: &'a Value,
    zero_grad: Vec<String>,
}

impl Ctx<'_> {
    fn get(&self, k: &str) -> R<&Array> {
        self.t.get(k).ok_or_else(|| format!("missing tensor {k}"))
    }

    fn close(&self, what: &str, path: &str, a: &Array, e: &Array, tk: &str) -> R<()> {
        let (rtol, atol) = tol(self.case, tk)?;
        let rtol = if self.zero_grad.iter().any(|z| z == path) {
            0.0
        } else {
            rtol
        };
        check_close(what, a, e, rtol, atol)
    }

    fn grads(&self, grads: &Tree<Array>, prefix: &str, trainable: &[String]) -> R<()> {
        let g = flat(grads);
        let gn: Vec<&String> = g.iter().map(|(k, _)| k).collect();
        if gn
            .iter()
            .map(|s| s.as_str())
            .ne(trainable.iter().map(String::as_str))
        {
            return Err(format!(
                "{prefix}: gradient keys {gn:?} != trainable {trainable:?}"
            ));
        }
        for (k, a) in &g {
            self.close(
                &format!("{prefix}.{k}"),
                k,
                a,
                self.get(&format!("{prefix}.{k}"))?,
                "grad",
            )?;
        }
        Ok(())
    }

    fn steps(&self, model: &dyn Module, prefix: &str, frozen: &[String]) -> R<()> {
        for (k, a) in flat(&model.parameters()) {
            let e = self.get(&format!("{prefix}.{k}"))?;
            if frozen.contains(&k) {
                check_bits(
                    &format!("{prefix}.{k}"),
                    &a,
                    self.get(&format!("param.{k}"))?,
                )?;
                check_bits(&format!("{prefix}.{k}"), &a, e)?;
            } else {
                self.close(&format!("{prefix}.{k}"), &k, &a, e, prefix)?;
            }
        }
        Ok(())
    }
}

fn run_case(dir: &std::path::Path, case: &Value, compiled: bool) -> R<()> {
    let file = case.get("file").and_then(Value::as_str).ok_or("no file")?;
    let t = load_safetensors(&dir.join(file))?;
    let zero_grad = names(case.get("zero_gradient_params").unwrap_or(&Value::Null));
    let cx = Ctx {
        t: &t,
        case,
        zero_grad,
    };
    let spec = case.get("model").ok_or("no model")?;
    let mut model = build(spec).map_err(e2s)?;

    // 1. load every param.* strictly
    let params: Vec<(String, Array)> = names(case.get("parameters").unwrap_or(&Value::Null))
        .into_iter()
        .map(|k| Ok((k.clone(), cx.get(&format!("param.{k}"))?.clone())))
        .collect::<R<_>>()?;
    let loaded: Vec<String> = params.iter().map(|(k, _)| k.clone()).collect();
    model.load_weights(params, true).map_err(e2s)?;
    let have: Vec<String> = flat(&model.parameters())
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    if have != loaded {
        return Err(format!("parameter names/order {have:?} != MLX {loaded:?}"));
    }

    // 2. freeze ops, trainable set
    let ops = case
        .get("freeze_ops")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    apply_freeze_ops(model.as_mut(), &ops)?;
    let trainable = names(case.get("trainable").unwrap_or(&Value::Null));
    let frozen = names(case.get("frozen").unwrap_or(&Value::Null));
    let tn: Vec<String> = flat(&model.trainable_parameters())
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    if tn != trainable {
        return Err(format!("trainable {tn:?} != MLX {trainable:?}"));
    }

    // 3. eval-mode output
    let call_list = case
        .get("call")
        .and_then(Value::as_array)
        .ok_or("no call")?;
    let args: Vec<Option<Array>> = call_list
        .iter()
        .map(|c| match c {
            Value::Null => Ok(None),
            Value::String(n) => Ok(Some(cx.get(&format!("input.{n}"))?.clone())),
            other => Err(format!("bad call entry {other}")),
        })
        .collect::<R<_>>()?;
    model.eval();
    let y = call(model.as_ref(), &args).map_err(e2s)?;
    cx.close("out.y", "", &y, cx.get("out.y")?, "out")?;

    // 4. train mode: loss and gradients of exactly the trainable parameters
    model.train(true);
    let target = cx.get("target")?.clone();
    let loss_spec = case.get("loss").ok_or("no loss")?;
    let loss_fn = loss_spec
        .get("fn")
        .and_then(Value::as_str)
        .ok_or("no loss fn")?
        .to_string();
    let reduction = Reduction::from_name(
        loss_spec
            .get("reduction")
            .and_then(Value::as_str)
            .unwrap_or("mean"),
    )
    .map_err(e2s)?;
    let lg = |m: &mut Box<dyn Module>| -> R<(Array, Tree<Array>)> {
        let (outs, grads) = value_and_grad(m.as_mut(), |mm: &dyn Module| {
            Ok(vec![loss_of(mm, &args, &target, &loss_fn, reduction)?])
        })
        .map_err(e2s)?;
        Ok((outs.into_iter().next().ok_or("no loss")?, grads))
    };
    let (loss, grads) = lg(&mut model)?;
    cx.close("loss", "", &loss, cx.get("loss")?, "loss")?;
    cx.grads(&grads, "grad", &trainable)?;

    // 5. first optimizer update
    let ospec = case.get("optimizer").ok_or("no optimizer")?;
    let class = ospec
        .get("class")
        .and_then(Value::as_str)
        .ok_or("no optimizer class")?;
    let oargs: Vec<(String, HParam)> = ospec
        .get("args")
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, v)| Ok((k.clone(), hparam(v)?)))
                .collect::<R<_>>()
        })
        .transpose()?
        .unwrap_or_default();
    let oref: Vec<(&str, HParam)> = oargs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let mut opt = optimizer_from_name(class, &oref).map_err(e2s)?;
    if compiled {
        // steps 5 and 6 as one compiled training step with the model and the optimizer as its
        // state: the first call traces, the second replays the (fused) trace
        let trainable_params: Vec<(String, Array)> = flat(&model.trainable_parameters());
        opt.init(&trainable_params).map_err(e2s)?;
        let step = rmlx_core::compile_with_state(
            |st: &mut (Box<dyn Module>, Box<dyn rmlx_optimizers::Optimizer>), _: &[Array]| {
                let (m, o) = st;
                let (outs, grads) = value_and_grad(m.as_mut(), |mm: &dyn Module| {
                    Ok(vec![loss_of(mm, &args, &target, &loss_fn, reduction)?])
                })?;
                o.update(m.as_mut(), &grads)?;
                Ok(outs)
            },
        );
        // bias-corrected Adam reads the step on the host: each step is its own trace
        let step_dependent = ospec["args"]["bias_correction"] == Value::Bool(true);
        let mut st = (model, opt);
        let l1 = step.call(&mut st, &[]).map_err(e2s)?;
        cx.close("loss", "", &l1[0], cx.get("loss")?, "loss")?;
        cx.steps(st.0.as_ref(), "step1", &frozen)?;
        let l2 = step.call(&mut st, &[]).map_err(e2s)?;
        cx.close("loss2", "", &l2[0], cx.get("loss2")?, "loss")?;
        cx.steps(st.0.as_ref(), "step2", &frozen)?;
        let stats = step.stats();
        let want = if step_dependent {
            rmlx_core::CompileStats { traces: 2, hits: 0 }
        } else {
            rmlx_core::CompileStats { traces: 1, hits: 1 }
        };
        if stats != want {
            return Err(format!("compiled step: {stats:?}, expected {want:?}"));
        }
        return Ok(());
    }
    opt.update(model.as_mut(), &grads).map_err(e2s)?;
    cx.steps(model.as_ref(), "step1", &frozen)?;

    // 6. second loss/gradients and update
    let (loss2, grads2) = lg(&mut model)?;
    cx.close("loss2", "", &loss2, cx.get("loss2")?, "loss")?;
    cx.grads(&grads2, "grad2", &trainable)?;
    opt.update(model.as_mut(), &grads2).map_err(e2s)?;
    cx.steps(model.as_ref(), "step2", &frozen)?;
    Ok(())
}

fn model_cases() -> Vec<Value> {
    let dir = oracle_dir();
    let text = std::fs::read_to_string(dir.join("cases.json"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join("cases.json").display()));
    let all: Vec<Value> = serde_json::from_str(&text).expect("cases.json parses");
    all.into_iter()
        .filter(|c| c.get("kind").and_then(Value::as_str) == Some("model"))
        .collect()
}

#[test]
fn oracle_models() {
    check_all_models(false);
}

/// The same cases with the training steps compiled (issue 15): the compiled step must meet the
/// MLX oracle as the plain one does.
#[test]
fn oracle_models_compiled() {
    check_all_models(true);
}

fn check_all_models(compiled: bool) {
    let dir = oracle_dir();
    let cases = model_cases();
    assert!(!cases.is_empty(), "no model cases in {}", dir.display());
    let (mut passed, mut failed) = (0, Vec::new());
    for case in &cases {
        let name = case.get("name").and_then(Value::as_str).unwrap_or("?");
        match run_case(&dir, case, compiled) {
            Ok(()) => {
                passed += 1;
                println!("ok   {name}");
            }
            Err(e) => {
                println!("FAIL {name}: {e}");
                failed.push(format!("{name}: {e}"));
            }
        }
    }
    println!("oracle_models: {passed} passed, {} failed", failed.len());
    assert!(failed.is_empty(), "failed cases:\n{}", failed.join("\n"));
}

/// Matmul-like nodes (`Matmul`, `AddMM`) of the unevaluated graph of `grads`: all of them, and
/// those whose output has the shape of a weight matrix (a `dW` product).
fn matmul_nodes(grads: &Tree<Array>, weight_shapes: &[Vec<usize>]) -> (usize, usize) {
    let g = flat(grads);
    let outs: Vec<&Array> = g.iter().map(|(_, a)| a).collect();
    let all = rmlx_core::graph::count_primitives(&outs, "Matmul")
        + rmlx_core::graph::count_primitives(&outs, "AddMM");
    let dw = rmlx_core::graph::topological_order(&outs)
        .iter()
        .filter(|a| matches!(a.primitive_name(), Some("Matmul") | Some("AddMM")))
        .filter(|a| weight_shapes.iter().any(|s| s.as_slice() == a.shape()))
        .count();
    (all, dw)
}

#[test]
fn transformer_bias_only_has_no_dw_matmul() {
    let dir = oracle_dir();
    let case = model_cases()
        .into_iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some("transformer_bias_only"))
        .expect("transformer_bias_only case");
    let t = load_safetensors(&dir.join(case["file"].as_str().unwrap())).unwrap();
    let grads_for = |freeze: bool| -> Tree<Array> {
        let mut model = build(&case["model"]).unwrap();
        let params: Vec<(String, Array)> = names(&case["parameters"])
            .into_iter()
            .map(|k| {
                let a = t[&format!("param.{k}")].clone();
                (k, a)
            })
            .collect();
        model.load_weights(params, true).unwrap();
        if freeze {
            apply_freeze_ops(model.as_mut(), case["freeze_ops"].as_array().unwrap()).unwrap();
        }
        let args: Vec<Option<Array>> = case["call"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().map(|n| t[&format!("input.{n}")].clone()))
            .collect();
        let target = t["target"].clone();
        let (_, grads) = value_and_grad(model.as_mut(), |m: &dyn Module| {
            Ok(vec![loss_of(
                m,
                &args,
                &target,
                "mse_loss",
                Reduction::Mean,
            )?])
        })
        .unwrap();
        grads
    };
    let weight_shapes: Vec<Vec<usize>> = names(&case["parameters"])
        .into_iter()
        .filter(|k| k.ends_with("weight"))
        .map(|k| t[&format!("param.{k}")].shape().to_vec())
        .filter(|s| s.len() == 2)
        .collect();
    let n_linear = names(&case["parameters"])
        .iter()
        .filter(|k| k.ends_with("weight") && t[&format!("param.{k}")].ndim() == 2)
        .count();
    let full = grads_for(false);
    let bias = grads_for(true);
    let keys: Vec<String> = flat(&bias).into_iter().map(|(k, _)| k).collect();
    assert!(keys.iter().all(|k| k.ends_with("bias")), "{keys:?}");
    assert_eq!(keys, names(&case["trainable"]));
    let (full_all, full_dw) = matmul_nodes(&full, &weight_shapes);
    let (bias_all, bias_dw) = matmul_nodes(&bias, &weight_shapes);
    println!("matmul nodes: full {full_all} ({full_dw} dW), bias-only {bias_all} ({bias_dw} dW), {n_linear} linear layers");
    // every Linear contributes exactly one dW product when its weight is trainable, none when frozen
    assert_eq!(full_dw, n_linear);
    assert_eq!(bias_dw, 0);
    assert_eq!(full_all - bias_all, n_linear);
}
