//! Function transforms, MLX style: [`vjp`], [`jvp`], [`grad`], [`value_and_grad`], [`vmap`],
//! [`checkpoint`] and user-supplied gradient rules ([`custom_vjp`],
//! [`CustomFunction`]). [`stop_gradient`](crate::stop_gradient) (an op) blocks gradients.
//!
//! A transform runs the function on *tracer copies* of its inputs (identity nodes flagged as
//! tracers, so everything computed from them is a tracer and keeps its graph even if the function
//! evaluates it), then walks the recorded graph. The reverse pass only visits nodes that lead from
//! a differentiated input to an output, and asks each node only for the cotangents of its inputs
//! that lead back to a differentiated input (MLX's per-node `argnums`): a matmul whose weight is
//! not differentiated computes `dX` and never `dW`.
//!
//! The rules are written with ops, so transforms compose: `grad(grad(f))`, `jvp` of `grad`,
//! `vjp` of `vjp`.
//!
//! ```
//! use rmlx_core::{self as mx, Array, Result};
//! let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&p[0] * &p[0])?.sum(None, false)?]) };
//! let x = Array::from_slice(&[1.0f32, 2.0, 3.0], &[3])?;
//! let (values, grads) = mx::value_and_grad(f, &[0])(&[x.clone()])?;
//! assert_eq!(values[0].item::<f32>()?, 14.0);
//! assert_eq!(grads[0].to_vec::<f32>()?, vec![2.0, 4.0, 6.0]);
//! let cube = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&(&p[0] * &p[0])? * &p[0])?]) };
//! let d2 = mx::grad(mx::grad(cube, &[0]), &[0]);
//! assert_eq!(d2(&[mx::array(2.0f32)])?[0].item::<f32>()?, 12.0); // d²/dx² x³ = 6x
//! # Ok::<(), mx::Error>(())
//! ```

mod checkpoint;
mod compile;
mod custom;
mod grad;
mod jvp;
mod tree;
mod vjp;
mod vmap;

pub use checkpoint::checkpoint;
pub use compile::{
    compile, compile_enabled, compile_with_state, disable_compile, enable_compile, CompileState,
    CompileStats, CompiledFn, CompiledStep,
};
pub use custom::{custom_vjp, CustomFunction, JvpFn, VjpFn, VmapFn};
pub use grad::{grad, value_and_grad};
pub use jvp::jvp;
pub use tree::{grad_tree, jvp_tree, value_and_grad_tree, vjp_tree, ValuesAndGradTrees};
pub use vjp::{vjp, vjp_with_argnums};
pub use vmap::{vmap, vmap_tree, vmap_tree_prefix};

use std::sync::Arc;

use crate::buffer::Data;
use crate::checked::Checked;
use crate::define_name;
use crate::graph::Node;
use crate::primitives::{Primitive, Vmapped};
use crate::{Array, Dtype, Result};

/// The functions transforms accept and return: arrays in, arrays out.
pub type ArrayFn = dyn Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync;

/// Identity node used for tracer copies (MLX's `Copy`): evaluation shares the input's data.
#[derive(Debug)]
pub(crate) struct Copy;

impl Primitive for Copy {
    define_name!("Copy");

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        let [x] = crate::primitives::take_inputs(self.name(), inputs)?;
        Ok(x)
    }

    fn vjp(&self, _: &[Array], cotangent: &Array, _: &Array, _: &[usize]) -> Result<Vec<Array>> {
        Ok(vec![cotangent.clone()])
    }

    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        Ok(tangents.at(0)?.clone())
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        Ok((inputs.span(..1)?.to_vec(), axes.span(..1)?.to_vec()))
    }
}

/// A tracer copy of `a`: an identity node flagged as a tracer, so everything computed from it is
/// a tracer too. Tracer copies of tracers nest (one per transform level).
pub(crate) fn make_tracer(a: &Array) -> Array {
    Array::with_tracer_flag(
        a.shape().to_vec(),
        a.dtype(),
        Node::new(Arc::new(Copy), vec![a.clone()]),
    )
}

/// The primitive name transforms treat as a gradient barrier (the node built by
/// [`stop_gradient`](crate::stop_gradient)).
pub(crate) const STOP_GRADIENT: &str = "StopGradient";

pub(crate) use crate::ops::zeros_like;

/// Formats a shape the way MLX's C++ messages do: `(4,1)`, `(3)`, `()`.
pub(crate) fn fmt_shape(shape: &[usize]) -> String {
    let inner: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("({})", inner.join(","))
}
