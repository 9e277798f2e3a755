//! `einsum`: Einstein summation over subscripts (MLX's `mx.einsum`), written with ops so every
//! transform (grad, jvp, vmap, compile) goes through it.
//!
//! Each operand first loses its repeated subscripts (diagonals) and the subscripts nothing else
//! uses (summed at once); then operands are contracted pairwise in the order [`einsum_path`]
//! gives (the cheapest pair first), each pair as one batched matmul (shared subscripts needed later are the batch, shared ones not needed later the
//! contraction); the result is summed over what the output lacks and transposed to its order.

// Indexing here is into tables this module builds from the parsed subscripts: `parse` checks
// that every operand has one subscript per axis and that every output subscript appears in an
// input, `sizes` and `uses` hold an entry for every subscript of every operand (so for every
// label looked up), and positions come from `enumerate`/`position` over the same label vectors
// whose lengths equal the arrays' ranks.
#![allow(clippy::indexing_slicing)]

use std::collections::{BTreeMap, HashMap};

use crate::{bail, Array, Result};

/// The subscripts of one operand or of the output, one `char` per axis (`...` expanded).
type Labels = Vec<char>;

/// Einstein summation (MLX's `mx.einsum(subscripts, *operands)`): `"ij,jk->ik"` is a matrix
/// product, `"ii->i"` a diagonal, `"ii"` a trace, `"bij,bjk->bik"` a batched product,
/// `"...ij,...jk"` one with broadcast leading axes. Without `->` the output holds the subscripts
/// that appear once, in alphabetical order (and the ellipsis axes first).
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
/// let b = Array::from_slice(&[5.0f32, 6.0, 7.0, 8.0], &[2, 2])?;
/// assert_eq!(mx::einsum("ij,jk->ik", &[a.clone(), b])?.to_vec::<f32>()?, vec![19.0, 22.0, 43.0, 50.0]);
/// assert_eq!(mx::einsum("ii", &[a.clone()])?.item::<f32>()?, 5.0); // the trace
/// assert_eq!(mx::einsum("ij->j", &[a])?.to_vec::<f32>()?, vec![4.0, 6.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn einsum(subscripts: &str, operands: &[Array]) -> Result<Array> {
    let (inputs, output) = parse(subscripts, operands)?;
    // every subscript's size, checked across operands (1 broadcasts)
    let mut sizes: HashMap<char, usize> = HashMap::new();
    for (labels, x) in inputs.iter().zip(operands) {
        for (&c, &d) in labels.iter().zip(x.shape()) {
            match sizes.get(&c) {
                Some(&s) if s != d && s != 1 && d != 1 => bail!(
                    Shape,
                    "[einsum] Size mismatch for subscript '{}': {s} and {d}",
                    show(c)
                ),
                Some(&s) if s >= d => {}
                _ => {
                    sizes.insert(c, d);
                }
            }
        }
    }
    // how many times each subscript is still needed (operands, plus the output)
    let mut uses: HashMap<char, usize> = HashMap::new();
    for labels in &inputs {
        for &c in dedup(labels).iter() {
            *uses.entry(c).or_default() += 1;
        }
    }
    for &c in &output {
        *uses.entry(c).or_default() += 1;
    }
    let mut terms: Vec<(Array, Labels)> = Vec::with_capacity(operands.len());
    for (labels, x) in inputs.into_iter().zip(operands) {
        let (x, labels) = diagonals(x.clone(), labels)?;
        // subscripts only this operand has and the output lacks: summed right away
        let lone: Vec<usize> = labels
            .iter()
            .enumerate()
            .filter(|(_, c)| uses[*c] == 1)
            .map(|(i, _)| i)
            .collect();
        let (x, labels) = sum_axes(&x, &labels, &lone)?;
        terms.push((x, labels));
    }
    let labels: Vec<Labels> = terms.iter().map(|(_, l)| l.clone()).collect();
    let path = greedy_path(labels, &uses, &sizes);
    if terms.is_empty() {
        bail!(Value, "[einsum] At least one operand is required.");
    }
    for PathStep { pair: (i, j), .. } in path {
        // j > i: remove the later one first so i stays valid
        let (b, lb) = terms.remove(j);
        let (a, la) = terms.remove(i);
        // this pair's subscripts stop being needed once contracted, except where other
        // operands or the output use them
        for c in dedup(&la).iter().chain(dedup(&lb).iter()) {
            if let Some(u) = uses.get_mut(c) {
                *u -= 1;
            }
        }
        let (r, rl) = contract(&a, &la, &b, &lb, &uses, &sizes)?;
        for &c in dedup(&rl).iter() {
            *uses.entry(c).or_default() += 1;
        }
        terms.push((r, rl));
    }
    let Some((acc, acc_labels)) = terms.pop() else {
        bail!(Value, "[einsum] At least one operand is required.");
    };
    // what the output lacks is summed; the rest goes to the output's order
    let drop: Vec<usize> = acc_labels
        .iter()
        .enumerate()
        .filter(|(_, c)| !output.contains(c))
        .map(|(i, _)| i)
        .collect();
    let (acc, acc_labels) = sum_axes(&acc, &acc_labels, &drop)?;
    let perm: Vec<isize> = output
        .iter()
        .map(|c| acc_labels.iter().position(|l| l == c).map(|p| p as isize))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            crate::Error::Value("[einsum] internal: an output subscript was lost".into())
        })?;
    let out = crate::ops::transpose(&acc, Some(&perm))?;
    // a size-1 subscript broadcast against a larger one keeps the larger size
    let shape: Vec<usize> = output.iter().map(|c| sizes[c]).collect();
    if out.shape() != shape.as_slice() {
        return out.broadcast_to(&shape);
    }
    Ok(out)
}

/// The labels a pairwise contraction of `la` and `lb` keeps, given how many other terms (and
/// the output) still use each subscript after the pair is taken out.
fn contracted_labels(la: &[char], lb: &[char], uses: &HashMap<char, usize>) -> Labels {
    let needed = |c: &char| uses.get(c).copied().unwrap_or(0) > 0;
    let mut out: Labels = la
        .iter()
        .filter(|c| lb.contains(c) && needed(c))
        .copied()
        .collect();
    out.extend(la.iter().filter(|c| !lb.contains(c)));
    out.extend(lb.iter().filter(|c| !la.contains(c)));
    out
}

/// The order of pairwise contractions (numpy's path format: positions in the current operand
/// list, the result appended at the end), chosen greedily: at each step the pair whose
/// contraction costs the fewest multiply-adds (the product of the sizes of all its subscripts),
/// the first such pair on ties.
/// One contraction of [`greedy_path`]: the pair, how many distinct subscripts it spans, and its
/// multiply-adds.
struct PathStep {
    pair: (usize, usize),
    span: usize,
    cost: u128,
}

fn greedy_path(
    mut terms: Vec<Labels>,
    uses: &HashMap<char, usize>,
    sizes: &HashMap<char, usize>,
) -> Vec<PathStep> {
    let mut uses = uses.clone();
    let mut path = Vec::new();
    while terms.len() > 1 {
        let mut best: Option<(u128, usize, usize, usize)> = None;
        for i in 0..terms.len() {
            for j in i + 1..terms.len() {
                let mut all = dedup(&terms[i]);
                all.extend(
                    dedup(&terms[j])
                        .into_iter()
                        .filter(|c| !terms[i].contains(c)),
                );
                let cost: u128 = all.iter().map(|c| sizes[c] as u128).product();
                let better = match best {
                    None => true,
                    Some((b, ..)) => cost < b,
                };
                if better {
                    best = Some((cost, all.len(), i, j));
                }
            }
        }
        let Some((cost, span, i, j)) = best else {
            break;
        };
        let lb = terms.remove(j);
        let la = terms.remove(i);
        for c in dedup(&la).iter().chain(dedup(&lb).iter()) {
            if let Some(u) = uses.get_mut(c) {
                *u -= 1;
            }
        }
        let rl = contracted_labels(&la, &lb, &uses);
        for &c in dedup(&rl).iter() {
            *uses.entry(c).or_default() += 1;
        }
        terms.push(rl);
        path.push(PathStep {
            pair: (i, j),
            span,
            cost,
        });
    }
    path
}

/// The contraction order [`einsum`] uses for these operands, and a description of it (MLX's
/// `mx.einsum_path`): numpy's path format (pairs of positions in the current operand list, each
/// result appended at the end). rmlx picks the pair with the fewest multiply-adds at each step,
/// so its path can differ from MLX's; both give the same result.
///
/// ```
/// use rmlx_core::{self as mx, Dtype};
/// let (a, b, c) = (mx::ones(&[2, 3], Dtype::F32)?, mx::ones(&[3, 4], Dtype::F32)?, mx::ones(&[4, 5], Dtype::F32)?);
/// let (path, text) = mx::einsum_path("ij,jk,kl->il", &[a, b, c])?;
/// assert_eq!(path, vec![(0, 1), (0, 1)]);
/// assert!(text.contains("Complete contraction:  ij,jk,kl->il"));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn einsum_path(subscripts: &str, operands: &[Array]) -> Result<(Vec<(usize, usize)>, String)> {
    let (inputs, output) = parse(subscripts, operands)?;
    let mut sizes: HashMap<char, usize> = HashMap::new();
    for (labels, x) in inputs.iter().zip(operands) {
        for (&c, &d) in labels.iter().zip(x.shape()) {
            let e = sizes.entry(c).or_insert(d);
            *e = (*e).max(d);
        }
    }
    let mut uses: HashMap<char, usize> = HashMap::new();
    for labels in &inputs {
        for &c in dedup(labels).iter() {
            *uses.entry(c).or_default() += 1;
        }
    }
    for &c in &output {
        *uses.entry(c).or_default() += 1;
    }
    let terms: Vec<Labels> = inputs
        .iter()
        .map(|l| dedup(l).into_iter().filter(|c| uses[c] > 1).collect())
        .collect();
    let steps = greedy_path(terms, &uses, &sizes);
    let all: Vec<char> = {
        let mut v: Vec<char> = sizes.keys().copied().collect();
        v.sort_unstable();
        v
    };
    let naive: u128 =
        all.iter().map(|c| sizes[c] as u128).product::<u128>() * (operands.len().max(1) as u128);
    let opt: u128 = steps.iter().map(|p| p.cost).sum();
    let scaling = steps.iter().map(|p| p.span).max().unwrap_or(0);
    let path: Vec<(usize, usize)> = steps.iter().map(|p| p.pair).collect();
    let text = format!(
        "  Complete contraction:  {subscripts}\n         Naive scaling:  {}\n     Optimized scaling:  {}\n      Naive FLOP count:  {naive}\n  Optimized FLOP count:  {}\n",
        all.len(),
        scaling.max(1),
        opt.max(1)
    );
    Ok((path, text))
}

/// A subscript for messages (ellipsis axes are private characters).
fn show(c: char) -> String {
    if (c as u32) >= ELLIPSIS_BASE {
        "...".into()
    } else {
        c.to_string()
    }
}

/// The first private character standing for an ellipsis axis.
const ELLIPSIS_BASE: u32 = 0xE000;

fn dedup(labels: &[char]) -> Vec<char> {
    let mut v: Vec<char> = Vec::with_capacity(labels.len());
    for &c in labels {
        if !v.contains(&c) {
            v.push(c);
        }
    }
    v
}

/// Subscripts of every operand and of the output, with `...` expanded to the broadcast axes.
fn parse(subscripts: &str, operands: &[Array]) -> Result<(Vec<Labels>, Labels)> {
    let s: String = subscripts.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, rhs) = match s.split_once("->") {
        Some((l, r)) => (l.to_string(), Some(r.to_string())),
        None => (s.clone(), None),
    };
    let parts: Vec<&str> = lhs.split(',').collect();
    if parts.len() != operands.len() {
        bail!(
            Value,
            "[einsum] Expected {} operands for subscripts \"{subscripts}\", got {}.",
            parts.len(),
            operands.len()
        );
    }
    let check = |t: &str| -> Result<()> {
        let rest = t.replace("...", "");
        if let Some(c) = rest.chars().find(|c| !c.is_ascii_alphabetic()) {
            bail!(
                Value,
                "[einsum] Invalid character '{c}' in subscripts \"{subscripts}\"."
            );
        }
        if t.matches("...").count() > 1 {
            bail!(
                Value,
                "[einsum] An operand may hold one ellipsis, got \"{t}\"."
            );
        }
        Ok(())
    };
    let mut ell_rank = 0usize;
    let mut named: Vec<(String, bool)> = Vec::new();
    for (p, x) in parts.iter().zip(operands) {
        check(p)?;
        let has = p.contains("...");
        let letters = p.replace("...", "").chars().count();
        if (!has && letters != x.ndim()) || (has && letters > x.ndim()) {
            bail!(
                Value,
                "[einsum] Operand of shape {:?} has {} dimensions but subscripts \"{p}\".",
                x.shape(),
                x.ndim()
            );
        }
        if has {
            ell_rank = ell_rank.max(x.ndim() - letters);
        }
        named.push((p.to_string(), has));
    }
    let ell = |n: usize| -> Labels {
        (0..n)
            .map(|k| {
                char::from_u32(ELLIPSIS_BASE + (ell_rank - n + k) as u32).unwrap_or('\u{E000}')
            })
            .collect()
    };
    let mut inputs = Vec::with_capacity(parts.len());
    for ((p, has), x) in named.iter().zip(operands) {
        let mut labels = Labels::new();
        if *has {
            let (before, after) = p.split_once("...").unwrap_or((p, ""));
            let n = x.ndim() - before.len() - after.len();
            labels.extend(before.chars());
            labels.extend(ell(n));
            labels.extend(after.chars());
        } else {
            labels.extend(p.chars());
        }
        inputs.push(labels);
    }
    let output: Labels = match rhs {
        Some(r) => {
            check(&r)?;
            let mut out = Labels::new();
            let (before, after) = r.split_once("...").unwrap_or((&r, ""));
            out.extend(before.chars());
            if r.contains("...") {
                out.extend(ell(ell_rank));
            }
            out.extend(after.chars());
            for &c in &out {
                if out.iter().filter(|&&d| d == c).count() > 1 {
                    bail!(
                        Value,
                        "[einsum] Subscript '{}' repeats in the output \"{r}\".",
                        show(c)
                    );
                }
                if !inputs.iter().any(|l| l.contains(&c)) {
                    bail!(
                        Value,
                        "[einsum] Output subscript '{}' does not appear in the inputs.",
                        show(c)
                    );
                }
            }
            out
        }
        None => {
            // implicit output: ellipsis axes, then the subscripts seen once, sorted
            let mut count: BTreeMap<char, usize> = BTreeMap::new();
            for l in &inputs {
                for &c in l {
                    *count.entry(c).or_default() += 1;
                }
            }
            let mut out = ell(ell_rank);
            out.extend(
                count
                    .iter()
                    .filter(|(c, n)| **n == 1 && (**c as u32) < ELLIPSIS_BASE)
                    .map(|(c, _)| *c),
            );
            out
        }
    };
    Ok((inputs, output))
}

/// Takes the diagonal of every repeated subscript of one operand.
fn diagonals(mut x: Array, mut labels: Labels) -> Result<(Array, Labels)> {
    loop {
        let dup = labels.iter().enumerate().find_map(|(i, c)| {
            labels[i + 1..]
                .iter()
                .position(|d| d == c)
                .map(|j| (i, i + 1 + j))
        });
        let Some((i, j)) = dup else {
            return Ok((x, labels));
        };
        if x.shape()[i] != x.shape()[j] {
            bail!(
                Shape,
                "[einsum] Repeated subscript '{}' over axes of sizes {} and {}.",
                show(labels[i]),
                x.shape()[i],
                x.shape()[j]
            );
        }
        // the diagonal's axis goes last
        x = crate::ops::diagonal(&x, 0, i as isize, j as isize)?;
        let c = labels[i];
        labels.remove(j);
        labels.remove(i);
        labels.push(c);
    }
}

/// Sums `axes` (positions in `labels`) away.
fn sum_axes(x: &Array, labels: &[char], axes: &[usize]) -> Result<(Array, Labels)> {
    if axes.is_empty() {
        return Ok((x.clone(), labels.to_vec()));
    }
    let ax: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
    let y = x.sum(ax, false)?;
    let rest = labels
        .iter()
        .enumerate()
        .filter(|(i, _)| !axes.contains(i))
        .map(|(_, c)| *c)
        .collect();
    Ok((y, rest))
}

/// Contracts two operands as one batched matmul: shared subscripts still used elsewhere are
/// the batch, shared ones used nowhere else are summed, the others are kept.
fn contract(
    a: &Array,
    la: &[char],
    b: &Array,
    lb: &[char],
    uses: &HashMap<char, usize>,
    sizes: &HashMap<char, usize>,
) -> Result<(Array, Labels)> {
    let needed = |c: &char| uses.get(c).copied().unwrap_or(0) > 0;
    let batch: Labels = la
        .iter()
        .filter(|c| lb.contains(c) && needed(c))
        .copied()
        .collect();
    let contr: Labels = la
        .iter()
        .filter(|c| lb.contains(c) && !needed(c))
        .copied()
        .collect();
    let free_a: Labels = la.iter().filter(|c| !lb.contains(c)).copied().collect();
    let free_b: Labels = lb.iter().filter(|c| !la.contains(c)).copied().collect();
    let arrange = |x: &Array, l: &[char], order: &[&[char]]| -> Result<Array> {
        let perm: Vec<isize> = order
            .iter()
            .flat_map(|g| g.iter())
            .map(|c| l.iter().position(|d| d == c).unwrap_or(0) as isize)
            .collect();
        let x = crate::ops::transpose(x, Some(&perm))?;
        // size-1 subscripts broadcast to the other operand's size
        let full: Vec<usize> = order
            .iter()
            .flat_map(|g| g.iter())
            .zip(x.shape())
            .map(|(c, &d)| if d == 1 { sizes[c] } else { d })
            .collect();
        let own_free: &[char] = order[1];
        let mut target = full.clone();
        for (k, c) in order.iter().flat_map(|g| g.iter()).enumerate() {
            if own_free.contains(c) {
                target[k] = x.shape()[k];
            }
        }
        x.broadcast_to(&target)
    };
    let a2 = arrange(a, la, &[&batch, &free_a, &contr])?;
    let b2 = arrange(b, lb, &[&batch, &free_b, &contr])?;
    let prod = |l: &[char]| l.iter().map(|c| sizes[c]).product::<usize>();
    let (nb, nfa, nfb, nc) = (prod(&batch), prod(&free_a), prod(&free_b), prod(&contr));
    let a3 = a2.reshape([nb, nfa, nc])?;
    let b3 = b2.reshape([nb, nfb, nc])?.swapaxes(1, 2)?;
    let r = a3.matmul(&b3)?;
    let mut shape: Vec<usize> = batch.iter().map(|c| sizes[c]).collect();
    shape.extend(
        free_a
            .iter()
            .map(|c| a.shape()[la.iter().position(|d| d == c).unwrap_or(0)]),
    );
    shape.extend(
        free_b
            .iter()
            .map(|c| b.shape()[lb.iter().position(|d| d == c).unwrap_or(0)]),
    );
    let mut labels = batch;
    labels.extend(free_a);
    labels.extend(free_b);
    Ok((r.reshape(shape)?, labels))
}
