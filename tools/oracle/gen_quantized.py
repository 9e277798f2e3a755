#!/usr/bin/env python3
"""Oracle data for rmlx's affine quantization, from real MLX 0.32.4 (CPU).

Writes `quantized.safetensors` and `quantized.json` into the folder given as the first argument
(default: rmlx-core's in-repo oracle copy). For every bit width MLX supports (1, 2, 3, 4, 5, 6, 8)
and group size (32, 64, 128), on float32 weights (and float16 / bfloat16 for a few), the case
holds `mx.quantize`'s packed weights, scales and biases (compared bit for bit), `mx.dequantize`,
and `mx.quantized_matmul` in both orientations with the gradients with respect to x, scales and
biases (compared within float tolerance). Run with a Python that has `mlx[cpu]==0.32.4`, e.g.
`python3 -m venv v && v/bin/pip install "mlx[cpu]==0.32.4" && v/bin/python gen_quantized.py`.
"""
import json
import os
import sys

import mlx.core as mx
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../crates/rmlx-core/tests/data/oracle")
assert mx.__version__ == "0.32.4", mx.__version__

rng = np.random.default_rng(20261206)
tensors, cases = {}, []


def case(name, w, group_size, bits, dtype, rows_x=3, with_grads=True):
    p = f"{name}."
    w = mx.array(w).astype(dtype)
    wq, s, b = mx.quantize(w, group_size, bits)
    tensors[p + "w"] = w
    tensors[p + "wq"] = wq
    tensors[p + "scales"] = s
    tensors[p + "biases"] = b
    tensors[p + "dequantized"] = mx.dequantize(wq, s, b, group_size, bits)
    n, k = w.shape
    c = {"kind": "quantized", "name": name, "prefix": p, "group_size": group_size, "bits": bits,
         "dtype": str(dtype).split(".")[-1], "grads": with_grads}
    if rows_x:
        x_t = mx.array(rng.standard_normal((rows_x, k)).astype(np.float32)).astype(dtype)
        x_n = mx.array(rng.standard_normal((rows_x, n)).astype(np.float32)).astype(dtype)
        tensors[p + "x_t"] = x_t
        tensors[p + "x_n"] = x_n
        tensors[p + "qmm_t"] = mx.quantized_matmul(x_t, wq, s, b, True, group_size, bits)
        tensors[p + "qmm_n"] = mx.quantized_matmul(x_n, wq, s, b, False, group_size, bits)
        if with_grads:
            def loss(x, s_, b_):
                return mx.sum(mx.quantized_matmul(x, wq, s_, b_, True, group_size, bits) ** 2)
            gx, gs, gb = mx.grad(loss, argnums=(0, 1, 2))(x_t, s, b)
            tensors[p + "grad_x"] = gx
            tensors[p + "grad_scales"] = gs
            tensors[p + "grad_biases"] = gb
    cases.append(c)


for bits in (1, 2, 3, 4, 5, 6, 8):
    for gs in (32, 64, 128):
        w = rng.standard_normal((6, 256)).astype(np.float32) * rng.uniform(0.1, 3.0)
        if bits == 4 and gs == 64:
            w[0, :64] = np.abs(w[0, :64])  # a group with no negative value
            w[1, :64] = 0.0  # a constant group (the scale floor eps)
        case(f"affine_b{bits}_g{gs}_f32", w, gs, bits, mx.float32, with_grads=bits in (2, 4, 8))
for bits in (3, 4, 8):
    case(f"affine_b{bits}_g64_f16", rng.standard_normal((4, 128)).astype(np.float32), 64, bits, mx.float16,
         with_grads=False)
    case(f"affine_b{bits}_g32_bf16", rng.standard_normal((4, 128)).astype(np.float32), 32, bits, mx.bfloat16,
         with_grads=False)
# a decode-shaped product (one row of x)
case("affine_b4_g64_decode", rng.standard_normal((64, 512)).astype(np.float32), 64, 4, mx.float32, rows_x=1,
     with_grads=False)

# a model quantized and saved by MLX: Embedding(16, 64) -> Linear(64, 64) -> ReLU -> Linear(64, 16),
# nn.quantize(model, 32, 4) (every layer), weights in quantized_model.safetensors by MLX's names;
# its input ids and output logits here under "model."
import mlx.nn as nn  # noqa: E402

os.makedirs(OUT, exist_ok=True)
mx.random.seed(5)
model = nn.Sequential(nn.Embedding(16, 64), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 16))
nn.quantize(model, group_size=32, bits=4)
model.save_weights(os.path.join(OUT, "quantized_model.safetensors"))
ids = mx.array(np.array([[1, 5, 9], [15, 0, 3]], np.int32))
tensors["model.ids"] = ids
tensors["model.logits"] = model(ids)
tensors["model.as_linear"] = model.layers[0].as_linear(mx.array(rng.standard_normal((2, 64)).astype(np.float32)))
tensors["model.as_linear_x"] = mx.array(rng.standard_normal((2, 64)).astype(np.float32))
tensors["model.as_linear"] = model.layers[0].as_linear(tensors["model.as_linear_x"])
cases.append({"kind": "quantized_model", "name": "sequential_q4_g32", "prefix": "model.",
              "weights": "quantized_model.safetensors", "group_size": 32, "bits": 4,
              "layers": ["Embedding(16, 64)", "Linear(64, 64)", "ReLU", "Linear(64, 16)"]})

mx.save_safetensors(os.path.join(OUT, "quantized.safetensors"), dict(sorted(tensors.items())),
                    metadata={"format": "mlx-oracle", "mlx_version": mx.__version__, "case": "quantized"})
with open(os.path.join(OUT, "quantized.json"), "w") as f:
    json.dump(cases, f, indent=1)
    f.write("\n")
print(f"{len(cases)} cases, {len(tensors)} tensors -> {OUT}")
