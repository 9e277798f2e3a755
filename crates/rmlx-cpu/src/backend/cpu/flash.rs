//! Tiled attention with an online softmax (FlashAttention's schedule on the CPU): no `Lq x Lk`
//! score matrix is ever materialised, only one `BQ x BK` tile per task.
//!
//! Forward, per (batch, head) and tile of `BQ` queries: for each tile of `BK` keys,
//! `S = scale * Q K^T + mask` (one GEMM), a running row maximum `m` and sum `l` rescale the
//! accumulated output, `O += exp(S - m) V` (a second GEMM); at the end `O /= l`.
//!
//! Backward (FlashAttention-2): a first pass recomputes each query row's log-sum-exp `L` and
//! `D = rowsum(dO * O)`; the second recomputes `P = exp(S - L)` tile by tile and accumulates
//! `dV += P^T dO`, `dS = P * (dO V^T - D)`, `dQ += scale * dS K`, `dK += scale * dS^T Q`.
//! The per-block key gradients stay in `Lk x D` buffers; blocks run in parallel.

use super::attention::{AttnElem, MaskData};
use super::gemm::{gemm_one, Mat, Product, Scales};
use super::parallel::for_each_chunk_mut;
use super::strided::offset_of;
use crate::buffer::{Buffer, Data};
use crate::Dtype;

/// Queries per tile.
const BQ: usize = 64;
/// Keys per tile.
const BK: usize = 128;

/// The `[Lq, Lk]` matrix of block `bh` of a `[B, H, L, D]` layout.
fn mat(d: &Data, bh: usize, lead: &[usize]) -> Mat {
    Mat {
        offset: offset_of(bh, lead, &d.strides[..2], d.offset),
        rs: d.strides[2],
        cs: d.strides[3],
    }
}

/// Rows `r0..` of `m`.
fn rows(m: Mat, r0: usize) -> Mat {
    Mat {
        offset: (m.offset as isize + r0 as isize * m.rs) as usize,
        ..m
    }
}

/// The transpose of `m`.
fn t(m: Mat) -> Mat {
    Mat {
        offset: m.offset,
        rs: m.cs,
        cs: m.rs,
    }
}

/// A row-major `rows x cols` matrix at the start of its buffer.
fn dense(cols: usize) -> Mat {
    Mat {
        offset: 0,
        rs: cols as isize,
        cs: 1,
    }
}

/// `dst (m x n, row-major) = alpha * a @ b`, or `+=` when `acc`.
///
/// # Safety
/// `a` (`m x k`) and `b` (`k x n`) must lie inside `a_raw` and `b_raw`; `dst` holds `m * n`.
#[allow(clippy::too_many_arguments)]
unsafe fn mm<T: AttnElem>(
    dst: &mut [T],
    (m, n, k): (usize, usize, usize),
    (a_raw, a): (&[T], Mat),
    (b_raw, b): (&[T], Mat),
    alpha: f64,
    acc: bool,
) {
    let scales = Scales {
        read_dst: acc,
        alpha_dst: if acc { 1.0 } else { 0.0 },
        alpha,
    };
    let p = Product {
        a_raw,
        a,
        b_raw,
        b,
        scales,
    };
    // SAFETY: forwarded from the caller.
    unsafe { gemm_one(&mut dst[..m * n], (m, n, k), p, 1) }
}

/// One block's index and its `dq`, `dk`, `dv` rows.
type BlockGrads<'a, T> = (usize, &'a mut [T], &'a mut [T], &'a mut [T]);

/// What every block reads.
struct Inputs<'a, T> {
    q: &'a Data,
    k: &'a Data,
    v: &'a Data,
    mask: &'a MaskData<'a>,
    scale: f64,
    lead: [usize; 2],
    raws: (&'a [T], &'a [T], &'a [T]),
}

impl<T: AttnElem> Inputs<'_, T> {
    fn dims(&self) -> (usize, usize, usize, usize) {
        (
            self.q.shape[2],
            self.k.shape[2],
            self.q.shape[3],
            self.v.shape[3],
        )
    }

    /// Key tiles `k0` below which query rows `q0..q0 + mq` see something (causal masks skip the
    /// tiles past the diagonal).
    fn key_end(&self, q0: usize, mq: usize) -> usize {
        let (lq, lk, _, _) = self.dims();
        match self.mask {
            MaskData::Causal => {
                let last = (q0 + mq) as isize - 1 + lk as isize - lq as isize;
                (last + 1).clamp(0, lk as isize) as usize
            }
            _ => lk,
        }
    }

    /// `s (mq x nk) = scale * Q[q0..] K[k0..]^T + mask` for block `bh`.
    fn scores(&self, bh: usize, (q0, mq): (usize, usize), (k0, nk): (usize, usize), s: &mut [T]) {
        let (lq, lk, d, _) = self.dims();
        let qm = rows(mat(self.q, bh, &self.lead), q0);
        let km = rows(mat(self.k, bh, &self.lead), k0);
        // SAFETY: q and k are valid strided [B,H,L,D] layouts; the rows taken are in range.
        unsafe {
            mm(
                s,
                (mq, nk, d),
                (self.raws.0, qm),
                (self.raws.1, t(km)),
                self.scale,
                false,
            )
        };
        let neg_inf = T::neg_infinity();
        // the start of the mask row of query `qi` and the stride along its keys, with the keys
        // `k0..k0 + nk` as one slice when they are contiguous (the usual row-major mask: a
        // vectorised add instead of an index computation per score)
        let mask_row = |m: &Data, qi: usize| {
            let base = offset_of(bh, &self.lead, &m.strides[..2], m.offset) as isize
                + qi as isize * m.strides[2]
                + k0 as isize * m.strides[3];
            (base, m.strides[3])
        };
        for i in 0..mq {
            let row = &mut s[i * nk..(i + 1) * nk];
            let qi = q0 + i;
            match self.mask {
                MaskData::None => {}
                MaskData::Additive(m) => {
                    let mr = m.raw::<T>();
                    let (base, step) = mask_row(m, qi);
                    if step == 1 {
                        let base = base as usize;
                        for (x, &a) in row.iter_mut().zip(&mr[base..base + nk]) {
                            *x = *x + a;
                        }
                    } else {
                        for (j, x) in row.iter_mut().enumerate() {
                            *x = *x + mr[(base + j as isize * step) as usize];
                        }
                    }
                }
                MaskData::Keep(m) => {
                    let mr = m.raw::<u8>();
                    let (base, step) = mask_row(m, qi);
                    if step == 1 {
                        let base = base as usize;
                        for (x, &keep) in row.iter_mut().zip(&mr[base..base + nk]) {
                            if keep == 0 {
                                *x = neg_inf;
                            }
                        }
                    } else {
                        for (j, x) in row.iter_mut().enumerate() {
                            if mr[(base + j as isize * step) as usize] == 0 {
                                *x = neg_inf;
                            }
                        }
                    }
                }
                MaskData::Causal => {
                    // keys past `last` are hidden: the row from key `last + 1` on
                    let last = qi as isize + lk as isize - lq as isize;
                    let from = (last + 1 - k0 as isize).clamp(0, nk as isize) as usize;
                    row[from..].fill(neg_inf);
                }
            }
        }
    }
}

/// `sum(a[c] * b[c])`, accumulated in the order `c = 0, 1, ..` (the strided loop's order, so
/// both layouts give the same bits).
fn row_dot<T: AttnElem>(a: &[T], b: &[T]) -> T {
    a.iter().zip(b).fold(T::zero(), |acc, (&x, &y)| acc + x * y)
}

/// Row maximum (NaN-ignoring, `-inf` for an empty or fully masked row).
fn row_max<T: AttnElem>(row: &[T]) -> T {
    row.iter().fold(T::neg_infinity(), |a, &b| a.max(b))
}

/// Folds one tile of a query row's scores into its running maximum `m` and sum `l`: the row
/// becomes `exp(row - m)` for the new maximum (zeros while the row has seen no key) and the
/// factor the earlier terms must be rescaled by is returned (`None` when nothing was seen).
fn online_row<T: AttnElem>(row: &mut [T], m: &mut T, l: &mut T) -> Option<T> {
    let m_new = m.max(row_max(row));
    if m_new == T::neg_infinity() {
        row.fill(T::zero());
        return None;
    }
    let sum = T::exp_shift_row(row, m_new);
    let corr = (*m - m_new).exp();
    *l = *l * corr + sum;
    *m = m_new;
    Some(corr)
}

/// Attention `softmax(scale * q k^T + mask) v` over `q [B,H,Lq,D]`, `k [B,H,Lk,D]`,
/// `v [B,H,Lk,Dv]` (any strides, one dtype `T`), tile by tile; a fully masked query row gives
/// NaN, as the unfused softmax does.
pub fn sdpa_tiled<T: AttnElem>(
    q: &Data,
    k: &Data,
    v: &Data,
    mask: &MaskData,
    scale: f64,
    dtype: Dtype,
) -> Data {
    let (b, h, lq, _) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3]);
    let dv = v.shape[3];
    let item = lq * dv;
    let total = b * h * item;
    let mut buf = Buffer::new(total * dtype.size());
    let shape = [b, h, lq, dv];
    if total == 0 {
        return Data::new(buf, dtype, &shape);
    }
    let inp = Inputs::<T> {
        q,
        k,
        v,
        mask,
        scale,
        lead: [b, h],
        raws: (q.raw::<T>(), k.raw::<T>(), v.raw::<T>()),
    };
    let block = |bh: usize, out: &mut [T]| forward_block(&inp, bh, out);
    let out = &mut buf.as_mut_slice::<T>()[..total];
    let par = b * h > 1 && total * q.shape[3].max(1) >= 1 << 15;
    for_each_chunk_mut(out, item, par, &|first, o: &mut [T]| {
        for (j, o) in o.chunks_mut(item).enumerate() {
            block(first / item + j, o);
        }
    });
    Data::new(buf, dtype, &shape)
}

fn forward_block<T: AttnElem>(inp: &Inputs<T>, bh: usize, out: &mut [T]) {
    let (lq, _, _, dv) = inp.dims();
    let vm = mat(inp.v, bh, &inp.lead);
    let mut s = vec![T::zero(); BQ * BK];
    let (mut m, mut l) = (vec![T::zero(); BQ], vec![T::zero(); BQ]);
    for q0 in (0..lq).step_by(BQ) {
        let mq = BQ.min(lq - q0);
        let o = &mut out[q0 * dv..(q0 + mq) * dv];
        o.fill(T::zero());
        m[..mq].fill(T::neg_infinity());
        l[..mq].fill(T::zero());
        let end = inp.key_end(q0, mq);
        let mut k0 = 0;
        while k0 < end {
            let nk = BK.min(end - k0);
            inp.scores(bh, (q0, mq), (k0, nk), &mut s);
            for i in 0..mq {
                let row = &mut s[i * nk..(i + 1) * nk];
                if let Some(corr) = online_row(row, &mut m[i], &mut l[i]) {
                    if corr != T::one() {
                        o[i * dv..(i + 1) * dv]
                            .iter_mut()
                            .for_each(|x| *x = *x * corr);
                    }
                }
            }
            // SAFETY: s holds an mq x nk row-major tile; v's rows k0.. are in range.
            unsafe {
                mm(
                    o,
                    (mq, dv, nk),
                    (&s, dense(nk)),
                    (inp.raws.2, rows(vm, k0)),
                    1.0,
                    true,
                )
            };
            k0 += nk;
        }
        for i in 0..mq {
            // a fully masked row has l = 0: 0 * inf = NaN, as softmax of all -inf
            let inv = T::one() / l[i];
            let row = &mut o[i * dv..(i + 1) * dv];
            if l[i] == T::zero() {
                row.fill(T::nan());
            } else {
                row.iter_mut().for_each(|x| *x = *x * inv);
            }
        }
    }
}

/// The gradients `(dq, dk, dv)` of [`sdpa_tiled`] given its output `o` and the output's
/// cotangent `d_o` (both `[B,H,Lq,Dv]`, any strides), recomputing the probabilities tile by
/// tile. A fully masked query row contributes nothing.
#[allow(clippy::too_many_arguments)]
pub fn sdpa_tiled_vjp<T: AttnElem>(
    q: &Data,
    k: &Data,
    v: &Data,
    mask: &MaskData,
    scale: f64,
    o: &Data,
    d_o: &Data,
    dtype: Dtype,
) -> [Data; 3] {
    let (b, h, lq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3]);
    let (lk, dv) = (k.shape[2], v.shape[3]);
    let nb = b * h;
    let sizes = [lq * d, lk * d, lk * dv];
    let mut bufs: [Buffer; 3] = sizes.map(|n| Buffer::new(nb * n * dtype.size()));
    let inp = Inputs::<T> {
        q,
        k,
        v,
        mask,
        scale,
        lead: [b, h],
        raws: (q.raw::<T>(), k.raw::<T>(), v.raw::<T>()),
    };
    {
        let [bq, bk, bv] = &mut bufs[..] else {
            unreachable!("three buffers")
        };
        let dq = &mut bq.as_mut_slice::<T>()[..nb * sizes[0]];
        let dk = &mut bk.as_mut_slice::<T>()[..nb * sizes[1]];
        let dvv = &mut bv.as_mut_slice::<T>()[..nb * sizes[2]];
        let mut tasks: Vec<BlockGrads<T>> = dq
            .chunks_mut(sizes[0].max(1))
            .zip(dk.chunks_mut(sizes[1].max(1)))
            .zip(dvv.chunks_mut(sizes[2].max(1)))
            .enumerate()
            .map(|(bh, ((a, b), c))| (bh, a, b, c))
            .collect();
        let par = nb > 1 && nb * lq * lk * d.max(1) >= 1 << 15;
        for_each_chunk_mut(&mut tasks, 1, par, &|_, ts| {
            for (bh, dq, dk, dv) in ts.iter_mut() {
                backward_block(&inp, *bh, o, d_o, dq, dk, dv);
            }
        });
    }
    let [bq, bk, bv] = bufs;
    [
        Data::new(bq, dtype, &[b, h, lq, d]),
        Data::new(bk, dtype, &[b, h, lk, d]),
        Data::new(bv, dtype, &[b, h, lk, dv]),
    ]
}

#[allow(clippy::too_many_arguments)]
fn backward_block<T: AttnElem>(
    inp: &Inputs<T>,
    bh: usize,
    o: &Data,
    d_o: &Data,
    dq: &mut [T],
    dk: &mut [T],
    dvv: &mut [T],
) {
    let (lq, _, d, dv) = inp.dims();
    let (or, dor) = (o.raw::<T>(), d_o.raw::<T>());
    let (om, dom) = (mat(o, bh, &inp.lead), mat(d_o, bh, &inp.lead));
    let (qm, km, vm) = (
        mat(inp.q, bh, &inp.lead),
        mat(inp.k, bh, &inp.lead),
        mat(inp.v, bh, &inp.lead),
    );
    let at = |m: Mat, i: usize, j: usize| {
        (m.offset as isize + i as isize * m.rs + j as isize * m.cs) as usize
    };
    dq.fill(T::zero());
    dk.fill(T::zero());
    dvv.fill(T::zero());
    let mut s = vec![T::zero(); BQ * BK];
    let mut dp = vec![T::zero(); BQ * BK];
    let (mut lse, mut dsum) = (vec![T::zero(); BQ], vec![T::zero(); BQ]);
    // the scores of a query tile whose keys are one tile, kept from pass 1 for pass 2 (the
    // same numbers `scores` would compute again)
    let mut kept = Vec::new();
    for q0 in (0..lq).step_by(BQ) {
        let mq = BQ.min(lq - q0);
        let end = inp.key_end(q0, mq);
        let one_tile = end <= BK;
        // pass 1: each row's log-sum-exp and D = rowsum(dO * O)
        let mut m = vec![T::neg_infinity(); mq];
        let mut l = vec![T::zero(); mq];
        let mut k0 = 0;
        while k0 < end {
            let nk = BK.min(end - k0);
            inp.scores(bh, (q0, mq), (k0, nk), &mut s);
            if one_tile {
                kept.clear();
                kept.extend_from_slice(&s[..mq * nk]);
            }
            for i in 0..mq {
                online_row(&mut s[i * nk..(i + 1) * nk], &mut m[i], &mut l[i]);
            }
            k0 += nk;
        }
        for i in 0..mq {
            // a fully masked row: +inf makes its probabilities exp(-inf) = 0
            lse[i] = if l[i] == T::zero() {
                T::infinity()
            } else {
                m[i] + l[i].ln()
            };
            dsum[i] = if om.cs == 1 && dom.cs == 1 {
                // rows of contiguous elements (the usual layouts): slices, no index per element
                let (a, b) = (at(dom, q0 + i, 0), at(om, q0 + i, 0));
                row_dot(&dor[a..a + dv], &or[b..b + dv])
            } else {
                let mut acc = T::zero();
                for c in 0..dv {
                    acc = acc + dor[at(dom, q0 + i, c)] * or[at(om, q0 + i, c)];
                }
                acc
            };
        }
        // pass 2: the gradients
        let mut k0 = 0;
        while k0 < end {
            let nk = BK.min(end - k0);
            if one_tile {
                s[..mq * nk].copy_from_slice(&kept);
            } else {
                inp.scores(bh, (q0, mq), (k0, nk), &mut s);
            }
            for i in 0..mq {
                T::exp_shift_row(&mut s[i * nk..(i + 1) * nk], lse[i]);
            }
            // SAFETY (all four products): s and dp hold mq x nk row-major tiles; the strided
            // operands' rows q0.. / k0.. are in range; dq, dk, dv are this block's row-major
            // [lq, d], [lk, d], [lk, dv] buffers and the rows written are in range.
            unsafe {
                // dV[k0..] += P^T dO[q0..]
                mm(
                    &mut dvv[k0 * dv..(k0 + nk) * dv],
                    (nk, dv, mq),
                    (&s, t(dense(nk))),
                    (dor, rows(dom, q0)),
                    1.0,
                    true,
                );
                // dP = dO[q0..] V[k0..]^T
                mm(
                    &mut dp,
                    (mq, nk, dv),
                    (dor, rows(dom, q0)),
                    (inp.raws.2, t(rows(vm, k0))),
                    1.0,
                    false,
                );
            }
            for i in 0..mq {
                let (p, g) = (&s[i * nk..(i + 1) * nk], &mut dp[i * nk..(i + 1) * nk]);
                for (g, &p) in g.iter_mut().zip(p) {
                    *g = p * (*g - dsum[i]);
                }
            }
            // SAFETY: as above.
            unsafe {
                // dQ[q0..] += scale * dS K[k0..]
                mm(
                    &mut dq[q0 * d..(q0 + mq) * d],
                    (mq, d, nk),
                    (&dp, dense(nk)),
                    (inp.raws.1, rows(km, k0)),
                    inp.scale,
                    true,
                );
                // dK[k0..] += scale * dS^T Q[q0..]
                mm(
                    &mut dk[k0 * d..(k0 + nk) * d],
                    (nk, d, mq),
                    (&dp, t(dense(nk))),
                    (inp.raws.0, rows(qm, q0)),
                    inp.scale,
                    true,
                );
            }
            k0 += nk;
        }
    }
}
