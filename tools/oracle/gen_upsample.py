#!/usr/bin/env python3
"""Oracle data for rmlx's `nn::Upsample` (issue 18), from real MLX 0.32.4 (CPU).

Writes `upsample.safetensors` and `upsample.json` into the folder given as the first argument
(default: rmlx-core's in-repo oracle copy). Each case: the layer's arguments, an input `x`
(channels last), MLX's output `out`, a cotangent `cot` and the gradient `grad` of
`sum(out * cot)` with respect to `x`. Read by `crates/rmlx-nn/tests/nn/upsample.rs`. Run with a
Python that has `mlx[cpu]==0.32.4`.
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

rng = np.random.default_rng(20261204)
tensors, cases = {}, []


def case(name, shape, scale, mode, align_corners=False, antialias=False):
    x = mx.array(rng.standard_normal(shape).astype(np.float32))
    layer = nn.Upsample(scale_factor=scale, mode=mode, align_corners=align_corners, antialias=antialias)
    out = layer(x)
    cot = mx.array(rng.standard_normal(out.shape).astype(np.float32))
    grad = mx.grad(lambda x: mx.sum(layer(x) * cot))(x)
    p = f"{name}."
    tensors.update({p + "x": x, p + "out": out, p + "cot": cot, p + "grad": grad})
    cases.append({"name": name, "prefix": p, "mode": mode, "align_corners": align_corners,
                  "antialias": antialias,
                  "scale": list(scale) if isinstance(scale, tuple) else [scale],
                  "scale_is_tuple": isinstance(scale, tuple), "repr": repr(layer)})


case("nearest_int_1d", (2, 3, 2), 2, "nearest")
case("nearest_int_2d", (1, 2, 3, 2), (2, 3), "nearest")
case("nearest_frac_up", (1, 3, 4, 1), (1.5, 2.5), "nearest")
case("nearest_frac_down", (1, 6, 5, 2), (0.5, 0.6), "nearest")
case("linear_1d", (2, 4, 3), 2.0, "linear")
case("linear_2d", (1, 3, 4, 2), (2.0, 1.5), "linear")
case("linear_2d_align", (1, 3, 4, 2), (2.0, 1.5), "linear", align_corners=True)
case("linear_3d", (1, 2, 3, 2, 1), (2.0, 1.0, 1.5), "linear")
case("linear_down", (1, 8, 6, 1), (0.5, 0.75), "linear")
case("linear_down_aa", (1, 8, 6, 1), (0.5, 0.75), "linear", antialias=True)
case("linear_up_aa", (1, 3, 3, 1), 2.0, "linear", antialias=True)
case("cubic_2d", (1, 4, 3, 2), (2.0, 1.5), "cubic")
case("cubic_2d_align", (1, 4, 3, 2), 2.0, "cubic", align_corners=True)
case("cubic_1d_down", (2, 9, 1), 0.5, "cubic")
case("cubic_down_aa", (1, 8, 8, 1), 0.5, "cubic", antialias=True)

os.makedirs(OUT, exist_ok=True)
mx.save_safetensors(os.path.join(OUT, "upsample.safetensors"), dict(sorted(tensors.items())),
                    metadata={"format": "mlx-oracle", "mlx_version": mx.__version__, "case": "upsample"})
with open(os.path.join(OUT, "upsample.json"), "w") as f:
    json.dump(cases, f, indent=1)
    f.write("\n")
print(f"{len(cases)} cases, {len(tensors)} tensors -> {OUT}")
