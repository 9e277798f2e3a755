//! Affine quantization, MLX's `"affine"` mode: [`quantize`], [`dequantize`],
//! [`quantized_matmul`]. Packing, scales and biases are MLX 0.32.4's bit for bit, so MLX's
//! quantized checkpoints (`weight` as packed `uint32`, `scales`, `biases`) load and multiply the
//! same. Errors are MLX's messages.

use std::sync::Arc;

use crate::backend::cpu::quantized::{AFFINE_BITS, AFFINE_GROUP_SIZES};
use crate::checked::Checked;
use crate::primitives::quantized::{quantize_node, Dequantize, QuantizedMatmul};
use crate::{bail, Array, Dtype, Result};

fn check_params(op: &str, group_size: usize, bits: usize) -> Result<()> {
    if !AFFINE_GROUP_SIZES.contains(&group_size) {
        bail!(
            Value,
            "[{op}] The requested group size {group_size} is not supported. The supported group sizes are 32, 64, and 128."
        );
    }
    if !AFFINE_BITS.contains(&bits) {
        bail!(
            Value,
            "[{op}] The requested number of bits {bits} is not supported. The supported bits are 1, 2, 3, 4, 5, 6 and 8."
        );
    }
    Ok(())
}

fn fmt_shape(s: &[usize]) -> String {
    let v: Vec<String> = s.iter().map(|d| d.to_string()).collect();
    format!("({})", v.join(","))
}

/// MLX's checks of a matrix to quantize, in every mode: at least 2-D, its last axis a multiple
/// of `group_size`, floating point.
pub(crate) fn check_quantizable(w: &Array, group_size: usize) -> Result<()> {
    if w.ndim() < 2 {
        bail!(
            Shape,
            "[quantize] The matrix to be quantized must have at least 2 dimension but it has only {}.",
            w.ndim()
        );
    }
    let cols = *w.shape().at(w.ndim() - 1)?;
    if !cols.is_multiple_of(group_size) {
        bail!(
            Shape,
            "[quantize] The last dimension of the matrix needs to be divisible by the quantization group size {group_size}. However the provided  matrix has shape {}",
            fmt_shape(w.shape())
        );
    }
    if !w.dtype().is_float() {
        bail!(
            Dtype,
            "[quantize] Only real floating types can be quantized but w has type {}.",
            w.dtype()
        );
    }
    Ok(())
}

/// Quantizes `w` (at least 2-D, float, last axis divisible by `group_size`) in groups of
/// `group_size` consecutive elements of a row to `bits` bits (MLX's
/// `mx.quantize(w, group_size, bits)`, affine mode). Returns the packed weights (`uint32`, last
/// axis `cols * bits / 32`), the scales and the biases (`w`'s dtype, last axis
/// `cols / group_size`); `w ≈ scales * q + biases` per group.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let w = mx::random::normal(&[4, 64], Some(&mx::random::key(0)))?;
/// let (wq, scales, biases) = mx::quantize(&w, 32, 4)?;
/// assert_eq!((wq.shape(), wq.dtype()), (&[4usize, 8][..], mx::Dtype::U32));
/// assert_eq!(scales.shape(), &[4, 2]);
/// let back = mx::dequantize(&wq, &scales, &biases, 32, 4)?;
/// let err = (&back - &w)?.abs()?.max(None, false)?.item::<f32>()?;
/// assert!(err < 0.5); // at most half a step of 4 bits over each group's range
/// assert!(mx::quantize(&w, 16, 4).is_err());
/// # Ok::<(), mx::Error>(())
/// ```
pub fn quantize(w: &Array, group_size: usize, bits: usize) -> Result<(Array, Array, Array)> {
    check_params("quantize", group_size, bits)?;
    check_quantizable(w, group_size)?;
    let cols = *w.shape().at(w.ndim() - 1)?;
    let w = if w.dtype() == Dtype::F64 {
        bail!(
            Dtype,
            "[quantize] float64 is not supported (MLX quantizes float32, float16 and bfloat16)"
        );
    } else {
        w.clone()
    };
    let lead = w.shape().span(..w.ndim().saturating_sub(1))?;
    let wq_shape: Vec<usize> = lead.iter().copied().chain([cols * bits / 32]).collect();
    let s_shape: Vec<usize> = lead.iter().copied().chain([cols / group_size]).collect();
    let mut outs = Array::from_primitive_multi(
        vec![
            (wq_shape, Dtype::U32),
            (s_shape.clone(), w.dtype()),
            (s_shape, w.dtype()),
        ],
        quantize_node(group_size, bits),
        vec![w],
    );
    match (outs.pop(), outs.pop(), outs.pop()) {
        (Some(b), Some(s), Some(wq)) => Ok((wq, s, b)),
        _ => bail!(Value, "[quantize] expected three outputs"),
    }
}

fn check_quantized(
    op: &str,
    w: &Array,
    scales: &Array,
    biases: &Array,
    group_size: usize,
    bits: usize,
) -> Result<usize> {
    check_params(op, group_size, bits)?;
    if w.dtype() != Dtype::U32 {
        bail!(
            Dtype,
            "[{op}] The matrix should be given as a uint32 but it has type {}.",
            w.dtype()
        );
    }
    if w.ndim() < 2 {
        bail!(
            Shape,
            "[{op}] The matrix should have at least 2 dimensions but it has {}.",
            w.ndim()
        );
    }
    let lead = w.shape().span(..w.ndim() - 1)?;
    if scales.shape().len() != w.ndim()
        || biases.shape() != scales.shape()
        || scales.shape().span(..w.ndim() - 1)? != lead
    {
        bail!(
            Shape,
            "[{op}] Shape of scales and biases does not match the matrix"
        );
    }
    let out_size = *w.shape().at(w.ndim() - 1)? * 32 / bits;
    if out_size != *scales.shape().at(w.ndim() - 1)? * group_size {
        bail!(
            Shape,
            "[{op}] Shape of scales and biases does not match the matrix given the quantization parameters. Provided matrix of shape {} and scales/biases of shape {} with group_size={group_size} and bits={bits}.",
            fmt_shape(w.shape()),
            fmt_shape(scales.shape())
        );
    }
    if !scales.dtype().is_float()
        || scales.dtype() == Dtype::F64
        || biases.dtype() != scales.dtype()
    {
        bail!(
            Dtype,
            "[{op}] scales and biases must share one of float32, float16 and bfloat16, got {} and {}",
            scales.dtype(),
            biases.dtype()
        );
    }
    Ok(out_size)
}

/// The matrix `w` packed by [`quantize`] back in the scales' dtype: `scales * q + biases` per
/// group (MLX's `mx.dequantize(w, scales, biases, group_size, bits)`).
pub fn dequantize(
    w: &Array,
    scales: &Array,
    biases: &Array,
    group_size: usize,
    bits: usize,
) -> Result<Array> {
    let cols = check_quantized("dequantize", w, scales, biases, group_size, bits)?;
    let shape: Vec<usize> = w
        .shape()
        .span(..w.ndim().saturating_sub(1))?
        .iter()
        .copied()
        .chain([cols])
        .collect();
    Ok(Array::from_primitive(
        shape,
        scales.dtype(),
        Arc::new(Dequantize { group_size, bits }),
        vec![w.clone(), scales.clone(), biases.clone()],
    ))
}

/// `x @ dequantize(w).T` (with `transpose`, the layout of a quantized Linear's weight) or
/// `x @ dequantize(w)`, without forming the dequantized matrix for few rows of `x` (MLX's
/// `mx.quantized_matmul(x, w, scales, biases, transpose, group_size, bits)`). `w` is 2-D; `x`
/// has any leading axes; the output has `x`'s dtype. Differentiable in `x`, `scales` and
/// `biases`.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let w = mx::random::normal(&[8, 64], Some(&mx::random::key(1)))?;
/// let (wq, s, b) = mx::quantize(&w, 64, 8)?;
/// let x = mx::random::normal(&[2, 64], Some(&mx::random::key(2)))?;
/// let y = mx::quantized_matmul(&x, &wq, &s, &b, true, 64, 8)?;
/// let want = x.matmul(&mx::dequantize(&wq, &s, &b, 64, 8)?.t()?)?;
/// assert_eq!(y.shape(), &[2, 8]);
/// assert!((&y - &want)?.abs()?.max(None, false)?.item::<f32>()? < 1e-4);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn quantized_matmul(
    x: &Array,
    w: &Array,
    scales: &Array,
    biases: &Array,
    transpose: bool,
    group_size: usize,
    bits: usize,
) -> Result<Array> {
    let cols = check_quantized("quantized_matmul", w, scales, biases, group_size, bits)?;
    if w.ndim() != 2 {
        bail!(
            Shape,
            "[quantized_matmul] rmlx multiplies 2-D quantized matrices; got shape {}",
            fmt_shape(w.shape())
        );
    }
    if !x.dtype().is_float() || x.dtype() == Dtype::F64 {
        bail!(
            Dtype,
            "[quantized_matmul] Only real floating types are supported but x has type {}.",
            x.dtype()
        );
    }
    if x.ndim() == 0 {
        bail!(
            Shape,
            "[quantized_matmul] x must have at least one dimension"
        );
    }
    let (inner, outer) = if transpose {
        (cols, *w.shape().at(0)?)
    } else {
        (*w.shape().at(0)?, cols)
    };
    let k = *x.shape().at(x.ndim() - 1)?;
    if k != inner {
        bail!(
            Shape,
            "[quantized_matmul] Inner dimension of the weight ({inner}) does not match the last dimension of x ({k}); x has shape {}, w {}, transpose={transpose}.",
            fmt_shape(x.shape()),
            fmt_shape(w.shape())
        );
    }
    let shape: Vec<usize> = x
        .shape()
        .span(..x.ndim().saturating_sub(1))?
        .iter()
        .copied()
        .chain([outer])
        .collect();
    Ok(Array::from_primitive(
        shape,
        x.dtype(),
        Arc::new(QuantizedMatmul {
            group_size,
            bits,
            transpose,
        }),
        vec![x.clone(), w.clone(), scales.clone(), biases.clone()],
    ))
}
