//! Products with both operands quantized (MLX's `mx.qqmm` and `mx.gather_qqmm`): the input `x`
//! is quantized on the fly, and so is the weight unless it comes quantized. Each operand is
//! quantized along its last axis in a floating-point mode (nvfp4, mxfp8, mxfp4) and the product
//! is taken of the dequantized values, which is exactly what MLX's reference computes
//! (`dequantize(quantize(x)) @ dequantize(w_q).T`); MLX 0.32.4 runs these only on CUDA.
//!
//! `qqmm` is one graph node (a [`CustomFunction`] named `QQMatmul`) with MLX's reverse rule, the
//! straight-through estimator MLX uses to train through the quantizer: the cotangent is itself
//! quantized and multiplied by the (re-quantized) other operand, so the gradient of `x` is
//! `qqmm(cot, w.T)` and that of `w` is `qqmm(cot.T, x.T)`.

use super::fp_quantized::check_global_scale;
use super::{dequantize_with_global_scale, quantize_with_global_scale, QuantizationMode};
use crate::checked::Checked;
use crate::transforms::{fmt_shape, CustomFunction};
use crate::{bail, Array, Dtype, Result};

/// The `(group_size, bits)` of a floating-point mode when the caller gives `None` (MLX's
/// `quantization_params_from_mode`), and the mode checked: `qqmm` quantizes `x` without biases,
/// so the affine mode is refused.
fn qq_params(
    op: &str,
    mode: QuantizationMode,
    group_size: Option<usize>,
    bits: Option<usize>,
) -> Result<(usize, usize)> {
    let (g, b) = match mode {
        QuantizationMode::Nvfp4 => (16, 4),
        QuantizationMode::Mxfp8 => (32, 8),
        QuantizationMode::Mxfp4 => (32, 4),
        QuantizationMode::Affine => bail!(
            Value,
            "[{op}] The affine mode is not supported: the input is quantized without biases. Use 'nvfp4', 'mxfp8' or 'mxfp4'."
        ),
    };
    Ok((group_size.unwrap_or(g), bits.unwrap_or(b)))
}

/// `a` quantized along its last axis and dequantized to `dtype` (float32 with a global scale,
/// as MLX's dequantize gives).
fn fake_quantize(
    a: &Array,
    group_size: usize,
    bits: usize,
    mode: QuantizationMode,
    global_scale: Option<&Array>,
    dtype: Dtype,
) -> Result<Array> {
    let q = quantize_with_global_scale(a, group_size, bits, mode, global_scale)?;
    dequantize_with_global_scale(
        q.at(0)?,
        q.at(1)?,
        None,
        group_size,
        bits,
        mode,
        global_scale,
        dtype,
    )
}

fn check_float(op: &str, which: &str, a: &Array) -> Result<()> {
    if !a.dtype().is_float() || a.dtype() == Dtype::F64 {
        bail!(
            Dtype,
            "[{op}] Only real floating types except float64 are supported but {which} argument dtype == {}.",
            a.dtype()
        );
    }
    Ok(())
}

/// Checks a packed `uint32` weight `[.., N, K * bits / 32]` and its `scales`
/// `[.., N, K / group_size]` against `x`'s inner size `k`; returns `K`.
fn check_quantized_weight(
    op: &str,
    x: &Array,
    w: &Array,
    scales: &Array,
    group_size: usize,
    bits: usize,
) -> Result<usize> {
    if scales.dtype() != Dtype::U8 {
        bail!(
            Dtype,
            "[{op}] Scales of a floating-point mode must be uint8 but got {}.",
            scales.dtype()
        );
    }
    let (ws, ss) = (w.shape(), scales.shape());
    if ws.len() < 2
        || ws.len() != ss.len()
        || ws.span(..ws.len() - 1)? != ss.span(..ss.len() - 1)?
    {
        bail!(
            Shape,
            "[{op}] The shape of the scales {ss:?} does not match the quantized matrix {ws:?}."
        );
    }
    let k = *ws.at(ws.len() - 1)? * 32 / bits;
    if k != *ss.at(ss.len() - 1)? * group_size {
        bail!(
            Shape,
            "[{op}] The shape of the scales {ss:?} does not match the quantized matrix {ws:?} given group_size={group_size} and bits={bits}."
        );
    }
    if x.shape().last() != Some(&k) {
        bail!(
            Shape,
            "[{op}] Last dimension of first input with shape {:?} must match the {k} inputs of the quantized second input with shape {ws:?}.",
            x.shape()
        );
    }
    Ok(k)
}

/// The product of quantized `x` and quantized `w` (MLX's `mx.qqmm`): `x` `[M, K]` (or `[K]`, or
/// `[..., M, K]` when `w` is 2-D) is quantized on the fly along `K`; `w` is either unquantized
/// `[N, K]` (and then quantized on the fly, so it can receive gradients), or packed `uint32`
/// `[N, K * bits / 32]` with its `scales`, as [`quantize_mode`](crate::quantize_mode) returns.
/// The result is `[M, N]` in `x`'s dtype.
///
/// `group_size`/`bits` default to the mode's (nvfp4: 16 and 4; mxfp8: 32 and 8; mxfp4: 32 and
/// 4). `global_scales` (`(x's, w's)`, float32 scalars) are nvfp4's two-level scales
/// ([`quantize_with_global_scale`]); MLX takes both or neither.
///
/// ```
/// use rmlx_core::{self as mx, Dtype, QuantizationMode::Nvfp4};
/// let x = mx::random::normal(&[2, 32], Some(&mx::random::key(0)))?;
/// let w = mx::random::normal(&[3, 32], Some(&mx::random::key(1)))?;
/// let y = mx::qqmm(&x, &w, None, None, None, Nvfp4, None)?;
/// // the product of the two quantized operands
/// let xq = mx::quantize_mode(&x, 16, 4, Nvfp4)?;
/// let wq = mx::quantize_mode(&w, 16, 4, Nvfp4)?;
/// let xd = mx::dequantize_mode(&xq[0], &xq[1], None, 16, 4, Nvfp4, Dtype::F32)?;
/// let wd = mx::dequantize_mode(&wq[0], &wq[1], None, 16, 4, Nvfp4, Dtype::F32)?;
/// let want = xd.matmul(&wd.t()?)?;
/// assert!((&y - &want)?.abs()?.max(None, false)?.item::<f32>()? < 1e-5);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn qqmm(
    x: &Array,
    w: &Array,
    scales: Option<&Array>,
    group_size: Option<usize>,
    bits: Option<usize>,
    mode: QuantizationMode,
    global_scales: Option<(&Array, &Array)>,
) -> Result<Array> {
    let (gs, bits) = qq_params("qqmm", mode, group_size, bits)?;
    let in_shape = x.shape().to_vec();
    let x2 = match x.ndim() {
        1 => x.expand_dims(0)?,
        n if n > 2 && w.ndim() == 2 => x.reshape([-1, *in_shape.at(n - 1)? as isize])?,
        _ => x.clone(),
    };
    if x2.ndim() > 2 || w.ndim() > 2 || x2.ndim() < 1 || w.ndim() < 2 {
        bail!(
            Shape,
            "[qqmm] Only 2D inputs are supported but x.ndim() == {} and w.ndim() == {}.",
            x2.ndim(),
            w.ndim()
        );
    }
    check_float("qqmm", "first", &x2)?;
    check_weight("qqmm", &x2, w, scales, (gs, bits, mode), global_scales)?;
    let n = *w.shape().at(0)?;
    let quantized = w.dtype() == Dtype::U32;
    let inputs = node_inputs(vec![x2, w.clone()], scales, global_scales);
    let layout = Layout {
        gs,
        bits,
        mode,
        quantized,
        global: global_scales.is_some(),
        scales_at: 2,
    };
    let out = qq_function(layout)
        .call(&inputs)?
        .into_iter()
        .next()
        .ok_or_else(|| crate::Error::Transform("[qqmm] no output".into()))?;
    match in_shape.len() {
        1 => out.squeeze([0]),
        d if d > 2 => {
            let mut shape: Vec<usize> = in_shape.span(..d - 1)?.to_vec();
            shape.push(n);
            out.reshape(shape)
        }
        _ => Ok(out),
    }
}

/// Where a node's inputs keep what it multiplies: the packed weight's scales at `scales_at`
/// (when the weight comes quantized), the two global scales last (when given).
#[derive(Clone, Copy)]
struct Layout {
    gs: usize,
    bits: usize,
    mode: QuantizationMode,
    quantized: bool,
    global: bool,
    scales_at: usize,
}

impl Layout {
    /// `(x's, w's)` global scales among the node's inputs.
    fn globals<'a>(&self, p: &'a [Array]) -> (Option<&'a Array>, Option<&'a Array>) {
        if self.global {
            (p.get(p.len() - 2), p.last())
        } else {
            (None, None)
        }
    }

    /// `x` and `w` (inputs 0 and 1) quantized and dequantized to `x`'s dtype; `w` as rows
    /// `[.., N, K]`.
    fn operands(&self, p: &[Array]) -> Result<(Array, Array)> {
        let (x, w) = (p.at(0)?, p.at(1)?);
        let (gx, gw) = self.globals(p);
        let (gs, bits, mode, dt) = (self.gs, self.bits, self.mode, x.dtype());
        let xd = fake_quantize(x, gs, bits, mode, gx, dt)?;
        let wd = if self.quantized {
            let s = p.at(self.scales_at)?;
            dequantize_with_global_scale(w, s, None, gs, bits, mode, gw, dt)?
        } else {
            fake_quantize(w, gs, bits, mode, gw, dt)?
        };
        Ok((xd, wd))
    }
}

/// MLX's checks of `qqmm`'s weight (packed with scales, or float with none) against `x`, and
/// of the global scales.
fn check_weight(
    op: &str,
    x: &Array,
    w: &Array,
    scales: Option<&Array>,
    (gs, bits, mode): (usize, usize, QuantizationMode),
    global_scales: Option<(&Array, &Array)>,
) -> Result<()> {
    match (w.dtype() == Dtype::U32, scales) {
        (true, None) => bail!(
            Value,
            "[{op}] Scales must be provided if second argument is quantized."
        ),
        (true, Some(s)) => {
            check_quantized_weight(op, x, w, s, gs, bits)?;
        }
        (false, Some(_)) => bail!(
            Value,
            "[{op}] Scales are only used with a quantized (uint32) second argument, which was {}.",
            w.dtype()
        ),
        (false, None) => {
            check_float(op, "second", w)?;
            if x.shape().last() != w.shape().last() {
                bail!(
                    Shape,
                    "[{op}] Last dimension of first input with shape {} must match last dimension of second input with shape {}.",
                    fmt_shape(x.shape()),
                    fmt_shape(w.shape())
                );
            }
        }
    }
    if let Some((gx, gw)) = global_scales {
        check_global_scale(op, mode, Some(gx))?;
        check_global_scale(op, mode, Some(gw))?;
    }
    Ok(())
}

/// `base` followed by the scales and the global scales that are given.
fn node_inputs(
    base: Vec<Array>,
    scales: Option<&Array>,
    global_scales: Option<(&Array, &Array)>,
) -> Vec<Array> {
    let mut inputs = base;
    inputs.extend(scales.cloned());
    if let Some((gx, gw)) = global_scales {
        inputs.push(gx.clone());
        inputs.push(gw.clone());
    }
    inputs
}

/// The graph node of [`qqmm`] over `[x, w, (scales), (global_scale_x, global_scale_w)]`.
fn qq_function(layout: Layout) -> CustomFunction {
    let Layout {
        gs,
        bits,
        mode,
        quantized,
        ..
    } = layout;
    let forward = move |p: &[Array]| -> Result<Vec<Array>> {
        let (xd, wd) = layout.operands(p)?;
        Ok(vec![xd
            .matmul(&wd.swapaxes(-1, -2)?)?
            .astype(p.at(0)?.dtype())?])
    };
    CustomFunction::new(forward)
        .named("QQMatmul")
        .with_vjp(move |p: &[Array], cots: &[Array], _| {
            let (x, w, cot) = (p.at(0)?, p.at(1)?, cots.at(0)?);
            let (gx, gw) = layout.globals(p);
            // MLX: the cotangent's own global scale is its absolute maximum
            let gc = if layout.global {
                Some(cot.abs()?.max(None, false)?.astype(Dtype::F32)?)
            } else {
                None
            };
            let w_full = if quantized {
                dequantize_with_global_scale(w, p.at(2)?, None, gs, bits, mode, gw, x.dtype())?
            } else {
                w.clone()
            };
            let gx_out = qqmm(
                cot,
                &w_full.swapaxes(-1, -2)?,
                None,
                Some(gs),
                Some(bits),
                mode,
                gc.as_ref().zip(gw),
            )?;
            let mut grads = vec![gx_out];
            if quantized {
                // a packed weight and its scales get no gradient (MLX: pass `w` unquantized
                // to train it)
                grads.push(super::zeros_like(w)?);
                grads.push(super::zeros_like(p.at(2)?)?);
            } else {
                grads.push(qqmm(
                    &cot.swapaxes(-1, -2)?,
                    &x.swapaxes(-1, -2)?,
                    None,
                    Some(gs),
                    Some(bits),
                    mode,
                    gc.as_ref().zip(gx),
                )?);
            }
            for g in p.span(grads.len()..)? {
                grads.push(super::zeros_like(g)?);
            }
            Ok(grads)
        })
        .with_jvp(|_, _, _| {
            bail!(
                Transform,
                "[QQMatmul] jvp is not implemented (as in MLX); use vjp or grad, whose rule is the straight-through estimator."
            )
        })
}

/// [`qqmm`] of gathered matrices (MLX's `mx.gather_qqmm`): for every position `i` of the
/// broadcast index arrays, `qqmm(x[lhs_indices[i]], w[rhs_indices[i]])`, where an index counts
/// the matrices of `x` (`[..., M, K]`) or `w` (`[..., N, K]`, or packed with `scales`) in
/// row-major order over their batch axes; a missing index array is the operand's own batch
/// order. The result is `broadcast(lhs, rhs).shape + [M, N]` in `x`'s dtype. As in MLX, it has
/// no derivative rules (an error names `GatherQQMM`); `sorted_indices` is MLX's hint for its
/// GPU kernel and changes nothing here.
///
/// ```
/// use rmlx_core::{self as mx, Array, QuantizationMode::Mxfp8};
/// let x = mx::random::normal(&[2, 1, 32], Some(&mx::random::key(0)))?;
/// let experts = mx::random::normal(&[3, 4, 32], Some(&mx::random::key(1)))?; // 3 experts
/// let route = Array::from_slice(&[2u32, 0], &[2])?;
/// let y = mx::gather_qqmm(&x, &experts, None, None, Some(&route), None, None, Mxfp8, None, false)?;
/// assert_eq!(y.shape(), &[2, 1, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
#[allow(clippy::too_many_arguments)] // MLX's signature
pub fn gather_qqmm(
    x: &Array,
    w: &Array,
    scales: Option<&Array>,
    lhs_indices: Option<&Array>,
    rhs_indices: Option<&Array>,
    group_size: Option<usize>,
    bits: Option<usize>,
    mode: QuantizationMode,
    global_scales: Option<(&Array, &Array)>,
    sorted_indices: bool,
) -> Result<Array> {
    let _ = sorted_indices;
    let (gs, bits) = qq_params("gather_qqmm", mode, group_size, bits)?;
    check_float("gather_qqmm", "first", x)?;
    if x.ndim() < 2 || w.ndim() < 2 {
        bail!(
            Shape,
            "[gather_qqmm] Inputs must have at least two dimensions but got shapes {:?} and {:?}.",
            x.shape(),
            w.shape()
        );
    }
    check_weight("gather_qqmm", x, w, scales, (gs, bits, mode), global_scales)?;
    let lhs = super::gathered_mm::batch_indices("gather_qqmm", lhs_indices, x)?;
    let rhs = super::gathered_mm::batch_indices("gather_qqmm", rhs_indices, w)?;
    let inputs = node_inputs(vec![x.clone(), w.clone(), lhs, rhs], scales, global_scales);
    let layout = Layout {
        gs,
        bits,
        mode,
        quantized: w.dtype() == Dtype::U32,
        global: global_scales.is_some(),
        scales_at: 4,
    };
    let forward = move |p: &[Array]| -> Result<Vec<Array>> {
        let (xd, wd) = layout.operands(p)?;
        let wd = wd.swapaxes(-1, -2)?;
        let y = super::gather_mm(&xd, &wd, Some(p.at(2)?), Some(p.at(3)?), false)?;
        Ok(vec![y.astype(p.at(0)?.dtype())?])
    };
    let f = CustomFunction::new(forward)
        .named("GatherQQMM")
        .with_vjp(|_, _, _| {
            bail!(
                Transform,
                "[GatherQQMM] vjp is not implemented (as in MLX); differentiate qqmm of the gathered matrices instead."
            )
        })
        .with_jvp(|_, _, _| {
            bail!(
                Transform,
                "[GatherQQMM] jvp is not implemented (as in MLX)."
            )
        });
    let out = f.call(&inputs)?;
    out.into_iter()
        .next()
        .ok_or_else(|| crate::Error::Transform("[gather_qqmm] no output".into()))
}
