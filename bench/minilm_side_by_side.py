#!/usr/bin/env python3
"""all-MiniLM-L6-v2 sentence embeddings, rmlx against sentence-transformers (PyTorch), interleaved
in one run on this machine (issue 19's target): rmlx's `embed MODEL_DIR --bench` and
`torch_minilm.py MODEL_DIR`, alternating for `--rounds` rounds, 16 and 32 inputs of 128 tokens
with padding masks. Prints each figure's median over the rounds and rmlx's advantage;
`--require X` exits 1 unless rmlx's advantage is at least X on both batch sizes.

usage: minilm_side_by_side.py MODEL_DIR [--project DIR] [--rounds 3] [--no-build] [--require 1.3]
MODEL_DIR comes from tools/reference/fetch_minilm.sh. The peers' Python (with
sentence-transformers) comes from $PEERS_VENV (default ~/.cache/rmlx-bench-peers). Threads:
$BENCH_THREADS (default 2).
"""
import argparse, os, statistics, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import peers_python, run  # noqa: E402



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--project", default=os.path.dirname(HERE))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--require", type=float)
    a = ap.parse_args()
    py = peers_python()
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "rmlx", "--example", "embed"], cwd=a.project, check=True)
    exe = os.path.join(a.project, "target", "release", "examples", "embed")
    rows = {"rmlx": [], "torch": []}
    for _ in range(a.rounds):
        rows["rmlx"].append(run([exe, a.model, "--bench"], a.project))
        rows["torch"].append(run([py, os.path.join(HERE, "torch_minilm.py"), a.model], a.project))
    med = lambda peer, key: statistics.median(r[key] for r in rows[peer])
    print(f"{'metric (ms)':44} {'rmlx':>10} {'torch':>10} {'rmlx advantage':>15}")
    failed = False
    for n in (16, 32):
        t = med("torch", f"forward_{n}x128_ms")
        for label, key in ((f"embeddings {n}x128 (encode, padding skipped)", f"forward_{n}x128_ms"),
                           (f"embeddings {n}x128 (forward over padding)", f"padded_forward_{n}x128_ms")):
            r = med("rmlx", key)
            print(f"{label:44} {r:10.1f} {t:10.1f} {t / r:14.2f}x")
        if a.require and t / med("rmlx", f"forward_{n}x128_ms") < a.require:
            print(f"FAIL: advantage below {a.require} at {n} inputs")
            failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
