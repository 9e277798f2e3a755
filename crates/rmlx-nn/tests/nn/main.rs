//! The integration tests of `rmlx-nn`, linked into one binary (one link instead of one per file).
#![allow(clippy::needless_range_loop)] // index loops over naive references

mod activations;
mod checkpoint;
mod conv_pool;
mod conv_transpose;
mod derive_user;
mod fd;
mod init_fns;
mod layer_init;
mod lora;
mod losses_fd;
mod module_tree;
mod norms_positional;
mod oracle_module_semantics;
mod per_example;
mod qq_linear;
mod quantized_layers;
mod quantized_modes;
mod recurrent;
mod support;
mod transformer_custom;
mod upsample;
mod weights_files;
