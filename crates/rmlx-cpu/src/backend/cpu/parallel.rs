//! The one place kernels split work across threads.
//!
//! Every parallel kernel hands its output to [`for_each_chunk_mut`] with a `dyn` closure that
//! processes one chunk serially. The rayon machinery is then instantiated once per output element
//! type, not once per (op, dtype, layout) kernel instance: before this module, 75 % of rmlx-core's
//! machine code was rayon plumbing repeated inside every generic elementwise instance.

use rayon::prelude::*;

/// Elements below which an elementwise kernel stays on one thread.
///
/// Measured on the 2-core Zen 5 machine (f32 `add`, contiguous, criterion medians): at 16 Ki
/// elements one thread takes ~2.1 µs and two ~4.5 µs (rayon's wake-up dominates); at 64 Ki one
/// thread ~9 µs, two ~7 µs. The crossover sits near 32 Ki elements.
pub const PAR_THRESHOLD: usize = 1 << 15;

/// Elements per task in the parallel paths.
pub const PAR_CHUNK: usize = 1 << 14;

/// Calls `f(first, chunk)` for consecutive chunks of `out` of `chunk_len` elements (the last may
/// be shorter), where `first` is the index of `chunk[0]` in `out`. With `parallel` the chunks run
/// on rayon's pool; otherwise `f(0, out)` runs once on this thread. Nothing runs for an empty
/// `out`.
///
/// ```
/// use rmlx_cpu::backend::cpu::parallel::for_each_chunk_mut;
/// let mut out = vec![0usize; 100];
/// for_each_chunk_mut(&mut out, 7, true, &|first, chunk: &mut [usize]| {
///     for (k, o) in chunk.iter_mut().enumerate() {
///         *o = first + k;
///     }
/// });
/// assert!(out.iter().enumerate().all(|(i, &v)| i == v));
/// ```
pub fn for_each_chunk_mut<A: Send>(
    out: &mut [A],
    chunk_len: usize,
    parallel: bool,
    f: &(dyn Fn(usize, &mut [A]) + Sync),
) {
    let chunk_len = chunk_len.max(1);
    if out.is_empty() {
        return;
    }
    if parallel && out.len() > chunk_len && rayon::current_num_threads() > 1 {
        out.par_chunks_mut(chunk_len)
            .enumerate()
            .for_each(|(k, c)| f(k * chunk_len, c));
    } else {
        f(0, out);
    }
}

/// The chunk function of [`for_each_chunk3_mut`]: `(first, a, b, c)`.
pub type Chunk3Fn<'f, A> = dyn Fn(usize, &mut [A], &mut [A], &mut [A]) + Sync + 'f;

/// [`for_each_chunk_mut`] over three outputs of one length at once: `f(first, a, b, c)` gets the
/// chunks of each that cover the same elements (a kernel with several outputs, such as a fused
/// optimizer step writing the parameter and both moments).
pub fn for_each_chunk3_mut<A: Send>(
    [a, b, c]: [&mut [A]; 3],
    chunk_len: usize,
    parallel: bool,
    f: &Chunk3Fn<'_, A>,
) {
    let chunk_len = chunk_len.max(1);
    let n = a.len().min(b.len()).min(c.len());
    let (a, b, c) = (&mut a[..n], &mut b[..n], &mut c[..n]);
    if n == 0 {
        return;
    }
    if parallel && n > chunk_len && rayon::current_num_threads() > 1 {
        a.par_chunks_mut(chunk_len)
            .zip(b.par_chunks_mut(chunk_len))
            .zip(c.par_chunks_mut(chunk_len))
            .enumerate()
            .for_each(|(k, ((a, b), c))| f(k * chunk_len, a, b, c));
    } else {
        f(0, a, b, c);
    }
}

/// `(0..n).map(f).collect()`, split across the pool when `parallel` (chunks of `chunk_len`).
/// `fill` initialises the vector before the chunks overwrite it.
pub fn map_collect<A: Copy + Send>(
    n: usize,
    fill: A,
    chunk_len: usize,
    parallel: bool,
    f: &(dyn Fn(usize) -> A + Sync),
) -> Vec<A> {
    let mut out = vec![fill; n];
    for_each_chunk_mut(&mut out, chunk_len, parallel, &|first, chunk: &mut [A]| {
        for (k, o) in chunk.iter_mut().enumerate() {
            *o = f(first + k);
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_output_once() {
        for &(n, chunk, par) in &[(0, 4, true), (1, 4, true), (10, 3, true), (100, 100, true)] {
            let mut out = vec![0u32; n];
            for_each_chunk_mut(&mut out, chunk, par, &|first, c: &mut [u32]| {
                for (k, o) in c.iter_mut().enumerate() {
                    *o += (first + k) as u32 + 1;
                }
            });
            assert!(out.iter().enumerate().all(|(i, &v)| v as usize == i + 1));
        }
    }

    #[test]
    fn three_outputs_get_chunks_over_the_same_elements() {
        for &(n, chunk, par) in &[(0, 4, true), (1, 4, true), (10, 3, true), (1000, 64, true)] {
            let (mut a, mut b, mut c) = (vec![0u32; n], vec![0u32; n], vec![0u32; n]);
            for_each_chunk3_mut(
                [&mut a, &mut b, &mut c],
                chunk,
                par,
                &|first, a: &mut [u32], b: &mut [u32], c: &mut [u32]| {
                    assert!(a.len() == b.len() && b.len() == c.len());
                    for k in 0..a.len() {
                        let i = (first + k) as u32;
                        (a[k], b[k], c[k]) = (a[k] + i + 1, b[k] + 2 * i, c[k] + 3 * i);
                    }
                },
            );
            for i in 0..n as u32 {
                let k = i as usize;
                assert_eq!((a[k], b[k], c[k]), (i + 1, 2 * i, 3 * i), "{n} {chunk}");
            }
        }
    }

    #[test]
    fn map_collect_matches_serial() {
        let v = map_collect(1000, 0u64, 33, true, &|i| (i * i) as u64);
        assert_eq!(v, (0..1000).map(|i| (i * i) as u64).collect::<Vec<_>>());
    }
}
