//! Test support: builds modules from the oracle's JSON model specs, and a run-time `Custom`
//! module type whose members come from the spec.
#![allow(dead_code)]

use rmlx_core::tree::Tree;
use rmlx_core::{Array, Error, Result};
use rmlx_nn::{
    Activation, AvgPool1d, AvgPool2d, Container, Conv1d, Conv2d, Dropout, Embedding, LayerNorm,
    Linear, MaxPool1d, MaxPool2d, MhaDims, Module, ModuleMut, ModuleState, MultiHeadAttention,
    RMSNorm, ReLU, Sequential, Size2, Transformer, TransformerConfig, TransformerDecoder,
    TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer, UpdateValue, Visitor,
    VisitorMut, GELU, GRU, LSTM, RNN,
};
use serde_json::Value;
use std::any::Any;
use std::path::PathBuf;

/// The oracle folder: `RMLX_ORACLE_DIR`, or rmlx-core's in-repo copy.
pub fn oracle_dir() -> PathBuf {
    match std::env::var("RMLX_ORACLE_DIR") {
        Ok(d) => PathBuf::from(d),
        Err(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../rmlx-core/tests/data/oracle"),
    }
}

/// A member of a [`Custom`] module.
pub enum CMember {
    /// An array.
    Array(Array),
    /// A list.
    List(Vec<CMember>),
    /// An ordered dict.
    Dict(Vec<(String, CMember)>),
    /// A child module.
    Module(Box<dyn Module>),
}

/// A module whose members are decided at run time (the oracle's `Custom` specs). Names starting
/// with `_` are hidden members, as in MLX.
pub struct Custom {
    pub members: Vec<(String, CMember)>,
    pub state: ModuleState,
}

fn visit_c<'a>(m: &'a CMember, name: &str, hidden: bool, v: &mut dyn Visitor<'a>) {
    match m {
        CMember::Array(a) => v.array(name, a, hidden),
        CMember::Module(b) => v.module(name, b.as_ref().as_module(), hidden),
        CMember::List(l) => {
            v.enter(name, Container::List, hidden);
            for (i, x) in l.iter().enumerate() {
                visit_c(x, &i.to_string(), false, v);
            }
            v.leave(Container::List);
        }
        CMember::Dict(d) => {
            v.enter(name, Container::Dict, hidden);
            for (k, x) in d {
                visit_c(x, k, false, v);
            }
            v.leave(Container::Dict);
        }
    }
}

fn visit_c_mut<'a>(m: &'a mut CMember, name: &str, hidden: bool, v: &mut dyn VisitorMut<'a>) {
    match m {
        CMember::Array(a) => v.array(name, a, hidden),
        CMember::Module(b) => v.module(name, ModuleMut::Boxed(b), hidden),
        CMember::List(l) => {
            v.enter(name, Container::List, hidden);
            for (i, x) in l.iter_mut().enumerate() {
                visit_c_mut(x, &i.to_string(), false, v);
            }
            v.leave(Container::List);
        }
        CMember::Dict(d) => {
            v.enter(name, Container::Dict, hidden);
            for (k, x) in d.iter_mut() {
                visit_c_mut(x, k, false, v);
            }
            v.leave(Container::Dict);
        }
    }
}

impl Module for Custom {
    fn class_name(&self) -> &str {
        "Custom"
    }
    fn state(&self) -> &ModuleState {
        &self.state
    }
    fn state_mut(&mut self) -> &mut ModuleState {
        &mut self.state
    }
    fn visit<'a>(&'a self, v: &mut dyn Visitor<'a>) {
        for (k, m) in &self.members {
            visit_c(m, k, k.starts_with('_'), v);
        }
    }
    fn visit_mut<'a>(&'a mut self, v: &mut dyn VisitorMut<'a>) {
        for (k, m) in self.members.iter_mut() {
            let hidden = k.starts_with('_');
            visit_c_mut(m, k, hidden, v);
        }
    }
    fn as_module(&self) -> &dyn Module {
        self
    }
    fn as_module_mut(&mut self) -> &mut dyn Module {
        self
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
    fn replace_with(&mut self, new: Box<dyn Module>) -> std::result::Result<(), String> {
        match new.into_any().downcast::<Custom>() {
            Ok(b) => {
                *self = *b;
                Ok(())
            }
            Err(_) => Err("cannot replace a Custom module with another class".into()),
        }
    }
}

fn bad(msg: impl Into<String>) -> Error {
    Error::Value(msg.into())
}

fn arg_usize(args: &Value, k: &str) -> Result<usize> {
    args.get(k)
        .and_then(Value::as_u64)
        .map(|x| x as usize)
        .ok_or_else(|| bad(format!("spec: missing usize arg {k}")))
}
fn opt_usize(args: &Value, k: &str) -> Option<usize> {
    args.get(k).and_then(Value::as_u64).map(|x| x as usize)
}
fn arg_bool(args: &Value, k: &str, d: bool) -> bool {
    args.get(k).and_then(Value::as_bool).unwrap_or(d)
}
fn arg_f32(args: &Value, k: &str, d: f32) -> f32 {
    args.get(k)
        .and_then(Value::as_f64)
        .map(|x| x as f32)
        .unwrap_or(d)
}

/// An `int or tuple` argument (absent: `d`; `null`: `None`).
fn opt_size2(args: &Value, k: &str, d: Option<Size2>) -> Result<Option<Size2>> {
    match args.get(k) {
        None => Ok(d),
        Some(Value::Null) => Ok(None),
        Some(v) => match (v.as_u64(), shape_of(v).ok().as_deref()) {
            (Some(x), _) => Ok(Some(Size2::Both(x as usize))),
            (None, Some(&[h, w])) => Ok(Some(Size2::Pair(h, w))),
            _ => Err(bad(format!("spec: {k} must be an int or a pair"))),
        },
    }
}
fn size2(args: &Value, k: &str, d: usize) -> Result<Size2> {
    opt_size2(args, k, Some(Size2::Both(d)))?.ok_or_else(|| bad(format!("spec: {k} is null")))
}
/// A 1-D `int or (int,)` argument.
fn size1(args: &Value, k: &str, d: Option<usize>) -> Result<Option<usize>> {
    match args.get(k) {
        None => Ok(d),
        Some(Value::Null) => Ok(None),
        Some(v) => match (v.as_u64().map(|x| x as usize), shape_of(v).ok().as_deref()) {
            (Some(x), _) | (None, Some(&[x])) => Ok(Some(x)),
            _ => Err(bad(format!("spec: {k} must be an int"))),
        },
    }
}

fn config(args: &Value) -> Result<TransformerConfig> {
    Ok(TransformerConfig {
        dims: arg_usize(args, "dims")?,
        num_heads: arg_usize(args, "num_heads")?,
        mlp_dims: opt_usize(args, "mlp_dims"),
        dropout: arg_f32(args, "dropout", 0.0),
        activation: Activation::from_name(
            args.get("activation")
                .and_then(Value::as_str)
                .unwrap_or("relu"),
        )?,
        norm_first: arg_bool(args, "norm_first", true),
        checkpoint: arg_bool(args, "checkpoint", false),
    })
}

/// A filled f32 array.
pub fn filled(shape: &[usize], v: f32) -> Result<Array> {
    Array::from_vec(vec![v; shape.iter().product()], shape)
}

fn shape_of(v: &Value) -> Result<Vec<usize>> {
    v.as_array()
        .ok_or_else(|| bad("spec: shape must be a list"))?
        .iter()
        .map(|d| {
            d.as_u64()
                .map(|x| x as usize)
                .ok_or_else(|| bad("spec: bad dim"))
        })
        .collect()
}

fn build_member(v: &Value) -> Result<CMember> {
    if let Some(s) = v.get("array") {
        let shape = shape_of(s)?;
        let v: Vec<f32> = (0..shape.iter().product::<usize>())
            .map(|i| 0.1 + i as f32)
            .collect();
        return Ok(CMember::Array(Array::from_vec(v, &shape)?));
    }
    if let Some(l) = v.get("list") {
        let items = l.as_array().ok_or_else(|| bad("spec: list"))?;
        return Ok(CMember::List(
            items.iter().map(build_member).collect::<Result<_>>()?,
        ));
    }
    if let Some(d) = v.get("dict") {
        let items = d.as_array().ok_or_else(|| bad("spec: dict"))?;
        let mut out = Vec::new();
        for it in items {
            let k = it
                .get(0)
                .and_then(Value::as_str)
                .ok_or_else(|| bad("spec: dict key"))?;
            out.push((
                k.to_string(),
                build_member(it.get(1).ok_or_else(|| bad("spec: dict value"))?)?,
            ));
        }
        return Ok(CMember::Dict(out));
    }
    Ok(CMember::Module(build(v)?))
}

/// Builds a module from an oracle model spec.
pub fn build(spec: &Value) -> Result<Box<dyn Module>> {
    let class = spec
        .get("class")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("spec: no class"))?;
    let null = Value::Null;
    let args = spec.get("args").unwrap_or(&null);
    Ok(match class {
        "Linear" => Box::new(Linear::new(
            arg_usize(args, "input_dims")?,
            arg_usize(args, "output_dims")?,
            arg_bool(args, "bias", true),
        )?),
        "Embedding" => Box::new(Embedding::new(
            arg_usize(args, "num_embeddings")?,
            arg_usize(args, "dims")?,
        )?),
        "LayerNorm" => Box::new(LayerNorm::new(
            arg_usize(args, "dims")?,
            arg_f32(args, "eps", 1e-5),
            arg_bool(args, "affine", true),
            arg_bool(args, "bias", true),
        )?),
        "RMSNorm" => Box::new(RMSNorm::new(
            arg_usize(args, "dims")?,
            arg_f32(args, "eps", 1e-5),
        )?),
        "Conv1d" => Box::new(Conv1d::new(
            arg_usize(args, "in_channels")?,
            arg_usize(args, "out_channels")?,
            size1(args, "kernel_size", None)?.ok_or_else(|| bad("spec: kernel_size"))?,
            size1(args, "stride", Some(1))?.unwrap_or(1),
            size1(args, "padding", Some(0))?.unwrap_or(0),
            size1(args, "dilation", Some(1))?.unwrap_or(1),
            opt_usize(args, "groups").unwrap_or(1),
            arg_bool(args, "bias", true),
        )?),
        "Conv2d" => Box::new(Conv2d::new(
            arg_usize(args, "in_channels")?,
            arg_usize(args, "out_channels")?,
            opt_size2(args, "kernel_size", None)?.ok_or_else(|| bad("spec: kernel_size"))?,
            size2(args, "stride", 1)?,
            size2(args, "padding", 0)?,
            size2(args, "dilation", 1)?,
            opt_usize(args, "groups").unwrap_or(1),
            arg_bool(args, "bias", true),
        )?),
        "MaxPool1d" | "AvgPool1d" => {
            let k = size1(args, "kernel_size", None)?.ok_or_else(|| bad("spec: kernel_size"))?;
            let s = size1(args, "stride", None)?;
            let p = size1(args, "padding", Some(0))?.unwrap_or(0);
            if class == "MaxPool1d" {
                Box::new(MaxPool1d::new(k, s, p)?)
            } else {
                Box::new(AvgPool1d::new(k, s, p)?)
            }
        }
        "MaxPool2d" | "AvgPool2d" => {
            let k =
                opt_size2(args, "kernel_size", None)?.ok_or_else(|| bad("spec: kernel_size"))?;
            let s = opt_size2(args, "stride", None)?;
            let p = size2(args, "padding", 0)?;
            if class == "MaxPool2d" {
                Box::new(MaxPool2d::new(k, s, p)?)
            } else {
                Box::new(AvgPool2d::new(k, s, p)?)
            }
        }
        "ReLU" => Box::new(ReLU::new()),
        "GELU" => Box::new(GELU::new(
            args.get("approx").and_then(Value::as_str).unwrap_or("none"),
        )?),
        "Dropout" => Box::new(Dropout::new(arg_f32(args, "p", 0.0))?),
        "RNN" => Box::new(RNN::new(
            arg_usize(args, "input_size")?,
            arg_usize(args, "hidden_size")?,
            arg_bool(args, "bias", true),
        )?),
        "GRU" => Box::new(GRU::new(
            arg_usize(args, "input_size")?,
            arg_usize(args, "hidden_size")?,
            arg_bool(args, "bias", true),
        )?),
        "LSTM" => Box::new(LSTM::new(
            arg_usize(args, "input_size")?,
            arg_usize(args, "hidden_size")?,
            arg_bool(args, "bias", true),
        )?),
        "Bilinear" => Box::new(rmlx_nn::Bilinear::new(
            arg_usize(args, "input1_dims")?,
            arg_usize(args, "input2_dims")?,
            arg_usize(args, "output_dims")?,
            arg_bool(args, "bias", true),
        )?),
        "GroupNorm" => Box::new(rmlx_nn::GroupNorm::new(
            arg_usize(args, "num_groups")?,
            arg_usize(args, "dims")?,
            arg_f32(args, "eps", 1e-5),
            arg_bool(args, "affine", true),
            arg_bool(args, "pytorch_compatible", false),
        )?),
        "InstanceNorm" => Box::new(rmlx_nn::InstanceNorm::new(
            arg_usize(args, "dims")?,
            arg_f32(args, "eps", 1e-5),
            arg_bool(args, "affine", false),
        )?),
        "BatchNorm" => Box::new(rmlx_nn::BatchNorm::new(
            arg_usize(args, "num_features")?,
            arg_f32(args, "eps", 1e-5),
            arg_f32(args, "momentum", 0.1),
            arg_bool(args, "affine", true),
            arg_bool(args, "track_running_stats", true),
        )?),
        "Dropout2d" => Box::new(rmlx_nn::Dropout2d::new(arg_f32(args, "p", 0.5))?),
        "Dropout3d" => Box::new(rmlx_nn::Dropout3d::new(arg_f32(args, "p", 0.5))?),
        "RoPE" => Box::new(rmlx_nn::RoPE::new(
            arg_usize(args, "dims")?,
            arg_bool(args, "traditional", false),
            args.get("base").and_then(Value::as_f64).unwrap_or(10000.0),
            args.get("scale").and_then(Value::as_f64).unwrap_or(1.0),
        )),
        "ALiBi" => Box::new(rmlx_nn::ALiBi::new()),
        "SinusoidalPositionalEncoding" => Box::new(rmlx_nn::SinusoidalPositionalEncoding::new(
            arg_usize(args, "dims")?,
            args.get("min_freq").and_then(Value::as_f64).unwrap_or(1e-4),
            args.get("max_freq").and_then(Value::as_f64).unwrap_or(1.0),
            args.get("scale").and_then(Value::as_f64),
            arg_bool(args, "cos_first", false),
            arg_bool(args, "full_turns", false),
        )?),
        "Sequential" => {
            let layers = spec
                .get("layers")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("spec: layers"))?;
            Box::new(Sequential::new(
                layers.iter().map(build).collect::<Result<_>>()?,
            ))
        }
        "MultiHeadAttention" => Box::new(MultiHeadAttention::with_dims(
            arg_usize(args, "dims")?,
            arg_usize(args, "num_heads")?,
            MhaDims {
                query_input_dims: opt_usize(args, "query_input_dims"),
                key_input_dims: opt_usize(args, "key_input_dims"),
                value_input_dims: opt_usize(args, "value_input_dims"),
                value_dims: opt_usize(args, "value_dims"),
                value_output_dims: opt_usize(args, "value_output_dims"),
            },
            arg_bool(args, "bias", false),
        )?),
        "TransformerEncoderLayer" => Box::new(TransformerEncoderLayer::new(&config(args)?)?),
        "TransformerDecoderLayer" => Box::new(TransformerDecoderLayer::new(&config(args)?)?),
        "TransformerEncoder" => Box::new(TransformerEncoder::new(
            arg_usize(args, "num_layers")?,
            &config(args)?,
        )?),
        "TransformerDecoder" => Box::new(TransformerDecoder::new(
            arg_usize(args, "num_layers")?,
            &config(args)?,
        )?),
        "Transformer" => Box::new(Transformer::new(
            arg_usize(args, "num_encoder_layers")?,
            arg_usize(args, "num_decoder_layers")?,
            &config(args)?,
        )?),
        "Custom" => {
            let ms = spec
                .get("members")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("spec: members"))?;
            let mut members = Vec::new();
            for it in ms {
                let k = it
                    .get(0)
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("spec: member name"))?;
                members.push((
                    k.to_string(),
                    build_member(it.get(1).ok_or_else(|| bad("spec: member"))?)?,
                ));
            }
            Box::new(Custom {
                members,
                state: ModuleState::default(),
            })
        }
        other => return Err(bad(format!("spec: unknown class {other}"))),
    })
}

/// A leaf of an oracle update payload: an array or a plain JSON value (its Python type name).
pub enum JVal {
    Array(Array),
    Other(&'static str),
}

impl UpdateValue for JVal {
    fn as_array(&self) -> Option<&Array> {
        match self {
            JVal::Array(a) => Some(a),
            JVal::Other(_) => None,
        }
    }
    fn type_name(&self) -> String {
        match self {
            JVal::Array(_) => "array".into(),
            JVal::Other(n) => n.to_string(),
        }
    }
}

/// `{"$array": {"shape", "dtype", "fill"}}` → an array.
pub fn json_array(v: &Value) -> Result<Array> {
    let a = v
        .get("$array")
        .ok_or_else(|| bad("payload: not an array"))?;
    let shape = shape_of(a.get("shape").ok_or_else(|| bad("payload: shape"))?)?;
    let fill = a
        .get("fill")
        .and_then(Value::as_f64)
        .ok_or_else(|| bad("payload: fill"))?;
    match a.get("dtype").and_then(Value::as_str) {
        Some("float32") | None => filled(&shape, fill as f32),
        Some(d) => Err(bad(format!("payload: dtype {d}"))),
    }
}

/// A JSON payload → a tree of [`JVal`].
pub fn json_tree(v: &Value) -> Result<Tree<JVal>> {
    Ok(match v {
        Value::Object(o) if o.contains_key("$array") => Tree::Leaf(JVal::Array(json_array(v)?)),
        Value::Object(o) => Tree::Dict(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), json_tree(x)?)))
                .collect::<Result<_>>()?,
        ),
        Value::Array(l) => Tree::List(l.iter().map(json_tree).collect::<Result<_>>()?),
        Value::Number(n) if n.is_f64() => Tree::Leaf(JVal::Other("float")),
        Value::Number(_) => Tree::Leaf(JVal::Other("int")),
        Value::String(_) => Tree::Leaf(JVal::Other("str")),
        Value::Bool(_) => Tree::Leaf(JVal::Other("bool")),
        Value::Null => Tree::Leaf(JVal::Other("NoneType")),
    })
}
