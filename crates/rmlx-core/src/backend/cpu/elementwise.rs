//! Generic elementwise kernels over strided inputs, with contiguous fast paths that the compiler
//! vectorises, rayon splitting above [`PAR_THRESHOLD`], and output buffer donation.

use bytemuck::Pod;
use rayon::prelude::*;

use super::strided::{for_each_offset, for_each_offset2, offset_of};
use crate::buffer::{Buffer, Data};
use crate::Dtype;

/// Elements below which an elementwise kernel stays on one thread.
///
/// Measured on the 2-core Zen 5 machine (f32 `add`, contiguous, criterion medians): at 16 Ki
/// elements one thread takes ~2.1 µs and two ~4.5 µs (rayon's wake-up dominates); at 64 Ki one
/// thread ~9 µs, two ~7 µs. The crossover sits near 32 Ki elements.
pub const PAR_THRESHOLD: usize = 1 << 15;

/// Elements per rayon task in the parallel paths.
pub const PAR_CHUNK: usize = 1 << 14;

/// Allocates the output of an elementwise op, reusing an input buffer when it is donatable
/// (same dtype and size, contiguous, held by nobody else).
pub fn alloc_out(inputs: &mut [Data], shape: &[usize], dtype: Dtype) -> Buffer {
    let n: usize = shape.iter().product();
    let bytes = n * dtype.size();
    for d in inputs.iter_mut() {
        if d.dtype == dtype && d.shape == shape {
            if let Some(b) = d.try_donate(bytes) {
                return b;
            }
        }
    }
    Buffer::new(bytes)
}

/// `out[i] = f(x[i])` over a strided input. When `out` is the donated buffer of `x`, `x` must
/// have been read through `x_raw` before it was donated: callers pass the data they kept.
pub fn unary<T: Pod + Send + Sync, U: Pod + Send + Sync>(
    x: &Data,
    out: &mut [U],
    f: impl Fn(T) -> U + Sync + Send,
) {
    if let Some(xs) = x.contiguous_slice::<T>() {
        if out.len() >= PAR_THRESHOLD {
            out.par_chunks_mut(PAR_CHUNK)
                .zip(xs.par_chunks(PAR_CHUNK))
                .for_each(|(o, i)| o.iter_mut().zip(i).for_each(|(o, &i)| *o = f(i)));
        } else {
            out.iter_mut().zip(xs).for_each(|(o, &i)| *o = f(i));
        }
        return;
    }
    let raw = x.raw::<T>();
    if out.len() >= PAR_THRESHOLD {
        out.par_chunks_mut(PAR_CHUNK)
            .enumerate()
            .for_each(|(c, chunk)| {
                for (k, o) in chunk.iter_mut().enumerate() {
                    let off = offset_of(c * PAR_CHUNK + k, &x.shape, &x.strides, x.offset);
                    *o = f(raw[off]);
                }
            });
        return;
    }
    let mut k = 0;
    for_each_offset(&x.shape, &x.strides, x.offset, |o| {
        out[k] = f(raw[o]);
        k += 1;
    });
}

/// In-place variant of [`unary`] for a donated, contiguous buffer of the same element type.
pub fn unary_in_place<T: Pod + Send + Sync>(buf: &mut [T], f: impl Fn(T) -> T + Sync + Send) {
    if buf.len() >= PAR_THRESHOLD {
        buf.par_chunks_mut(PAR_CHUNK)
            .for_each(|c| c.iter_mut().for_each(|v| *v = f(*v)));
    } else {
        buf.iter_mut().for_each(|v| *v = f(*v));
    }
}

/// Applies `f` elementwise, producing a fresh (or donated) buffer of dtype `out_dtype`.
pub fn map_unary<T: Pod + Send + Sync, U: Pod + Send + Sync>(
    mut x: Data,
    out_dtype: Dtype,
    f: impl Fn(T) -> U + Sync + Send,
) -> Data {
    let shape = x.shape.clone();
    let n = x.size();
    let same = x.dtype == out_dtype && std::mem::size_of::<T>() == std::mem::size_of::<U>();
    if same {
        if let Some(mut buf) = x.try_donate(n * out_dtype.size()) {
            // The donated buffer holds x contiguously: transform it in place.
            let slice = buf.as_mut_slice::<T>();
            let g = |v: T| bytemuck::cast::<U, T>(f(v));
            unary_in_place(&mut slice[..n], g);
            return Data::new(buf, out_dtype, &shape);
        }
    }
    let mut buf = Buffer::new(n * out_dtype.size());
    unary(&x, &mut buf.as_mut_slice::<U>()[..n], f);
    Data::new(buf, out_dtype, &shape)
}

/// Applies `f` to two same-shaped strided inputs (broadcast beforehand as zero strides).
pub fn map_binary<A: Pod + Send + Sync, B: Pod + Send + Sync, O: Pod + Send + Sync>(
    a: Data,
    b: Data,
    out_dtype: Dtype,
    f: impl Fn(A, B) -> O + Sync + Send,
) -> Data {
    let shape = a.shape.clone();
    let n = a.size();
    let bytes = n * out_dtype.size();
    let mut a = a;
    let mut b = b;
    if a.dtype == out_dtype && std::mem::size_of::<A>() == std::mem::size_of::<O>() {
        if let Some(mut buf) = a.try_donate(bytes) {
            let lhs = &mut buf.as_mut_slice::<A>()[..n];
            in_place(lhs, &b, |x: A, y: B| bytemuck::cast::<O, A>(f(x, y)));
            return Data::new(buf, out_dtype, &shape);
        }
    }
    if b.dtype == out_dtype && std::mem::size_of::<B>() == std::mem::size_of::<O>() {
        if let Some(mut buf) = b.try_donate(bytes) {
            let rhs = &mut buf.as_mut_slice::<B>()[..n];
            in_place(rhs, &a, |y: B, x: A| bytemuck::cast::<O, B>(f(x, y)));
            return Data::new(buf, out_dtype, &shape);
        }
    }
    let mut buf = Buffer::new(bytes);
    binary(&a, &b, &mut buf.as_mut_slice::<O>()[..n], &f);
    Data::new(buf, out_dtype, &shape)
}

/// `dst[i] = f(dst[i], other[i])` where `dst` is a donated contiguous buffer.
fn in_place<T: Pod + Send + Sync, U: Pod + Send + Sync>(
    dst: &mut [T],
    other: &Data,
    f: impl Fn(T, U) -> T + Sync + Send,
) {
    let par = dst.len() >= PAR_THRESHOLD;
    if let Some(o) = other.contiguous_slice::<U>() {
        if par {
            dst.par_chunks_mut(PAR_CHUNK)
                .zip(o.par_chunks(PAR_CHUNK))
                .for_each(|(d, o)| d.iter_mut().zip(o).for_each(|(d, &o)| *d = f(*d, o)));
        } else {
            dst.iter_mut().zip(o).for_each(|(d, &o)| *d = f(*d, o));
        }
    } else if other.strides.iter().all(|&s| s == 0) {
        let s = other.raw::<U>()[other.offset];
        unary_in_place(dst, |d| f(d, s));
    } else {
        let raw = other.raw::<U>();
        let mut k = 0;
        for_each_offset(&other.shape, &other.strides, other.offset, |off| {
            dst[k] = f(dst[k], raw[off]);
            k += 1;
        });
    }
}

/// `out[i] = f(a[i], b[i])` for same-shaped strided inputs.
pub fn binary<A: Pod + Send + Sync, B: Pod + Send + Sync, O: Pod + Send + Sync>(
    a: &Data,
    b: &Data,
    out: &mut [O],
    f: &(impl Fn(A, B) -> O + Sync + Send),
) {
    let n = out.len();
    let par = n >= PAR_THRESHOLD;
    let a_scalar = a.strides.iter().all(|&s| s == 0);
    let b_scalar = b.strides.iter().all(|&s| s == 0);
    match (a.contiguous_slice::<A>(), b.contiguous_slice::<B>()) {
        (Some(xa), Some(xb)) => {
            if par {
                out.par_chunks_mut(PAR_CHUNK)
                    .zip(xa.par_chunks(PAR_CHUNK).zip(xb.par_chunks(PAR_CHUNK)))
                    .for_each(|(o, (i, j))| {
                        for ((o, &i), &j) in o.iter_mut().zip(i).zip(j) {
                            *o = f(i, j)
                        }
                    });
            } else {
                for ((o, &i), &j) in out.iter_mut().zip(xa).zip(xb) {
                    *o = f(i, j)
                }
            }
            return;
        }
        (Some(xa), None) if b_scalar => {
            let s = b.raw::<B>()[b.offset];
            if par {
                out.par_chunks_mut(PAR_CHUNK)
                    .zip(xa.par_chunks(PAR_CHUNK))
                    .for_each(|(o, i)| o.iter_mut().zip(i).for_each(|(o, &i)| *o = f(i, s)));
            } else {
                out.iter_mut().zip(xa).for_each(|(o, &i)| *o = f(i, s));
            }
            return;
        }
        (None, Some(xb)) if a_scalar => {
            let s = a.raw::<A>()[a.offset];
            if par {
                out.par_chunks_mut(PAR_CHUNK)
                    .zip(xb.par_chunks(PAR_CHUNK))
                    .for_each(|(o, j)| o.iter_mut().zip(j).for_each(|(o, &j)| *o = f(s, j)));
            } else {
                out.iter_mut().zip(xb).for_each(|(o, &j)| *o = f(s, j));
            }
            return;
        }
        _ => {}
    }
    // Row broadcast and general strides: walk rows of the last axis.
    let (ra, rb) = (a.raw::<A>(), b.raw::<B>());
    let nd = a.shape.len();
    let row = if nd == 0 { 1 } else { a.shape[nd - 1].max(1) };
    if par && row > 0 && n / row > 1 {
        let rows_per_task = (PAR_CHUNK / row).max(1);
        out.par_chunks_mut(rows_per_task * row)
            .enumerate()
            .for_each(|(c, chunk)| {
                let first = c * rows_per_task * row;
                strided_rows(a, b, ra, rb, chunk, first, row, f);
            });
    } else {
        let mut k = 0;
        for_each_offset2(
            &a.shape,
            (&a.strides, a.offset),
            (&b.strides, b.offset),
            |i, j| {
                out[k] = f(ra[i], rb[j]);
                k += 1;
            },
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn strided_rows<A: Pod, B: Pod, O: Pod>(
    a: &Data,
    b: &Data,
    ra: &[A],
    rb: &[B],
    chunk: &mut [O],
    first: usize,
    row: usize,
    f: &impl Fn(A, B) -> O,
) {
    let nd = a.shape.len();
    let (sa, sb) = (a.strides[nd - 1], b.strides[nd - 1]);
    for (r, out_row) in chunk.chunks_mut(row).enumerate() {
        let lin = first + r * row;
        let oa = offset_of(lin, &a.shape, &a.strides, a.offset) as isize;
        let ob = offset_of(lin, &b.shape, &b.strides, b.offset) as isize;
        for (k, o) in out_row.iter_mut().enumerate() {
            let k = k as isize;
            *o = f(ra[(oa + k * sa) as usize], rb[(ob + k * sb) as usize]);
        }
    }
}

/// `out[i] = if c[i] != 0 { x[i] } else { y[i] }` over three same-shaped strided inputs (`c` is
/// bool storage). Contiguous inputs take a vectorisable path; other layouts walk rows of the
/// last axis with per-row offsets. Splits across threads above [`PAR_THRESHOLD`].
pub fn map_ternary<T: Pod + Send + Sync>(c: &Data, x: &Data, y: &Data, out_dtype: Dtype) -> Data {
    let shape = c.shape.clone();
    let n = c.size();
    let mut buf = Buffer::new(n * out_dtype.size());
    let out = &mut buf.as_mut_slice::<T>()[..n];
    let par = n >= PAR_THRESHOLD;
    let select = |o: &mut [T], cs: &[u8], xs: &[T], ys: &[T]| {
        for (((o, &c), &x), &y) in o.iter_mut().zip(cs).zip(xs).zip(ys) {
            *o = if c != 0 { x } else { y };
        }
    };
    if let (Some(cs), Some(xs), Some(ys)) = (
        c.contiguous_slice::<u8>(),
        x.contiguous_slice::<T>(),
        y.contiguous_slice::<T>(),
    ) {
        if par {
            out.par_chunks_mut(PAR_CHUNK)
                .enumerate()
                .for_each(|(k, o)| {
                    let s = k * PAR_CHUNK;
                    let e = s + o.len();
                    select(o, &cs[s..e], &xs[s..e], &ys[s..e]);
                });
        } else {
            select(out, cs, xs, ys);
        }
        return Data::new(buf, out_dtype, &shape);
    }
    if n == 0 {
        return Data::new(buf, out_dtype, &shape);
    }
    let (rc, rx, ry) = (c.raw::<u8>(), x.raw::<T>(), y.raw::<T>());
    let nd = shape.len();
    let row = if nd == 0 { 1 } else { shape[nd - 1].max(1) };
    let last = |d: &Data| if nd == 0 { 0 } else { d.strides[nd - 1] };
    let (sc, sx, sy) = (last(c), last(x), last(y));
    let rows = |chunk: &mut [T], first: usize| {
        for (r, out_row) in chunk.chunks_mut(row).enumerate() {
            let lin = first + r * row;
            let oc = offset_of(lin, &c.shape, &c.strides, c.offset) as isize;
            let ox = offset_of(lin, &x.shape, &x.strides, x.offset) as isize;
            let oy = offset_of(lin, &y.shape, &y.strides, y.offset) as isize;
            for (k, o) in out_row.iter_mut().enumerate() {
                let k = k as isize;
                *o = if rc[(oc + k * sc) as usize] != 0 {
                    rx[(ox + k * sx) as usize]
                } else {
                    ry[(oy + k * sy) as usize]
                };
            }
        }
    };
    if par {
        let rows_per_task = (PAR_CHUNK / row).max(1);
        out.par_chunks_mut(rows_per_task * row)
            .enumerate()
            .for_each(|(k, chunk)| rows(chunk, k * rows_per_task * row));
    } else {
        rows(out, 0);
    }
    Data::new(buf, out_dtype, &shape)
}
