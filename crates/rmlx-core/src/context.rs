//! The per-thread evaluation context: the global random key sequence and the tracing depth of the
//! transforms. Both are thread-local (as MLX's are per stream); [`ThreadState`] carries them from
//! the thread that asks for an evaluation to the pool worker that runs it and back.
//!
//! This module depends on nothing else in the crate, so `graph` (which hands the state over) and
//! `random` (which draws keys from it) do not depend on each other.

use std::cell::Cell;

thread_local! {
    /// This thread's global key (`None` until first used or seeded).
    static GLOBAL_KEY: Cell<Option<[u32; 2]>> = const { Cell::new(None) };
    /// How many transforms are tracing a function on this thread.
    static TRACING: Cell<usize> = const { Cell::new(0) };
}

/// This thread's global random key state (`None` until first used or seeded).
pub fn global_key() -> Option<[u32; 2]> {
    GLOBAL_KEY.with(Cell::get)
}

/// Replaces this thread's global random key state.
pub fn set_global_key(key: Option<[u32; 2]>) {
    GLOBAL_KEY.with(|k| k.set(key));
}

/// True while a transform (vjp, jvp…) is tracing a function on this thread.
pub fn in_tracing() -> bool {
    TRACING.with(|t| t.get() > 0)
}

/// Marks the current thread as tracing until the guard is dropped (nests).
pub(crate) struct TracingGuard;

impl TracingGuard {
    pub(crate) fn new() -> TracingGuard {
        TRACING.with(|t| t.set(t.get() + 1));
        TracingGuard
    }
}

impl Drop for TracingGuard {
    fn drop(&mut self) {
        TRACING.with(|t| t.set(t.get() - 1));
    }
}

/// The thread-local state an evaluation depends on, captured on one thread and installed on
/// another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ThreadState {
    key: Option<[u32; 2]>,
    tracing: usize,
}

impl ThreadState {
    /// This thread's state.
    pub(crate) fn capture() -> ThreadState {
        ThreadState {
            key: global_key(),
            tracing: TRACING.with(Cell::get),
        }
    }

    /// Makes `self` this thread's state.
    pub(crate) fn install(self) {
        set_global_key(self.key);
        TRACING.with(|t| t.set(self.tracing));
    }
}

/// Puts a thread's own state back when dropped (also when unwinding).
pub(crate) struct Restore(pub(crate) ThreadState);

impl Drop for Restore {
    fn drop(&mut self) {
        self.0.install();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_moves_between_threads_and_restores() {
        set_global_key(Some([1, 2]));
        let state = ThreadState::capture();
        let seen = std::thread::spawn(move || {
            let own = ThreadState::capture();
            {
                let _restore = Restore(own);
                state.install();
                assert!(!in_tracing());
                let _t = TracingGuard::new();
                assert!(in_tracing());
                set_global_key(Some([3, 4]));
                ThreadState::capture()
            }
        })
        .join()
        .unwrap();
        assert_eq!(seen.key, Some([3, 4]));
        assert_eq!(seen.tracing, 1);
        assert_eq!(global_key(), Some([1, 2]));
    }
}
