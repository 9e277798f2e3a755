//! Kernels. They know buffers, strides and dtypes, but nothing of the graph.

pub mod cpu;
