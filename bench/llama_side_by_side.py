#!/usr/bin/env python3
"""Llama decoding, rmlx against Hugging Face transformers (PyTorch), interleaved in one run on
this machine (issue 19's target): a randomly initialised LlamaForCausalLM (seeded; default
hidden 512, 4 layers, 8 heads / 4 key-value heads, SwiGLU 1408, vocabulary 8192) is saved with
`save_pretrained`, then rmlx's `llama_generate DIR --bench` and PyTorch's greedy loop with its
KV cache (prefill, then one token per forward under torch.inference_mode) decode the same prompt,
alternating for `--rounds` rounds. Prints tokens/s medians and rmlx's advantage, and checks that
both produce the same tokens. `--require X` exits 1 unless the advantage is at least X.

usage: llama_side_by_side.py [--project DIR] [--rounds 3] [--no-build] [--new 64] [--require 1.0]
The peers' Python comes from $PEERS_VENV (default ~/.cache/rmlx-bench-peers). Threads:
$BENCH_THREADS (default 2).
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import ENV, THREADS, peers_python, run  # noqa: E402

TORCH_SIDE = r'''
import json, sys, time, torch
from transformers import LlamaForCausalLM
torch.set_num_threads(int(sys.argv[2]))
model = LlamaForCausalLM.from_pretrained(sys.argv[1]).eval()
n_prompt, n_new = int(sys.argv[3]), int(sys.argv[4])
vocab = model.config.vocab_size
prompt = torch.tensor([[(i * 7 + 1) % vocab for i in range(n_prompt)]])
def decode(n):
    with torch.inference_mode():
        t = time.perf_counter()
        out = model(prompt, use_cache=True)
        cache, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
        prefill = time.perf_counter() - t
        tokens = [int(nxt)]
        t = time.perf_counter()
        for _ in range(1, n):
            out = model(nxt, past_key_values=cache, use_cache=True)
            cache, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
            tokens.append(int(nxt))
        return prefill, time.perf_counter() - t, tokens
decode(4)
prefill, dt, tokens = decode(n_new)
print(json.dumps({"prefill_ms": prefill * 1e3, "decode_tokens_per_s": (n_new - 1) / dt, "tokens": tokens}))
'''

MAKE = r'''
import sys, torch
from transformers import LlamaConfig, LlamaForCausalLM
torch.manual_seed(0)
cfg = LlamaConfig(vocab_size=8192, hidden_size=512, intermediate_size=1408, num_hidden_layers=4,
                  num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=512,
                  initializer_range=0.1, tie_word_embeddings=False)
LlamaForCausalLM(cfg).save_pretrained(sys.argv[1], safe_serialization=True)
'''



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--project", default=os.path.dirname(HERE))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--prompt", type=int, default=16)
    ap.add_argument("--new", type=int, default=64)
    ap.add_argument("--require", type=float)
    a = ap.parse_args()
    py = peers_python()
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "rmlx", "--example", "llama_generate"], cwd=a.project, check=True)
    exe = os.path.join(a.project, "target", "release", "examples", "llama_generate")
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([py, "-c", MAKE, d], check=True, env=ENV, capture_output=True)
        rows = {"rmlx": [], "torch": []}
        for _ in range(a.rounds):
            rows["rmlx"].append(run([exe, d, "--bench", "--prompt-len", str(a.prompt), "--max-new", str(a.new)], a.project))
            rows["torch"].append(run([py, "-c", TORCH_SIDE, d, THREADS, str(a.prompt), str(a.new)], a.project))
    same = all(r["tokens"] == rows["torch"][0]["tokens"] for r in rows["rmlx"] + rows["torch"])
    med = lambda peer, key: statistics.median(r[key] for r in rows[peer])
    print(f"{'metric':36} {'rmlx':>10} {'torch':>10} {'rmlx advantage':>15}")
    r, t = med("rmlx", "decode_tokens_per_s"), med("torch", "decode_tokens_per_s")
    print(f"{'decode (tokens/s)':36} {r:10.1f} {t:10.1f} {r / t:14.2f}x")
    rp, tp = med("rmlx", "prefill_ms"), med("torch", "prefill_ms")
    print(f"{'prefill, ' + str(a.prompt) + ' tokens (ms)':36} {rp:10.2f} {tp:10.2f} {tp / rp:14.2f}x")
    print(f"same {a.new} greedy tokens: {'yes' if same else 'NO'}")
    failed = not same or (a.require is not None and r / t < a.require)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
