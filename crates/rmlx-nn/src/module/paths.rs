//! `freeze_paths` / `unfreeze_paths`: glob patterns over full dotted parameter paths.

// Indexing here is into the glob matcher's pattern and text, each index guarded by the
// `< len` test beside it, and into `hit`, which has one entry per pattern.
#![allow(clippy::indexing_slicing)]

use super::freeze::own_array_names;
use super::members;
use super::Module;
use rmlx_core::{Error, Result};

/// Does a glob segment (`*` any run of characters, `?` one character) match `s`?
fn seg_match(p: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (p.chars().collect(), s.chars().collect());
    let (mut pi, mut si, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Does the pattern match the path or a prefix of its segments? `**` matches any number of
/// segments (including none).
pub(crate) fn path_matches(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => true, // pattern exhausted: matched the path or a prefix of it
        Some((&"**", rest)) => (0..=path.len()).any(|i| path_matches(rest, &path[i..])),
        Some((p, rest)) => match path.split_first() {
            Some((s, prest)) => seg_match(p, s) && path_matches(rest, prest),
            None => false,
        },
    }
}

pub(crate) fn set_paths(root: &mut dyn Module, patterns: &[String], freeze: bool) -> Result<()> {
    let pats: Vec<Vec<&str>> = patterns.iter().map(|p| p.split('.').collect()).collect();
    // (module path, local names to change)
    let mut plan: Vec<(String, Vec<String>)> = Vec::new();
    let mut hit = vec![false; pats.len()];
    for (mp, m) in members::named_modules(root) {
        let mut names = Vec::new();
        for local in own_array_names(m) {
            let full = if mp.is_empty() {
                local.clone()
            } else {
                format!("{mp}.{local}")
            };
            let segs: Vec<&str> = full.split('.').collect();
            let mut any = false;
            for (i, p) in pats.iter().enumerate() {
                if path_matches(p, &segs) {
                    hit[i] = true;
                    any = true;
                }
            }
            if any {
                names.push(local);
            }
        }
        if !names.is_empty() {
            plan.push((mp, names));
        }
    }
    if let Some(i) = hit.iter().position(|h| !h) {
        let op = if freeze {
            "freeze_paths"
        } else {
            "unfreeze_paths"
        };
        return Err(Error::Key(format!(
            "{op}: the pattern \"{}\" matches no parameter path",
            patterns[i]
        )));
    }
    for (mp, names) in plan {
        if let Some(m) = members::module_at_mut(root, &mp) {
            let set = &mut m.state_mut().no_grad;
            for n in names {
                if freeze {
                    set.insert(n);
                } else {
                    // also lift a freeze recorded on the element's container name (`lst` for `lst.0`)
                    if let Some((head, _)) = n.split_once('.') {
                        set.remove(head);
                    }
                    set.remove(&n);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        path_matches(
            &p.split('.').collect::<Vec<_>>(),
            &s.split('.').collect::<Vec<_>>(),
        )
    }

    #[test]
    fn globs() {
        assert!(m(
            "encoder.layers.*.attention",
            "encoder.layers.3.attention.query_proj.weight"
        ));
        assert!(!m(
            "encoder.layers.*.attention",
            "decoder.layers.3.attention.query_proj.weight"
        ));
        assert!(m("**.bias", "a.b.c.bias"));
        assert!(m("**.bias", "bias"));
        assert!(m("*_proj", "query_proj.weight"));
        assert!(!m("*_proj", "query.weight"));
        assert!(m("l?", "l1.weight"));
        assert!(!m("a.b.c", "a.b"));
    }
}
