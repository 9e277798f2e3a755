//! Gather and scatter along one axis, generic by element width (gathers) or element type
//! (scatter-add).
//!
//! Both walk a "walk shape" `W` (the gather's output, the scatter's updates) with per-operand
//! strides over `W`: the source (or destination) strides with the gathered axis's stride set to 0,
//! and the index strides. The element read (written) is at
//! `src_offset + index * axis_stride`. Indices are read once, wrapped (negative counts from the
//! end) and checked before any element is touched, so a bad index is an `Err`, never a read out
//! of bounds.

use bytemuck::Pod;
use num_traits::ToPrimitive;

use super::strided::collapse;
use crate::buffer::{contiguous_strides, Data};
use crate::{bail, Dtype, Result};

/// The indices of `idx` in row-major order, wrapped into `[0, axis_len)`.
pub fn read_indices(op: &str, idx: &Data, axis: usize, axis_len: usize) -> Result<Vec<usize>> {
    fn conv<I: Pod + ToPrimitive>(
        op: &str,
        idx: &Data,
        axis: usize,
        n: usize,
    ) -> Result<Vec<usize>> {
        let vals: Vec<I> = crate::buffer::collect_contiguous::<I>(idx);
        let len = n as i128;
        vals.into_iter()
            .map(|v| {
                let i = v.to_i128().unwrap_or(i128::MAX);
                let w = if i < 0 { i + len } else { i };
                if w < 0 || w >= len {
                    bail!(
                        Index,
                        "{op}: index {i} is out of bounds for axis {axis} with size {n}"
                    );
                }
                Ok(w as usize)
            })
            .collect()
    }
    match idx.dtype {
        Dtype::U8 => conv::<u8>(op, idx, axis, axis_len),
        Dtype::U16 => conv::<u16>(op, idx, axis, axis_len),
        Dtype::U32 => conv::<u32>(op, idx, axis, axis_len),
        Dtype::U64 => conv::<u64>(op, idx, axis, axis_len),
        Dtype::I8 => conv::<i8>(op, idx, axis, axis_len),
        Dtype::I16 => conv::<i16>(op, idx, axis, axis_len),
        Dtype::I32 => conv::<i32>(op, idx, axis, axis_len),
        Dtype::I64 => conv::<i64>(op, idx, axis, axis_len),
        d => bail!(Dtype, "{op}: indices must be integers, got {d}"),
    }
}

/// Strides over the walk shape for an operand of `shape` whose axes line up with the walk's axes
/// starting at `first`: axes of size 1 where the walk is larger get stride 0 (broadcast), axes the
/// operand does not cover get 0.
pub fn view_strides(
    walk: &[usize],
    first: usize,
    shape: &[usize],
    strides: &[isize],
) -> Vec<isize> {
    let mut out = vec![0isize; walk.len()];
    for (i, (&d, &s)) in shape.iter().zip(strides).enumerate() {
        if d == walk[first + i] {
            out[first + i] = s;
        }
    }
    out
}

/// Calls `f` with the offsets of `N` operands for every position of `shape`, in row-major order.
pub fn for_each_offsets<const N: usize>(
    shape: &[usize],
    strides: [&[isize]; N],
    offsets: [usize; N],
    mut f: impl FnMut([usize; N]),
) {
    if shape.contains(&0) {
        return;
    }
    let (cs, cst) = collapse(shape, &strides);
    let nd = cs.len();
    let mut idx = vec![0usize; nd];
    let mut cur: [isize; N] = offsets.map(|o| o as isize);
    loop {
        f(cur.map(|o| o as usize));
        let mut ax = nd;
        loop {
            if ax == 0 {
                return;
            }
            ax -= 1;
            idx[ax] += 1;
            for k in 0..N {
                cur[k] += cst[k][ax];
            }
            if idx[ax] < cs[ax] {
                break;
            }
            for k in 0..N {
                cur[k] -= cst[k][ax] * cs[ax] as isize;
            }
            idx[ax] = 0;
        }
    }
}

/// Where a gather reads (or a scatter writes): the walk shape, the strides of the source over it
/// (axis stride 0), the strides of the indices over it, and the gathered axis's stride.
pub struct AxisWalk {
    /// The walk shape.
    pub shape: Vec<usize>,
    /// Source/destination strides over the walk.
    pub data_strides: Vec<isize>,
    /// Index strides over the walk (into the row-major index list).
    pub idx_strides: Vec<isize>,
    /// Stride of the indexed axis in the source/destination.
    pub axis_stride: isize,
}

/// `out[w] = src[w's offset + idx[w] * axis_stride]` for every `w` of the walk; `out` row-major.
pub fn gather<T: Pod>(src: &Data, idx: &[usize], walk: &AxisWalk, out: &mut [T]) {
    let raw = src.raw::<T>();
    let mut k = 0;
    for_each_offsets(
        &walk.shape,
        [&walk.data_strides, &walk.idx_strides],
        [src.offset, 0],
        |[o, i]| {
            out[k] = raw[(o as isize + idx[i] as isize * walk.axis_stride) as usize];
            k += 1;
        },
    );
}

/// `dst[w's offset + idx[w] * axis_stride] (+)= upd[w]` for every `w` of the walk; `dst` is
/// row-major. `combine(old, update)` gives the new value (a sum for scatter-add, the update for a
/// put, where the last write wins).
pub fn scatter<T: Pod>(
    dst: &mut [T],
    idx: &[usize],
    upd: &Data,
    walk: &AxisWalk,
    combine: impl Fn(T, T) -> T,
) {
    let raw = upd.raw::<T>();
    let upd_strides = upd.strides.clone();
    for_each_offsets(
        &walk.shape,
        [&walk.data_strides, &walk.idx_strides, &upd_strides],
        [0, 0, upd.offset],
        |[o, i, u]| {
            let d = (o as isize + idx[i] as isize * walk.axis_stride) as usize;
            dst[d] = combine(dst[d], raw[u]);
        },
    );
}

/// Row-major strides of `shape` (re-exported for the primitives).
pub fn row_major(shape: &[usize]) -> Vec<isize> {
    contiguous_strides(shape)
}
