//! Convolution with MLX's channels-last layout: [`conv1d`], [`conv2d`], [`conv3d`] and the N-d
//! [`conv_general`] (padding low/high, kernel and input dilation, groups, flip).
//!
//! The input is `(N, *spatial, C_in)` and the weight `(C_out, *kernel, C_in / groups)`; the output
//! is `(N, *out_spatial, C_out)` with `out = (in + lo + hi - dilation * (k - 1) - 1) / stride + 1`
//! per spatial axis.
//!
//! The convolution is composed from differentiable ops — `pad`, strided slice views (one per
//! kernel position), `concatenate` (the im2col patch matrix) and one `matmul` (batched over the
//! groups) — so `grad`, `vjp`, `jvp` and higher-order derivatives work without a dedicated
//! primitive.

use super::slicing::slice_raw;
use super::{concatenate, matmul, pad, reshape, SliceArg};
use crate::checked::Checked;
use crate::{bail, Array, Dtype, Result};

/// Spatial parameters resolved to one value per spatial axis: an empty slice takes `default`,
/// one value is used for every axis (as MLX's C++ `conv_general` does).
fn per_axis(op: &str, name: &str, v: &[usize], n: usize, default: usize) -> Result<Vec<usize>> {
    match v.len() {
        0 => Ok(vec![default; n]),
        1 => Ok(vec![*v.at(0)?; n]),
        k if k == n => Ok(v.to_vec()),
        k => bail!(
            Value,
            "{op}: got {k} values for '{name}' ({v:?}) but the convolution has {n} spatial \
             dimensions (give 1 or {n})"
        ),
    }
}

/// Everything [`conv_nd`] needs, resolved per spatial axis.
struct ConvSpec<'a> {
    op: &'a str,
    stride: Vec<usize>,
    lo: Vec<usize>,
    hi: Vec<usize>,
    kernel_dilation: Vec<usize>,
    input_dilation: Vec<usize>,
    groups: usize,
    flip: bool,
}

/// MLX's `run_conv_checks` plus the parameter checks; returns the common (float) dtype.
fn check(spec: &ConvSpec, input: &Array, weight: &Array, n: usize) -> Result<Dtype> {
    let op = spec.op;
    if !input.dtype().is_float() {
        bail!(
            Dtype,
            "{op}: invalid input array with type {}. Convolution currently only supports \
             floating point types",
            input.dtype()
        );
    }
    let dtype = Dtype::promote(input.dtype(), weight.dtype());
    if !dtype.is_float() {
        bail!(
            Dtype,
            "{op}: input of type {} and weight of type {} promote to {dtype}, which is not a \
             floating point type",
            input.dtype(),
            weight.dtype()
        );
    }
    if input.ndim() != n + 2 {
        bail!(
            Shape,
            "{op}: invalid input array with {} dimensions for {n}D convolution. Expected an \
             array with {} dimensions following the format [N, ..., C_in]",
            input.ndim(),
            n + 2
        );
    }
    if weight.ndim() != n + 2 {
        bail!(
            Shape,
            "{op}: invalid weight array with {} dimensions for {n}D convolution. Expected an \
             array with {} dimensions following the format [C_out, ..., C_in]",
            weight.ndim(),
            n + 2
        );
    }
    let groups = spec.groups;
    if groups == 0 {
        bail!(Value, "{op}: the number of groups must be positive, got 0");
    }
    let c_in = *input.shape().at(n + 1)?;
    let c_out = *weight.shape().at(0)?;
    if !c_in.is_multiple_of(groups) {
        bail!(
            Value,
            "{op}: the input channels must be divisible by the number of groups. Got input \
             with shape {:?} and {groups} groups",
            input.shape()
        );
    }
    if groups > 1 && !c_out.is_multiple_of(groups) {
        bail!(
            Value,
            "{op}: if groups > 1, the output channels must be divisible by the number of \
             groups. Got {c_out} output channels and {groups} groups"
        );
    }
    if c_in != groups * *weight.shape().at(n + 1)? {
        bail!(
            Shape,
            "{op}: expect the input channels in the input and weight array to match but got \
             shapes - input: {:?} and weight: {:?} (with {groups} groups the weight's last axis \
             must be {} / {groups})",
            input.shape(),
            weight.shape(),
            c_in
        );
    }
    for (name, v) in [
        ("stride", &spec.stride),
        ("kernel_dilation", &spec.kernel_dilation),
        ("input_dilation", &spec.input_dilation),
    ] {
        if v.contains(&0) {
            bail!(Value, "{op}: '{name}' must be positive, got {v:?}");
        }
    }
    if weight.shape().span(1..=n)?.contains(&0) {
        bail!(
            Shape,
            "{op}: the weight's spatial dimensions must be positive, got weight of shape {:?}",
            weight.shape()
        );
    }
    // sizes after dilation and padding, and the dilated kernel extents, must fit in usize
    for i in 0..n {
        let len = *input.shape().at(i + 1)?;
        let k = *weight.shape().at(i + 1)?;
        // (the dilation reshape holds len * d elements before trimming to (len - 1) * d + 1)
        let (lo, hi) = (*spec.lo.at(i)?, *spec.hi.at(i)?);
        let padded = len
            .checked_mul(*spec.input_dilation.at(i)?)
            .and_then(|v| v.checked_add(lo))
            .and_then(|v| v.checked_add(hi));
        let extent = (k - 1)
            .checked_mul(*spec.kernel_dilation.at(i)?)
            .and_then(|v| v.checked_add(1));
        if padded.is_none() || extent.is_none() {
            bail!(
                Value,
                "{op}: padding, dilation or input size too large along spatial axis {} (input \
                 {:?}, weight {:?})",
                i + 1,
                input.shape(),
                weight.shape()
            );
        }
    }
    Ok(dtype)
}

/// Inserts `d - 1` zeros between neighbours along spatial axis `axis` (the input dilation).
fn dilate_axis(x: &Array, axis: usize, d: usize) -> Result<Array> {
    let len = *x.shape().at(axis)?;
    if d == 1 || len <= 1 {
        return Ok(x.clone());
    }
    // (.., L, ..) -> (.., L, 1, ..) -> pad to (.., L, d, ..) -> (.., L*d, ..) -> first (L-1)*d+1
    let e = x.expand_dims((axis + 1) as isize)?;
    let mut widths = vec![(0, 0); e.ndim()];
    *widths.at_mut(axis + 1)? = (0, d - 1);
    let p = pad(&e, &widths, 0.0)?;
    let mut merged = x.shape().to_vec();
    *merged.at_mut(axis)? = len * d;
    let m = reshape(&p, &merged[..])?;
    let mut shape = x.shape().to_vec();
    *shape.at_mut(axis)? = (len - 1) * d + 1;
    slice_raw(&m, &vec![0; x.ndim()], &vec![1; x.ndim()], &shape)
}

/// The convolution over `n` spatial axes, after the argument checks.
fn conv_nd(spec: &ConvSpec, input: &Array, weight: &Array, n: usize) -> Result<Array> {
    let dtype = check(spec, input, weight, n)?;
    let op = spec.op;
    let mut x = input.astype(dtype)?;
    let mut w = weight.astype(dtype)?;

    for (i, &d) in spec.input_dilation.iter().enumerate() {
        x = dilate_axis(&x, i + 1, d)?;
    }
    if spec.lo.iter().chain(&spec.hi).any(|&p| p > 0) {
        let mut widths = vec![(0, 0); n + 2];
        for i in 0..n {
            *widths.at_mut(i + 1)? = (*spec.lo.at(i)?, *spec.hi.at(i)?);
        }
        x = pad(&x, &widths, 0.0)?;
    }
    if spec.flip {
        let mut args = vec![SliceArg::all()];
        args.extend((0..n).map(|_| SliceArg::all().step(-1)));
        w = w.slice(&args)?;
    }

    let batch = *x.shape().at(0)?;
    let c_in = *x.shape().at(n + 1)?;
    let kernel: Vec<usize> = w.shape().span(1..=n)?.to_vec();
    let c_out = *w.shape().at(0)?;

    // Output spatial sizes; the padded input must hold the dilated kernel.
    let mut out_sp = Vec::with_capacity(n);
    for (i, &k) in kernel.iter().enumerate() {
        let size = *x.shape().at(i + 1)?;
        let extent = *spec.kernel_dilation.at(i)? * (k - 1) + 1;
        if size < extent {
            bail!(
                Shape,
                "{op}: spatial dimensions of input after padding cannot be smaller than weight \
                 spatial dimensions. Got error at axis {} for input with shape {:?}, padding \
                 low {:?}, padding high {:?}, and weight of shape {:?} (dilated kernel extent \
                 {extent}, padded size {size})",
                i + 1,
                input.shape(),
                spec.lo,
                spec.hi,
                weight.shape()
            );
        }
        out_sp.push((size - extent) / *spec.stride.at(i)? + 1);
    }

    // One strided view per kernel position (row-major over the kernel axes), each
    // (N, *out, 1, C_in); joined they are the im2col patches (N, *out, K, C_in).
    let k_total: usize = kernel.iter().product();
    let mut view_shape = vec![batch];
    view_shape.extend(&out_sp);
    view_shape.push(c_in);
    let mut steps = vec![1isize];
    steps.extend(spec.stride.iter().map(|&s| s as isize));
    steps.push(1);
    let mut views = Vec::with_capacity(k_total);
    let mut pos = vec![0usize; n];
    for _ in 0..k_total {
        let mut starts = vec![0usize];
        starts.extend(pos.iter().zip(&spec.kernel_dilation).map(|(p, d)| p * d));
        starts.push(0);
        let v = slice_raw(&x, &starts, &steps, &view_shape)?;
        views.push(v.expand_dims((n + 1) as isize)?);
        // next kernel position (odometer, last axis fastest)
        for i in (0..n).rev() {
            *pos.at_mut(i)? += 1;
            if *pos.at(i)? < *kernel.at(i)? {
                break;
            }
            *pos.at_mut(i)? = 0;
        }
    }
    let patches = if views.len() == 1 {
        views.pop().unwrap_or_else(|| x.clone())
    } else {
        concatenate(&views, (n + 1) as isize)?
    };

    let m: usize = batch * out_sp.iter().product::<usize>();
    let g = spec.groups;
    let cg = c_in / g;
    let y = if g == 1 {
        let p2 = reshape(&patches, [m, k_total * c_in])?;
        let w2 = reshape(&w, [c_out, k_total * c_in])?;
        matmul(&p2, &w2.t()?)?
    } else {
        let og = c_out / g;
        // (M, K, G, Cg) -> (G, M, K, Cg) -> (G, M, K*Cg)
        let p4 = reshape(&patches, [m, k_total, g, cg])?;
        let pg = reshape(&p4.transpose_axes(&[2, 0, 1, 3])?, [g, m, k_total * cg])?;
        // weight (C_out, *kernel, Cg) -> (G, Og, K*Cg) -> (G, K*Cg, Og)
        let wg = reshape(&w, [g, og, k_total * cg])?.transpose_axes(&[0, 2, 1])?;
        // (G, M, Og) -> (M, G, Og) -> (M, C_out)
        let yg = matmul(&pg, &wg)?;
        reshape(&yg.transpose_axes(&[1, 0, 2])?, [m, c_out])?
    };
    let mut out_shape = vec![batch];
    out_shape.extend(&out_sp);
    out_shape.push(c_out);
    reshape(&y, &out_shape[..])
}

/// 1-D convolution over `(N, L, C_in)` with a `(C_out, K, C_in / groups)` weight, giving
/// `(N, L_out, C_out)` (MLX's `mx.conv1d`). `padding` zeros are added on both sides.
///
/// Float inputs only (f16, bf16, f32, f64; input and weight dtypes promote). Errors for wrong
/// ranks, channels that do not match `weight.shape[-1] * groups`, channels not divisible by
/// `groups`, a zero stride or dilation, and a kernel larger than the padded input.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[1, 4, 1])?; // N=1, L=4, C=1
/// let w = Array::from_slice(&[1.0f32, -1.0], &[1, 2, 1])?; // C_out=1, K=2, C_in=1
/// let y = mx::conv1d(&x, &w, 1, 0, 1, 1)?;
/// assert_eq!(y.shape(), &[1, 3, 1]);
/// assert_eq!(y.to_vec::<f32>()?, vec![-1.0, -1.0, -1.0]);
/// assert!(mx::conv1d(&x, &w, 0, 0, 1, 1).is_err()); // zero stride
/// # Ok::<(), mx::Error>(())
/// ```
pub fn conv1d(
    input: &Array,
    weight: &Array,
    stride: usize,
    padding: usize,
    dilation: usize,
    groups: usize,
) -> Result<Array> {
    let spec = ConvSpec {
        op: "conv1d",
        stride: vec![stride],
        lo: vec![padding],
        hi: vec![padding],
        kernel_dilation: vec![dilation],
        input_dilation: vec![1],
        groups,
        flip: false,
    };
    conv_nd(&spec, input, weight, 1)
}

/// 2-D convolution over `(N, H, W, C_in)` with a `(C_out, KH, KW, C_in / groups)` weight, giving
/// `(N, H_out, W_out, C_out)` (MLX's `mx.conv2d`). Each pair is `(height, width)`; `padding`
/// zeros are added on both sides of each axis. Dtypes and errors as [`conv1d`].
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = mx::ones(&[1, 3, 3, 1], mx::Dtype::F32)?;
/// let w = mx::ones(&[2, 2, 2, 1], mx::Dtype::F32)?;
/// let y = mx::conv2d(&x, &w, (1, 1), (1, 1), (1, 1), 1)?;
/// assert_eq!(y.shape(), &[1, 4, 4, 2]);
/// assert_eq!(y.to_vec::<f32>()?[..4], [1.0, 1.0, 2.0, 2.0]); // corner, then edge
/// # Ok::<(), mx::Error>(())
/// ```
pub fn conv2d(
    input: &Array,
    weight: &Array,
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
    groups: usize,
) -> Result<Array> {
    let spec = ConvSpec {
        op: "conv2d",
        stride: vec![stride.0, stride.1],
        lo: vec![padding.0, padding.1],
        hi: vec![padding.0, padding.1],
        kernel_dilation: vec![dilation.0, dilation.1],
        input_dilation: vec![1, 1],
        groups,
        flip: false,
    };
    conv_nd(&spec, input, weight, 2)
}

/// 3-D convolution over `(N, D, H, W, C_in)` with a `(C_out, KD, KH, KW, C_in / groups)` weight
/// (MLX's `mx.conv3d`). Dtypes and errors as [`conv1d`].
pub fn conv3d(
    input: &Array,
    weight: &Array,
    stride: (usize, usize, usize),
    padding: (usize, usize, usize),
    dilation: (usize, usize, usize),
    groups: usize,
) -> Result<Array> {
    let spec = ConvSpec {
        op: "conv3d",
        stride: vec![stride.0, stride.1, stride.2],
        lo: vec![padding.0, padding.1, padding.2],
        hi: vec![padding.0, padding.1, padding.2],
        kernel_dilation: vec![dilation.0, dilation.1, dilation.2],
        input_dilation: vec![1, 1, 1],
        groups,
        flip: false,
    };
    conv_nd(&spec, input, weight, 3)
}

/// General N-d convolution (MLX's C++ `conv_general`): the number of spatial axes is
/// `input.ndim() - 2` (at least 1). Each spatial parameter is a slice with one value per spatial
/// axis, one value for all of them, or empty for the default (`stride` 1, padding 0, dilations 1).
///
/// `padding_lo` / `padding_hi` are the zeros added before / after each spatial axis;
/// `kernel_dilation` spaces the kernel taps; `input_dilation` inserts `d - 1` zeros between input
/// elements (what transposed convolutions use); `flip` reverses the kernel's spatial axes (a true
/// convolution rather than a cross-correlation).
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[1.0f32, 2.0, 3.0], &[1, 3, 1])?;
/// let w = Array::from_slice(&[1.0f32, 10.0], &[1, 2, 1])?;
/// // input dilation 2: [1, 0, 2, 0, 3]; flipped kernel [10, 1]
/// let y = mx::conv_general(&x, &w, &[], &[], &[], &[], &[2], 1, true)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![10.0, 2.0, 20.0, 3.0]);
/// # Ok::<(), mx::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn conv_general(
    input: &Array,
    weight: &Array,
    stride: &[usize],
    padding_lo: &[usize],
    padding_hi: &[usize],
    kernel_dilation: &[usize],
    input_dilation: &[usize],
    groups: usize,
    flip: bool,
) -> Result<Array> {
    let op = "conv_general";
    if input.ndim() < 3 {
        bail!(
            Shape,
            "{op}: the input must have at least 3 dimensions [N, ..., C_in] (one spatial axis), \
             got shape {:?}",
            input.shape()
        );
    }
    let n = input.ndim() - 2;
    let spec = ConvSpec {
        op,
        stride: per_axis(op, "stride", stride, n, 1)?,
        lo: per_axis(op, "padding_lo", padding_lo, n, 0)?,
        hi: per_axis(op, "padding_hi", padding_hi, n, 0)?,
        kernel_dilation: per_axis(op, "kernel_dilation", kernel_dilation, n, 1)?,
        input_dilation: per_axis(op, "input_dilation", input_dilation, n, 1)?,
        groups,
        flip,
    };
    conv_nd(&spec, input, weight, n)
}

/// Transposed convolution over `n` spatial axes (MLX's `conv_transpose_general`): the gradient
/// of a strided convolution with respect to its input, as one [`conv_general`] with the input
/// dilated by `stride`, the kernel flipped and padded by `dilation * (k - 1) - padding` before
/// and that plus `output_padding` after each axis. `weight` is `(C_out, K…, C_in / groups)`.
#[allow(clippy::too_many_arguments)]
fn conv_transpose_nd(
    op: &str,
    input: &Array,
    weight: &Array,
    stride: &[usize],
    padding: &[usize],
    dilation: &[usize],
    output_padding: &[usize],
    groups: usize,
) -> Result<Array> {
    let n = stride.len();
    if weight.ndim() != n + 2 {
        bail!(
            Shape,
            "[{op}] weight must be {}-D (C_out, kernel…, C_in), got shape {:?}",
            n + 2,
            weight.shape()
        );
    }
    let (mut lo, mut hi) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        if *stride.at(i)? == 0 || *dilation.at(i)? == 0 {
            bail!(
                Value,
                "[{op}] stride and dilation must be positive, got {stride:?} and {dilation:?}"
            );
        }
        let span = *dilation.at(i)? * ((*weight.shape().at(1 + i)?).max(1) - 1);
        if *padding.at(i)? > span {
            bail!(
                Value,
                "[{op}] padding {} on axis {i} exceeds dilation * (kernel - 1) = {span}",
                *padding.at(i)?
            );
        }
        lo.push(span - *padding.at(i)?);
        hi.push(span - *padding.at(i)? + *output_padding.at(i)?);
    }
    let spec = ConvSpec {
        op,
        stride: vec![1; n],
        lo,
        hi,
        kernel_dilation: dilation.to_vec(),
        input_dilation: stride.to_vec(),
        groups,
        flip: true,
    };
    conv_nd(&spec, input, weight, n)
}

/// 1-D transposed convolution over `(N, L, C_in)` with a `(C_out, K, C_in / groups)` weight
/// (MLX's `mx.conv_transpose1d`): output length `(L - 1) * stride - 2 * padding + dilation *
/// (K - 1) + output_padding + 1`. Differentiable like every convolution.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[1.0f32, 2.0], &[1, 2, 1])?;
/// let w = Array::from_slice(&[1.0f32, 10.0, 100.0], &[1, 3, 1])?;
/// // each input scatters the kernel at stride 2: [1, 10, 100+2, 20, 200]
/// let y = mx::conv_transpose1d(&x, &w, 2, 0, 1, 0, 1)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![1.0, 10.0, 102.0, 20.0, 200.0]);
/// # Ok::<(), mx::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn conv_transpose1d(
    input: &Array,
    weight: &Array,
    stride: usize,
    padding: usize,
    dilation: usize,
    output_padding: usize,
    groups: usize,
) -> Result<Array> {
    conv_transpose_nd(
        "conv_transpose1d",
        input,
        weight,
        &[stride],
        &[padding],
        &[dilation],
        &[output_padding],
        groups,
    )
}

/// 2-D transposed convolution over `(N, H, W, C_in)` with a `(C_out, KH, KW, C_in / groups)`
/// weight (MLX's `mx.conv_transpose2d`); pairs are `(height, width)`, sizes as
/// [`conv_transpose1d`] per axis.
#[allow(clippy::too_many_arguments)]
pub fn conv_transpose2d(
    input: &Array,
    weight: &Array,
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
    output_padding: (usize, usize),
    groups: usize,
) -> Result<Array> {
    conv_transpose_nd(
        "conv_transpose2d",
        input,
        weight,
        &[stride.0, stride.1],
        &[padding.0, padding.1],
        &[dilation.0, dilation.1],
        &[output_padding.0, output_padding.1],
        groups,
    )
}

/// 3-D transposed convolution over `(N, D, H, W, C_in)` with a `(C_out, KD, KH, KW, C_in /
/// groups)` weight (MLX's `mx.conv_transpose3d`); sizes as [`conv_transpose1d`] per axis.
#[allow(clippy::too_many_arguments)]
pub fn conv_transpose3d(
    input: &Array,
    weight: &Array,
    stride: (usize, usize, usize),
    padding: (usize, usize, usize),
    dilation: (usize, usize, usize),
    output_padding: (usize, usize, usize),
    groups: usize,
) -> Result<Array> {
    conv_transpose_nd(
        "conv_transpose3d",
        input,
        weight,
        &[stride.0, stride.1, stride.2],
        &[padding.0, padding.1, padding.2],
        &[dilation.0, dilation.1, dilation.2],
        &[output_padding.0, output_padding.1, output_padding.2],
        groups,
    )
}

/// The discrete linear convolution of two 1-D arrays (MLX's `mx.convolve`, numpy's
/// `np.convolve`): `mode` `"full"` (every overlap, `len(a) + len(v) - 1` values), `"same"` (the
/// length of the longer input, centred) or `"valid"` (full overlaps only). The longer input is
/// slid over the shorter one, as MLX does, through [`conv1d`] with the kernel reversed.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let a = Array::from_slice(&[1.0f32, 2.0, 3.0], &[3])?;
/// let v = Array::from_slice(&[0.0f32, 1.0, 0.5], &[3])?;
/// assert_eq!(mx::convolve(&a, &v, "full")?.to_vec::<f32>()?, vec![0.0, 1.0, 2.5, 4.0, 1.5]);
/// assert_eq!(mx::convolve(&a, &v, "same")?.to_vec::<f32>()?, vec![1.0, 2.5, 4.0]);
/// assert_eq!(mx::convolve(&a, &v, "valid")?.to_vec::<f32>()?, vec![2.5]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn convolve(a: &Array, v: &Array, mode: &str) -> Result<Array> {
    if a.ndim() != 1 || v.ndim() != 1 {
        bail!(
            Shape,
            "[convolve] Inputs must be 1D, got shapes {:?} and {:?}",
            a.shape(),
            v.shape()
        );
    }
    if a.size() == 0 || v.size() == 0 {
        bail!(Shape, "[convolve] Inputs cannot be empty.");
    }
    let (input, kernel) = if a.size() < v.size() { (v, a) } else { (a, v) };
    let k = kernel.size();
    let kernel = super::flip(kernel, 0)?.reshape([1, k, 1])?;
    let mut input = input.reshape([1, -1, 1])?;
    let padding = match mode {
        "full" => k - 1,
        "valid" => 0,
        "same" if k % 2 == 1 => k / 2,
        "same" => {
            let left = k / 2;
            input = super::pad(
                &input,
                &[(0, 0), (left, left.saturating_sub(1)), (0, 0)],
                0.0,
            )?;
            0
        }
        _ => bail!(
            Value,
            "[convolve] Invalid mode {mode:?}: expected \"full\", \"same\" or \"valid\"."
        ),
    };
    conv1d(&input, &kernel, 1, padding, 1, 1)?.reshape([-1])
}
