//! MLX's module repr and the `summary()` table.

use super::freeze::own_array_names;
use super::members;
use super::{Module, ModuleExt};
use rmlx_core::tree::tree_flatten;
use std::collections::{HashMap, HashSet};
use std::fmt::Write;

/// MLX `Module.__repr__`: `Class(extra` then one indented `(name): repr` line per child module,
/// then `)`.
pub(crate) fn repr(m: &dyn Module) -> String {
    let mut s = format!("{}({}", m.class_name(), m.extra_repr());
    let children = tree_flatten(&m.children())
        .into_iter()
        .map(|(k, c)| (k, *c))
        .collect::<Vec<_>>();
    for (k, c) in &children {
        s.push('\n');
        let inner = format!("({k}): {}", repr(*c));
        let ind: Vec<String> = inner
            .lines()
            .map(|l| {
                if l.is_empty() {
                    l.to_string()
                } else {
                    format!("  {l}")
                }
            })
            .collect();
        s.push_str(&ind.join("\n"));
    }
    if !children.is_empty() {
        s.push('\n');
    }
    s.push(')');
    s
}

/// `1234567` → `"1,234,567"`.
pub(crate) fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

pub(crate) fn summary(root: &dyn Module) -> String {
    let params = root.parameters();
    let all: HashMap<String, (usize, usize)> = tree_flatten(&params)
        .into_iter()
        .map(|(k, a)| (k, (a.size(), a.nbytes())))
        .collect();
    let trainable_tree = root.trainable_parameters();
    let trainable: HashSet<String> = tree_flatten(&trainable_tree)
        .into_iter()
        .map(|(k, _)| k)
        .collect();

    // depth-first pre-order, children in member order
    let mut rows: Vec<(String, String, [usize; 4])> = Vec::new();
    let mut stack: Vec<(String, &dyn Module)> = vec![(String::new(), root)];
    let (mut tn, mut tb, mut fn_, mut fb) = (0usize, 0usize, 0usize, 0usize);
    while let Some((p, m)) = stack.pop() {
        let mut c = [0usize; 4];
        for local in own_array_names(m) {
            let full = if p.is_empty() {
                local
            } else {
                format!("{p}.{local}")
            };
            if let Some(&(n, b)) = all.get(&full) {
                if trainable.contains(&full) {
                    c[0] += n;
                    c[1] += b;
                } else {
                    c[2] += n;
                    c[3] += b;
                }
            }
        }
        tn += c[0];
        tb += c[1];
        fn_ += c[2];
        fb += c[3];
        let depth = if p.is_empty() {
            0
        } else {
            p.matches('.').count() + 1
        };
        let label = if p.is_empty() {
            "(root)".to_string()
        } else {
            p.clone()
        };
        rows.push((
            format!("{}{}", "  ".repeat(depth.min(8)), label),
            m.class_name().to_string(),
            c,
        ));
        let kids = members::child_modules(m);
        for (k, ch) in kids.into_iter().rev() {
            let name = if p.is_empty() { k } else { format!("{p}.{k}") };
            stack.push((name, ch));
        }
    }
    let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(6).max(6);
    let wc = rows.iter().map(|r| r.1.len()).max().unwrap_or(5).max(5);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<w$}  {:<wc$}  {:>14}  {:>14}  {:>14}  {:>14}",
        "module", "class", "trainable", "trainable B", "frozen", "frozen B"
    );
    for (name, class, c) in &rows {
        let _ = writeln!(
            s,
            "{:<w$}  {:<wc$}  {:>14}  {:>14}  {:>14}  {:>14}",
            name,
            class,
            thousands(c[0]),
            thousands(c[1]),
            thousands(c[2]),
            thousands(c[3])
        );
    }
    let total = tn + fn_;
    let _ = writeln!(
        s,
        "{:<w$}  {:<wc$}  {:>14}  {:>14}  {:>14}  {:>14}",
        "total",
        "",
        thousands(tn),
        thousands(tb),
        thousands(fn_),
        thousands(fb)
    );
    let pct = if total == 0 {
        0.0
    } else {
        100.0 * tn as f64 / total as f64
    };
    let _ = write!(
        s,
        "trainable {pct:.2}% — {} of {} parameters",
        thousands(tn),
        thousands(total)
    );
    s
}
