//! # rmlx-macros
//!
//! `#[derive(Module)]` for rmlx (generated traversal code; filled in by the module-tree work).

use proc_macro::TokenStream;

/// Placeholder derive until the module-tree work lands: it accepts the item and generates nothing,
/// so the workspace layout is complete.
#[proc_macro_derive(Module, attributes(module))]
pub fn derive_module(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
