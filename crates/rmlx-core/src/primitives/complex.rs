//! The complex-number primitives: [`Real`], [`Imag`] and [`Conjugate`] (MLX's names), with MLX's
//! derivatives: the cotangent of `real(z)` goes back as a complex number with that real part,
//! the cotangent of `imag(z)` as `i` times it, and `conj` is its own derivative.

use super::{batching, Primitive, Vmapped};
use crate::backend::cpu::complex::{self as kernel, ComplexPart};
use crate::buffer::Data;
use crate::checked::Checked;
use crate::{Array, Dtype, Result};

/// The real part of a complex64 array, as float32 (MLX's `Real`).
#[derive(Debug)]
pub struct Real;

/// The imaginary part of a complex64 array, as float32 (MLX's `Imag`).
#[derive(Debug)]
pub struct Imag;

/// The complex conjugate (MLX's `Conjugate`).
#[derive(Debug)]
pub struct Conjugate;

fn unit_i() -> Array {
    Array::scalar(crate::dtype::Complex32::new(0.0, 1.0))
}

impl Primitive for Real {
    define_name!("Real");
    define_elementwise_shapes!();

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        let [x] = super::take_inputs(self.name(), inputs)?;
        kernel::part(x, ComplexPart::Real)
    }

    fn vjp(&self, _: &[Array], cotangent: &Array, _: &Array, _: &[usize]) -> Result<Vec<Array>> {
        Ok(vec![cotangent.astype(Dtype::C64)?])
    }

    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        crate::ops::real(tangents.at(0)?)
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        Ok((vec![crate::ops::real(&x)?], vec![Some(ax)]))
    }
}

impl Primitive for Imag {
    define_name!("Imag");
    define_elementwise_shapes!();

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        let [x] = super::take_inputs(self.name(), inputs)?;
        kernel::part(x, ComplexPart::Imag)
    }

    fn vjp(&self, _: &[Array], cotangent: &Array, _: &Array, _: &[usize]) -> Result<Vec<Array>> {
        Ok(vec![unit_i().multiply(cotangent)?])
    }

    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        crate::ops::imag(tangents.at(0)?)
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        Ok((vec![crate::ops::imag(&x)?], vec![Some(ax)]))
    }
}

impl Primitive for Conjugate {
    define_name!("Conjugate");
    define_elementwise_shapes!();

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        let [x] = super::take_inputs(self.name(), inputs)?;
        kernel::conjugate(x)
    }

    fn vjp(&self, _: &[Array], cotangent: &Array, _: &Array, _: &[usize]) -> Result<Vec<Array>> {
        Ok(vec![crate::ops::conjugate(cotangent)?])
    }

    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        crate::ops::conjugate(tangents.at(0)?)
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        Ok((vec![crate::ops::conjugate(&x)?], vec![Some(ax)]))
    }
}
