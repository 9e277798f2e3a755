//! # rmlx-optimizers
//!
//! MLX's `mlx.optimizers` in Rust: optimizers whose state follows the trainable parameters
//! (created lazily, extended when parameters are unfrozen, absent for frozen ones), learning-rate
//! schedules and gradient clipping.
//!
//! Parameters and gradients are flat lists of `(dotted path, array)`, i.e. the flattened
//! parameter tree (`layers.2.weight`). [`Optimizer::apply_gradients`] returns the updated value
//! of exactly the parameters that have a gradient.
//!
//! ```
//! use rmlx_core::Array;
//! use rmlx_optimizers::{cosine_decay, Adam, Optimizer};
//! let mut opt = Adam::new(cosine_decay(0.1, 10, 0.0)?);
//! let mut params = vec![("w".to_string(), Array::from_slice(&[1.0f32, -1.0], &[2])?)];
//! for _ in 0..3 {
//!     let grads = vec![("w".to_string(), (&params[0].1 * 2.0)?)];
//!     params = opt.apply_gradients(&grads, &params)?;
//! }
//! assert_eq!(opt.step(), 3);
//! assert!((opt.learning_rate() - 0.0904508).abs() < 1e-6); // schedule(2), MLX_SEMANTICS 81
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

pub use rmlx_nn as nn;

pub mod adafactor;
pub mod adam;
pub mod adaptive;
pub mod clip;
pub mod compile_state;
pub mod config;
mod fused;
pub mod lion;
pub mod math;
pub mod multi;
pub mod muon;
pub mod optimizer;
pub mod pyfmt;
pub mod schedule;
pub mod sgd;
pub mod state_io;

pub use adafactor::{Adafactor, AdafactorOptions};
pub use adam::{Adam, AdamOptions, AdamW, Adamax};
pub use adaptive::{AdaDelta, Adagrad, RMSprop};
pub use clip::{clip_grad_norm, clip_grad_norm_tree};
pub use config::{optimizer_from_name, HParam};
pub use lion::Lion;
pub use multi::{MultiOptimizer, ParamFilter};
pub use muon::{newton_schulz5, Muon, MuonOptions};
pub use optimizer::{
    FlatState, Optimizer, OptimizerCore, ParamState, SingleOptimizer, StepContext,
};
pub use schedule::{
    cosine_decay, exponential_decay, join_schedules, linear_schedule, step_decay, LearningRate,
    Schedule,
};
pub use sgd::{SGDOptions, SGD};
pub use state_io::{load_state, save_state};
