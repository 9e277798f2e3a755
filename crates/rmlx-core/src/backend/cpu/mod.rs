//! CPU kernels: elementwise, reductions, GEMM glue, softmax/norms/attention.

pub mod copy;
pub mod elementwise;
pub mod gather;
pub mod reduce;
pub mod scalar;
pub mod special;
pub mod strided;
