//! Affine quantization kernels, MLX's layout (`mx.quantize(w, group_size, bits)`, mode
//! `"affine"`): every `group_size` consecutive elements of a row share a scale `s` and a bias
//! `b`, and element `w` is stored as `q = round((w - b) / s)` in `bits` bits, `w ≈ s * q + b`.
//!
//! A row's quantized values are one little-endian bit stream: value `j` occupies bits
//! `j * bits .. (j + 1) * bits` of the row's bytes (for 4 bits, eight values per `u32`, the first
//! in the lowest nibble; for 3, 5 and 6 bits, values straddle bytes the same way). Scales and
//! biases have the weights' dtype; the arithmetic is float32, in MLX's order, so packing, scales
//! and biases are MLX's bit for bit.

use rayon::prelude::*;

/// The bit widths MLX 0.32.4 quantizes to (affine mode).
pub const AFFINE_BITS: [usize; 7] = [1, 2, 3, 4, 5, 6, 8];

/// The group sizes MLX 0.32.4 accepts (affine mode).
pub const AFFINE_GROUP_SIZES: [usize; 3] = [32, 64, 128];

/// The scale and bias of one group (MLX's `quantize` CPU kernel): the range over `2^bits - 1`
/// steps, signed and snapped so the edge of larger magnitude is exactly representable. One bit
/// keeps the plain range: scale `max - min` (at least 1e-7), bias `min` (as MLX 0.32.4 does).
pub fn group_scale_bias(group: &[f32], bits: usize) -> (f32, f32) {
    let n_bins = ((1u32 << bits) - 1) as f32;
    let eps = 1e-7f32;
    let mut w_min = f32::INFINITY;
    let mut w_max = f32::NEG_INFINITY;
    for &w in group {
        w_max = w_max.max(w);
        w_min = w_min.min(w);
    }
    if bits == 1 {
        return (((w_max - w_min) / n_bins).max(eps), w_min);
    }
    let mask = w_min.abs() > w_max.abs();
    let mut scale = ((w_max - w_min) / n_bins).max(eps);
    if !mask {
        scale = -scale;
    }
    let edge = if mask { w_min } else { w_max };
    let q0 = (edge / scale).round_ties_even();
    let mut bias = 0.0;
    if q0 != 0.0 {
        scale = edge / q0;
        bias = edge;
    }
    (scale, bias)
}

/// Quantizes `rows` rows of `cols` values (given as f32) into `packed` (`rows * cols * bits / 8`
/// bytes), writing one scale and bias per group (as f32, before the cast to the weights' dtype).
pub fn quantize_rows(
    w: &[f32],
    cols: usize,
    group_size: usize,
    bits: usize,
    packed: &mut [u8],
    scales: &mut [f32],
    biases: &mut [f32],
) {
    let n_bins = ((1u32 << bits) - 1) as f32;
    let row_bytes = cols * bits / 8;
    let groups = cols / group_size;
    if cols == 0 {
        return;
    }
    packed
        .par_chunks_mut(row_bytes.max(1))
        .zip(w.par_chunks(cols))
        .zip(
            scales
                .par_chunks_mut(groups)
                .zip(biases.par_chunks_mut(groups)),
        )
        .for_each(|((out, row), (sr, br))| {
            let mut acc: u64 = 0;
            let mut nbits = 0usize;
            let mut at = 0usize;
            for (g, group) in row.chunks(group_size).enumerate() {
                let (scale, bias) = group_scale_bias(group, bits);
                sr[g] = scale;
                br[g] = bias;
                for &x in group {
                    let q = ((x - bias) / scale).round_ties_even().clamp(0.0, n_bins);
                    acc |= (q as u64) << nbits;
                    nbits += bits;
                    while nbits >= 8 {
                        out[at] = acc as u8;
                        at += 1;
                        acc >>= 8;
                        nbits -= 8;
                    }
                }
            }
        });
}

/// The quantized values `start .. start + out.len()` of one packed row, as f32.
#[inline]
pub fn unpack_into(row: &[u8], bits: usize, start: usize, out: &mut [f32]) {
    match bits {
        4 if start.is_multiple_of(2) && out.len().is_multiple_of(2) => {
            let bytes = &row[start / 2..start / 2 + out.len() / 2];
            for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
                pair[0] = (b & 0x0f) as f32;
                pair[1] = (b >> 4) as f32;
            }
        }
        8 => {
            let n = out.len();
            for (o, &b) in out.iter_mut().zip(&row[start..start + n]) {
                *o = b as f32;
            }
        }
        _ => {
            let mask = (1u32 << bits) - 1;
            for (j, o) in out.iter_mut().enumerate() {
                let bit = (start + j) * bits;
                let byte = bit / 8;
                // a value spans at most two bytes (bits <= 8)
                let lo = row[byte] as u32;
                let hi = row.get(byte + 1).copied().unwrap_or(0) as u32;
                *o = (((lo | (hi << 8)) >> (bit % 8)) & mask) as f32;
            }
        }
    }
}

/// Row `r` of a packed matrix dequantized into `out` (`cols` values, f32): `s * q + b` per
/// group, multiply then add (MLX's dequantize), each rounded by `round` (to the scales' dtype:
/// the identity for f32; f16/bf16 results are then exactly MLX's half-precision arithmetic).
pub fn dequantize_row(
    packed_row: &[u8],
    scales: &[f32],
    biases: &[f32],
    group_size: usize,
    bits: usize,
    round: fn(f32) -> f32,
    out: &mut [f32],
) {
    for (g, chunk) in out.chunks_mut(group_size).enumerate() {
        unpack_into(packed_row, bits, g * group_size, chunk);
        let (s, b) = (scales[g], biases[g]);
        for v in chunk.iter_mut() {
            *v = round(round(*v * s) + b);
        }
    }
}

/// `out[m, n] = sum_k x[m, k] * W[n, k]` for a packed `W` of `n_rows` rows of `k` values (the
/// `transpose = true` product, `x @ W.T`), `x` `[m, k]` row-major. Per group the sum is
/// `s * (x · q) + b * sum(x)`, the dequantized row never stored: memory traffic is the packed
/// bytes, which is what makes a decode-shaped product fast.
#[allow(clippy::too_many_arguments)]
pub fn qmm_t(
    x: &[f32],
    m: usize,
    k: usize,
    packed: &[u8],
    scales: &[f32],
    biases: &[f32],
    group_size: usize,
    bits: usize,
    out: &mut [f32],
    n_rows: usize,
) {
    if k == 0 || n_rows == 0 {
        out.iter_mut().for_each(|v| *v = 0.0);
        return;
    }
    let groups = k / group_size;
    let row_bytes = k * bits / 8;
    // per example and group: the sum of x over the group
    let xsum: Vec<f32> = x
        .chunks(group_size)
        .map(|c| c.iter().sum::<f32>())
        .collect();
    // columns of the output (rows of W) in parallel; each task writes its column block of
    // every output row into a local buffer
    let block = (16384 / k.max(1)).clamp(8, 256);
    let starts: Vec<usize> = (0..n_rows).step_by(block).collect();
    let parts: Vec<(usize, Vec<f32>)> = starts
        .par_iter()
        .map(|&n0| {
            let n1 = (n0 + block).min(n_rows);
            let mut local = vec![0f32; m * (n1 - n0)];
            let mut q = vec![0f32; group_size];
            super::norm::with_simd(|| {
                for n in n0..n1 {
                    let row = &packed[n * row_bytes..(n + 1) * row_bytes];
                    let (sr, br) = (&scales[n * groups..], &biases[n * groups..]);
                    for g in 0..groups {
                        unpack_into(row, bits, g * group_size, &mut q);
                        let (s, b) = (sr[g], br[g]);
                        for mi in 0..m {
                            let xs = &x[mi * k + g * group_size..mi * k + (g + 1) * group_size];
                            let d = dot(xs, &q);
                            local[mi * (n1 - n0) + (n - n0)] += s * d + b * xsum[mi * groups + g];
                        }
                    }
                }
            });
            (n0, local)
        })
        .collect();
    for (n0, local) in parts {
        let width = local.len() / m.max(1);
        for mi in 0..m {
            out[mi * n_rows + n0..mi * n_rows + n0 + width]
                .copy_from_slice(&local[mi * width..(mi + 1) * width]);
        }
    }
}

/// `out[m, :] = sum_k x[m, k] * W[k, :]` for a packed `W` of `k` rows of `n` values (the
/// `transpose = false` product, `x @ W`): each row of `W` is dequantized once and added, scaled,
/// into every output row. Column blocks (whole groups) run in parallel.
#[allow(clippy::too_many_arguments)]
pub fn qmm(
    x: &[f32],
    m: usize,
    k: usize,
    packed: &[u8],
    scales: &[f32],
    biases: &[f32],
    group_size: usize,
    bits: usize,
    out: &mut [f32],
    n: usize,
) {
    out.iter_mut().for_each(|v| *v = 0.0);
    if k == 0 || n == 0 {
        return;
    }
    let groups = n / group_size;
    let row_bytes = n * bits / 8;
    let block_groups = (4096 / group_size).max(1);
    let blocks: Vec<usize> = (0..groups).step_by(block_groups).collect();
    let parts: Vec<(usize, Vec<f32>)> = blocks
        .par_iter()
        .map(|&g0| {
            let g1 = (g0 + block_groups).min(groups);
            let (c0, c1) = (g0 * group_size, g1 * group_size);
            let mut local = vec![0f32; m * (c1 - c0)];
            let mut wrow = vec![0f32; c1 - c0];
            super::norm::with_simd(|| {
                for kk in 0..k {
                    let row = &packed[kk * row_bytes..(kk + 1) * row_bytes];
                    for g in g0..g1 {
                        let chunk = &mut wrow[(g - g0) * group_size..(g - g0 + 1) * group_size];
                        unpack_into(row, bits, g * group_size, chunk);
                        let (s, b) = (scales[kk * groups + g], biases[kk * groups + g]);
                        for v in chunk.iter_mut() {
                            *v = *v * s + b;
                        }
                    }
                    for mi in 0..m {
                        let a = x[mi * k + kk];
                        let dst = &mut local[mi * (c1 - c0)..(mi + 1) * (c1 - c0)];
                        for (d, &w) in dst.iter_mut().zip(&wrow) {
                            *d += a * w;
                        }
                    }
                }
            });
            (c0, local)
        })
        .collect();
    for (c0, local) in parts {
        let width = local.len() / m.max(1);
        for mi in 0..m {
            out[mi * n + c0..mi * n + c0 + width]
                .copy_from_slice(&local[mi * width..(mi + 1) * width]);
        }
    }
}

/// A dot product in eight independent lanes (so it vectorises), then summed.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    const L: usize = 16;
    let mut acc = [0f32; L];
    let mut ca = a.chunks_exact(L);
    let mut cb = b.chunks_exact(L);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..L {
            acc[l] += x[l] * y[l];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (&x, &y) in ca.remainder().iter().zip(cb.remainder()) {
        s += x * y;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bit stream written by `quantize_rows` reads back with `unpack_into`, for every width.
    #[test]
    fn pack_and_unpack_round_trip() {
        for bits in AFFINE_BITS {
            let cols = 64;
            let w: Vec<f32> = (0..2 * cols)
                .map(|i| ((i * 37 % 101) as f32) - 50.0)
                .collect();
            let mut packed = vec![0u8; 2 * cols * bits / 8];
            let (mut s, mut b) = (vec![0f32; 4], vec![0f32; 4]);
            quantize_rows(&w, cols, 32, bits, &mut packed, &mut s, &mut b);
            let n_bins = ((1u32 << bits) - 1) as f32;
            for r in 0..2 {
                let mut q = vec![0f32; cols];
                unpack_into(
                    &packed[r * cols * bits / 8..(r + 1) * cols * bits / 8],
                    bits,
                    0,
                    &mut q,
                );
                for (j, &v) in q.iter().enumerate() {
                    let g = r * 2 + j / 32;
                    let want = ((w[r * cols + j] - b[g]) / s[g])
                        .round_ties_even()
                        .clamp(0.0, n_bins);
                    assert_eq!(v, want, "bits {bits} row {r} value {j}");
                }
            }
        }
    }
}
