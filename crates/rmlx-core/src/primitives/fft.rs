//! MLX's `FFT` primitive: a discrete Fourier transform over some axes, complex-to-complex,
//! real-to-complex or complex-to-real, with MLX's derivatives (each is another transform, with
//! masks for the bins a real transform counts twice).

use super::{batching, Primitive, Vmapped};
use crate::backend::cpu::fft as kernel;
use crate::buffer::Data;
use crate::checked::Checked;
use crate::fft::{fft_with_sizes, FftNorm};
use crate::{Array, Dtype, Result};

/// A discrete Fourier transform over `axes` (distinct, in range). `inverse` transforms are
/// scaled by `1 / n`; `real` selects the real-to-complex (forward) or complex-to-real (inverse)
/// transform, whose last axis is the halved one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fft {
    /// The transformed axes, in order.
    pub axes: Vec<usize>,
    /// An inverse transform.
    pub inverse: bool,
    /// A real transform.
    pub real: bool,
    /// For a complex-to-real transform, the number of real values on the last axis (the input
    /// has `n_last / 2 + 1` bins there); 0 otherwise.
    pub n_last: usize,
}

impl Fft {
    /// The output shape for an input of `in_shape`.
    pub fn out_shape(&self, in_shape: &[usize]) -> Result<Vec<usize>> {
        let mut s = in_shape.to_vec();
        if let (true, Some(&last)) = (self.real, self.axes.last()) {
            *s.at_mut(last)? = if self.inverse {
                self.n_last
            } else {
                *in_shape.at(last)? / 2 + 1
            };
        }
        Ok(s)
    }

    /// `[0, 1, …, N)` along the last axis of an `ndim`-dimensional array, as int32.
    fn bins(&self, ndim: usize, n: usize) -> Result<Array> {
        let last = self.axes.last().copied().unwrap_or(0);
        let mut shape = vec![1; ndim];
        *shape.at_mut(last)? = n;
        crate::ops::arange(0.0, n as f64, 1.0, Dtype::I32)?.reshape(&shape)
    }

    /// `inner` for the bins strictly between the first and `last_bin`, `edge` for the others.
    fn mask(
        &self,
        ndim: usize,
        n: usize,
        last_bin: usize,
        inner: f64,
        edge: f64,
        dtype: Dtype,
    ) -> Result<Array> {
        let idx = self.bins(ndim, n)?;
        let inside = idx
            .greater(&Array::scalar(0i32))?
            .logical_and(&idx.less(&Array::scalar(last_bin as i32))?)?;
        inside.where_(
            &Array::scalar_as(inner, dtype),
            &Array::scalar_as(edge, dtype),
        )
    }
}

impl Primitive for Fft {
    define_name!("FFT");

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        let [x] = super::take_inputs(self.name(), inputs)?;
        kernel::fft(x, &self.axes, self.inverse, self.real, self.n_last)
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _: &Array,
        _: &[usize],
    ) -> Result<Vec<Array>> {
        let input = primals.at(0)?;
        let axes = &self.axes;
        let sizes = |a: &Array| a.shape().pick(axes);
        let n_elements: f64 = if self.inverse {
            sizes(cotangent)?.iter().product::<usize>() as f64
        } else {
            sizes(input)?.iter().product::<usize>() as f64
        };
        let ndim = input.ndim();
        let Some(&last) = axes.last() else {
            return Ok(vec![cotangent.clone()]);
        };
        let grad = if self.real && self.inverse {
            // every bin but the first and the Nyquist one was used twice
            let n = *input.shape().at(last)?;
            let odd = *cotangent.shape().at(last)? % 2;
            let mask = self.mask(
                ndim,
                n,
                n - 1 + odd,
                2.0 / n_elements,
                1.0 / n_elements,
                Dtype::F32,
            )?;
            let sizes = sizes(cotangent)?;
            fft_with_sizes(cotangent, &sizes, axes, true, false, FftNorm::Backward)?
                .multiply(&mask)?
        } else if self.real {
            let n = *cotangent.shape().at(last)?;
            let odd = *input.shape().at(last)? % 2;
            let mask = self.mask(ndim, n, n - 1 + odd, 0.5, 1.0, Dtype::C64)?;
            let sizes = sizes(input)?;
            fft_with_sizes(
                &cotangent.multiply(&mask)?,
                &sizes,
                axes,
                true,
                true,
                FftNorm::Backward,
            )?
            .multiply(&Array::scalar_as(n_elements, Dtype::F32))?
        } else {
            let sizes = sizes(cotangent)?;
            let scale = if self.inverse {
                1.0 / n_elements
            } else {
                n_elements
            };
            fft_with_sizes(
                cotangent,
                &sizes,
                axes,
                false,
                !self.inverse,
                FftNorm::Backward,
            )?
            .multiply(&Array::scalar_as(scale, Dtype::C64))?
        };
        Ok(vec![grad])
    }

    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        let t = tangents.at(0)?;
        let mut sizes = t.shape().pick(&self.axes)?;
        if let (true, true, Some(s)) = (self.real, self.inverse, sizes.last_mut()) {
            *s = self.n_last;
        }
        fft_with_sizes(
            t,
            &sizes,
            &self.axes,
            self.real,
            self.inverse,
            FftNorm::Backward,
        )
    }

    fn output_shapes(&self, inputs: &[Array]) -> Result<Vec<Vec<usize>>> {
        Ok(vec![self.out_shape(inputs.at(0)?.shape())?])
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        let x = batching::move_axis(&x, ax, 0)?;
        let shifted: Vec<usize> = self.axes.iter().map(|&a| a + 1).collect();
        let p = Fft {
            axes: shifted,
            ..self.clone()
        };
        let shape = p.out_shape(x.shape())?;
        let dtype = if self.real && self.inverse {
            Dtype::F32
        } else {
            Dtype::C64
        };
        let out = Array::from_primitive(shape, dtype, std::sync::Arc::new(p), vec![x]);
        Ok((vec![out], vec![Some(0)]))
    }
}
