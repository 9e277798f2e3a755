//! Non-temporal ("streaming") stores for outputs larger than the caches.
//!
//! A normal store to a line that is not in cache first reads the line (read for ownership), so
//! writing a large output moves its bytes twice. Streaming stores write whole lines without
//! reading them and leave the caches to the inputs. They pay off only when the output will not
//! be read again soon from cache anyway: outputs of at least [`STREAM_MIN_BYTES`].

/// Outputs of at least this many bytes in all are written with streaming stores (above the
/// last-level cache share of a core on the machines measured).
pub const STREAM_MIN_BYTES: usize = 32 << 20;

/// `out[i] = scale * src[i]` (or `src[i]` when `scale` is `None`) over `min(out, src)`
/// elements, with non-temporal stores where `out` is 16-byte aligned; the unaligned head and
/// the tail take normal stores. Call [`fence`] before another thread may read `out`.
#[inline(always)]
pub fn store(out: &mut [f32], src: &[f32], scale: Option<f32>) {
    let n = out.len().min(src.len());
    let head = out.as_ptr().align_offset(16).min(n);
    let body = (n - head) / 4 * 4;
    let plain = |out: &mut [f32], src: &[f32]| match scale {
        Some(s) => out.iter_mut().zip(src).for_each(|(o, &v)| *o = s * v),
        None => out.copy_from_slice(src),
    };
    plain(&mut out[..head], &src[..head]);
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_loadu_ps, _mm_mul_ps, _mm_set1_ps, _mm_stream_ps};
        let (dst, from) = (out.as_mut_ptr(), src.as_ptr());
        // SAFETY: `i + 4 <= head + body <= n` in both loops, so every 4-float range read is
        // inside `src` and every one written inside `out`; `out[i]` is 16-byte aligned (`head`
        // aligns it and `i - head` is a multiple of 4 floats), as the streaming store requires.
        unsafe {
            match scale {
                Some(s) => {
                    let sv = _mm_set1_ps(s);
                    for i in (head..head + body).step_by(4) {
                        let v = _mm_mul_ps(sv, _mm_loadu_ps(from.add(i)));
                        _mm_stream_ps(dst.add(i), v);
                    }
                }
                None => {
                    for i in (head..head + body).step_by(4) {
                        _mm_stream_ps(dst.add(i), _mm_loadu_ps(from.add(i)));
                    }
                }
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    plain(&mut out[head..head + body], &src[head..head + body]);
    plain(&mut out[head + body..n], &src[head + body..n]);
}

/// Orders this thread's streaming stores before whatever it writes next (call it before the
/// task that wrote them reports completion).
#[inline(always)]
pub fn fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a store fence has no operands and no effect but ordering this thread's stores.
    unsafe {
        std::arch::x86_64::_mm_sfence()
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn streamed_values_match_plain_ones_at_every_alignment() {
        let src: Vec<f32> = (0..203).map(|i| i as f32 * 0.37 - 5.0).collect();
        for start in 0..5 {
            for len in [0, 1, 3, 4, 7, 64, 198] {
                for scale in [None, Some(-1.5f32)] {
                    let mut out = vec![0.0f32; 210];
                    super::store(&mut out[start..start + len], &src[..len], scale);
                    super::fence();
                    for (i, &v) in out.iter().enumerate() {
                        let want = if (start..start + len).contains(&i) {
                            scale.unwrap_or(1.0) * src[i - start]
                        } else {
                            0.0
                        };
                        assert_eq!(v, want, "start {start} len {len} at {i}");
                    }
                }
            }
        }
    }
}
