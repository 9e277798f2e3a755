//! The public ops, grouped as MLX groups them. Each op checks its arguments, infers the output
//! shape and dtype at once (so errors surface at the call that caused them) and builds a lazy node.

pub mod arithmetic;
pub mod binary;
pub mod complex;
pub mod composed;
pub mod conv;
pub mod convert;
pub mod creation;
pub mod einsum;
pub mod everyday;
mod factor;
pub mod fast;
pub mod fp_quantized;
mod gathered_mm;
pub mod index;
pub mod indexing;
pub mod joining;
pub mod linalg;
mod qqmm;
pub mod quantized;
pub mod reduction;
pub mod shape;
pub mod slicing;
pub mod sort;
pub mod unary;

pub use arithmetic::*;
pub use binary::*;
pub use complex::{complex, conj, conjugate, imag, real};
pub use composed::*;
pub use conv::*;
pub use convert::*;
pub use creation::*;
pub use einsum::{einsum, einsum_path};
pub use everyday::*;
pub use fp_quantized::{
    dequantize_mode, dequantize_with_global_scale, from_fp8, quantize_mode,
    quantize_with_global_scale, quantized_matmul_mode, to_fp8, view, QuantizationMode,
};
pub use gathered_mm::{block_masked_mm, gather_mm, gather_qmm, segmented_mm};
pub use index::Index;
pub use indexing::*;
pub use joining::*;
pub use linalg::{addmm, inner, matmul, outer, tensordot, TensordotAxes};
pub use qqmm::{gather_qqmm, qqmm};
pub use quantized::{dequantize, quantize, quantized_matmul};
pub use reduction::*;
pub use shape::*;
pub use slicing::*;
pub use sort::*;
pub use unary::*;

use crate::checked::Checked;
use crate::{bail, Array, Result};

/// Resolves a possibly negative `axis` against `ndim`.
pub fn normalize_axis(op: &str, axis: isize, ndim: usize) -> Result<usize> {
    let n = ndim as isize;
    if axis < -n || axis >= n {
        bail!(
            Axis,
            "{op}: axis {axis} is out of bounds for array of dimension {ndim}"
        );
    }
    Ok(if axis < 0 { axis + n } else { axis } as usize)
}

/// Resolves a list of axes (negative allowed) against `ndim`, rejecting repeats. Order is kept.
pub fn normalize_axes(op: &str, axes: &[isize], ndim: usize) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let ax = normalize_axis(op, a, ndim)?;
        if out.contains(&ax) {
            bail!(Axis, "{op}: duplicate axis {a} in {axes:?}");
        }
        out.push(ax);
    }
    Ok(out)
}

/// numpy's broadcasting of two shapes.
///
/// ```
/// use rmlx_core::ops::broadcast_shapes;
/// assert_eq!(broadcast_shapes("add", &[8, 1, 3], &[4, 3])?, vec![8, 4, 3]);
/// assert!(broadcast_shapes("add", &[2, 3], &[4, 3]).is_err());
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn broadcast_shapes(op: &str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            *a.at(i + a.len() - n)?
        } else {
            1
        };
        let db = if i + b.len() >= n {
            *b.at(i + b.len() - n)?
        } else {
            1
        };
        *out.at_mut(i)? = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => bail!(
                Shape,
                "{op}: shapes {a:?} and {b:?} cannot be broadcast together"
            ),
        };
    }
    Ok(out)
}

/// Broadcasts every array to their common shape (views, no copies).
pub fn broadcast_arrays(op: &str, arrays: &[&Array]) -> Result<Vec<Array>> {
    let mut shape: Vec<usize> = Vec::new();
    for a in arrays {
        shape = broadcast_shapes(op, &shape, a.shape())?;
    }
    arrays.iter().map(|a| a.broadcast_to(&shape)).collect()
}

/// Which axes a reduction runs over: all of them, or a list (negative counts from the end).
///
/// Converts from `None` (all axes), an `i32`/`isize`, or a slice, array or `Vec` of them, so calls
/// read like MLX's: `x.sum(None, false)`, `x.sum(-1, true)`, `x.sum([0, 2], false)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Axes {
    /// Every axis.
    All,
    /// These axes.
    List(Vec<isize>),
}

impl Axes {
    /// The axes resolved against `ndim`, sorted ascending, checked for range and repeats.
    pub fn resolve(&self, op: &str, ndim: usize) -> Result<Vec<usize>> {
        match self {
            Axes::All => Ok((0..ndim).collect()),
            Axes::List(v) => {
                let mut axes = normalize_axes(op, v, ndim)?;
                axes.sort_unstable();
                Ok(axes)
            }
        }
    }
}

impl From<Option<&[isize]>> for Axes {
    fn from(v: Option<&[isize]>) -> Axes {
        v.map_or(Axes::All, |v| Axes::List(v.to_vec()))
    }
}
impl From<i32> for Axes {
    fn from(v: i32) -> Axes {
        Axes::List(vec![v as isize])
    }
}
impl From<isize> for Axes {
    fn from(v: isize) -> Axes {
        Axes::List(vec![v])
    }
}
impl From<&[i32]> for Axes {
    fn from(v: &[i32]) -> Axes {
        Axes::List(v.iter().map(|&a| a as isize).collect())
    }
}
impl From<&[isize]> for Axes {
    fn from(v: &[isize]) -> Axes {
        Axes::List(v.to_vec())
    }
}
impl From<Vec<i32>> for Axes {
    fn from(v: Vec<i32>) -> Axes {
        Axes::from(v.as_slice())
    }
}
impl From<Vec<isize>> for Axes {
    fn from(v: Vec<isize>) -> Axes {
        Axes::List(v)
    }
}
impl<const N: usize> From<[i32; N]> for Axes {
    fn from(v: [i32; N]) -> Axes {
        Axes::from(&v[..])
    }
}
impl<const N: usize> From<[isize; N]> for Axes {
    fn from(v: [isize; N]) -> Axes {
        Axes::List(v.to_vec())
    }
}
