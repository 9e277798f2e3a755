//! Fused scaled dot-product attention: per (batch, head) block, `S = scale * Q K^T` (one `gemm`
//! on the strided views), mask, row softmax, then `S @ V` (a second `gemm`), the blocks in
//! parallel. The same kernel can return the softmax probabilities instead (used by the vjp).

use super::parallel::for_each_chunk_mut;
use num_traits::Float;

use super::gemm::{gemm_one, GemmElem, Mat, Product, Scales};
use super::strided::offset_of;
use crate::buffer::{Buffer, Data};
use crate::Dtype;

/// The mask as the kernel sees it.
pub enum MaskData<'a> {
    /// No mask.
    None,
    /// Added to the scores; `[B, H, Lq, Lk]` (broadcast views allowed), compute dtype.
    Additive(&'a Data),
    /// Bool (u8) `[B, H, Lq, Lk]`: 0 positions get `-inf`.
    Keep(&'a Data),
    /// Query `i` sees keys `j <= i + Lk - Lq`.
    Causal,
}

/// Element types the attention kernel computes in (f16/bf16 run through f32).
pub trait AttnElem: GemmElem + Float {
    /// Softmax of one row in place.
    fn softmax_row(row: &mut [Self]);

    /// `row[i] = exp(row[i] - m)` in place; returns the sum.
    fn exp_shift_row(row: &mut [Self], m: Self) -> Self;
}

impl AttnElem for f32 {
    fn exp_shift_row(row: &mut [f32], m: f32) -> f32 {
        super::softmax::exp_shift_row_f32(row, m)
    }

    fn softmax_row(row: &mut [f32]) {
        // vectorised exp (16 lanes where the CPU has AVX-512): the scalar library exp was most
        // of the kernel's time for 64-key rows (W2's attention: 660 us for 32 heads of 64x64)
        super::softmax::softmax_row_in_place_f32(row)
    }
}

impl AttnElem for f64 {
    fn exp_shift_row(row: &mut [f64], m: f64) -> f64 {
        let mut sum = 0.0;
        for s in row.iter_mut() {
            *s = (*s - m).exp();
            sum += *s;
        }
        sum
    }

    fn softmax_row(row: &mut [f64]) {
        let mx = row.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        let mut sum = 0.0;
        for s in row.iter_mut() {
            *s = (*s - mx).exp();
            sum += *s;
        }
        let inv = sum.recip();
        for s in row.iter_mut() {
            *s *= inv;
        }
    }
}

fn mat(d: &Data, bh: usize, lead: &[usize]) -> Mat {
    Mat {
        offset: offset_of(bh, lead, &d.strides[..2], d.offset),
        rs: d.strides[2],
        cs: d.strides[3],
    }
}

/// Attention over `q [B,H,Lq,D]`, `k [B,H,Lk,D]`, `v [B,H,Lk,Dv]` (any strides, one dtype `T`).
/// Returns `[B,H,Lq,Dv]`, or the probabilities `[B,H,Lq,Lk]` when `probs` is set.
pub fn sdpa<T: AttnElem>(
    q: &Data,
    k: &Data,
    v: &Data,
    mask: &MaskData,
    scale: f64,
    probs: bool,
    dtype: Dtype,
) -> Data {
    let (b, h, lq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3]);
    let lk = k.shape[2];
    let dv = v.shape[3];
    let lead = [b, h];
    let item = if probs { lq * lk } else { lq * dv };
    let total = b * h * item;
    let mut buf = Buffer::new(total * dtype.size());
    if item == 0 {
        return Data::new(buf, dtype, &[b, h, lq, if probs { lk } else { dv }]);
    }
    let (qr, kr, vr) = (q.raw::<T>(), k.raw::<T>(), v.raw::<T>());
    let neg_inf = T::neg_infinity();
    let fill_probs = |bh: usize, scores: &mut [T]| {
        let qm = mat(q, bh, &lead);
        let km = mat(k, bh, &lead);
        // K^T as a [D, Lk] matrix: swap the strides
        let kt = Mat {
            offset: km.offset,
            rs: km.cs,
            cs: km.rs,
        };
        // SAFETY: q and k are valid strided [B,H,L,D] layouts over their buffers; scores holds
        // lq*lk elements owned by this block.
        unsafe {
            let p = Product {
                a_raw: qr,
                a: qm,
                b_raw: kr,
                b: kt,
                scales: Scales::overwrite(scale),
            };
            gemm_one(scores, (lq, lk, d), p, 1)
        };
        for i in 0..lq {
            let row = &mut scores[i * lk..(i + 1) * lk];
            match mask {
                MaskData::None => {}
                MaskData::Additive(m) => {
                    let mr = m.raw::<T>();
                    let base = offset_of(bh, &lead, &m.strides[..2], m.offset) as isize
                        + i as isize * m.strides[2];
                    for (j, s) in row.iter_mut().enumerate() {
                        *s = *s + mr[(base + j as isize * m.strides[3]) as usize];
                    }
                }
                MaskData::Keep(m) => {
                    let mr = m.raw::<u8>();
                    let base = offset_of(bh, &lead, &m.strides[..2], m.offset) as isize
                        + i as isize * m.strides[2];
                    for (j, s) in row.iter_mut().enumerate() {
                        if mr[(base + j as isize * m.strides[3]) as usize] == 0 {
                            *s = neg_inf;
                        }
                    }
                }
                MaskData::Causal => {
                    let last = i as isize + lk as isize - lq as isize;
                    for (j, s) in row.iter_mut().enumerate() {
                        if j as isize > last {
                            *s = neg_inf;
                        }
                    }
                }
            }
            T::softmax_row(row);
        }
    };
    let block = |bh: usize, out: &mut [T]| {
        if probs {
            fill_probs(bh, out);
        } else {
            let mut scores = vec![T::zero(); lq * lk];
            fill_probs(bh, &mut scores);
            let vm = mat(v, bh, &lead);
            let pm = Mat {
                offset: 0,
                rs: lk as isize,
                cs: 1,
            };
            // SAFETY: scores is a row-major lq x lk matrix; v is a valid strided [B,H,Lk,Dv]
            // layout; out is this block's lq*dv chunk.
            unsafe {
                let p = Product {
                    a_raw: &scores,
                    a: pm,
                    b_raw: vr,
                    b: vm,
                    scales: Scales::overwrite(1.0),
                };
                gemm_one(out, (lq, dv, lk), p, 1)
            };
        }
    };
    let out = &mut buf.as_mut_slice::<T>()[..total];
    let par = b * h > 1 && total * d.max(1) >= 1 << 15;
    if item > 0 {
        for_each_chunk_mut(out, item, par, &|first, o: &mut [T]| {
            for (k, o) in o.chunks_mut(item).enumerate() {
                block(first / item + k, o);
            }
        });
    }
    Data::new(buf, dtype, &[b, h, lq, if probs { lk } else { dv }])
}
