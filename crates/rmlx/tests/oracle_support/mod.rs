//! Support for `oracle_models`: the spec → module builder (shared with rmlx-nn's tests), a
//! dispatcher calling a built model as its class's `call` list says, safetensors loading and
//! tolerance checks.
#![allow(dead_code)]

#[path = "../../../rmlx-nn/tests/nn/support.rs"]
pub mod nn_support;

use rmlx_core::{Array, Error, Result};
use rmlx_nn::{
    Embedding, LayerNorm, Linear, Module, MultiHeadAttention, RMSNorm, Sequential, Transformer,
    TransformerDecoder, TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer,
};
use std::collections::HashMap;
use std::path::Path;

/// All tensors of a safetensors file (f32 and i32).
pub fn load_safetensors(path: &Path) -> std::result::Result<HashMap<String, Array>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = HashMap::new();
    for (name, view) in st.tensors() {
        let shape = view.shape().to_vec();
        let data = view.data();
        let arr = match view.dtype() {
            safetensors::Dtype::F32 => {
                let v: Vec<f32> = data
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                Array::from_vec(v, &shape)
            }
            safetensors::Dtype::I32 => {
                let v: Vec<i32> = data
                    .chunks_exact(4)
                    .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                Array::from_vec(v, &shape)
            }
            d => return Err(format!("{name}: unsupported dtype {d:?}")),
        }
        .map_err(|e| e.to_string())?;
        out.insert(name.to_string(), arr);
    }
    Ok(out)
}

fn arg(args: &[Option<Array>], i: usize) -> Result<&Array> {
    args.get(i)
        .and_then(Option::as_ref)
        .ok_or_else(|| Error::Value(format!("call: argument {i} is required")))
}

fn opt(args: &[Option<Array>], i: usize) -> Option<&Array> {
    args.get(i).and_then(Option::as_ref)
}

/// Calls a built-in module by class with positional arguments (`None` = Python's `None`).
pub fn call(m: &dyn Module, args: &[Option<Array>]) -> Result<Array> {
    let a = m.as_any();
    if let Some(l) = a.downcast_ref::<MultiHeadAttention>() {
        return l.forward(arg(args, 0)?, arg(args, 1)?, arg(args, 2)?, opt(args, 3));
    }
    if let Some(l) = a.downcast_ref::<TransformerEncoderLayer>() {
        return l.forward(arg(args, 0)?, opt(args, 1));
    }
    if let Some(l) = a.downcast_ref::<TransformerEncoder>() {
        return l.forward(arg(args, 0)?, opt(args, 1));
    }
    if let Some(l) = a.downcast_ref::<TransformerDecoderLayer>() {
        return l.forward(arg(args, 0)?, arg(args, 1)?, opt(args, 2), opt(args, 3));
    }
    if let Some(l) = a.downcast_ref::<TransformerDecoder>() {
        return l.forward(arg(args, 0)?, arg(args, 1)?, opt(args, 2), opt(args, 3));
    }
    if let Some(l) = a.downcast_ref::<Transformer>() {
        return l.forward(
            arg(args, 0)?,
            arg(args, 1)?,
            opt(args, 2),
            opt(args, 3),
            opt(args, 4),
        );
    }
    // silence unused-import lints for the single-input classes handled by forward_dyn
    let _ = (
        a.is::<Linear>(),
        a.is::<Embedding>(),
        a.is::<LayerNorm>(),
        a.is::<RMSNorm>(),
        a.is::<Sequential>(),
    );
    if args.len() != 1 {
        return Err(Error::Value(format!(
            "call: {} takes one argument, got {}",
            m.class_name(),
            args.len()
        )));
    }
    rmlx_nn::forward_dyn(m, arg(args, 0)?)
}

/// `|a - e| <= atol + rtol * |e|` elementwise; `Err` describes the worst element.
pub fn check_close(
    what: &str,
    actual: &Array,
    expected: &Array,
    rtol: f64,
    atol: f64,
) -> std::result::Result<(), String> {
    if actual.shape() != expected.shape() {
        return Err(format!(
            "{what}: shape {:?} != expected {:?}",
            actual.shape(),
            expected.shape()
        ));
    }
    let a = actual
        .astype(rmlx_core::Dtype::F64)
        .and_then(|x| x.to_vec::<f64>())
        .map_err(|e| format!("{what}: {e}"))?;
    let e = expected
        .astype(rmlx_core::Dtype::F64)
        .and_then(|x| x.to_vec::<f64>())
        .map_err(|e| format!("{what}: {e}"))?;
    let mut worst: Option<(usize, f64, f64)> = None;
    let mut bad = 0usize;
    for (i, (x, y)) in a.iter().zip(&e).enumerate() {
        let ok = (x - y).abs() <= atol + rtol * y.abs();
        if !ok || x.is_nan() != y.is_nan() {
            bad += 1;
            if !matches!(worst, Some((_, wx, wy)) if (x - y).abs() <= (wx - wy).abs()) {
                worst = Some((i, *x, *y));
            }
        }
    }
    match worst {
        None => Ok(()),
        Some((i, x, y)) => Err(format!(
            "{what}: {bad} of {} elements off (rtol {rtol}, atol {atol}); worst at {i}: got {x}, expected {y}",
            a.len()
        )),
    }
}

/// Bitwise equality of two f32 arrays.
pub fn check_bits(what: &str, actual: &Array, expected: &Array) -> std::result::Result<(), String> {
    let a = actual.to_vec::<f32>().map_err(|e| format!("{what}: {e}"))?;
    let e = expected
        .to_vec::<f32>()
        .map_err(|e| format!("{what}: {e}"))?;
    if actual.shape() != expected.shape()
        || a.iter().zip(&e).any(|(x, y)| x.to_bits() != y.to_bits())
    {
        return Err(format!("{what}: frozen parameter changed"));
    }
    Ok(())
}
