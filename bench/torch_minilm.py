"""sentence-transformers' all-MiniLM-L6-v2 forward (PyTorch), the peer of
`cargo run --release -p rmlx --example embed -- MODEL_DIR --bench`: the same inputs (16 and 32
inputs of 128 tokens with padding masks, `bench_batch` in examples/embed.rs), the model's own
forward (BertModel with its default attention, mean pooling, normalisation) under
torch.inference_mode. Prints one JSON line.

usage: python torch_minilm.py MODEL_DIR [--reps 10]   (threads: $BENCH_THREADS, default 2)
"""
import json, os, statistics, sys, time
import torch
from sentence_transformers import SentenceTransformer

def batch(n, l=128):
    ids = torch.zeros(n, l, dtype=torch.long)
    mask = torch.zeros(n, l, dtype=torch.long)
    for i in range(n):
        length = l - (37 * i) % 96
        for j in range(length):
            ids[i, j] = 101 if j == 0 else 102 if j == length - 1 else 1000 + (i * 7919 + j * 104729) % 28000
            mask[i, j] = 1
    return ids, mask

def main():
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    reps = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 10
    st = SentenceTransformer(sys.argv[1], device="cpu").eval()
    out = {}
    for n in (16, 32):
        ids, mask = batch(n)
        feats = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
        with torch.inference_mode():
            st(dict(feats))
            times = []
            for _ in range(reps):
                t = time.perf_counter()
                st(dict(feats))["sentence_embedding"]
                times.append((time.perf_counter() - t) * 1e3)
        out[f"forward_{n}x128_ms"] = statistics.median(times)
    print(json.dumps(out))

if __name__ == "__main__":
    main()
