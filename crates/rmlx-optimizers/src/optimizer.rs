//! The [`Optimizer`] trait, the per-parameter [`SingleOptimizer`] trait most optimizers implement,
//! and the state they share ([`OptimizerCore`]).
//!
//! Parameters and gradients are addressed by their dotted paths (`layers.2.weight`), i.e. the
//! flattened parameter tree. State is kept per path in insertion order, created lazily from the
//! gradients of the first update and **extended** when later updates bring new paths (parameters
//! unfrozen after the first update; MLX_SEMANTICS item 82). A parameter that never receives a
//! gradient (a frozen one) never gets state.

use std::collections::HashMap;

use indexmap::IndexMap;
use rmlx_core::tree::{tree_flatten, tree_unflatten, try_tree_map, Tree};
use rmlx_core::{bail, err, Array, Dtype, Result};
use rmlx_nn::{Module, ModuleExt};

use crate::schedule::LearningRate;

/// The state of one parameter: named arrays such as `m` and `v`, in creation order.
pub type ParamState = IndexMap<String, Array>;

/// What an update knows besides the gradient, parameter and its state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepContext {
    /// The step counter *after* the increment: 1 for the first update (MLX's `self.step`).
    pub step: u64,
    /// The learning rate of this update (`schedule(step - 1)` for a schedule), as `float32`.
    pub learning_rate: f32,
}

impl StepContext {
    /// The learning rate as a 0-d array of `dtype` (MLX's `learning_rate.astype(grad.dtype)`).
    pub fn lr(&self, dtype: Dtype) -> Array {
        Array::scalar_as(self.learning_rate as f64, dtype)
    }
}

/// State every per-parameter optimizer keeps: the step counter, the learning rate (constant or
/// scheduled) and the per-parameter states, keyed by dotted parameter path.
#[derive(Clone)]
pub struct OptimizerCore {
    learning_rate: LearningRate,
    /// The stored `learning_rate` value: the constant, or the schedule at the last update's step.
    lr_value: f32,
    step: u64,
    states: IndexMap<String, ParamState>,
}

impl std::fmt::Debug for OptimizerCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OptimizerCore")
            .field("learning_rate", &self.learning_rate)
            .field("lr_value", &self.lr_value)
            .field("step", &self.step)
            .field("params", &self.states.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl OptimizerCore {
    /// A fresh core: step 0, no parameter state.
    pub fn new(learning_rate: LearningRate) -> OptimizerCore {
        let lr_value = learning_rate.at(0);
        OptimizerCore {
            learning_rate,
            lr_value,
            step: 0,
            states: IndexMap::new(),
        }
    }

    /// The per-parameter states, keyed by dotted path, in creation order.
    pub fn states(&self) -> &IndexMap<String, ParamState> {
        &self.states
    }
}

/// Flattened optimizer state entry: `(dotted key, array)`.
pub type FlatState = Vec<(String, Array)>;

/// An optimizer: turns gradients into updated parameters and keeps its own state.
///
/// Parameters and gradients are flat lists of `(dotted path, array)` (a flattened tree).
/// `apply_gradients` updates exactly the paths present in the gradients; the parameters may be a
/// superset (frozen parameters are simply absent from the gradients and are never touched).
///
/// ```
/// use rmlx_core::Array;
/// use rmlx_optimizers::{Optimizer, SGD};
/// let w = Array::from_slice(&[1.0f32, 2.0], &[2])?;
/// let g = Array::from_slice(&[0.5f32, -1.0], &[2])?;
/// let mut opt = SGD::new(0.1);
/// let out = opt.apply_gradients(&[("w".into(), g)], &[("w".into(), w)])?;
/// assert_eq!(out[0].1.to_vec::<f32>()?, vec![0.95, 2.1]);
/// assert_eq!(opt.step(), 1);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub trait Optimizer: Send {
    /// The class name as in MLX (`"Adam"`, `"SGD"`…).
    fn name(&self) -> &'static str;

    /// Applies one update: returns the updated value of every parameter named in `grads`, in
    /// the order of `grads`. State is created for new paths first; the step counter is
    /// incremented before the update (the first update uses step 1) and a scheduled learning
    /// rate is evaluated at the step before the increment.
    ///
    /// A gradient whose path is not among `params`, or whose shape differs from the parameter's,
    /// is an error and nothing changes.
    fn apply_gradients(
        &mut self,
        grads: &[(String, Array)],
        params: &[(String, Array)],
    ) -> Result<FlatState>;

    /// Creates state for every path of `params` that has none yet (existing state and the step
    /// are kept). Optional: `apply_gradients` does this lazily.
    fn init(&mut self, params: &[(String, Array)]) -> Result<()>;

    /// Updates performed so far.
    fn step(&self) -> u64;

    /// The current learning rate (for a schedule: its value at the last update, or at step 0
    /// before any update), as MLX's `optimizer.learning_rate`.
    fn learning_rate(&self) -> f32;

    /// Replaces the learning rate (a constant or a schedule).
    fn set_learning_rate(&mut self, learning_rate: LearningRate);

    /// The whole state flattened with dotted keys, as MLX's `tree_flatten(optimizer.state)`:
    /// `step` (uint64), `learning_rate` (float32), then `<param path>.<name>` for each state
    /// array (`layers.2.weight.m`).
    fn state(&self) -> FlatState;

    /// Replaces the state with a flattened one (as returned by [`Optimizer::state`]); later
    /// updates continue exactly where that state left off.
    fn set_state(&mut self, state: &[(String, Array)]) -> Result<()>;

    /// The host-side values (not arrays) an update traced by `compile` depends on: the step
    /// (for step-dependent updates and schedules) and the learning rate. A compiled training
    /// step traces again when they change. The default names both, which is always correct.
    fn trace_key(&self) -> Vec<u64> {
        vec![self.step(), self.learning_rate().to_bits() as u64]
    }

    /// The per-parameter state arrays (no counters), in [`Optimizer::state`] order: what a
    /// compiled training step reads and replaces.
    fn state_arrays(&self) -> Vec<Array> {
        crate::compile_state::optimizer_state_arrays_via_state(self.state())
    }

    /// Replaces the arrays of [`Optimizer::state_arrays`] (same number, same order); the
    /// counters stay.
    fn set_state_arrays(&mut self, arrays: &[Array]) -> Result<()> {
        let state = crate::compile_state::replace_state_arrays(self.state(), arrays, self.name())?;
        self.set_state(&state)
    }

    /// Sets the update count (as if that many updates had run), keeping the arrays.
    fn set_step(&mut self, step: u64) -> Result<()> {
        let state = crate::compile_state::replace_step(self.state(), step);
        self.set_state(&state)
    }

    /// Total bytes of the state arrays (the counters included).
    fn state_nbytes(&self) -> usize {
        self.state().iter().map(|(_, a)| a.nbytes()).sum()
    }

    /// [`Optimizer::apply_gradients`] on trees, as MLX's `apply_gradients(grads, params)`: the
    /// result is shaped like `grads` (`{}` placeholders included) and holds the updated
    /// parameters; `params` may be a superset of `grads`.
    fn apply_gradients_tree(
        &mut self,
        grads: &Tree<Array>,
        params: &Tree<Array>,
    ) -> Result<Tree<Array>> {
        let flat_grads: Vec<(String, Array)> = tree_flatten(grads)
            .into_iter()
            .map(|(k, g)| (k, g.clone()))
            .collect();
        let flat_params: Vec<(String, Array)> = tree_flatten(params)
            .into_iter()
            .map(|(k, p)| (k, p.clone()))
            .collect();
        let updated: HashMap<String, Array> = self
            .apply_gradients(&flat_grads, &flat_params)?
            .into_iter()
            .collect();
        try_tree_map(grads, |path, _| {
            updated
                .get(path)
                .cloned()
                .ok_or_else(|| err!(Key, "apply_gradients: no update for '{path}'"))
        })
    }

    /// Updates `model` with `grads` (MLX's `optimizer.update(model, grads)`, i.e.
    /// `model.update(optimizer.apply_gradients(grads, model))`): exactly the parameters present
    /// in `grads` change; frozen parameters (absent from `grads`) keep their arrays and get no
    /// state. `{}` placeholders in `grads` are skipped. A gradient for a parameter the model
    /// lacks is an error and changes nothing.
    ///
    /// ```
    /// use rmlx_core::{tree::Tree, Array};
    /// use rmlx_nn::{Linear, ModuleExt};
    /// use rmlx_optimizers::{Optimizer, SGD};
    /// let mut model = Linear::new(3, 2, true)?;
    /// model.freeze("weight")?;
    /// let grads = rmlx_core::tree::tree_map(&model.trainable_parameters(), |p| p.clone());
    /// let before = model.parameters();
    /// let mut opt = SGD::new(0.5);
    /// opt.update(&mut model, &grads)?;
    /// let after = model.parameters();
    /// let (b0, b1) = (before.get("bias").unwrap().as_leaf().unwrap(), after.get("bias").unwrap().as_leaf().unwrap());
    /// assert_eq!((b0 * 0.5)?.to_vec::<f32>()?, b1.to_vec::<f32>()?);
    /// let (w0, w1) = (before.get("weight").unwrap().as_leaf().unwrap(), after.get("weight").unwrap().as_leaf().unwrap());
    /// assert_eq!(w0.id(), w1.id()); // frozen: untouched
    /// # Ok::<(), rmlx_core::Error>(())
    /// ```
    fn update(&mut self, model: &mut dyn Module, grads: &Tree<Array>) -> Result<()> {
        let flat_grads: Vec<(String, Array)> = tree_flatten(grads)
            .into_iter()
            .map(|(k, g)| (k, g.clone()))
            .collect();
        let params: Vec<(String, Array)> = tree_flatten(&model.parameters())
            .into_iter()
            .map(|(k, p)| (k, p.clone()))
            .collect();
        let updated = self.apply_gradients(&flat_grads, &params)?;
        if updated.is_empty() {
            return Ok(());
        }
        // Every path was checked against the model's parameters, so a non-strict update (which
        // skips the `{}` gap fillers of list entries without gradients) writes exactly them.
        model.update(&tree_unflatten(updated)?, false)?;
        Ok(())
    }
}

/// An optimizer defined by a per-parameter update, as MLX's `init_single` / `apply_single`.
/// Every type implementing it is an [`Optimizer`].
pub trait SingleOptimizer: Send {
    /// MLX's class name.
    const NAME: &'static str;

    /// The shared state.
    fn core(&self) -> &OptimizerCore;

    /// The shared state, mutably.
    fn core_mut(&mut self) -> &mut OptimizerCore;

    /// The initial state of one parameter (zeros shaped like it, typically).
    fn init_single(&self, param: &Array) -> Result<ParamState>;

    /// The updated parameter given its gradient; updates `state` in place.
    fn apply_single(
        &self,
        ctx: &StepContext,
        grad: &Array,
        param: &Array,
        state: &mut ParamState,
    ) -> Result<Array>;

    /// True when `apply_single` reads `ctx.step` (Adam's bias correction, Adafactor): a
    /// compiled step then traces again at every step.
    fn uses_step(&self) -> bool {
        false
    }
}

/// Looks up `key` in a parameter state or fails with a clear message.
pub(crate) fn state_get(state: &ParamState, opt: &str, key: &str) -> Result<Array> {
    state.get(key).cloned().ok_or_else(|| {
        err!(
            Key,
            "{opt}: the parameter state has no '{key}' (state from another optimizer?)"
        )
    })
}

fn check_grads<'a>(
    grads: &[(String, Array)],
    params: &'a [(String, Array)],
) -> Result<HashMap<&'a str, &'a Array>> {
    let lookup: HashMap<&str, &Array> = params.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut seen = std::collections::HashSet::new();
    for (k, g) in grads {
        if !seen.insert(k.as_str()) {
            bail!(Key, "apply_gradients: two gradients for '{k}'");
        }
        let Some(p) = lookup.get(k.as_str()) else {
            bail!(
                Key,
                "apply_gradients: got a gradient for '{k}' but there is no parameter named '{k}'"
            );
        };
        if p.shape() != g.shape() {
            bail!(
                Shape,
                "apply_gradients: gradient of '{k}' has shape {:?} but the parameter has shape {:?}",
                g.shape(),
                p.shape()
            );
        }
    }
    Ok(lookup)
}

/// Splits a flattened state key `<path>.<name>` at its last dot.
pub(crate) fn split_state_key(key: &str) -> Result<(&str, &str)> {
    match key.rsplit_once('.') {
        Some((p, n)) if !p.is_empty() && !n.is_empty() => Ok((p, n)),
        _ => bail!(
            Key,
            "set_state: key '{key}' is neither 'step', 'learning_rate' nor '<parameter path>.<state name>'"
        ),
    }
}

impl<T: SingleOptimizer> Optimizer for T {
    fn name(&self) -> &'static str {
        T::NAME
    }

    fn apply_gradients(
        &mut self,
        grads: &[(String, Array)],
        params: &[(String, Array)],
    ) -> Result<FlatState> {
        let lookup = check_grads(grads, params)?;
        // Lazy init / extension from the gradients (MLX initialises from the gradient tree).
        let mut new_states = Vec::new();
        for (k, g) in grads {
            if !self.core().states.contains_key(k) && !new_states.iter().any(|(n, _)| n == k) {
                new_states.push((k.clone(), self.init_single(g)?));
            }
        }
        // Compute every update before committing anything, so an error leaves the state intact.
        let core = self.core();
        let lr = core.learning_rate.at(core.step);
        let ctx = StepContext {
            step: core.step + 1,
            learning_rate: lr,
        };
        let mut updated_states: Vec<(String, ParamState)> = Vec::with_capacity(grads.len());
        let mut out = Vec::with_capacity(grads.len());
        for (k, g) in grads {
            let mut st = match core.states.get(k) {
                Some(s) => s.clone(),
                None => new_states
                    .iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, s)| s.clone())
                    .unwrap_or_default(),
            };
            let Some(&p) = lookup.get(k.as_str()) else {
                bail!(Key, "update: no parameter '{k}' for its gradient");
            };
            let new_p = self.apply_single(&ctx, g, p, &mut st)?;
            out.push((k.clone(), new_p));
            updated_states.push((k.clone(), st));
        }
        let core = self.core_mut();
        for (k, s) in new_states {
            core.states.entry(k).or_insert(s);
        }
        for (k, s) in updated_states {
            core.states.insert(k, s);
        }
        core.lr_value = lr;
        core.step += 1;
        Ok(out)
    }

    fn init(&mut self, params: &[(String, Array)]) -> Result<()> {
        for (k, p) in params {
            if !self.core().states.contains_key(k) {
                let s = self.init_single(p)?;
                self.core_mut().states.insert(k.clone(), s);
            }
        }
        Ok(())
    }

    fn step(&self) -> u64 {
        self.core().step
    }

    fn state_arrays(&self) -> Vec<Array> {
        self.core()
            .states
            .values()
            .flat_map(|st| st.values().cloned())
            .collect()
    }

    fn set_state_arrays(&mut self, arrays: &[Array]) -> Result<()> {
        let n: usize = self.core().states.values().map(|st| st.len()).sum();
        if n != arrays.len() {
            bail!(
                Transform,
                "[compile] the {} optimizer has {n} state arrays, {} were given",
                Self::NAME,
                arrays.len()
            );
        }
        let mut it = arrays.iter();
        for st in self.core_mut().states.values_mut() {
            for a in st.values_mut() {
                if let Some(new) = it.next() {
                    *a = new.clone();
                }
            }
        }
        Ok(())
    }

    fn set_step(&mut self, step: u64) -> Result<()> {
        let core = self.core_mut();
        core.step = step;
        core.lr_value = core.learning_rate.at(step.saturating_sub(1));
        Ok(())
    }

    fn trace_key(&self) -> Vec<u64> {
        let core = self.core();
        let lr = core.learning_rate.at(core.step).to_bits() as u64;
        if core.learning_rate.is_schedule() || self.uses_step() {
            vec![core.step, lr]
        } else {
            vec![lr]
        }
    }

    fn learning_rate(&self) -> f32 {
        self.core().lr_value
    }

    fn set_learning_rate(&mut self, learning_rate: LearningRate) {
        let core = self.core_mut();
        core.lr_value = learning_rate.at(core.step);
        core.learning_rate = learning_rate;
    }

    fn state(&self) -> FlatState {
        let core = self.core();
        let mut out = vec![
            ("step".to_string(), Array::scalar(core.step)),
            ("learning_rate".to_string(), Array::scalar(core.lr_value)),
        ];
        for (path, st) in &core.states {
            for (name, a) in st {
                out.push((format!("{path}.{name}"), a.clone()));
            }
        }
        out
    }

    fn set_state(&mut self, state: &[(String, Array)]) -> Result<()> {
        let mut step = None;
        let mut lr = None;
        let mut states: IndexMap<String, ParamState> = IndexMap::new();
        for (k, a) in state {
            match k.as_str() {
                "step" => {
                    if a.size() != 1 || a.dtype().is_float() || a.dtype() == Dtype::Bool {
                        bail!(
                            Value,
                            "set_state: 'step' must be one integer, got shape {:?} dtype {}",
                            a.shape(),
                            a.dtype().name()
                        );
                    }
                    step = Some(a.item::<u64>()?);
                }
                "learning_rate" => {
                    if a.size() != 1 {
                        bail!(
                            Value,
                            "set_state: 'learning_rate' must be one number, got shape {:?}",
                            a.shape()
                        );
                    }
                    lr = Some(a.item::<f32>()?);
                }
                _ => {
                    let (path, name) = split_state_key(k)?;
                    states
                        .entry(path.to_string())
                        .or_default()
                        .insert(name.to_string(), a.clone());
                }
            }
        }
        let Some(step) = step else {
            bail!(Key, "set_state: the state has no 'step'");
        };
        let core = self.core_mut();
        core.step = step;
        core.states = states;
        match lr {
            Some(v) if !core.learning_rate.is_schedule() => {
                core.learning_rate = LearningRate::Constant(v);
                core.lr_value = v;
            }
            Some(v) => core.lr_value = v,
            None => core.lr_value = core.learning_rate.at(step.saturating_sub(1)),
        }
        Ok(())
    }
}
