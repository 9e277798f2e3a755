//! The integration tests of `rmlx-core`, linked into one binary (one link instead of one per file).

mod conv_ops;
mod creation_ops;
#[allow(
    clippy::cloned_ref_to_slice_refs,
    clippy::type_complexity,
    clippy::too_many_arguments,
    clippy::excessive_precision
)]
mod elementwise;
mod elementwise_common;
mod elementwise_fmt;
#[allow(
    clippy::cloned_ref_to_slice_refs,
    clippy::type_complexity,
    clippy::too_many_arguments,
    clippy::excessive_precision
)]
mod elementwise_grad;
#[allow(
    clippy::cloned_ref_to_slice_refs,
    clippy::type_complexity,
    clippy::too_many_arguments,
    clippy::excessive_precision
)]
mod elementwise_transforms;
mod fast_grad;
#[allow(
    clippy::cloned_ref_to_slice_refs,
    clippy::type_complexity,
    clippy::too_many_arguments,
    clippy::excessive_precision
)]
mod fast_ops;
mod fast_oracle;
mod graph;
mod indexing_ops;
#[allow(
    clippy::cloned_ref_to_slice_refs,
    clippy::type_complexity,
    clippy::too_many_arguments,
    clippy::excessive_precision
)]
mod io_formats;
mod matmul_norm;
#[allow(clippy::needless_range_loop)]
mod matmul_ops;
mod multi_output;
mod oracle;
mod oracle_core_ops;
mod oracle_multi_output;
mod primitive_surface;
#[allow(
    clippy::cloned_ref_to_slice_refs,
    clippy::type_complexity,
    clippy::too_many_arguments,
    clippy::excessive_precision
)]
mod random_draws;
mod random_golden;
#[allow(
    clippy::cloned_ref_to_slice_refs,
    clippy::type_complexity,
    clippy::too_many_arguments,
    clippy::excessive_precision
)]
mod reduce_grad;
#[allow(
    clippy::cloned_ref_to_slice_refs,
    clippy::type_complexity,
    clippy::too_many_arguments,
    clippy::excessive_precision
)]
mod reduce_ops;
mod reduce_oracle;
mod reduce_scan;
mod shape_grad;
mod shape_ops;
mod softmax_ops;
mod sort_ops;
#[allow(
    clippy::cloned_ref_to_slice_refs,
    clippy::type_complexity,
    clippy::too_many_arguments,
    clippy::excessive_precision
)]
mod transforms_basic;
mod transforms_custom;
mod transforms_fd;
mod transforms_tree;
