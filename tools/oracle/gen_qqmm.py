#!/usr/bin/env python3
"""Oracle data for rmlx's doubly quantized products (issue 18: `qqmm`, `gather_qqmm`,
`nn.QQLinear`) and NVFP4's global scale (issue 16), from real MLX 0.32.4 (CPU).

MLX 0.32.4 evaluates `qqmm` and `gather_qqmm` only on CUDA (its CPU raises `[QQMatmul] NYI`), so
their expected values are MLX's own definition, evaluated by MLX on the CPU from the ops MLX's
test suite (`test_qqmm.py`) checks them against: `dequantize(quantize(x)) @ dequantize(w_q).T`,
in `x`'s dtype; the reverse rule is MLX's `QQMatmul::vjp` (`qqmm(cot, w.T)` for `x`,
`qqmm(cot.T, x.T)` for `w`; with global scales, the cotangent's is its absolute maximum). The
argument checks (`errors`) are MLX's own, raised while the graph is built.

Writes `qqmm.safetensors` and `qqmm.json` into the folder given as the first argument
(default: rmlx-core's in-repo oracle copy); read by `crates/rmlx-core/tests/core/oracle_qqmm.rs`
and `crates/rmlx-nn/tests/nn/qq_linear.rs`. Cases (`kind`):
- `global_scale`: `w`, `g` -> MLX's `quantize(w, mode="nvfp4", global_scale=g)` `wq`, `scales`
  (bit for bit) and `dequantize(...)` `dq` (float32, as MLX returns with a global scale);
- `qqmm`: `x`, `w` (unquantized, or `wq`+`scales` when `quantized`), optional `gx`, `gw`, the
  cotangent `cot` -> `out`, and when not quantized `grad_x`, `grad_w`;
- `gather_qqmm`: `x`, `w`, `lhs`, `rhs` -> `out`;
- `qqlinear`: MLX's `QQLinear` reprs and member dtypes/shapes in train and eval mode, `weight`,
  `x`, and the eval-mode output `out`;
- `error`: the call and MLX's message. (MLX's error for one global scale without the other has no
  case: rmlx takes the two as one `Option` of a pair, so that call cannot be written.)
Run with a Python that has `mlx[cpu]==0.32.4`.
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
DT = {"float32": mx.float32, "bfloat16": mx.bfloat16, "float16": mx.float16}
PARAMS = {"nvfp4": (16, 4), "mxfp8": (32, 8), "mxfp4": (32, 4)}
tensors, cases = {}, []


def arr(shape, dtype="float32", scale=1.0):
    return mx.array(rng.standard_normal(shape).astype(np.float32) * scale).astype(DT[dtype])


def fake(a, mode, g, dtype):
    gs, bits = PARAMS[mode]
    q = mx.quantize(a, gs, bits, mode=mode, global_scale=g)
    return mx.dequantize(q[0], q[1], group_size=gs, bits=bits, mode=mode, global_scale=g, dtype=dtype)


def ref_qqmm(x, w, mode, gx=None, gw=None, wq=None):
    gs, bits = PARAMS[mode]
    dt = x.dtype
    xd = fake(x, mode, gx, dt)
    if wq is None:
        wd = fake(w, mode, gw, dt)
    else:
        wd = mx.dequantize(wq[0], wq[1], group_size=gs, bits=bits, mode=mode, global_scale=gw, dtype=dt)
    return mx.matmul(xd, mx.swapaxes(wd, -1, -2)).astype(dt)


def add(kind, name, t, **meta):
    p = f"{len(cases):02d}_{name}."
    tensors.update({p + k: v for k, v in t.items()})
    cases.append({"kind": kind, "name": name, "prefix": p, **meta})


# NVFP4 global scale: quantize bit for bit, dequantize (float32)
for dtype, shape, gmode in [("float32", (4, 64), "amax"), ("bfloat16", (3, 32), "amax"),
                            ("float32", (2, 48), "small"), ("float32", (6, 16), "large")]:
    w = arr(shape, dtype)
    amax = mx.abs(w).max().astype(mx.float32)
    g = {"amax": amax, "small": amax * 0.25, "large": amax * 40.0}[gmode]
    wq, s = mx.quantize(w, mode="nvfp4", global_scale=g)
    dq = mx.dequantize(wq, s, mode="nvfp4", global_scale=g)
    add("global_scale", f"nvfp4_{dtype}_{gmode}", {"w": w, "g": g, "wq": wq, "scales": s, "dq": dq})

# qqmm forward (and MLX's vjp where w is unquantized)
specs = [
    ("nvfp4", "float32", (32, 64), (32, 64), False, False),
    ("nvfp4", "bfloat16", (32, 32), (64, 32), False, False),
    ("nvfp4", "float32", (3, 32), (5, 32), False, False),
    ("nvfp4", "float32", (6, 32), (4, 32), True, False),
    ("nvfp4", "float32", (32, 64), (32, 64), False, True),
    ("nvfp4", "float32", (4, 64), (16, 64), True, True),
    ("mxfp8", "float32", (32, 64), (64, 64), False, False),
    ("mxfp8", "float32", (5, 64), (6, 64), False, False),
    ("mxfp8", "bfloat16", (2, 96), (3, 96), False, False),
    ("mxfp8", "float16", (4, 32), (8, 32), True, False),
    ("mxfp4", "float32", (3, 64), (4, 64), False, False),
    ("nvfp4", "float32", (32,), (8, 32), False, False),
    ("mxfp8", "float32", (2, 3, 32), (4, 32), False, False),
]
for mode, dtype, xs, ws, quantized, glob in specs:
    gs, bits = PARAMS[mode]
    x, w = arr(xs, dtype), arr(ws, dtype, 0.5)
    t = {"x": x}
    gx = gw = None
    if glob:
        gx = mx.abs(x).max().astype(mx.float32)
        gw = mx.abs(w).max().astype(mx.float32)
        t.update({"gx": gx, "gw": gw})
    if quantized:
        wq = mx.quantize(w, gs, bits, mode=mode, global_scale=gw)
        t.update({"wq": wq[0], "scales": wq[1]})
        out = ref_qqmm(x.reshape(-1, xs[-1]), None, mode, gx, gw, wq)
    else:
        t["w"] = w
        out = ref_qqmm(x.reshape(-1, xs[-1]), w, mode, gx, gw)
    out = out.reshape(*xs[:-1], ws[0])
    t["out"] = out
    # the reverse rule quantizes along M and N too: only where they fit the groups
    if not quantized and len(xs) == 2 and xs[0] % 32 == 0 and ws[0] % 32 == 0:
        cot = arr(out.shape, dtype)
        gc = mx.abs(cot).max().astype(mx.float32) if glob else None
        t["cot"] = cot
        t["grad_x"] = ref_qqmm(cot, mx.swapaxes(w, -1, -2), mode, gc, gw)
        t["grad_w"] = ref_qqmm(mx.swapaxes(cot, -1, -2), mx.swapaxes(x, -1, -2), mode, gc, gx)
    add("qqmm", f"{mode}_{dtype}_{'x'.join(map(str, xs))}{'_q' if quantized else ''}{'_g' if glob else ''}",
        t, mode=mode, quantized=quantized, global_scales=glob, grads=("cot" in t))

# gather_qqmm
for mode, quantized in [("nvfp4", False), ("mxfp8", True)]:
    gs, bits = PARAMS[mode]
    x, w = arr((3, 2, 32)), arr((4, 5, 32), scale=0.5)
    lhs = mx.array(np.array([[0, 2, 1], [1, 1, 0]], np.uint32))
    rhs = mx.array(np.array([[3, 0, 2], [1, 3, 3]], np.uint32))
    xd = fake(x, mode, None, x.dtype)
    t = {"x": x, "lhs": lhs, "rhs": rhs}
    if quantized:
        wq = mx.quantize(w, gs, bits, mode=mode)
        wd = mx.dequantize(wq[0], wq[1], group_size=gs, bits=bits, mode=mode, dtype=x.dtype)
        t.update({"wq": wq[0], "scales": wq[1]})
    else:
        wd = fake(w, mode, None, x.dtype)
        t["w"] = w
    t["out"] = mx.gather_mm(xd, mx.swapaxes(wd, -1, -2), lhs, rhs)
    add("gather_qqmm", f"{mode}{'_q' if quantized else ''}", t, mode=mode, quantized=quantized)

# QQLinear: members in train and eval mode, repr, eval-mode output
for mode in ["nvfp4", "mxfp8"]:
    layer = nn.QQLinear(64, 8, mode=mode)
    layer.weight = arr((8, 64), scale=0.3)
    w = layer.weight
    x = arr((3, 64))
    train_members = {k: [list(v.shape), str(v.dtype)] for k, v in layer.parameters().items()}
    train_trainable = sorted(layer.trainable_parameters().keys())
    layer.eval()
    eval_members = {k: [list(v.shape), str(v.dtype)] for k, v in layer.parameters().items()}
    eval_trainable = sorted(layer.trainable_parameters().keys())
    gs, bits = PARAMS[mode]
    wq = (layer.weight, layer.scales)
    out = ref_qqmm(x, None, mode, wq=wq)
    t = {"weight": w, "x": x, "wq": wq[0], "scales": wq[1], "out": out}
    eval_repr = repr(layer)
    layer.train()
    t["back"] = layer.weight
    add("qqlinear", mode, t, mode=mode, repr=eval_repr, train_members=train_members,
        eval_members=eval_members, train_trainable=train_trainable, eval_trainable=eval_trainable,
        back_dtype=str(layer.weight.dtype))

# MLX's argument checks (raised while the graph is built)
x, w = arr((4, 32)), arr((8, 32))
wq = mx.quantize(w, mode="nvfp4")
g = mx.array(1.0)
errors = [
    ("int_x", lambda: mx.qqmm(x.astype(mx.int32), w)),
    ("int_w", lambda: mx.qqmm(x, w.astype(mx.int32))),
    ("f64_x", lambda: mx.qqmm(x.astype(mx.float64), w)),
    ("k_mismatch", lambda: mx.qqmm(x, arr((8, 33)))),
    ("no_scales", lambda: mx.qqmm(x, wq[0])),
    ("w3d", lambda: mx.qqmm(arr((2, 4, 32)), arr((2, 8, 32)))),
    ("gs_mxfp8", lambda: mx.qqmm(x, w, mode="mxfp8", global_scale_x=g, global_scale_w=g)),
    ("gs_vector", lambda: mx.qqmm(x, w, global_scale_x=mx.array([1.0, 2.0]), global_scale_w=g)),
    ("gs_dtype", lambda: mx.quantize(w, mode="nvfp4", global_scale=mx.array(1.0, mx.float16))),
    ("gs_affine", lambda: mx.quantize(arr((2, 64)), mode="mxfp4", global_scale=g)),
]
for name, f in errors:
    try:
        f()
        raise SystemExit(f"{name}: MLX accepted it")
    except ValueError as e:
        add("error", name, {}, message=str(e))

os.makedirs(OUT, exist_ok=True)
mx.save_safetensors(os.path.join(OUT, "qqmm.safetensors"), dict(sorted(tensors.items())),
                    metadata={"format": "mlx-oracle", "mlx_version": mx.__version__, "case": "qqmm"})
with open(os.path.join(OUT, "qqmm.json"), "w") as f:
    json.dump(cases, f, indent=1)
    f.write("\n")
print(f"{len(cases)} cases, {len(tensors)} tensors -> {OUT}")
