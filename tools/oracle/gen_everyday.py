#!/usr/bin/env python3
"""Oracle data for rmlx's everyday ops (issue 18), from real MLX 0.32.4 (CPU).

Writes `everyday.safetensors` and `everyday.json` into the folder given as the first argument
(default: rmlx-core's in-repo oracle copy). Each case names a function of a fixed registry (the
same name is implemented in `crates/rmlx-core/tests/core/oracle_everyday.rs`), its inputs and
MLX's outputs; for float cases also the gradient of `sum(out * c)` for a fixed cotangent `c`
with respect to the first input. Run with a Python that has `mlx[cpu]==0.32.4`, e.g.
`python3 -m venv v && v/bin/pip install "mlx[cpu]==0.32.4" && v/bin/python gen_everyday.py`.
"""
import json
import os
import sys

import mlx.core as mx
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../crates/rmlx-core/tests/data/oracle")
assert mx.__version__ == "0.32.4", mx.__version__

rng = np.random.default_rng(20261207)
tensors, cases = {}, []

REGISTRY = {
    "flip_1": lambda a: mx.flip(a, axis=1),
    "flip_all": lambda a: mx.flip(a),
    "roll_2_axis1": lambda a: mx.roll(a, 2, axis=1),
    "roll_neg3_flat": lambda a: mx.roll(a, -3),
    "isclose": lambda a, b: mx.isclose(a, b),
    "isclose_nan": lambda a, b: mx.isclose(a, b, rtol=1e-3, atol=1e-4, equal_nan=True),
    "allclose": lambda a, b: mx.allclose(a, b),
    "array_equal": lambda a, b: mx.array_equal(a, b),
    "array_equal_nan": lambda a, b: mx.array_equal(a, b, equal_nan=True),
    "nan_to_num": lambda a: mx.nan_to_num(a),
    "nan_to_num_args": lambda a: mx.nan_to_num(a, nan=1.5, posinf=9.0, neginf=-9.0),
    "logical_xor": lambda a, b: mx.logical_xor(a > 0, b > 0),
    "count_nonzero_1": lambda a: mx.count_nonzero(mx.round(a), axis=1),
    "trunc": lambda a: mx.trunc(a),
    "unstack_1": lambda a: tuple(mx.unstack(a, axis=1)),
    "diagonal": lambda a: mx.diagonal(a),
    "diagonal_off": lambda a: mx.diagonal(a, offset=1, axis1=1, axis2=2),
    "diagonal_neg": lambda a: mx.diagonal(a, offset=-1, axis1=-1, axis2=0),
    "diag_vec": lambda a: mx.diag(a, k=-1),
    "diag_mat": lambda a: mx.diag(a, k=1),
    "trace": lambda a: mx.trace(a, offset=1, axis1=1, axis2=2),
    "meshgrid_xy": lambda a, b: tuple(mx.meshgrid(a, b)),
    "meshgrid_ij_sparse": lambda a, b: tuple(mx.meshgrid(a, b, sparse=True, indexing="ij")),
    "kron": lambda a, b: mx.kron(a, b),
    "vecdot": lambda a, b: mx.vecdot(a, b, axis=0),
    "atleast_3d": lambda a: mx.atleast_3d(a),
    "median_1": lambda a: mx.median(a, axis=1),
    "median_02_keep": lambda a: mx.median(a, axis=(0, 2), keepdims=True),
    "median_all_int": lambda a: mx.median(a),
    "windows_7": lambda a: (mx.hanning(7), mx.hamming(7), mx.blackman(7), mx.bartlett(7)),
    "logcumsumexp_1": lambda a: mx.logcumsumexp(a, axis=1),
    "logcumsumexp_rev_excl": lambda a: mx.logcumsumexp(a, axis=0, reverse=True, inclusive=False),
    "logcumsumexp_flat": lambda a: mx.logcumsumexp(a),
    "laplace": lambda k: mx.random.laplace((6,), key=k),
    "laplace_f16": lambda k: mx.random.laplace((2, 3), dtype=mx.float16, loc=1.0, scale=2.0, key=k),
    "windows_2": lambda a: (mx.hanning(2), mx.hamming(2), mx.blackman(2), mx.bartlett(2)),
    "einsum_matmul": lambda a, b: mx.einsum("ij,jk->ik", a, b),
    "einsum_trace": lambda a: mx.einsum("ii", a),
    "einsum_diag": lambda a: mx.einsum("ii->i", a),
    "einsum_transpose": lambda a: mx.einsum("ij->ji", a),
    "einsum_implicit": lambda a: mx.einsum("ji", a),
    "einsum_bmm": lambda a, b: mx.einsum("bij,bjk->bik", a, b),
    "einsum_inner": lambda a, b: mx.einsum("i,i", a, b),
    "einsum_outer": lambda a, b: mx.einsum("i,j->ij", a, b),
    "einsum_ellipsis": lambda a, b: mx.einsum("...ij,...jk", a, b),
    "einsum_three": lambda a, b, c: mx.einsum("ijk,jl,lk->i", a, b, c),
    "einsum_repeat_mixed": lambda a: mx.einsum("iij->ij", a),
    "einsum_sum_lead": lambda a: mx.einsum("i...->...", a),
    "einsum_scores": lambda a, b: mx.einsum("bhqd,bhkd->bhqk", a, b),
    "degrees": lambda a: mx.degrees(a),
    "radians": lambda a: mx.radians(a),
    "isposinf": lambda a: mx.isposinf(a),
    "isneginf": lambda a: mx.isneginf(a),
    "diff_1": lambda a: mx.diff(a),
    "diff_2_axis0": lambda a: mx.diff(a, n=2, axis=0),
    "matrix_transpose": lambda a: mx.matrix_transpose(a),
    "minmax_1": lambda a: mx.minmax(a, axis=1),
    "conv_transpose1d": lambda x, w: mx.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1),
    "conv_transpose1d_w": lambda w, x: mx.conv_transpose1d(x, w, stride=3, padding=0, dilation=2),
    "conv_transpose1d_groups": lambda x, w: mx.conv_transpose1d(x, w, stride=2, groups=2),
    "conv_transpose2d": lambda x, w: mx.conv_transpose2d(x, w, stride=(2, 1), padding=(1, 0),
                                                         dilation=(1, 2), output_padding=(1, 0)),
    "conv_transpose2d_w": lambda w, x: mx.conv_transpose2d(x, w, stride=2, padding=1),
    "conv_transpose3d": lambda x, w: mx.conv_transpose3d(x, w, stride=(2, 1, 2), padding=(0, 1, 0),
                                                         output_padding=(1, 0, 0)),
    "conv_transpose3d_s": lambda x, w: mx.conv_transpose3d(x, w, stride=(2, 1, 2), padding=(0, 1, 0)),
    "contiguous_t": lambda a: mx.contiguous(mx.swapaxes(a, 0, 1)),
    "as_strided_windows": lambda a: mx.as_strided(a, (3, 3), (1, 1), 1),
    "as_strided_t": lambda a: mx.as_strided(mx.swapaxes(a, 0, 1), (2, 3), (1, 2), 0),
    "searchsorted_left": lambda s, v: mx.searchsorted(s, v),
    "searchsorted_right": lambda s, v: mx.searchsorted(s, v, side="right"),
    "gather_mm_rhs": lambda a, b, r: mx.gather_mm(a, b, rhs_indices=r),
    "gather_mm_both": lambda a, b, l, r: mx.gather_mm(a, b, lhs_indices=l, rhs_indices=r),
    "gather_mm_vec": lambda a, b, r: mx.gather_mm(a, b, rhs_indices=r),
    "segmented_mm": lambda a, b, seg: mx.segmented_mm(a, b, seg),
    "block_masked_mm_bool": lambda a, b, mo, ml, mr: mx.block_masked_mm(a, b, 32, mo, ml, mr),
    "block_masked_mm_float": lambda a, b, ml, mr: mx.block_masked_mm(a, b, 32, None, ml, mr),
    "gather_qmm": lambda x, w, s, b, r: mx.gather_qmm(x, w, s, b, rhs_indices=r, transpose=True, group_size=64, bits=4),
    "gather_qmm_both_nt": lambda x, w, s, b, l, r: mx.gather_qmm(x, w, s, b, lhs_indices=l, rhs_indices=r, transpose=False, group_size=32, bits=8),
    "hadamard": lambda x: mx.hadamard_transform(x),
    "hadamard_scale": lambda x: mx.hadamard_transform(x, scale=0.5),
    "cross_entropy": lambda x, t: mx.fast.cross_entropy(x, t),
    "gated_delta": lambda q, k, v, g, b: tuple(mx.fast.gated_delta_update(q, k, v, g, b)),
    "gated_delta_masked": lambda q, k, v, g, b, s, m: tuple(mx.fast.gated_delta_update(q, k, v, g, b, initial_state=s, mask=m)),
    "at_add": lambda x, i, v: x.at[i].add(v),
    "at_subtract": lambda x, i, v: x.at[i].subtract(v),
    "at_multiply": lambda x, i, v: x.at[i].multiply(v),
    "at_divide": lambda x, i, v: x.at[i].divide(v),
    "at_maximum": lambda x, i, v: x.at[i].maximum(v),
    "at_minimum": lambda x, i, v: x.at[i].minimum(v),
}


def normal(*shape):
    return mx.array(rng.standard_normal(shape).astype(np.float32))


def case(name, fn, inputs, grad=True):
    p = f"{name}."
    for i, a in enumerate(inputs):
        tensors[f"{p}input.{i}"] = a
    outs = REGISTRY[fn](*inputs)
    outs = list(outs) if isinstance(outs, tuple) else [outs]
    for k, o in enumerate(outs):
        tensors[f"{p}out.{k}"] = o
    c = {"kind": "everyday", "name": name, "fn": fn, "prefix": p, "inputs": len(inputs),
         "outputs": len(outs), "grad": False}
    if grad and all(mx.issubdtype(o.dtype, mx.floating) for o in outs):
        cots = [normal(*o.shape) for o in outs]
        for k, ct in enumerate(cots):
            tensors[f"{p}cot.{k}"] = ct

        def f(x, *rest):
            r = REGISTRY[fn](x, *rest)
            r = list(r) if isinstance(r, tuple) else [r]
            return sum(mx.sum(o * ct) for o, ct in zip(r, cots))
        tensors[f"{p}grad"] = mx.grad(f)(*inputs)
        c["grad"] = True
    cases.append(c)


x34 = normal(3, 4)
case("flip_1", "flip_1", [x34])
case("flip_all", "flip_all", [normal(2, 3, 4)])
case("roll_2_axis1", "roll_2_axis1", [normal(3, 5)])
case("roll_neg3_flat", "roll_neg3_flat", [normal(3, 4)])
close_a = mx.array(np.array([1.0, 2.0, np.inf, -np.inf, np.nan, 0.0, 1e-9, 100.0], np.float32))
close_b = mx.array(np.array([1.0 + 1e-6, 2.1, np.inf, np.inf, np.nan, 1e-9, 0.0, 100.001], np.float32))
case("isclose", "isclose", [close_a, close_b], grad=False)
case("isclose_nan", "isclose_nan", [close_a, close_b], grad=False)
case("allclose", "allclose", [x34, x34 + 1e-7], grad=False)
case("array_equal", "array_equal", [close_a, close_a], grad=False)
case("array_equal_nan", "array_equal_nan", [close_a, close_a], grad=False)
case("nan_to_num", "nan_to_num", [close_a])
case("nan_to_num_f16", "nan_to_num", [close_a.astype(mx.float16)])
case("nan_to_num_args", "nan_to_num_args", [close_a])
case("logical_xor", "logical_xor", [x34, normal(3, 4)], grad=False)
case("count_nonzero_1", "count_nonzero_1", [normal(3, 5)], grad=False)
case("trunc", "trunc", [normal(3, 4) * 3], grad=False)
case("unstack_1", "unstack_1", [normal(2, 3, 2)])
case("diagonal", "diagonal", [normal(4, 3)])
case("diagonal_off", "diagonal_off", [normal(2, 3, 4)])
case("diagonal_neg", "diagonal_neg", [normal(4, 2, 3)])
case("diag_vec", "diag_vec", [normal(3)])
case("diag_mat", "diag_mat", [normal(3, 4)])
case("trace", "trace", [normal(2, 3, 4)])
case("meshgrid_xy", "meshgrid_xy", [normal(3), normal(2)])
case("meshgrid_ij_sparse", "meshgrid_ij_sparse", [normal(3), normal(2)])
case("kron", "kron", [normal(2, 3), normal(2, 2)])
case("kron_ranks", "kron", [normal(3), normal(2, 2)])
case("vecdot", "vecdot", [normal(4, 3), normal(4, 1)])
case("atleast_3d", "atleast_3d", [normal(3, 4)])
case("median_1", "median_1", [normal(3, 4)])
case("median_02_keep", "median_02_keep", [normal(3, 2, 5)])
case("median_nan", "median_1", [mx.array(np.array([[1.0, np.nan, 2.0, 5.0], [3.0, 1.0, 4.0, 2.0]], np.float32))],
     grad=False)
case("median_all_int", "median_all_int", [mx.array(np.array([[3, 1, 2], [9, 7, 8]], np.int32))], grad=False)
case("logcumsumexp_1", "logcumsumexp_1", [normal(3, 5) * 4])
case("logcumsumexp_rev_excl", "logcumsumexp_rev_excl", [normal(4, 3)])
case("logcumsumexp_flat", "logcumsumexp_flat", [mx.array(np.array([[0.0, -np.inf, 50.0], [-50.0, 3.0, np.inf]], np.float32))],
     grad=False)
case("laplace", "laplace", [mx.random.key(3)], grad=False)
case("laplace_f16", "laplace_f16", [mx.random.key(4)], grad=False)
case("windows_7", "windows_7", [normal(1)], grad=False)
case("windows_2", "windows_2", [normal(1)], grad=False)
case("einsum_matmul", "einsum_matmul", [normal(3, 4), normal(4, 2)])
case("einsum_trace", "einsum_trace", [normal(4, 4)])
case("einsum_diag", "einsum_diag", [normal(3, 3)])
case("einsum_transpose", "einsum_transpose", [normal(2, 3)])
case("einsum_implicit", "einsum_implicit", [normal(2, 3)])
case("einsum_bmm", "einsum_bmm", [normal(2, 3, 4), normal(2, 4, 5)])
case("einsum_inner", "einsum_inner", [normal(5), normal(5)])
case("einsum_outer", "einsum_outer", [normal(3), normal(4)])
case("einsum_ellipsis", "einsum_ellipsis", [normal(2, 1, 3, 4), normal(5, 4, 2)])
case("einsum_three", "einsum_three", [normal(2, 3, 4), normal(3, 5), normal(5, 4)])
case("einsum_repeat_mixed", "einsum_repeat_mixed", [normal(3, 3, 2)])
case("einsum_sum_lead", "einsum_sum_lead", [normal(3, 2, 4)])
case("einsum_scores", "einsum_scores", [normal(2, 2, 3, 4), normal(2, 2, 5, 4)])
case("degrees", "degrees", [normal(3, 4)])
case("radians", "radians", [normal(3, 4)])
case("degrees_int", "degrees", [mx.array(np.array([0, 90, -180], np.int32))], grad=False)
case("isposinf", "isposinf", [close_a], grad=False)
case("isneginf", "isneginf", [close_a], grad=False)
case("diff_1", "diff_1", [normal(3, 5)])
case("diff_2_axis0", "diff_2_axis0", [normal(4, 3)])
case("matrix_transpose", "matrix_transpose", [normal(2, 3, 4)])
case("minmax_1", "minmax_1", [normal(3, 5)])
case("conv_transpose1d", "conv_transpose1d", [normal(2, 5, 3), normal(4, 3, 3)])
case("conv_transpose1d_w", "conv_transpose1d_w", [normal(2, 3, 3), normal(1, 4, 3)])
case("conv_transpose1d_groups", "conv_transpose1d_groups", [normal(1, 4, 4), normal(4, 2, 2)])
case("conv_transpose2d", "conv_transpose2d", [normal(1, 4, 3, 2), normal(3, 3, 2, 2)])
case("conv_transpose2d_w", "conv_transpose2d_w", [normal(2, 3, 3, 3), normal(2, 3, 4, 3)])
# MLX 0.32.4's input gradient of a 3-D transposed convolution with output_padding on a strided
# axis has the wrong shape ((1, 2, 2, 3, 2) for this (1, 3, 2, 3, 2) input), so this case checks
# the output only; the next one (no output_padding) checks the gradient too.
case("conv_transpose3d", "conv_transpose3d", [normal(1, 3, 2, 3, 2), normal(2, 2, 2, 2, 2)], grad=False)
case("conv_transpose3d_s", "conv_transpose3d_s", [normal(1, 3, 2, 3, 2), normal(2, 2, 2, 2, 2)])

case("contiguous_t", "contiguous_t", [normal(3, 4)])
case("as_strided_windows", "as_strided_windows", [normal(6)])
case("as_strided_t", "as_strided_t", [normal(2, 3)])
sorted_seq = mx.array(np.array([-1.0, 0.5, 0.5, 2.0, np.inf, np.nan], np.float32))
search_vals = mx.array(np.array([[0.5, -3.0, 7.0], [np.nan, np.inf, 2.0]], np.float32))
case("searchsorted_left", "searchsorted_left", [sorted_seq, search_vals], grad=False)
case("searchsorted_right", "searchsorted_right", [sorted_seq, search_vals], grad=False)
case("searchsorted_int", "searchsorted_left", [mx.array([1, 3, 3, 8]), mx.array([[3.5, 3.0], [9.0, -1.0]])], grad=False)

case("gather_mm_rhs", "gather_mm_rhs", [normal(4, 2, 3), normal(3, 3, 5), mx.array([2, 0, 2, 1], mx.uint32)])
case("gather_mm_both", "gather_mm_both", [normal(2, 3, 2, 4), normal(5, 4, 3), mx.array([[0], [5]], mx.int32),
                                          mx.array([1, 4, 4], mx.uint32)])
case("gather_mm_vec", "gather_mm_vec", [normal(4), normal(3, 4, 2), mx.array([[2, 1], [0, 0]], mx.uint32)],
     grad=False)  # MLX 0.32.4 fails to differentiate gather_mm with a 1-D input
case("segmented_mm", "segmented_mm", [normal(3, 6), normal(6, 2), mx.array([[0, 2], [2, 6], [1, 1], [0, 6]], mx.uint32)],
     grad=False)  # MLX 0.32.4 has no vjp for SegmentedMM

bm_a, bm_b = normal(2, 40, 70), normal(70, 50)
case("block_masked_mm_bool", "block_masked_mm_bool",
     [bm_a, bm_b, mx.array([[True, False], [True, True]]), mx.array([[[True, False, True], [False, True, True]]] * 2),
      mx.array([[True, True], [False, True], [True, False]])])
case("block_masked_mm_float", "block_masked_mm_float",
     [normal(40, 70), bm_b, normal(2, 3), normal(3, 2)])

gq_w = normal(3, 4, 128)
gq = mx.quantize(gq_w, group_size=64, bits=4)
case("gather_qmm", "gather_qmm", [normal(2, 1, 128), gq[0], gq[1], gq[2], mx.array([2, 0], mx.uint32)])
gq2 = mx.quantize(normal(2, 6, 64), group_size=32, bits=8)
case("gather_qmm_both_nt", "gather_qmm_both_nt",
     [normal(3, 2, 6), gq2[0], gq2[1], gq2[2], mx.array([1, 2, 0], mx.uint32), mx.array([1, 0, 1], mx.uint32)])
case("hadamard", "hadamard", [normal(3, 32)])
case("hadamard_scale", "hadamard_scale", [normal(8)])
case("cross_entropy", "cross_entropy", [normal(4, 7), mx.array([0, 6, 3, 3], mx.int32)])
at_i = mx.array([0, 2, 0, 3, 2], mx.int32)
case("at_add", "at_add", [normal(4, 3), at_i, normal(5, 3)])
case("at_subtract", "at_subtract", [normal(4, 3), at_i, normal(3)])
case("at_multiply", "at_multiply", [normal(4, 3), at_i, normal(5, 3)], grad=False)
case("at_divide", "at_divide", [normal(4, 3), at_i, normal(5, 3)], grad=False)
case("at_maximum", "at_maximum", [normal(4, 3), at_i, normal(5, 3)], grad=False)
case("at_minimum_int", "at_minimum", [mx.array([[5, 1], [2, 8], [0, 0], [9, 9]]), at_i, mx.array([[3, 4]])], grad=False)
gd = [normal(2, 4, 1, 8), normal(2, 4, 1, 8), normal(2, 4, 2, 3),
      mx.array(np.random.default_rng(3).uniform(0.5, 1.0, (2, 4, 2)).astype(np.float32)),
      mx.array(np.random.default_rng(4).uniform(0.0, 1.0, (2, 4, 2)).astype(np.float32))]
case("gated_delta", "gated_delta", gd, grad=False)
case("gated_delta_masked", "gated_delta_masked",
     gd + [normal(2, 2, 3, 8), mx.array([[True, False, True, True], [False, True, True, False]])], grad=False)

os.makedirs(OUT, exist_ok=True)
mx.save_safetensors(os.path.join(OUT, "everyday.safetensors"), dict(sorted(tensors.items())),
                    metadata={"format": "mlx-oracle", "mlx_version": mx.__version__, "case": "everyday"})
with open(os.path.join(OUT, "everyday.json"), "w") as f:
    json.dump(cases, f, indent=1)
    f.write("\n")
print(f"{len(cases)} cases, {len(tensors)} tensors -> {OUT}")
