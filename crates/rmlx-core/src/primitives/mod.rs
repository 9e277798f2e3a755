//! Primitives: one type per concept, each knowing how to evaluate itself on the CPU and how to
//! transform itself (vjp, jvp, vmap), as MLX's `primitives.h`. Ops (in [`crate::ops`]) do
//! shape/dtype inference and build graph nodes holding a primitive; evaluation calls
//! [`Primitive::eval_cpu`].
//!
//! The helpers below are the one way to do what every primitive needs: [`take_inputs`] unpacks
//! a node's inputs with an arity check, [`zero_cotangents`] is the vjp of an input that has no
//! gradient, and the declaration macros `define_name!`, `define_elementwise_shapes!` and
//! `define_zero_grads!` write the members that are the same for many primitives (MLX's
//! `DEFINE_NAME`, `DEFINE_INPUT_OUTPUT_SHAPE`, `DEFINE_GRADS`).

use std::fmt;

use crate::buffer::Data;
use crate::checked::Checked;
use crate::{Array, Dtype, Error, Result};

/// What a vmap rule returns: the outputs of the vectorised computation and, for each, the axis
/// that carries the mapped dimension (`None`: the output does not depend on it).
pub type Vmapped = (Vec<Array>, Vec<Option<usize>>);

/// A graph operation. Implementations live in this module's files, grouped as MLX groups them.
pub trait Primitive: Send + Sync + fmt::Debug {
    /// MLX's name for the primitive (`"Add"`, `"Matmul"`…), used in errors, printing and tests.
    fn name(&self) -> &'static str;

    /// Computes the output from evaluated inputs. `inputs` are owned: an elementwise kernel may
    /// reuse (donate) an input buffer it holds the only reference to ([`Data::try_donate`]).
    /// `shape` and `dtype` are the output's, inferred when the node was built.
    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data>;

    /// Vector-Jacobian product: for each input position in `argnums` (ascending), the cotangent of
    /// that input given the `cotangent` of the output. Only those positions are computed: this is
    /// what makes frozen parameters free in the backward pass.
    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        output: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        let _ = (primals, cotangent, output, argnums);
        Err(Error::Transform(format!(
            "vjp: primitive {} is not differentiable",
            self.name()
        )))
    }

    /// Jacobian-vector product: the output tangent given `tangents[i]` for input `argnums[i]`
    /// (inputs not listed have a zero tangent).
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Array> {
        let _ = (primals, tangents, argnums);
        Err(Error::Transform(format!(
            "jvp: primitive {} has no forward-mode rule",
            self.name()
        )))
    }

    /// Computes every output of a primitive with several outputs (shape and dtype of each given,
    /// as inferred when the node was built). Single-output primitives need not implement it.
    fn eval_cpu_multi(
        &self,
        inputs: Vec<Data>,
        outputs: &[(Vec<usize>, Dtype)],
    ) -> Result<Vec<Data>> {
        match outputs {
            [(shape, dtype)] => Ok(vec![self.eval_cpu(inputs, shape, *dtype)?]),
            _ => Err(Error::Value(format!(
                "eval: primitive {} has one output, its node asks for {}",
                self.name(),
                outputs.len()
            ))),
        }
    }

    /// [`Primitive::vjp`] for every output at once: `cotangents[k]` and `outputs[k]` belong to
    /// output `k` (a zero cotangent for an output nothing used). Multi-output primitives
    /// implement this; the default forwards a single output to `vjp`.
    fn vjp_multi(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        outputs: &[Array],
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        match (cotangents, outputs) {
            ([c], [o]) => self.vjp(primals, c, o, argnums),
            _ => Err(Error::Transform(format!(
                "vjp: primitive {} has no rule for {} outputs",
                self.name(),
                outputs.len()
            ))),
        }
    }

    /// [`Primitive::jvp`] for every output at once (one tangent per output). Multi-output
    /// primitives implement this; the default wraps `jvp`.
    fn jvp_multi(
        &self,
        primals: &[Array],
        tangents: &[Array],
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        Ok(vec![self.jvp(primals, tangents, argnums)?])
    }

    /// The vectorising rule (MLX's `Primitive::vmap`): `inputs` carry the mapped dimension at
    /// `axes[i]` (`None`: input `i` is not mapped); returns the outputs computed for every mapped
    /// index at once, and where each output carries the mapped dimension. A primitive without a
    /// rule says so by name; no primitive is vectorised by a silent loop.
    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let _ = (inputs, axes);
        Err(Error::Transform(format!(
            "vmap: primitive {} has no vmap rule",
            self.name()
        )))
    }

    /// The output shapes for `inputs` (MLX's `output_shapes`), for re-running a traced graph on
    /// inputs of other shapes (shapeless `compile`). Primitives whose output shape is not a
    /// function of their inputs' shapes alone say so by name.
    fn output_shapes(&self, inputs: &[Array]) -> Result<Vec<Vec<usize>>> {
        let _ = inputs;
        Err(Error::Transform(format!(
            "output_shapes: primitive {} cannot infer its output shape from its inputs alone",
            self.name()
        )))
    }

    /// True when `other` computes the same function of the same inputs (MLX's `is_equivalent`),
    /// so common-subexpression elimination may merge the two nodes. The default compares the
    /// names and the parameters as `Debug` prints them, which is exact for primitives made of
    /// plain parameters; a primitive holding a closure or state must answer `false` unless the
    /// two are the same object.
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        self.name() == other.name() && format!("{self:?}") == format!("{other:?}")
    }

    /// The step of a fused elementwise program this primitive is, given its inputs' dtypes (MLX's
    /// `is_fusable`), or `None` when `compile` must not fuse it. Only primitives whose unfused
    /// kernel computes exactly what the fused step computes answer `Some`.
    fn fusion_step(&self, inputs: &[Dtype]) -> Option<crate::backend::cpu::fused::Step> {
        let _ = inputs;
        None
    }
}

/// `fn name(&self) -> &'static str { $name }` inside an `impl Primitive` (MLX's `DEFINE_NAME`).
///
/// The declaration macros are exported so that primitives defined in other crates (the
/// optimizers' fused updates, the distributed collectives) are declared the same way:
///
/// ```
/// use rmlx_core::{primitives::Primitive, buffer::Data, Array, Dtype, Result};
///
/// /// Zeros of the input's shape, with no gradient.
/// #[derive(Debug)]
/// struct Zeros;
///
/// impl Primitive for Zeros {
///     rmlx_core::define_name!("Zeros");
///     rmlx_core::define_elementwise_shapes!();
///     rmlx_core::define_zero_grads!();
///
///     fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
///         let [_x] = rmlx_core::primitives::take_inputs("Zeros", inputs)?;
///         let n: usize = shape.iter().product();
///         Ok(Data::new(rmlx_core::buffer::Buffer::new(n * dtype.size()), dtype, shape))
///     }
/// }
///
/// let x = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
/// let z = Array::from_primitive(vec![2], Dtype::F32, std::sync::Arc::new(Zeros), vec![x]);
/// assert_eq!(z.to_vec::<f32>().unwrap(), vec![0.0, 0.0]);
/// ```
#[macro_export]
macro_rules! define_name {
    ($name:literal) => {
        fn name(&self) -> &'static str {
            $name
        }
    };
}

/// `output_shapes` of an elementwise primitive: its inputs' shapes broadcast together (MLX's
/// `DEFINE_INPUT_OUTPUT_SHAPE`). See [`define_name!`] for an example.
#[macro_export]
macro_rules! define_elementwise_shapes {
    () => {
        fn output_shapes(
            &self,
            inputs: &[$crate::Array],
        ) -> $crate::Result<::std::vec::Vec<::std::vec::Vec<usize>>> {
            $crate::primitives::elementwise_output_shapes(self.name(), inputs)
        }
    };
}

/// `vjp` and `jvp` of a primitive with no gradient and its first input's shape and dtype: zero
/// cotangents for the inputs asked for, a zero tangent (MLX's `DEFINE_GRADS` for
/// non-differentiable primitives). See [`define_name!`] for an example.
#[macro_export]
macro_rules! define_zero_grads {
    () => {
        fn vjp(
            &self,
            primals: &[$crate::Array],
            _: &$crate::Array,
            _: &$crate::Array,
            argnums: &[usize],
        ) -> $crate::Result<::std::vec::Vec<$crate::Array>> {
            $crate::primitives::zero_cotangents(primals, argnums)
        }

        fn jvp(
            &self,
            primals: &[$crate::Array],
            _: &[$crate::Array],
            _: &[usize],
        ) -> $crate::Result<$crate::Array> {
            match primals.first() {
                Some(p) => $crate::ops::zeros_like(p),
                None => $crate::bail!(
                    Transform,
                    "{}: jvp of a primitive with no inputs",
                    self.name()
                ),
            }
        }
    };
}

/// The `N` inputs of a node, by value, or an error naming the primitive when their number
/// differs (a graph built by the ops always has the right number).
///
/// ```
/// use rmlx_core::buffer::{Buffer, Data};
/// use rmlx_core::primitives::take_inputs;
/// use rmlx_core::Dtype;
/// let d = Data::new(Buffer::from_slice(&[1.0f32]), Dtype::F32, &[1]);
/// let [a, b] = take_inputs::<2>("Add", vec![d.clone(), d.clone()])?;
/// assert_eq!(a.shape(), b.shape());
/// let Err(e) = take_inputs::<2>("Add", vec![d]) else { panic!("one input is not two") };
/// assert!(e.to_string().contains("Add: expected 2 inputs, got 1"));
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn take_inputs<const N: usize>(name: &str, inputs: Vec<Data>) -> Result<[Data; N]> {
    let n = inputs.len();
    inputs
        .try_into()
        .map_err(|_| Error::Value(format!("{name}: expected {N} inputs, got {n}")))
}

/// Checks that `axis`, a primitive's parameter, names an axis of its evaluated input `x`: a
/// primitive can be called directly on inputs its op never checked, and its kernel indexes the
/// input's shape by that axis.
pub(crate) fn check_axis(name: &str, x: &Data, axis: usize) -> Result<()> {
    if axis >= x.shape().len() {
        return Err(Error::Axis(format!(
            "{name}: axis {axis} is out of range for an input of shape {:?}",
            x.shape()
        )));
    }
    Ok(())
}

/// Checks what a reduction kernel assumes: `axes` sorted, unique and inside `x`, and an output
/// `shape` holding one element per position of the kept axes.
pub(crate) fn check_reduction(name: &str, x: &Data, axes: &[usize], shape: &[usize]) -> Result<()> {
    let nd = x.shape().len();
    if axes.windows(2).any(|w| w.first() >= w.last()) || axes.last().is_some_and(|&a| a >= nd) {
        return Err(Error::Axis(format!(
            "{name}: axes {axes:?} must be sorted, unique and inside an input of shape {:?}",
            x.shape()
        )));
    }
    let kept: usize = x.shape().omit(axes).iter().product();
    if shape.iter().product::<usize>() != kept {
        return Err(Error::Shape(format!(
            "{name}: reducing axes {axes:?} of shape {:?} cannot give an output of shape {shape:?}",
            x.shape()
        )));
    }
    Ok(())
}

/// Checks that two evaluated inputs a kernel walks together have one shape.
pub(crate) fn check_same_shape(name: &str, a: &Data, b: &Data) -> Result<()> {
    if a.shape() != b.shape() {
        return Err(Error::Shape(format!(
            "{name}: inputs of shapes {:?} and {:?} where one shape was expected",
            a.shape(),
            b.shape()
        )));
    }
    Ok(())
}

/// The output shape of an elementwise primitive: its inputs' shapes broadcast together.
pub fn elementwise_output_shapes(name: &str, inputs: &[Array]) -> Result<Vec<Vec<usize>>> {
    let mut shape: Vec<usize> = Vec::new();
    for x in inputs {
        shape = crate::ops::broadcast_shapes(name, &shape, x.shape())?;
    }
    Ok(vec![shape])
}

/// The tangents of a primitive's outputs computed by forward mode through `composed`, the
/// same function written with ops (the rule of primitives whose derivative is their
/// expansion: `Compiled`, `SdpaVjp`). Inputs not in `argnums` get zero tangents.
pub(crate) fn jvp_through(
    composed: impl Fn(&[Array]) -> Result<Vec<Array>>,
    primals: &[Array],
    tangents: &[Array],
    argnums: &[usize],
) -> Result<Vec<Array>> {
    let mut all = Vec::with_capacity(primals.len());
    for (i, p) in primals.iter().enumerate() {
        match argnums.iter().position(|&a| a == i) {
            Some(k) => all.push(tangents.at(k)?.clone()),
            None => all.push(crate::ops::zeros_like(p)?),
        }
    }
    Ok(crate::jvp(composed, primals, &all)?.1)
}

/// The cotangents of the inputs `argnums` of a primitive with no gradient (comparisons, integer
/// outputs, indices): zeros shaped like each input.
pub fn zero_cotangents(primals: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
    argnums
        .iter()
        .map(|&i| match primals.get(i) {
            Some(p) => crate::ops::zeros_like(p),
            None => Err(Error::Transform(format!(
                "vjp: no input {i} (the node has {})",
                primals.len()
            ))),
        })
        .collect()
}

pub mod batching;
pub mod binary;
pub mod compiled;
pub mod complex;
pub mod convert;
pub mod creation;
pub mod fast;
pub mod fft;
pub mod fp8;
pub mod indexing;
pub mod linalg;
pub mod matmul;
pub mod quantized;
pub mod random;
pub mod reduce;
pub mod scan;
pub mod shape;
pub mod slicing;
pub mod softmax;
pub mod sort;
pub mod ternary;
pub mod unary;
