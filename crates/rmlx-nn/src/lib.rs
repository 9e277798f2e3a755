//! # rmlx-nn
//!
//! MLX's `mlx.nn` in Rust: the [`Module`] tree with freeze/unfreeze by key, `update`,
//! `load_weights`/`save_weights`, [`value_and_grad`] over trainable parameters, and the layers.
//!
//! Derive [`Module`](macro@Module) on a struct whose fields are its members (arrays, child
//! modules, `Vec`/`Option`/maps of them) plus one `state: ModuleState` field; every MLX
//! `nn.Module` method is then available through [`ModuleExt`].
//!
//! Outside this crate (e.g. through the `rmlx` facade) the derive refers to `::rmlx_nn`; a crate
//! that depends only on `rmlx` writes `#[module(crate = "rmlx::nn")]` on the struct.
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

extern crate self as rmlx_nn;

pub mod activations;
mod checkpoint;
mod distributed;
pub mod init;
pub mod layers;
pub mod losses;
pub mod module;
mod value_and_grad;

pub use checkpoint::checkpoint;
pub use distributed::{average_gradients, clip_grad_norm_sharded, ALL_REDUCE_SIZE};
pub use layers::*;
pub use module::filter;
pub use module::{
    module_state_arrays, set_module_state_arrays, Container, Keys, Member, MemberNode,
    MemberNodeMut, Module, ModuleExt, ModuleMut, ModuleState, UpdateValue, Visitor, VisitorMut,
    Weights,
};
pub use rmlx_core as core;
pub use rmlx_core::tree::Tree;
pub use rmlx_core::CompileState;
/// `#[derive(Module)]`: generates the member traversal of a module struct. See [`module`].
pub use rmlx_macros::Module;
pub use value_and_grad::{per_example_grads, value_and_grad};

impl std::fmt::Display for dyn Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&module::ModuleExt::repr(self))
    }
}
