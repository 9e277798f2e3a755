//! `nn.Transformer` with a custom encoder or decoder (MLX's `custom_encoder` / `custom_decoder`):
//! parameter keys in MLX's order under `encoder.` / `decoder.`, freeze/unfreeze through the
//! custom member, forward equal to the manual composition, gradients of the custom encoder's
//! parameters against f64 central differences, and the default `Transformer::new` unchanged.

use crate::fd;

use fd::{assert_close, vals, Rng};
use rmlx_core::tree::tree_flatten;
use rmlx_core::{random, Array, Dtype, Result};
use rmlx_nn::{
    value_and_grad, Decoder, Encoder, Keys, Linear, Module, ModuleExt, ModuleState,
    MultiHeadAttention, Transformer, TransformerConfig, TransformerDecoder, TransformerEncoder,
};

/// A user encoder: self-attention (which takes the mask) followed by one Linear.
#[derive(Module, Clone)]
struct AttnLinearEncoder {
    attention: MultiHeadAttention,
    proj: Linear,
    state: ModuleState,
}

impl AttnLinearEncoder {
    fn new(dims: usize, heads: usize) -> Result<Self> {
        Ok(AttnLinearEncoder {
            attention: MultiHeadAttention::new(dims, heads, false)?,
            proj: Linear::new(dims, dims, true)?,
            state: ModuleState::default(),
        })
    }
}

impl Encoder for AttnLinearEncoder {
    fn encode(&self, x: &Array, mask: Option<&Array>) -> Result<Array> {
        self.proj.forward(&self.attention.forward(x, x, x, mask)?)
    }
}

/// A user decoder: `proj(x) + mean(memory over its length)`, masks unused.
#[derive(Module, Clone)]
struct PoolDecoder {
    proj: Linear,
    state: ModuleState,
}

impl Decoder for PoolDecoder {
    fn decode(
        &self,
        x: &Array,
        memory: &Array,
        _x_mask: Option<&Array>,
        _memory_mask: Option<&Array>,
    ) -> Result<Array> {
        &self.proj.forward(x)? + &memory.mean(1, true)?
    }
}

const DIMS: usize = 8;

fn cfg() -> TransformerConfig {
    TransformerConfig {
        dims: DIMS,
        num_heads: 2,
        mlp_dims: Some(16),
        ..Default::default()
    }
}

fn custom_model() -> Transformer<AttnLinearEncoder> {
    Transformer::with_custom(
        AttnLinearEncoder::new(DIMS, 2).unwrap(),
        TransformerDecoder::new(1, &cfg()).unwrap(),
    )
}

fn keys(m: &dyn Module) -> Vec<String> {
    tree_flatten(&m.parameters())
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

fn trainable_keys(m: &dyn Module) -> Vec<String> {
    tree_flatten(&m.trainable_parameters())
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

/// MLX's parameter keys of `Transformer(.., num_encoder_layers=1, num_decoder_layers=1, ..)`
/// (oracle case `transformer_adam`, `tree_flatten(model.parameters())`).
const MLX_DEFAULT_KEYS: [&str; 34] = [
    "encoder.layers.0.attention.query_proj.weight",
    "encoder.layers.0.attention.key_proj.weight",
    "encoder.layers.0.attention.value_proj.weight",
    "encoder.layers.0.attention.out_proj.weight",
    "encoder.layers.0.ln1.weight",
    "encoder.layers.0.ln1.bias",
    "encoder.layers.0.ln2.weight",
    "encoder.layers.0.ln2.bias",
    "encoder.layers.0.linear1.weight",
    "encoder.layers.0.linear1.bias",
    "encoder.layers.0.linear2.weight",
    "encoder.layers.0.linear2.bias",
    "encoder.ln.weight",
    "encoder.ln.bias",
    "decoder.layers.0.self_attention.query_proj.weight",
    "decoder.layers.0.self_attention.key_proj.weight",
    "decoder.layers.0.self_attention.value_proj.weight",
    "decoder.layers.0.self_attention.out_proj.weight",
    "decoder.layers.0.cross_attention.query_proj.weight",
    "decoder.layers.0.cross_attention.key_proj.weight",
    "decoder.layers.0.cross_attention.value_proj.weight",
    "decoder.layers.0.cross_attention.out_proj.weight",
    "decoder.layers.0.ln1.weight",
    "decoder.layers.0.ln1.bias",
    "decoder.layers.0.ln2.weight",
    "decoder.layers.0.ln2.bias",
    "decoder.layers.0.ln3.weight",
    "decoder.layers.0.ln3.bias",
    "decoder.layers.0.linear1.weight",
    "decoder.layers.0.linear1.bias",
    "decoder.layers.0.linear2.weight",
    "decoder.layers.0.linear2.bias",
    "decoder.ln.weight",
    "decoder.ln.bias",
];

fn decoder_keys() -> Vec<String> {
    MLX_DEFAULT_KEYS[14..]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn default_transformer_is_unchanged() {
    random::seed(0);
    let t = Transformer::new(1, 1, &cfg()).unwrap();
    assert_eq!(keys(&t), MLX_DEFAULT_KEYS);
    assert_eq!(t.class_name(), "Transformer");
    // the plain name is the default-typed model, with typed access to the layers
    let t: Transformer = t;
    assert_eq!(t.encoder.layers[0].attention.num_heads, 2);
    assert_eq!(t.decoder.layers.len(), 1);
    // with_custom over MLX's own parts is the very same type and tree
    let same: Transformer = Transformer::with_custom(
        TransformerEncoder::new(1, &cfg()).unwrap(),
        TransformerDecoder::new(1, &cfg()).unwrap(),
    );
    assert_eq!(keys(&same), MLX_DEFAULT_KEYS);
    let boxed: Box<dyn Module> = Box::new(same);
    assert!(boxed.as_any().downcast_ref::<Transformer>().is_some());
}

#[test]
fn custom_encoder_keys_modules_and_repr() {
    random::seed(1);
    let t = custom_model();
    let mut expected: Vec<String> = [
        "encoder.attention.query_proj.weight",
        "encoder.attention.key_proj.weight",
        "encoder.attention.value_proj.weight",
        "encoder.attention.out_proj.weight",
        "encoder.proj.weight",
        "encoder.proj.bias",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    expected.extend(decoder_keys());
    assert_eq!(keys(&t), expected);
    assert_eq!(t.encoder.proj.weight.shape(), &[DIMS, DIMS]);
    let mods: Vec<(String, String)> = t
        .named_modules()
        .into_iter()
        .map(|(k, m)| (k, m.class_name().to_string()))
        .collect();
    assert!(mods.contains(&("encoder".to_string(), "AttnLinearEncoder".to_string())));
    assert!(mods.contains(&("encoder.proj".to_string(), "Linear".to_string())));
    assert!(mods.contains(&("decoder".to_string(), "TransformerDecoder".to_string())));
    assert!(t
        .to_string()
        .starts_with("Transformer(\n  (encoder): AttnLinearEncoder(\n"));
    let boxed: Box<dyn Module> = Box::new(t);
    assert!(boxed.as_any().downcast_ref::<Transformer>().is_none());
    assert!(boxed
        .as_any()
        .downcast_ref::<Transformer<AttnLinearEncoder>>()
        .is_some());
}

#[test]
fn freeze_and_unfreeze_reach_the_custom_encoder() {
    random::seed(2);
    let mut t = custom_model();
    t.freeze(Keys::All).unwrap().unfreeze("bias").unwrap();
    let mut expected = vec!["encoder.proj.bias".to_string()];
    expected.extend(decoder_keys().into_iter().filter(|k| k.ends_with("bias")));
    assert_eq!(trainable_keys(&t), expected);
    // freezing the custom member itself leaves exactly the decoder trainable
    t.unfreeze(Keys::All).unwrap();
    t.encoder.freeze(Keys::All).unwrap();
    assert_eq!(trainable_keys(&t), decoder_keys());
    // and path-based freezing inside it
    t.unfreeze(Keys::All).unwrap();
    t.freeze_paths(["encoder.attention", "decoder"]).unwrap();
    assert_eq!(
        trainable_keys(&t),
        ["encoder.proj.weight", "encoder.proj.bias"]
    );
}

/// `[n, n]` additive causal mask.
fn causal(n: usize) -> Array {
    MultiHeadAttention::create_additive_causal_mask(n, Dtype::F32).unwrap()
}

#[test]
fn forward_equals_the_manual_composition() {
    random::seed(3);
    let t = custom_model();
    let mut rng = Rng::new(3);
    let src = rng
        .array(&[2, 5, DIMS], -1.0, 1.0)
        .astype(Dtype::F32)
        .unwrap();
    let tgt = rng
        .array(&[2, 3, DIMS], -1.0, 1.0)
        .astype(Dtype::F32)
        .unwrap();
    let (sm, tm) = (causal(5), causal(3));
    let mm = rng.array(&[3, 5], -2.0, 0.0).astype(Dtype::F32).unwrap();
    for masks in [
        (None, None, None),
        (Some(&sm), Some(&tm), Some(&mm)),
        (Some(&sm), None, None),
    ] {
        let got = t.forward(&src, &tgt, masks.0, masks.1, masks.2).unwrap();
        // the custom encoder written out by hand, then the default decoder called directly
        let attn = t
            .encoder
            .attention
            .forward(&src, &src, &src, masks.0)
            .unwrap();
        let memory = (attn.matmul(&t.encoder.proj.weight.t().unwrap()).unwrap()
            + t.encoder.proj.bias.as_ref().unwrap())
        .unwrap();
        let want = t.decoder.forward(&tgt, &memory, masks.1, masks.2).unwrap();
        assert_eq!(got.shape(), &[2, 3, DIMS]);
        assert_close("forward", &vals(&got), &vals(&want), 1e-6);
    }
    // the source mask does reach the custom encoder
    let a = t.forward(&src, &tgt, None, None, None).unwrap();
    let b = t.forward(&src, &tgt, Some(&sm), None, None).unwrap();
    assert!(vals(&a)
        .iter()
        .zip(vals(&b))
        .any(|(x, y)| (x - y).abs() > 1e-4));
}

/// A fixed random projection of `t`'s output on f64 inputs with masks (not the mean square:
/// the final LayerNorm makes that nearly constant).
fn loss_of(t: &Transformer<AttnLinearEncoder>, src: &Array, tgt: &Array) -> Result<Array> {
    let sm = causal(5).astype(Dtype::F64)?;
    let tm = causal(3).astype(Dtype::F64)?;
    let y = t.forward(src, tgt, Some(&sm), Some(&tm), None)?;
    let r = Rng::new(40).array(&[2, 3, DIMS], -1.0, 1.0);
    (&y * &r)?.sum(None, false)
}

#[test]
fn gradients_of_the_custom_encoder_match_finite_differences() {
    random::seed(4);
    let mut t = custom_model();
    t.set_dtype(Dtype::F64).unwrap();
    let mut rng = Rng::new(4);
    let src = rng.array(&[2, 5, DIMS], -1.0, 1.0);
    let tgt = rng.array(&[2, 3, DIMS], -1.0, 1.0);
    let (outs, grads) = value_and_grad(&mut t, |m: &Transformer<AttnLinearEncoder>| {
        Ok(vec![loss_of(m, &src, &tgt)?])
    })
    .unwrap();
    let grad_keys: Vec<String> = grads.flatten().into_iter().map(|(k, _)| k).collect();
    assert_eq!(grad_keys, keys(&t));
    assert_close(
        "loss",
        &vals(&outs[0]),
        &vals(&loss_of(&t, &src, &tgt).unwrap()),
        1e-12,
    );
    let grad = |k: &str| -> Vec<f64> {
        vals(grads.flatten().into_iter().find(|(n, _)| n == k).unwrap().1)
    };
    // central differences on every element of encoder.proj.bias and a few of
    // encoder.proj.weight and encoder.attention.query_proj.weight
    let h = 1e-6;
    type Get = fn(&mut Transformer<AttnLinearEncoder>) -> &mut Array;
    let cases: [(&str, Get, Vec<usize>); 3] = [
        (
            "encoder.proj.bias",
            |m| m.encoder.proj.bias.as_mut().unwrap(),
            (0..DIMS).collect(),
        ),
        (
            "encoder.proj.weight",
            |m| &mut m.encoder.proj.weight,
            vec![0, 9, 27, 63],
        ),
        (
            "encoder.attention.query_proj.weight",
            |m| &mut m.encoder.attention.query_proj.weight,
            vec![1, 30, 50],
        ),
    ];
    for (name, get, idx) in cases {
        let g = grad(name);
        assert!(
            g.iter().any(|x| x.abs() > 1e-4),
            "{name}: gradient all but zero"
        );
        let base = get(&mut t).clone();
        let (shape, v0) = (base.shape().to_vec(), vals(&base));
        for j in idx {
            let mut at = |d: f64| -> f64 {
                let mut v = v0.clone();
                v[j] += d;
                *get(&mut t) = Array::from_vec(v, &shape).unwrap();
                loss_of(&t, &src, &tgt).unwrap().item::<f64>().unwrap()
            };
            let num = (at(h) - at(-h)) / (2.0 * h);
            assert_close(&format!("{name}[{j}]"), &[g[j]], &[num], 1e-6);
        }
        *get(&mut t) = base;
    }
    // bias-only training: exactly the biases get gradients, the custom one included
    t.freeze(Keys::All).unwrap().unfreeze("bias").unwrap();
    let (_, grads) = value_and_grad(&mut t, |m: &Transformer<AttnLinearEncoder>| {
        Ok(vec![loss_of(m, &src, &tgt)?])
    })
    .unwrap();
    let flat = grads.flatten();
    assert_eq!(flat[0].0, "encoder.proj.bias");
    assert_close(
        "bias-only grad",
        &vals(flat[0].1),
        &grad("encoder.proj.bias"),
        1e-12,
    );
}

#[test]
fn custom_decoder_through_with_decoder() {
    random::seed(5);
    let base = Transformer::new(1, 1, &cfg()).unwrap();
    let t = base.with_decoder(PoolDecoder {
        proj: Linear::new(DIMS, DIMS, false).unwrap(),
        state: ModuleState::default(),
    });
    let mut expected: Vec<String> = MLX_DEFAULT_KEYS[..14]
        .iter()
        .map(|s| s.to_string())
        .collect();
    expected.push("decoder.proj.weight".into());
    assert_eq!(keys(&t), expected);
    let mut rng = Rng::new(5);
    let src = rng
        .array(&[1, 4, DIMS], -1.0, 1.0)
        .astype(Dtype::F32)
        .unwrap();
    let tgt = rng
        .array(&[1, 2, DIMS], -1.0, 1.0)
        .astype(Dtype::F32)
        .unwrap();
    let got = t.forward(&src, &tgt, Some(&causal(4)), None, None).unwrap();
    let memory = t.encoder.forward(&src, Some(&causal(4))).unwrap();
    let want = (tgt.matmul(&t.decoder.proj.weight.t().unwrap()).unwrap()
        + memory.mean(1, true).unwrap())
    .unwrap();
    assert_close("forward", &vals(&got), &vals(&want), 1e-6);
    // both sides custom, and swapping the encoder back keeps the decoder
    let t = t.with_encoder(AttnLinearEncoder::new(DIMS, 4).unwrap());
    assert_eq!(
        keys(&t).first().map(String::as_str),
        Some("encoder.attention.query_proj.weight")
    );
    assert_eq!(
        keys(&t).last().map(String::as_str),
        Some("decoder.proj.weight")
    );
    assert_eq!(
        t.forward(&src, &tgt, None, None, None).unwrap().shape(),
        &[1, 2, DIMS]
    );
}
