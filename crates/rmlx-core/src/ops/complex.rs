//! complex64 helpers: [`real`], [`imag`], [`conjugate`] (MLX's names; real inputs pass through
//! as MLX does), and [`complex`], which builds `re + i·im` (Rust has no `1j` literal).
//!
//! ```
//! use rmlx_core::{self as mx, Array, Complex32};
//! let z = mx::complex(&Array::from_slice(&[1.0f32, -2.0], &[2])?, &Array::from_slice(&[0.5f32, 3.0], &[2])?)?;
//! assert_eq!(z.to_vec::<Complex32>()?, vec![Complex32::new(1.0, 0.5), Complex32::new(-2.0, 3.0)]);
//! assert_eq!(mx::imag(&mx::conjugate(&z)?)?.to_vec::<f32>()?, vec![-0.5, -3.0]);
//! # Ok::<(), mx::Error>(())
//! ```

use std::sync::Arc;

use crate::primitives::complex::{Conjugate, Imag, Real};
use crate::{Array, Complex32, Dtype, Result};

/// The real part of `a` as float32 (`a` itself for a real array).
pub fn real(a: &Array) -> Result<Array> {
    if a.dtype() != Dtype::C64 {
        return Ok(a.clone());
    }
    Ok(Array::from_primitive(
        a.shape().to_vec(),
        Dtype::F32,
        Arc::new(Real),
        vec![a.clone()],
    ))
}

/// The imaginary part of `a` as float32 (zeros of `a`'s dtype for a real array).
pub fn imag(a: &Array) -> Result<Array> {
    if a.dtype() != Dtype::C64 {
        return crate::ops::zeros_like(a);
    }
    Ok(Array::from_primitive(
        a.shape().to_vec(),
        Dtype::F32,
        Arc::new(Imag),
        vec![a.clone()],
    ))
}

/// The complex conjugate of `a` (`a` itself for a real array).
pub fn conjugate(a: &Array) -> Result<Array> {
    if a.dtype() != Dtype::C64 {
        return Ok(a.clone());
    }
    Ok(Array::from_primitive(
        a.shape().to_vec(),
        Dtype::C64,
        Arc::new(Conjugate),
        vec![a.clone()],
    ))
}

/// Alias of [`conjugate`] (MLX's `conj`).
pub fn conj(a: &Array) -> Result<Array> {
    conjugate(a)
}

/// `re + i·im` as complex64 (broadcast; both parts are converted to complex64 first, so
/// gradients reach both).
pub fn complex(re: &Array, im: &Array) -> Result<Array> {
    let i = Array::scalar(Complex32::new(0.0, 1.0));
    re.astype(Dtype::C64)?
        .add(&im.astype(Dtype::C64)?.multiply(&i)?)
}

impl Array {
    /// The real part (see [`real`]).
    pub fn real(&self) -> Result<Array> {
        real(self)
    }

    /// The imaginary part (see [`imag`]).
    pub fn imag(&self) -> Result<Array> {
        imag(self)
    }

    /// The complex conjugate (see [`conjugate`]).
    pub fn conj(&self) -> Result<Array> {
        conjugate(self)
    }

    /// The complex conjugate (see [`conjugate`]).
    pub fn conjugate(&self) -> Result<Array> {
        conjugate(self)
    }
}
