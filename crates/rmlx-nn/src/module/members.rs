//! A module's members collected from its visitor into a small tree of references, which the
//! library algorithms (parameters, freeze, update, …) walk.

use super::{Container, Module, ModuleMut, Visitor, VisitorMut};
use rmlx_core::Array;

/// One member of a module, borrowed: an array, a child module, or a container of members.
pub enum MemberNode<'a> {
    /// An array parameter.
    Array(&'a Array),
    /// A child module.
    Module(&'a dyn Module),
    /// A list container.
    List(Vec<MemberNode<'a>>),
    /// A dict container, in key order.
    Dict(Vec<(String, MemberNode<'a>)>),
}

/// One member of a module, mutably borrowed.
pub enum MemberNodeMut<'a> {
    /// An array parameter.
    Array(&'a mut Array),
    /// A child module slot.
    Module(ModuleMut<'a>),
    /// A list container.
    List(Vec<MemberNodeMut<'a>>),
    /// A dict container, in key order.
    Dict(Vec<(String, MemberNodeMut<'a>)>),
}

/// A module's top-level members: `(name, hidden, node)` in key order.
pub(crate) type Members<'a> = Vec<(String, bool, MemberNode<'a>)>;
/// Mutable top-level members.
pub(crate) type MembersMut<'a> = Vec<(String, bool, MemberNodeMut<'a>)>;

struct Frame<N> {
    name: String,
    hidden: bool,
    kind: Container,
    items: Vec<(String, N)>,
}

struct Collector<'a> {
    top: Members<'a>,
    stack: Vec<Frame<MemberNode<'a>>>,
}

impl<'a> Collector<'a> {
    fn push(&mut self, name: &str, hidden: bool, node: MemberNode<'a>) {
        match self.stack.last_mut() {
            Some(f) => f.items.push((name.to_string(), node)),
            None => self.top.push((name.to_string(), hidden, node)),
        }
    }
}

impl<'a> Visitor<'a> for Collector<'a> {
    fn array(&mut self, name: &str, array: &'a Array, hidden: bool) {
        self.push(name, hidden, MemberNode::Array(array));
    }
    fn module(&mut self, name: &str, module: &'a dyn Module, hidden: bool) {
        self.push(name, hidden, MemberNode::Module(module));
    }
    fn enter(&mut self, name: &str, kind: Container, hidden: bool) {
        self.stack.push(Frame {
            name: name.to_string(),
            hidden,
            kind,
            items: Vec::new(),
        });
    }
    fn leave(&mut self, _kind: Container) {
        if let Some(f) = self.stack.pop() {
            let node = match f.kind {
                Container::List => MemberNode::List(f.items.into_iter().map(|x| x.1).collect()),
                Container::Dict => MemberNode::Dict(f.items),
            };
            self.push(&f.name, f.hidden, node);
        }
    }
}

struct CollectorMut<'a> {
    top: MembersMut<'a>,
    stack: Vec<Frame<MemberNodeMut<'a>>>,
}

impl<'a> CollectorMut<'a> {
    fn push(&mut self, name: &str, hidden: bool, node: MemberNodeMut<'a>) {
        match self.stack.last_mut() {
            Some(f) => f.items.push((name.to_string(), node)),
            None => self.top.push((name.to_string(), hidden, node)),
        }
    }
}

impl<'a> VisitorMut<'a> for CollectorMut<'a> {
    fn array(&mut self, name: &str, array: &'a mut Array, hidden: bool) {
        self.push(name, hidden, MemberNodeMut::Array(array));
    }
    fn module(&mut self, name: &str, module: ModuleMut<'a>, hidden: bool) {
        self.push(name, hidden, MemberNodeMut::Module(module));
    }
    fn enter(&mut self, name: &str, kind: Container, hidden: bool) {
        self.stack.push(Frame {
            name: name.to_string(),
            hidden,
            kind,
            items: Vec::new(),
        });
    }
    fn leave(&mut self, _kind: Container) {
        if let Some(f) = self.stack.pop() {
            let node = match f.kind {
                Container::List => MemberNodeMut::List(f.items.into_iter().map(|x| x.1).collect()),
                Container::Dict => MemberNodeMut::Dict(f.items),
            };
            self.push(&f.name, f.hidden, node);
        }
    }
}

/// Collects `m`'s top-level members.
pub(crate) fn members(m: &dyn Module) -> Members<'_> {
    let mut c = Collector {
        top: Vec::new(),
        stack: Vec::new(),
    };
    m.visit(&mut c);
    c.top
}

/// Collects `m`'s top-level members mutably.
pub(crate) fn members_mut(m: &mut dyn Module) -> MembersMut<'_> {
    let mut c = CollectorMut {
        top: Vec::new(),
        stack: Vec::new(),
    };
    m.visit_mut(&mut c);
    c.top
}

/// The child modules directly reachable through `m`'s members (through containers, not through
/// child modules), with their dotted names relative to `m`, in member order.
pub(crate) fn child_modules(m: &dyn Module) -> Vec<(String, &dyn Module)> {
    fn go<'a>(n: &MemberNode<'a>, p: String, out: &mut Vec<(String, &'a dyn Module)>) {
        match n {
            MemberNode::Module(c) => out.push((p, *c)),
            MemberNode::Array(_) => {}
            MemberNode::List(l) => {
                for (i, x) in l.iter().enumerate() {
                    go(x, format!("{p}.{i}"), out)
                }
            }
            MemberNode::Dict(d) => {
                for (k, x) in d {
                    go(x, format!("{p}.{k}"), out)
                }
            }
        }
    }
    let mut out = Vec::new();
    for (name, _, n) in members(m) {
        go(&n, name, &mut out);
    }
    out
}

/// [`child_modules`] mutably.
pub(crate) fn child_modules_mut(m: &mut dyn Module) -> Vec<(String, &mut dyn Module)> {
    fn go<'a>(n: MemberNodeMut<'a>, p: String, out: &mut Vec<(String, &'a mut dyn Module)>) {
        match n {
            MemberNodeMut::Module(c) => out.push((p, c.into_module())),
            MemberNodeMut::Array(_) => {}
            MemberNodeMut::List(l) => {
                for (i, x) in l.into_iter().enumerate() {
                    go(x, format!("{p}.{i}"), out)
                }
            }
            MemberNodeMut::Dict(d) => {
                for (k, x) in d {
                    go(x, format!("{p}.{k}"), out)
                }
            }
        }
    }
    let mut out = Vec::new();
    for (name, _, n) in members_mut(m) {
        go(n, name, &mut out);
    }
    out
}

/// The names of `m`'s own members (all kinds, hidden included): MLX's `k in module`.
pub(crate) fn member_names(m: &dyn Module) -> Vec<String> {
    members(m).into_iter().map(|(n, _, _)| n).collect()
}

/// MLX `apply_to_modules` order: a LIFO stack starting at the root; each popped module is
/// emitted, then its children are pushed in member order (so the last child comes out first).
pub(crate) fn named_modules(root: &dyn Module) -> Vec<(String, &dyn Module)> {
    let mut out = Vec::new();
    let mut stack: Vec<(String, &dyn Module)> = vec![(String::new(), root)];
    while let Some((p, m)) = stack.pop() {
        out.push((p.clone(), m));
        for (k, c) in child_modules(m) {
            let name = if p.is_empty() { k } else { format!("{p}.{k}") };
            stack.push((name, c));
        }
    }
    out
}

/// Calls `f(path, module)` for every module in MLX's `apply_to_modules` order, mutably. Stops at
/// the first error.
pub(crate) fn apply_to_modules_mut(
    root: &mut dyn Module,
    f: &mut dyn FnMut(&str, &mut dyn Module) -> rmlx_core::Result<()>,
) -> rmlx_core::Result<()> {
    let mut stack: Vec<(String, &mut dyn Module)> = vec![(String::new(), root)];
    while let Some((p, m)) = stack.pop() {
        f(&p, &mut *m)?;
        for (k, c) in child_modules_mut(m) {
            let name = if p.is_empty() { k } else { format!("{p}.{k}") };
            stack.push((name, c));
        }
    }
    Ok(())
}

/// The module at a dotted path (`""` is `root`; integer segments index lists).
pub(crate) fn module_at<'a>(root: &'a dyn Module, path: &str) -> Option<&'a dyn Module> {
    if path.is_empty() {
        return Some(root);
    }
    child_modules(root).into_iter().find_map(|(k, c)| {
        if k == path {
            Some(c)
        } else {
            path.strip_prefix(k.as_str())
                .and_then(|rest| rest.strip_prefix('.'))
                .and_then(|rest| module_at(c, rest))
        }
    })
}

/// [`module_at`] mutably.
pub(crate) fn module_at_mut<'a>(
    root: &'a mut dyn Module,
    path: &str,
) -> Option<&'a mut dyn Module> {
    if path.is_empty() {
        return Some(root);
    }
    child_modules_mut(root).into_iter().find_map(|(k, c)| {
        if k == path {
            Some(c)
        } else {
            match path
                .strip_prefix(k.as_str())
                .and_then(|rest| rest.strip_prefix('.'))
            {
                Some(rest) => module_at_mut(c, rest),
                None => None,
            }
        }
    })
}
