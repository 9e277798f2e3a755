//! `Compiled`: a chain of elementwise primitives fused by [`compile`](crate::compile) into one
//! kernel (MLX's `Compiled` primitive).
//!
//! The node's inputs are the arrays the chain reads from outside (of any shapes that broadcast
//! to the output's); its outputs are the chain's results that anything outside uses. Evaluation
//! runs the fused program ([`crate::backend::cpu::fused`]) in one pass over cache-sized tiles.
//! Its derivatives and vmap rule expand the program back into the primitives it was made of and
//! transform those, so a fused node differentiates exactly as the chain it replaced.

use super::{Primitive, Vmapped};
use crate::backend::cpu::fused::{self, Activation, Step};
pub use crate::backend::cpu::fused::{Instr, Program};
use crate::buffer::Data;
use crate::checked::Checked;
use crate::ops::binary::binary_op;
use crate::ops::unary::unary_op;
use crate::{bail, Array, Dtype, Error, Result};

/// A fused elementwise program over the node's inputs.
#[derive(Debug, PartialEq)]
pub struct Compiled {
    /// The program; its inputs are the node's inputs, its outputs the node's outputs.
    pub program: Program,
}

impl Compiled {
    /// The program applied to `inputs` with the ordinary (unfused) ops: the chain this node
    /// replaced, for the transforms.
    pub fn expand(&self, inputs: &[Array]) -> Result<Vec<Array>> {
        let p = &self.program;
        if inputs.len() != p.inputs.len() {
            bail!(
                Value,
                "Compiled: expected {} inputs, got {}",
                p.inputs.len(),
                inputs.len()
            );
        }
        let mut regs: Vec<Array> = inputs.to_vec();
        for ins in &p.instrs {
            let arg = |k: usize| -> Result<&Array> {
                ins.args
                    .get(k)
                    .and_then(|&r| regs.get(r))
                    .ok_or_else(|| Error::Value(format!("Compiled: bad instruction {ins:?}")))
            };
            let out = match ins.step {
                Step::Unary(op) => unary_op(op, arg(0)?)?,
                Step::Binary(op) => binary_op(op, arg(0)?, arg(1)?)?,
                Step::Select => crate::ops::where_(arg(0)?, arg(1)?, arg(2)?)?,
                Step::PowInt(n) => {
                    let x = arg(0)?;
                    match n {
                        2 => (x * x)?,
                        3 => (&(x * x)? * x)?,
                        _ => {
                            let sq = (x * x)?;
                            (&sq * &sq)?
                        }
                    }
                }
                Step::Cast => arg(0)?.astype(ins.dtype)?,
                Step::MulAdd => (&(arg(0)? * arg(1)?)? + arg(2)?)?,
                Step::Activation(act) => expand_activation(act, arg(0)?)?,
                Step::MulAddActivation(act) => {
                    expand_activation(act, &(&(arg(0)? * arg(1)?)? + arg(2)?)?)?
                }
            };
            if out.dtype() != ins.dtype {
                bail!(
                    Dtype,
                    "Compiled: step {:?} gave {} where the program has {}",
                    ins.step,
                    out.dtype(),
                    ins.dtype
                );
            }
            regs.push(out);
        }
        let shape = broadcast_all(inputs)?;
        p.outputs
            .iter()
            .map(|&r| regs.at(r)?.broadcast_to(&shape))
            .collect()
    }
}

/// The chain of primitives an activation step stands for: the one `nn`'s activation traces to.
fn expand_activation(act: Activation, x: &Array) -> Result<Array> {
    match act {
        Activation::GeluTanh => {
            let c = (2.0 / std::f64::consts::PI).sqrt();
            let cube = (&(x * x)? * x)?;
            let inner = ((x + &(cube * 0.044715)?)? * c)?;
            (x * 0.5)? * &(inner.tanh()? + 1.0)?
        }
        Activation::Gelu => {
            let e = (x / std::f64::consts::SQRT_2)?.erf()?;
            (x * &(e + 1.0)?)? / 2.0
        }
        Activation::Silu => x * &x.sigmoid()?,
    }
}

/// The shape every input broadcasts to.
fn broadcast_all(inputs: &[Array]) -> Result<Vec<usize>> {
    let mut shape: Vec<usize> = Vec::new();
    for x in inputs {
        shape = crate::ops::broadcast_shapes("Compiled", &shape, x.shape())?;
    }
    Ok(shape)
}

impl Primitive for Compiled {
    define_name!("Compiled");

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let mut outs = self.eval_cpu_multi(inputs, &[(shape.to_vec(), dtype)])?;
        outs.pop()
            .ok_or_else(|| Error::Value("Compiled: no output".into()))
    }

    fn eval_cpu_multi(
        &self,
        inputs: Vec<Data>,
        outputs: &[(Vec<usize>, Dtype)],
    ) -> Result<Vec<Data>> {
        if outputs.len() != self.program.outputs.len() {
            bail!(
                Value,
                "Compiled: the node has {} outputs, the program {}",
                outputs.len(),
                self.program.outputs.len()
            );
        }
        let shape = &outputs.at(0)?.0;
        let mut views = Vec::with_capacity(inputs.len());
        for x in inputs {
            let layout = x.layout().broadcast_to(shape).ok_or_else(|| {
                Error::Shape(format!(
                    "Compiled: an input of shape {:?} does not broadcast to {shape:?}",
                    x.shape()
                ))
            })?;
            views.push(x.with_layout(layout)?);
        }
        fused::eval(&self.program, &views, shape)
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        output: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        self.vjp_multi(
            primals,
            std::slice::from_ref(cotangent),
            std::slice::from_ref(output),
            argnums,
        )
    }

    fn vjp_multi(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _outputs: &[Array],
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        let f = |xs: &[Array]| self.expand(xs);
        Ok(crate::vjp_with_argnums(f, primals, cotangents, argnums)?.1)
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Array> {
        self.jvp_multi(primals, tangents, argnums)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Transform("Compiled: no output".into()))
    }

    fn jvp_multi(
        &self,
        primals: &[Array],
        tangents: &[Array],
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        super::jvp_through(|xs: &[Array]| self.expand(xs), primals, tangents, argnums)
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let in_axes: Vec<Option<isize>> = axes.iter().map(|a| a.map(|x| x as isize)).collect();
        let outs = crate::vmap(|xs: &[Array]| self.expand(xs), &in_axes, &[])(inputs)?;
        let n = outs.len();
        Ok((outs, vec![Some(0); n]))
    }

    fn output_shapes(&self, inputs: &[Array]) -> Result<Vec<Vec<usize>>> {
        let shape = broadcast_all(inputs)?;
        Ok(vec![shape; self.program.outputs.len()])
    }

    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.name() == "Compiled" && format!("{self:?}") == format!("{other:?}")
    }
}
