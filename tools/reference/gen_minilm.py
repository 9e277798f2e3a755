"""Reference outputs of all-MiniLM-L6-v2 from sentence-transformers (PyTorch), for rmlx's
`models::bert` tests (crates/rmlx-models/tests/models/main.rs).

Usage: python gen_minilm.py MODEL_DIR   (MODEL_DIR from tools/reference/fetch_minilm.sh)
Writes crates/rmlx-models/tests/data/minilm_reference.{json,safetensors}:
  json: {"sentences": [...], "versions": {...}}
  safetensors: input_ids, attention_mask (int64 [N, L], the tokenizer's ids padded to the longest
  sentence), embeddings (float32 [N, 384], sentence-transformers' encode: mean pooling over the
  mask, then L2 normalisation), hidden_first2 (float32 [2, L, 384], BertModel's last hidden state
  of the first two sentences, padded positions included).
"""
import json, pathlib, sys
import numpy as np, torch, transformers, sentence_transformers
from safetensors.numpy import save_file
from sentence_transformers import SentenceTransformer

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "The new movie is awesome!",
    "The cat sits outside.",
    "The new movie is so great.",
    "I love pasta.",
    "Do you like pizza?",
    "The weather in Zürich is crisp; naïve café-goers wear coats.",
    "rmlx trains only the biases: 0.11% of 22,565,376 parameters.",
    "Neural networks learn representations from data, layer by layer, through gradient descent.",
    "Stock markets fell sharply on Tuesday after the central bank raised interest rates by 0.75 points.",
    "He said, \"It's not what you look at that matters, it's what you see.\"",
    "In the beginning God created the heaven and the earth.",
    "A soft answer turneth away wrath: but grievous words stir up anger.",
    "Quantum computers use qubits, which can be in superpositions of 0 and 1.",
    "PLEASE DO NOT SHOUT IN THE LIBRARY",
    "emoji and symbols: ★ → ∑ ✓",
    "The quick brown fox jumps over the lazy dog while the farmer, unaware of the commotion, keeps "
    "ploughing the long northern field until sunset turns the sky orange and purple.",
    "Paris is the capital of France.",
    "Berlin is the capital of Germany.",
    "What is the capital of France?",
    "ok",
    "Tokenizers split unaffable words into word-pieces.",
    "The patient was given 5 mg of the drug twice daily for 3 weeks.",
    "Mixed CASE, tabs\tand   extra   spaces.",
]

def main():
    model_dir = sys.argv[1]
    out = pathlib.Path(__file__).resolve().parents[2] / "crates/rmlx-models/tests/data"
    torch.manual_seed(0)
    st = SentenceTransformer(model_dir, device="cpu")
    emb = st.encode(SENTENCES, convert_to_numpy=True, normalize_embeddings=False, batch_size=64)
    tok = st.tokenizer(SENTENCES, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = st[0].auto_model(**{k: v[:2] for k, v in tok.items()}).last_hidden_state
    save_file({
        "input_ids": tok["input_ids"].numpy().astype(np.int64),
        "attention_mask": tok["attention_mask"].numpy().astype(np.int64),
        "embeddings": emb.astype(np.float32),
        "hidden_first2": hidden.numpy().astype(np.float32),
    }, str(out / "minilm_reference.safetensors"))
    json.dump({
        "sentences": SENTENCES,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "sentence_transformers": sentence_transformers.__version__},
    }, open(out / "minilm_reference.json", "w"), indent=1, ensure_ascii=False)
    print("input_ids", tuple(tok["input_ids"].shape), "embeddings", emb.shape)

if __name__ == "__main__":
    main()
