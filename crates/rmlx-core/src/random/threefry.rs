//! The Threefry-2x32 counter hash (20 rounds) and the word layout MLX's `RandomBits` writes.
//!
//! A key `(k0, k1)` and a counter pair `(c0, c1)` hash to two 32-bit words. For `n` words per key
//! MLX fills the first `n / 2` words with the first output of counters `(i, i + half + odd)` and
//! the last `n / 2` words with their second output; an odd middle word comes from counter
//! `(half, 0)`. Reproducing that layout is what makes every sample match MLX bit for bit.

use rayon::prelude::*;

use crate::backend::cpu::parallel::{PAR_CHUNK, PAR_THRESHOLD};

const ROTATIONS: [[u32; 4]; 2] = [[13, 15, 26, 6], [17, 29, 16, 24]];
const KEY_PARITY: u32 = 0x1BD1_1BDA;

/// Threefry-2x32 with 20 rounds: hashes the counter pair `count` under `key`.
///
/// ```
/// use rmlx_core::random::threefry2x32;
/// // The first words of MLX's `split(key(0))`.
/// assert_eq!(threefry2x32([0, 0], [0, 2]), (4146024105, 2718843009));
/// ```
// The indices are taken modulo the lengths of the fixed-size arrays they index
// (`ROTATIONS` has 2 rows, `ks` 3 words).
#[allow(clippy::indexing_slicing)]
pub fn threefry2x32(key: [u32; 2], count: [u32; 2]) -> (u32, u32) {
    let ks = [key[0], key[1], key[0] ^ key[1] ^ KEY_PARITY];
    let mut x0 = count[0].wrapping_add(ks[0]);
    let mut x1 = count[1].wrapping_add(ks[1]);
    for i in 0..5usize {
        for &r in &ROTATIONS[i % 2] {
            x0 = x0.wrapping_add(x1);
            x1 = x1.rotate_left(r);
            x1 ^= x0;
        }
        x0 = x0.wrapping_add(ks[(i + 1) % 3]);
        x1 = x1.wrapping_add(ks[(i + 2) % 3]).wrapping_add(i as u32 + 1);
    }
    (x0, x1)
}

/// Fills `out` with the random words one key produces, in MLX's layout (see the module docs).
pub fn fill_words(key: [u32; 2], out: &mut [u32]) {
    let n = out.len();
    let half = n / 2;
    let odd = n % 2;
    let off = half + odd;
    let (lo, rest) = out.split_at_mut(half);
    let (mid, hi) = rest.split_at_mut(odd);
    // Counters are 32-bit in the hash: MLX truncates its size_t counters the same way.
    let pair = |i: usize| threefry2x32(key, [i as u32, (i + off) as u32]);
    if half >= PAR_THRESHOLD {
        lo.par_chunks_mut(PAR_CHUNK)
            .zip(hi.par_chunks_mut(PAR_CHUNK))
            .enumerate()
            .for_each(|(c, (l, h))| {
                for (k, (a, b)) in l.iter_mut().zip(h.iter_mut()).enumerate() {
                    (*a, *b) = pair(c * PAR_CHUNK + k);
                }
            });
    } else {
        for (i, (a, b)) in lo.iter_mut().zip(hi.iter_mut()).enumerate() {
            (*a, *b) = pair(i);
        }
    }
    if let Some(m) = mid.first_mut() {
        *m = threefry2x32(key, [half as u32, 0]).0;
    }
}

/// The two words `split(key)` yields as MLX's pair `(next key, subkey)`: rows 0 and 1 of
/// `bits((2, 2), key)`.
pub fn split_pair(key: [u32; 2]) -> ([u32; 2], [u32; 2]) {
    let mut w = [0u32; 4];
    fill_words(key, &mut w);
    ([w[0], w[1]], [w[2], w[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_mlx_split() {
        let mut w = [0u32; 4];
        fill_words([0, 0], &mut w);
        assert_eq!(w, [4146024105, 967050713, 2718843009, 1272950319]);
    }

    #[test]
    fn parallel_fill_equals_serial() {
        let n = 2 * PAR_THRESHOLD + 3;
        let mut par = vec![0u32; n];
        fill_words([7, 9], &mut par);
        let half = n / 2;
        for i in [0, 1, half - 1] {
            let (a, b) = threefry2x32([7, 9], [i as u32, (i + half + 1) as u32]);
            assert_eq!((par[i], par[i + half + 1]), (a, b));
        }
        assert_eq!(par[half], threefry2x32([7, 9], [half as u32, 0]).0);
    }
}
