//! Primitives: one type per concept, each knowing how to evaluate itself on the CPU and how to
//! differentiate itself (vjp, jvp). Ops (in [`crate::ops`]) do shape/dtype inference and build
//! graph nodes holding a primitive; evaluation calls [`Primitive::eval_cpu`].

use std::fmt;

use crate::buffer::Data;
use crate::{Array, Dtype, Error, Result};

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
}

pub mod binary;
pub mod convert;
pub mod creation;
pub mod fast;
pub mod indexing;
pub mod matmul;
pub mod random;
pub mod reduce;
pub mod scan;
pub mod shape;
pub mod slicing;
pub mod softmax;
pub mod sort;
pub mod ternary;
pub mod unary;
