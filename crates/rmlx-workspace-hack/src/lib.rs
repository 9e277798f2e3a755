//! Internal to rmlx: no items. Its dependencies ask for the union of the features that the
//! workspace's packages turn on in shared dependencies, so that every package selection builds
//! rmlx-core and its dependencies with one feature set (see this crate's Cargo.toml).
#![no_std]
