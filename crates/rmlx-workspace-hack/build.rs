//! Empty: this crate exists for its dependencies' features (see Cargo.toml).
fn main() {}
