#!/usr/bin/env python3
"""rmlx's fft against numpy's, interleaved in one run on this machine (issue 18's target: fft of
2^20 complex64 within 1.5x of numpy's `np.fft.fft`): `workloads fft` and `numpy_fft.py`
alternating for `--rounds` rounds. Prints each figure's median over the rounds and rmlx's
advantage (numpy's time / rmlx's); `--require X` exits 1 unless rmlx's c2c time is at most X
times numpy's.

usage: fft_side_by_side.py [--project DIR] [--rounds 3] [--no-build] [--require 1.5]
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
    ap.add_argument("--require", type=float)
    a = ap.parse_args()
    py = peers_python()
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "rmlx", "--example", "workloads"],
                       cwd=a.project, check=True)
    exe = os.path.join(a.project, "target", "release", "examples", "workloads")
    rows = {"rmlx": [], "numpy": []}
    for _ in range(a.rounds):
        rows["rmlx"].append(run([exe, "fft"], a.project))
        rows["numpy"].append(run([py, os.path.join(HERE, "numpy_fft.py")], a.project))

    def med(peer, key):
        return statistics.median(r[key]["median"] for r in rows[peer])

    names = [("fft 2^20 complex64 (ms)", "c2c_ms"), ("rfft 2^20 float32 (ms)", "r2c_ms"),
             ("fft2 1024x1024 complex64 (ms)", "c2c_2d_ms")]
    print(f"{'metric':34} {'rmlx':>10} {'numpy':>10} {'rmlx advantage':>15}")
    for label, key in names:
        r, t = med("rmlx", key), med("numpy", key)
        print(f"{label:34} {r:10.2f} {t:10.2f} {t / r:14.2f}x")
    if a.require and med("rmlx", "c2c_ms") > a.require * med("numpy", "c2c_ms"):
        print(f"FAIL: rmlx's fft takes more than {a.require}x numpy's")
        sys.exit(1)


if __name__ == "__main__":
    main()
