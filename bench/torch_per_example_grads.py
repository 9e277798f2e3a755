#!/usr/bin/env python3
"""Per-example gradients of W3's MLP (784-512-512-10, ReLU, cross-entropy) with PyTorch CPU:
`torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0, 0))` over a batch of 256, against one
batched gradient of the mean loss, interleaved call by call — the peer of rmlx's
`workloads pegrad`. Prints one JSON line (times in ms: median, min, max, raw).

Threads: $BENCH_THREADS (default 2). Run with the peers' venv
(`../shared/bench/peers/setup_peers.sh`), or any Python with torch.
"""
import json
import os
import resource
import statistics
import time

THREADS = int(os.environ.get("BENCH_THREADS", "2"))
for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[k] = str(THREADS)
import torch  # noqa: E402
from torch.func import functional_call, grad, vmap  # noqa: E402

torch.set_num_threads(THREADS)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass


def stats(v):
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "raw": v}


def main():
    quick = os.environ.get("BENCH_QUICK") == "1"
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 512), torch.nn.ReLU(),
        torch.nn.Linear(512, 512), torch.nn.ReLU(),
        torch.nn.Linear(512, 10))
    params = {k: v.detach() for k, v in model.named_parameters()}
    g = torch.Generator().manual_seed(1)
    x = torch.randn((256, 784), generator=g)
    y = torch.randint(0, 10, (256,), generator=g)
    ce = torch.nn.functional.cross_entropy

    def loss_one(p, xi, yi):
        return ce(functional_call(model, p, (xi[None],)), yi[None])

    per_example = vmap(grad(loss_one), in_dims=(None, 0, 0))
    batched = grad(lambda p: ce(functional_call(model, p, (x,)), y))
    warmup, samples = (1, 2) if quick else (3, 20)
    per, bat = [], []
    for i in range(warmup + samples):
        t = time.perf_counter()
        gp = per_example(params, x, y)
        assert gp["0.weight"].shape == (256, 512, 784)
        a = (time.perf_counter() - t) * 1e3
        t = time.perf_counter()
        gb = batched(params)
        b = (time.perf_counter() - t) * 1e3
        del gp, gb
        if i >= warmup:
            per.append(a)
            bat.append(b)
    print(json.dumps({
        "peer": "torch", "version": torch.__version__, "threads": torch.get_num_threads(),
        "per_example_ms": stats(per), "batched_grad_ms": stats(bat),
        "per_example_over_batched": stats([p / q for p, q in zip(per, bat)]),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
