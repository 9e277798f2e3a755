//! Grouped matrix products for mixture-of-experts layers (MLX's `gather_mm` and
//! `segmented_mm`), composed from `take`, masks and `matmul`, so they are differentiable in both
//! matrices and vectorise through their parts.

use super::broadcast_arrays;
use crate::checked::Checked;
use crate::{bail, Array, Dtype, Result};

/// The common float dtype of the two operands, or MLX's error.
fn float_operands(op: &str, a: &Array, b: &Array) -> Result<Dtype> {
    let d = Dtype::promote(a.dtype(), b.dtype());
    if !d.is_float() {
        bail!(
            Dtype,
            "[{op}] Only real floating point types are supported but {} and {} were provided which results in {d}, which is not a real floating point type.",
            a.dtype(),
            b.dtype()
        );
    }
    Ok(d)
}

/// A 1-D `a` as a row and a 1-D `b` as a column (MLX's rule for its products), and which were.
fn as_matrices(a: &Array, b: &Array) -> Result<(Array, Array, bool, bool)> {
    let (a_vec, b_vec) = (a.ndim() == 1, b.ndim() == 1);
    let a = if a_vec { a.expand_dims(0)? } else { a.clone() };
    let b = if b_vec { b.expand_dims(1)? } else { b.clone() };
    Ok((a, b, a_vec, b_vec))
}

/// `out` without the row/column axes [`as_matrices`] inserted.
fn drop_vector_axes(out: Array, a_vec: bool, b_vec: bool) -> Result<Array> {
    let nd = out.ndim();
    let mut axes = Vec::new();
    if a_vec {
        axes.push((nd - 2) as isize);
    }
    if b_vec {
        axes.push((nd - 1) as isize);
    }
    if axes.is_empty() {
        Ok(out)
    } else {
        out.squeeze(axes)
    }
}

/// `indices` as uint32 batch indices of `x` (`x`'s own batch order when `None`), checked.
pub(super) fn batch_indices(op: &str, indices: Option<&Array>, x: &Array) -> Result<Array> {
    if x.ndim() < 2 {
        bail!(
            Shape,
            "[{op}] Input must have at least two dimensions but got input with shape {:?}.",
            x.shape()
        );
    }
    let batch = x.shape().span(..x.ndim() - 2)?;
    match indices {
        Some(i) if !i.dtype().is_int() => bail!(
            Dtype,
            "[{op}] Got indices with invalid dtype {}. Indices must be integral.",
            i.dtype()
        ),
        Some(i) => i.astype(Dtype::U32),
        None => {
            let n: usize = batch.iter().product();
            super::arange(0.0, n as f64, 1.0, Dtype::U32)?.reshape(batch)
        }
    }
}

/// Matrix products of gathered batches (MLX's `mx.gather_mm`): for every position `i` of the
/// broadcast index arrays, `a[lhs_indices[i]] @ b[rhs_indices[i]]`, where an index counts the
/// matrices of `a` (or `b`) in row-major order over its batch axes. A missing index array is
/// the operand's own batch order; with neither, this is [`matmul`](super::matmul). A 1-D `a` is
/// a row and a 1-D `b` a column, and those axes are removed from the result. `sorted_indices` is
/// MLX's hint for its GPU kernel and changes nothing here.
///
/// ```
/// use rmlx_core::{self as mx, Array, Dtype};
/// // three "experts" of 2 x 2; tokens routed to experts 2, 0, 2
/// let w = mx::arange(0.0, 12.0, 1.0, Dtype::F32)?.reshape([3, 2, 2])?;
/// let x = mx::ones(&[3, 1, 2], Dtype::F32)?;
/// let experts = Array::from_slice(&[2u32, 0, 2], &[3])?;
/// let y = mx::gather_mm(&x, &w, None, Some(&experts), false)?;
/// assert_eq!(y.shape(), &[3, 1, 2]);
/// assert_eq!(y.to_vec::<f32>()?, vec![18.0, 20.0, 2.0, 4.0, 18.0, 20.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn gather_mm(
    a: &Array,
    b: &Array,
    lhs_indices: Option<&Array>,
    rhs_indices: Option<&Array>,
    sorted_indices: bool,
) -> Result<Array> {
    let _ = sorted_indices;
    if lhs_indices.is_none() && rhs_indices.is_none() {
        return super::matmul(a, b);
    }
    if a.ndim() == 0 || b.ndim() == 0 {
        bail!(
            Shape,
            "[gather_mm] Got 0 dimension input. Inputs must have at least one dimension."
        );
    }
    let (a, b, a_vec, b_vec) = as_matrices(a, b)?;
    let (an, bn) = (a.ndim(), b.ndim());
    if *a.shape().at(an - 1)? != *b.shape().at(bn - 2)? {
        bail!(
            Shape,
            "[gather_mm] Last dimension of first input with shape {:?} must match second to last dimension of second input with shape {:?}.",
            a.shape(),
            b.shape()
        );
    }
    let dtype = float_operands("gather_mm", &a, &b)?;
    let li = batch_indices("gather_mm", lhs_indices, &a)?;
    let ri = batch_indices("gather_mm", rhs_indices, &b)?;
    let idx = broadcast_arrays("gather_mm", &[&li, &ri])?;
    let (m, k, n) = (
        *a.shape().at(an - 2)?,
        *a.shape().at(an - 1)?,
        *b.shape().at(bn - 1)?,
    );
    let a_mats = a.astype(dtype)?.reshape([-1, m as isize, k as isize])?;
    let b_mats = b.astype(dtype)?.reshape([-1, k as isize, n as isize])?;
    let ga = super::take(&a_mats, idx.at(0)?, Some(0))?;
    let gb = super::take(&b_mats, idx.at(1)?, Some(0))?;
    let out = super::matmul(&ga, &gb)?;
    drop_vector_axes(out, a_vec, b_vec)
}

/// Products of `a` (`M × K`) and `b` (`K × N`) over segments of the inner axis (MLX's
/// `mx.segmented_mm`): for every `[start, end)` pair in the last axis of `segments`,
/// `a[:, start:end] @ b[start:end, :]`. The result has `segments`' shape without its last axis,
/// then `M × N`.
///
/// ```
/// use rmlx_core::{self as mx, Array, Dtype};
/// let a = mx::ones(&[1, 4], Dtype::F32)?;
/// let b = mx::arange(0.0, 4.0, 1.0, Dtype::F32)?.reshape([4, 1])?;
/// let seg = Array::from_slice(&[0u32, 2, 2, 4], &[2, 2])?;
/// let y = mx::segmented_mm(&a, &b, &seg)?;
/// assert_eq!(y.shape(), &[2, 1, 1]);
/// assert_eq!(y.to_vec::<f32>()?, vec![1.0, 5.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn segmented_mm(a: &Array, b: &Array, segments: &Array) -> Result<Array> {
    if a.ndim() != 2 || b.ndim() != 2 {
        bail!(Shape, "[segmented_mm] Batched matmul not supported");
    }
    if segments.ndim() < 1 || *segments.shape().at(segments.ndim() - 1)? != 2 {
        bail!(
            Shape,
            "[segmented_mm] The segments should have shape (..., 2) but {:?} was provided.",
            segments.shape()
        );
    }
    let dtype = float_operands("segmented_mm", a, b)?;
    if !segments.dtype().is_int() {
        bail!(
            Dtype,
            "[segmented_mm] Got segments with invalid dtype {}. Segments must be integral.",
            segments.dtype()
        );
    }
    let k = *a.shape().at(1)?;
    if *b.shape().at(0)? != k {
        bail!(
            Shape,
            "[segmented_mm] Last dimension of first input with shape {:?} must match the first dimension of the second input with shape {:?}.",
            a.shape(),
            b.shape()
        );
    }
    let seg = segments.astype(Dtype::I64)?;
    let bounds = seg.split(2, -1)?; // [.., 1] each
    let pos = super::arange(0.0, k as f64, 1.0, Dtype::I64)?;
    let inside = super::logical_and(
        &super::greater_equal(&pos, bounds.at(0)?)?,
        &super::less(&pos, bounds.at(1)?)?,
    )?; // [.., K]
    let mask = inside.astype(dtype)?.expand_dims(-2)?; // [.., 1, K]
    let masked = super::multiply(&a.astype(dtype)?, &mask)?; // [.., M, K]
    super::matmul(&masked, &b.astype(dtype)?)
}

/// `mask` (`[.., rows, cols]` in blocks) at element resolution: each entry repeated over its
/// `block × block` tile, cropped to `r × c`, in `dtype`.
fn block_mask(mask: &Array, block: usize, r: usize, c: usize, dtype: Dtype) -> Result<Array> {
    let nd = mask.ndim();
    let m = super::repeat(&super::repeat(mask, block, Some(-2))?, block, Some(-1))?;
    let mut args = vec![super::SliceArg::all(); nd];
    *args.at_mut(nd - 2)? = super::SliceArg::new(Some(0), Some(r as isize), 1);
    *args.at_mut(nd - 1)? = super::SliceArg::new(Some(0), Some(c as isize), 1);
    m.slice(&args)?.astype(dtype)
}

/// A matrix product computed block by block under masks (MLX's `mx.block_masked_mm`): with
/// blocks of `block_size` (32 or 64), `mask_lhs` (`[.., ⌈M/bs⌉, ⌈K/bs⌉]`) and `mask_rhs`
/// (`[.., ⌈K/bs⌉, ⌈N/bs⌉]`) drop (bool) or scale (float) blocks of `a` and `b`, and `mask_out`
/// (`[.., ⌈M/bs⌉, ⌈N/bs⌉]`) those of the result. Without masks it is [`matmul`](super::matmul).
/// Computed as the masks at element resolution times the operands, so every operand and float
/// mask is differentiable; unlike MLX's kernel, which skips dropped blocks, a NaN or infinity
/// inside a dropped block still reaches the result (`0 · NaN`).
pub fn block_masked_mm(
    a: &Array,
    b: &Array,
    block_size: usize,
    mask_out: Option<&Array>,
    mask_lhs: Option<&Array>,
    mask_rhs: Option<&Array>,
) -> Result<Array> {
    if mask_out.is_none() && mask_lhs.is_none() && mask_rhs.is_none() {
        return super::matmul(a, b);
    }
    if block_size != 32 && block_size != 64 {
        bail!(
            Value,
            "[block_masked_mm] Only block_sizes 32, 64 are supported. Got block size {block_size}."
        );
    }
    if a.ndim() == 0 || b.ndim() == 0 {
        bail!(
            Shape,
            "[block_masked_mm] Got 0 dimension input. Inputs must have at least one dimension."
        );
    }
    let (a, b, a_vec, b_vec) = as_matrices(a, b)?;
    let (an, bn) = (a.ndim(), b.ndim());
    let (m, k, n) = (
        *a.shape().at(an - 2)?,
        *a.shape().at(an - 1)?,
        *b.shape().at(bn - 1)?,
    );
    if *b.shape().at(bn - 2)? != k {
        bail!(
            Shape,
            "[block_masked_mm] Last dimension of first input with shape {:?} must match second to last dimension of second input with shape {:?}.",
            a.shape(),
            b.shape()
        );
    }
    let dtype = float_operands("block_masked_mm", &a, &b)?;
    let (mut a, mut b) = (a.astype(dtype)?, b.astype(dtype)?);
    let bs = block_size;
    let operand_mask =
        |mask: &Array, vec_axis: Option<isize>, r: usize, c: usize| -> Result<Array> {
            let mask = match vec_axis {
                Some(ax) => mask.expand_dims(ax)?,
                None => mask.clone(),
            };
            block_mask(&mask, bs, r, c, dtype)
        };
    if let Some(l) = mask_lhs {
        a = super::multiply(&a, &operand_mask(l, a_vec.then_some(-2), m, k)?)?;
    }
    if let Some(r) = mask_rhs {
        b = super::multiply(&b, &operand_mask(r, b_vec.then_some(-1), k, n)?)?;
    }
    let mut out = super::matmul(&a, &b)?;
    if let Some(o) = mask_out {
        let mut o = o.clone();
        let mut ex = Vec::new();
        if a_vec {
            ex.push(-2isize);
        }
        if b_vec {
            ex.push(-1);
        }
        if !ex.is_empty() {
            o = o.expand_dims(ex)?;
        }
        out = super::multiply(&out, &block_mask(&o, bs, m, n, dtype)?)?;
    }
    drop_vector_axes(out, a_vec, b_vec)
}

/// [`gather_mm`] with a quantized right operand (MLX's `mx.gather_qmm`): `w`, `scales` and
/// `biases` hold a batch of quantized matrices (a mixture of experts' weights, as
/// `quantize_mode` packs them along the last axis), `rhs_indices` picks one per product and
/// `transpose` multiplies by its transpose (a quantized Linear's layout). The picked matrices
/// are dequantized (in `x`'s dtype) and multiplied as [`gather_mm`] does, as MLX's CPU fallback;
/// differentiable in `x`, `scales` and `biases`.
///
/// ```
/// use rmlx_core::{self as mx, Array, Dtype, QuantizationMode};
/// let w = mx::random::normal(&[3, 4, 64], Some(&mx::random::key(1)))?; // 3 experts, 4 x 64
/// let q = mx::quantize_mode(&w, 64, 4, QuantizationMode::Affine)?;
/// let x = mx::random::normal(&[2, 1, 64], Some(&mx::random::key(2)))?;
/// let experts = Array::from_slice(&[2u32, 0], &[2])?;
/// let y = mx::gather_qmm(&x, &q[0], &q[1], Some(&q[2]), None, Some(&experts), true, 64, 4,
///     QuantizationMode::Affine)?;
/// assert_eq!(y.shape(), &[2, 1, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
#[allow(clippy::too_many_arguments)] // MLX's signature
pub fn gather_qmm(
    x: &Array,
    w: &Array,
    scales: &Array,
    biases: Option<&Array>,
    lhs_indices: Option<&Array>,
    rhs_indices: Option<&Array>,
    transpose: bool,
    group_size: usize,
    bits: usize,
    mode: super::QuantizationMode,
) -> Result<Array> {
    if !x.dtype().is_float() {
        bail!(
            Dtype,
            "[gather_qmm] x must be floating point, got {}",
            x.dtype()
        );
    }
    let deq = super::dequantize_mode(w, scales, biases, group_size, bits, mode, x.dtype())?;
    let deq = if transpose {
        deq.swapaxes(-1, -2)?
    } else {
        deq
    };
    gather_mm(x, &deq, lhs_indices, rhs_indices, false)
}
