//! # rmlx-distributed
//!
//! MLX's `mx.distributed` over MPI: launch the same program on several processes (`mpirun -np 2
//! prog`, or `mpirun --hostfile hosts prog` across machines), call [`init`], and combine arrays
//! with [`all_sum`], [`all_gather`], [`all_max`], [`all_min`], [`send`], [`recv`] and
//! [`recv_like`]. They are lazy ops like any other: they run when their result is evaluated, and
//! differentiate with MLX's rules (`all_sum`'s cotangent passes through unchanged; `all_gather`'s
//! is this rank's slice). `rmlx::nn::average_gradients` builds data-parallel training on them.
//!
//! The MPI backend is the `mpi` cargo feature. Without it, or when the program is not launched
//! by `mpirun`, [`init`] returns a group of size 1 (MLX's behaviour without a backend), on which
//! the collectives return their input. Shapes and dtypes are checked across the group before
//! each collective: a mismatch is an error on every rank, not a hang.
//!
//! ```
//! use rmlx_core::Array;
//! use rmlx_distributed as dist;
//! let group = dist::init()?;
//! let x = Array::from_slice(&[1.0f32, 2.0], &[2])?;
//! let total = dist::all_sum(&x, Some(&group))?; // x summed over every process
//! if group.size() == 1 {
//!     assert_eq!(total.to_vec::<f32>()?, vec![1.0, 2.0]);
//! }
//! # Ok::<(), rmlx_core::Error>(())
//! ```
#![warn(missing_docs)]
// Issue 20: library code never unwraps, expects or panics on data a caller controls; the
// few `expect`s on an internal invariant carry an `#[allow]` with the comment that proves it.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod backend;
mod group;
mod ops;

pub use group::{init, init_strict, is_available, Group};
pub use ops::{
    all_gather, all_max, all_min, all_sum, recv, recv_like, send, sum_scatter, traffic, Traffic,
};
