use crate::support::{data, load, max_abs_diff, TempDir};
use rmlx_core::{Array, Dtype};
use rmlx_models::bert::{sentence_embeddings, BertConfig, BertModel};
use rmlx_nn::ModuleExt;

fn small() -> BertModel {
    let cfg = BertConfig {
        vocab_size: 40,
        hidden_size: 16,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        intermediate_size: 24,
        max_position_embeddings: 12,
        ..BertConfig::default()
    };
    BertModel::new(&cfg, true).unwrap()
}

fn ids(v: &[i32], shape: &[usize]) -> Array {
    Array::from_slice(v, shape).unwrap()
}

/// all-MiniLM-L6-v2 against sentence-transformers, when `RMLX_MINILM_DIR` names the checkpoint.
#[test]
fn minilm_matches_sentence_transformers() {
    let Ok(dir) = std::env::var("RMLX_MINILM_DIR") else {
        println!("minilm: RMLX_MINILM_DIR is not set; run tools/reference/fetch_minilm.sh and set it to check all-MiniLM-L6-v2 against sentence-transformers");
        return;
    };
    let model = BertModel::from_pretrained(&dir).unwrap();
    assert_eq!(model.num_parameters(), 22_713_216);
    let r = load("minilm_reference.safetensors");
    let (input_ids, mask) = (&r["input_ids"], &r["attention_mask"]);

    // the tokenizer (the `tokenizers` crate on the checkpoint's tokenizer.json) gives the same ids
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data("minilm_reference.json")).unwrap())
            .unwrap();
    let sentences: Vec<&str> = meta["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let mut tok = tokenizers::Tokenizer::from_file(format!("{dir}/tokenizer.json")).unwrap();
    tok.with_padding(Some(tokenizers::PaddingParams::default()));
    let enc = tok.encode_batch(sentences.clone(), true).unwrap();
    let got: Vec<i64> = enc
        .iter()
        .flat_map(|e| e.get_ids().iter().map(|&i| i as i64))
        .collect();
    assert_eq!(got, input_ids.to_vec::<i64>().unwrap(), "token ids differ");

    let hidden = model.forward(input_ids, Some(mask), None).unwrap();
    let emb = sentence_embeddings(&hidden, mask).unwrap();
    let d = max_abs_diff(&emb, &r["embeddings"]).unwrap();
    let two = rmlx_core::arange(0.0, 2.0, 1.0, Dtype::I32).unwrap();
    let dh = max_abs_diff(&hidden.take(&two, Some(0)).unwrap(), &r["hidden_first2"]).unwrap();
    let packed = model.encode(input_ids, mask, None).unwrap();
    let dp = max_abs_diff(&packed, &r["embeddings"]).unwrap();
    println!(
        "minilm: {} sentences, embeddings max |rmlx - sentence-transformers| = {d:.2e} (packed encode {dp:.2e}), last hidden state {dh:.2e}",
        sentences.len()
    );
    assert!(d < 1e-5, "embeddings differ by {d}");
    assert!(dp < 1e-5, "packed embeddings differ by {dp}");
    assert!(dh < 1e-4, "hidden states differ by {dh}");
}

#[test]
fn padding_is_invisible_to_the_real_tokens() {
    let model = small();
    let short = ids(&[2, 7, 9, 11, 3], &[1, 5]);
    let padded = ids(&[2, 7, 9, 11, 3, 0, 0, 0, 2, 5, 0, 0, 0, 0, 0, 0], &[2, 8]);
    let mask = ids(&[1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0], &[2, 8]);
    let a = model.forward(&short, None, None).unwrap();
    let b = model.forward(&padded, Some(&mask), None).unwrap();
    let first = b
        .take(&ids(&[0], &[1]), Some(0))
        .unwrap()
        .take(
            &rmlx_core::arange(0.0, 5.0, 1.0, Dtype::I32).unwrap(),
            Some(1),
        )
        .unwrap();
    assert!(max_abs_diff(&a, &first).unwrap() < 1e-5);
    // the masked mean pools only the real tokens
    let ea = sentence_embeddings(&a, &rmlx_core::ones(&[1, 5], Dtype::I32).unwrap()).unwrap();
    let eb = sentence_embeddings(&b, &mask).unwrap();
    let eb0 = eb.take(&ids(&[0], &[1]), Some(0)).unwrap();
    assert!(max_abs_diff(&ea, &eb0).unwrap() < 1e-5);
    let norms = eb
        .square()
        .unwrap()
        .sum(-1, false)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert!(norms.iter().all(|n| (n - 1.0).abs() < 1e-5), "{norms:?}");
    // without a mask the padding changes the real tokens' states
    let c = model.forward(&padded, None, None).unwrap();
    assert!(max_abs_diff(&b, &c).unwrap() > 1e-3);
}

/// `encode` (packed real tokens, attention per sequence) equals the padded forward's pooled
/// embeddings, for masks with holes, left padding, a full row and an empty row.
#[test]
fn packed_encode_equals_the_padded_forward() {
    let model = small();
    let x = ids(
        &[
            2, 7, 9, 11, 3, 5, 2, 1, 0, 0, 0, 4, 4, 9, 3, 8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 9,
            9, 9, 9,
        ],
        &[4, 8],
    );
    let mask = ids(
        &[
            1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
            0, 0, 0,
        ],
        &[4, 8],
    );
    let types = ids(
        &[
            0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0,
            0, 0, 0,
        ],
        &[4, 8],
    );
    let want = sentence_embeddings(
        &model.forward(&x, Some(&mask), Some(&types)).unwrap(),
        &mask,
    )
    .unwrap();
    let got = model.encode(&x, &mask, Some(&types)).unwrap();
    let d = max_abs_diff(&got, &want).unwrap();
    assert!(d < 1e-5, "packed encode differs by {d}");
    // the empty row pools to zeros
    let last = got
        .take(&ids(&[3], &[1]), Some(0))
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert!(last.iter().all(|&v| v == 0.0));
}

#[test]
fn token_types_default_to_segment_zero() {
    let model = small();
    let x = ids(&[2, 7, 9, 3], &[1, 4]);
    let a = model.forward(&x, None, None).unwrap();
    let zeros = rmlx_core::zeros(&[1, 4], Dtype::I32).unwrap();
    let b = model.forward(&x, None, Some(&zeros)).unwrap();
    assert!(max_abs_diff(&a, &b).unwrap() < 1e-6);
    let ones = rmlx_core::ones(&[1, 4], Dtype::I32).unwrap();
    let c = model.forward(&x, None, Some(&ones)).unwrap();
    assert!(max_abs_diff(&a, &c).unwrap() > 1e-3);
}

#[test]
fn pooler_is_tanh_of_the_first_token() {
    let model = small();
    let x = ids(&[2, 7, 9, 3, 2, 1, 1, 3], &[2, 4]);
    let h = model.forward(&x, None, None).unwrap();
    let cls = h
        .take(&ids(&[0], &[1]), Some(1))
        .unwrap()
        .reshape([2, 16])
        .unwrap();
    let dense = &model.pooler.as_ref().unwrap().dense;
    let want = cls
        .matmul(&dense.weight.t().unwrap())
        .unwrap()
        .add(dense.bias.as_ref().unwrap())
        .unwrap()
        .tanh()
        .unwrap();
    assert!(max_abs_diff(&model.pool(&h).unwrap(), &want).unwrap() < 1e-6);
}

/// A checkpoint written with the `BertFor…` prefix, old LayerNorm names, a position-id buffer and
/// pre-training heads loads through the name map and gives the same outputs.
#[test]
fn the_name_map_reads_prefixed_and_old_names() {
    let model = small();
    let dir = TempDir::new("bert-names");
    let c = &model.config;
    let config = serde_json::json!({
        "model_type": "bert", "vocab_size": c.vocab_size, "hidden_size": c.hidden_size,
        "num_hidden_layers": c.num_hidden_layers, "num_attention_heads": c.num_attention_heads,
        "intermediate_size": c.intermediate_size, "hidden_act": "gelu",
        "max_position_embeddings": c.max_position_embeddings, "type_vocab_size": 2,
        "layer_norm_eps": 1e-12,
    });
    std::fs::write(dir.0.join("config.json"), config.to_string()).unwrap();
    let mut pairs: Vec<(String, Array)> = model
        .parameters()
        .flatten()
        .into_iter()
        .map(|(k, v)| {
            let k = k
                .replace("LayerNorm.weight", "LayerNorm.gamma")
                .replace("LayerNorm.bias", "LayerNorm.beta");
            (format!("bert.{k}"), v.clone())
        })
        .collect();
    pairs.push((
        "bert.embeddings.position_ids".into(),
        rmlx_core::arange(0.0, 12.0, 1.0, Dtype::I64).unwrap(),
    ));
    pairs.push((
        "cls.predictions.bias".into(),
        rmlx_core::zeros(&[40], Dtype::F32).unwrap(),
    ));
    rmlx_core::io::save_safetensors(dir.0.join("model.safetensors"), pairs, None).unwrap();
    let loaded = BertModel::from_pretrained(&dir.0).unwrap();
    let x = ids(&[2, 7, 9, 3], &[1, 4]);
    let (a, b) = (
        model.forward(&x, None, None).unwrap(),
        loaded.forward(&x, None, None).unwrap(),
    );
    assert_eq!(max_abs_diff(&a, &b).unwrap(), 0.0);
}

#[test]
fn bad_inputs_are_errors() {
    let model = small();
    let x = ids(&[2, 7, 9, 3], &[1, 4]);
    let float_ids = Array::from_slice(&[2.0f32, 7.0], &[1, 2]).unwrap();
    assert!(model.forward(&float_ids, None, None).is_err());
    assert!(model.forward(&ids(&[1, 2], &[2]), None, None).is_err());
    assert!(model
        .forward(&x, Some(&ids(&[1, 1, 1], &[1, 3])), None)
        .is_err());
    let long = rmlx_core::zeros(&[1, 13], Dtype::I32).unwrap();
    let e = model.forward(&long, None, None).unwrap_err().to_string();
    assert!(e.contains("max_position_embeddings 12"), "{e}");
    assert!(model
        .pool(&rmlx_core::zeros(&[1, 4, 16], Dtype::F32).unwrap())
        .is_ok());
    let mut c: serde_json::Value = serde_json::json!({
        "model_type": "roberta", "vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1,
        "num_attention_heads": 2, "intermediate_size": 8
    });
    assert!(BertConfig::from_json(&c)
        .unwrap_err()
        .to_string()
        .contains("roberta"));
    c["model_type"] = serde_json::json!("bert");
    assert!(BertConfig::from_json(&c).is_ok());
    c["num_attention_heads"] = serde_json::json!(3);
    assert!(BertConfig::from_json(&c).is_err());
    c["num_attention_heads"] = serde_json::json!(2);
    c["hidden_act"] = serde_json::json!("mish");
    assert!(BertConfig::from_json(&c).is_err());
}
