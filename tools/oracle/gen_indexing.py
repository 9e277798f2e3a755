#!/usr/bin/env python3
"""Oracle data for rmlx's general indexing (issue 18: `x[...]`, `x[...] = v`, `x.at[...]`), from
real MLX 0.32.4 (CPU).

Writes `indexing.safetensors` and `indexing.json` into the folder given as the first argument
(default: rmlx-core's in-repo oracle copy); read by
`crates/rmlx-core/tests/core/oracle_indexing.rs`. Each case is `{"name", "op", "prefix",
"index"}` with the source `x` (and `v`, the values, for updates; `cot` for gradients) under
`<prefix>`; `index` is a list of entries, each `{"int": i}`, `{"slice": [start, stop, step]}`
(null for a missing bound), `{"array": "<key>"}` (an index array stored under `<prefix><key>`),
`"none"` or `"ellipsis"`. `op`:
- `get`: `out = x[index]`; with `"grad": true` also `grad`, MLX's gradient of
  `sum(x[index] * cot)` with respect to `x`;
- `set`: `out` is `x` after `x[index] = v` (no repeated positions);
- `add`, `multiply`, `maximum`: `out = x.at[index].<op>(v)` (repeated positions included);
- `error`: MLX's message (`"message"`) for an invalid index.
Run with a Python that has `mlx[cpu]==0.32.4`.
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


def A(*vals):
    return ("array", mx.array(np.array(vals, dtype=np.int32)))


def Am(rows):
    return ("array", mx.array(np.array(rows, dtype=np.int32)))


S = lambda a=None, b=None, c=None: ("slice", slice(a, b, c))
N = ("none", None)
E = ("ellipsis", Ellipsis)


def py_index(entries):
    return tuple(e[1] for e in entries) if not isinstance(entries, tuple) else entries


def add(name, op, shape, entries, v_shape=None, grad=False, dtype=np.float32):
    p = f"{len(cases):02d}_{name}."
    x = mx.array((rng.standard_normal(shape) * 4).astype(dtype)) if dtype == np.float32 else \
        mx.array(rng.integers(-9, 9, shape).astype(dtype))
    t = {"x": x}
    spec, pyidx = [], []
    for k, e in enumerate(entries):
        if isinstance(e, int):
            spec.append({"int": e}); pyidx.append(e)
        elif e[0] == "slice":
            s = e[1]; spec.append({"slice": [s.start, s.stop, s.step]}); pyidx.append(s)
        elif e[0] == "array":
            t[f"i{k}"] = e[1]; spec.append({"array": f"i{k}"}); pyidx.append(e[1])
        elif e[0] == "none":
            spec.append("none"); pyidx.append(None)
        else:
            spec.append("ellipsis"); pyidx.append(Ellipsis)
    pyidx = tuple(pyidx)
    case = {"name": name, "op": op, "prefix": p, "index": spec}
    if op == "get":
        t["out"] = x[pyidx]
        if grad:
            cot = mx.array(rng.standard_normal(t["out"].shape).astype(np.float32))
            t["cot"] = cot
            t["grad"] = mx.grad(lambda a: (a[pyidx] * cot).sum())(x)
            case["grad"] = True
    elif op == "error":
        try:
            x[pyidx]
            raise SystemExit(f"{name}: MLX accepted it")
        except (ValueError, IndexError) as e:
            case["message"] = str(e)
    else:
        target = x[pyidx].shape if v_shape is None else v_shape
        v = mx.array((rng.standard_normal(target) * 3).astype(np.float32)).astype(x.dtype)
        t["v"] = v
        if op == "set":
            y = mx.array(x)
            y[pyidx] = v
        else:
            y = getattr(y := x.at[pyidx], op)(v)
        t["out"] = y
    mx.eval(t)
    tensors.update({p + k: val for k, val in t.items()})
    cases.append(case)


# basic indexing: integers, slices, new axes, ellipsis
add("int", "get", (4, 5), [2])
add("neg_int", "get", (4, 5), [-1, -2])
add("slices", "get", (6, 5), [S(1, 5, 2), S(None, None, -1)], grad=True)
add("slice_clamp", "get", (4,), [S(-10, 10)])
add("ellipsis_int", "get", (2, 3, 4), [E, -1])
add("newaxis", "get", (3, 4), [N, S(), N, 1, N])
add("ellipsis_mid", "get", (2, 3, 4, 5), [1, E, S(None, None, 2)])
add("empty_slice", "get", (4, 3), [S(3, 1)])
# index arrays
add("one_array", "get", (5, 3), [A(4, 0, -1, 2)], grad=True)
add("array_2d", "get", (5, 3), [Am([[0, 1], [4, 4]])])
add("two_arrays_adjacent", "get", (4, 5, 6), [S(), A(0, 4, 2), A(1, 1, 5)], grad=True)
add("two_arrays_separated", "get", (4, 5, 6), [A(0, 3), S(1, 4), A(5, -1)], grad=True)
add("array_int_adjacent", "get", (4, 5, 6), [S(), 2, A(0, 5, 3)])
add("array_int_separated", "get", (4, 5, 6), [1, S(), A(0, 5, 3)])
add("broadcast_arrays", "get", (4, 5), [Am([[0], [3]]), A(1, 2, 4)])
add("array_newaxis_between", "get", (4, 5), [A(0, 2), N, A(1, 3)])
add("array_newaxis_front", "get", (4, 5, 3), [N, A(3, 0), S(1, None)])
add("array_ellipsis", "get", (2, 3, 4, 5), [E, A(4, 0)])
add("three_arrays", "get", (3, 4, 5), [A(0, 2), A(3, 1), A(-1, 0)], grad=True)
add("int_dtype", "get", (4, 3), [A(3, 1), S(0, 2)], dtype=np.int32)
# assignment and scatter updates
add("set_slice", "set", (4, 5), [S(1, 3), S(None, None, 2)])
add("set_int_broadcast", "set", (4, 5), [2], v_shape=(1,))
add("set_array", "set", (5, 3), [A(4, 0, 2)])
add("set_two_arrays", "set", (4, 5, 2), [A(0, 3), S(), A(1, 0)])
add("set_newaxis", "set", (3, 4), [N, 1, S(1, 3)])
add("at_add_repeats", "add", (5, 3), [A(1, 1, 4, 1)])
add("at_add_general", "add", (4, 5), [S(), A(0, 0, 2)])
add("at_multiply", "multiply", (4, 5), [A(3, 3), S(1, 4)])
add("at_maximum", "maximum", (3, 4, 2), [E, A(1, 1), 0])
# errors MLX reports
add("too_many", "error", (2, 3), [0, 1, 2])
add("two_ellipses", "error", (2, 3), [E, 0, E])

os.makedirs(OUT, exist_ok=True)
mx.save_safetensors(os.path.join(OUT, "indexing.safetensors"), dict(sorted(tensors.items())),
                    metadata={"format": "mlx-oracle", "mlx_version": mx.__version__, "case": "indexing"})
with open(os.path.join(OUT, "indexing.json"), "w") as f:
    json.dump(cases, f, indent=1)
    f.write("\n")
print(f"{len(cases)} cases, {len(tensors)} tensors -> {OUT}")
