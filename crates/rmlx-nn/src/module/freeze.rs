//! `freeze` / `unfreeze` with MLX's semantics (MLX_SEMANTICS 43–59).

use super::members::{self, MemberNode};
use super::Module;
use indexmap::IndexMap;
use rmlx_core::tree::{tree_flatten, Tree};
use rmlx_core::{Error, Result};

/// The `keys`, `strict` and `recurse` arguments of `freeze` / `unfreeze`, in one value that reads
/// like MLX's keywords:
///
/// * `Keys::All` — MLX `keys=None`;
/// * `"bias"`, `["weight", "bias"]`, `vec![…]` — one key or several;
/// * `.strict()` — MLX `strict=True`; `.shallow()` — MLX `recurse=False`.
///
/// ```
/// use rmlx_nn::{Keys, Linear, ModuleExt};
/// let mut l = Linear::new(2, 2, false)?;
/// l.freeze(Keys::All)?.unfreeze("weight")?;
/// let err = l.freeze(Keys::from("bias").strict()).err().unwrap();
/// assert_eq!(err.to_string(), "Module doesn't contain member bias.");
/// # Ok::<(), rmlx_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// The names, or `None` for all (MLX `keys=None`).
    pub names: Option<Vec<String>>,
    /// Validate the names (MLX `strict=True`).
    pub strict: bool,
    /// Visit every descendant too (MLX `recurse=True`, the default).
    pub recurse: bool,
}

#[allow(non_upper_case_globals)]
impl Keys {
    /// Every parameter (MLX `keys=None`), recursing, not strict.
    pub const All: Keys = Keys {
        names: None,
        strict: false,
        recurse: true,
    };

    /// Validates the keys (MLX `strict=True`).
    pub fn strict(mut self) -> Keys {
        self.strict = true;
        self
    }

    /// Only this module, not its descendants (MLX `recurse=False`).
    pub fn shallow(mut self) -> Keys {
        self.recurse = false;
        self
    }

    /// Sets `recurse` explicitly.
    pub fn recurse(mut self, recurse: bool) -> Keys {
        self.recurse = recurse;
        self
    }

    /// Sets `strict` explicitly.
    pub fn with_strict(mut self, strict: bool) -> Keys {
        self.strict = strict;
        self
    }

    fn names(names: Vec<String>) -> Keys {
        Keys {
            names: Some(names),
            strict: false,
            recurse: true,
        }
    }
}

impl From<&str> for Keys {
    fn from(k: &str) -> Keys {
        Keys::names(vec![k.to_string()])
    }
}
impl From<String> for Keys {
    fn from(k: String) -> Keys {
        Keys::names(vec![k])
    }
}
impl From<Vec<String>> for Keys {
    fn from(k: Vec<String>) -> Keys {
        Keys::names(k)
    }
}
impl From<Vec<&str>> for Keys {
    fn from(k: Vec<&str>) -> Keys {
        Keys::names(k.into_iter().map(String::from).collect())
    }
}
impl From<&[&str]> for Keys {
    fn from(k: &[&str]) -> Keys {
        Keys::names(k.iter().map(|s| s.to_string()).collect())
    }
}
impl<const N: usize> From<[&str; N]> for Keys {
    fn from(k: [&str; N]) -> Keys {
        Keys::names(k.iter().map(|s| s.to_string()).collect())
    }
}
impl From<Option<Vec<String>>> for Keys {
    fn from(k: Option<Vec<String>>) -> Keys {
        Keys {
            names: k,
            strict: false,
            recurse: true,
        }
    }
}

/// The flattened names of `m`'s own arrays (not its child modules'): `weight`, `lst.0`, `d.a`.
pub(crate) fn own_array_names(m: &dyn Module) -> Vec<String> {
    fn unwrap(node: &MemberNode<'_>) -> Tree<()> {
        match node {
            MemberNode::Array(_) => Tree::Leaf(()),
            MemberNode::Module(_) => Tree::empty(),
            MemberNode::List(l) => Tree::List(l.iter().map(unwrap).collect()),
            MemberNode::Dict(d) => {
                Tree::Dict(d.iter().map(|(k, x)| (k.clone(), unwrap(x))).collect())
            }
        }
    }
    let mut t = IndexMap::new();
    for (k, hidden, node) in members::members(m) {
        if hidden || matches!(node, MemberNode::Module(_)) {
            continue;
        }
        t.insert(k, unwrap(&node));
    }
    tree_flatten(&Tree::Dict(t))
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

fn missing(k: &str) -> Error {
    Error::Key(format!("Module doesn't contain member {k}."))
}

fn validate(m: &dyn Module, keys: &[String]) -> Result<()> {
    let names = members::member_names(m);
    match keys.iter().find(|k| !names.contains(k)) {
        Some(k) => Err(missing(k)),
        None => Ok(()),
    }
}

fn apply_one(
    m: &mut dyn Module,
    keys: &Option<Vec<String>>,
    strict: bool,
    freeze: bool,
) -> Result<()> {
    match (keys, freeze) {
        (None, true) => {
            let names = own_array_names(m);
            if strict {
                validate(m, &names)?;
            }
            m.state_mut().no_grad.extend(names);
        }
        (None, false) => m.state_mut().no_grad.clear(),
        (Some(k), true) => {
            m.state_mut().no_grad.extend(k.iter().cloned());
        }
        (Some(k), false) => {
            let set = &mut m.state_mut().no_grad;
            for x in k {
                set.remove(x);
            }
        }
    }
    Ok(())
}

/// Freezes (`freeze = true`) or unfreezes `root` as MLX does.
pub(crate) fn freeze(root: &mut dyn Module, keys: &Keys, freeze: bool) -> Result<()> {
    if keys.strict {
        if let Some(k) = &keys.names {
            if keys.recurse {
                // MLX_SEMANTICS 53: each key must be a member of at least one visited module,
                // checked once before anything changes.
                let mut all: Vec<String> = Vec::new();
                for (_, m) in members::named_modules(root) {
                    all.extend(members::member_names(m));
                }
                if let Some(bad) = k.iter().find(|x| !all.contains(x)) {
                    return Err(missing(bad));
                }
            } else {
                validate(root, k)?;
            }
        }
    }
    // keys=None with strict validates per module, in visit order (as MLX does).
    let per_module_strict = keys.strict && keys.names.is_none();
    if keys.recurse {
        members::apply_to_modules_mut(root, &mut |_, m| {
            apply_one(m, &keys.names, per_module_strict, freeze)
        })?;
    } else {
        apply_one(root, &keys.names, per_module_strict, freeze)?;
    }
    if !freeze {
        // BatchNorm's running statistics stay frozen (MLX_SEMANTICS item 20), and so do a
        // quantized layer's own parameters (MLX's QuantizedLinear.unfreeze). MLX re-freezes
        // them only in `BatchNorm.unfreeze` itself, so a parent's `unfreeze()` leaks them into
        // the trainable set there; rmlx re-freezes them wherever the unfreeze reached.
        members::apply_to_modules_mut(root, &mut |_, m| {
            crate::layers::norms_extra::after_unfreeze(m);
            crate::layers::quantized::after_unfreeze(m);
            Ok(())
        })?;
    }
    Ok(())
}
