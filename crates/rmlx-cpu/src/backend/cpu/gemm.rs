//! Matrix products on strided data through the `gemm` crate.
//!
//! `gemm` takes a row and a column stride for each operand, so transposed, sliced and broadcast
//! views (`w.t()`, `x[.., ::2]`, a batch axis of stride 0) are multiplied in place: nothing is
//! copied. bf16 (which `gemm` lacks) is converted to f32, multiplied and rounded back once.

use bytemuck::Pod;
use half::{bf16, f16};
use rayon::prelude::*;

use super::copy::contiguous;
use super::elementwise::map_unary;
use super::strided::offset_of;
use crate::buffer::{Buffer, Data};
use crate::{bail, Dtype, Result};

/// Multiply-adds per product below which one product stays on one thread.
const PAR_MIN_MACS: usize = 96 * 96 * 96;

/// Multiply-adds per batch item up to which a batched product splits the batch over threads
/// (each item then runs single-threaded); above it the items run one after another, each using
/// `gemm`'s own threads.
const BATCH_PAR_MAX_MACS: usize = 1 << 22;

/// Element types `gemm` multiplies natively.
pub trait GemmElem: Pod + Send + Sync + 'static {
    /// Converts a scale factor.
    fn from_f64(v: f64) -> Self;
}
impl GemmElem for f32 {
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}
impl GemmElem for f64 {
    fn from_f64(v: f64) -> Self {
        v
    }
}
impl GemmElem for crate::dtype::Complex32 {
    fn from_f64(v: f64) -> Self {
        crate::dtype::Complex32::new(v as f32, 0.0)
    }
}
impl GemmElem for f16 {
    fn from_f64(v: f64) -> Self {
        f16::from_f64(v)
    }
}

/// One strided matrix inside a buffer.
#[derive(Clone, Copy)]
pub(crate) struct Mat {
    /// Element `[0, 0]`.
    pub offset: usize,
    /// Row stride.
    pub rs: isize,
    /// Column stride.
    pub cs: isize,
}

fn mat_of(d: &Data, batch_index: usize, batch_shape: &[usize]) -> Mat {
    let nd = d.shape.len();
    let offset = offset_of(batch_index, batch_shape, &d.strides[..nd - 2], d.offset);
    Mat {
        offset,
        rs: d.strides[nd - 2],
        cs: d.strides[nd - 1],
    }
}

/// How a product combines with its destination: `dst = alpha_dst * dst + alpha * (a @ b)`, the old
/// `dst` read only when `read_dst`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scales {
    /// Whether `dst` holds a term to keep (`addmm`'s `c`).
    pub read_dst: bool,
    /// Scale of that term.
    pub alpha_dst: f64,
    /// Scale of the product.
    pub alpha: f64,
}

impl Scales {
    /// `dst = alpha * (a @ b)`.
    pub fn overwrite(alpha: f64) -> Scales {
        Scales {
            read_dst: false,
            alpha_dst: 0.0,
            alpha,
        }
    }
}

/// One product's operands: strided matrices inside their buffers, and the [`Scales`].
#[derive(Clone, Copy)]
pub(crate) struct Product<'a, T> {
    /// The buffer `a` lives in.
    pub a_raw: &'a [T],
    /// `a` (`m x k`) inside `a_raw`.
    pub a: Mat,
    /// The buffer `b` lives in.
    pub b_raw: &'a [T],
    /// `b` (`k x n`) inside `b_raw`.
    pub b: Mat,
    /// How the product meets `dst`.
    pub scales: Scales,
}

/// `dst = alpha_dst * dst + alpha * (a @ b)` for one `m x k` by `k x n` product, `dst` row-major.
///
/// # Safety
/// `p.a`/`p.b` must describe matrices whose every element lies inside `p.a_raw`/`p.b_raw`, and
/// `dst` must hold `m * n` elements.
pub(crate) unsafe fn gemm_one<T: GemmElem>(
    dst: &mut [T],
    (m, n, k): (usize, usize, usize),
    p: Product<T>,
    threads: usize,
) {
    let Product {
        a_raw,
        a,
        b_raw,
        b,
        scales,
    } = p;
    let Scales {
        read_dst,
        alpha_dst,
        ..
    } = scales;
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // an empty sum: the product is zero
        let s = T::from_f64(0.0);
        if read_dst {
            let f = alpha_dst;
            for v in dst.iter_mut() {
                *v = T::from_f64(to_f64(*v) * f);
            }
        } else {
            dst.fill(s);
        }
        return;
    }
    let parallel = threads > 1 && m * n * k >= PAR_MIN_MACS;
    if parallel {
        if let Some(split) = Split::choose(m, n, k, threads) {
            // SAFETY: forwarded from the caller (see `gemm_split`).
            unsafe { gemm_split(dst, (m, n, k), p, split) };
            return;
        }
    }
    let par = if parallel {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the caller guarantees every element addressed through (offset, rs, cs) over
    // m x k (resp. k x n) lies in the raw slices, and dst holds m*n row-major elements that no
    // one else reads while gemm writes them.
    unsafe {
        gemm_raw(
            dst.as_mut_ptr(),
            n,
            (m, n, k),
            (a_raw.as_ptr().add(a.offset), a),
            (b_raw.as_ptr().add(b.offset), b),
            scales,
            par,
        )
    }
}

/// How a product is cut into independent single-threaded pieces, one per thread.
///
/// `gemm`'s own rayon mode splits finer and loses 10–25 % on the medium shapes of a training step
/// (W2/W3: 256–512 rows, 256–1024 columns). Measured on 2 threads (Xeon, AVX-512, GFLOP/s, median
/// of 9 interleaved rounds, `gemm` rayon vs. our column split): 256x512x784 with a transposed `b`
/// 217 vs 253, 512x256x256 221 vs 251, 512x1024x256 244 vs 279, 512x256x1024 208 vs 252,
/// 256x256x512 (transposed `a`) 165 vs 210, 512^3 288 vs 298, 1024^3 310 vs 313. Splitting rows
/// was about as good for tall products and worse for wide ones, so columns come first, unless the
/// product is [`TALL`].
#[derive(Clone, Copy, Debug)]
enum Split {
    /// `parts` blocks of whole columns, each a multiple of [`SPLIT_ALIGN`] but the last.
    Columns { parts: usize, per: usize },
    /// `parts` blocks of whole rows.
    Rows { parts: usize, per: usize },
}

/// Products with at least this many times more rows than columns are cut into row blocks: with
/// column blocks every thread would pack the whole tall `a`. Measured on 2 threads (Xeon,
/// AVX-512, median of interleaved runs): W2's `linear1` weight gradient 1024x512x256 with a
/// transposed `a` 1450-1500 us split by columns, 1113-1149 us by rows; at twice as many rows as
/// columns (512x256) the two splits were level or columns ahead, so they stay with columns.
const TALL: usize = 4;

/// Column blocks are cut at multiples of this (16 f32 lanes: one AVX-512 register).
const SPLIT_ALIGN: usize = 16;

/// The narrowest block a thread is given (below it `gemm`'s own scheduling is kept).
const SPLIT_MIN: usize = 64;

/// Multiply-adds per thread below which `gemm`'s own, finer scheduling is kept. With one block
/// per thread, a worker that wakes late leaves its whole block to the other (it then runs
/// serially); `gemm` cuts smaller pieces that the awake thread picks up one by one. Measured from
/// the main thread on 2 threads: 256^3 (8.4M per thread) `gemm` 209 vs split 191 GFLOP/s; the
/// products above (16M per thread and more) gain from the split.
const SPLIT_MIN_MACS_PER_THREAD: usize = 12 << 20;

impl Split {
    fn choose(m: usize, n: usize, k: usize, threads: usize) -> Option<Split> {
        if m * n * k < SPLIT_MIN_MACS_PER_THREAD * threads {
            return None;
        }
        let rows = || {
            let per = m.div_ceil(threads);
            Split::Rows {
                parts: m.div_ceil(per),
                per,
            }
        };
        if m >= TALL * n && m >= SPLIT_MIN * threads {
            return Some(rows());
        }
        if n >= SPLIT_MIN * threads {
            let per = n.div_ceil(threads).div_ceil(SPLIT_ALIGN) * SPLIT_ALIGN;
            return Some(Split::Columns {
                parts: n.div_ceil(per),
                per,
            });
        }
        if m >= SPLIT_MIN * threads {
            return Some(rows());
        }
        None
    }
}

/// A pointer that may cross threads; each thread only touches its own disjoint block.
#[derive(Clone, Copy)]
struct SharedPtr<T>(*mut T);
// SAFETY: used only to hand disjoint blocks of one output to rayon tasks (see `gemm_split`).
unsafe impl<T> Send for SharedPtr<T> {}
// SAFETY: as above; the pointer itself is never written through by two tasks at one address.
unsafe impl<T> Sync for SharedPtr<T> {}

impl<T> SharedPtr<T> {
    /// The pointer (a method, so closures capture the whole `Send` wrapper, not the raw field).
    fn get(self) -> *mut T {
        self.0
    }
}

/// [`gemm_one`] cut into `split`'s blocks, one single-threaded `gemm` call per block.
///
/// # Safety
/// As [`gemm_one`].
unsafe fn gemm_split<T: GemmElem>(
    dst: &mut [T],
    (m, n, k): (usize, usize, usize),
    prod: Product<T>,
    split: Split,
) {
    debug_assert!(dst.len() >= m * n);
    let out = SharedPtr(dst.as_mut_ptr());
    let Product { a, b, scales, .. } = prod;
    let (pa, pb) = (prod.a_raw.as_ptr() as usize, prod.b_raw.as_ptr() as usize);
    let parts = match split {
        Split::Columns { parts, .. } | Split::Rows { parts, .. } => parts,
    };
    (0..parts).into_par_iter().for_each(|p| {
        let (pa, pb) = (pa as *const T, pb as *const T);
        // SAFETY: block `p` covers rows [r0, r0 + rows) and columns [c0, c0 + cols) of the
        // output, disjoint from every other block; its `a` rows and `b` columns are a subset of
        // the full operands, which the caller guarantees lie inside `a_raw`/`b_raw`. The offsets
        // below move the operand origins to the block's first row / column with the same
        // strides, so every address stays inside the same valid ranges.
        unsafe {
            let (r0, rows, c0, cols) = match split {
                Split::Columns { per, .. } => (0, m, p * per, per.min(n - p * per)),
                Split::Rows { per, .. } => (p * per, per.min(m - p * per), 0, n),
            };
            let a_origin = pa.offset(a.offset as isize + r0 as isize * a.rs);
            let b_origin = pb.offset(b.offset as isize + c0 as isize * b.cs);
            gemm_raw(
                out.get().add(r0 * n + c0),
                n,
                (rows, cols, k),
                (a_origin, a),
                (b_origin, b),
                scales,
                gemm::Parallelism::None,
            );
        }
    });
}

/// Products with 2 to this many rows and a column-major right operand run transposed (see
/// [`gemm_raw`]).
const SHORT_ROWS: usize = 64;

/// One `gemm` call writing a row-major block with row stride `ld`.
///
/// # Safety
/// `dst` must address `m` rows of `n` writable elements `ld` apart that no one else touches;
/// `a`/`b` (origins already applied) must address `m x k` / `k x n` readable elements through
/// their strides.
unsafe fn gemm_raw<T: GemmElem>(
    dst: *mut T,
    ld: usize,
    (m, n, k): (usize, usize, usize),
    (a, am): (*const T, Mat),
    (b, bm): (*const T, Mat),
    scales: Scales,
    par: gemm::Parallelism,
) {
    // A short, wide product with a column-major `b` (a Linear layer's `x @ W.T` for a few rows)
    // runs 2-8x faster in gemm as its transpose `tmp = b^T @ a^T` into a row-major `n x m`
    // scratch (`b^T` is then a row-major left operand), transposed into `dst` afterwards: two
    // copies of `m x n` elements against a product of `m x n x k`.
    if (2..=SHORT_ROWS).contains(&m) && m < n && bm.rs == 1 && bm.cs != 1 {
        let mut tmp = vec![T::zeroed(); n * m];
        if scales.read_dst {
            for i in 0..m {
                for j in 0..n {
                    // SAFETY: dst addresses m rows of n elements ld apart (the caller's contract).
                    tmp[j * m + i] = unsafe { *dst.add(i * ld + j) };
                }
            }
        }
        let t = |x: Mat| Mat {
            offset: x.offset,
            rs: x.cs,
            cs: x.rs,
        };
        // SAFETY: the same reads of a and b, each matrix described by its transpose; tmp is a
        // private n x m row-major buffer. The swapped product has more rows than columns, so it
        // takes the plain path below.
        unsafe {
            gemm_raw(
                tmp.as_mut_ptr(),
                m,
                (n, m, k),
                (b, t(bm)),
                (a, t(am)),
                scales,
                par,
            )
        };
        for i in 0..m {
            for j in 0..n {
                // SAFETY: as above; this call owns these writes.
                unsafe { *dst.add(i * ld + j) = tmp[j * m + i] };
            }
        }
        return;
    }
    // SAFETY: the caller's contract is exactly gemm's: valid strided reads of a and b, valid
    // exclusive writes of dst.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            ld as isize,
            scales.read_dst,
            a,
            am.cs,
            am.rs,
            b,
            bm.cs,
            bm.rs,
            T::from_f64(scales.alpha_dst),
            T::from_f64(scales.alpha),
            false,
            false,
            false,
            par,
        );
    }
}

fn to_f64<T: Pod>(v: T) -> f64 {
    if std::mem::size_of::<T>() == 8 {
        bytemuck::cast::<T, f64>(v)
    } else if std::mem::size_of::<T>() == 4 {
        bytemuck::cast::<T, f32>(v) as f64
    } else {
        bytemuck::cast::<T, f16>(v).to_f64()
    }
}

/// Takes a unique, row-contiguous buffer holding `c` (copying when shared or strided).
fn owned_copy(c: &Data) -> Buffer {
    let mut cd = contiguous(c.clone());
    let bytes = cd.size() * cd.dtype.size();
    if let Some(b) = cd.try_donate(bytes) {
        return b;
    }
    Buffer::from_slice::<u8>(&cd.buf.bytes()[cd.offset * cd.dtype.size()..][..bytes])
}

/// What the products below assume (they hand raw pointers to the GEMM): `a [batch.., m, k]`,
/// `b [batch.., k, n]` and `c` (when given) of the output's shape `[batch.., m, n]`, all of
/// `dtype`. The ops broadcast the batch axes (as views) before building the node.
fn check_operands(
    a: &Data,
    b: &Data,
    c: Option<&Data>,
    out_shape: &[usize],
    dtype: Dtype,
) -> Result<()> {
    let fits = match (out_shape, a.shape.as_slice(), b.shape.as_slice()) {
        ([batch @ .., m, n], [ab @ .., am, ak], [bb @ .., bk, bn]) => {
            ab == batch && bb == batch && (am, bk, bn) == (m, ak, n)
        }
        _ => false,
    };
    let dtypes_fit = a.dtype == dtype && b.dtype == dtype;
    let c_fits = c.is_none_or(|c| c.shape == out_shape && c.dtype == dtype);
    if !(fits && dtypes_fit && c_fits) {
        bail!(
            Shape,
            "matmul: {} {:?} times {} {:?} cannot give a {dtype} output of shape {out_shape:?} \
             (expected [batch.., m, k] and [batch.., k, n], batch axes broadcast first)",
            a.dtype,
            a.shape,
            b.dtype,
            b.shape
        );
    }
    Ok(())
}

fn batched<T: GemmElem>(
    a: &Data,
    b: &Data,
    c: Option<&Data>,
    alpha: f64,
    beta: f64,
    out_shape: &[usize],
    dtype: Dtype,
) -> Data {
    let nd = out_shape.len();
    let (m, n) = (out_shape[nd - 2], out_shape[nd - 1]);
    let k = a.shape[nd - 1];
    let batch_shape = &out_shape[..nd - 2];
    let batch: usize = batch_shape.iter().product();
    let total = batch * m * n;
    let mut buf = match c {
        Some(c) => owned_copy(c),
        None => Buffer::new(total * dtype.size()),
    };
    let read_dst = c.is_some();
    let a_raw = a.raw::<T>();
    let b_raw = b.raw::<T>();
    let threads = rayon::current_num_threads();
    let out = &mut buf.as_mut_slice::<T>()[..total];
    let item = m * n;
    if item == 0 {
        return Data::new(buf, dtype, out_shape);
    }
    let run = |i: usize, dst: &mut [T], threads: usize| {
        let am = mat_of(a, i, batch_shape);
        let bm = mat_of(b, i, batch_shape);
        // SAFETY: `a` and `b` are valid strided layouts of [batch.., m, k] and [batch.., k, n]
        // over their buffers, so every element gemm addresses is in range; `dst` is this
        // item's own m*n chunk of the output.
        unsafe {
            gemm_one(
                dst,
                (m, n, k),
                Product {
                    a_raw,
                    a: am,
                    b_raw,
                    b: bm,
                    scales: Scales {
                        read_dst,
                        alpha_dst: beta,
                        alpha,
                    },
                },
                threads,
            )
        }
    };
    if batch > 1 && threads > 1 && m * n * k <= BATCH_PAR_MAX_MACS {
        out.par_chunks_mut(item)
            .enumerate()
            .for_each(|(i, dst)| run(i, dst, 1));
    } else {
        for (i, dst) in out.chunks_mut(item).enumerate() {
            run(i, dst, threads);
        }
    }
    Data::new(buf, dtype, out_shape)
}

/// Output elements per task of [`outer_f32`].
const OUTER_TASK: usize = 1 << 14;

/// `a @ b` for `k = 1`: outer products `out[.., i, j] = a[.., i, 0] * b[.., 0, j]` (per-example
/// weight gradients are a batch of these). Each element is one rounded product, as the GEMM
/// gives it, but written row by row at memory speed (with streaming stores when the output is
/// larger than the caches) instead of through the GEMM's packing, which dominates when `k = 1`.
fn outer_f32(a: &Data, b: &Data, out_shape: &[usize]) -> Data {
    let total: usize = out_shape.iter().product();
    outer_f32_with(
        a,
        b,
        out_shape,
        total * 4 >= super::stream::STREAM_MIN_BYTES,
    )
}

/// [`outer_f32`], with streaming stores or not.
fn outer_f32_with(a: &Data, b: &Data, out_shape: &[usize], streaming: bool) -> Data {
    let nd = out_shape.len();
    let (m, n) = (out_shape[nd - 2], out_shape[nd - 1]);
    let batch_shape = &out_shape[..nd - 2];
    let total: usize = out_shape.iter().product();
    let mut buf = Buffer::new(total * 4);
    if total == 0 {
        return Data::new(buf, Dtype::F32, out_shape);
    }
    let (a_raw, b_raw) = (a.raw::<f32>(), b.raw::<f32>());
    let rows_per_task = (OUTER_TASK / n).max(1);
    let work = |t: usize, block: &mut [f32]| {
        let mut row = vec![0.0f32; n];
        let (mut item, mut am) = (usize::MAX, mat_of(a, 0, batch_shape));
        for (r, dst) in block.chunks_mut(n).enumerate() {
            let g = t * rows_per_task + r;
            let (i, at) = (g / m, g % m);
            if i != item {
                // this item's column of `a` and row of `b` (gathered once, any column stride)
                item = i;
                am = mat_of(a, i, batch_shape);
                let bm = mat_of(b, i, batch_shape);
                for (j, v) in row.iter_mut().enumerate() {
                    *v = b_raw[(bm.offset as isize + j as isize * bm.cs) as usize];
                }
            }
            let s = a_raw[(am.offset as isize + at as isize * am.rs) as usize];
            if streaming {
                super::stream::store(dst, &row, Some(s));
            } else {
                dst.iter_mut().zip(&row).for_each(|(o, &v)| *o = s * v);
            }
        }
        if streaming {
            super::stream::fence();
        }
    };
    let out = &mut buf.as_mut_slice::<f32>()[..total];
    if total >= OUTER_TASK * 2 {
        out.par_chunks_mut(rows_per_task * n)
            .enumerate()
            .for_each(|(t, block)| work(t, block));
    } else {
        for (t, block) in out.chunks_mut(rows_per_task * n).enumerate() {
            work(t, block);
        }
    }
    Data::new(buf, Dtype::F32, out_shape)
}

fn to_f32(x: &Data) -> Result<Data> {
    match x.dtype {
        Dtype::Bf16 => map_unary::<bf16, f32>(x.clone(), Dtype::F32, bf16::to_f32),
        _ => Ok(x.clone()),
    }
}

/// `beta * c + alpha * (a @ b)` (or `alpha * (a @ b)` without `c`) over the last two axes.
///
/// `a` is `[batch.., m, k]`, `b` `[batch.., k, n]` with the same batch shape (broadcast axes as
/// stride 0), `c` (if any) already broadcast to `out_shape = [batch.., m, n]`; all of `dtype`.
pub fn matmul(
    a: &Data,
    b: &Data,
    c: Option<&Data>,
    alpha: f64,
    beta: f64,
    out_shape: &[usize],
    dtype: Dtype,
) -> Result<Data> {
    check_operands(a, b, c, out_shape, dtype)?;
    let k = a.shape.last().copied().unwrap_or(0);
    Ok(match dtype {
        Dtype::F32 if k == 1 && c.is_none() && alpha == 1.0 => outer_f32(a, b, out_shape),
        Dtype::F32 => batched::<f32>(a, b, c, alpha, beta, out_shape, dtype),
        Dtype::F64 => batched::<f64>(a, b, c, alpha, beta, out_shape, dtype),
        Dtype::F16 => batched::<f16>(a, b, c, alpha, beta, out_shape, dtype),
        Dtype::C64 => batched::<crate::dtype::Complex32>(a, b, c, alpha, beta, out_shape, dtype),
        Dtype::Bf16 => {
            let (a32, b32) = (to_f32(a)?, to_f32(b)?);
            let c32 = c.map(to_f32).transpose()?;
            let r = batched::<f32>(&a32, &b32, c32.as_ref(), alpha, beta, out_shape, Dtype::F32);
            map_unary::<f32, bf16>(r, Dtype::Bf16, bf16::from_f32)?
        }
        d => bail!(
            Dtype,
            "matmul: only floating point types are supported, got {d}"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Layout;

    fn vals(n: usize, seed: f32) -> Vec<f32> {
        (0..n)
            .map(|i| ((i as f32 + seed) * 0.731).sin() * 3.0)
            .collect()
    }

    #[test]
    fn outer_products_match_the_gemm_and_a_naive_loop() {
        // a: [2, 3, m, 1] from a [3, m] buffer, broadcast over the first axis (stride 0);
        // b: [2, 3, 1, n] as a strided view: every other element of a [2, 3, 2n] buffer
        for (m, n) in [(1, 1), (5, 1), (7, 33), (4, 5000), (130, 129)] {
            let a_buf = vals(3 * m, 0.5);
            let a = Data::new(Buffer::from_slice(&a_buf), Dtype::F32, &[3 * m])
                .with_layout(Layout::new(vec![2, 3, m, 1], vec![0, m as isize, 1, 1], 0))
                .unwrap();
            let b_buf = vals(2 * 3 * 2 * n, 1.5);
            let b = Data::new(Buffer::from_slice(&b_buf), Dtype::F32, &[12 * n])
                .with_layout(Layout::new(
                    vec![2, 3, 1, n],
                    vec![6 * n as isize, 2 * n as isize, 1, 2],
                    1,
                ))
                .unwrap();
            let shape = [2, 3, m, n];
            let gemm = batched::<f32>(&a, &b, None, 1.0, 0.0, &shape, Dtype::F32);
            let via_matmul = matmul(&a, &b, None, 1.0, 0.0, &shape, Dtype::F32).unwrap();
            for streaming in [false, true] {
                let got = outer_f32_with(&a, &b, &shape, streaming);
                let got = got.contiguous_slice::<f32>().unwrap();
                let want = gemm.contiguous_slice::<f32>().unwrap();
                for (e, (&g, &w)) in got.iter().zip(want).enumerate() {
                    let (j, i, item) = (e % n, (e / n) % m, e / (m * n));
                    let naive = a_buf[(item % 3) * m + i] * b_buf[1 + item * 2 * n + 2 * j];
                    assert_eq!(g, w, "{m}x{n} at {e}");
                    assert_eq!(g, naive, "{m}x{n} at {e}");
                }
                assert_eq!(via_matmul.contiguous_slice::<f32>().unwrap(), got);
            }
        }
    }
}
