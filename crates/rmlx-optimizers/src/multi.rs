//! [`MultiOptimizer`]: different optimizers for different parameters, chosen by predicates.

use rmlx_core::{bail, Array, Result};

use crate::optimizer::{FlatState, Optimizer};
use crate::schedule::LearningRate;

/// A predicate on `(dotted parameter path, gradient)` choosing an optimizer.
pub type ParamFilter = Box<dyn Fn(&str, &Array) -> bool + Send + Sync>;

/// Delegates each parameter to the first optimizer whose filter accepts it; the last optimizer
/// is the fallback and has no filter (MLX's `MultiOptimizer`, MLX_SEMANTICS item 86).
///
/// Its state flattens as MLX's `{'states': [...]}`: `states.0.step`, `states.1.weight.v`, ….
///
/// ```
/// use rmlx_core::Array;
/// use rmlx_optimizers::{Adam, MultiOptimizer, Optimizer, SGD};
/// let mut opt = MultiOptimizer::new(
///     vec![Box::new(Adam::new(0.01)), Box::new(SGD::new(0.1))],
///     vec![Box::new(|_path: &str, g: &Array| g.ndim() > 1)],
/// )?;
/// let w = Array::from_slice(&[1.0f32; 4], &[2, 2])?;
/// let b = Array::from_slice(&[1.0f32; 2], &[2])?;
/// let grads = vec![("w".to_string(), w.clone()), ("b".to_string(), b.clone())];
/// let params = vec![("w".to_string(), w), ("b".to_string(), b)];
/// let out = opt.apply_gradients(&grads, &params)?;
/// assert_eq!(out[1].1.to_vec::<f32>()?, vec![0.9, 0.9]); // SGD on the bias
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub struct MultiOptimizer {
    optimizers: Vec<Box<dyn Optimizer>>,
    filters: Vec<ParamFilter>,
}

impl MultiOptimizer {
    /// Needs `filters.len() == optimizers.len() - 1` (MLX's message otherwise).
    pub fn new(optimizers: Vec<Box<dyn Optimizer>>, filters: Vec<ParamFilter>) -> Result<Self> {
        if optimizers.is_empty() || filters.len() != optimizers.len() - 1 {
            bail!(
                Value,
                "Given {} filters but {} needed.",
                filters.len(),
                optimizers.len() as i64 - 1
            );
        }
        Ok(MultiOptimizer {
            optimizers,
            filters,
        })
    }

    /// The wrapped optimizers.
    pub fn optimizers(&self) -> &[Box<dyn Optimizer>] {
        &self.optimizers
    }

    fn split(&self, grads: &[(String, Array)]) -> Vec<Vec<(String, Array)>> {
        let mut parts = vec![Vec::new(); self.optimizers.len()];
        for (k, g) in grads {
            let i = self
                .filters
                .iter()
                .position(|f| f(k, g))
                .unwrap_or(self.optimizers.len().saturating_sub(1));
            if let Some(part) = parts.get_mut(i) {
                part.push((k.clone(), g.clone()));
            }
        }
        parts
    }
}

impl Optimizer for MultiOptimizer {
    fn name(&self) -> &'static str {
        "MultiOptimizer"
    }

    fn apply_gradients(
        &mut self,
        grads: &[(String, Array)],
        params: &[(String, Array)],
    ) -> Result<FlatState> {
        // Check every path first so a bad gradient changes no sub-optimizer.
        for (k, g) in grads {
            match params.iter().find(|(n, _)| n == k) {
                None => bail!(
                    Key,
                    "apply_gradients: got a gradient for '{k}' but there is no parameter named '{k}'"
                ),
                Some((_, p)) if p.shape() != g.shape() => bail!(
                    Shape,
                    "apply_gradients: gradient of '{k}' has shape {:?} but the parameter has shape {:?}",
                    g.shape(),
                    p.shape()
                ),
                _ => {}
            }
        }
        let parts = self.split(grads);
        let mut updated = Vec::new();
        for (o, part) in self.optimizers.iter_mut().zip(parts) {
            updated.extend(o.apply_gradients(&part, params)?);
        }
        // Return in the order of the gradients.
        let mut out = Vec::with_capacity(grads.len());
        for (k, _) in grads {
            if let Some(i) = updated.iter().position(|(n, _)| n == k) {
                out.push(updated.swap_remove(i));
            }
        }
        Ok(out)
    }

    fn init(&mut self, params: &[(String, Array)]) -> Result<()> {
        let parts = self.split(params);
        for (o, part) in self.optimizers.iter_mut().zip(parts) {
            o.init(&part)?;
        }
        Ok(())
    }

    fn step(&self) -> u64 {
        self.optimizers.first().map_or(0, |o| o.step())
    }

    fn trace_key(&self) -> Vec<u64> {
        let mut key = Vec::new();
        for o in &self.optimizers {
            let k = o.trace_key();
            key.push(k.len() as u64);
            key.extend(k);
        }
        key
    }

    fn learning_rate(&self) -> f32 {
        self.optimizers.first().map_or(0.0, |o| o.learning_rate())
    }

    fn set_learning_rate(&mut self, learning_rate: LearningRate) {
        for o in &mut self.optimizers {
            o.set_learning_rate(learning_rate.clone());
        }
    }

    fn state(&self) -> FlatState {
        let mut out = Vec::new();
        for (i, o) in self.optimizers.iter().enumerate() {
            for (k, a) in o.state() {
                out.push((format!("states.{i}.{k}"), a));
            }
        }
        out
    }

    fn set_state(&mut self, state: &[(String, Array)]) -> Result<()> {
        let mut parts: Vec<Vec<(String, Array)>> = vec![Vec::new(); self.optimizers.len()];
        for (k, a) in state {
            let rest = k.strip_prefix("states.").and_then(|r| r.split_once('.'));
            let Some((i, key)) = rest else {
                bail!(Value, "Invalid state provided");
            };
            match i.parse::<usize>().ok().and_then(|i| parts.get_mut(i)) {
                Some(part) => part.push((key.to_string(), a.clone())),
                None => bail!(Value, "Invalid state provided"),
            }
        }
        if parts.iter().any(|p| p.is_empty()) {
            bail!(Value, "Invalid state provided");
        }
        for (o, p) in self.optimizers.iter_mut().zip(parts) {
            o.set_state(&p)?;
        }
        Ok(())
    }
}
