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

/// Each byte's two 4-bit values (low nibble first) as f32.
static NIBBLE_PAIRS: [[f32; 2]; 256] = {
    let mut t = [[0f32; 2]; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = [(b & 15) as f32, (b >> 4) as f32];
        b += 1;
    }
    t
};

/// The quantized values `start .. start + out.len()` of one packed row, as f32.
#[inline(always)]
pub fn unpack_into(row: &[u8], bits: usize, start: usize, out: &mut [f32]) {
    match bits {
        4 if start.is_multiple_of(2) && out.len().is_multiple_of(2) => {
            let bytes = &row[start / 2..start / 2 + out.len() / 2];
            for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
                pair.copy_from_slice(&NIBBLE_PAIRS[b as usize]);
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
/// f16/bf16 results are then exactly MLX's half-precision arithmetic).
#[inline(always)]
pub fn dequantize_row(
    packed_row: &[u8],
    scales: &[f32],
    biases: &[f32],
    group_size: usize,
    bits: usize,
    round: Rounding,
    out: &mut [f32],
) {
    for (g, chunk) in out.chunks_mut(group_size).enumerate() {
        unpack_into(packed_row, bits, g * group_size, chunk);
        let (s, b) = (scales[g], biases[g]);
        match round {
            Rounding::F32 => {
                for v in chunk.iter_mut() {
                    *v = *v * s + b;
                }
            }
            Rounding::F16 => {
                for v in chunk.iter_mut() {
                    let p = half::f16::from_f32(*v * s).to_f32();
                    *v = half::f16::from_f32(p + b).to_f32();
                }
            }
            Rounding::Bf16 => {
                for v in chunk.iter_mut() {
                    let p = half::bf16::from_f32(*v * s).to_f32();
                    *v = half::bf16::from_f32(p + b).to_f32();
                }
            }
        }
    }
}

/// The precision each step of a dequantization is rounded to: the scales' dtype.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// float32 arithmetic as it is.
    F32,
    /// Each product and sum rounded to float16.
    F16,
    /// Each product and sum rounded to bfloat16.
    Bf16,
}

/// `x` (one row of `k` values) split by position within a byte of `bits`-bit values: lane `p`
/// holds the values stored at bit offset `p * bits` of each byte (`x[j * per + p]`), so a packed
/// byte's values meet their `x` values at the same index of each lane.
fn deinterleave(x: &[f32], bits: usize) -> Vec<f32> {
    let per = 8 / bits;
    let kb = x.len() / per;
    let mut out = vec![0f32; x.len()];
    for (j, chunk) in x.chunks_exact(per).enumerate() {
        for (p, &v) in chunk.iter().enumerate() {
            out[p * kb + j] = v;
        }
    }
    out
}

/// `sum_g s_g * (x_g · q_g) + b_g * sum(x_g)` over the groups of one packed row of a power-of-two
/// width (`xd` from [`deinterleave`], `xsum` the per-group sums of `x`). The byte loop runs in
/// 16 lanes so it vectorises (a byte's values widened to f32 and multiplied in place).
#[inline(always)]
fn row_dot_pow2<const BITS: usize>(
    row: &[u8],
    xd: &[f32],
    scales: &[f32],
    biases: &[f32],
    xsum: &[f32],
    group_size: usize,
) -> f32 {
    let per = 8 / BITS;
    let mask: u8 = if BITS == 8 { 0xff } else { (1u8 << BITS) - 1 };
    let bpg = group_size / per;
    let kb = row.len();
    // per group: a lane-wise dot product scaled into lane-wise running sums (no horizontal sum
    // per group); the biases meet the per-group sums of x once at the end
    let mut acc = [0f32; 16];
    let mut tail = 0f32;
    let mut bias_part = 0f32;
    for (g, bytes) in row.chunks_exact(bpg).enumerate() {
        // the group's dot product lane by lane, then scaled into the running sums
        let mut accg = [0f32; 16];
        let mut tailg = 0f32;
        if BITS == 4 {
            // both nibbles of each byte from one widening: low nibbles meet lane 0 of x, high
            // nibbles lane 1
            let (x0, x1) = (
                &xd[g * bpg..(g + 1) * bpg],
                &xd[kb + g * bpg..kb + (g + 1) * bpg],
            );
            let mut cb = bytes.chunks_exact(16);
            let (mut c0, mut c1) = (x0.chunks_exact(16), x1.chunks_exact(16));
            for ((b16, a16), h16) in (&mut cb).zip(&mut c0).zip(&mut c1) {
                for l in 0..16 {
                    let v = b16[l] as u32;
                    accg[l] += (v & 15) as f32 * a16[l] + (v >> 4) as f32 * h16[l];
                }
            }
            for ((&b, &a), &h) in cb
                .remainder()
                .iter()
                .zip(c0.remainder())
                .zip(c1.remainder())
            {
                tailg += (b & 15) as f32 * a + (b >> 4) as f32 * h;
            }
            let s = scales[g];
            for l in 0..16 {
                acc[l] += s * accg[l];
            }
            tail += s * tailg;
            bias_part += biases[g] * xsum[g];
            continue;
        }
        for p in 0..per {
            let xp = &xd[p * kb + g * bpg..p * kb + (g + 1) * bpg];
            let shift = p * BITS;
            let mut cb = bytes.chunks_exact(16);
            let mut cx = xp.chunks_exact(16);
            for (b16, x16) in (&mut cb).zip(&mut cx) {
                for l in 0..16 {
                    accg[l] += ((b16[l] >> shift) & mask) as f32 * x16[l];
                }
            }
            for (&b, &x) in cb.remainder().iter().zip(cx.remainder()) {
                tailg += ((b >> shift) & mask) as f32 * x;
            }
        }
        let s = scales[g];
        for l in 0..16 {
            acc[l] += s * accg[l];
        }
        tail += s * tailg;
        bias_part += biases[g] * xsum[g];
    }
    acc.iter().sum::<f32>() + tail + bias_part
}

/// What every row of a `qmm_t` needs.
struct RowCtx<'a> {
    x: &'a [f32],
    k: usize,
    packed: &'a [u8],
    scales: &'a [f32],
    biases: &'a [f32],
    xsum: &'a [f32],
    xd: &'a [Vec<f32>],
    group_size: usize,
    bits: usize,
    row_bytes: usize,
    groups: usize,
    /// The kernel of 4-bit decode rows.
    q4: Q4Kernel,
}

impl RowCtx<'_> {
    /// `sum_g biases[n, g] * sum(x_g)`: the biases' part of output `n` (one row of `x`).
    fn bias_part(&self, n: usize) -> f32 {
        let g = self.groups;
        let br = &self.biases[n * g..(n + 1) * g];
        br.iter().zip(&self.xsum[..g]).map(|(b, s)| b * s).sum()
    }
}

/// Outputs `[0, n0 ..]` of `qmm_t` for one row of `x` through [`row_dot`] (every width and
/// group size; the tail rows of the explicit 4-bit kernels). Always inlined, so it takes the
/// SIMD features of its caller.
#[inline(always)]
fn portable_rows(c: &RowCtx, n0: usize, out: &mut [f32]) {
    let mut q = vec![0f32; c.group_size];
    for (i, v) in out.iter_mut().enumerate() {
        *v = row_dot(c, n0 + i, 0, &mut q);
    }
}

/// Which kernel computes 4-bit rows of a one-row `qmm_t` (the decode shape).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Q4Kernel {
    /// Eight rows at a time, 16 lanes, nibbles to floats by a table lookup.
    Avx512,
    /// Four rows at a time, 8 lanes.
    Avx2,
    /// The auto-vectorised loop of every width.
    Portable,
}

impl Q4Kernel {
    /// The fastest kernel this CPU runs; `RMLX_Q4_KERNEL=avx2|portable` picks a slower one (to
    /// compare them), read once.
    pub fn detect() -> Q4Kernel {
        static KERNEL: std::sync::OnceLock<Q4Kernel> = std::sync::OnceLock::new();
        *KERNEL.get_or_init(|| {
            let avail = Q4Kernel::available();
            match std::env::var("RMLX_Q4_KERNEL").as_deref() {
                Ok("portable") => Q4Kernel::Portable,
                Ok("avx2") if avail.contains(&Q4Kernel::Avx2) => Q4Kernel::Avx2,
                _ => avail.first().copied().unwrap_or(Q4Kernel::Portable),
            }
        })
    }

    /// The kernels this CPU can run, fastest first.
    pub fn available() -> Vec<Q4Kernel> {
        let mut v = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
            {
                v.push(Q4Kernel::Avx512);
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                v.push(Q4Kernel::Avx2);
            }
        }
        v.push(Q4Kernel::Portable);
        v
    }
}

/// Output `[mi, n]` of `qmm_t`. Always inlined, so it is compiled with the SIMD features of the
/// task that calls it ([`super::norm::with_simd`]).
#[inline(always)]
fn row_dot(c: &RowCtx, n: usize, mi: usize, q: &mut [f32]) -> f32 {
    let (g, gs) = (c.groups, c.group_size);
    let prow = &c.packed[n * c.row_bytes..(n + 1) * c.row_bytes];
    let (sr, br) = (&c.scales[n * g..(n + 1) * g], &c.biases[n * g..(n + 1) * g]);
    let xs = &c.xsum[mi * g..(mi + 1) * g];
    match c.bits {
        1 => row_dot_pow2::<1>(prow, &c.xd[mi], sr, br, xs, gs),
        2 => row_dot_pow2::<2>(prow, &c.xd[mi], sr, br, xs, gs),
        4 => row_dot_pow2::<4>(prow, &c.xd[mi], sr, br, xs, gs),
        8 => row_dot_pow2::<8>(prow, &c.xd[mi], sr, br, xs, gs),
        bits => {
            let mut total = 0f32;
            for j in 0..g {
                unpack_into(prow, bits, j * gs, q);
                let xg = &c.x[mi * c.k + j * gs..mi * c.k + (j + 1) * gs];
                total += sr[j] * dot(xg, q) + br[j] * xs[j];
            }
            total
        }
    }
}

/// 4-bit rows of `qmm_t` for one row of `x`, eight rows of `W` at a time, with AVX-512: each
/// 16 packed bytes are widened once to 16 lanes, and both nibbles become floats through a
/// 16-entry table (`vpermps` reads only an index's low four bits, so the low nibble needs no
/// mask); eight independent rows keep the FMA units busy and eight reads in flight. Per group
/// the lane sums are scaled once, and the biases meet the per-group sums of `x` at the end, as
/// in [`row_dot_pow2`].
///
/// # Safety
/// The CPU must support AVX-512F; `c.bits == 4` and `c.group_size` a multiple of 32 (so a group
/// is whole 16-byte chunks), and `out.len()` rows from `n0` must exist in `c.packed`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
unsafe fn rows8_avx512(c: &RowCtx, n0: usize, out: &mut [f32]) {
    use std::arch::x86_64::*;
    let (g, bpg, kb) = (c.groups, c.group_size / 2, c.row_bytes);
    let xd = &c.xd[0];
    let (x0, x1) = (&xd[..kb], &xd[kb..2 * kb]);
    let lut_vals: [f32; 16] = std::array::from_fn(|i| i as f32);
    // SAFETY: AVX-512F is enabled for this function (the caller checked the CPU); the loads
    // read `lut_vals` (16 f32), 16-byte chunks of a row inside `c.packed` and 16 f32 of `x0`/`x1`
    // at offsets below `kb`: every chunk starts at `j < kb` with `kb` a multiple of 16. The
    // next block's start is formed only when its eight rows exist (`r + 16 <= out.len()`);
    // prefetches are hints that never fault, their addresses inside that block.
    unsafe {
        let lut = _mm512_loadu_ps(lut_vals.as_ptr());
        let mut r = 0;
        while r + 8 <= out.len() {
            let n = n0 + r;
            let rows: [*const u8; 8] = std::array::from_fn(|i| c.packed.as_ptr().add((n + i) * kb));
            // the eight rows after these (16 KiB for k = 4096) are prefetched while these are
            // summed, as one sequential stream: the hardware prefetchers follow eight row
            // streams poorly, and this is what makes the product stream at memory speed
            let next_block = (r + 16 <= out.len()).then(|| c.packed.as_ptr().add((n + 8) * kb));
            let mut acc = [_mm512_setzero_ps(); 8];
            for gi in 0..g {
                let mut accg = [_mm512_setzero_ps(); 8];
                let mut j = gi * bpg;
                let end = j + bpg;
                while j < end {
                    if let Some(next) = next_block {
                        // the next block's 128 bytes for this step, in address order (to L2)
                        let p = next.wrapping_add(j * 8) as *const i8;
                        _mm_prefetch::<_MM_HINT_T1>(p);
                        _mm_prefetch::<_MM_HINT_T1>(p.wrapping_add(64));
                    }
                    let xa = _mm512_loadu_ps(x0.as_ptr().add(j));
                    let xb = _mm512_loadu_ps(x1.as_ptr().add(j));
                    for i in 0..8 {
                        let b =
                            _mm512_cvtepu8_epi32(_mm_loadu_si128(rows[i].add(j) as *const __m128i));
                        let lo = _mm512_permutexvar_ps(b, lut);
                        let hi = _mm512_permutexvar_ps(_mm512_srli_epi32::<4>(b), lut);
                        accg[i] = _mm512_fmadd_ps(lo, xa, accg[i]);
                        accg[i] = _mm512_fmadd_ps(hi, xb, accg[i]);
                    }
                    j += 16;
                }
                for i in 0..8 {
                    let s = _mm512_set1_ps(c.scales[(n + i) * g + gi]);
                    acc[i] = _mm512_fmadd_ps(s, accg[i], acc[i]);
                }
            }
            for i in 0..8 {
                out[r + i] = _mm512_reduce_add_ps(acc[i]) + c.bias_part(n + i);
            }
            r += 8;
        }
        // the last rows (fewer than eight) through the portable kernel
        portable_rows(c, n0 + r, &mut out[r..]);
    }
}

/// [`rows8_avx512`] with AVX2: four rows (sixteen registers), 8 lanes, the nibbles masked,
/// shifted and converted.
///
/// # Safety
/// The CPU must support AVX2 and FMA; the rest as [`rows8_avx512`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn rows4_avx2(c: &RowCtx, n0: usize, out: &mut [f32]) {
    use std::arch::x86_64::*;
    let (g, bpg, kb) = (c.groups, c.group_size / 2, c.row_bytes);
    let xd = &c.xd[0];
    let (x0, x1) = (&xd[..kb], &xd[kb..2 * kb]);
    // SAFETY: AVX2/FMA are enabled for this function (the caller checked the CPU); the loads
    // read 8-byte chunks of rows inside `c.packed` and 8 f32 of `x0`/`x1` at offsets below `kb`
    // (a multiple of 16). The next block's start is formed only when its four rows exist;
    // prefetches never fault.
    unsafe {
        let mask = _mm256_set1_epi32(15);
        let mut r = 0;
        while r + 4 <= out.len() {
            let n = n0 + r;
            let rows: [*const u8; 4] = std::array::from_fn(|i| c.packed.as_ptr().add((n + i) * kb));
            // the next four rows, prefetched in address order (see `rows8_avx512`)
            let next_block = (r + 8 <= out.len()).then(|| c.packed.as_ptr().add((n + 4) * kb));
            let mut acc = [_mm256_setzero_ps(); 4];
            for gi in 0..g {
                let mut accg = [_mm256_setzero_ps(); 4];
                let mut j = gi * bpg;
                let end = j + bpg;
                while j < end {
                    if let Some(next) = next_block {
                        // the next block's 32 bytes for this step: one line every other step
                        if j % 16 == 0 {
                            _mm_prefetch::<_MM_HINT_T1>(next.wrapping_add(j * 4) as *const i8);
                        }
                    }
                    let xa = _mm256_loadu_ps(x0.as_ptr().add(j));
                    let xb = _mm256_loadu_ps(x1.as_ptr().add(j));
                    for i in 0..4 {
                        let b =
                            _mm256_cvtepu8_epi32(_mm_loadl_epi64(rows[i].add(j) as *const __m128i));
                        let lo = _mm256_cvtepi32_ps(_mm256_and_si256(b, mask));
                        let hi = _mm256_cvtepi32_ps(_mm256_srli_epi32::<4>(b));
                        accg[i] = _mm256_fmadd_ps(lo, xa, accg[i]);
                        accg[i] = _mm256_fmadd_ps(hi, xb, accg[i]);
                    }
                    j += 8;
                }
                for i in 0..4 {
                    let s = _mm256_set1_ps(c.scales[(n + i) * g + gi]);
                    acc[i] = _mm256_fmadd_ps(s, accg[i], acc[i]);
                }
            }
            for i in 0..4 {
                let mut lanes = [0f32; 8];
                _mm256_storeu_ps(lanes.as_mut_ptr(), acc[i]);
                out[r + i] = lanes.iter().sum::<f32>() + c.bias_part(n + i);
            }
            r += 4;
        }
        portable_rows(c, n0 + r, &mut out[r..]);
    }
}

/// Outputs `[0, n0 ..]` of `qmm_t` for one row of `x`, compiled for AVX-512 or AVX2+FMA when
/// the CPU has them (the byte-widening loops then run 16 or 8 lanes wide).
fn rows_task(c: &RowCtx, n0: usize, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
        unsafe fn v4(c: &RowCtx, n0: usize, out: &mut [f32]) {
            portable_rows(c, n0, out)
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn v3(c: &RowCtx, n0: usize, out: &mut [f32]) {
            portable_rows(c, n0, out)
        }
        let q4 = c.bits == 4 && c.group_size.is_multiple_of(32);
        match c.q4 {
            // SAFETY: `Q4Kernel::Avx512` and `Avx2` are only chosen when the CPU has those
            // features (`Q4Kernel::available`); 4 bits with whole 16-byte chunks per group, and
            // `out` covers rows n0.. of `c.packed` (qmm_t's split).
            Q4Kernel::Avx512 if q4 => return unsafe { rows8_avx512(c, n0, out) },
            // SAFETY: as above.
            Q4Kernel::Avx2 if q4 => return unsafe { rows4_avx2(c, n0, out) },
            _ => {}
        }
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
        {
            // SAFETY: the CPU supports AVX-512F/BW (checked just above), the only requirement
            // of calling a function compiled with those features.
            return unsafe { v4(c, n0, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            return unsafe { v3(c, n0, out) };
        }
    }
    portable_rows(c, n0, out)
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
    qmm_t_with(
        Q4Kernel::detect(),
        x,
        m,
        k,
        packed,
        scales,
        biases,
        group_size,
        bits,
        out,
        n_rows,
    )
}

/// [`qmm_t`] with the 4-bit decode kernel chosen (one of [`Q4Kernel::available`]).
#[allow(clippy::too_many_arguments)]
pub fn qmm_t_with(
    q4: Q4Kernel,
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
    if k == 0 || n_rows == 0 || m == 0 {
        out.iter_mut().for_each(|v| *v = 0.0);
        return;
    }
    let groups = k / group_size;
    let row_bytes = k * bits / 8;
    let xsum: Vec<f32> = x
        .chunks(group_size)
        .map(|c| c.iter().sum::<f32>())
        .collect();
    let pow2 = matches!(bits, 1 | 2 | 4 | 8);
    let xd: Vec<Vec<f32>> = if pow2 {
        x.chunks(k).map(|r| deinterleave(r, bits)).collect()
    } else {
        Vec::new()
    };
    let ctx = RowCtx {
        x,
        k,
        packed,
        scales,
        biases,
        xsum: &xsum,
        xd: &xd,
        group_size,
        bits,
        row_bytes,
        groups,
        q4,
    };
    // rows of W in parallel, about 256 KiB of packed bytes per task
    let block = ((1 << 18) / row_bytes.max(1)).clamp(1, n_rows);
    if m == 1 {
        out[..n_rows]
            .par_chunks_mut(block)
            .enumerate()
            .for_each(|(c, o)| rows_task(&ctx, c * block, o));
        return;
    }
    let parts: Vec<(usize, Vec<f32>)> = (0..n_rows)
        .step_by(block)
        .collect::<Vec<_>>()
        .par_iter()
        .map(|&n0| {
            let n1 = (n0 + block).min(n_rows);
            let mut local = vec![0f32; m * (n1 - n0)];
            let mut q = vec![0f32; group_size];
            super::norm::with_simd(|| {
                for n in n0..n1 {
                    for mi in 0..m {
                        local[mi * (n1 - n0) + (n - n0)] = row_dot(&ctx, n, mi, &mut q);
                    }
                }
            });
            (n0, local)
        })
        .collect();
    for (n0, local) in parts {
        let width = local.len() / m;
        for mi in 0..m {
            out[mi * n_rows + n0..mi * n_rows + n0 + width]
                .copy_from_slice(&local[mi * width..(mi + 1) * width]);
        }
    }
}

/// Every row of a packed matrix dequantized to f32 (`rows * cols` values), rows in parallel;
/// `round` rounds each step to the scales' dtype (see [`dequantize_row`]).
#[allow(clippy::too_many_arguments)]
pub fn dequantize_rows(
    packed: &[u8],
    scales: &[f32],
    biases: &[f32],
    cols: usize,
    group_size: usize,
    bits: usize,
    round: Rounding,
    out: &mut [f32],
) {
    if cols == 0 {
        return;
    }
    let (row_bytes, groups) = (cols * bits / 8, cols / group_size);
    let rows_per_task = ((1 << 16) / cols).max(1);
    out.par_chunks_mut(cols * rows_per_task)
        .enumerate()
        .for_each(|(t, o)| {
            let r0 = t * rows_per_task;
            let task = |o: &mut [f32]| {
                for (i, orow) in o.chunks_mut(cols).enumerate() {
                    let r = r0 + i;
                    dequantize_row(
                        &packed[r * row_bytes..(r + 1) * row_bytes],
                        &scales[r * groups..(r + 1) * groups],
                        &biases[r * groups..(r + 1) * groups],
                        group_size,
                        bits,
                        round,
                        orow,
                    );
                }
            };
            with_wide_simd(o, task);
        });
}

/// Runs `f(o)` compiled for AVX-512 (F, BW) or AVX2+FMA when the CPU has them.
#[inline(always)]
fn with_wide_simd<F: FnOnce(&mut [f32])>(o: &mut [f32], f: F) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
        unsafe fn v4<F: FnOnce(&mut [f32])>(o: &mut [f32], f: F) {
            f(o)
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn v3<F: FnOnce(&mut [f32])>(o: &mut [f32], f: F) {
            f(o)
        }
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
        {
            // SAFETY: the CPU supports AVX-512F/BW (checked just above).
            return unsafe { v4(o, f) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            return unsafe { v3(o, f) };
        }
    }
    f(o)
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

    /// `qmm_t` of one row of `x` (the decode shape, which takes the four-row AVX-512 kernel on
    /// CPUs that have it, and its portable tail) against a naive sum over unpacked values, for
    /// row counts that are not multiples of four and groups of 32, 64 and 128.
    #[test]
    fn decode_rows_match_a_naive_sum() {
        for (bits, gs, n) in [
            (4, 32, 13),
            (4, 64, 9),
            (4, 128, 4),
            (4, 64, 3),
            (8, 64, 5),
            (3, 64, 6),
        ] {
            let k = 256;
            let w: Vec<f32> = (0..n * k)
                .map(|i| ((i * 7919 % 263) as f32) / 37.0 - 3.5)
                .collect();
            let x: Vec<f32> = (0..k)
                .map(|i| ((i * 131 % 97) as f32) / 29.0 - 1.6)
                .collect();
            let g = k / gs;
            let mut packed = vec![0u8; n * k * bits / 8];
            let (mut sc, mut bi) = (vec![0f32; n * g], vec![0f32; n * g]);
            quantize_rows(&w, k, gs, bits, &mut packed, &mut sc, &mut bi);
            for kernel in Q4Kernel::available() {
                let mut out = vec![0f32; n];
                qmm_t_with(kernel, &x, 1, k, &packed, &sc, &bi, gs, bits, &mut out, n);
                for r in 0..n {
                    let mut q = vec![0f32; k];
                    unpack_into(
                        &packed[r * k * bits / 8..(r + 1) * k * bits / 8],
                        bits,
                        0,
                        &mut q,
                    );
                    let want: f64 = (0..k)
                        .map(|j| {
                            (sc[r * g + j / gs] * q[j] + bi[r * g + j / gs]) as f64 * x[j] as f64
                        })
                        .sum();
                    let err = (out[r] as f64 - want).abs();
                    assert!(
                        err <= 1e-4 * (1.0 + want.abs()),
                        "{kernel:?} bits {bits} group {gs} row {r}: {} vs {want}",
                        out[r]
                    );
                }
            }
        }
    }

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
