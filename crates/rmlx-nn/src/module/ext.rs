//! [`ModuleExt`]: the MLX `nn.Module` surface, written once over the visitor traversal.

use super::members::{self, MemberNode};
use super::{Keys, Module, UpdateValue, Weights};
use indexmap::IndexMap;
use rmlx_core::tree::{tree_flatten, try_tree_map, Tree};
use rmlx_core::{Array, Dtype, Result};
use std::path::Path;

fn params_tree(m: &dyn Module, trainable: bool) -> Tree<Array> {
    let no_grad = &m.state().no_grad;
    let mut out = IndexMap::new();
    for (k, hidden, node) in members::members(m) {
        if hidden || (trainable && no_grad.contains(&k)) {
            continue;
        }
        let v = unwrap_param(m, &k, &node, trainable);
        out.insert(k, v);
    }
    Tree::Dict(out)
}

fn unwrap_param(m: &dyn Module, key: &str, node: &MemberNode<'_>, trainable: bool) -> Tree<Array> {
    let excluded = |tk: &str| trainable && m.state().no_grad.contains(tk);
    match node {
        MemberNode::Array(a) => Tree::Leaf((*a).clone()),
        MemberNode::Module(c) => params_tree(*c, trainable),
        MemberNode::List(items) => Tree::List(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    let tk = format!("{key}.{i}");
                    if excluded(&tk) {
                        Tree::empty()
                    } else {
                        unwrap_param(m, &tk, x, trainable)
                    }
                })
                .collect(),
        ),
        MemberNode::Dict(items) => Tree::Dict(
            items
                .iter()
                .map(|(k, x)| {
                    let tk = format!("{key}.{k}");
                    let v = if excluded(&tk) {
                        Tree::empty()
                    } else {
                        unwrap_param(m, &tk, x, trainable)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
    }
}

fn children_tree(m: &dyn Module, leaves_only: bool) -> Tree<&dyn Module> {
    fn unwrap<'a>(node: MemberNode<'a>, leaves_only: bool) -> Tree<&'a dyn Module> {
        match node {
            MemberNode::Array(_) => Tree::empty(),
            MemberNode::Module(c) => {
                if leaves_only && !members::child_modules(c).is_empty() {
                    children_tree(c, true)
                } else {
                    Tree::Leaf(c)
                }
            }
            MemberNode::List(items) => {
                Tree::List(items.into_iter().map(|x| unwrap(x, leaves_only)).collect())
            }
            MemberNode::Dict(items) => Tree::Dict(
                items
                    .into_iter()
                    .map(|(k, x)| (k, unwrap(x, leaves_only)))
                    .collect(),
            ),
        }
    }
    let mut out = IndexMap::new();
    for (k, _, node) in members::members(m) {
        if matches!(node, MemberNode::Array(_)) {
            continue;
        }
        out.insert(k, unwrap(node, leaves_only));
    }
    Tree::Dict(out)
}

/// The MLX `nn.Module` methods, available on every [`Module`] (and on `dyn Module`).
///
/// Methods that change the module return `Result<&mut Self>` so calls chain:
/// `model.freeze(Keys::All)?.unfreeze("bias")?`.
pub trait ModuleExt: Module {
    /// All parameters (MLX `parameters()`): arrays, lists and dicts of arrays and child modules
    /// as nested dicts, frozen ones included, hidden members excluded. A child module without
    /// parameters appears as `{}`.
    fn parameters(&self) -> Tree<Array> {
        params_tree(self.as_module(), false)
    }

    /// The trainable parameters (MLX `trainable_parameters()`): [`ModuleExt::parameters`] minus every
    /// name in its module's frozen set. A frozen list/dict element becomes a `{}` placeholder; a
    /// frozen module-level key is omitted.
    fn trainable_parameters(&self) -> Tree<Array> {
        params_tree(self.as_module(), true)
    }

    /// The child modules (MLX `children()`): module, list and dict members; arrays inside
    /// containers become `{}`; hidden members are included.
    fn children(&self) -> Tree<&dyn Module> {
        children_tree(self.as_module(), false)
    }

    /// Like [`ModuleExt::children`], recursing into children that have child modules of their own
    /// (MLX `leaf_modules()`).
    fn leaf_modules(&self) -> Tree<&dyn Module> {
        children_tree(self.as_module(), true)
    }

    /// `(dotted name, module)` for every module, root (`""`) first, in MLX's order: a LIFO stack,
    /// so the last child's subtree comes first (MLX_SEMANTICS 25).
    fn named_modules(&self) -> Vec<(String, &dyn Module)> {
        members::named_modules(self.as_module())
    }

    /// The module column of [`ModuleExt::named_modules`].
    fn modules(&self) -> Vec<&dyn Module> {
        self.named_modules().into_iter().map(|x| x.1).collect()
    }

    /// The module at a dotted path (`""` is `self`; integer segments index lists), if any.
    fn module_at(&self, path: &str) -> Option<&dyn Module> {
        members::module_at(self.as_module(), path)
    }

    /// The module at a dotted path, mutably.
    fn module_at_mut(&mut self, path: &str) -> Option<&mut dyn Module> {
        members::module_at_mut(self.as_module_mut(), path)
    }

    /// Calls `f(path, module)` for every module in [`ModuleExt::named_modules`] order.
    fn apply_to_modules(
        &mut self,
        mut f: impl FnMut(&str, &mut dyn Module) -> Result<()>,
    ) -> Result<&mut Self> {
        members::apply_to_modules_mut(self.as_module_mut(), &mut f)?;
        Ok(self)
    }

    /// Sets training mode on this module and every descendant (MLX `train(mode)`).
    fn train(&mut self, mode: bool) -> &mut Self {
        let _ = members::apply_to_modules_mut(self.as_module_mut(), &mut |_, m| {
            m.set_training_mode(mode);
            Ok(())
        });
        self
    }

    /// `train(false)`.
    fn eval(&mut self) -> &mut Self {
        self.train(false)
    }

    /// This module's training flag.
    fn training(&self) -> bool {
        self.state().training
    }

    /// Freezes parameters (MLX `freeze`). `Keys::All` records, in every visited module, the
    /// names of its own arrays; a key or a list of keys records those names. See [`Keys`] for
    /// `strict` and `shallow` (MLX `recurse=False`).
    fn freeze(&mut self, keys: impl Into<Keys>) -> Result<&mut Self> {
        super::freeze::freeze(self.as_module_mut(), &keys.into(), true)?;
        Ok(self)
    }

    /// Unfreezes parameters (MLX `unfreeze`): `Keys::All` clears each visited module's frozen set;
    /// keys remove those names.
    fn unfreeze(&mut self, keys: impl Into<Keys>) -> Result<&mut Self> {
        super::freeze::freeze(self.as_module_mut(), &keys.into(), false)?;
        Ok(self)
    }

    /// Freezes every parameter whose full dotted path matches one of the glob patterns, or that
    /// lies under a matching module path (`*` matches one path segment, `**` any number).
    /// With a pattern that matches nothing, returns `Err` and changes nothing.
    fn freeze_paths<I, S>(&mut self, patterns: I) -> Result<&mut Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let p: Vec<String> = patterns
            .into_iter()
            .map(|s| s.as_ref().to_string())
            .collect();
        super::paths::set_paths(self.as_module_mut(), &p, true)?;
        Ok(self)
    }

    /// The inverse of [`ModuleExt::freeze_paths`].
    fn unfreeze_paths<I, S>(&mut self, patterns: I) -> Result<&mut Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let p: Vec<String> = patterns
            .into_iter()
            .map(|s| s.as_ref().to_string())
            .collect();
        super::paths::set_paths(self.as_module_mut(), &p, false)?;
        Ok(self)
    }

    /// Replaces the arrays at the locations present in `tree` (MLX `update(parameters, strict)`).
    /// Shapes and dtypes are not checked. With `strict`, unknown keys, too-long lists and
    /// non-arrays at array positions are errors (MLX's messages); entries before the failing one
    /// stay applied, as in MLX.
    fn update<L: UpdateValue>(&mut self, tree: &Tree<L>, strict: bool) -> Result<&mut Self> {
        super::update::update(self.as_module_mut(), tree, strict)?;
        Ok(self)
    }

    /// Replaces child modules (MLX `update_modules`): where `tree` holds a module, the module at
    /// that location is replaced. A typed field only accepts a module of its own type;
    /// a `Box<dyn Module>` field accepts any.
    fn update_modules(&mut self, tree: Tree<Box<dyn Module>>, strict: bool) -> Result<&mut Self> {
        super::update::update_modules(self.as_module_mut(), tree, strict)?;
        Ok(self)
    }

    /// Maps every parameter (frozen ones included) through `f` and writes the results back
    /// (MLX `apply(map_fn)`).
    fn apply(&mut self, mut f: impl FnMut(&Array) -> Result<Array>) -> Result<&mut Self> {
        let mapped = try_tree_map(&self.parameters(), |_, a| f(a))?;
        self.update(&mapped, true)
    }

    /// Maps only the trainable parameters through `f` (MLX
    /// `apply(map_fn, filter_fn=trainable_parameter_filter)`).
    fn apply_trainable(&mut self, mut f: impl FnMut(&Array) -> Result<Array>) -> Result<&mut Self> {
        let mapped = try_tree_map(&self.trainable_parameters(), |_, a| f(a))?;
        super::update::update_skip_placeholders(self.as_module_mut(), &mapped)?;
        Ok(self)
    }

    /// Casts the floating-point parameters to `dtype` (MLX `set_dtype`); integer members stay.
    fn set_dtype(&mut self, dtype: Dtype) -> Result<&mut Self> {
        self.set_dtype_if(dtype, |d| d.is_float())
    }

    /// Casts the parameters whose dtype satisfies `predicate` (MLX `set_dtype(dtype, predicate)`).
    fn set_dtype_if(
        &mut self,
        dtype: Dtype,
        predicate: impl Fn(Dtype) -> bool,
    ) -> Result<&mut Self> {
        self.apply(|a| {
            if predicate(a.dtype()) {
                a.astype(dtype)
            } else {
                Ok(a.clone())
            }
        })
    }

    /// Loads parameters from `(name, array)` pairs or a `.safetensors` / `.npz` file (MLX
    /// `load_weights`). With `strict`: extra names, then missing names, then shapes are checked
    /// (MLX's messages) and nothing changes on error. Dtypes are not checked.
    fn load_weights(&mut self, weights: impl Into<Weights>, strict: bool) -> Result<&mut Self> {
        super::weights::load_weights(self.as_module_mut(), weights.into(), strict)?;
        Ok(self)
    }

    /// Saves every parameter under its dotted name (MLX `save_weights`); the format follows the
    /// extension (`.safetensors` or `.npz`). The file is written to a temporary name and renamed,
    /// so a failed save leaves an earlier file intact.
    fn save_weights(&self, path: impl AsRef<Path>) -> Result<()> {
        super::weights::save_weights(self.as_module(), path.as_ref())
    }

    /// The number of parameter elements (frozen ones included).
    fn num_parameters(&self) -> usize {
        tree_flatten(&self.parameters())
            .iter()
            .map(|(_, a)| a.size())
            .sum()
    }

    /// A table of every module with its trainable and frozen parameter counts and bytes, and the
    /// totals ("trainable 0.22% — 8,192 of 3,681,280 parameters").
    fn summary(&self) -> String {
        super::display::summary(self.as_module())
    }

    /// MLX's repr of the module tree (also available through `Display`).
    fn repr(&self) -> String {
        super::display::repr(self.as_module())
    }
}

impl<M: Module + ?Sized> ModuleExt for M {}
