//! Keeping the pool's other workers awake for the length of one evaluation pass.
//!
//! A pass alternates parallel kernels (a GEMM split over the workers) with short serial ones
//! (a small elementwise op, graph bookkeeping). An idle rayon worker spins only briefly before it
//! sleeps, and waking it again for the next parallel kernel takes long enough on a virtual
//! machine that the kernel's first half finishes first: the pass's own thread then runs the
//! second half too, and the product runs serially. Measured on a 2-vCPU Xeon: a 256x512x512
//! product right after a 0.5 ms pause 890-1000 us against 530 us back to back. OpenMP runtimes
//! avoid this with an active wait policy (their workers spin for a while between parallel
//! regions); here each other worker runs a helper for the pass that keeps stealing work until the
//! pass ends, or until it has found nothing for [`IDLE_LIMIT`].

use std::cell::Cell;
use std::hint::spin_loop;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a helper looks for work without finding any before it lets its worker sleep.
const IDLE_LIMIT: Duration = Duration::from_millis(2);

thread_local! {
    /// Whether this thread is running a pass or a helper already (a helper that starts on such a
    /// thread, popped while a job there waits, returns at once instead of stacking on it).
    static BUSY: Cell<bool> = const { Cell::new(false) };
}

/// Marks this thread busy until dropped.
struct Busy;

impl Busy {
    fn mark() -> Option<Busy> {
        if BUSY.get() {
            return None;
        }
        BUSY.set(true);
        Some(Busy)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        BUSY.set(false);
    }
}

/// Runs `pass` on one of rayon's workers while the pool's other workers stay awake.
pub(crate) fn with_workers_awake<R: Send>(pass: impl FnOnce() -> R + Send) -> R {
    let done = AtomicBool::new(false);
    let done = &done;
    rayon::scope(move |s| {
        let _busy = Busy::mark();
        for _ in 1..rayon::current_num_threads() {
            s.spawn(move |_| help(done));
        }
        // set on the way out, a panicking pass included, so the helpers return at once
        let _done = Done(done);
        pass()
    })
}

/// Sets its flag when dropped.
struct Done<'a>(&'a AtomicBool);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Steals and runs the pool's work until the pass is done or nothing came for [`IDLE_LIMIT`].
fn help(done: &AtomicBool) {
    let Some(_busy) = Busy::mark() else { return };
    let mut idle_since = Instant::now();
    while !done.load(Ordering::Acquire) {
        match rayon::yield_now() {
            Some(rayon::Yield::Executed) => idle_since = Instant::now(),
            Some(rayon::Yield::Idle) if idle_since.elapsed() < IDLE_LIMIT => {
                for _ in 0..64 {
                    spin_loop();
                }
            }
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    #[test]
    fn a_pass_of_parallel_and_serial_steps_gives_its_value_and_lets_the_helpers_go() {
        for threads in [1, 2, 4] {
            let got = pool(threads).install(|| {
                with_workers_awake(|| {
                    let mut total = 0u64;
                    for round in 0..50u64 {
                        // a parallel step, then a serial one
                        total += (0..10_000u64)
                            .into_par_iter()
                            .map(|i| i * round)
                            .sum::<u64>();
                        total = total.wrapping_mul(3) % 1_000_003;
                    }
                    total
                })
            });
            let mut want = 0u64;
            for round in 0..50u64 {
                want += (0..10_000u64).map(|i| i * round).sum::<u64>();
                want = want.wrapping_mul(3) % 1_000_003;
            }
            assert_eq!(got, want, "{threads} threads");
        }
    }

    #[test]
    fn a_panicking_pass_releases_its_helpers_and_the_next_pass_runs() {
        let pool = pool(3);
        let caught = pool.install(|| {
            std::panic::catch_unwind(|| with_workers_awake(|| -> u32 { panic!("in the pass") }))
        });
        assert!(caught.is_err());
        let again =
            pool.install(|| with_workers_awake(|| (0..1000u32).into_par_iter().sum::<u32>()));
        assert_eq!(again, 499_500);
        // the flag marking a pass is cleared on every worker again
        let busy: Vec<bool> = pool.broadcast(|_| BUSY.get());
        assert!(busy.iter().all(|b| !b), "{busy:?}");
    }

    #[test]
    fn passes_started_from_several_threads_at_once_all_finish() {
        let pool = pool(2);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..4u64)
                .map(|t| {
                    let pool = &pool;
                    s.spawn(move || {
                        pool.install(|| {
                            with_workers_awake(|| {
                                (0..200u64)
                                    .map(|r| {
                                        (0..5_000u64)
                                            .into_par_iter()
                                            .map(|i| i ^ (r + t))
                                            .sum::<u64>()
                                    })
                                    .sum::<u64>()
                            })
                        })
                    })
                })
                .collect();
            for (t, h) in handles.into_iter().enumerate() {
                let want: u64 = (0..200u64)
                    .map(|r| (0..5_000u64).map(|i| i ^ (r + t as u64)).sum::<u64>())
                    .sum();
                assert_eq!(h.join().unwrap(), want);
            }
        });
    }
}
