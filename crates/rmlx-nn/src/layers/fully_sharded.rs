//! Fully sharded data parallelism (MLX's `nn.fully_shard` and `nn.FullyShardedModule`): each
//! process of a group stores only a slice (along axis 0) of every parameter of a module, so a
//! model and its optimizer state too large for one process fit across the group. The forward
//! pass gathers the full parameters (`all_gather`); the backward pass sum-scatters their
//! gradients, divided by the group's size, so each process receives the mean gradient of its own
//! slice and its optimizer updates only that slice.

use rmlx_core::tree::{tree_flatten, tree_unflatten, Tree};
use rmlx_core::{Array, CustomFunction, Dtype, Error, Result};
use rmlx_distributed::{all_gather, sum_scatter, Group};

use super::Forward;
use crate::filter::{filter_and_map, valid_parameter_filter};
use crate::{MemberNode, Module, ModuleExt, ModuleState};

/// A module whose parameters are sharded over a process group (MLX's
/// `nn.FullyShardedModule`); build it with [`fully_shard`]. The wrapped module is the member
/// `module`, so parameter names are MLX's (`module.weight`).
///
/// Every parameter (frozen ones included, nested `FullyShardedModule`s excluded) is split along
/// axis 0 into one equal slice per process. [`FullyShardedModule::gathered`] (and
/// [`Forward::forward`]) run the module with its full parameters, gathered from the group: a
/// differentiable step whose reverse rule is `sum_scatter(cotangent) / size`, so
/// `value_and_grad` of a loss through it gives each process the mean gradient of its slices.
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct FullyShardedModule<M: Module + Clone> {
    /// The wrapped module, holding this process's slices.
    pub module: M,
    /// The sharded parameters' paths inside `module`, in member order.
    #[module(skip)]
    paths: Vec<String>,
    /// The group the parameters are sharded over.
    #[module(skip)]
    group: Option<Group>,
    /// The dtype the gathered parameters are cast to (MLX's `compute_dtype`).
    #[module(skip)]
    compute_dtype: Option<Dtype>,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

/// MLX's `_maybe_shard`: a parameter, not a nested sharded module.
fn maybe_shard(m: &dyn Module, key: &str, value: &MemberNode<'_>) -> bool {
    if let MemberNode::Module(child) = value {
        if child.class_name() == "FullyShardedModule" {
            return false;
        }
    }
    valid_parameter_filter(m, key, value)
}

/// `module` sharded over `group` (the world group when `None`), MLX's `nn.fully_shard`. Each
/// parameter's first axis must be divisible by the group's size; a scalar parameter is an error.
/// With one process (or nothing to shard) nothing is split and the wrapper just calls `module`
/// (MLX returns the module itself there). `compute_dtype` casts the gathered parameters for the
/// forward pass (their gradients are cast back to each slice's dtype).
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// use rmlx_nn::{fully_shard, Forward, Linear};
/// let lin = Linear::new(4, 6, true)?;
/// let x = mx::random::normal(&[2, 4], None)?;
/// let want = lin.forward(&x)?;
/// // one process (not launched by mpirun): nothing is split, the output is the layer's
/// let fsdp = fully_shard(lin, None, None)?;
/// assert_eq!(fsdp.forward(&x)?.to_vec::<f32>()?, want.to_vec::<f32>()?);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn fully_shard<M: Module + Clone>(
    mut module: M,
    group: Option<&Group>,
    compute_dtype: Option<Dtype>,
) -> Result<FullyShardedModule<M>> {
    let group = match group {
        Some(g) => g.clone(),
        None => rmlx_distributed::init()?,
    };
    let (n, rank) = (group.size(), group.rank());
    let mut paths = Vec::new();
    if n > 1 {
        let params = filter_and_map(module.as_module(), maybe_shard, |a: &Array| a.clone());
        let mut shards = Vec::new();
        for (path, a) in tree_flatten(&params) {
            let rows = match a.shape().first() {
                Some(&r) => r,
                None => {
                    return Err(Error::Value(format!(
                        "Cannot shard parameter '{path}' because it is a scalar."
                    )))
                }
            };
            if !rows.is_multiple_of(n) {
                return Err(Error::Value(format!(
                    "Cannot shard parameter '{path}' with shape {:?} across {n} devices: axis 0 must be divisible by {n}.",
                    a.shape()
                )));
            }
            let part = a.split(n, 0)?.swap_remove(rank);
            shards.push((path.clone(), rmlx_core::contiguous(&part, false)?));
            paths.push(path);
        }
        module.update(&tree_unflatten(shards)?, true)?;
    }
    Ok(FullyShardedModule {
        module,
        paths,
        group: (n > 1).then_some(group),
        compute_dtype,
        state: ModuleState::default(),
    })
}

/// `shard` gathered from `group` (cast to `compute` when given): the reverse rule sum-scatters
/// the cotangent and divides it by the group's size, cast back to the shard's dtype.
fn gather_shard(shard: &Array, group: &Group, compute: Option<Dtype>) -> Result<Array> {
    let (g, g2) = (group.clone(), group.clone());
    let n = group.size() as f64;
    let one = |p: &[Array]| -> Result<Array> {
        p.first()
            .cloned()
            .ok_or_else(|| Error::Value("[fully_shard] the gather takes one array".into()))
    };
    let f = CustomFunction::new(move |p: &[Array]| {
        let p0 = one(p)?;
        let s = match compute {
            Some(d) if d != p0.dtype() => p0.astype(d)?,
            _ => p0,
        };
        Ok(vec![all_gather(&s, Some(&g))?])
    })
    .with_vjp(move |p: &[Array], cots: &[Array], _| {
        let mine = (&sum_scatter(&one(cots)?, Some(&g2))? / n)?;
        Ok(vec![mine.astype(one(p)?.dtype())?])
    });
    f.call(std::slice::from_ref(shard))?
        .pop()
        .ok_or_else(|| Error::Transform("[fully_shard] the gather gave no array".into()))
}

impl<M: Module + Clone> FullyShardedModule<M> {
    /// A copy of the wrapped module holding the full parameters, gathered from the group (MLX's
    /// `_gathered_call`, which swaps them in for one call). The copy shares every array with
    /// `module` but the gathered ones.
    pub fn gathered(&self) -> Result<M> {
        let mut full = self.module.clone();
        let Some(group) = &self.group else {
            return Ok(full);
        };
        if self.paths.is_empty() {
            return Ok(full);
        }
        let params = full.parameters();
        let flat: std::collections::HashMap<String, &Array> =
            tree_flatten(&params).into_iter().collect();
        let mut fulls = Vec::with_capacity(self.paths.len());
        for p in &self.paths {
            let shard = flat.get(p).ok_or_else(|| {
                Error::Value(format!(
                    "[FullyShardedModule] the sharded parameter '{p}' is no longer in the module"
                ))
            })?;
            fulls.push((p.clone(), gather_shard(shard, group, self.compute_dtype)?));
        }
        full.update(&tree_unflatten(fulls)?, true)?;
        Ok(full)
    }

    /// Runs `f` on the module with its full parameters ([`FullyShardedModule::gathered`]), e.g.
    /// a method other than `forward` (MLX's `as_linear`).
    pub fn call<R>(&self, f: impl FnOnce(&M) -> Result<R>) -> Result<R> {
        f(&self.gathered()?)
    }

    /// This process's slices, by path (MLX's `module.filter_and_map(_maybe_shard)`).
    pub fn shards(&self) -> Tree<Array> {
        filter_and_map(self.module.as_module(), maybe_shard, |a: &Array| a.clone())
    }

    /// The number of sharded parameters.
    pub fn num_sharded_params(&self) -> usize {
        self.paths.len()
    }

    fn repr_args(&self) -> String {
        format!("num_sharded_params={}", self.paths.len())
    }
}

impl<M: Module + Clone + Forward> Forward for FullyShardedModule<M> {
    fn forward(&self, x: &Array) -> Result<Array> {
        self.gathered()?.forward(x)
    }
}
