//! Copying strided data into a fresh row-contiguous buffer (dtype-agnostic: by element width).

use bytemuck::Pod;
use rayon::prelude::*;

use super::elementwise::{PAR_CHUNK, PAR_THRESHOLD};
use super::strided::{for_each_offset, offset_of};
use crate::buffer::{Buffer, Data};

fn copy_typed<T: Pod + Send + Sync>(x: &Data, out: &mut [T]) {
    let raw = x.raw::<T>();
    if out.len() >= PAR_THRESHOLD {
        out.par_chunks_mut(PAR_CHUNK)
            .enumerate()
            .for_each(|(c, chunk)| {
                let start = c * PAR_CHUNK;
                let nd = x.shape.len();
                let row = x.shape[nd - 1].max(1);
                let s_last = x.strides[nd - 1];
                let mut k = 0;
                while k < chunk.len() {
                    let lin = start + k;
                    let base = offset_of(lin, &x.shape, &x.strides, x.offset) as isize;
                    let in_row = lin % row;
                    let n = (row - in_row).min(chunk.len() - k);
                    for j in 0..n {
                        chunk[k + j] = raw[(base + j as isize * s_last) as usize];
                    }
                    k += n;
                }
            });
        return;
    }
    let mut k = 0;
    for_each_offset(&x.shape, &x.strides, x.offset, |o| {
        out[k] = raw[o];
        k += 1;
    });
}

/// A row-contiguous copy of `x` (returns `x` itself when it is already contiguous from offset 0
/// and spans its whole buffer).
pub fn contiguous(x: Data) -> Data {
    let n = x.size();
    let bytes = n * x.dtype.size();
    if x.is_contiguous() && x.offset == 0 && x.buf.len_bytes() == bytes {
        return x;
    }
    let mut buf = Buffer::new(bytes);
    if n > 0 {
        match x.dtype.size() {
            1 => copy_typed::<u8>(&x, buf.as_mut_slice()),
            2 => copy_typed::<u16>(&x, buf.as_mut_slice()),
            4 => copy_typed::<u32>(&x, buf.as_mut_slice()),
            _ => copy_typed::<u64>(&x, buf.as_mut_slice()),
        }
    }
    Data::new(buf, x.dtype, &x.shape)
}
