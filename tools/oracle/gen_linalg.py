#!/usr/bin/env python3
"""Oracle data for rmlx's `linalg` (issue 18), from real MLX 0.32.4 (CPU).

Writes `linalg.safetensors` and `linalg.json` into the folder given as the first argument
(default: rmlx-core's in-repo oracle copy). Each case names a function of a fixed registry (the
same name is implemented in `crates/rmlx-core/tests/core/oracle_linalg.rs`), its inputs and
MLX's outputs, and for each output how to compare it:

- "close": element by element (float32 within 1e-4 relative to the matrix's scale, float64
  within 1e-10; integer outputs exactly);
- "cols": up to the sign of each column (QR's Q, SVD's U, eigh's vectors: a factorisation is
  unique only up to those signs, and LAPACK implementations differ in them);
- "rows": up to the sign of each row (QR's R, SVD's Vt), paired with the "cols" output before it.

Cases whose functions MLX differentiates (cross, det of matrices up to 3 x 3) also carry
the gradient of `sum(out * c)` for a fixed cotangent with respect to the first input. Errors
(singular inverse, bad dtype, non-square) are listed with MLX's message. Run with a Python that has
`mlx[cpu]==0.32.4`: `python3 -m venv v && v/bin/pip install "mlx[cpu]==0.32.4" && v/bin/python
gen_linalg.py`.
"""
import json
import os
import sys

import mlx.core as mx
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../crates/rmlx-core/tests/data/oracle")
assert mx.__version__ == "0.32.4", mx.__version__
mx.set_default_device(mx.cpu)
L = mx.linalg

rng = np.random.default_rng(20261204)
tensors, cases = {}, []

REGISTRY = {
    "qr": lambda a: L.qr(a),
    "svd": lambda a: tuple(L.svd(a)),
    "svd_values": lambda a: L.svd(a, compute_uv=False),
    "inv": lambda a: L.inv(a),
    "tri_inv_lower": lambda a: L.tri_inv(a),
    "tri_inv_upper": lambda a: L.tri_inv(a, upper=True),
    "cholesky": lambda a: L.cholesky(a),
    "cholesky_upper": lambda a: L.cholesky(a, upper=True),
    "cholesky_inv": lambda a: L.cholesky_inv(L.cholesky(a)),
    "cholesky_inv_upper": lambda a: L.cholesky_inv(L.cholesky(a, upper=True), upper=True),
    "pinv": lambda a: L.pinv(a),
    "eigh": lambda a: L.eigh(a),
    "eigh_upper": lambda a: L.eigh(a, UPLO="U"),
    "eigvalsh": lambda a: L.eigvalsh(a),
    "lu": lambda a: tuple(L.lu(a)),
    "lu_factor": lambda a: L.lu_factor(a),
    "solve": lambda a, b: L.solve(a, b),
    "solve_triangular": lambda a, b: L.solve_triangular(a, b),
    "solve_triangular_upper": lambda a, b: L.solve_triangular(a, b, upper=True),
    "cross": lambda a, b: L.cross(a, b),
    "cross_axis0": lambda a, b: L.cross(a, b, axis=0),
    "det": lambda a: L.det(a),
    "slogdet": lambda a: L.slogdet(a),
    "norm_2": lambda a: L.norm(a, ord=2),
    "norm_neg2_keep": lambda a: L.norm(a, ord=-2, axis=(2, 0), keepdims=True),
    "norm_nuc": lambda a: L.norm(a, ord="nuc", axis=(1, 2)),
    "multivariate_normal": lambda m, c, k: mx.random.multivariate_normal(m, c, shape=(5, 2), key=k),
}

# How each output is compared (see the module doc).
COMPARE = {
    "qr": ["cols", "rows"],
    "svd": ["cols", "close", "rows"],
    "eigh": ["close", "cols"],
    "eigh_upper": ["close", "cols"],
}



def normal(*shape, dtype=np.float32):
    return mx.array(rng.standard_normal(shape).astype(dtype))


def spd(*shape, dtype=np.float32):
    """Symmetric positive definite matrices (well conditioned)."""
    a = rng.standard_normal(shape)
    n = shape[-1]
    m = a @ np.swapaxes(a, -1, -2) + n * np.eye(n)
    return mx.array(m.astype(dtype))


def sym(*shape, dtype=np.float32):
    """Symmetric matrices with distinct eigenvalues; the other triangle is garbage in `upper`."""
    a = rng.standard_normal(shape)
    return mx.array(((a + np.swapaxes(a, -1, -2)) / 2).astype(dtype))


def case(name, fn, inputs, grad=False):
    p = f"{name}."
    for i, a in enumerate(inputs):
        tensors[f"{p}input.{i}"] = a
    outs = REGISTRY[fn](*inputs)
    outs = list(outs) if isinstance(outs, tuple) else [outs]
    for k, o in enumerate(outs):
        tensors[f"{p}out.{k}"] = o
    c = {"name": name, "fn": fn, "prefix": p, "inputs": len(inputs), "outputs": len(outs),
         "compare": COMPARE.get(fn, ["close"] * len(outs)), "grad": False}
    if grad:
        cots = [normal(*o.shape).astype(o.dtype) for o in outs]
        for k, ct in enumerate(cots):
            tensors[f"{p}cot.{k}"] = ct

        def f(x, *rest):
            r = REGISTRY[fn](x, *rest)
            r = list(r) if isinstance(r, tuple) else [r]
            return sum(mx.sum(o * ct) for o, ct in zip(r, cots))
        tensors[f"{p}grad"] = mx.grad(f)(*inputs)
        c["grad"] = True
    cases.append(c)


errors = []


def error(name, fn, inputs):
    try:
        out = REGISTRY[fn](*inputs)
        mx.eval(out)
    except Exception as e:  # MLX raises ValueError / RuntimeError
        errors.append({"name": name, "fn": fn, "shapes": [list(a.shape) for a in inputs],
                       "dtypes": [str(a.dtype).split(".")[-1] for a in inputs], "mlx": str(e)})
        p = f"{name}."
        for i, a in enumerate(inputs):
            tensors[f"{p}input.{i}"] = a
        return
    raise AssertionError(f"{name}: MLX did not fail")


case("qr_square", "qr", [normal(4, 4)])
case("qr_tall_batched", "qr", [normal(2, 5, 3)])
case("qr_wide_f64", "qr", [normal(3, 5, dtype=np.float64)])
case("svd_square", "svd", [normal(4, 4)])
case("svd_tall_batched", "svd", [normal(2, 5, 3)])
case("svd_wide_f64", "svd", [normal(3, 6, dtype=np.float64)])
case("svd_values", "svd_values", [normal(3, 4, 5)])
case("inv", "inv", [normal(5, 5) + 3 * mx.eye(5)])
case("inv_batched_f64", "inv", [normal(3, 4, 4, dtype=np.float64)])
case("tri_inv_lower", "tri_inv_lower", [normal(4, 4) + 4 * mx.eye(4)])
case("tri_inv_upper", "tri_inv_upper", [normal(2, 4, 4) + 4 * mx.eye(4)])
case("cholesky", "cholesky", [spd(5, 5)])
case("cholesky_upper_batched", "cholesky_upper", [spd(2, 4, 4, dtype=np.float64)])
case("cholesky_inv", "cholesky_inv", [spd(4, 4)])
case("cholesky_inv_upper", "cholesky_inv_upper", [spd(3, 3, dtype=np.float64)])
case("pinv_tall", "pinv", [normal(5, 3)])
case("pinv_wide_batched", "pinv", [normal(2, 3, 4)])
case("pinv_rank1", "pinv", [mx.array(np.outer([1.0, 2.0, 3.0], [1.0, -1.0]).astype(np.float32))])
case("eigh", "eigh", [sym(5, 5)])
case("eigh_upper_batched", "eigh_upper", [sym(2, 4, 4, dtype=np.float64)])
case("eigvalsh", "eigvalsh", [sym(3, 6, 6)])
case("lu_square", "lu", [normal(4, 4)])
case("lu_tall", "lu", [normal(5, 3)])
case("lu_wide_batched", "lu", [normal(2, 3, 5)])
case("lu_factor", "lu_factor", [normal(2, 4, 4, dtype=np.float64)])
case("lu_factor_tall", "lu_factor", [normal(6, 4)])
case("solve_vec", "solve", [normal(4, 4) + 2 * mx.eye(4), normal(4)])
case("solve_mat_batched", "solve", [normal(2, 3, 3, dtype=np.float64) + 2 * mx.eye(3), normal(2, 3, 2, dtype=np.float64)])
case("solve_triangular", "solve_triangular", [normal(4, 4) + 4 * mx.eye(4), normal(4, 2)])
case("solve_triangular_upper", "solve_triangular_upper", [normal(4, 4) + 4 * mx.eye(4), normal(4)])
case("cross_3", "cross", [normal(4, 3), normal(4, 3)], grad=True)
case("cross_2_3_axis0", "cross_axis0", [normal(2, 3), normal(3, 1)], grad=True)
case("cross_2_2", "cross", [normal(2), normal(2)], grad=True)
case("cross_int", "cross", [mx.array([1, 2, 3]), mx.array([4, 5, 6])])
case("det_2", "det", [normal(3, 2, 2)], grad=True)
case("det_3", "det", [normal(3, 3)], grad=True)
case("det_5", "det", [normal(2, 5, 5)])
case("det_5_f64", "det", [normal(5, 5, dtype=np.float64)])
case("det_int", "det", [mx.array([[2, 1], [7, 4]])])
case("det_singular_4", "det", [mx.array(np.outer([1.0, 2.0, 3.0, 4.0], [1.0, 0.5, 2.0, -1.0]).astype(np.float32))])
case("slogdet_3", "slogdet", [normal(2, 3, 3)])
case("slogdet_6", "slogdet", [normal(2, 6, 6)])
case("norm_2", "norm_2", [normal(4, 3)])
case("norm_neg2_keep", "norm_neg2_keep", [normal(3, 2, 4)])
case("norm_nuc", "norm_nuc", [normal(2, 3, 4)])

error("inv_singular", "inv", [mx.array([[1.0, 2.0], [2.0, 4.0]])])
error("inv_int", "inv", [mx.array([[1, 2], [3, 4]])])
error("inv_not_square", "inv", [normal(2, 3)])
error("qr_1d", "qr", [normal(3)])
error("cholesky_f16", "cholesky", [spd(2, 2).astype(mx.float16)])
error("solve_mismatch", "solve", [normal(3, 3), normal(4)])
error("cross_size4", "cross", [normal(4), normal(4)])
error("det_not_square", "det", [normal(2, 3)])

case("multivariate_normal", "multivariate_normal", [normal(3), spd(2, 3, 3), mx.random.key(5)])

os.makedirs(OUT, exist_ok=True)
mx.save_safetensors(os.path.join(OUT, "linalg.safetensors"), dict(sorted(tensors.items())),
                    metadata={"format": "mlx-oracle", "mlx_version": mx.__version__, "case": "linalg"})
with open(os.path.join(OUT, "linalg.json"), "w") as f:
    json.dump({"cases": cases, "errors": errors}, f, indent=1)
    f.write("\n")
print(f"{len(cases)} cases, {len(errors)} errors, {len(tensors)} tensors -> {OUT}")
