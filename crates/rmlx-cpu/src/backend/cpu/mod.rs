//! CPU kernels: elementwise, reductions, GEMM glue, softmax/norms/attention.

// Every kernel below indexes buffers through layouts that `Data::new` accepted only inside
// their buffer (`layout::tests::data_accepts_only_layouts_inside_its_buffer`), at positions
// computed from those same shapes and strides, or into scratch and output buffers it allocated
// with exactly the lengths it walks. Shapes, axes and ranks are checked by the ops before a node
// exists and again where a kernel is entered (the elementwise maps, matmul, attention, RoPE, the
// axis gathers and scatters, and the primitives in rmlx-core that call the others check their
// contract and return an `Err`; `crates/rmlx/tests/primitive_misuse.rs` calls every primitive on
// misfit inputs), and the gather and scatter kernels check every index value against its axis
// before using it (an out-of-range index is an `Err`). The kernels are tested against naive loops, under
// debug assertions and under valgrind (`.ci/kernels_checked`).
#![allow(clippy::indexing_slicing)]

pub mod attention;
pub mod binary;
pub mod complex;
pub mod complex_order;
pub mod convert;
pub mod copy;
pub mod elementwise;
pub mod fastmath;
pub mod fft;
pub mod flash;
pub mod fp8;
pub mod fused;
pub mod fused_patterns;
pub mod gather;
pub mod gemm;
pub mod linalg;
pub mod norm;
pub mod optim;
pub mod order;
pub mod parallel;
pub mod quantized;
pub mod reduce;
pub mod scalar;
pub mod scan;
pub mod softmax;
pub mod sort;
pub mod special;
pub mod stream;
pub mod strided;
pub mod unary;
pub mod vector_isa;
