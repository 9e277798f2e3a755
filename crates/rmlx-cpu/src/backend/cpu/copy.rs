//! Copying strided data, generic by element width (a copy never looks at the values, so one
//! kernel per width serves every dtype): strided → contiguous ([`contiguous`], [`read_view`]),
//! contiguous regions written into a strided destination ([`write_view`]), and concatenation.
//!
//! Rows whose innermost stride is 1 are copied with `copy_from_slice` (memcpy); large copies are
//! split across rayon's pool by rows.

use bytemuck::Pod;

use super::parallel::{for_each_chunk_mut, PAR_CHUNK, PAR_THRESHOLD};
use super::strided::{collapse, for_each_offset, for_each_offset2, offset_of};
use crate::buffer::{Buffer, Data};

/// Runs `$body` with `$T` bound to an unsigned integer type as wide as one element of `$dtype`.
#[macro_export]
#[doc(hidden)]
macro_rules! dispatch_width {
    ($dtype:expr, $T:ident => $body:expr) => {{
        match $dtype.size() {
            1 => {
                type $T = u8;
                $body
            }
            2 => {
                type $T = u16;
                $body
            }
            4 => {
                type $T = u32;
                $body
            }
            _ => {
                type $T = u64;
                $body
            }
        }
    }};
}

/// Copies the strided view `(shape, strides, offset)` of `raw` into the row-major `out`
/// (`out.len()` must be the view's size). Every offset of the view must lie inside `raw`.
pub fn read_view<T: Pod + Send + Sync>(
    raw: &[T],
    shape: &[usize],
    strides: &[isize],
    offset: usize,
    out: &mut [T],
) {
    let n = out.len();
    if n == 0 {
        return;
    }
    let (cs, cst) = collapse(shape, &[strides]);
    let st = &cst[0];
    let nd = cs.len();
    if nd == 0 {
        out[0] = raw[offset];
        return;
    }
    let row = cs[nd - 1];
    let s_last = st[nd - 1];
    if nd == 1 && s_last == 1 {
        out.copy_from_slice(&raw[offset..offset + n]);
        return;
    }
    let rows = n / row;
    let copy_row = |r: usize, dst: &mut [T]| {
        let base = offset_of(r * row, &cs, st, offset);
        match s_last {
            1 => dst.copy_from_slice(&raw[base..base + row]),
            0 => dst.fill(raw[base]),
            s => {
                for (j, d) in dst.iter_mut().enumerate() {
                    *d = raw[(base as isize + j as isize * s) as usize];
                }
            }
        }
    };
    if n >= PAR_THRESHOLD && rows > 1 {
        let rows_per_task = (PAR_CHUNK / row).max(1);
        for_each_chunk_mut(out, rows_per_task * row, true, &|first, chunk: &mut [T]| {
            for (k, dst) in chunk.chunks_mut(row).enumerate() {
                copy_row(first / row + k, dst);
            }
        });
    } else if s_last == 1 || row >= 16 {
        for (r, dst) in out.chunks_mut(row).enumerate() {
            copy_row(r, dst);
        }
    } else {
        let mut k = 0;
        for_each_offset(&cs, st, offset, |o| {
            out[k] = raw[o];
            k += 1;
        });
    }
}

/// Writes the strided `src` into the region `(src.shape, dst_strides, dst_offset)` of `dst`.
/// Every offset of the region must lie inside `dst`.
pub fn write_view<T: Pod>(src: &Data, dst: &mut [T], dst_strides: &[isize], dst_offset: usize) {
    let raw = src.raw::<T>();
    let (cs, cst) = collapse(&src.shape, &[&src.strides, dst_strides]);
    if src.shape.contains(&0) {
        return;
    }
    let nd = cs.len();
    if nd == 0 {
        dst[dst_offset] = raw[src.offset];
        return;
    }
    let row = cs[nd - 1];
    if cst[0][nd - 1] == 1 && cst[1][nd - 1] == 1 {
        for r in 0..cs.iter().product::<usize>() / row {
            let so = offset_of(r * row, &cs, &cst[0], src.offset);
            let d = offset_of(r * row, &cs, &cst[1], dst_offset);
            dst[d..d + row].copy_from_slice(&raw[so..so + row]);
        }
        return;
    }
    for_each_offset2(&cs, (&cst[0], src.offset), (&cst[1], dst_offset), |s, d| {
        dst[d] = raw[s]
    });
}

/// A row-contiguous copy of `x` (returns `x` itself when it is already contiguous from offset 0
/// and spans its whole buffer).
pub fn contiguous(x: Data) -> Data {
    let bytes = x.size() * x.dtype.size();
    if x.is_contiguous() && x.offset == 0 && x.buf.len_bytes() == bytes {
        return x;
    }
    Data::new(copy_to_buffer(&x), x.dtype, &x.shape)
}

/// A fresh buffer holding the elements of `x` in row-major order.
pub fn copy_to_buffer(x: &Data) -> Buffer {
    let n = x.size();
    let mut buf = Buffer::new(n * x.dtype.size());
    if n > 0 {
        crate::dispatch_width!(x.dtype, T => read_view::<T>(
            x.raw(),
            &x.shape,
            &x.strides,
            x.offset,
            &mut buf.as_mut_slice::<T>()[..n],
        ));
    }
    buf
}

/// A buffer holding `x` row-major that the caller may write: `x`'s own buffer when it can be
/// donated, else a copy.
pub fn writable_copy(mut x: Data) -> Buffer {
    let bytes = x.size() * x.dtype.size();
    match x.try_donate(bytes) {
        Some(b) => b,
        None => copy_to_buffer(&x),
    }
}

/// Concatenates `inputs` (same dtype, shapes equal except along `axis`) into a row-major buffer of
/// `out_shape`.
pub fn concatenate(inputs: &[Data], axis: usize, out_shape: &[usize]) -> Buffer {
    let n: usize = out_shape.iter().product();
    let dtype = inputs[0].dtype;
    let mut buf = Buffer::new(n * dtype.size());
    if n > 0 {
        crate::dispatch_width!(dtype, T => concat_typed::<T>(
            inputs,
            axis,
            out_shape,
            &mut buf.as_mut_slice::<T>()[..n],
        ));
    }
    buf
}

fn concat_typed<T: Pod + Send + Sync>(
    inputs: &[Data],
    axis: usize,
    out_shape: &[usize],
    out: &mut [T],
) {
    let post: usize = out_shape[axis + 1..].iter().product();
    let out_row = out_shape[axis] * post;
    if out_row == 0 {
        return;
    }
    let pre_shape = &out_shape[..axis];
    // per input: (start in an output row, elements in an output row)
    let mut starts = Vec::with_capacity(inputs.len());
    let mut at = 0;
    for x in inputs {
        let len = x.shape[axis] * post;
        starts.push((at, len));
        at += len;
    }
    let fill_row = |p: usize, row: &mut [T]| {
        for (x, &(start, len)) in inputs.iter().zip(&starts) {
            if len == 0 {
                continue;
            }
            let base = offset_of(p, pre_shape, &x.strides[..axis], x.offset);
            read_view(
                x.raw::<T>(),
                &x.shape[axis..],
                &x.strides[axis..],
                base,
                &mut row[start..start + len],
            );
        }
    };
    let rows = out.len() / out_row;
    if out.len() >= PAR_THRESHOLD && rows > 1 {
        for_each_chunk_mut(out, out_row, true, &|first, row: &mut [T]| {
            fill_row(first / out_row, row)
        });
    } else {
        for (p, row) in out.chunks_mut(out_row).enumerate() {
            fill_row(p, row);
        }
    }
}
