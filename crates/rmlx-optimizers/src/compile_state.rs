//! Optimizers as the state of a compiled training step ([`rmlx_core::compile_with_state`]):
//! their arrays are the per-parameter state (moments…); the step count is a host counter a
//! replay advances; the learning rate (and the step, for step-dependent updates and schedules)
//! is the trace key, so a compiled step traces again when it changes.
//!
//! ```
//! use rmlx_core::{self as mx, Array, Result};
//! use rmlx_nn::{self as nn, Linear, Module};
//! use rmlx_optimizers::{Adam, Optimizer};
//! let mut state = (Linear::new(4, 1, true)?, Adam::new(0.01));
//! let step = mx::compile_with_state(|(model, opt): &mut (Linear, Adam), d: &[Array]| -> Result<Vec<Array>> {
//!     let (loss, grads) = nn::value_and_grad(model, |m: &Linear| {
//!         let e = (&m.forward(&d[0])? - &d[1])?;
//!         Ok(vec![(&e * &e)?.mean(None, false)?])
//!     })?;
//!     opt.update(model, &grads)?;
//!     Ok(loss)
//! });
//! let (x, y) = (mx::ones(&[8, 4], mx::Dtype::F32)?, mx::zeros(&[8, 1], mx::Dtype::F32)?);
//! for _ in 0..4 {
//!     step.call(&mut state, &[x.clone(), y.clone()])?;
//! }
//! assert_eq!(state.1.step(), 4);
//! // the first call creates Adam's moments (a new state structure): traced again once
//! assert_eq!(step.stats().traces, 2);
//! # Ok::<(), mx::Error>(())
//! ```

use rmlx_core::{bail, Array, CompileState, Result};

use crate::optimizer::Optimizer;
use crate::{
    AdaDelta, Adafactor, Adagrad, Adam, AdamW, Adamax, Lion, MultiOptimizer, Muon, RMSprop, SGD,
};

/// True for the scalar entries of [`Optimizer::state`] (`step`, `learning_rate`, also inside a
/// [`MultiOptimizer`]'s `states.<i>.`).
fn is_counter_key(key: &str) -> bool {
    let mut k = key;
    while let Some(rest) = k.strip_prefix("states.") {
        match rest.split_once('.') {
            Some((i, r)) if i.parse::<usize>().is_ok() => k = r,
            _ => break,
        }
    }
    k == "step" || k == "learning_rate"
}

/// The per-parameter state arrays of a flattened [`Optimizer::state`] (the default of
/// [`Optimizer::state_arrays`]).
pub(crate) fn optimizer_state_arrays_via_state(state: Vec<(String, Array)>) -> Vec<Array> {
    state
        .into_iter()
        .filter(|(k, _)| !is_counter_key(k))
        .map(|(_, a)| a)
        .collect()
}

/// `state` with its per-parameter arrays replaced by `arrays`, in order.
pub(crate) fn replace_state_arrays(
    mut state: Vec<(String, Array)>,
    arrays: &[Array],
    name: &str,
) -> Result<Vec<(String, Array)>> {
    let n = state.iter().filter(|(k, _)| !is_counter_key(k)).count();
    if n != arrays.len() {
        bail!(
            Transform,
            "[compile] the {name} optimizer has {n} state arrays, {} were given",
            arrays.len()
        );
    }
    let mut it = arrays.iter();
    for (k, a) in state.iter_mut() {
        if !is_counter_key(k) {
            if let Some(new) = it.next() {
                *a = new.clone();
            }
        }
    }
    Ok(state)
}

/// `state` with every `step` entry set to `step`.
pub(crate) fn replace_step(mut state: Vec<(String, Array)>, step: u64) -> Vec<(String, Array)> {
    for (k, a) in state.iter_mut() {
        if is_counter_key(k) && k.ends_with("step") {
            *a = Array::scalar(step);
        }
    }
    state
}

/// Implements [`CompileState`] for optimizer types through `$get` / `$get_mut` (the type as a
/// `&dyn Optimizer` / `&mut dyn Optimizer`).
macro_rules! compile_state {
    ($get:expr, $get_mut:expr; $($t:ty),+) => {$(
        impl CompileState for $t {
            fn state_arrays(&self) -> Vec<Array> {
                $get(self).state_arrays()
            }
            fn set_state_arrays(&mut self, arrays: &[Array]) -> Result<()> {
                $get_mut(self).set_state_arrays(arrays)
            }
            fn trace_key(&self) -> Vec<u64> {
                $get(self).trace_key()
            }
            fn host_counters(&self) -> Vec<u64> {
                vec![$get(self).step()]
            }
            fn set_host_counters(&mut self, counters: &[u64]) -> Result<()> {
                match counters {
                    [step] => $get_mut(self).set_step(*step),
                    _ => bail!(Transform, "[compile] an optimizer has one counter, {} given", counters.len()),
                }
            }
        }
    )+};
}

fn typed<T: Optimizer>(o: &T) -> &dyn Optimizer {
    o
}

fn typed_mut<T: Optimizer>(o: &mut T) -> &mut dyn Optimizer {
    o
}

#[allow(clippy::borrowed_box)] // the macro passes `&Self`, here a `&Box<dyn Optimizer>`
fn boxed(o: &Box<dyn Optimizer>) -> &dyn Optimizer {
    o.as_ref()
}

fn boxed_mut(o: &mut Box<dyn Optimizer>) -> &mut dyn Optimizer {
    o.as_mut()
}

compile_state!(typed, typed_mut;
    SGD,
    RMSprop,
    Adagrad,
    AdaDelta,
    Adam,
    AdamW,
    Adamax,
    Lion,
    Adafactor,
    Muon,
    MultiOptimizer
);

compile_state!(boxed, boxed_mut; Box<dyn Optimizer>);

fn dynamic(o: &dyn Optimizer) -> &dyn Optimizer {
    o
}

fn dynamic_mut(o: &mut dyn Optimizer) -> &mut dyn Optimizer {
    o
}

compile_state!(dynamic, dynamic_mut; dyn Optimizer);

#[cfg(test)]
mod tests {
    use super::is_counter_key;

    #[test]
    fn counter_keys_are_told_from_parameter_state() {
        assert!(is_counter_key("step"));
        assert!(is_counter_key("learning_rate"));
        assert!(is_counter_key("states.1.step"));
        assert!(!is_counter_key("layers.0.weight.m"));
        assert!(!is_counter_key("step.m"));
        assert!(!is_counter_key("states.x.step.v"));
    }
}
