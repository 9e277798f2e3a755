//! Quantized layers: a model quantized and saved by MLX 0.32.4 (`quantized_model.safetensors`,
//! from `tools/oracle/gen_quantized.py`) loads by MLX's names into the same model quantized by
//! `nn::quantize` and gives MLX's outputs; quantized parameters stay frozen; typed fields are a
//! clear error.

use crate::support::oracle_dir;
use rmlx_core::{self as mx, Array, Dtype};
use rmlx_nn::{
    quantize, Embedding, Keys, Linear, Module, ModuleExt, ModuleState, QuantizedLinear, ReLU,
    Sequential,
};

fn close(got: &Array, want: &Array, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let (g, w) = (got.to_vec::<f32>().unwrap(), want.to_vec::<f32>().unwrap());
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
            "{what}: element {i}: rmlx {a}, MLX {b}"
        );
    }
}

#[test]
fn a_model_quantized_by_mlx_loads_and_runs_the_same() {
    let mut model = Sequential::new(vec![
        Box::new(Embedding::new(16, 64).unwrap()),
        Box::new(Linear::new(64, 64, true).unwrap()),
        Box::new(ReLU::new()),
        Box::new(Linear::new(64, 16, true).unwrap()),
    ]);
    let done = quantize(&mut model, 32, 4, None).unwrap();
    assert_eq!(done, ["layers.0", "layers.1", "layers.3"]);
    let dir = oracle_dir();
    model
        .load_weights(dir.join("quantized_model.safetensors"), true)
        .unwrap();
    let (t, _) = mx::io::load_safetensors(dir.join("quantized.safetensors")).unwrap();
    let logits = model.forward(&t["model.ids"]).unwrap();
    close(&logits, &t["model.logits"], "logits");
    let emb = model.module_at("layers.0").unwrap();
    let emb = emb
        .as_any()
        .downcast_ref::<rmlx_nn::QuantizedEmbedding>()
        .unwrap();
    close(
        &emb.as_linear(&t["model.as_linear_x"]).unwrap(),
        &t["model.as_linear"],
        "as_linear",
    );
    // what MLX saved is what rmlx would save: same names, dtypes and shapes
    let names: Vec<String> = model
        .parameters()
        .flatten()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        names,
        [
            "layers.0.weight",
            "layers.0.scales",
            "layers.0.biases",
            "layers.1.weight",
            "layers.1.scales",
            "layers.1.biases",
            "layers.1.bias",
            "layers.3.weight",
            "layers.3.scales",
            "layers.3.biases",
            "layers.3.bias"
        ]
    );
    // quantized parameters stay frozen through unfreeze, as in MLX
    model.unfreeze(Keys::All).unwrap();
    assert!(model.trainable_parameters().flatten().is_empty());
    println!("quantized model oracle: 1/1 cases passed");
}

#[derive(Module)]
struct Typed {
    proj: Linear,
    state: ModuleState,
}

#[test]
fn quantize_explains_typed_fields_and_respects_the_predicate() {
    let mut m = Typed {
        proj: Linear::new(64, 8, false).unwrap(),
        state: ModuleState::default(),
    };
    let before = m.proj.weight.clone();
    let e = quantize(&mut m, 32, 4, None).unwrap_err();
    assert!(e.to_string().contains("proj"), "{e}");
    assert!(e.to_string().contains("Box<dyn Module>"), "{e}");
    assert_eq!(m.proj.weight.id(), before.id()); // nothing changed
    let skip = |path: &str, _: &dyn Module| path != "proj";
    assert!(quantize(&mut m, 32, 4, Some(&skip)).unwrap().is_empty());
    // a width that is not a multiple of the group size is left alone by the default predicate
    let mut s = Sequential::new(vec![Box::new(Linear::new(48, 8, true).unwrap())]);
    assert!(quantize(&mut s, 32, 4, None).unwrap().is_empty());
    // a quantized layer is a frozen base: gradients reach the input, none its parameters
    let q = QuantizedLinear::new(64, 8, true, 64, 8).unwrap();
    assert!(q.trainable_parameters().flatten().is_empty());
    let x = mx::random::normal(&[2, 64], None).unwrap();
    let gx = mx::grad(
        |p: &[Array]| Ok(vec![q.forward(&p[0])?.sum(None, false)?]),
        &[0],
    )(&[x])
    .unwrap();
    let w = q.dequantized().unwrap().weight;
    let want = mx::ones(&[2, 8], Dtype::F32).unwrap().matmul(&w).unwrap();
    close(&gx[0], &want, "input gradient");
}

#[test]
fn qlora_trains_only_the_adapters_and_merges() {
    use rmlx_nn::{value_and_grad, LoRALinear};
    mx::random::seed(7);
    let base = QuantizedLinear::new(64, 8, true, 32, 4).unwrap();
    let mut lora = LoRALinear::from_quantized(base.clone(), 4, 2.0, 0.0).unwrap();
    let x = mx::random::normal(&[16, 64], None).unwrap();
    let y = mx::random::normal(&[16, 8], None).unwrap();
    let loss = |m: &LoRALinear<QuantizedLinear>| -> mx::Result<Vec<Array>> {
        let d = (&m.forward(&x)? - &y)?;
        Ok(vec![(&d * &d)?.mean(None, false)?])
    };
    let (l0, g) = value_and_grad(&mut lora, loss).unwrap();
    let names: Vec<String> = g.flatten().into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["lora_a", "lora_b"]);
    // a few SGD steps on the adapters lower the loss over the frozen 4-bit base
    for _ in 0..20 {
        let (_, g) = value_and_grad(&mut lora, loss).unwrap();
        let ga = g.get("lora_a").and_then(|t| t.as_leaf()).unwrap();
        let gb = g.get("lora_b").and_then(|t| t.as_leaf()).unwrap();
        lora.lora_a = (&lora.lora_a - &(ga * 0.05).unwrap()).unwrap();
        lora.lora_b = (&lora.lora_b - &(gb * 0.05).unwrap()).unwrap();
    }
    let (l1, _) = value_and_grad(&mut lora, loss).unwrap();
    let (a, b) = (l0[0].item::<f32>().unwrap(), l1[0].item::<f32>().unwrap());
    assert!(b < a, "loss {a} -> {b}");
    // the base never moved; merging gives a plain Linear with the same outputs
    assert_eq!(
        lora.linear.weight.to_vec::<u32>().unwrap(),
        base.weight.to_vec::<u32>().unwrap()
    );
    let merged = lora.merge().unwrap();
    close(
        &merged.forward(&x).unwrap(),
        &lora.forward(&x).unwrap(),
        "merged",
    );
}
