//! A module as the state of a compiled step ([`rmlx_core::compile_with_state`]): its arrays are
//! its parameters (frozen ones included), in [`ModuleExt::parameters`] order. The derive
//! implements [`rmlx_core::CompileState`] for every `#[derive(Module)]` type with these two
//! functions.

use rmlx_core::tree::tree_unflatten;
use rmlx_core::{bail, Array, Result};

use super::{Module, ModuleExt};

/// Every parameter of `m`, frozen ones included, in [`ModuleExt::parameters`] order.
pub fn module_state_arrays(m: &dyn Module) -> Vec<Array> {
    m.parameters()
        .flatten()
        .into_iter()
        .map(|(_, a)| a.clone())
        .collect()
}

/// Replaces the parameters of `m` by `arrays` (as many as [`module_state_arrays`] gives, in its
/// order).
///
/// ```
/// use rmlx_nn::{Linear, Module};
/// use rmlx_core::{self as mx, Array, Result};
/// let mut layer = Linear::new(3, 2, true)?;
/// let w0 = layer.weight.to_vec::<f32>()?;
/// let step = mx::compile_with_state(|l: &mut Linear, x: &[Array]| -> Result<Vec<Array>> {
///     let y = l.forward(&x[0])?;
///     l.weight = (&l.weight * 0.5)?; // a state update inside the compiled step
///     Ok(vec![y])
/// });
/// let x = mx::ones(&[1, 3], mx::Dtype::F32)?;
/// step.call(&mut layer, &[x.clone()])?;
/// step.call(&mut layer, &[x])?;
/// assert_eq!(layer.weight.to_vec::<f32>()?[0], w0[0] * 0.25);
/// assert_eq!(step.stats().hits, 1);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn set_module_state_arrays(m: &mut dyn Module, arrays: &[Array]) -> Result<()> {
    let names: Vec<String> = m
        .parameters()
        .flatten()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    if names.len() != arrays.len() {
        bail!(
            Transform,
            "[compile] the {} module has {} parameters, {} arrays were given",
            m.class_name(),
            names.len(),
            arrays.len()
        );
    }
    let tree = tree_unflatten(names.into_iter().zip(arrays.iter().cloned()).collect())?;
    m.update(&tree, true)?;
    Ok(())
}

/// A boxed module (a model chosen at run time) is compile state like a typed one.
impl rmlx_core::CompileState for Box<dyn Module> {
    fn state_arrays(&self) -> Vec<Array> {
        module_state_arrays(self.as_ref())
    }

    fn set_state_arrays(&mut self, arrays: &[Array]) -> Result<()> {
        set_module_state_arrays(self.as_mut(), arrays)
    }
}
