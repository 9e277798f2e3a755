//! `update` and `update_modules` with MLX's rules and error texts (MLX_SEMANTICS 29–39).

use super::members::{self, MemberNodeMut};
use super::Module;
use rmlx_core::tree::Tree;
use rmlx_core::{Array, Error, Result};

/// A leaf of an `update` payload: an array, or (for callers that model MLX's dynamic values,
/// such as the oracle tests) something else whose Python type name goes into the error text.
pub trait UpdateValue {
    /// The array, if this leaf is one.
    fn as_array(&self) -> Option<&Array>;
    /// The type name used in `Received invalid type: <name>.` (MLX prints Python's).
    fn type_name(&self) -> String;
}

impl UpdateValue for Array {
    fn as_array(&self) -> Option<&Array> {
        Some(self)
    }
    fn type_name(&self) -> String {
        "array".into()
    }
}

fn invalid(name: &str) -> Error {
    Error::Value(format!("Received invalid type: {name}."))
}

fn kind_name<L: UpdateValue>(t: &Tree<L>) -> String {
    match t {
        Tree::Leaf(x) => x.type_name(),
        Tree::Dict(_) => "dict".into(),
        Tree::List(_) => "list".into(),
    }
}

fn no_param(k: &str) -> Error {
    Error::Value(format!("Module does not have parameter named \"{k}\"."))
}

fn out_of_bounds(i: usize, n: usize) -> Error {
    Error::Value(format!(
        "List index {i} is out of bounds for destination of length {n}."
    ))
}

#[derive(Clone, Copy)]
struct Opts {
    strict: bool,
    /// `{}` at an array position means "unchanged" (used by value_and_grad and optimizers).
    placeholders_ok: bool,
}

fn apply_module<L: UpdateValue>(m: &mut dyn Module, payload: &Tree<L>, o: Opts) -> Result<()> {
    match payload {
        Tree::Dict(d) => {
            let mut mem = members::members_mut(m);
            for (k, v) in d {
                match mem.iter_mut().find(|x| x.0 == *k) {
                    Some((_, _, node)) => apply_node(node, v, o)?,
                    None if o.strict => return Err(no_param(k)),
                    None => {}
                }
            }
            Ok(())
        }
        // MLX indexes the module with 0 and raises KeyError.
        Tree::List(l) if !l.is_empty() => Err(Error::Key("0".into())),
        Tree::List(_) => Ok(()),
        Tree::Leaf(x) if o.strict => Err(invalid(&x.type_name())),
        Tree::Leaf(_) => Ok(()),
    }
}

fn apply_node<L: UpdateValue>(node: &mut MemberNodeMut<'_>, v: &Tree<L>, o: Opts) -> Result<()> {
    match node {
        MemberNodeMut::Array(a) => match v {
            Tree::Leaf(x) if x.as_array().is_some() => {
                if let Some(arr) = x.as_array() {
                    **a = arr.clone();
                }
                Ok(())
            }
            t if o.placeholders_ok && t.is_empty() => Ok(()),
            t if o.strict => Err(invalid(&kind_name(t))),
            _ => Ok(()),
        },
        MemberNodeMut::Module(slot) => apply_module(slot.get(), v, o),
        MemberNodeMut::Dict(entries) => match v {
            Tree::Dict(d) => {
                for (k, vv) in d {
                    match entries.iter_mut().find(|x| x.0 == *k) {
                        Some((_, n)) => apply_node(n, vv, o)?,
                        None if o.strict => return Err(no_param(k)),
                        None => {}
                    }
                }
                Ok(())
            }
            Tree::List(l) if !l.is_empty() => Err(Error::Key("0".into())),
            Tree::List(_) => Ok(()),
            Tree::Leaf(x) if o.strict => Err(invalid(&x.type_name())),
            Tree::Leaf(_) => Ok(()),
        },
        MemberNodeMut::List(items) => match v {
            Tree::List(l) => {
                let n = items.len();
                for (i, vv) in l.iter().enumerate() {
                    match items.get_mut(i) {
                        Some(dst) => apply_node(dst, vv, o)?,
                        None if o.strict => return Err(out_of_bounds(i, n)),
                        None => break,
                    }
                }
                Ok(())
            }
            Tree::Dict(d) => match d.keys().next() {
                Some(k) if o.strict => Err(no_param(k)),
                _ => Ok(()),
            },
            Tree::Leaf(x) if o.strict => Err(invalid(&x.type_name())),
            Tree::Leaf(_) => Ok(()),
        },
    }
}

/// MLX `update(parameters, strict)`.
pub(crate) fn update<L: UpdateValue>(
    root: &mut dyn Module,
    tree: &Tree<L>,
    strict: bool,
) -> Result<()> {
    apply_module(
        root,
        tree,
        Opts {
            strict,
            placeholders_ok: false,
        },
    )
}

/// A strict update in which `{}` placeholders at array positions mean "unchanged" (the
/// rmlx fix of MLX_SEMANTICS 77, used for gradient-shaped trees).
pub(crate) fn update_skip_placeholders(root: &mut dyn Module, tree: &Tree<Array>) -> Result<()> {
    apply_module(
        root,
        tree,
        Opts {
            strict: true,
            placeholders_ok: true,
        },
    )
}

fn no_sub(k: &str) -> Error {
    Error::Value(format!("Module does not have sub-module named \"{k}\"."))
}

fn um_module(m: &mut dyn Module, payload: Tree<Box<dyn Module>>, strict: bool) -> Result<()> {
    match payload {
        Tree::Dict(d) => {
            let mut mem = members::members_mut(m);
            for (k, v) in d {
                match mem.iter_mut().find(|x| x.0 == k) {
                    Some((_, _, node)) => um_node(node, v, strict)?,
                    None if strict => return Err(no_sub(&k)),
                    None => {}
                }
            }
            Ok(())
        }
        Tree::List(l) if !l.is_empty() => Err(Error::Key("0".into())),
        Tree::List(_) => Ok(()),
        Tree::Leaf(x) if strict => Err(invalid(x.class_name())),
        Tree::Leaf(_) => Ok(()),
    }
}

fn um_node(node: &mut MemberNodeMut<'_>, v: Tree<Box<dyn Module>>, strict: bool) -> Result<()> {
    if v.is_empty() {
        return Ok(()); // `{}` is accepted anywhere (MLX_SEMANTICS 36)
    }
    match (node, v) {
        (MemberNodeMut::Module(slot), Tree::Leaf(new)) => slot
            .replace(new)
            .map_err(|e| Error::Value(format!("update_modules: {e}"))),
        (MemberNodeMut::Module(slot), t) => um_module(slot.get(), t, strict),
        (MemberNodeMut::Array(_), Tree::Leaf(new)) => {
            // An empty module equals `{}` in MLX (item 37): a silent no-op.
            if strict && !members::members(new.as_ref().as_module()).is_empty() {
                Err(invalid(new.class_name()))
            } else {
                Ok(())
            }
        }
        (MemberNodeMut::Array(_), t) if strict => Err(invalid(if matches!(t, Tree::List(_)) {
            "list"
        } else {
            "dict"
        })),
        (MemberNodeMut::Array(_), _) => Ok(()),
        (MemberNodeMut::Dict(entries), Tree::Dict(d)) => {
            for (k, vv) in d {
                match entries.iter_mut().find(|x| x.0 == k) {
                    Some((_, n)) => um_node(n, vv, strict)?,
                    None if strict => return Err(no_sub(&k)),
                    None => {}
                }
            }
            Ok(())
        }
        (MemberNodeMut::List(items), Tree::List(l)) => {
            let n = items.len();
            for (i, vv) in l.into_iter().enumerate() {
                match items.get_mut(i) {
                    Some(dst) => um_node(dst, vv, strict)?,
                    None if strict => return Err(out_of_bounds(i, n)),
                    None => break,
                }
            }
            Ok(())
        }
        (MemberNodeMut::Dict(_), Tree::List(_)) => Err(Error::Key("0".into())),
        (MemberNodeMut::List(_), Tree::Dict(d)) => match d.keys().next() {
            Some(k) if strict => Err(no_sub(k)),
            _ => Ok(()),
        },
        (_, Tree::Leaf(new)) if strict => Err(invalid(new.class_name())),
        _ => Ok(()),
    }
}

/// MLX `update_modules(modules, strict)`.
pub(crate) fn update_modules(
    root: &mut dyn Module,
    tree: Tree<Box<dyn Module>>,
    strict: bool,
) -> Result<()> {
    um_module(root, tree, strict)
}
