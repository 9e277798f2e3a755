//! `rmlx_nn::checkpoint` and the Transformer `checkpoint` option: outputs and gradients equal
//! (within 1e-6) with and without checkpointing, for the full and the bias-only trainable set.

use crate::fd;

use fd::{assert_close, vals, Rng};
use rmlx_core::tree::Tree;
use rmlx_core::{random, Array, Dtype, Result};
use rmlx_nn::{
    checkpoint, value_and_grad, Keys, Linear, Module, ModuleExt, MultiHeadAttention, Transformer,
    TransformerConfig, TransformerDecoder, TransformerEncoder,
};

fn cfg(checkpoint: bool) -> TransformerConfig {
    TransformerConfig {
        dims: 8,
        num_heads: 2,
        mlp_dims: Some(16),
        checkpoint,
        ..Default::default()
    }
}

fn f32_array(rng: &mut Rng, shape: &[usize]) -> Array {
    rng.array(shape, -1.0, 1.0).astype(Dtype::F32).unwrap()
}

/// Asserts two (outputs, gradients) results agree within 1e-6, with the same gradient keys.
fn assert_same(what: &str, a: &(Vec<Array>, Tree<Array>), b: &(Vec<Array>, Tree<Array>)) {
    assert_eq!(a.0.len(), b.0.len());
    for (x, y) in a.0.iter().zip(&b.0) {
        assert_close(&format!("{what}: value"), &vals(x), &vals(y), 1e-6);
    }
    let (ga, gb) = (a.1.flatten(), b.1.flatten());
    let ka: Vec<&String> = ga.iter().map(|(k, _)| k).collect();
    let kb: Vec<&String> = gb.iter().map(|(k, _)| k).collect();
    assert_eq!(ka, kb, "{what}: gradient keys");
    assert!(!ga.is_empty());
    for ((k, x), (_, y)) in ga.iter().zip(&gb) {
        assert_close(&format!("{what}: grad {k}"), &vals(x), &vals(y), 1e-6);
    }
}

/// Runs `loss` under `nn::value_and_grad` on `plain` and on `ckpt`, for all parameters and for
/// the biases only, and compares.
fn compare<M: Module + Clone>(
    what: &str,
    plain: &M,
    ckpt: &M,
    loss: impl Fn(&M) -> Result<Vec<Array>> + Copy,
) {
    for bias_only in [false, true] {
        let (mut p, mut c) = (plain.clone(), ckpt.clone());
        if bias_only {
            p.freeze(Keys::All).unwrap().unfreeze("bias").unwrap();
            c.freeze(Keys::All).unwrap().unfreeze("bias").unwrap();
        }
        let a = value_and_grad(&mut p, loss).unwrap();
        let b = value_and_grad(&mut c, loss).unwrap();
        if bias_only {
            assert!(a.1.flatten().iter().all(|(k, _)| k.ends_with("bias")));
        }
        assert_same(&format!("{what} (bias_only={bias_only})"), &a, &b);
    }
}

#[test]
fn config_sets_the_attribute() {
    assert!(!TransformerConfig::default().checkpoint);
    let t = Transformer::new(1, 1, &cfg(true)).unwrap();
    assert!(t.encoder.checkpoint && t.decoder.checkpoint);
    let t = Transformer::new(1, 1, &cfg(false)).unwrap();
    assert!(!t.encoder.checkpoint && !t.decoder.checkpoint);
    // a plain attribute: no parameter, same names either way
    let names = |t: &Transformer| -> Vec<String> {
        t.parameters()
            .flatten()
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    };
    let mut u = t.clone();
    u.encoder.checkpoint = true;
    assert_eq!(names(&t), names(&u));
}

#[test]
fn encoder_checkpoint_same_values_and_gradients() {
    random::seed(11);
    let mut rng = Rng::new(11);
    let plain = TransformerEncoder::new(2, &cfg(false)).unwrap();
    let mut ckpt = plain.clone();
    ckpt.checkpoint = true;
    let x = f32_array(&mut rng, &[2, 3, 8]);
    let w = f32_array(&mut rng, &[2, 3, 8]);
    let mask = MultiHeadAttention::create_additive_causal_mask(3, Dtype::F32).unwrap();
    compare("encoder", &plain, &ckpt, |m: &TransformerEncoder| {
        Ok(vec![(&m.forward(&x, Some(&mask))? * &w)?.sum(None, false)?])
    });
    compare(
        "encoder, no mask",
        &plain,
        &ckpt,
        |m: &TransformerEncoder| Ok(vec![(&m.forward(&x, None)? * &w)?.sum(None, false)?]),
    );
}

#[test]
fn decoder_checkpoint_same_values_and_gradients() {
    random::seed(12);
    let mut rng = Rng::new(12);
    let plain = TransformerDecoder::new(2, &cfg(false)).unwrap();
    let mut ckpt = plain.clone();
    ckpt.checkpoint = true;
    let x = f32_array(&mut rng, &[2, 3, 8]);
    let memory = f32_array(&mut rng, &[2, 4, 8]);
    let w = f32_array(&mut rng, &[2, 3, 8]);
    let mask = MultiHeadAttention::create_additive_causal_mask(3, Dtype::F32).unwrap();
    let mmask = f32_array(&mut rng, &[3, 4]);
    compare("decoder", &plain, &ckpt, |m: &TransformerDecoder| {
        let y = m.forward(&x, &memory, Some(&mask), Some(&mmask))?;
        Ok(vec![(&y * &w)?.sum(None, false)?])
    });
    compare(
        "decoder, memory mask only",
        &plain,
        &ckpt,
        |m: &TransformerDecoder| {
            let y = m.forward(&x, &memory, None, Some(&mmask))?;
            Ok(vec![(&y * &w)?.sum(None, false)?])
        },
    );
}

#[test]
fn transformer_checkpoint_same_values_and_gradients() {
    // the encoder's gradients reach it through the decoder's checkpointed `memory` input
    random::seed(13);
    let mut rng = Rng::new(13);
    let plain = Transformer::new(1, 2, &cfg(false)).unwrap();
    random::seed(13);
    let ckpt = Transformer::new(1, 2, &cfg(true)).unwrap();
    let src = f32_array(&mut rng, &[1, 4, 8]);
    let tgt = f32_array(&mut rng, &[1, 3, 8]);
    let w = f32_array(&mut rng, &[1, 3, 8]);
    let mask = MultiHeadAttention::create_additive_causal_mask(3, Dtype::F32).unwrap();
    compare("transformer", &plain, &ckpt, |m: &Transformer| {
        let y = m.forward(&src, &tgt, None, Some(&mask), None)?;
        Ok(vec![(&y * &w)?.sum(None, false)?])
    });
}

#[test]
fn input_gradients_flow_through_checkpointed_layers() {
    random::seed(14);
    let mut rng = Rng::new(14);
    let plain = TransformerEncoder::new(2, &cfg(false)).unwrap();
    let mut ckpt = plain.clone();
    ckpt.checkpoint = true;
    let x = f32_array(&mut rng, &[1, 3, 8]);
    let w = f32_array(&mut rng, &[1, 3, 8]);
    let gx = |m: TransformerEncoder| {
        let w = w.clone();
        rmlx_core::grad(
            move |p: &[Array]| Ok(vec![(&m.forward(&p[0], None)? * &w)?.sum(None, false)?]),
            &[0],
        )(std::slice::from_ref(&x))
        .unwrap()
    };
    let (a, b) = (gx(plain), gx(ckpt));
    assert_close("dx", &vals(&a[0]), &vals(&b[0]), 1e-6);
    assert!(vals(&a[0]).iter().any(|v| v.abs() > 1e-3));
}

#[test]
fn checkpoint_helper_is_one_recomputed_node() {
    let mut l = Linear::new(3, 2, true).unwrap();
    let x = Array::from_slice(&[1.0f32, -2.0, 0.5], &[1, 3]).unwrap();
    let f = checkpoint(&l, |m: &Linear, xs: &[Array]| Ok(vec![m.forward(&xs[0])?]));
    let y = f(std::slice::from_ref(&x)).unwrap();
    assert_eq!(y.len(), 1);
    assert_eq!(y[0].primitive_name(), Some("Checkpoint"));
    assert_eq!(vals(&y[0]), vals(&l.forward(&x).unwrap()));
    // frozen weight: only the bias is an input of the node, and only it gets a gradient
    l.freeze("weight").unwrap();
    let (_, g) = value_and_grad(&mut l, |m: &Linear| {
        let f = checkpoint(m, |m: &Linear, xs: &[Array]| Ok(vec![m.forward(&xs[0])?]));
        Ok(vec![f(std::slice::from_ref(&x))?[0].sum(None, false)?])
    })
    .unwrap();
    let keys: Vec<String> = g.flatten().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["bias"]);
    assert_eq!(
        vals(g.get("bias").and_then(|t| t.as_leaf()).unwrap()),
        [1.0, 1.0]
    );
    // a function returning two arrays is an error
    let two = checkpoint(&l, |m: &Linear, _: &[Array]| {
        Ok(vec![m.weight.clone(), m.weight.clone()])
    });
    assert!(two(&[]).is_err());
}
