#!/usr/bin/env python3
"""Oracle data for rmlx's multi-output nodes, from real MLX 0.32.4 (CPU).

Writes `multi_output.safetensors` and `multi_output.json` into the folder given as the first
argument (default: rmlx-core's in-repo oracle copy). Cases: `mx.divmod` on float32 and int32
inputs with broadcasting, negative operands and (for int32) zero divisors; its outputs, and the
vjp and jvp of both outputs together. Run with a Python that has `mlx[cpu]==0.32.4`, e.g.
`python3 -m venv v && v/bin/pip install "mlx[cpu]==0.32.4" && v/bin/python gen_multi_output.py`.
"""
import json
import os
import sys

import mlx.core as mx
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../crates/rmlx-core/tests/data/oracle")
assert mx.__version__ == "0.32.4", mx.__version__

rng = np.random.default_rng(20261204)
tensors, cases = {}, []


def put(key, a):
    a = np.array(a)
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    tensors[key] = mx.array(a)


def divmod_case(name, a, b):
    a, b = mx.array(a), mx.array(b)
    q, r = mx.divmod(a, b)
    p = f"{name}."
    put(p + "input.a", a)
    put(p + "input.b", b)
    put(p + "out.0", q)
    put(p + "out.1", r)
    case = {"kind": "multi_output", "name": name, "op": "divmod", "prefix": p,
            "inputs": ["a", "b"], "outputs": 2, "dtype": str(q.dtype).split(".")[-1]}
    if mx.issubdtype(a.dtype, mx.floating):
        ca = mx.array(rng.standard_normal(q.shape).astype(np.float32))
        cb = mx.array(rng.standard_normal(r.shape).astype(np.float32))
        _, vjps = mx.vjp(lambda x, y: list(mx.divmod(x, y)), [a, b], [ca, cb])
        _, jvps = mx.jvp(lambda x, y: list(mx.divmod(x, y)), [a, b], [mx.ones_like(a), mx.ones_like(b)])
        put(p + "cotangent.0", ca)
        put(p + "cotangent.1", cb)
        put(p + "vjp.a", vjps[0])
        put(p + "vjp.b", vjps[1])
        put(p + "jvp.0", jvps[0])
        put(p + "jvp.1", jvps[1])
        case["grad"] = True
    cases.append(case)


divmod_case("divmod_f32_broadcast",
            (rng.standard_normal((3, 4)) * 5).astype(np.float32),
            np.array([1.5, -2.0, 0.75, 3.0], np.float32))
divmod_case("divmod_f32_scalar_divisor", (rng.standard_normal((2, 3)) * 4).astype(np.float32),
            np.array(-1.25, np.float32))
divmod_case("divmod_i32_signs",
            np.array([[7, -7, 9, -9, 0, 5]], np.int32),
            np.array([[2], [-3]], np.int32))

os.makedirs(OUT, exist_ok=True)
mx.save_safetensors(os.path.join(OUT, "multi_output.safetensors"), dict(sorted(tensors.items())),
                    metadata={"format": "mlx-oracle", "mlx_version": mx.__version__, "case": "multi_output"})
with open(os.path.join(OUT, "multi_output.json"), "w") as f:
    json.dump(cases, f, indent=1)
    f.write("\n")
print(f"{len(cases)} cases, {len(tensors)} tensors -> {OUT}")
