//! # rmlx-core
//!
//! MLX's array model in pure Rust: lazy n-dimensional [`Array`]s with eager shape inference, an
//! op set mirroring `mlx.core`, fast multi-threaded CPU kernels, function transforms, a
//! counter-based random generator bit-compatible with MLX, and safetensors/npy/npz IO.
//!
//! ```
//! use rmlx_core::{self as mx, Array};
//! let x = Array::from_slice(&[1.0f32, 2.0, 3.0], &[3])?;
//! let y = ((&x * &x)? + 1.0)?;          // lazy
//! assert_eq!(y.to_vec::<f32>()?, vec![2.0, 5.0, 10.0]);
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

pub mod array;
mod awake;
pub(crate) mod checked;
pub mod context;
pub mod device;
pub mod fft;
pub mod fmt;
pub mod graph;
pub mod io;
pub mod ops;
pub mod primitives;
pub mod profile;
pub mod random;
pub mod stream;
pub mod transforms;
pub mod tree;

/// The CPU backend (kernels), from `rmlx-cpu`: internal to the core; other crates use [`kernels`].
pub(crate) mod backend {
    pub use rmlx_cpu::backend::cpu;
}

/// The kernel entry points for primitives defined outside the core (the optimizers' fused
/// updates, the distributed collectives): row-major copies, the one parallel splitter, and the
/// generic elementwise maps. Everything else in the CPU backend is internal.
pub mod kernels {
    pub use rmlx_cpu::backend::cpu::binary::eval as binary;
    pub use rmlx_cpu::backend::cpu::convert::cast;
    pub use rmlx_cpu::backend::cpu::copy::{contiguous, copy_to_buffer};
    pub use rmlx_cpu::backend::cpu::elementwise::{map_binary, map_ternary, map_unary};
    pub use rmlx_cpu::backend::cpu::optim::{adam_step, AdamStep};
    pub use rmlx_cpu::backend::cpu::parallel::{
        for_each_chunk_mut, map_collect, PAR_CHUNK, PAR_THRESHOLD,
    };
    pub use rmlx_cpu::backend::cpu::unary::eval as unary;
}
pub use rmlx_cpu::{bail, dispatch_all, dispatch_float, dispatch_width, err};
pub use rmlx_cpu::{buffer, dtype, error, layout};

pub use array::{array, Array, IntoScalar};
pub use buffer::memory;
pub use device::{
    default_device, device_count, device_info, get_array_buffer_size, is_available,
    set_default_device, synchronize, Device, DeviceType,
};
pub use dtype::{Complex32, Dtype, Element, ALL_DTYPES};
pub use error::{Error, Result};
pub use graph::{eval, export_to_dot};
pub use ops::*;
pub use rmlx_cpu::dtype::{ScalarValue, ToVecElement};
pub use transforms::{
    checkpoint, compile, compile_enabled, compile_with_state, custom_vjp, disable_compile,
    enable_compile, grad, grad_tree, jvp, jvp_tree, value_and_grad, value_and_grad_tree, vjp,
    vjp_tree, vjp_with_argnums, vmap, vmap_tree, vmap_tree_prefix, CompileState, CompileStats,
    CompiledFn, CompiledStep, CustomFunction,
};

#[doc(hidden)]
pub use half;
pub use half::{bf16, f16};
