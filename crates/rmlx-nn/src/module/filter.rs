//! MLX's member filters and `Module.filter_and_map`: the predicates MLX's `parameters()`,
//! `trainable_parameters()` and `children()` are built from, for user code that walks a module
//! its own way. Hidden members (MLX's `_`-prefixed ones) are seen under their `_`-prefixed key,
//! as MLX sees them.
//!
//! ```
//! use rmlx_nn::{filter, Linear, ModuleExt};
//! let mut l = Linear::new(2, 3, true)?;
//! l.freeze("bias")?;
//! let shapes = filter::filter_and_map(&l, filter::trainable_parameter_filter, |a| a.shape().to_vec());
//! let flat = rmlx_core::tree::tree_flatten(&shapes);
//! assert_eq!(flat.len(), 1);
//! assert_eq!(flat[0].0, "weight");
//! # Ok::<(), rmlx_core::Error>(())
//! ```

use indexmap::IndexMap;
use rmlx_core::tree::Tree;
use rmlx_core::Array;

use super::members::{self, MemberNode};
use super::Module;

/// True for a child module or a container (MLX's `Module.valid_child_filter`).
pub fn valid_child_filter(_module: &dyn Module, _key: &str, value: &MemberNode<'_>) -> bool {
    !matches!(value, MemberNode::Array(_))
}

/// True for an array, a child module or a container whose key does not start with `_` (MLX's
/// `Module.valid_parameter_filter`).
pub fn valid_parameter_filter(_module: &dyn Module, key: &str, _value: &MemberNode<'_>) -> bool {
    !key.starts_with('_')
}

/// [`valid_parameter_filter`], and not frozen (MLX's `Module.trainable_parameter_filter`).
pub fn trainable_parameter_filter(module: &dyn Module, key: &str, value: &MemberNode<'_>) -> bool {
    valid_parameter_filter(module, key, value) && !module.state().no_grad.contains(key)
}

/// True when `value` is a module (MLX's `Module.is_module`).
pub fn is_module(value: &MemberNode<'_>) -> bool {
    matches!(value, MemberNode::Module(_))
}

/// The members of `module` that `filter(module, key, member)` keeps, recursively (child modules
/// are filtered by the same function, with their own keys), with every array mapped by `map`
/// (MLX's `Module.filter_and_map`). Members of a container are tested with the dotted key
/// `"list.0"` against the module that holds the container, as MLX does.
pub fn filter_and_map<T>(
    module: &dyn Module,
    filter: impl Fn(&dyn Module, &str, &MemberNode<'_>) -> bool + Copy,
    map: impl Fn(&Array) -> T + Copy,
) -> Tree<T> {
    let mut out = IndexMap::new();
    for (k, hidden, node) in members::members(module) {
        let key = if hidden && !k.starts_with('_') {
            format!("_{k}")
        } else {
            k
        };
        if filter(module, &key, &node) {
            let v = unwrap(module, &key, &node, filter, map);
            out.insert(key, v);
        }
    }
    Tree::Dict(out)
}

fn unwrap<T>(
    module: &dyn Module,
    key: &str,
    node: &MemberNode<'_>,
    filter: impl Fn(&dyn Module, &str, &MemberNode<'_>) -> bool + Copy,
    map: impl Fn(&Array) -> T + Copy,
) -> Tree<T> {
    match node {
        MemberNode::Array(a) => Tree::Leaf(map(a)),
        MemberNode::Module(m) => filter_and_map(*m, filter, map),
        MemberNode::List(items) => Tree::List(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, x)| {
                    let k = format!("{key}.{i}");
                    filter(module, &k, x).then(|| unwrap(module, &k, x, filter, map))
                })
                .collect(),
        ),
        MemberNode::Dict(items) => Tree::Dict(
            items
                .iter()
                .filter_map(|(name, x)| {
                    let k = format!("{key}.{name}");
                    filter(module, &k, x)
                        .then(|| (name.clone(), unwrap(module, &k, x, filter, map)))
                })
                .collect(),
        ),
    }
}
