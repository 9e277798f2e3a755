//! CPU kernels: elementwise, reductions, GEMM glue, softmax/norms/attention.

pub mod attention;
pub mod binary;
pub mod complex;
pub mod convert;
pub mod copy;
pub mod elementwise;
pub mod fastmath;
pub mod fft;
pub mod flash;
pub mod fp8;
pub mod fused;
pub mod gather;
pub mod gemm;
pub mod linalg;
pub mod norm;
pub mod order;
pub mod parallel;
pub mod quantized;
pub mod reduce;
pub mod scalar;
pub mod scan;
pub mod softmax;
pub mod sort;
pub mod special;
pub mod strided;
pub mod unary;
