//! `Optimizer::update(model, grads)` on real modules: exactly the parameters in the gradient tree
//! change, frozen ones keep their arrays and get no state (issue 6, item 6: a Transformer frozen
//! except its biases holds only bias-sized state), unfrozen ones extend the state.

use rmlx_core::tree::{tree_flatten, tree_map, tree_unflatten, Tree};
use rmlx_core::Array;
use rmlx_nn::{Keys, Linear, ModuleExt, Transformer, TransformerConfig};
use rmlx_optimizers::{Adam, Optimizer, SGD};

fn flat(t: &Tree<Array>) -> Vec<(String, Array)> {
    tree_flatten(t)
        .into_iter()
        .map(|(k, v)| (k, v.clone()))
        .collect()
}

/// A gradient tree shaped like the model's trainable parameters (values: 0.1 + param).
fn fake_grads(model: &dyn rmlx_nn::Module) -> Tree<Array> {
    tree_map(&model.trainable_parameters(), |p| (p + 0.1).unwrap())
}

#[test]
fn transformer_bias_only_state_is_bias_sized() {
    let cfg = TransformerConfig {
        dims: 16,
        num_heads: 4,
        ..Default::default()
    };
    let mut model = Transformer::new(1, 1, &cfg).unwrap();
    model.freeze(Keys::All).unwrap();
    model.unfreeze("bias").unwrap();
    let trainable = flat(&model.trainable_parameters());
    assert!(!trainable.is_empty());
    assert!(trainable.iter().all(|(k, _)| k.ends_with("bias")));
    let before = flat(&model.parameters());

    let mut opt = Adam::new(0.01);
    for _ in 0..2 {
        let g = fake_grads(&model);
        opt.update(&mut model, &g).unwrap();
    }
    let bias_bytes: usize = trainable.iter().map(|(_, a)| a.nbytes()).sum();
    // m and v per bias, plus step (u64) and learning_rate (f32).
    assert_eq!(opt.state_nbytes(), 2 * bias_bytes + 8 + 4);
    for (k, _) in opt.state().iter().skip(2) {
        assert!(k.ends_with("bias.m") || k.ends_with("bias.v"), "{k}");
    }
    // Frozen parameters keep their very arrays; biases moved.
    let after = flat(&model.parameters());
    for ((k, p0), (_, p1)) in before.iter().zip(&after) {
        if k.ends_with("bias") {
            assert_ne!(p0.id(), p1.id(), "{k}");
        } else {
            assert_eq!(p0.id(), p1.id(), "{k} is frozen");
        }
    }
}

#[test]
fn update_matches_apply_gradients_and_extends_on_unfreeze() {
    let mut model = Linear::new(4, 3, true).unwrap();
    model.freeze("weight").unwrap();
    let mut opt = SGD::new(0.1);
    let g = fake_grads(&model);
    let p0 = flat(&model.parameters());
    let want = opt.clone().apply_gradients(&flat(&g), &p0).unwrap();
    opt.update(&mut model, &g).unwrap();
    let p1 = flat(&model.parameters());
    assert_eq!(p1[0].1.id(), p0[0].1.id(), "weight frozen");
    assert_eq!(
        p1[1].1.to_vec::<f32>().unwrap(),
        want[0].1.to_vec::<f32>().unwrap()
    );
    // Unfreeze: MLX raises KeyError('weight') here (item 82); rmlx extends the state.
    model.unfreeze(Keys::All).unwrap();
    let g = fake_grads(&model);
    opt.update(&mut model, &g).unwrap();
    let keys: Vec<String> = opt.state().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["step", "learning_rate", "bias.v", "weight.v"]);
    assert_eq!(opt.step(), 2);
}

#[test]
fn gradient_for_missing_parameter_is_an_error() {
    // MLX_SEMANTICS 83.
    let mut model = Linear::new(2, 2, false).unwrap();
    let before = flat(&model.parameters());
    let g = tree_unflatten(vec![(
        "foo".to_string(),
        Array::from_slice(&[1.0f32], &[1]).unwrap(),
    )])
    .unwrap();
    let mut opt = Adam::new(0.1);
    let e = opt.update(&mut model, &g).err().unwrap();
    assert!(matches!(e, rmlx_core::Error::Key(_)), "{e}");
    assert!(e.to_string().contains("foo"));
    assert_eq!(opt.step(), 0);
    let after = flat(&model.parameters());
    assert_eq!(before[0].1.id(), after[0].1.id());
}

#[test]
fn empty_update_advances_schedule_only() {
    // MLX's `optimizer.update({}, {})` idiom for stepping a schedule.
    let mut model = Linear::new(2, 2, true).unwrap();
    let mut opt = SGD::new(rmlx_optimizers::exponential_decay(1.0, 0.5));
    for _ in 0..3 {
        opt.update(&mut model, &Tree::default()).unwrap();
    }
    assert_eq!(opt.step(), 3);
    assert_eq!(opt.learning_rate(), 0.25);
}

#[test]
fn apply_gradients_tree_keeps_the_gradient_shape() {
    // MLX_SEMANTICS 80: the result is shaped like the grads, `{}` placeholders included.
    let params = tree_unflatten(vec![
        (
            "layers.0.weight".to_string(),
            Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap(),
        ),
        (
            "layers.2.weight".to_string(),
            Array::from_slice(&[3.0f32], &[1]).unwrap(),
        ),
    ])
    .unwrap();
    let grads = tree_unflatten(vec![(
        "layers.2.weight".to_string(),
        Array::from_slice(&[1.0f32], &[1]).unwrap(),
    )])
    .unwrap();
    let mut opt = SGD::new(0.5);
    let out = opt.apply_gradients_tree(&grads, &params).unwrap();
    let Tree::Dict(d) = &out else {
        panic!("a dict")
    };
    let Tree::List(l) = &d["layers"] else {
        panic!("a list")
    };
    assert_eq!(l.len(), 3);
    assert!(l[0].is_empty() && l[1].is_empty());
    let w = out.get("layers.2.weight").unwrap().as_leaf().unwrap();
    assert_eq!(w.to_vec::<f32>().unwrap(), vec![2.5]);
    // Clipping a tree keeps its placeholders too.
    let (c, n) = rmlx_optimizers::clip::clip_grad_norm_tree(&out, 1.0).unwrap();
    assert_eq!(n.item::<f32>().unwrap(), 2.5);
    assert!(c.get("layers.0").unwrap().is_empty());
}
