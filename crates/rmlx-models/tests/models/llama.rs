use crate::support::{data, load, max_abs_diff, TempDir};
use rmlx_core::{Array, Dtype};
use rmlx_models::llama::{KvCache, LlamaConfig, LlamaForCausalLM};
use rmlx_nn::ModuleExt;

#[test]
fn tiny_llama_logits_match_transformers() {
    let model = LlamaForCausalLM::from_pretrained(data("tiny_llama")).unwrap();
    let r = load("tiny_llama/reference.safetensors");
    let logits = model.forward(&r["prompt"], None).unwrap();
    let d = max_abs_diff(&logits, &r["logits"]).unwrap();
    println!("tiny llama: logits max |rmlx - transformers| = {d:.2e}");
    assert!(d < 1e-4, "logits differ by {d}");
}

#[test]
fn tiny_llama_greedy_generation_matches_transformers() {
    let model = LlamaForCausalLM::from_pretrained(data("tiny_llama")).unwrap();
    let r = load("tiny_llama/reference.safetensors");
    let n = r["generated"].shape()[1];
    let got = model.generate(&r["prompt"], n).unwrap();
    let want = r["generated"].astype(Dtype::U32).unwrap();
    assert_eq!(got.to_vec::<u32>().unwrap(), want.to_vec::<u32>().unwrap());
}

#[test]
fn kv_cache_in_chunks_equals_one_pass() {
    let model = LlamaForCausalLM::from_pretrained(data("tiny_llama")).unwrap();
    let prompt = load("tiny_llama/reference.safetensors")["prompt"].clone();
    let full = model.forward(&prompt, None).unwrap();
    let mut cache = KvCache::new();
    let mut parts = Vec::new();
    for (a, b) in [(0, 3), (3, 4), (4, 7)] {
        let idx = rmlx_core::arange(a as f64, b as f64, 1.0, Dtype::I32).unwrap();
        parts.push(
            model
                .forward(&prompt.take(&idx, Some(1)).unwrap(), Some(&mut cache))
                .unwrap(),
        );
    }
    assert_eq!(cache.offset(), 7);
    let chunked = rmlx_core::concatenate(&parts, 1).unwrap();
    let d = max_abs_diff(&full, &chunked).unwrap();
    assert!(d < 1e-5, "cached decoding differs from one pass by {d}");
}

#[test]
fn parameter_names_are_the_checkpoints() {
    let model = LlamaForCausalLM::from_pretrained(data("tiny_llama")).unwrap();
    let names: Vec<String> = model
        .parameters()
        .flatten()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let file = load("tiny_llama/model.safetensors");
    let mut want: Vec<&String> = file.keys().collect();
    let mut got: Vec<&String> = names.iter().collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
}

#[test]
fn tied_embeddings_use_the_embedding_as_output() {
    let cfg = LlamaConfig {
        vocab_size: 20,
        hidden_size: 8,
        intermediate_size: 16,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        num_key_value_heads: 1,
        tie_word_embeddings: true,
        ..LlamaConfig::default()
    };
    let model = LlamaForCausalLM::new(&cfg).unwrap();
    assert!(model.lm_head.is_none());
    let tokens = Array::from_slice(&[3i32, 4], &[1, 2]).unwrap();
    let logits = model.forward(&tokens, None).unwrap();
    let h = model.model.forward(&tokens, None).unwrap();
    let want = h
        .matmul(&model.model.embed_tokens.weight.t().unwrap())
        .unwrap();
    assert!(max_abs_diff(&logits, &want).unwrap() < 1e-6);
}

#[test]
fn a_checkpoint_that_does_not_fit_lists_missing_and_unexpected_keys() {
    let dir = TempDir::new("llama-keys");
    std::fs::copy(data("tiny_llama/config.json"), dir.0.join("config.json")).unwrap();
    let mut w = load("tiny_llama/model.safetensors");
    let q = w
        .shift_remove("model.layers.1.self_attn.q_proj.weight")
        .unwrap();
    w.insert("model.layers.1.self_attn.query.weight".into(), q);
    w.insert(
        "model.norm.weight".into(),
        rmlx_core::zeros(&[7], Dtype::F32).unwrap(),
    );
    rmlx_core::io::save_safetensors(dir.0.join("model.safetensors"), w.iter(), None).unwrap();
    let e = LlamaForCausalLM::from_pretrained(&dir.0)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("missing keys (1): model.layers.1.self_attn.q_proj.weight"),
        "{e}"
    );
    assert!(
        e.contains("unexpected keys (1): model.layers.1.self_attn.query.weight"),
        "{e}"
    );
    assert!(
        e.contains("model.norm.weight: checkpoint [7], model [32]"),
        "{e}"
    );
}

#[test]
fn unsupported_configs_are_errors() {
    let mut c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data("tiny_llama/config.json")).unwrap())
            .unwrap();
    assert!(LlamaConfig::from_json(&c).is_ok());
    c["rope_scaling"] = serde_json::json!({"rope_type": "llama3", "factor": 8.0});
    let e = LlamaConfig::from_json(&c).unwrap_err().to_string();
    assert!(e.contains("llama3"), "{e}");
    c["rope_scaling"] = serde_json::Value::Null;
    c["num_key_value_heads"] = serde_json::json!(3);
    assert!(LlamaConfig::from_json(&c).is_err());
    c["num_key_value_heads"] = serde_json::json!(2);
    c["hidden_act"] = serde_json::json!("gelu");
    assert!(LlamaConfig::from_json(&c).is_err());
    let missing = TempDir::new("llama-missing");
    assert!(LlamaForCausalLM::from_pretrained(&missing.0).is_err());
}
