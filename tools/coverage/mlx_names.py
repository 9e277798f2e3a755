#!/usr/bin/env python3
"""Enumerates MLX 0.32.4's public Python names, by category, into `mlx_names.json` (next to this
script). Run once per MLX version with a Python that has `mlx[cpu]==0.32.4`; `coverage.py`
reads the result and needs no MLX.

The counting rules are those of `MLX_COVERAGE.md`'s audit: names without a leading `_`; Python
submodules and re-imported stdlib/typing names left out (an object counts when its `__module__`
is MLX's own, or when it is a plain value such as a dtype or constant); `mlx.core.metal` and
`mlx.core.cuda` left out (GPU only); `nn.Module` methods without those it inherits from `dict`;
array dunders without Python's object machinery.
"""
import inspect
import json
import os
import types

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import mlx.utils as mu

assert mx.__version__ == "0.32.4", mx.__version__

OBJECT_MACHINERY = {
    "__class__", "__init__", "__new__", "__getattribute__", "__setattr__", "__delattr__",
    "__dir__", "__doc__", "__format__", "__init_subclass__", "__module__", "__reduce__",
    "__reduce_ex__", "__sizeof__", "__subclasshook__", "__hash__", "__repr__", "__str__",
    "__getstate__", "__setstate__",
}


TYPING = {"Any", "Callable", "Dict", "List", "Literal", "Optional", "Tuple", "Union"}


def public(mod, own=None):
    out = []
    for n in dir(mod):
        if n.startswith("_"):
            continue
        v = getattr(mod, n)
        if isinstance(v, types.ModuleType):
            continue
        m = getattr(v, "__module__", None)
        if m in ("typing", "functools", "_functools", "builtins", "collections.abc") or n in TYPING:
            continue
        if own and (inspect.isclass(v) or inspect.isfunction(v)) and m and not m.startswith(own):
            continue
        out.append(n)
    return sorted(out)


names = {
    "mlx.core": public(mx),
    "mlx.core.fast": public(mx.fast),
    "mlx.core.linalg": public(mx.linalg),
    "mlx.core.fft": public(mx.fft),
    "mlx.core.random": public(mx.random),
    "mlx.core.distributed": public(mx.distributed),
    "mlx.nn.layers": public(nn.layers, "mlx.nn"),
    "mlx.nn extras": sorted({"value_and_grad", "average_gradients"}
                            | set(public(nn.utils, "mlx.nn")) - {"Module"}),
    "mlx.nn.losses": public(nn.losses, "mlx.nn.losses"),
    "mlx.nn.init": public(nn.init, "mlx.nn.init"),
    "mlx.optimizers": public(optim, "mlx.optimizers"),
    "mlx.optimizers.Optimizer methods": sorted(
        n for n in dir(optim.Optimizer) if not n.startswith("_")),
    "mlx.utils": public(mu, "mlx.utils"),
    "mlx.nn.Module methods": sorted(
        n for n in dir(nn.Module) if not n.startswith("_") and n not in dir(dict)),
    "mlx.core.array methods": sorted(n for n in dir(mx.array) if not n.startswith("_")),
    "mlx.core.array dunders": sorted(
        n for n in dir(mx.array) if n.startswith("__") and n not in OBJECT_MACHINERY),
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mlx_names.json")
with open(path, "w") as f:
    json.dump({"mlx_version": mx.__version__, "categories": names}, f, indent=1)
    f.write("\n")
for k, v in names.items():
    print(f"{k:40s} {len(v)}")
print("total", sum(len(v) for v in names.values()))
