//! Reductions over any set of axes of a strided input.
//!
//! Three paths: reduced axes trailing and contiguous (one contiguous run per output element,
//! summed with 16 independent lanes so the compiler vectorises it), reduced axes leading and
//! contiguous (rows accumulated into the output, vectorised over columns), and a general strided
//! walk. Outputs are split across rayon above [`super::parallel::PAR_THRESHOLD`] input elements.

use bytemuck::Pod;

use super::parallel::{for_each_chunk_mut, map_collect, PAR_CHUNK, PAR_THRESHOLD};
use super::strided::{for_each_offset, offset_of};
use crate::buffer::Data;

const LANES: usize = 16;

/// How to reduce: `acc = combine(acc, load(x))` from `init`, then `finish(acc, count)`.
pub trait Reducer<T, A>: Sync + Send {
    /// The identity of `combine`.
    fn init(&self) -> A;
    /// Converts one input element into the accumulator type.
    fn load(&self, x: T) -> A;
    /// Combines two partial results.
    fn combine(&self, a: A, b: A) -> A;
}

/// Reduces `x` over `axes` (sorted, unique). Returns accumulators in row-major order of the kept
/// axes; the caller converts them to the output dtype.
pub fn reduce<T, A, R>(x: &Data, axes: &[usize], r: &R) -> Vec<A>
where
    T: Pod + Send + Sync,
    A: Copy + Send + Sync,
    R: Reducer<T, A>,
{
    let nd = x.shape.len();
    let kept: Vec<usize> = (0..nd).filter(|a| !axes.contains(a)).collect();
    let out_n: usize = kept.iter().map(|&a| x.shape[a]).product();
    let red_n: usize = axes.iter().map(|&a| x.shape[a]).product();
    if out_n == 0 {
        return Vec::new();
    }
    if red_n == 0 {
        return vec![r.init(); out_n];
    }
    let total = out_n * red_n;
    let trailing = axes
        .iter()
        .enumerate()
        .all(|(i, &a)| a == nd - axes.len() + i);
    let leading = axes.iter().enumerate().all(|(i, &a)| a == i);
    if let Some(xs) = x.contiguous_slice::<T>() {
        if trailing {
            let run = |i: usize| reduce_run(&xs[i * red_n..(i + 1) * red_n], r);
            let chunk = (PAR_CHUNK / red_n).max(1);
            return map_collect(out_n, r.init(), chunk, total >= PAR_THRESHOLD, &run);
        }
        if leading {
            return reduce_rows(xs, red_n, out_n, r, total >= PAR_THRESHOLD);
        }
    }
    // General strided walk: one output element at a time over the reduced sub-layout.
    let kept_shape: Vec<usize> = kept.iter().map(|&a| x.shape[a]).collect();
    let kept_strides: Vec<isize> = kept.iter().map(|&a| x.strides[a]).collect();
    let red_shape: Vec<usize> = axes.iter().map(|&a| x.shape[a]).collect();
    let red_strides: Vec<isize> = axes.iter().map(|&a| x.strides[a]).collect();
    let raw = x.raw::<T>();
    let one = |i: usize| {
        let base = offset_of(i, &kept_shape, &kept_strides, x.offset);
        let mut acc = r.init();
        for_each_offset(&red_shape, &red_strides, base, |o| {
            acc = r.combine(acc, r.load(raw[o]))
        });
        acc
    };
    let chunk = (PAR_CHUNK / red_n).max(1);
    map_collect(out_n, r.init(), chunk, total >= PAR_THRESHOLD, &one)
}

fn reduce_run<T: Pod, A: Copy, R: Reducer<T, A>>(xs: &[T], r: &R) -> A {
    let mut lanes = [r.init(); LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for k in 0..LANES {
            lanes[k] = r.combine(lanes[k], r.load(c[k]));
        }
    }
    let mut acc = r.init();
    for &v in chunks.remainder() {
        acc = r.combine(acc, r.load(v));
    }
    // pairwise tree over the lanes
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for k in 0..width {
            lanes[k] = r.combine(lanes[k], lanes[k + width]);
        }
    }
    r.combine(lanes[0], acc)
}

fn reduce_rows<T: Pod + Sync, A: Copy + Send + Sync, R: Reducer<T, A>>(
    xs: &[T],
    rows: usize,
    cols: usize,
    r: &R,
    par: bool,
) -> Vec<A> {
    let col_block = |start: usize, out: &mut [A]| {
        for o in out.iter_mut() {
            *o = r.init();
        }
        for row in 0..rows {
            let src = &xs[row * cols + start..row * cols + start + out.len()];
            for (o, &v) in out.iter_mut().zip(src) {
                *o = r.combine(*o, r.load(v));
            }
        }
    };
    let mut out = vec![r.init(); cols];
    if par && cols >= 64 {
        let block = cols.div_ceil(rayon::current_num_threads() * 4).max(16);
        for_each_chunk_mut(&mut out, block, true, &col_block);
    } else {
        col_block(0, &mut out);
    }
    out
}

/// Index (uint32) of the first maximum (`is_max`) or minimum along `axis`, for every position of
/// the other axes, in row-major order. A NaN counts as the extreme (numpy: the first NaN wins).
pub fn arg_reduce<T>(x: &Data, axis: usize, is_max: bool) -> Vec<u32>
where
    T: super::order::Ordered + Pod,
{
    let kept_shape: Vec<usize> = (0..x.shape.len())
        .filter(|&a| a != axis)
        .map(|a| x.shape[a])
        .collect();
    let kept_strides: Vec<isize> = (0..x.shape.len())
        .filter(|&a| a != axis)
        .map(|a| x.strides[a])
        .collect();
    let out_n: usize = kept_shape.iter().product();
    let n = x.shape[axis];
    let step = x.strides[axis];
    let raw = x.raw::<T>();
    let one = |i: usize| -> u32 {
        let base = offset_of(i, &kept_shape, &kept_strides, x.offset) as isize;
        let mut best = 0usize;
        let Some(&first) = raw.get(base as usize) else {
            return 0;
        };
        let mut bv = first;
        if bv.is_nan() {
            return 0;
        }
        for j in 1..n {
            let v = raw[(base + j as isize * step) as usize];
            if v.is_nan() {
                return j as u32;
            }
            if (is_max && v > bv) || (!is_max && v < bv) {
                bv = v;
                best = j;
            }
        }
        best as u32
    };
    if n == 0 {
        return vec![0; out_n];
    }
    let chunk = (PAR_CHUNK / n).max(1);
    map_collect(out_n, 0, chunk, out_n * n >= PAR_THRESHOLD, &one)
}
