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

/// `dst = alpha_dst * dst + alpha * (a @ b)` for one `m x k` by `k x n` product, `dst` row-major.
///
/// # Safety
/// `a`/`b` must describe matrices whose every element lies inside `a_raw`/`b_raw`, and `dst`
/// must hold `m * n` elements.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_one<T: GemmElem>(
    dst: &mut [T],
    (m, n, k): (usize, usize, usize),
    a_raw: &[T],
    a: Mat,
    b_raw: &[T],
    b: Mat,
    read_dst: bool,
    alpha_dst: f64,
    alpha: f64,
    threads: usize,
) {
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
    let par = if threads > 1 && m * n * k >= PAR_MIN_MACS {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the caller guarantees every element addressed through (offset, rs, cs) over
    // m x k (resp. k x n) lies in the raw slices, and dst holds m*n row-major elements that no
    // one else reads while gemm writes them.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            read_dst,
            a_raw.as_ptr().add(a.offset),
            a.cs,
            a.rs,
            b_raw.as_ptr().add(b.offset),
            b.cs,
            b.rs,
            T::from_f64(alpha_dst),
            T::from_f64(alpha),
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
                a_raw,
                am,
                b_raw,
                bm,
                read_dst,
                beta,
                alpha,
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

fn to_f32(x: &Data) -> Data {
    match x.dtype {
        Dtype::Bf16 => map_unary::<bf16, f32>(x.clone(), Dtype::F32, bf16::to_f32),
        _ => x.clone(),
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
    Ok(match dtype {
        Dtype::F32 => batched::<f32>(a, b, c, alpha, beta, out_shape, dtype),
        Dtype::F64 => batched::<f64>(a, b, c, alpha, beta, out_shape, dtype),
        Dtype::F16 => batched::<f16>(a, b, c, alpha, beta, out_shape, dtype),
        Dtype::Bf16 => {
            let (a32, b32) = (to_f32(a), to_f32(b));
            let c32 = c.map(to_f32);
            let r = batched::<f32>(&a32, &b32, c32.as_ref(), alpha, beta, out_shape, Dtype::F32);
            map_unary::<f32, bf16>(r, Dtype::Bf16, bf16::from_f32)
        }
        d => bail!(
            Dtype,
            "matmul: only floating point types are supported, got {d}"
        ),
    })
}
