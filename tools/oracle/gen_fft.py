#!/usr/bin/env python3
"""Oracle data for rmlx's complex64 dtype and `fft` module (issue 18), from real MLX 0.32.4 (CPU).

Writes `fft.npz` and `fft.json` into the folder given as the first argument (default: rmlx-core's
in-repo oracle copy). `.npz` because MLX writes complex64 there as numpy's `<c8` (the safetensors
crate rmlx uses has no complex dtype). Each case names a function of a fixed registry (the same
name is implemented in `crates/rmlx-core/tests/core/oracle_fft.rs`), its inputs
(`<case>.input.<i>`) and MLX's outputs (`<case>.out.<k>`). Cases with `"grad": true` also carry
the gradient (`<case>.grad`) with respect to input 0 of

    sum_k sum(real(out_k) * cot_k.re + imag(out_k) * cot_k.im)    (complex outputs)
    sum_k sum(out_k * cot_k)                                      (real outputs)

for fixed cotangents `<case>.cot.<k>` (float32; `<case>.cot_im.<k>` for the imaginary part).
Errors are listed with MLX's message. Run with a Python that has `mlx[cpu]==0.32.4`:
`python3 -m venv v && v/bin/pip install "mlx[cpu]==0.32.4" && v/bin/python gen_fft.py`.
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
F = mx.fft

rng = np.random.default_rng(20261205)
tensors, cases, errors = {}, [], []

HANN10 = mx.array(np.hanning(10).astype(np.float32))
HANN16 = mx.array((np.hanning(16) + 0.1).astype(np.float32))

REGISTRY = {
    # complex arithmetic and the complex helpers
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "divide": lambda a, b: a / b,
    "power": lambda a, b: mx.power(a, b),
    "abs": lambda a: mx.abs(a),
    "negative": lambda a: -a,
    "sign": lambda a: mx.sign(a),
    "square": lambda a: mx.square(a),
    "sqrt": lambda a: mx.sqrt(a),
    "exp": lambda a: mx.exp(a),
    "log": lambda a: mx.log(a),
    "sin": lambda a: mx.sin(a),
    "cos": lambda a: mx.cos(a),
    "tanh": lambda a: mx.tanh(a),
    "reciprocal": lambda a: mx.reciprocal(a),
    "round": lambda a: mx.round(a),
    "real": lambda a: mx.real(a),
    "imag": lambda a: mx.imag(a),
    "conj": lambda a: mx.conj(a),
    "sum": lambda a: mx.sum(a, axis=1),
    "prod": lambda a: mx.prod(a, axis=0),
    "mean": lambda a: mx.mean(a),
    "equal": lambda a, b: a == b,
    "less": lambda a, b: a < b,
    "maximum": lambda a, b: mx.maximum(a, b),
    "astype_f32": lambda a: a.astype(mx.float32),
    "astype_c64": lambda a: a.astype(mx.complex64),
    "astype_bool": lambda a: a.astype(mx.bool_),
    "isnan": lambda a: mx.isnan(a),
    "transpose_take": lambda a: mx.take(a.T, mx.array([2, 0]), axis=0),
    "concat": lambda a, b: mx.concatenate([a, b], axis=0),
    "where": lambda c, a, b: mx.where(c, a, b),
    # fft
    "fft": lambda a: F.fft(a),
    "fft_n_pad": lambda a: F.fft(a, n=8, axis=0),
    "fft_n_trunc": lambda a: F.fft(a, n=3),
    "fft_n0": lambda a: F.fft(a, n=0),
    "fft_ortho": lambda a: F.fft(a, norm="ortho"),
    "fft_forward": lambda a: F.fft(a, norm="forward"),
    "ifft": lambda a: F.ifft(a),
    "ifft_ortho": lambda a: F.ifft(a, axis=0, norm="ortho"),
    "rfft": lambda a: F.rfft(a),
    "rfft_odd_n": lambda a: F.rfft(a, n=7, axis=1),
    "irfft": lambda a: F.irfft(a),
    "irfft_odd_n": lambda a: F.irfft(a, n=7),
    "irfft_forward": lambda a: F.irfft(a, n=6, axis=0, norm="forward"),
    "fft2": lambda a: F.fft2(a),
    "fft2_axes": lambda a: F.fft2(a, s=(4, 6), axes=(0, 2)),
    "ifft2": lambda a: F.ifft2(a),
    "rfft2": lambda a: F.rfft2(a),
    "irfft2": lambda a: F.irfft2(a),
    "irfft2_s": lambda a: F.irfft2(a, s=(3, 5)),
    "fftn": lambda a: F.fftn(a),
    "fftn_s": lambda a: F.fftn(a, s=(3, 4), axes=(1, 2)),
    "fftn_s_no_axes": lambda a: F.fftn(a, s=(3, 4)),
    "ifftn_axes": lambda a: F.ifftn(a, axes=(2, 0)),
    "rfftn": lambda a: F.rfftn(a),
    "rfftn_axes": lambda a: F.rfftn(a, axes=(0, 1)),
    "irfftn": lambda a: F.irfftn(a),
    "fftshift": lambda a: F.fftshift(a),
    "fftshift_axes": lambda a: F.fftshift(a, axes=[1]),
    "ifftshift": lambda a: F.ifftshift(a),
    "fftfreq_8": lambda: F.fftfreq(8),
    "fftfreq_7_d": lambda: F.fftfreq(7, d=0.5),
    "rfftfreq_9": lambda: F.rfftfreq(9, d=2.0),
    "stft": lambda a: F.stft(a, n_fft=16),
    "stft_window": lambda a: F.stft(a, n_fft=16, hop_length=5, win_length=10, window=HANN10),
    "stft_nocenter": lambda a: F.stft(a, n_fft=8, center=False),
    "stft_constant": lambda a: F.stft(a, n_fft=8, pad_mode="constant"),
    "stft_edge_ortho": lambda a: F.stft(a, n_fft=8, pad_mode="edge", norm="ortho"),
    "stft_twosided": lambda a: F.stft(a, n_fft=8, onesided=False),
    "stft_complex": lambda a: F.stft(a, n_fft=8),
    "istft": lambda s: F.istft(s, n_fft=16, window=HANN16, hop_length=4),
    "istft_length": lambda s: F.istft(s, n_fft=16, window=HANN16, hop_length=4, length=70),
    "istft_nocenter": lambda s: F.istft(s, n_fft=16, window=HANN16, hop_length=4, center=False),
    "istft_twosided": lambda s: F.istft(s, onesided=False),
    "istft_odd": lambda s: F.istft(s, n_fft=15),
    # linalg's complex-valued factorisation (compared up to order and phase, see the test)
    "eig": lambda a: mx.linalg.eig(a, stream=mx.cpu),
    "eigvals": lambda a: mx.linalg.eigvals(a, stream=mx.cpu),
    # complex products, orderings and scans (appended in session 10)
    "matmul": lambda a, b: a @ b,
    "rmatmul": lambda b, a: a @ b,
    "addmm": lambda c, a, b: mx.addmm(c, a, b, alpha=0.5, beta=2.0),
    "einsum_ij_jk": lambda a, b: mx.einsum("ij,jk->ik", a, b),
    "sort": lambda a: mx.sort(a, axis=-1),
    "argsort": lambda a: mx.argsort(a, axis=0),
    "max0": lambda a: mx.max(a, axis=0),
    "min_all": lambda a: mx.min(a),
    "argmax1": lambda a: mx.argmax(a, axis=1),
    "argmin0": lambda a: mx.argmin(a, axis=0),
    "cumsum1": lambda a: mx.cumsum(a, axis=1),
    "cumprod0_rev": lambda a: mx.cumprod(a, axis=0, reverse=True),
    "cummax1": lambda a: mx.cummax(a, axis=1),
    "topk2": lambda a: mx.topk(a, 2, axis=-1),
}


def normal(*shape):
    return mx.array(rng.standard_normal(shape).astype(np.float32))


def cnormal(*shape):
    return mx.array((rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64))


def case(name, fn, inputs, grad=False):
    p = f"{name}."
    for i, a in enumerate(inputs):
        tensors[f"{p}input.{i}"] = a
    outs = REGISTRY[fn](*inputs)
    outs = list(outs) if isinstance(outs, tuple) else [outs]
    for k, o in enumerate(outs):
        tensors[f"{p}out.{k}"] = o
    c = {"name": name, "fn": fn, "prefix": p, "inputs": len(inputs), "outputs": len(outs), "grad": False}
    if grad:
        cots = [(normal(*o.shape), normal(*o.shape) if o.dtype == mx.complex64 else None) for o in outs]
        for k, (re, im) in enumerate(cots):
            tensors[f"{p}cot.{k}"] = re
            if im is not None:
                tensors[f"{p}cot_im.{k}"] = im

        def f(x, *rest):
            r = REGISTRY[fn](x, *rest)
            r = list(r) if isinstance(r, tuple) else [r]
            total = 0
            for o, (re, im) in zip(r, cots):
                if im is None:
                    total = total + mx.sum(o * re)
                else:
                    total = total + mx.sum(mx.real(o) * re + mx.imag(o) * im)
            return total
        tensors[f"{p}grad"] = mx.grad(f)(*inputs)
        c["grad"] = True
    cases.append(c)


def error(name, fn, inputs):
    try:
        mx.eval(REGISTRY[fn](*inputs))
    except Exception as e:  # MLX raises ValueError / RuntimeError
        errors.append({"name": name, "fn": fn, "mlx": str(e)})
        for i, a in enumerate(inputs):
            tensors[f"{name}.input.{i}"] = a
        return
    raise AssertionError(f"{name}: MLX did not fail")


# complex64 arithmetic and helpers
a, b = cnormal(3, 4), cnormal(3, 4)
case("c_add_broadcast", "add", [cnormal(3, 4), normal(4)])
case("c_subtract", "subtract", [a, b])
case("c_multiply", "multiply", [cnormal(3, 4), cnormal(3, 4)], grad=True)
case("c_divide", "divide", [cnormal(2, 3), cnormal(2, 3)], grad=True)
case("c_power", "power", [cnormal(5), cnormal(5)])
case("c_abs", "abs", [cnormal(2, 5)], grad=True)
case("c_negative", "negative", [cnormal(4)])
case("c_sign", "sign", [mx.array(np.array([1 + 1j, 0, -3, 2j], np.complex64))])
case("c_square", "square", [cnormal(4)], grad=True)
case("c_sqrt", "sqrt", [cnormal(6)])
case("c_exp", "exp", [cnormal(6)], grad=True)
case("c_log", "log", [cnormal(6)])
case("c_sin", "sin", [cnormal(6)])
case("c_cos", "cos", [cnormal(6)])
case("c_tanh", "tanh", [cnormal(6)])
case("c_reciprocal", "reciprocal", [cnormal(6)])
case("c_round", "round", [mx.array(np.array([1.5 - 2.5j, -0.5 + 0.4j, 2.6 + 3.5j], np.complex64))])
case("c_real", "real", [cnormal(3, 2)], grad=True)
case("c_imag", "imag", [cnormal(3, 2)], grad=True)
case("c_real_of_real", "real", [normal(3)])
case("c_imag_of_real", "imag", [normal(3)])
case("c_conj", "conj", [cnormal(3, 2)], grad=True)
case("c_sum", "sum", [cnormal(3, 5)], grad=True)
case("c_prod", "prod", [cnormal(3, 2)])
case("c_mean", "mean", [cnormal(4, 2)])
case("c_equal", "equal", [mx.array(np.array([1 + 1j, 2, 3j], np.complex64)), mx.array(np.array([1 + 1j, 2 + 1j, 3j], np.complex64))])
case("c_less", "less", [mx.array(np.array([1 + 1j, 2, 3j, 1], np.complex64)), mx.array(np.array([1 + 2j, 1 + 5j, 3j, 1 - 1j], np.complex64))])
case("c_maximum", "maximum", [mx.array(np.array([1 + 1j, 2, 3j], np.complex64)), mx.array(np.array([1 + 2j, 1 + 5j, -3j], np.complex64))])
case("c_astype_f32", "astype_f32", [cnormal(4)])
case("c_astype_c64_int", "astype_c64", [mx.array([1, -2, 3])])
case("c_astype_c64_f32", "astype_c64", [normal(2, 2)], grad=True)
case("c_astype_bool", "astype_bool", [mx.array(np.array([0, 1j, 2, 0j], np.complex64))])
case("c_isnan", "isnan", [mx.array(np.array([complex(np.nan, 0), 1j, complex(0, np.nan)], np.complex64))])
case("c_transpose_take", "transpose_take", [cnormal(2, 3)], grad=True)
case("c_concat", "concat", [cnormal(2, 3), cnormal(1, 3)])
case("c_where", "where", [mx.array([True, False, True]), cnormal(3), normal(3)])

# fft
case("fft_real_in", "fft", [normal(2, 8)], grad=True)
case("fft_complex_in", "fft", [cnormal(3, 5)], grad=True)
case("fft_n_pad", "fft", [cnormal(5, 2)])
case("fft_n_pad_axis0", "fft_n_pad", [cnormal(5, 2)], grad=True)
case("fft_n_trunc", "fft_n_trunc", [cnormal(2, 6)], grad=True)
case("fft_ortho", "fft_ortho", [cnormal(12)], grad=True)
case("fft_forward", "fft_forward", [normal(9)])
case("fft_large_prime", "fft", [cnormal(2, 97)])
case("ifft", "ifft", [cnormal(4, 6)], grad=True)
case("ifft_ortho_axis0", "ifft_ortho", [cnormal(6, 3)], grad=True)
case("rfft_even", "rfft", [normal(3, 8)], grad=True)
case("rfft_odd", "rfft", [normal(9)], grad=True)
case("rfft_of_complex", "rfft", [cnormal(6)])
case("rfft_odd_n_axis1", "rfft_odd_n", [normal(2, 5, 3)], grad=True)
case("irfft_even", "irfft", [cnormal(2, 5)], grad=True)
case("irfft_odd_n", "irfft_odd_n", [cnormal(4)], grad=True)
case("irfft_forward_axis0", "irfft_forward", [cnormal(4, 3)], grad=True)
case("fft2", "fft2", [cnormal(2, 3, 4)], grad=True)
case("fft2_axes_s", "fft2_axes", [normal(3, 2, 5)], grad=True)
case("ifft2", "ifft2", [cnormal(4, 4)])
case("rfft2", "rfft2", [normal(2, 4, 6)], grad=True)
case("irfft2", "irfft2", [cnormal(3, 4)], grad=True)
case("irfft2_s", "irfft2_s", [cnormal(3, 4)])
case("fftn_all", "fftn", [cnormal(2, 3, 4)], grad=True)
case("fftn_s", "fftn_s", [cnormal(2, 2, 5)])
case("ifftn_axes", "ifftn_axes", [cnormal(3, 2, 4)], grad=True)
case("rfftn", "rfftn", [normal(2, 3, 4)], grad=True)
case("rfftn_axes", "rfftn_axes", [normal(4, 5, 2)])
case("irfftn", "irfftn", [cnormal(2, 3, 3)], grad=True)
case("fftshift", "fftshift", [normal(3, 4)])
case("fftshift_axes", "fftshift_axes", [normal(3, 5)])
case("ifftshift", "ifftshift", [normal(5, 4)])
case("fftfreq_8", "fftfreq_8", [])
case("fftfreq_7_d", "fftfreq_7_d", [])
case("rfftfreq_9", "rfftfreq_9", [])
sig = normal(50)
case("stft", "stft", [sig], grad=True)
case("stft_window", "stft_window", [sig])
case("stft_nocenter", "stft_nocenter", [normal(2, 30)])
case("stft_constant", "stft_constant", [sig])
case("stft_edge_ortho", "stft_edge_ortho", [sig])
case("stft_twosided", "stft_twosided", [sig])
case("stft_complex", "stft_complex", [cnormal(40)])
S = F.stft(sig, n_fft=16, window=HANN16, hop_length=4)
case("istft", "istft", [S], grad=True)
case("istft_length", "istft_length", [S])
case("istft_nocenter", "istft_nocenter", [S])
case("istft_twosided", "istft_twosided", [F.stft(sig, n_fft=8, onesided=False)])
case("istft_odd", "istft_odd", [F.stft(sig, n_fft=15)])

error("fft_0d", "fft", [mx.array(1.0)])
error("fft_n_zero", "fft_n0", [cnormal(2, 3)])
error("fftn_s_no_axes", "fftn_s_no_axes", [cnormal(2, 2, 5)])
error("fft2_bad_axis", "fft2_axes", [cnormal(2, 2)])

case("eig_4", "eig", [normal(4, 4)])
case("eig_batched_f64", "eig", [mx.array(rng.standard_normal((2, 3, 3)))])
case("eig_rotation", "eig", [mx.array([[0.0, -2.0], [2.0, 0.0]])])
case("eigvals_5", "eigvals", [normal(5, 5)])
case("eigvals_symmetric", "eigvals", [mx.array([[2.0, 1.0], [1.0, 2.0]])])
error("eigvals_int", "eigvals", [mx.array([[1, 2], [3, 4]])])
error("eigvals_not_square", "eigvals", [normal(2, 3)])
error("eig_1d", "eig", [normal(3)])

# complex products, orderings and scans (appended in session 10)
case("c_matmul", "matmul", [cnormal(3, 4), cnormal(4, 2)], grad=True)
case("c_matmul_grad_b", "rmatmul", [cnormal(4, 2), cnormal(3, 4)], grad=True)
case("c_matmul_batched_mixed", "matmul", [cnormal(2, 3, 4), normal(4, 5)])
case("c_addmm", "addmm", [cnormal(3, 2), cnormal(3, 4), cnormal(4, 2)])
case("c_einsum", "einsum_ij_jk", [cnormal(3, 4), cnormal(4, 2)])
case("c_sort", "sort", [cnormal(3, 6)])
case("c_sort_ties_in_real", "sort", [mx.array(np.array([[2 + 1j, 2 - 1j, -1 + 5j, 2 + 0j]], np.complex64))])
case("c_argsort", "argsort", [cnormal(5, 3)])
case("c_max", "max0", [cnormal(4, 3)])
case("c_min", "min_all", [cnormal(4, 3)])
case("c_argmax", "argmax1", [cnormal(3, 5)])
case("c_argmin", "argmin0", [cnormal(4, 3)])
case("c_cumsum", "cumsum1", [cnormal(2, 5)], grad=True)
case("c_cumprod", "cumprod0_rev", [cnormal(4, 2)])
case("c_cummax", "cummax1", [cnormal(2, 6)])
case("c_topk", "topk2", [cnormal(3, 5)])

os.makedirs(OUT, exist_ok=True)
mx.savez(os.path.join(OUT, "fft.npz"), **dict(sorted(tensors.items())))
with open(os.path.join(OUT, "fft.json"), "w") as f:
    json.dump({"cases": cases, "errors": errors}, f, indent=1)
    f.write("\n")
print(f"{len(cases)} cases, {len(errors)} errors, {len(tensors)} tensors -> {OUT}")
