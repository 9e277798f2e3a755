//! A downstream-style user of `#[derive(Module)]`: nested `Vec`s of submodules, an `Option`
//! bias, a skipped field, a hidden member; freeze by key and by path; one training step.

use rmlx_core::tree::{tree_flatten, Tree};
use rmlx_core::{random, Array, Result};
use rmlx_nn::{value_and_grad, Keys, Linear, Module, ModuleExt, ModuleState};

#[derive(Module)]
struct Block {
    layers: Vec<Linear>,
    scale: Array,
    state: ModuleState,
}

#[derive(Module)]
struct Net {
    blocks: Vec<Block>,
    head: Linear,
    shift: Option<Array>,
    #[module(skip)]
    name: String,
    #[module(hidden)]
    cache: Array,
    state: ModuleState,
}

impl Net {
    fn new() -> Result<Net> {
        let block = |d: usize| -> Result<Block> {
            Ok(Block {
                layers: vec![Linear::new(d, d, true)?, Linear::new(d, d, false)?],
                scale: Array::from_vec(vec![1.0f32; d], &[d])?,
                state: ModuleState::default(),
            })
        };
        Ok(Net {
            blocks: vec![block(4)?, block(4)?],
            head: Linear::new(4, 1, true)?,
            shift: Some(Array::from_slice(&[0.0f32], &[1])?),
            name: "net".into(),
            cache: Array::from_slice(&[0.0f32; 3], &[3])?,
            state: ModuleState::default(),
        })
    }

    fn forward(&self, x: &Array) -> Result<Array> {
        let mut h = x.clone();
        for b in &self.blocks {
            for l in &b.layers {
                h = l.forward(&h)?;
            }
            h = (&h * &b.scale)?;
        }
        let y = self.head.forward(&h)?;
        match &self.shift {
            Some(s) => &y + s,
            None => Ok(y),
        }
    }
}

fn keys(t: &Tree<Array>) -> Vec<String> {
    tree_flatten(t).into_iter().map(|(k, _)| k).collect()
}

#[test]
fn names_order_and_members() {
    random::seed(0);
    let net = Net::new().unwrap();
    assert_eq!(net.name, "net");
    assert_eq!(
        keys(&net.parameters()),
        [
            "blocks.0.layers.0.weight",
            "blocks.0.layers.0.bias",
            "blocks.0.layers.1.weight",
            "blocks.0.scale",
            "blocks.1.layers.0.weight",
            "blocks.1.layers.0.bias",
            "blocks.1.layers.1.weight",
            "blocks.1.scale",
            "head.weight",
            "head.bias",
            "shift",
        ]
    );
    assert_eq!(net.class_name(), "Net");
    assert_eq!(net.named_modules().len(), 1 + 2 + 4 + 1);
    // the hidden member is a member (strict freeze accepts it) but not a parameter
    let mut net = net;
    net.freeze(Keys::from("cache").strict().shallow()).unwrap();
    assert!(net
        .to_string()
        .starts_with("Net(\n  (blocks.0): Block(\n    (layers.0): Linear("));
}

#[test]
fn freeze_by_key_and_path_then_train_one_step() {
    random::seed(1);
    let mut net = Net::new().unwrap();
    net.freeze(Keys::All).unwrap().unfreeze("bias").unwrap();
    assert_eq!(
        keys(&net.trainable_parameters()),
        [
            "blocks.0.layers.0.bias",
            "blocks.1.layers.0.bias",
            "head.bias"
        ]
    );
    net.unfreeze(Keys::All).unwrap();
    net.freeze_paths(["blocks.*.layers.1", "shift"]).unwrap();
    let trainable = keys(&net.trainable_parameters());
    assert_eq!(trainable.len(), 8);
    assert!(!trainable
        .iter()
        .any(|k| k.contains("layers.1") || k == "shift"));
    assert!(net.freeze_paths(["blocks.7"]).is_err());

    let x = Array::from_vec((0..8).map(|i| i as f32 / 8.0 - 0.5).collect(), &[2, 4]).unwrap();
    let target = Array::from_slice(&[1.0f32, -1.0], &[2, 1]).unwrap();
    let loss_of = |m: &Net| -> Result<Vec<Array>> {
        let d = (m.forward(&x)? - &target)?;
        Ok(vec![(&d * &d)?.sum(None, false)?])
    };
    let frozen_before = net.blocks[0].layers[1].weight.to_vec::<f32>().unwrap();
    let (outs, grads) = value_and_grad(&mut net, loss_of).unwrap();
    let loss0: f32 = outs[0].item().unwrap();
    assert_eq!(keys(&grads), trainable);
    // SGD step on exactly the trainable parameters
    let params = net.trainable_parameters();
    let mut new = Vec::new();
    for ((k, p), (_, g)) in tree_flatten(&params).into_iter().zip(tree_flatten(&grads)) {
        assert_eq!(p.shape(), g.shape(), "{k}");
        new.push((k, (p - &(g * 0.05).unwrap()).unwrap()));
    }
    net.update(&rmlx_core::tree::tree_unflatten(new).unwrap(), true)
        .unwrap();
    let (outs, _) = value_and_grad(&mut net, loss_of).unwrap();
    let loss1: f32 = outs[0].item().unwrap();
    assert!(loss1 < loss0, "{loss1} !< {loss0}");
    assert_eq!(
        net.blocks[0].layers[1].weight.to_vec::<f32>().unwrap(),
        frozen_before
    );
}

/// Map members (`IndexMap` keeps insertion order, `HashMap` is walked in sorted key order, MLX's
/// dict order being unavailable there) and a `Box<dyn Module>` field whose class can be swapped.
#[derive(Module)]
struct Heads {
    by_task: indexmap::IndexMap<String, Linear>,
    scales: std::collections::HashMap<String, Array>,
    trunk: Box<dyn Module>,
    state: ModuleState,
}

#[test]
fn map_and_boxed_members_are_traversed() {
    random::seed(3);
    let mut by_task = indexmap::IndexMap::new();
    by_task.insert("zeta".to_string(), Linear::new(2, 1, true).unwrap());
    by_task.insert("alpha".to_string(), Linear::new(2, 1, false).unwrap());
    let mut scales = std::collections::HashMap::new();
    scales.insert("b".to_string(), Array::from_slice(&[2.0f32], &[1]).unwrap());
    scales.insert("a".to_string(), Array::from_slice(&[1.0f32], &[1]).unwrap());
    let mut h = Heads {
        by_task,
        scales,
        trunk: Box::new(Linear::new(2, 2, true).unwrap()),
        state: ModuleState::default(),
    };
    assert_eq!(
        keys(&h.parameters()),
        [
            "by_task.zeta.weight",
            "by_task.zeta.bias",
            "by_task.alpha.weight",
            "scales.a",
            "scales.b",
            "trunk.weight",
            "trunk.bias"
        ]
    );
    h.freeze(Keys::All).unwrap();
    h.unfreeze("bias").unwrap();
    assert_eq!(
        keys(&h.trainable_parameters()),
        ["by_task.zeta.bias", "trunk.bias"]
    );
    // swap the boxed trunk for another class through update_modules
    let new: Tree<Box<dyn Module>> = Tree::Dict(
        [(
            "trunk".to_string(),
            Tree::Leaf(Box::new(rmlx_nn::Identity::new()) as Box<dyn Module>),
        )]
        .into_iter()
        .collect(),
    );
    h.update_modules(new, true).unwrap();
    assert_eq!(h.trunk.class_name(), "Identity");
    assert!(!keys(&h.parameters()).iter().any(|k| k.starts_with("trunk")));
}

/// A generic module: the derive carries the generics and adds `M: 'static` and `M: Member` /
/// `Vec<M>: Member` bounds itself, so `Stack<Linear>` and `Stack<Stack<Linear>>` are modules with
/// no bound written here; `B` (a defaulted parameter with an explicit bound) and the skipped
/// `PhantomData<T>` field (no `Member` bound needed for `T`) work too.
#[derive(Module)]
struct Stack<M, T, B: Module + rmlx_nn::Member = Linear> {
    first: M,
    rest: Vec<M>,
    head: B,
    #[module(skip)]
    marker: std::marker::PhantomData<T>,
    state: ModuleState,
}

impl<M, T> Stack<M, T> {
    fn new(first: M, rest: Vec<M>) -> Result<Self> {
        Ok(Stack {
            first,
            rest,
            head: Linear::new(2, 1, true)?,
            marker: std::marker::PhantomData,
            state: ModuleState::default(),
        })
    }
}

#[test]
fn generic_struct_derives_module() {
    random::seed(4);
    let inner = |n: usize| -> Stack<Linear, String> {
        let rest = (0..n).map(|_| Linear::new(2, 2, false).unwrap()).collect();
        Stack::new(Linear::new(2, 2, true).unwrap(), rest).unwrap()
    };
    let s = inner(1);
    assert_eq!(
        keys(&s.parameters()),
        [
            "first.weight",
            "first.bias",
            "rest.0.weight",
            "head.weight",
            "head.bias"
        ]
    );
    assert_eq!(s.class_name(), "Stack");
    // nested generics, freeze/unfreeze and value_and_grad through them
    let mut outer: Stack<Stack<Linear, String>, u8> = Stack::new(inner(0), vec![inner(2)]).unwrap();
    outer.freeze(Keys::All).unwrap().unfreeze("bias").unwrap();
    assert_eq!(
        keys(&outer.trainable_parameters()),
        [
            "first.first.bias",
            "first.head.bias",
            "rest.0.first.bias",
            "rest.0.head.bias",
            "head.bias"
        ]
    );
    let x = Array::from_slice(&[1.0f32, 2.0], &[1, 2]).unwrap();
    let (outs, grads) = value_and_grad(&mut outer, |m: &Stack<Stack<Linear, String>, u8>| {
        Ok(vec![m
            .head
            .forward(&m.first.first.forward(&x)?)?
            .sum(None, false)?])
    })
    .unwrap();
    assert_eq!(outs.len(), 1);
    let g: Vec<(String, Vec<f32>)> = tree_flatten(&grads)
        .into_iter()
        .map(|(k, a)| (k, a.to_vec::<f32>().unwrap()))
        .collect();
    // d/d head.bias = 1; d/d first.first.bias = head.weight; unused biases get zeros
    let hw = outer.head.weight.to_vec::<f32>().unwrap();
    assert_eq!(g[4], ("head.bias".to_string(), vec![1.0]));
    assert_eq!(g[0], ("first.first.bias".to_string(), hw));
    assert_eq!(g[3].1, vec![0.0]);
    assert!(outer.to_string().starts_with("Stack(\n  (first): Stack("));
    // a boxed generic module keeps its concrete type for downcasts
    let b: Box<dyn Module> = Box::new(inner(0));
    assert!(b.as_any().downcast_ref::<Stack<Linear, String>>().is_some());
}
