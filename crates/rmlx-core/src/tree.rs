//! `Tree<T>`: MLX's nested dicts and lists of leaves, with `tree_flatten` / `tree_unflatten`
//! (dotted keys), `tree_map`, `tree_map_with_path`, `tree_reduce` and `tree_merge`.
//!
//! Keys and order are MLX's: dicts keep insertion order, lists are indexed `0, 1, …`, and a path
//! joins its parts with `.` (`"layers.0.weight"`). An empty dict or list (`{}` / `[]`) is an empty
//! node: it flattens to nothing, `tree_map` keeps it, and `tree_unflatten` fills list gaps with `{}`
//! (the placeholder MLX uses for parameter-less modules and frozen entries).
//!
//! ```
//! use rmlx_core::tree::{tree_flatten, tree_unflatten, Tree};
//! let t = tree_unflatten(vec![("layers.0.w".to_string(), 1), ("layers.2.w".to_string(), 2)])?;
//! let flat: Vec<(String, i32)> = tree_flatten(&t).into_iter().map(|(k, v)| (k, *v)).collect();
//! assert_eq!(flat, vec![("layers.0.w".to_string(), 1), ("layers.2.w".to_string(), 2)]);
//! // the gap at index 1 is an empty-dict placeholder
//! assert!(matches!(&t, Tree::Dict(d) if matches!(&d["layers"], Tree::List(l) if l[1].is_empty())));
//! # Ok::<(), rmlx_core::Error>(())
//! ```

use crate::checked::Checked;
use crate::error::{Error, Result};
use indexmap::IndexMap;

/// A nested structure of insertion-ordered dicts, lists and leaves (MLX's parameter trees).
#[derive(Debug, Clone, PartialEq)]
pub enum Tree<T> {
    /// An insertion-ordered dict (a module or a dict member).
    Dict(IndexMap<String, Tree<T>>),
    /// A list (a list member; indices become path segments).
    List(Vec<Tree<T>>),
    /// A leaf value (an array in parameter trees).
    Leaf(T),
}

impl<T> Default for Tree<T> {
    /// The empty dict `{}`.
    fn default() -> Self {
        Tree::Dict(IndexMap::new())
    }
}

impl<T> Tree<T> {
    /// The empty dict `{}`, MLX's placeholder.
    pub fn empty() -> Self {
        Tree::Dict(IndexMap::new())
    }

    /// True for an empty dict or list (an empty node; not a leaf).
    pub fn is_empty(&self) -> bool {
        match self {
            Tree::Dict(d) => d.is_empty(),
            Tree::List(l) => l.is_empty(),
            Tree::Leaf(_) => false,
        }
    }

    /// The leaf value, if this is a leaf.
    pub fn as_leaf(&self) -> Option<&T> {
        match self {
            Tree::Leaf(v) => Some(v),
            _ => None,
        }
    }

    /// The number of leaves.
    pub fn num_leaves(&self) -> usize {
        match self {
            Tree::Leaf(_) => 1,
            Tree::Dict(d) => d.values().map(Tree::num_leaves).sum(),
            Tree::List(l) => l.iter().map(Tree::num_leaves).sum(),
        }
    }

    /// The subtree at a dotted path (`""` is the tree itself); list segments are indices.
    pub fn get(&self, path: &str) -> Option<&Tree<T>> {
        if path.is_empty() {
            return Some(self);
        }
        let mut cur = self;
        for seg in path.split('.') {
            cur = match cur {
                Tree::Dict(d) => d.get(seg)?,
                Tree::List(l) => l.get(seg.parse::<usize>().ok()?)?,
                Tree::Leaf(_) => return None,
            };
        }
        Some(cur)
    }

    /// Iterates over `(dotted path, leaf)` in MLX's order (see [`tree_flatten`]).
    pub fn flatten(&self) -> Vec<(String, &T)> {
        tree_flatten(self)
    }
}

impl<T> From<T> for Tree<T> {
    fn from(v: T) -> Self {
        Tree::Leaf(v)
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// The optional conflict resolver of [`tree_merge`].
pub type MergeFn<'a, T> = &'a dyn Fn(&Tree<T>, &Tree<T>) -> Result<Tree<T>>;

type Groups<T> = Vec<(usize, String, Vec<(String, T)>)>;

/// Flattens a tree into `(dotted path, leaf)` pairs: depth first, dicts in insertion order, lists
/// by index. Empty dicts and lists produce nothing (`tree_flatten({'a': {}}) == []` in MLX). A bare
/// leaf has the path `""`.
pub fn tree_flatten<T>(tree: &Tree<T>) -> Vec<(String, &T)> {
    let mut out = Vec::new();
    flatten_into(tree, String::new(), &mut out);
    out
}

/// [`tree_flatten`] with every path prefixed by `prefix` (joined with `.`).
pub fn tree_flatten_with_prefix<'a, T>(tree: &'a Tree<T>, prefix: &str) -> Vec<(String, &'a T)> {
    let mut out = Vec::new();
    flatten_into(tree, prefix.to_string(), &mut out);
    out
}

fn flatten_into<'a, T>(tree: &'a Tree<T>, prefix: String, out: &mut Vec<(String, &'a T)>) {
    // An explicit stack keeps very deep trees off the call stack; push in reverse to pop in order.
    let mut stack: Vec<(String, &'a Tree<T>)> = vec![(prefix, tree)];
    while let Some((p, t)) = stack.pop() {
        match t {
            Tree::Leaf(v) => out.push((p, v)),
            Tree::Dict(d) => {
                for (k, c) in d.iter().rev() {
                    stack.push((join(&p, k), c));
                }
            }
            Tree::List(l) => {
                for (i, c) in l.iter().enumerate().rev() {
                    stack.push((join(&p, &i.to_string()), c));
                }
            }
        }
    }
}

/// Is `s` a list index as MLX reads one (decimal digits)?
fn parse_index(s: &str) -> Option<usize> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Rebuilds a tree from `(dotted path, leaf)` pairs, inverting [`tree_flatten`].
///
/// At each level, if every first segment is an integer and no two segments denote the same
/// integer, the level is a list: entries are placed at their index and gaps are filled with `{}`
/// placeholders. Otherwise it is a dict in first-seen order (so `"01"` and `"1"` make a dict, as
/// in MLX). A single pair with the empty path is that leaf itself; no pairs give `{}`.
///
/// Errors when a path is both a leaf and a prefix of another path (`"a"` and `"a.b"`), or when
/// the same path appears twice.
pub fn tree_unflatten<T>(pairs: Vec<(String, T)>) -> Result<Tree<T>> {
    unflatten_level(pairs, "")
}

fn unflatten_level<T>(pairs: Vec<(String, T)>, at: &str) -> Result<Tree<T>> {
    if pairs.is_empty() {
        return Ok(Tree::empty());
    }
    let mut pairs = pairs;
    if pairs.len() == 1 && pairs.at(0)?.0.is_empty() {
        if let Some((_, v)) = pairs.pop() {
            return Ok(Tree::Leaf(v));
        }
    }
    if pairs.iter().any(|(k, _)| k.is_empty()) {
        return Err(Error::Key(format!(
            "tree_unflatten: the path \"{at}\" is both a leaf and a container (or appears twice)"
        )));
    }
    let mut groups: IndexMap<String, Vec<(String, T)>> = IndexMap::new();
    for (key, v) in pairs {
        let (head, rest) = match key.split_once('.') {
            Some((h, r)) => (h.to_string(), r.to_string()),
            None => (key, String::new()),
        };
        groups.entry(head).or_default().push((rest, v));
    }
    let indices: Option<Vec<usize>> = groups.keys().map(|k| parse_index(k)).collect();
    let is_list = match &indices {
        Some(idx) => {
            let mut sorted = idx.clone();
            sorted.sort_unstable();
            sorted.dedup();
            sorted.len() == idx.len()
        }
        None => false,
    };
    let sub = |k: &str| join(at, k);
    if let (true, Some(idx)) = (is_list, indices) {
        let mut entries: Groups<T> = groups
            .into_iter()
            .zip(idx)
            .map(|((k, v), i)| (i, k, v))
            .collect();
        entries.sort_by_key(|e| e.0);
        let mut list = Vec::new();
        for (i, k, v) in entries {
            while list.len() < i {
                list.push(Tree::empty());
            }
            list.push(unflatten_level(v, &sub(&k))?);
        }
        Ok(Tree::List(list))
    } else {
        let mut d = IndexMap::new();
        for (k, v) in groups {
            let child = unflatten_level(v, &sub(&k))?;
            d.insert(k, child);
        }
        Ok(Tree::Dict(d))
    }
}

/// Applies `f` to every leaf, keeping the structure (empty nodes included).
pub fn tree_map<T, U>(tree: &Tree<T>, mut f: impl FnMut(&T) -> U) -> Tree<U> {
    tree_map_with_path(tree, |_, v| f(v))
}

/// Applies `f(path, leaf)` to every leaf, keeping the structure. Paths are dotted as in
/// [`tree_flatten`].
pub fn tree_map_with_path<T, U>(tree: &Tree<T>, mut f: impl FnMut(&str, &T) -> U) -> Tree<U> {
    fn go<T, U>(t: &Tree<T>, p: &str, f: &mut dyn FnMut(&str, &T) -> U) -> Tree<U> {
        match t {
            Tree::Leaf(v) => Tree::Leaf(f(p, v)),
            Tree::Dict(d) => Tree::Dict(
                d.iter()
                    .map(|(k, c)| (k.clone(), go(c, &join(p, k), f)))
                    .collect(),
            ),
            Tree::List(l) => Tree::List(
                l.iter()
                    .enumerate()
                    .map(|(i, c)| go(c, &join(p, &i.to_string()), f))
                    .collect(),
            ),
        }
    }
    go(tree, "", &mut f)
}

/// Like [`tree_map`] with a fallible function: the first error is returned.
pub fn try_tree_map<T, U>(
    tree: &Tree<T>,
    mut f: impl FnMut(&str, &T) -> Result<U>,
) -> Result<Tree<U>> {
    fn go<T, U>(t: &Tree<T>, p: &str, f: &mut dyn FnMut(&str, &T) -> Result<U>) -> Result<Tree<U>> {
        Ok(match t {
            Tree::Leaf(v) => Tree::Leaf(f(p, v)?),
            Tree::Dict(d) => {
                let mut out = IndexMap::with_capacity(d.len());
                for (k, c) in d {
                    out.insert(k.clone(), go(c, &join(p, k), f)?);
                }
                Tree::Dict(out)
            }
            Tree::List(l) => {
                let mut out = Vec::with_capacity(l.len());
                for (i, c) in l.iter().enumerate() {
                    out.push(go(c, &join(p, &i.to_string()), f)?);
                }
                Tree::List(out)
            }
        })
    }
    go(tree, "", &mut f)
}

/// Folds every leaf, in flatten order, into an accumulator.
pub fn tree_reduce<T, A>(tree: &Tree<T>, init: A, mut f: impl FnMut(A, &T) -> A) -> A {
    tree_flatten(tree)
        .into_iter()
        .fold(init, |acc, (_, v)| f(acc, v))
}

/// Merges two trees (MLX `tree_merge`): empty nodes count as absent, lists merge by index, dicts
/// by key (keys of `a` first, then new keys of `b`). Where both trees have a leaf (or nodes of
/// different kinds) at the same place, `merge_fn` decides; without one that is an error.
pub fn tree_merge<T: Clone>(
    a: &Tree<T>,
    b: &Tree<T>,
    merge_fn: Option<MergeFn<'_, T>>,
) -> Result<Tree<T>> {
    fn opt<T>(t: Option<&Tree<T>>) -> Option<&Tree<T>> {
        t.filter(|t| !t.is_empty())
    }
    fn go<T: Clone>(
        a: Option<&Tree<T>>,
        b: Option<&Tree<T>>,
        merge_fn: Option<MergeFn<'_, T>>,
    ) -> Result<Tree<T>> {
        match (opt(a), opt(b)) {
            (None, Some(b)) => Ok(b.clone()),
            (Some(a), None) => Ok(a.clone()),
            (Some(Tree::List(la)), Some(Tree::List(lb))) => {
                let n = la.len().max(lb.len());
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    let m = go(la.get(i), lb.get(i), merge_fn)?;
                    out.push(m);
                }
                Ok(Tree::List(out))
            }
            (Some(Tree::Dict(da)), Some(Tree::Dict(db))) => {
                let mut out = IndexMap::new();
                for k in da.keys().chain(db.keys().filter(|k| !da.contains_key(*k))) {
                    out.insert(k.clone(), go(da.get(k), db.get(k), merge_fn)?);
                }
                Ok(Tree::Dict(out))
            }
            (x, y) => match merge_fn {
                Some(f) => {
                    let e = Tree::empty();
                    f(x.or(a).unwrap_or(&e), y.or(b).unwrap_or(&e))
                }
                None => Err(Error::Value(
                    "Trees contain elements at the same locations but no merge function was provided"
                        .into(),
                )),
            },
        }
    }
    go(Some(a), Some(b), merge_fn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(items: Vec<(&str, Tree<i32>)>) -> Tree<i32> {
        Tree::Dict(items.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }
    fn pairs(t: &Tree<i32>) -> Vec<(String, i32)> {
        tree_flatten(t).into_iter().map(|(k, v)| (k, *v)).collect()
    }

    #[test]
    fn flatten_order_and_empty_nodes() {
        let t = d(vec![
            ("b", Tree::Leaf(1)),
            (
                "a",
                Tree::List(vec![Tree::Leaf(2), Tree::empty(), Tree::Leaf(3)]),
            ),
            ("e", Tree::empty()),
            (
                "c",
                d(vec![
                    ("y", Tree::List(vec![Tree::Leaf(4)])),
                    ("x", Tree::Leaf(5)),
                ]),
            ),
        ]);
        let keys: Vec<String> = pairs(&t).into_iter().map(|p| p.0).collect();
        assert_eq!(keys, ["b", "a.0", "a.2", "c.y.0", "c.x"]);
        assert!(tree_flatten(&d(vec![("a", Tree::empty())])).is_empty());
        assert_eq!(pairs(&Tree::Leaf(7)), vec![(String::new(), 7)]);
    }

    #[test]
    fn unflatten_lists_dicts_and_collisions() {
        let t = tree_unflatten(vec![("l.2".into(), 1), ("l.0".into(), 0)]).unwrap();
        assert_eq!(
            t,
            d(vec![(
                "l",
                Tree::List(vec![Tree::Leaf(0), Tree::empty(), Tree::Leaf(1)])
            )])
        );
        let t = tree_unflatten(vec![("01".into(), 1), ("1".into(), 2)]).unwrap();
        assert_eq!(t, d(vec![("01", Tree::Leaf(1)), ("1", Tree::Leaf(2))]));
        assert_eq!(tree_unflatten::<i32>(vec![]).unwrap(), Tree::empty());
        assert!(tree_unflatten(vec![("a".into(), 1), ("a.b".into(), 2)]).is_err());
        assert!(tree_unflatten(vec![("a".into(), 1), ("a".into(), 2)]).is_err());
    }

    #[test]
    fn map_with_path_and_reduce() {
        let t = d(vec![
            ("a", Tree::List(vec![Tree::Leaf(1), Tree::empty()])),
            ("b", Tree::Leaf(2)),
        ]);
        let m = tree_map_with_path(&t, |p, v| format!("{p}={v}"));
        assert_eq!(m.get("a.0"), Some(&Tree::Leaf("a.0=1".to_string())));
        assert_eq!(m.get("a.1"), Some(&Tree::empty()));
        assert_eq!(tree_reduce(&t, 0, |a, v| a + v), 3);
        assert_eq!(tree_map(&t, |v| v * 10).get("b"), Some(&Tree::Leaf(20)));
    }

    #[test]
    fn merge_like_mlx() {
        let a = d(vec![("layers", Tree::List(vec![Tree::Leaf(1)]))]);
        let b = d(vec![(
            "layers",
            Tree::List(vec![Tree::empty(), Tree::Leaf(2)]),
        )]);
        let m = tree_merge(&a, &b, None).unwrap();
        assert_eq!(
            pairs(&m),
            vec![("layers.0".into(), 1), ("layers.1".into(), 2)]
        );
        assert!(tree_merge(&a, &a, None).is_err());
        let f = |x: &Tree<i32>, y: &Tree<i32>| -> Result<Tree<i32>> {
            Ok(Tree::Leaf(x.as_leaf().unwrap() + y.as_leaf().unwrap()))
        };
        assert_eq!(
            pairs(&tree_merge(&a, &a, Some(&f)).unwrap()),
            vec![("layers.0".into(), 2)]
        );
        assert!(tree_merge(&Tree::<i32>::empty(), &Tree::List(vec![]), None).is_err());
    }

    fn arb_tree() -> impl Strategy<Value = Tree<i32>> {
        let leaf = any::<i32>().prop_map(Tree::Leaf);
        leaf.prop_recursive(4, 40, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..4).prop_map(Tree::List),
                prop::collection::vec(("[a-z_][a-z0-9_]{0,3}", inner), 1..4)
                    .prop_map(|v| Tree::Dict(v.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn flatten_unflatten_round_trip(t in arb_tree()) {
            let flat = pairs(&t);
            let back = tree_unflatten(flat.clone()).unwrap();
            prop_assert_eq!(pairs(&back), flat);
            // a tree without empty nodes comes back identical
            prop_assert_eq!(back, t);
        }
    }
}
