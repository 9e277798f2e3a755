#!/usr/bin/env python3
"""Oracle data for rmlx's floating-point quantization modes (issue 16), from real MLX 0.32.4 (CPU).

Writes `fp_quantized.safetensors` and `fp_quantized.json` into the folder given as the first
argument (default: rmlx-core's in-repo oracle copy). For each case: the input `w`, MLX's
`quantize(w, group_size, bits, mode)` outputs (`wq`, `scales`), `dequantize` of them, and
`quantized_matmul(x, wq, scales, transpose=True, mode)` for a fixed `x`. Also `to_fp8` /
`from_fp8` of a sweep of values. Run with a Python that has `mlx[cpu]==0.32.4`.
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


def normal(*shape, scale=1.0):
    return mx.array((rng.standard_normal(shape) * scale).astype(np.float32))


def case(name, w, mode, gs, bits, dtype=mx.float32):
    p = f"{name}."
    w = w.astype(dtype)
    wq, scales = mx.quantize(w, group_size=gs, bits=bits, mode=mode)
    back = mx.dequantize(wq, scales, group_size=gs, bits=bits, mode=mode)
    x = normal(3, w.shape[-1]).astype(dtype)
    y = mx.quantized_matmul(x, wq, scales, transpose=True, group_size=gs, bits=bits, mode=mode)
    for k, v in {"w": w, "wq": wq, "scales": scales, "dequantized": back, "x": x, "y": y}.items():
        tensors[p + k] = v
    cases.append({"kind": "fp_quantized", "name": name, "prefix": p, "mode": mode, "group_size": gs,
                  "bits": bits, "dtype": str(dtype).split(".")[-1]})


w = normal(8, 64)
w[0, :5] = 0.0  # a group start with zeros
case("mxfp4_f32", w, "mxfp4", 32, 4)
case("mxfp8_f32", normal(6, 96, scale=30.0), "mxfp8", 32, 8)
case("nvfp4_f32", normal(4, 64, scale=0.01), "nvfp4", 16, 4)
zeros_group = normal(2, 64)
zeros_group[1, 32:] = 0.0  # a whole group of zeros: scale 0
case("mxfp4_zero_group", zeros_group, "mxfp4", 32, 4)
case("mxfp4_f16", normal(4, 64), "mxfp4", 32, 4, mx.float16)
case("mxfp8_bf16", normal(4, 64), "mxfp8", 32, 8, mx.bfloat16)

sweep = mx.array(np.concatenate([
    np.array([0.0, -0.0, 1.0, -1.0, 0.3, 447.0, 448.0, 449.0, 1000.0, -1000.0, 2.0 ** -9, 2.0 ** -10,
              0.0019, 3.14159, np.inf, -np.inf], np.float32),
    (rng.standard_normal(48) * 50).astype(np.float32)]))
tensors["fp8.x"] = sweep
tensors["fp8.to"] = mx.to_fp8(sweep)
tensors["fp8.bytes"] = mx.arange(256).astype(mx.uint8)
tensors["fp8.from_f32"] = mx.from_fp8(mx.arange(256).astype(mx.uint8), mx.float32)
tensors["fp8.from_f16"] = mx.from_fp8(mx.arange(256).astype(mx.uint8), mx.float16)
cases.append({"kind": "fp8", "name": "fp8", "prefix": "fp8."})

os.makedirs(OUT, exist_ok=True)
mx.save_safetensors(os.path.join(OUT, "fp_quantized.safetensors"), dict(sorted(tensors.items())),
                    metadata={"format": "mlx-oracle", "mlx_version": mx.__version__, "case": "fp_quantized"})
with open(os.path.join(OUT, "fp_quantized.json"), "w") as f:
    json.dump(cases, f, indent=1)
    f.write("\n")
print(f"{len(cases)} cases, {len(tensors)} tensors -> {OUT}")
