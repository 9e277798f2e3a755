//! Elementwise kernels over strided inputs: classify once, split once, loop generically.
//!
//! The layout work is done by non-generic code: [`Walk`] collapses the operands' axes and cuts any
//! range of output positions into segments that lie on one row of the last (collapsed) axis, each
//! with its operands' starting offsets; [`super::parallel`] splits the output across threads.
//! What is generic over the element types and the operation is only the serial loop over one
//! segment, specialised for the row layouts the compiler vectorises (contiguous, broadcast
//! scalar, general stride). Output buffers are donated inputs where possible.

use bytemuck::Pod;

use super::parallel::for_each_chunk_mut;
pub use super::parallel::{PAR_CHUNK, PAR_THRESHOLD};
use super::strided::{collapse, offset_of};
use crate::buffer::{Buffer, Data};
use crate::{bail, Dtype, Result};

/// What the maps below assume of an operand, checked before any is walked: the output's shape
/// (operands are broadcast beforehand, as zero strides) and elements of the size its type
/// parameter reads. A caller handing a kernel other operands gets an `Err`, never an
/// out-of-bounds access.
fn check_operand<T>(d: &Data, shape: &[usize]) -> Result<()> {
    if d.shape != shape {
        bail!(
            Shape,
            "elementwise kernel: an operand of shape {:?} where {:?} was expected (broadcast the \
             operands to the output's shape first)",
            d.shape,
            shape
        );
    }
    check_size::<T>(d.dtype)
}

/// `T` has the element size of `dtype`.
fn check_size<T>(dtype: Dtype) -> Result<()> {
    if dtype.size() != std::mem::size_of::<T>() {
        bail!(
            Dtype,
            "elementwise kernel: {dtype} elements ({} bytes) read or written as {}-byte values",
            dtype.size(),
            std::mem::size_of::<T>()
        );
    }
    Ok(())
}

/// `N` same-shaped strided operands walked in row-major order of their common shape, after
/// collapsing the axes that are contiguous with each other in every operand.
pub struct Walk<const N: usize> {
    shape: Vec<usize>,
    strides: [Vec<isize>; N],
    offsets: [usize; N],
    /// Length of the last collapsed axis (1 for a 0-d walk).
    row: usize,
    /// Each operand's stride along the last collapsed axis.
    pub inner: [isize; N],
}

/// A run of output positions on one row: `out[pos..pos + len]` reads operand `k` from
/// `offsets[k]` on with step `Walk::inner[k]`.
#[derive(Clone, Copy, Debug)]
pub struct Segment<const N: usize> {
    /// Start in the chunk being filled.
    pub pos: usize,
    /// Number of elements.
    pub len: usize,
    /// Each operand's offset of the segment's first element.
    pub offsets: [usize; N],
}

impl<const N: usize> Walk<N> {
    /// The walk over `operands` (strides, offset), all of shape `shape`.
    pub fn new(shape: &[usize], operands: [(&[isize], usize); N]) -> Walk<N> {
        let strides: [&[isize]; N] = std::array::from_fn(|k| operands[k].0);
        let (mut cshape, cstrides) = collapse(shape, &strides);
        let mut cstrides: [Vec<isize>; N] = std::array::from_fn(|k| cstrides[k].clone());
        if cshape.is_empty() {
            cshape.push(1);
            for s in cstrides.iter_mut() {
                s.push(0);
            }
        }
        let nd = cshape.len();
        Walk {
            row: cshape[nd - 1],
            inner: std::array::from_fn(|k| cstrides[k][nd - 1]),
            offsets: std::array::from_fn(|k| operands[k].1),
            shape: cshape,
            strides: cstrides,
        }
    }

    /// The walk over the layouts of `data`.
    pub fn of(shape: &[usize], data: [&Data; N]) -> Walk<N> {
        Walk::new(
            shape,
            std::array::from_fn(|k| (&data[k].strides[..], data[k].offset)),
        )
    }

    /// The segments covering output positions `first..first + len`.
    pub fn segments(&self, first: usize, len: usize) -> Segments<'_, N> {
        Segments {
            walk: self,
            first,
            pos: 0,
            len,
        }
    }
}

/// Iterator of [`Walk::segments`].
pub struct Segments<'a, const N: usize> {
    walk: &'a Walk<N>,
    first: usize,
    pos: usize,
    len: usize,
}

impl<const N: usize> Iterator for Segments<'_, N> {
    type Item = Segment<N>;

    fn next(&mut self) -> Option<Segment<N>> {
        if self.pos >= self.len {
            return None;
        }
        let w = self.walk;
        let lin = self.first + self.pos;
        let len = (w.row - lin % w.row).min(self.len - self.pos);
        let seg = Segment {
            pos: self.pos,
            len,
            offsets: std::array::from_fn(|k| offset_of(lin, &w.shape, &w.strides[k], w.offsets[k])),
        };
        self.pos += len;
        Some(seg)
    }
}

/// The elements of one operand along a segment.
#[inline(always)]
fn at<T: Copy>(raw: &[T], base: usize, stride: isize, k: usize) -> T {
    raw[(base as isize + k as isize * stride) as usize]
}

/// `out[i] = f(x[i])` for output positions `first..first + out.len()`.
fn unary_chunk<T: Pod, U: Pod>(
    walk: &Walk<1>,
    raw: &[T],
    first: usize,
    out: &mut [U],
    f: &impl Fn(T) -> U,
) {
    let s = walk.inner[0];
    for seg in walk.segments(first, out.len()) {
        let o = &mut out[seg.pos..seg.pos + seg.len];
        let b = seg.offsets[0];
        match s {
            1 => {
                for (o, &v) in o.iter_mut().zip(&raw[b..b + seg.len]) {
                    *o = f(v);
                }
            }
            0 => o.fill(f(raw[b])),
            s => {
                for (k, o) in o.iter_mut().enumerate() {
                    *o = f(at(raw, b, s, k));
                }
            }
        }
    }
}

/// `out[i] = f(a[i], b[i])` for output positions `first..first + out.len()`.
fn binary_chunk<A: Pod, B: Pod, O: Pod>(
    walk: &Walk<2>,
    (ra, rb): (&[A], &[B]),
    first: usize,
    out: &mut [O],
    f: &impl Fn(A, B) -> O,
) {
    let (sa, sb) = (walk.inner[0], walk.inner[1]);
    for seg in walk.segments(first, out.len()) {
        let o = &mut out[seg.pos..seg.pos + seg.len];
        let [oa, ob] = seg.offsets;
        let n = seg.len;
        // the common row layouts get slice loops the compiler vectorises
        match (sa, sb) {
            (1, 1) => {
                for ((o, &x), &y) in o.iter_mut().zip(&ra[oa..oa + n]).zip(&rb[ob..ob + n]) {
                    *o = f(x, y);
                }
            }
            (1, 0) => {
                let y = rb[ob];
                for (o, &x) in o.iter_mut().zip(&ra[oa..oa + n]) {
                    *o = f(x, y);
                }
            }
            (0, 1) => {
                let x = ra[oa];
                for (o, &y) in o.iter_mut().zip(&rb[ob..ob + n]) {
                    *o = f(x, y);
                }
            }
            _ => {
                for (k, o) in o.iter_mut().enumerate() {
                    *o = f(at(ra, oa, sa, k), at(rb, ob, sb, k));
                }
            }
        }
    }
}

/// `dst[i] = f(dst[i], other[i])` for positions `first..first + dst.len()` of a donated buffer.
fn in_place_chunk<T: Pod, U: Pod>(
    walk: &Walk<1>,
    raw: &[U],
    first: usize,
    dst: &mut [T],
    f: &impl Fn(T, U) -> T,
) {
    let s = walk.inner[0];
    for seg in walk.segments(first, dst.len()) {
        let d = &mut dst[seg.pos..seg.pos + seg.len];
        let b = seg.offsets[0];
        match s {
            1 => {
                for (d, &v) in d.iter_mut().zip(&raw[b..b + seg.len]) {
                    *d = f(*d, v);
                }
            }
            0 => {
                let v = raw[b];
                d.iter_mut().for_each(|d| *d = f(*d, v));
            }
            s => {
                for (k, d) in d.iter_mut().enumerate() {
                    *d = f(*d, at(raw, b, s, k));
                }
            }
        }
    }
}

/// `out[i] = f(x[i])` over a strided input into a row-major `out` of the same size.
pub fn unary<T: Pod + Send + Sync, U: Pod + Send + Sync>(
    x: &Data,
    out: &mut [U],
    f: impl Fn(T) -> U + Sync + Send,
) -> Result<()> {
    check_operand::<T>(x, &x.shape)?;
    if out.len() != x.size() {
        bail!(
            Shape,
            "elementwise kernel: an output of {} elements for an input of {}",
            out.len(),
            x.size()
        );
    }
    let walk = Walk::of(&x.shape, [x]);
    let raw = x.raw::<T>();
    let par = out.len() >= PAR_THRESHOLD;
    for_each_chunk_mut(out, PAR_CHUNK, par, &|first, o: &mut [U]| {
        unary_chunk(&walk, raw, first, o, &f)
    });
    Ok(())
}

/// In-place variant of [`unary`] for a donated, contiguous buffer of the same element type.
pub fn unary_in_place<T: Pod + Send + Sync>(buf: &mut [T], f: impl Fn(T) -> T + Sync + Send) {
    let par = buf.len() >= PAR_THRESHOLD;
    for_each_chunk_mut(buf, PAR_CHUNK, par, &|_, c: &mut [T]| {
        c.iter_mut().for_each(|v| *v = f(*v))
    });
}

/// Applies `f` elementwise, producing a fresh (or donated) buffer of dtype `out_dtype`.
pub fn map_unary<T: Pod + Send + Sync, U: Pod + Send + Sync>(
    mut x: Data,
    out_dtype: Dtype,
    f: impl Fn(T) -> U + Sync + Send,
) -> Result<Data> {
    let shape = x.shape.clone();
    check_operand::<T>(&x, &shape)?;
    check_size::<U>(out_dtype)?;
    let n = x.size();
    let same = x.dtype == out_dtype && std::mem::size_of::<T>() == std::mem::size_of::<U>();
    if same {
        if let Some(mut buf) = x.try_donate(n * out_dtype.size()) {
            // The donated buffer holds x contiguously: transform it in place.
            let slice = buf.as_mut_slice::<T>();
            unary_in_place(&mut slice[..n], |v: T| bytemuck::cast::<U, T>(f(v)));
            return Ok(Data::new(buf, out_dtype, &shape));
        }
    }
    let mut buf = Buffer::new(n * out_dtype.size());
    unary(&x, &mut buf.as_mut_slice::<U>()[..n], f)?;
    Ok(Data::new(buf, out_dtype, &shape))
}

/// Applies `f` to two same-shaped strided inputs (broadcast beforehand as zero strides),
/// producing a fresh (or donated) buffer of dtype `out_dtype`.
pub fn map_binary<A: Pod + Send + Sync, B: Pod + Send + Sync, O: Pod + Send + Sync>(
    mut a: Data,
    mut b: Data,
    out_dtype: Dtype,
    f: impl Fn(A, B) -> O + Sync + Send,
) -> Result<Data> {
    let shape = a.shape.clone();
    check_operand::<A>(&a, &shape)?;
    check_operand::<B>(&b, &shape)?;
    check_size::<O>(out_dtype)?;
    let n = a.size();
    let bytes = n * out_dtype.size();
    let par = n >= PAR_THRESHOLD;
    if a.dtype == out_dtype && std::mem::size_of::<A>() == std::mem::size_of::<O>() {
        if let Some(mut buf) = a.try_donate(bytes) {
            let walk = Walk::of(&shape, [&b]);
            let rb = b.raw::<B>();
            let g = |x: A, y: B| bytemuck::cast::<O, A>(f(x, y));
            let dst = &mut buf.as_mut_slice::<A>()[..n];
            for_each_chunk_mut(dst, PAR_CHUNK, par, &|first, d: &mut [A]| {
                in_place_chunk(&walk, rb, first, d, &g)
            });
            return Ok(Data::new(buf, out_dtype, &shape));
        }
    }
    if b.dtype == out_dtype && std::mem::size_of::<B>() == std::mem::size_of::<O>() {
        if let Some(mut buf) = b.try_donate(bytes) {
            let walk = Walk::of(&shape, [&a]);
            let ra = a.raw::<A>();
            let g = |y: B, x: A| bytemuck::cast::<O, B>(f(x, y));
            let dst = &mut buf.as_mut_slice::<B>()[..n];
            for_each_chunk_mut(dst, PAR_CHUNK, par, &|first, d: &mut [B]| {
                in_place_chunk(&walk, ra, first, d, &g)
            });
            return Ok(Data::new(buf, out_dtype, &shape));
        }
    }
    let mut buf = Buffer::new(bytes);
    let walk = Walk::of(&shape, [&a, &b]);
    let raws = (a.raw::<A>(), b.raw::<B>());
    let out = &mut buf.as_mut_slice::<O>()[..n];
    for_each_chunk_mut(out, PAR_CHUNK, par, &|first, o: &mut [O]| {
        binary_chunk(&walk, raws, first, o, &f)
    });
    Ok(Data::new(buf, out_dtype, &shape))
}

/// Reads `out.len()` elements of type `T` from the bytes `raw`, starting at element `base` with
/// step `stride`, as f64 (a [`map_through_f64`] loader).
pub fn load_f64<T: crate::Element>(raw: &[u8], base: usize, stride: isize, out: &mut [f64]) {
    let raw: &[T] = bytemuck::cast_slice(raw);
    if stride == 1 {
        let n = out.len();
        for (o, &v) in out.iter_mut().zip(&raw[base..base + n]) {
            *o = v.to_f64();
        }
    } else {
        for (k, o) in out.iter_mut().enumerate() {
            *o = at(raw, base, stride, k).to_f64();
        }
    }
}

/// Writes f64 values as elements of type `U` into the bytes `out` (a [`map_through_f64`]
/// storer; `as` semantics, saturating for integers).
pub fn store_f64<U: crate::Element>(src: &[f64], out: &mut [u8]) {
    let out: &mut [U] = bytemuck::cast_slice_mut(out);
    for (o, &v) in out.iter_mut().zip(src) {
        *o = U::from_f64(v);
    }
}

/// A reader of one strided run of elements into a tile of `W` (see [`load_f64`], [`load_f32`]).
pub type Load<W> = fn(&[u8], usize, isize, &mut [W]);
/// A writer of a tile of `W` as output elements (see [`store_f64`], [`store_f32`]).
pub type Store<W> = fn(&[W], &mut [u8]);
/// [`Load`] into f64.
pub type LoadF64 = Load<f64>;
/// [`Store`] from f64.
pub type StoreF64 = Store<f64>;

/// Reads `out.len()` f16/bf16 elements from the bytes `raw` (start `base`, step `stride`) as f32.
pub fn load_f32<T: super::scalar::Real<C = f32>>(
    raw: &[u8],
    base: usize,
    stride: isize,
    out: &mut [f32],
) {
    let raw: &[T] = bytemuck::cast_slice(raw);
    for (k, o) in out.iter_mut().enumerate() {
        *o = at(raw, base, stride, k).to_c();
    }
}

/// Writes f32 values rounded to f16/bf16 into the bytes `out`.
pub fn store_f32<T: super::scalar::Real<C = f32>>(src: &[f32], out: &mut [u8]) {
    let out: &mut [T] = bytemuck::cast_slice_mut(out);
    for (o, &v) in out.iter_mut().zip(src) {
        *o = T::from_c(v);
    }
}

/// Writes f32 values as bool bytes (non-zero is true).
pub fn store_bool(src: &[f32], out: &mut [u8]) {
    for (o, &v) in out.iter_mut().zip(src) {
        *o = (v != 0.0) as u8;
    }
}

/// Elements per tile of [`map_tiles`]: small enough for the stack and L1.
pub const TILE: usize = 256;

/// A tile kernel: computes in place on `tiles[0][..m]`, reading the other operands' tiles.
pub type TileFn<'a, W, const N: usize> = &'a (dyn Fn(&mut [[W; TILE]; N], usize) + Sync);

/// Elementwise over `N` same-shaped strided inputs through tiles of `W`: each tile is read with
/// the input's `load`, computed by `f` and written with `store`. One instance serves every
/// (dtype, op) pair that computes in `W`: f16/bf16 math runs through f32 tiles this way, and
/// dtype conversions through f64 tiles, instead of one kernel instance per pair.
pub fn map_tiles<W: Copy + Default + Send + Sync, const N: usize>(
    inputs: [&Data; N],
    out_dtype: Dtype,
    load: [Load<W>; N],
    f: TileFn<'_, W, N>,
    store: Store<W>,
) -> Result<Data> {
    let Some(first) = inputs.first() else {
        bail!(Value, "elementwise kernel: no operands");
    };
    let shape = first.shape.clone();
    for x in inputs {
        if x.shape != shape {
            bail!(
                Shape,
                "elementwise kernel: operands of shapes {:?} and {:?} (broadcast them first)",
                shape,
                x.shape
            );
        }
    }
    let n: usize = shape.iter().product();
    let size = out_dtype.size();
    let mut buf = Buffer::new(n * size);
    let walk = Walk::of(&shape, inputs);
    let raws: [&[u8]; N] = std::array::from_fn(|k| inputs[k].buf.bytes());
    let out = &mut buf.bytes_mut()[..n * size];
    let par = n >= PAR_THRESHOLD;
    for_each_chunk_mut(out, PAR_CHUNK * size, par, &|first, chunk: &mut [u8]| {
        let mut tiles = [[W::default(); TILE]; N];
        for seg in walk.segments(first / size, chunk.len() / size) {
            let mut k = 0;
            while k < seg.len {
                let m = TILE.min(seg.len - k);
                for (j, tile) in tiles.iter_mut().enumerate() {
                    let s = walk.inner[j];
                    let base = (seg.offsets[j] as isize + k as isize * s) as usize;
                    load[j](raws[j], base, s, &mut tile[..m]);
                }
                f(&mut tiles, m);
                let at = (seg.pos + k) * size;
                store(&tiles[0][..m], &mut chunk[at..at + m * size]);
                k += m;
            }
        }
    });
    Ok(Data::new(buf, out_dtype, &shape))
}

/// Converts the strided `x` into a row-major array of `out_dtype` through f64 tiles: `load`
/// reads `x`'s elements (one instance per source type), `store` writes the output's (one per
/// target type), instead of one kernel instance per (source, target) pair.
pub fn map_through_f64(x: &Data, out_dtype: Dtype, load: LoadF64, store: StoreF64) -> Result<Data> {
    map_tiles::<f64, 1>([x], out_dtype, [load], &|_, _| {}, store)
}

/// `out[i] = if c[i] != 0 { x[i] } else { y[i] }` over three same-shaped strided inputs (`c` is
/// bool storage).
pub fn map_ternary<T: Pod + Send + Sync>(
    c: &Data,
    x: &Data,
    y: &Data,
    out_dtype: Dtype,
) -> Result<Data> {
    let shape = c.shape.clone();
    check_operand::<u8>(c, &shape)?;
    check_operand::<T>(x, &shape)?;
    check_operand::<T>(y, &shape)?;
    check_size::<T>(out_dtype)?;
    let n = c.size();
    let mut buf = Buffer::new(n * out_dtype.size());
    let walk = Walk::of(&shape, [c, x, y]);
    let (rc, rx, ry) = (c.raw::<u8>(), x.raw::<T>(), y.raw::<T>());
    let [sc, sx, sy] = walk.inner;
    let out = &mut buf.as_mut_slice::<T>()[..n];
    for_each_chunk_mut(
        out,
        PAR_CHUNK,
        n >= PAR_THRESHOLD,
        &|first, out: &mut [T]| {
            for seg in walk.segments(first, out.len()) {
                let o = &mut out[seg.pos..seg.pos + seg.len];
                let [oc, ox, oy] = seg.offsets;
                let m = seg.len;
                if (sc, sx, sy) == (1, 1, 1) {
                    let (cs, xs, ys) = (&rc[oc..oc + m], &rx[ox..ox + m], &ry[oy..oy + m]);
                    for (((o, &c), &x), &y) in o.iter_mut().zip(cs).zip(xs).zip(ys) {
                        *o = if c != 0 { x } else { y };
                    }
                } else {
                    for (k, o) in o.iter_mut().enumerate() {
                        *o = if at(rc, oc, sc, k) != 0 {
                            at(rx, ox, sx, k)
                        } else {
                            at(ry, oy, sy, k)
                        };
                    }
                }
            }
        },
    );
    Ok(Data::new(buf, out_dtype, &shape))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A naive reference: the element of a strided layout at row-major position `i`.
    fn naive(d: &Data, i: usize) -> f32 {
        d.raw::<f32>()[offset_of(i, &d.shape, &d.strides, d.offset)]
    }

    fn view(vals: &[f32], shape: &[usize], strides: &[isize], offset: usize) -> Data {
        let mut d = Data::new(Buffer::from_slice(vals), Dtype::F32, &[vals.len()]);
        d.shape = shape.to_vec();
        d.strides = strides.to_vec();
        d.offset = offset;
        d
    }

    #[test]
    fn segments_split_rows_and_chunks() {
        let w = Walk::new(&[3, 4], [(&[1, 3][..], 0)]);
        let segs: Vec<_> = w.segments(2, 7).collect();
        assert_eq!(
            segs.iter()
                .map(|s| (s.pos, s.len, s.offsets[0]))
                .collect::<Vec<_>>(),
            vec![(0, 2, 6), (2, 4, 1), (6, 1, 2)]
        );
    }

    #[test]
    fn binary_layouts_match_naive_loop() {
        let vals: Vec<f32> = (0..4096).map(|i| i as f32 * 0.5 - 7.0).collect();
        // (shape, a strides, a offset, b strides, b offset): contiguous, row broadcast, column
        // broadcast, transposed, negative strides, scalar, 0-d; sizes above the parallel threshold
        type Case = (Vec<usize>, Vec<isize>, usize, Vec<isize>, usize);
        let cases: Vec<Case> = vec![
            (vec![64, 64], vec![64, 1], 0, vec![64, 1], 0),
            (vec![64, 64], vec![64, 1], 0, vec![0, 1], 5),
            (vec![64, 64], vec![0, 1], 3, vec![1, 0], 0),
            (vec![64, 64], vec![1, 64], 0, vec![64, 1], 0),
            (vec![8, 9], vec![-9, -1], 4095, vec![0, 0], 7),
            (vec![], vec![], 11, vec![], 12),
            (vec![300, 200], vec![1, 0], 0, vec![0, 1], 0),
            (vec![2, 0, 3], vec![0, 3, 1], 0, vec![0, 3, 1], 0),
        ];
        for (shape, sa, oa, sb, ob) in cases {
            let a = view(&vals, &shape, &sa, oa);
            let b = view(&vals, &shape, &sb, ob);
            let n: usize = shape.iter().product();
            let out =
                map_binary::<f32, f32, f32>(a.clone(), b.clone(), Dtype::F32, |x, y| x * 2.0 - y)
                    .unwrap();
            let got = out.contiguous_slice::<f32>().unwrap();
            assert_eq!(got.len(), n);
            for (i, &g) in got.iter().enumerate() {
                assert_eq!(g, naive(&a, i) * 2.0 - naive(&b, i), "{shape:?} at {i}");
            }
            let u = map_unary::<f32, f32>(b.clone(), Dtype::F32, |x| x + 1.0).unwrap();
            let got = u.contiguous_slice::<f32>().unwrap();
            assert_eq!(got.len(), n);
            for (i, &g) in got.iter().enumerate() {
                assert_eq!(g, naive(&b, i) + 1.0);
            }
        }
    }

    #[test]
    fn donated_buffers_compute_in_place() {
        let n = 1 << 16;
        let a = Data::new(
            Buffer::from_slice(&vec![1.0f32; n]),
            Dtype::F32,
            &[256, 256],
        );
        let ptr = a.buf.bytes().as_ptr();
        let vals: Vec<f32> = (0..256).map(|i| i as f32).collect();
        let row = view(&vals, &[256, 256], &[0, 1], 0);
        let out = map_binary::<f32, f32, f32>(a, row, Dtype::F32, |x, y| x + y).unwrap();
        assert_eq!(out.buf.bytes().as_ptr(), ptr, "the lhs buffer is reused");
        let got = out.contiguous_slice::<f32>().unwrap();
        assert!(got
            .chunks(256)
            .all(|r| r.iter().enumerate().all(|(j, &v)| v == j as f32 + 1.0)));
        // donated rhs: the operation order is kept (x - y, not y - x)
        let b = Data::new(Buffer::from_slice(&vec![3.0f32; n]), Dtype::F32, &[n]);
        let s = view(&[10.0], &[n], &[0], 0);
        let out = map_binary::<f32, f32, f32>(s, b, Dtype::F32, |x, y| x - y).unwrap();
        assert!(out
            .contiguous_slice::<f32>()
            .unwrap()
            .iter()
            .all(|&v| v == 7.0));
    }

    #[test]
    fn conversion_through_f64_tiles_matches_as() {
        // a transposed f32 view (stride 300) into i16, saturating, across chunks and tiles
        let vals: Vec<f32> = (0..60_000).map(|i| i as f32 * 1.5 - 40_000.0).collect();
        let x = view(&vals, &[300, 200], &[1, 300], 0);
        let out = map_through_f64(&x, Dtype::I16, load_f64::<f32>, store_f64::<i16>).unwrap();
        let got = out.contiguous_slice::<i16>().unwrap();
        assert_eq!(got.len(), 60_000);
        for (i, &g) in got.iter().enumerate() {
            assert_eq!(g, naive(&x, i) as f64 as i16, "at {i}");
        }
    }

    #[test]
    fn ternary_selects_per_layout() {
        let c = Data::new(Buffer::from_slice(&[1u8, 0, 1]), Dtype::Bool, &[3]);
        let x = view(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], &[3, 1], 0);
        let y = view(&[-1.0], &[2, 3], &[0, 0], 0);
        let mut cb = c.clone();
        cb.shape = vec![2, 3];
        cb.strides = vec![0, 1];
        let out = map_ternary::<f32>(&cb, &x, &y, Dtype::F32).unwrap();
        assert_eq!(
            out.contiguous_slice::<f32>().unwrap(),
            &[1.0, -1.0, 3.0, 4.0, -1.0, 6.0]
        );
    }
}
