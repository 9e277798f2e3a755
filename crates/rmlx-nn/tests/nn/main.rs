//! The integration tests of `rmlx-nn`, linked into one binary (one link instead of one per file).

mod activations;
mod checkpoint;
mod conv_pool;
mod derive_user;
mod fd;
mod init_fns;
mod layer_init;
mod lora;
mod losses_fd;
mod module_tree;
#[allow(clippy::needless_range_loop)]
mod norms_positional;
mod oracle_module_semantics;
mod recurrent;
mod support;
mod transformer_custom;
mod weights_files;
