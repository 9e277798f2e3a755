//! Data-parallel training: [`average_gradients`] (MLX's `nn.average_gradients`).

// Indexing here is into `flat` at indices taken from its own enumeration (the buckets), and
// into buckets that are never empty (each starts with the array that opened it).
#![allow(clippy::indexing_slicing)]

use rmlx_core::tree::{tree_flatten, tree_map_with_path, Tree};
use rmlx_core::{Array, Result};
use rmlx_distributed::{all_sum, Group};
use std::collections::HashMap;

/// MLX's default bucket: gradients are concatenated until a bucket holds this many bytes.
pub const ALL_REDUCE_SIZE: usize = 32 << 20;

/// The mean of `gradients` over the processes of `group` (the world group when `None`): MLX's
/// `nn.average_gradients`. Pass the tree `value_and_grad` returns, which holds only the trainable
/// parameters' gradients, so frozen parameters cost no communication. Arrays of one dtype are
/// flattened and concatenated into buckets of at least `all_reduce_size` bytes, one `all_sum`
/// per bucket (a bias-only step sends its few small gradients in one message); with
/// `all_reduce_size == 0`, or mixed dtypes, each array is reduced on its own. A group of one
/// process returns the gradients unchanged.
///
/// ```
/// use rmlx_core::{tree::Tree, Array};
/// let g = Tree::Leaf(Array::from_slice(&[2.0f32], &[1])?);
/// let avg = rmlx_nn::average_gradients(&g, None, rmlx_nn::ALL_REDUCE_SIZE)?;
/// // one process (not launched by mpirun): unchanged
/// assert_eq!(avg.flatten()[0].1.to_vec::<f32>()?, vec![2.0]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn average_gradients(
    gradients: &Tree<Array>,
    group: Option<&Group>,
    all_reduce_size: usize,
) -> Result<Tree<Array>> {
    let group = match group {
        Some(g) => g.clone(),
        None => rmlx_distributed::init()?,
    };
    let n = group.size();
    if n == 1 {
        return Ok(gradients.clone());
    }
    let flat = tree_flatten(gradients);
    if flat.is_empty() {
        return Ok(gradients.clone());
    }
    let mean = |x: &Array| -> Result<Array> { &all_sum(x, Some(&group))? / n as f64 };
    let dtype = flat[0].1.dtype();
    // the averaged arrays by path, put back into the gradients' own structure (placeholders of
    // frozen list elements included)
    let rebuild = |mut by_path: HashMap<String, Array>| -> Tree<Array> {
        tree_map_with_path(gradients, |p, g| {
            by_path.remove(p).unwrap_or_else(|| g.clone())
        })
    };
    if all_reduce_size == 0 || flat.iter().any(|(_, g)| g.dtype() != dtype) {
        let by_path = flat
            .into_iter()
            .map(|(k, g)| Ok((k, mean(g)?)))
            .collect::<Result<HashMap<_, _>>>()?;
        return Ok(rebuild(by_path));
    }
    // buckets of consecutive arrays, each closed once it holds at least all_reduce_size bytes
    let mut buckets: Vec<Vec<usize>> = vec![Vec::new()];
    let mut bytes = 0;
    for (i, (_, g)) in flat.iter().enumerate() {
        if bytes >= all_reduce_size {
            buckets.push(Vec::new());
            bytes = 0;
        }
        if let Some(b) = buckets.last_mut() {
            b.push(i);
        }
        bytes += g.size() * dtype.size();
    }
    let mut by_path = HashMap::with_capacity(flat.len());
    for bucket in buckets {
        let parts = bucket
            .iter()
            .map(|&i| flat[i].1.reshape([flat[i].1.size()]))
            .collect::<Result<Vec<_>>>()?;
        let joined = mean(&rmlx_core::concatenate(&parts, 0)?)?;
        let mut cuts = Vec::with_capacity(bucket.len());
        let mut at = 0isize;
        for &i in &bucket[..bucket.len() - 1] {
            at += flat[i].1.size() as isize;
            cuts.push(at);
        }
        for (&i, piece) in bucket.iter().zip(joined.split(cuts, 0)?) {
            by_path.insert(flat[i].0.clone(), piece.reshape(flat[i].1.shape())?);
        }
    }
    Ok(rebuild(by_path))
}

/// Clips the global norm of gradients sharded over `group` (MLX's
/// `nn.utils.clip_grad_norm_sharded`): the squared norms of every process's shard are summed
/// over the group, and each shard is scaled by `min(max_norm / (norm + 1e-6), 1)`. Returns the
/// scaled shard and the global norm.
///
/// ```
/// use rmlx_core::{tree::Tree, Array};
/// let g = Tree::Leaf(Array::from_slice(&[3.0f32, 4.0], &[2])?);
/// let (clipped, norm) = rmlx_nn::clip_grad_norm_sharded(&g, 1.0, None)?;
/// assert!((norm.item::<f32>()? - 5.0).abs() < 1e-6);
/// let v = clipped.flatten()[0].1.to_vec::<f32>()?;
/// assert!((v[0] - 0.6).abs() < 1e-5 && (v[1] - 0.8).abs() < 1e-5);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn clip_grad_norm_sharded(
    gradients: &Tree<Array>,
    max_norm: f64,
    group: Option<&Group>,
) -> Result<(Tree<Array>, Array)> {
    let mut local = Array::scalar(0.0f32);
    for (_, g) in tree_flatten(gradients) {
        local = local.add(&g.square()?.sum(None, false)?)?;
    }
    let global = all_sum(&local, group)?;
    let norm = global.sqrt()?;
    let scale = Array::scalar(max_norm as f32)
        .divide(&norm.add(&Array::scalar(1e-6f32))?)?
        .minimum(&Array::scalar(1.0f32))?;
    let clipped = rmlx_core::tree::try_tree_map(gradients, |_, g: &Array| g.multiply(&scale))?;
    Ok((clipped, norm))
}
