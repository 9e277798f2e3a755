//! The integration tests of `rmlx-core`, linked into one binary (one link instead of one per file).
// Tests favour plain `&[x.clone()]` argument lists, inline fn-pointer tables and index loops
// over naive references.
#![allow(
    clippy::cloned_ref_to_slice_refs,
    clippy::type_complexity,
    clippy::too_many_arguments,
    clippy::excessive_precision,
    clippy::needless_range_loop
)]

mod attention_tiled;
mod compile;
mod conv_ops;
mod creation_ops;
mod elementwise;
mod elementwise_common;
mod elementwise_fmt;
mod elementwise_grad;
mod elementwise_transforms;
mod fast_grad;
mod fast_ops;
mod fast_oracle;
mod fft_ops;
mod gauss;
mod graph;
mod indexing_ops;
mod io_formats;
mod linalg_ops;
mod matmul_norm;
mod matmul_ops;
mod multi_output;
mod oracle;
mod oracle_core_ops;
mod oracle_everyday;
mod oracle_fft;
mod oracle_fp_quantized;
mod oracle_indexing;
mod oracle_linalg;
mod oracle_multi_output;
mod oracle_qqmm;
mod oracle_quantized;
mod oracle_vmap;
mod primitive_surface;
mod quantized_ops;
mod random_draws;
mod random_golden;
mod reduce_grad;
mod reduce_ops;
mod reduce_oracle;
mod reduce_scan;
mod shape_grad;
mod shape_ops;
mod softmax_ops;
mod sort_ops;
mod surface_extras;
mod transforms_basic;
mod transforms_custom;
mod transforms_fd;
mod transforms_tree;
mod vmap_compose;
mod vmap_rules;
