//! Sentences to token ids with a checkpoint's `tokenizer.json` (the `tokenizers` crate).

use rmlx::core::{self as mx, Array};
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

/// The checkpoint's tokenizer, padding each batch to its longest sentence and truncating at
/// `max_len` tokens (sentence-transformers' `max_seq_length`).
pub fn load(dir: &std::path::Path, max_len: usize) -> mx::Result<Tokenizer> {
    let mut tok = Tokenizer::from_file(dir.join("tokenizer.json"))
        .map_err(|e| mx::Error::Value(format!("tokenizer.json: {e}")))?;
    tok.with_padding(Some(PaddingParams::default()));
    tok.with_truncation(Some(TruncationParams {
        max_length: max_len,
        ..Default::default()
    }))
    .map_err(|e| mx::Error::Value(format!("tokenizer: {e}")))?;
    Ok(tok)
}

/// Token ids and attention mask `[n, longest]` (int32) of `sentences`.
pub fn encode(tok: &Tokenizer, sentences: &[&str]) -> mx::Result<(Array, Array)> {
    let enc = tok
        .encode_batch(sentences.to_vec(), true)
        .map_err(|e| mx::Error::Value(format!("tokenizer: {e}")))?;
    let l = enc.first().map_or(0, |e| e.get_ids().len());
    let ids: Vec<i32> = enc
        .iter()
        .flat_map(|e| e.get_ids().iter().map(|&i| i as i32))
        .collect();
    let mask: Vec<i32> = enc
        .iter()
        .flat_map(|e| e.get_attention_mask().iter().map(|&i| i as i32))
        .collect();
    Ok((
        Array::from_slice(&ids, &[enc.len(), l])?,
        Array::from_slice(&mask, &[enc.len(), l])?,
    ))
}
