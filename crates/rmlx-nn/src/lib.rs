//! # rmlx-nn
//!
//! MLX's `mlx.nn` in Rust: the `Module` tree with freeze/unfreeze by key, layers, losses and
//! initialisers. (Filled in by the module-tree and layers work; see the project issues.)
#![warn(missing_docs)]

pub use rmlx_core as core;
