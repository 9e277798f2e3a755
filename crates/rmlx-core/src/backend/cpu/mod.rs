//! CPU kernels: elementwise, reductions, GEMM glue, softmax/norms/attention.

pub mod elementwise;
pub mod scalar;
pub mod strided;
