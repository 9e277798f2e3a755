//! # rmlx-cpu
//!
//! The CPU backend of rmlx: element types ([`Dtype`]), reference-counted buffers with strided
//! views ([`buffer::Data`]), the one error type, and the kernels in [`backend::cpu`]. It knows
//! buffers, strides and dtypes but nothing of the lazy graph; `rmlx-core` builds arrays, ops and
//! transforms on top of it and re-exports its types at the same paths (`rmlx_core::buffer`,
//! `rmlx_core::layout`, `rmlx_core::Dtype`…) and its kernel entry points as `rmlx_core::kernels`.
//!
//! A crate of its own so that the kernels compile beside the graph layer, and a change to the
//! graph layer does not recompile them.
//!
//! ```
//! use rmlx_cpu::buffer::{Buffer, Data};
//! use rmlx_cpu::backend::cpu::elementwise::map_binary;
//! use rmlx_cpu::{layout::Layout, Dtype};
//! let a = Data::new(Buffer::from_slice(&[1.0f32, 2.0, 3.0]), Dtype::F32, &[3]);
//! let b = Data::new(Buffer::from_slice(&[10.0f32]), Dtype::F32, &[1]);
//! // a broadcast view (stride 0), checked against its buffer
//! let b = b.with_layout(Layout::new(vec![3], vec![0], 0)).unwrap();
//! let c = map_binary::<f32, f32, f32>(a.clone(), b, Dtype::F32, |x, y| x + y)?;
//! assert_eq!(c.contiguous_slice::<f32>(), Some(&[11.0f32, 12.0, 13.0][..]));
//! // operands of other shapes are an error, not an out-of-bounds read
//! let short = Data::new(Buffer::from_slice(&[1.0f32, 2.0]), Dtype::F32, &[2]);
//! assert!(map_binary::<f32, f32, f32>(a, short, Dtype::F32, |x, y| x + y).is_err());
//! # Ok::<(), rmlx_cpu::Error>(())
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

pub mod backend;
pub mod buffer;
pub mod dtype;
pub mod error;
pub mod layout;

pub use dtype::{Dtype, Element, ALL_DTYPES};
pub use error::{Error, Result};

#[doc(hidden)]
pub use half;
pub use half::{bf16, f16};
