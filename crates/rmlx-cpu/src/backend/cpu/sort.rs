//! Sorting along one axis: sort, argsort (stable), argpartition, top-k indices, and the gather /
//! scatter-add along an axis their gradients use. NaN sorts after every number, as in numpy.
//!
//! The input is made row-contiguous and seen as `(outer, n, inner)`; each of the `outer * inner`
//! lines is copied out (a no-op slice when `inner == 1`), processed, and written back. Blocks of
//! `outer` go to rayon above [`super::parallel::PAR_THRESHOLD`] elements.

use std::cmp::Ordering;

use bytemuck::Pod;

use super::copy::contiguous;
use super::order::Ordered;
use super::parallel::{for_each_chunk_mut, PAR_THRESHOLD};
use super::scalar::Arith;
use super::scan::split_axis;
use crate::buffer::{Buffer, Data};
use crate::{bail, Dtype, Result};

/// Applies `f(line_in, line_out)` to every line along the middle axis of `(outer, n_in, inner)`
/// input and `(outer, n_out, inner)` output blocks.
fn for_lines<T: Pod + Send + Sync, U: Pod + Send + Sync + Default>(
    src: &[T],
    dst: &mut [U],
    (outer, n_in, inner): (usize, usize, usize),
    n_out: usize,
    f: impl Fn(&[T], &mut [U]) + Sync + Send,
) {
    if outer == 0 || inner == 0 {
        return;
    }
    let block = |(s, d): (&[T], &mut [U])| {
        if inner == 1 {
            f(s, d);
            return;
        }
        let mut lin = vec![s[0]; n_in];
        let mut lout = vec![U::default(); n_out];
        for i in 0..inner {
            for (j, v) in lin.iter_mut().enumerate() {
                *v = s[j * inner + i];
            }
            f(&lin, &mut lout);
            for (j, &v) in lout.iter().enumerate() {
                d[j * inner + i] = v;
            }
        }
    };
    let (bi, bo) = (n_in * inner, n_out * inner);
    if bi == 0 || bo == 0 {
        return;
    }
    let par = outer > 1 && outer * bi >= PAR_THRESHOLD;
    for_each_chunk_mut(dst, bo, par, &|first, d: &mut [U]| {
        let s = &src[first / bo * bi..];
        s.chunks(bi).zip(d.chunks_mut(bo)).for_each(block);
    });
}

fn line_op<T: Pod + Send + Sync, U: Pod + Send + Sync + Default>(
    x: Data,
    axis: usize,
    n_out: usize,
    out_dtype: Dtype,
    f: impl Fn(&[T], &mut [U]) + Sync + Send,
) -> Data {
    let x = contiguous(x);
    let (outer, n, inner) = split_axis(&x.shape, axis);
    let mut shape = x.shape.clone();
    shape[axis] = n_out;
    let total_out = outer * n_out * inner;
    let mut buf = Buffer::new(total_out * std::mem::size_of::<U>());
    let src = &x.raw::<T>()[x.offset..x.offset + outer * n * inner];
    for_lines(
        src,
        &mut buf.as_mut_slice::<U>()[..total_out],
        (outer, n, inner),
        n_out,
        f,
    );
    Data::new(buf, out_dtype, &shape)
}

/// Sorted values along `axis` (NaN last).
pub fn sort<T: Ordered + Pod + Default>(x: Data, axis: usize) -> Data {
    let (n, dtype) = (x.shape[axis], x.dtype);
    line_op::<T, T>(x, axis, n, dtype, |s, d| {
        d.copy_from_slice(s);
        d.sort_unstable_by(T::cmp_nan_last);
    })
}

fn stable_key<T: Ordered>(line: &[T]) -> impl Fn(&u32, &u32) -> Ordering + '_ {
    move |&a, &b| T::cmp_nan_last(&line[a as usize], &line[b as usize]).then(a.cmp(&b))
}

/// The stable sorting permutation along `axis` as uint32.
pub fn argsort<T: Ordered + Pod>(x: Data, axis: usize) -> Data {
    let n = x.shape[axis];
    line_op::<T, u32>(x, axis, n, Dtype::U32, |s, d| {
        for (k, v) in d.iter_mut().enumerate() {
            *v = k as u32;
        }
        d.sort_unstable_by(stable_key(s));
    })
}

/// A permutation along `axis` that puts the `kth` smallest element at position `kth`, smaller
/// (or equal) ones before it and larger ones after (ties broken by index, so deterministic).
pub fn argpartition<T: Ordered + Pod>(x: Data, kth: usize, axis: usize) -> Data {
    let n = x.shape[axis];
    line_op::<T, u32>(x, axis, n, Dtype::U32, |s, d| {
        for (k, v) in d.iter_mut().enumerate() {
            *v = k as u32;
        }
        if kth < d.len() {
            d.select_nth_unstable_by(kth, stable_key(s));
        }
    })
}

/// Indices of the `k` largest elements along `axis`, ordered by ascending value (ties by index).
pub fn argtopk<T: Ordered + Pod>(x: Data, k: usize, axis: usize) -> Data {
    let n = x.shape[axis];
    line_op::<T, u32>(x, axis, k, Dtype::U32, |s, d| {
        let mut idx: Vec<u32> = (0..n as u32).collect();
        let cmp = stable_key(s);
        if k < n && k > 0 {
            idx.select_nth_unstable_by(n - k, &cmp);
        }
        let top = &mut idx[n - k..];
        top.sort_unstable_by(&cmp);
        d.copy_from_slice(top);
    })
}

fn index_error(op: &str, idx: u32, n: usize) -> crate::Error {
    crate::err!(
        Index,
        "{op}: index {idx} is out of bounds for axis of size {n}"
    )
}

/// What the axis gathers and scatters assume: `axis` inside `x`, uint32 indices of `x`'s rank
/// agreeing with it on every other axis, and elements of `T`'s width.
fn check_along_axis<T>(op: &str, x: &Data, idx: &Data, axis: usize) -> Result<()> {
    let nd = x.shape.len();
    let fits = axis < nd
        && idx.dtype == Dtype::U32
        && x.dtype.size() == std::mem::size_of::<T>()
        && idx.shape.len() == nd
        && x.shape
            .iter()
            .zip(&idx.shape)
            .enumerate()
            .all(|(a, (&d, &m))| a == axis || d == m);
    if !fits {
        bail!(
            Shape,
            "{op}: a {} array of shape {:?} and {} indices of shape {:?} do not fit along axis \
             {axis}",
            x.dtype,
            x.shape,
            idx.dtype,
            idx.shape
        );
    }
    Ok(())
}

/// `out[o, j, i] = x[o, idx[o, j, i], i]`: `x` and `idx` (uint32) agree on every axis but `axis`;
/// the output has `idx`'s shape.
pub fn gather_axis<T: Pod + Send + Sync>(x: Data, idx: Data, axis: usize) -> Result<Data> {
    check_along_axis::<T>("gather", &x, &idx, axis)?;
    let x = contiguous(x);
    let idx = contiguous(idx);
    let (outer, n, inner) = split_axis(&x.shape, axis);
    let m = idx.shape[axis];
    let total = outer * m * inner;
    let xs = &x.raw::<T>()[x.offset..x.offset + outer * n * inner];
    let is = &idx.raw::<u32>()[idx.offset..idx.offset + total];
    let mut buf = Buffer::new(total * std::mem::size_of::<T>());
    let out = &mut buf.as_mut_slice::<T>()[..total];
    for o in 0..outer {
        for j in 0..m {
            for i in 0..inner {
                let at = (o * m + j) * inner + i;
                let k = is[at];
                if k as usize >= n {
                    return Err(index_error("gather", k, n));
                }
                out[at] = xs[(o * n + k as usize) * inner + i];
            }
        }
    }
    Ok(Data::new(buf, x.dtype, &idx.shape))
}

/// The transpose of [`gather_axis`]: zeros of `updates`' shape with `axis` of size `n`, then
/// `out[o, idx[o, j, i], i] += upd[o, j, i]`.
pub fn scatter_add_axis<T: Arith + Pod + Default>(
    upd: Data,
    idx: Data,
    axis: usize,
    n: usize,
) -> Result<Data> {
    check_along_axis::<T>("scatter_add", &upd, &idx, axis)?;
    if idx.shape != upd.shape {
        bail!(
            Shape,
            "scatter_add: updates of shape {:?} and indices of shape {:?} differ",
            upd.shape,
            idx.shape
        );
    }
    let upd = contiguous(upd);
    let idx = contiguous(idx);
    let (outer, m, inner) = split_axis(&upd.shape, axis);
    let mut shape = upd.shape.clone();
    shape[axis] = n;
    let total = outer * n * inner;
    let us = &upd.raw::<T>()[upd.offset..upd.offset + outer * m * inner];
    let is = &idx.raw::<u32>()[idx.offset..idx.offset + outer * m * inner];
    let mut buf = Buffer::new(total * std::mem::size_of::<T>());
    let out = &mut buf.as_mut_slice::<T>()[..total];
    out.fill(T::default());
    for o in 0..outer {
        for j in 0..m {
            for i in 0..inner {
                let at = (o * m + j) * inner + i;
                let k = is[at];
                if k as usize >= n {
                    bail!(
                        Index,
                        "scatter_add: index {k} is out of bounds for axis of size {n}"
                    );
                }
                let dst = &mut out[(o * n + k as usize) * inner + i];
                *dst = T::add(*dst, us[at]);
            }
        }
    }
    Ok(Data::new(buf, upd.dtype, &shape))
}

/// For each element of `values` (any shape), the number of elements of the sorted 1-D `seq`
/// that come before it: strictly below it, or with `right` not above it (MLX's `searchsorted`,
/// a binary search in which NaN sorts after every number). Output: uint32 of `values`' shape.
pub fn searchsorted<T: Ordered + Pod>(seq: &Data, values: &Data, right: bool) -> Data {
    let s = crate::buffer::collect_contiguous::<T>(seq);
    let v = crate::buffer::collect_contiguous::<T>(values);
    let less = |a: &T, b: &T| T::cmp_nan_last(a, b) == std::cmp::Ordering::Less;
    let out: Vec<u32> = v
        .iter()
        .map(|x| {
            let k = if right {
                s.partition_point(|m| !less(x, m))
            } else {
                s.partition_point(|m| less(m, x))
            };
            k as u32
        })
        .collect();
    Data::new(Buffer::from_slice(&out), Dtype::U32, values.shape())
}
