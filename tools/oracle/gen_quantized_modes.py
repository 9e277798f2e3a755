#!/usr/bin/env python3
"""Oracle data for rmlx's quantized layers in every mode (issue 16), from real MLX 0.32.4 (CPU).

Writes `quantized_modes.safetensors` and `quantized_modes.json` into the folder given as the first
argument (default: rmlx-core's in-repo oracle copy); read by
`crates/rmlx-nn/tests/nn/quantized_modes.rs`. For each mode (affine, mxfp4, mxfp8, nvfp4), with the
mode's default group size and bits: a Linear's `weight`/`bias` and an input `x`, MLX's
`QuantizedLinear.from_linear(..., mode=...)` packed `q_weight`, `q_scales` (and `q_biases` in
affine mode) and output `out`; an Embedding's `table`, ids `ids`, MLX's
`QuantizedEmbedding.from_embedding(..., mode=...)` lookup `emb_out` and `emb_lin` (`as_linear` of
`x`). The json has the reprs and whether biases exist. Run with a Python that has
`mlx[cpu]==0.32.4`.
"""
import json
import os
import sys

import mlx.core as mx
import mlx.nn as nn
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../crates/rmlx-core/tests/data/oracle")
assert mx.__version__ == "0.32.4", mx.__version__

rng = np.random.default_rng(20261205)
tensors, cases = {}, []
for mode in ["affine", "mxfp4", "mxfp8", "nvfp4"]:
    p = f"{mode}."
    lin = nn.Linear(64, 16)
    lin.weight = mx.array(rng.standard_normal((16, 64)).astype(np.float32) * 0.2)
    lin.bias = mx.array(rng.standard_normal(16).astype(np.float32))
    x = mx.array(rng.standard_normal((3, 64)).astype(np.float32))
    q = nn.QuantizedLinear.from_linear(lin, mode=mode)
    emb = nn.Embedding(10, 64)
    emb.weight = mx.array(rng.standard_normal((10, 64)).astype(np.float32))
    qe = nn.QuantizedEmbedding.from_embedding(emb, mode=mode)
    ids = mx.array(np.array([3, 0, 9, 3], np.int32))
    t = {"weight": lin.weight, "bias": lin.bias, "x": x, "q_weight": q.weight, "q_scales": q.scales,
         "out": q(x), "table": emb.weight, "ids": ids, "emb_out": qe(ids), "emb_lin": qe.as_linear(x)}
    if "biases" in q:
        t["q_biases"] = q.biases
    tensors.update({p + k: v for k, v in t.items()})
    cases.append({"mode": mode, "prefix": p, "group_size": q.group_size, "bits": q.bits,
                  "biases": "biases" in q, "repr": repr(q), "emb_repr": repr(qe),
                  "emb_dtype": str(qe(ids).dtype)})

os.makedirs(OUT, exist_ok=True)
mx.save_safetensors(os.path.join(OUT, "quantized_modes.safetensors"), dict(sorted(tensors.items())),
                    metadata={"format": "mlx-oracle", "mlx_version": mx.__version__, "case": "quantized_modes"})
with open(os.path.join(OUT, "quantized_modes.json"), "w") as f:
    json.dump(cases, f, indent=1)
    f.write("\n")
print(f"{len(cases)} cases, {len(tensors)} tensors -> {OUT}")
