//! Runs a loop compiled for the CPU's widest vector unit and its fused multiply-add: AVX-512
//! or AVX2+FMA when the CPU has them (checked at run time), the baseline target otherwise.
//!
//! Code that calls `f32::mul_add` gets the same bits either way; compiled for the baseline
//! x86-64 target each call goes to the C library's `fmaf`, so a loop of such code runs several
//! times faster here.

/// Runs `f` compiled for AVX-512 or AVX2+FMA where the CPU has them.
///
/// `f` is inlined into the dispatched copies, so the loop it holds is vectorised for that
/// unit; a closure that hands work to other threads gets no benefit on those threads (call
/// this inside each thread's chunk).
///
/// ```
/// use rmlx_cpu::backend::cpu::vector_isa::with_fma;
/// let mut v = vec![1.5f32; 100];
/// with_fma(|| v.iter_mut().for_each(|x| *x = x.mul_add(2.0, 1.0)));
/// assert!(v.iter().all(|&x| x == 4.0));
/// ```
#[inline(always)]
pub fn with_fma<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
        unsafe fn v4<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn v3<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
        {
            // SAFETY: the CPU supports AVX-512F/BW (checked just above), the only requirement
            // of calling a function compiled with those features.
            return unsafe { v4(f) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            return unsafe { v3(f) };
        }
    }
    f()
}

#[cfg(test)]
mod tests {
    use super::with_fma;
    use crate::backend::cpu::{fastmath::tanh_f32, special::erfinv_f32};

    /// Code built on `mul_add` gives the same bits compiled for the FMA unit (inside
    /// `with_fma`) as compiled for the baseline target (C library `fmaf`).
    #[test]
    fn fma_compiled_loops_give_the_baseline_bits() {
        let xs: Vec<f32> = (0..20_001)
            .map(|i| -1.0 + i as f32 / 10_000.0)
            .chain([f32::NAN, 1e-30, -1e-30, 0.999_999_9])
            .collect();
        let mut fast = vec![[0.0f32; 2]; xs.len()];
        with_fma(
            #[inline(always)]
            || {
                for (o, &x) in fast.iter_mut().zip(&xs) {
                    *o = [erfinv_f32(x), tanh_f32(x * 9.0)];
                }
            },
        );
        for (o, &x) in fast.iter().zip(&xs) {
            let want = [erfinv_f32(x), tanh_f32(x * 9.0)];
            for (g, w) in o.iter().zip(want) {
                assert!(
                    g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
                    "at {x}: {g} vs {w}"
                );
            }
        }
    }
}
