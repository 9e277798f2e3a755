#!/usr/bin/env python3
"""Per-example gradients of W3's MLP (batch 256), rmlx against PyTorch, interleaved in one run
on this machine (issue 14's targets): rmlx's `workloads pegrad` (`vmap(grad)` through
`nn::per_example_grads`) and `torch_per_example_grads.py` (`torch.func.vmap(torch.func.grad)`),
alternating for `--rounds` rounds. Prints each figure's median over the rounds and rmlx's
advantage; `--require-faster` exits 1 unless rmlx's per-example gradients are faster than
PyTorch's, `--require-ratio X` unless they take at most X times one batched gradient.

usage: per_example_side_by_side.py [--project DIR] [--rounds 3] [--no-build]
                                   [--require-faster] [--require-ratio 3]
The peers' Python comes from $PEERS_VENV (default ~/.cache/rmlx-bench-peers, made by
../shared/bench/peers/setup_peers.sh). Threads: $BENCH_THREADS (default 2).
"""
import argparse
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import peers_python, run  # noqa: E402



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--project", default=os.path.dirname(HERE))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--require-faster", action="store_true")
    ap.add_argument("--require-ratio", type=float)
    a = ap.parse_args()
    py = peers_python()
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "rmlx", "--example", "workloads"],
                       cwd=a.project, check=True)
    exe = os.path.join(a.project, "target", "release", "examples", "workloads")
    rows = {"rmlx": [], "torch": []}
    for _ in range(a.rounds):
        rows["rmlx"].append(run([exe, "pegrad"], a.project))
        rows["torch"].append(run([py, os.path.join(HERE, "torch_per_example_grads.py")], a.project))

    def med(peer, key):
        return statistics.median(r[key]["median"] if isinstance(r[key], dict) else r[key] for r in rows[peer])

    names = [("per-example gradients, 256 examples (ms)", "per_example_ms"),
             ("one batched gradient (ms)", "batched_grad_ms"),
             ("per-example / batched", "per_example_over_batched"),
             ("peak RSS (MiB)", "peak_rss_mib")]
    print(f"{'metric':44} {'rmlx':>10} {'torch':>10} {'rmlx advantage':>15}")
    for label, key in names:
        r, t = med("rmlx", key), med("torch", key)
        print(f"{label:44} {r:10.2f} {t:10.2f} {t / r:14.2f}x")
    failed = False
    if a.require_faster and med("rmlx", "per_example_ms") >= med("torch", "per_example_ms"):
        print("FAIL: rmlx's per-example gradients are not faster than PyTorch's")
        failed = True
    if a.require_ratio and med("rmlx", "per_example_over_batched") > a.require_ratio:
        print(f"FAIL: per-example / batched above {a.require_ratio}")
        failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
