#!/usr/bin/env python3
"""Oracle data for rmlx's vmap, from real MLX 0.32.4 (CPU).

Writes `vmap.safetensors` and `vmap.json` into the folder given as the first argument (default:
rmlx-core's in-repo oracle copy). Each case names a function from a fixed registry (the same
name is implemented in `crates/rmlx-core/tests/core/oracle_vmap.rs`), its inputs, `in_axes` and
`out_axes`, and MLX's outputs of `mx.vmap(fn, in_axes, out_axes)(*inputs)`; cases whose
`transform` is `"inner"` apply their transforms themselves (grad of vmap, jvp of vmap, vmap of
vmap). One or more cases per primitive family (elementwise, reductions, scans, shape ops,
indexing, matmul, conv, sort, fast ops, random, custom functions) and per composition.

Run with a Python that has `mlx[cpu]==0.32.4`, e.g.
`python3 -m venv v && v/bin/pip install "mlx[cpu]==0.32.4" && v/bin/python gen_vmap.py`.
"""
import json
import os
import sys

import mlx.core as mx
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../crates/rmlx-core/tests/data/oracle")
assert mx.__version__ == "0.32.4", mx.__version__

rng = np.random.default_rng(20261205)
tensors, cases = {}, []


def normal(*shape):
    return mx.array(rng.standard_normal(shape).astype(np.float32))


def mlp_loss(w1, b, w2, x, y):
    h = mx.tanh(x @ w1 + b)
    e = h @ w2 - y
    return mx.mean(e * e)


def custom_sin():
    f = mx.custom_function(lambda x: mx.sin(x))

    @f.vjp
    def f_vjp(primals, cotangent, output):
        return (mx.cos(primals) + 1.0) * cotangent  # deliberately not sin's derivative

    return f


CUSTOM = custom_sin()

# name -> function of positional arrays returning an array or a tuple of arrays
REGISTRY = {
    "exp": lambda x: mx.exp(x),
    "add": lambda x, y: x + y,
    "where_greater": lambda x, y: mx.where(x > y, x, y),
    "maximum": lambda x, y: mx.maximum(x, y),
    "stop_gradient_mul": lambda x: mx.stop_gradient(x) * 2.0,
    "astype_f16": lambda x: x.astype(mx.float16),
    "sum_axis1": lambda x: mx.sum(x, axis=1),
    "max_keepdims0": lambda x: mx.max(x, axis=0, keepdims=True),
    "argmax_last": lambda x: mx.argmax(x, axis=-1),
    "var_all": lambda x: mx.var(x),
    "logsumexp_last": lambda x: mx.logsumexp(x, axis=-1),
    "softmax_last": lambda x: mx.softmax(x, axis=-1),
    "softmax_0": lambda x: mx.softmax(x, axis=0),
    "cumsum_1": lambda x: mx.cumsum(x, axis=1),
    "cummax_rev": lambda x: mx.cummax(x, axis=-1, reverse=True),
    "reshape": lambda x: mx.reshape(x, (2, -1)),
    "transpose": lambda x: mx.transpose(x),
    "moveaxis": lambda x: mx.moveaxis(x, 0, 1),
    "broadcast_to": lambda x: mx.broadcast_to(x, (2,) + x.shape),
    "concatenate": lambda x, y: mx.concatenate([x, y], axis=0),
    "slice": lambda x: x[1:, ::2],
    "slice_update": lambda x, u: mx.slice_update(x, u, mx.array([1]), axes=(0,)),
    "pad": lambda x: mx.pad(x, [(1, 0), (0, 2)]),
    "split": lambda x: tuple(mx.split(x, 2, axis=-1)),
    "tril": lambda x: mx.tril(x),
    "take_axis1": lambda x, i: mx.take(x, i, axis=1),
    "take_along_axis0": lambda x, i: mx.take_along_axis(x, i, axis=0),
    "put_along_axis0": lambda x, i, v: mx.put_along_axis(x, i, v, axis=0),
    "matmul": lambda a, b: a @ b,
    "addmm": lambda c, a, b: mx.addmm(c, a, b, alpha=0.5, beta=2.0),
    "conv1d": lambda x, w: mx.conv1d(x, w, stride=1, padding=1),
    "sort_last": lambda x: mx.sort(x, axis=-1),
    "argsort_0": lambda x: mx.argsort(x, axis=0),
    "layer_norm": lambda x, w, b: mx.fast.layer_norm(x, w, b, 1e-5),
    "rms_norm": lambda x, w: mx.fast.rms_norm(x, w, 1e-5),
    "rope": lambda x: mx.fast.rope(x, 4, traditional=False, base=10000.0, scale=1.0, offset=2),
    "sdpa": lambda q, k, v: mx.fast.scaled_dot_product_attention(q, k, v, scale=0.3),
    "sdpa_causal": lambda q, k, v: mx.fast.scaled_dot_product_attention(q, k, v, scale=0.3, mask="causal"),
    "uniform_per_key": lambda k: mx.random.uniform(shape=(4,), key=k),
    "normal_per_key": lambda k: mx.random.normal(shape=(2, 2), key=k),
    "custom_sin": lambda x: CUSTOM(x),
    # compositions applied inside vmap
    "grad_mlp": lambda w1, b, w2, x, y: mx.grad(mlp_loss, argnums=(0, 1, 2))(w1, b, w2, x, y),
    "grad_mlp_x": lambda w1, b, w2, x, y: mx.grad(mlp_loss, argnums=3)(w1, b, w2, x, y),
    "vjp_softmax_lse": lambda x, c: mx.vjp(lambda a: mx.logsumexp(mx.softmax(a, axis=-1), axis=-1), [x], [c])[1][0],
    "grad_custom_sin": lambda x: mx.grad(lambda a: mx.sum(CUSTOM(a)))(x),
    "jvp_softmax_lse": lambda x, t: mx.jvp(lambda a: mx.logsumexp(mx.softmax(a, axis=-1), axis=-1), [x], [t])[1][0],
}

MLP_AXES = [None, None, None, 0, 0]

# name -> function applying its own transforms (no outer vmap)
INNER = {
    "grad_of_vmap_mlp": lambda w1, b, w2, x, y: mx.grad(
        lambda *p: mx.sum(mx.vmap(mlp_loss, in_axes=tuple(MLP_AXES))(*p)), argnums=(0, 1, 2, 3)
    )(w1, b, w2, x, y),
    "jvp_of_vmap_mlp": lambda w1, b, w2, x, y, t1, tb, t2, tx, ty: mx.jvp(
        lambda *p: mx.sum(mx.vmap(mlp_loss, in_axes=tuple(MLP_AXES))(*p)),
        [w1, b, w2, x, y], [t1, tb, t2, tx, ty],
    )[1][0],
    "vmap_of_vmap_dist": lambda a, b: mx.vmap(
        mx.vmap(lambda p, q: mx.sqrt(mx.sum((p - q) ** 2)), in_axes=(None, 0)), in_axes=(0, None)
    )(a, b),
    "grad_of_vmap_custom": lambda x: mx.grad(lambda a: mx.sum(mx.vmap(CUSTOM, in_axes=1)(a)))(x),
}


def as_list(out):
    if isinstance(out, (tuple, list)):
        return list(out)
    return [out]


def case(name, fn, inputs, in_axes, out_axes=0):
    p = f"{name}."
    for i, a in enumerate(inputs):
        tensors[f"{p}input.{i}"] = a
    if fn in REGISTRY:
        outs = as_list(mx.vmap(REGISTRY[fn], in_axes=tuple(in_axes), out_axes=out_axes)(*inputs))
        transform = "vmap"
    else:
        outs = as_list(INNER[fn](*inputs))
        transform = "inner"
    for k, o in enumerate(outs):
        tensors[f"{p}out.{k}"] = o
    cases.append({"kind": "vmap", "name": name, "fn": fn, "prefix": p, "transform": transform,
                  "inputs": len(inputs), "in_axes": in_axes, "out_axes": out_axes, "outputs": len(outs)})


x345 = normal(3, 4, 5)
y435 = normal(4, 3, 5)
c45 = normal(4, 5)
case("exp_axis1", "exp", [x345], [1])
case("exp_axis_neg1_out_last", "exp", [x345], [-1], -1)
case("add_same_axes", "add", [x345, normal(3, 4, 5)], [0, 0])
case("add_mixed_axes", "add", [x345, y435], [0, 1])
case("add_unmapped", "add", [y435, c45], [1, None], 1)
case("where_greater", "where_greater", [x345, y435], [0, 1])
case("maximum_unmapped_first", "maximum", [c45, y435], [None, -2], 2)
# no divmod case: MLX 0.32.4 raises "[moveaxis] Invalid axis 5 for array with 3 dimensions" for
# any vmap of mx.divmod (its DivMod::vmap returns bad output axes); rmlx's rule is checked
# against a per-example loop in tests/core/vmap_rules.rs instead.
case("stop_gradient", "stop_gradient_mul", [x345], [2])
case("astype_f16", "astype_f16", [x345], [1])
case("sum_axis1", "sum_axis1", [x345], [1])
case("max_keepdims0", "max_keepdims0", [x345], [2])
case("argmax_last", "argmax_last", [x345], [0])
case("var_all", "var_all", [x345], [1])
case("logsumexp_last", "logsumexp_last", [x345], [2])
case("softmax_last", "softmax_last", [x345], [-1])
case("softmax_0", "softmax_0", [x345], [1])
case("cumsum_1", "cumsum_1", [x345], [0])
case("cummax_rev", "cummax_rev", [x345], [1])
case("reshape", "reshape", [normal(3, 4, 6)], [1])
case("transpose", "transpose", [x345], [1])
case("moveaxis", "moveaxis", [x345], [2], 1)
case("broadcast_to", "broadcast_to", [x345], [1])
case("concatenate_mapped", "concatenate", [x345, normal(3, 2, 5)], [0, 0])
case("concatenate_unmapped", "concatenate", [x345, normal(2, 5)], [1, None], 1)
case("slice", "slice", [normal(3, 4, 6)], [2])
case("slice_update", "slice_update", [normal(4, 3, 5), normal(3, 2, 5)], [1, 0])
case("pad", "pad", [x345], [0])
case("split", "split", [normal(3, 4, 6)], [0])
case("tril", "tril", [x345], [2])
idx = mx.array(np.array([[2, -1], [0, 3], [1, 1]], np.int32))
case("take_mapped_array", "take_axis1", [x345, mx.array(np.array([2, -1, 0], np.int32))], [0, None])
case("take_mapped_indices", "take_axis1", [c45, idx], [None, 0])
case("take_both_mapped", "take_axis1", [x345, idx], [0, 0])
ia = mx.array(np.array([0, 2, 1, 3, 0, 1, 2, 3, 3, 2, 1, 0], np.int32).reshape(3, 2, 2))
case("take_along_axis_both", "take_along_axis0", [normal(3, 4, 2), ia], [0, 0])
case("take_along_axis_indices", "take_along_axis0", [normal(4, 2), ia], [None, 0])
case("put_along_axis", "put_along_axis0", [normal(3, 4, 2), ia, normal(3, 2, 2)], [0, 0, 0])
case("matmul_both", "matmul", [normal(3, 4, 5), normal(3, 5, 2)], [0, 0])
case("matmul_lhs_mapped", "matmul", [normal(4, 3, 5), normal(5, 2)], [1, None], 1)
case("matmul_rhs_mapped", "matmul", [normal(4, 5), normal(5, 2, 3)], [None, 2], -1)
case("matvec_rhs_mapped", "matmul", [normal(4, 5), normal(3, 5)], [None, 0])
case("addmm_lhs_mapped", "addmm", [normal(4, 2), normal(3, 4, 5), normal(5, 2)], [None, 0, None])
case("addmm_all_mapped", "addmm", [normal(3, 4, 2), normal(3, 4, 5), normal(3, 5, 2)], [0, 0, 0])
case("conv1d_input_mapped", "conv1d", [normal(3, 2, 6, 4), normal(5, 3, 4)], [0, None])
case("conv1d_both_mapped", "conv1d", [normal(2, 6, 3, 4), normal(3, 5, 3, 4)], [2, 0])
case("sort_last", "sort_last", [x345], [1])
case("argsort_0", "argsort_0", [x345], [2])
case("layer_norm_shared", "layer_norm", [normal(3, 4, 6), normal(6), normal(6)], [1, None, None])
case("layer_norm_mapped_weight", "layer_norm", [normal(3, 4, 6), normal(3, 6), normal(6)], [0, 0, None])
case("rms_norm_mapped_weight", "rms_norm", [normal(4, 3, 6), normal(3, 6)], [1, 0])
case("rope", "rope", [normal(2, 4, 3, 6)], [2], 1)
case("rope_front", "rope", [normal(3, 2, 4, 6)], [0])
case("sdpa_q_mapped", "sdpa", [normal(3, 1, 2, 4, 8), normal(1, 2, 5, 8), normal(1, 2, 5, 8)], [0, None, None])
case("sdpa_causal_all", "sdpa_causal", [normal(3, 1, 2, 4, 8), normal(1, 2, 4, 3, 8), normal(1, 2, 4, 8, 3)], [0, 3, 4])
keys = mx.random.split(mx.random.key(7), 3)
case("uniform_per_key", "uniform_per_key", [keys], [0])
case("normal_per_key_keys_last", "normal_per_key", [mx.transpose(keys)], [1], 1)
case("custom_function", "custom_sin", [normal(3, 2)], [1])
mlp = [normal(4, 6), normal(6), normal(6, 2), normal(5, 3, 4), normal(5, 3, 2)]
case("vmap_of_grad_mlp", "grad_mlp", mlp, MLP_AXES)
case("vmap_of_grad_input", "grad_mlp_x", mlp, MLP_AXES)
case("vmap_of_grad_moved", "grad_mlp", mlp[:3] + [mx.moveaxis(mlp[3], 0, 2), mx.moveaxis(mlp[4], 0, 1)],
     [None, None, None, 2, 1], -1)
case("vmap_of_vjp", "vjp_softmax_lse", [normal(4, 3, 5), normal(4, 3)], [0, 0])
case("vmap_of_jvp", "jvp_softmax_lse", [normal(4, 3, 5), normal(4, 3, 5)], [0, 0])
case("vmap_of_grad_custom", "grad_custom_sin", [normal(3, 2)], [0])
case("grad_of_vmap", "grad_of_vmap_mlp", mlp, [])
case("jvp_of_vmap", "jvp_of_vmap_mlp", mlp + [normal(*a.shape) for a in mlp], [])
case("vmap_of_vmap", "vmap_of_vmap_dist", [normal(3, 4), normal(5, 4)], [])
case("grad_of_vmap_custom", "grad_of_vmap_custom", [normal(2, 3)], [])

os.makedirs(OUT, exist_ok=True)
mx.save_safetensors(os.path.join(OUT, "vmap.safetensors"), dict(sorted(tensors.items())),
                    metadata={"format": "mlx-oracle", "mlx_version": mx.__version__, "case": "vmap"})
with open(os.path.join(OUT, "vmap.json"), "w") as f:
    json.dump(cases, f, indent=1)
    f.write("\n")
print(f"{len(cases)} cases, {len(tensors)} tensors -> {OUT}")
