//! The MLX oracle (core_ops cases) for matmul, addmm, layer_norm, rms_norm and
//! scaled_dot_product_attention: outputs and vjps (through the primitives' vjp rules, summing
//! broadcast inputs back as the Broadcast vjp does).

use std::collections::HashMap;

use crate::oracle;
use rmlx_core::fast::{self, SdpaMask};
use rmlx_core::primitives::fast::{LayerNorm, MaskKind, RmsNorm, ScaledDotProductAttention};
use rmlx_core::primitives::matmul::{AddMM, Matmul};
use rmlx_core::primitives::shape::sum_to_shape;
use rmlx_core::primitives::Primitive;
use rmlx_core::{self as mx, Array};
use serde_json::Value;

/// The oracle's cases and the float and bool tensors of `core_ops.safetensors`.
fn load() -> (Vec<Value>, HashMap<String, Array>) {
    (
        oracle::cases(),
        oracle::tensors("core_ops.safetensors").unwrap(),
    )
}

fn close(got: &Array, want: &Array, tol: &Value, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let rtol = tol["rtol"].as_f64().unwrap();
    let atol = tol["atol"].as_f64().unwrap();
    let (g, w) = (got.to_vec::<f32>().unwrap(), want.to_vec::<f32>().unwrap());
    for (i, (g, w)) in g.iter().zip(&w).enumerate() {
        assert!(
            (g - w).abs() as f64 <= atol + rtol * w.abs() as f64,
            "{what}: element {i}: got {g}, want {w}"
        );
    }
}

#[test]
fn oracle_core_op_cases() {
    let (cases, t) = load();
    let mut checked = 0;
    for c in &cases {
        let op = c["op"].as_str().unwrap_or("");
        if !matches!(
            op,
            "matmul" | "addmm" | "layer_norm" | "rms_norm" | "scaled_dot_product_attention"
        ) {
            continue;
        }
        let name = c["name"].as_str().unwrap();
        let prefix = c["prefix"].as_str().unwrap();
        let kw = &c["kwargs"];
        let inputs: Vec<(String, bool)> = c["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["name"].as_str().unwrap().to_string(),
                    i["differentiable"].as_bool().unwrap(),
                )
            })
            .collect();
        let x: Vec<Array> = inputs
            .iter()
            .map(|(n, _)| t[&format!("{prefix}input.{n}")].clone())
            .collect();
        let eps = kw["eps"].as_f64().unwrap_or(1e-5);
        let (y, prim): (Array, Box<dyn Primitive>) = match op {
            "matmul" => (mx::matmul(&x[0], &x[1]).unwrap(), Box::new(Matmul)),
            "addmm" => {
                let (alpha, beta) = (kw["alpha"].as_f64().unwrap(), kw["beta"].as_f64().unwrap());
                (
                    mx::addmm(&x[0], &x[1], &x[2], alpha, beta).unwrap(),
                    Box::new(AddMM { alpha, beta }),
                )
            }
            "layer_norm" => {
                let (w, b) = (x.get(1), x.get(2));
                (
                    fast::layer_norm(&x[0], w, b, eps).unwrap(),
                    Box::new(LayerNorm {
                        eps,
                        has_weight: w.is_some(),
                        has_bias: b.is_some(),
                    }),
                )
            }
            "rms_norm" => (
                fast::rms_norm(&x[0], x.get(1), eps).unwrap(),
                Box::new(RmsNorm {
                    eps,
                    has_weight: x.len() > 1,
                }),
            ),
            _ => {
                let scale = kw["scale"].as_f64().unwrap();
                let (mask, kind) = match kw["mask"].as_str() {
                    Some("causal") => (SdpaMask::Causal, MaskKind::Causal),
                    Some(_) if x[3].dtype() == mx::Dtype::Bool => {
                        (SdpaMask::Array(&x[3]), MaskKind::Keep)
                    }
                    Some(_) => (SdpaMask::Array(&x[3]), MaskKind::Additive),
                    None => (SdpaMask::None, MaskKind::None),
                };
                (
                    fast::scaled_dot_product_attention(&x[0], &x[1], &x[2], scale, mask).unwrap(),
                    Box::new(ScaledDotProductAttention { scale, mask: kind }),
                )
            }
        };
        // the primitive's inputs (broadcast/cast primals), taken before evaluation detaches them
        let primals = y.inputs();
        let tol = &c["tolerances"];
        close(
            &y,
            &t[&format!("{prefix}out")],
            &tol["out"],
            &format!("{name} out"),
        );
        assert_eq!(primals.len(), x.len(), "{name}: primal count");
        let argnums: Vec<usize> = (0..inputs.len()).filter(|&i| inputs[i].1).collect();
        let cot = &t[&format!("{prefix}cotangent")];
        let grads = prim.vjp(&primals, cot, &y, &argnums).unwrap();
        for (g, &i) in grads.iter().zip(&argnums) {
            let g = sum_to_shape(g, x[i].shape()).unwrap();
            let want = &t[&format!("{prefix}vjp.{}", inputs[i].0)];
            close(
                &g,
                want,
                &tol["vjp"],
                &format!("{name} vjp.{}", inputs[i].0),
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 11, "oracle cases checked");
}
