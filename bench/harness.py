"""What the side-by-side scripts in this folder share: the thread settings every peer runs
with, the peers' Python, and running one side to its last JSON line."""
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
THREADS = os.environ.get("BENCH_THREADS", "2")
ENV = dict(os.environ, BENCH_THREADS=THREADS, RAYON_NUM_THREADS=THREADS, OMP_NUM_THREADS=THREADS,
           MKL_NUM_THREADS=THREADS, OPENBLAS_NUM_THREADS=THREADS)


def peers_python():
    """The peers' Python: $PEERS_VENV (default ~/.cache/rmlx-bench-peers), made by
    ../shared/bench/peers/setup_peers.sh."""
    venv = os.environ.get("PEERS_VENV", os.path.expanduser("~/.cache/rmlx-bench-peers"))
    return os.path.join(venv, "bin", "python")


def run(cmd, cwd):
    """Runs `cmd` with ENV and returns its last stdout line that is a JSON object."""
    p = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=900)
    lines = [l for l in p.stdout.splitlines() if l.strip().startswith("{")]
    if p.returncode != 0 or not lines:
        shown = " ".join(str(c) for c in cmd[:3])
        raise RuntimeError(f"{shown} failed (rc {p.returncode}): {p.stderr.strip()[-600:]}")
    return json.loads(lines[-1])
