//! # rmlx-optimizers
//!
//! MLX's `mlx.optimizers` in Rust: optimizers whose state follows the trainable tree, learning-rate
//! schedules and gradient clipping. (Filled in by the optimizers work; see the project issues.)
#![warn(missing_docs)]

pub use rmlx_nn as nn;
