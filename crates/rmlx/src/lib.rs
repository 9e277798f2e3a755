//! # rmlx
//!
//! MLX's programming model in pure Rust: lazy arrays, composable function transforms, and an
//! `nn` module tree whose parameters can be frozen and unfrozen by key.
//!
//! ```
//! use rmlx::core as mx;
//! let x = mx::Array::from_slice(&[1.0f32, 2.0], &[2])?;
//! let y = (&x * 3.0)?;
//! assert_eq!(y.to_vec::<f32>()?, vec![3.0, 6.0]);
//! # Ok::<(), mx::Error>(())
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

pub use rmlx_core as core;
pub use rmlx_distributed as distributed;
pub use rmlx_models as models;
pub use rmlx_nn as nn;
pub use rmlx_optimizers as optimizers;

/// The names most programs need: `use rmlx::prelude::*;`.
pub mod prelude {
    pub use rmlx_core::{array, Array, Dtype, Error, Result};
}

/// The README's Rust examples, compiled and run by `cargo test --doc`, so the README cannot
/// drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
