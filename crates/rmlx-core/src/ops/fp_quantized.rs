//! MLX's floating-point quantization modes, `"mxfp4"`, `"mxfp8"` and `"nvfp4"`
//! ([`quantize_mode`], [`dequantize_mode`], [`quantized_matmul_mode`]), and the conversions
//! they are built from: [`to_fp8`], [`from_fp8`] (float8 e4m3) and [`view`] (a bit-cast).
//! As in MLX, the fp modes are composed of ops (so they differentiate and vmap as those do); the
//! affine mode keeps its fused kernels ([`crate::quantize`]).

use std::sync::Arc;

use crate::checked::Checked;
use crate::primitives::fp8::{ConvertFp8, View};
use crate::{bail, Array, Dtype, Result};

/// A quantization mode (MLX's `mode=` string).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantizationMode {
    /// Per-group scale and bias, 1–8 bits (the fused kernels of [`crate::quantize`]).
    Affine,
    /// 4-bit e2m1 values, one power-of-two (e8m0) scale per 32.
    Mxfp4,
    /// 8-bit e4m3 values, one power-of-two (e8m0) scale per 32.
    Mxfp8,
    /// 4-bit e2m1 values, one e4m3 scale per 16.
    Nvfp4,
}

impl QuantizationMode {
    /// Parses MLX's mode names.
    pub fn from_name(name: &str) -> Result<QuantizationMode> {
        Ok(match name {
            "affine" => QuantizationMode::Affine,
            "mxfp4" => QuantizationMode::Mxfp4,
            "mxfp8" => QuantizationMode::Mxfp8,
            "nvfp4" => QuantizationMode::Nvfp4,
            other => bail!(
                Value,
                "Invalid quantization mode '{other}': expected affine, mxfp4, mxfp8 or nvfp4."
            ),
        })
    }

    /// MLX's name.
    pub fn name(self) -> &'static str {
        match self {
            QuantizationMode::Affine => "affine",
            QuantizationMode::Mxfp4 => "mxfp4",
            QuantizationMode::Mxfp8 => "mxfp8",
            QuantizationMode::Nvfp4 => "nvfp4",
        }
    }

    /// The group size and bits a floating-point mode requires.
    fn fp_params(self) -> (usize, usize) {
        match self {
            QuantizationMode::Nvfp4 => (16, 4),
            QuantizationMode::Mxfp8 => (32, 8),
            _ => (32, 4),
        }
    }
}

/// `x` (float) as float8 e4m3 bytes (`uint8`), MLX's `mx.to_fp8`: round half to even,
/// saturating at ±448.
pub fn to_fp8(x: &Array) -> Result<Array> {
    if !x.dtype().is_float() {
        bail!(
            Dtype,
            "[to_fp8] Only real floating types are supported but x.dtype() == {}.",
            x.dtype()
        );
    }
    Ok(Array::from_primitive(
        x.shape().to_vec(),
        Dtype::U8,
        Arc::new(ConvertFp8 {
            to: true,
            dtype: Dtype::U8,
        }),
        vec![x.clone()],
    ))
}

/// float8 e4m3 bytes (`uint8`) as floats of `dtype`, MLX's `mx.from_fp8`.
///
/// ```
/// use rmlx_core::{self as mx, Array, Dtype};
/// let x = Array::from_slice(&[0.3f32, -1000.0, 1.0], &[3])?;
/// let back = mx::from_fp8(&mx::to_fp8(&x)?, Dtype::F32)?;
/// assert_eq!(back.to_vec::<f32>()?, vec![0.3125, -448.0, 1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn from_fp8(x: &Array, dtype: Dtype) -> Result<Array> {
    if x.dtype() != Dtype::U8 {
        bail!(
            Dtype,
            "[from_fp8] Input must have type uint8 but x.dtype() == {}.",
            x.dtype()
        );
    }
    if !dtype.is_float() {
        bail!(
            Dtype,
            "[from_fp8] Only real floating types are supported but dtype == {dtype}."
        );
    }
    Ok(Array::from_primitive(
        x.shape().to_vec(),
        dtype,
        Arc::new(ConvertFp8 { to: false, dtype }),
        vec![x.clone()],
    ))
}

/// The bytes of `a` read as `dtype` (MLX's `mx.view`): the last axis grows or shrinks by the
/// size ratio.
///
/// ```
/// use rmlx_core::{self as mx, Array, Dtype};
/// let a = Array::from_slice(&[1.0f32], &[1])?;
/// assert_eq!(mx::view(&a, Dtype::U32)?.item::<u32>()?, 0x3F80_0000);
/// assert_eq!(mx::view(&a, Dtype::U8)?.shape(), &[4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn view(a: &Array, dtype: Dtype) -> Result<Array> {
    if a.dtype() == dtype {
        return Ok(a.clone());
    }
    let (ib, ob) = (a.dtype().size(), dtype.size());
    let mut shape = a.shape().to_vec();
    if a.ndim() == 0 {
        if ib != ob {
            bail!(
                Value,
                "[view] Changing the type of a scalar is only allowed for types with the same size."
            );
        }
    } else {
        let last = shape.len() - 1;
        if ib < ob {
            if !shape.at(last)?.is_multiple_of(ob / ib) {
                bail!(
                    Value,
                    "[view] When viewing as a larger dtype, the size in bytes of the last axis must be a multiple of the requested type size."
                );
            }
            *shape.at_mut(last)? /= ob / ib;
        } else if ib > ob {
            *shape.at_mut(last)? *= ib / ob;
        }
    }
    Ok(Array::from_primitive(
        shape,
        dtype,
        Arc::new(View { dtype }),
        vec![a.clone()],
    ))
}

/// The e2m1 values, in code order.
const E2M1: [f32; 16] = [
    0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0,
];

fn check_fp(op: &str, mode: QuantizationMode, group_size: usize, bits: usize) -> Result<()> {
    let (gs, b) = mode.fp_params();
    if group_size != gs {
        bail!(
            Value,
            "[{op}] {} quantization requires group size {gs} but got {group_size}.",
            mode.name()
        );
    }
    if bits != b {
        bail!(
            Value,
            "[{op}] {} quantization requires bits to be {b} but got {bits}.",
            mode.name()
        );
    }
    Ok(())
}

/// Quantizes `w` in `mode` (MLX's `mx.quantize(w, group_size, bits, mode=...)`). The affine
/// mode returns `[wq, scales, biases]` ([`crate::quantize`]); the floating-point modes return
/// `[wq, scales]`: packed `uint32` values and `uint8` scales (e8m0 exponents for mxfp4/mxfp8,
/// e4m3 for nvfp4), MLX's bit for bit.
///
/// ```
/// use rmlx_core::{self as mx, QuantizationMode};
/// let w = mx::random::normal(&[2, 64], Some(&mx::random::key(0)))?;
/// let q = mx::quantize_mode(&w, 32, 4, QuantizationMode::Mxfp4)?;
/// assert_eq!((q[0].shape(), q[1].shape()), (&[2usize, 8][..], &[2usize, 2][..]));
/// let back = mx::dequantize_mode(&q[0], &q[1], None, 32, 4, QuantizationMode::Mxfp4, mx::Dtype::F32)?;
/// assert_eq!(back.shape(), &[2, 64]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn quantize_mode(
    w: &Array,
    group_size: usize,
    bits: usize,
    mode: QuantizationMode,
) -> Result<Vec<Array>> {
    quantize_with_global_scale(w, group_size, bits, mode, None)
}

/// NVFP4's two-level scaling: `448 * 6 / global_scale`, the factor by which a global scale
/// (the tensor's absolute maximum, a float32 scalar) stretches the per-group e4m3 scales.
fn scale_encode(global_scale: Option<&Array>) -> Result<Array> {
    match global_scale {
        Some(g) => &Array::scalar_as(448.0 * 6.0, Dtype::F32) / g,
        None => Ok(Array::scalar_as(1.0, Dtype::F32)),
    }
}

/// MLX's checks of a `global_scale` argument: nvfp4 only, one float32 element.
pub(crate) fn check_global_scale(
    op: &str,
    mode: QuantizationMode,
    global_scale: Option<&Array>,
) -> Result<()> {
    let Some(g) = global_scale else {
        return Ok(());
    };
    if mode != QuantizationMode::Nvfp4 {
        bail!(
            Value,
            "[{op}] Global scale is only supported for 'nvfp4' quantization mode."
        );
    }
    if g.size() != 1 {
        bail!(
            Value,
            "[{op}] Global scale must be a scalar but got shape {}.",
            crate::transforms::fmt_shape(g.shape())
        );
    }
    if g.dtype() != Dtype::F32 {
        bail!(
            Dtype,
            "[{op}] Global scale must have dtype float32 but got {}.",
            g.dtype()
        );
    }
    Ok(())
}

/// [`quantize_mode`] with NVFP4's optional `global_scale` (MLX's `mx.quantize(w, mode="nvfp4",
/// global_scale=...)`): a float32 scalar, conventionally the tensor's absolute maximum, so the
/// e4m3 group scales `max|w_group| / 6 * (448 * 6 / global_scale)` use e4m3's whole range.
/// Dequantize with the same scale ([`dequantize_with_global_scale`]).
///
/// ```
/// use rmlx_core::{self as mx, Array, Dtype, QuantizationMode};
/// let w = mx::random::normal(&[2, 32], Some(&mx::random::key(1)))?;
/// let g = w.abs()?.max(None, false)?; // the tensor's absolute maximum
/// let q = mx::quantize_with_global_scale(&w, 16, 4, QuantizationMode::Nvfp4, Some(&g))?;
/// let back = mx::dequantize_with_global_scale(&q[0], &q[1], None, 16, 4, QuantizationMode::Nvfp4, Some(&g), Dtype::F32)?;
/// assert!((&back - &w)?.abs()?.max(None, false)?.item::<f32>()? < 0.5);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn quantize_with_global_scale(
    w: &Array,
    group_size: usize,
    bits: usize,
    mode: QuantizationMode,
    global_scale: Option<&Array>,
) -> Result<Vec<Array>> {
    check_global_scale("quantize", mode, global_scale)?;
    if mode == QuantizationMode::Affine {
        let (q, s, b) = crate::quantize(w, group_size, bits)?;
        return Ok(vec![q, s, b]);
    }
    check_fp("quantize", mode, group_size, bits)?;
    super::quantized::check_quantizable(w, group_size)?;
    let dt = w.dtype();
    let maxval = if bits == 4 { 6.0 } else { 448.0 };
    let mut out_shape: Vec<isize> = w.shape().iter().map(|&d| d as isize).collect();
    let last = out_shape.len() - 1;
    *out_shape.at_mut(last)? = -1;
    let wq = w.reshape([-1, group_size as isize])?;
    let mut scales = (&wq.abs()?.max(-1, true)? / &Array::scalar_as(maxval, dt))?;
    let wq = if group_size == 16 {
        // e4m3 scales, stretched by the global scale's encoding factor when there is one
        // (MLX multiplies by a float32 1.0 without one: the same values)
        if global_scale.is_some() {
            let enc = scale_encode(global_scale)?;
            scales = to_fp8(&(&scales * &enc)?)?;
            (&(&wq / &from_fp8(&scales, dt)?)? * &enc)?
        } else {
            scales = to_fp8(&scales)?;
            (&wq / &from_fp8(&scales, dt)?)?
        }
    } else {
        // e8m0 scales: the exponent rounded up (MLX 0.32.4's CPU results: `ceil`, so no value
        // of the group exceeds the element format's maximum)
        let z = Array::scalar_as(0.0, scales.dtype());
        let e = scales.log2()?.ceil()?.astype(Dtype::I32)?;
        let exps = crate::where_(&scales.equal(&z)?, &Array::scalar_as(0.0, Dtype::I32), &e)?;
        let w2 = (&wq / &crate::power(&Array::scalar_as(2.0, dt), &exps)?)?;
        scales = (&exps + &Array::scalar_as(127.0, Dtype::I32))?.astype(Dtype::U8)?;
        w2
    };
    let packed = if bits == 4 {
        let lut = Array::from_slice(&E2M1, &[16])?.astype(dt)?;
        let codes = crate::argmin(&(&wq.expand_dims(-1)? - &lut)?.abs()?, -1, false)?;
        let codes = codes.astype(Dtype::U32)?.reshape([-1isize, 4, 8])?;
        let shifts: Vec<u32> = (0..8).map(|k| 1u32 << (4 * k)).collect();
        let shifts = Array::from_slice(&shifts, &[8])?;
        (&codes * &shifts)?.sum(-1, false)?
    } else {
        view(&to_fp8(&wq)?, Dtype::U32)?
    };
    Ok(vec![
        packed.reshape(out_shape.clone())?,
        scales.reshape(out_shape)?,
    ])
}

/// Dequantizes `w` (packed `uint32`) with its `scales` (and, for the affine mode, `biases`) to
/// `dtype` (MLX's `mx.dequantize(..., mode=...)`).
#[allow(clippy::too_many_arguments)]
pub fn dequantize_mode(
    w: &Array,
    scales: &Array,
    biases: Option<&Array>,
    group_size: usize,
    bits: usize,
    mode: QuantizationMode,
    dtype: Dtype,
) -> Result<Array> {
    dequantize_with_global_scale(w, scales, biases, group_size, bits, mode, None, dtype)
}

/// [`dequantize_mode`] with NVFP4's optional `global_scale` (MLX's `mx.dequantize(...,
/// mode="nvfp4", global_scale=...)`). As in MLX 0.32.4, a global scale makes the result
/// float32 whatever `dtype` asks (the float32 scale promotes it).
#[allow(clippy::too_many_arguments)]
pub fn dequantize_with_global_scale(
    w: &Array,
    scales: &Array,
    biases: Option<&Array>,
    group_size: usize,
    bits: usize,
    mode: QuantizationMode,
    global_scale: Option<&Array>,
    dtype: Dtype,
) -> Result<Array> {
    check_global_scale("dequantize", mode, global_scale)?;
    if mode == QuantizationMode::Affine {
        let Some(b) = biases else {
            bail!(
                Value,
                "[dequantize] Biases must be provided for affine quantization."
            );
        };
        return crate::dequantize(w, scales, b, group_size, bits)?.astype(dtype);
    }
    check_fp("dequantize", mode, group_size, bits)?;
    if biases.is_some() {
        bail!(
            Value,
            "[dequantize] Biases are not used in {} quantization.",
            mode.name()
        );
    }
    if w.dtype() != Dtype::U32 || scales.dtype() != Dtype::U8 {
        bail!(
            Dtype,
            "[dequantize] {} expects uint32 weights and uint8 scales, got {} and {}.",
            mode.name(),
            w.dtype(),
            scales.dtype()
        );
    }
    let (ws, ss) = (w.shape(), scales.shape());
    if ws.is_empty()
        || ws.len() != ss.len()
        || ws.span(..ws.len() - 1)? != ss.span(..ss.len() - 1)?
    {
        bail!(
            Shape,
            "[dequantize] Shape of scales does not match the matrix"
        );
    }
    let out_size = *ws.at(ws.len() - 1)? * 32 / bits;
    if out_size != *ss.at(ss.len() - 1)? * group_size {
        bail!(
            Shape,
            "[dequantize] Shape of scales does not match the matrix given the quantization parameters. Provided matrix of shape {ws:?} and scales of shape {ss:?}."
        );
    }
    let values = if bits == 4 {
        let lut = Array::from_slice(&E2M1, &[16])?.astype(dtype)?;
        let bytes = view(w, Dtype::U8)?;
        let lo = crate::take(
            &lut,
            &(&bytes & &Array::scalar_as(15.0, Dtype::U8))?,
            Some(0),
        )?;
        let hi = crate::take(
            &lut,
            &crate::right_shift(&bytes, &Array::scalar_as(4.0, Dtype::U8))?,
            Some(0),
        )?;
        crate::stack(&[lo, hi], -1)?
    } else {
        from_fp8(&view(w, Dtype::U8)?, dtype)?
    };
    let values = values.reshape([-1isize, group_size as isize])?;
    let s = scales.reshape([-1isize, 1])?;
    let s = if group_size == 16 {
        match global_scale {
            Some(g) => {
                let inv = (g / &Array::scalar_as(448.0 * 6.0, dtype))?;
                (&from_fp8(&s, dtype)? * &inv)?
            }
            None => from_fp8(&s, dtype)?,
        }
    } else {
        let e = (&s.astype(dtype)? - &Array::scalar_as(127.0, dtype))?;
        crate::power(&Array::scalar_as(2.0, dtype), &e)?
    };
    let mut shape = ws.to_vec();
    let last = shape.len() - 1;
    *shape.at_mut(last)? = out_size;
    (&values * &s)?.reshape(shape)
}

/// `x @ dequantize(w).T` (`transpose`) or `x @ dequantize(w)` in `mode` (MLX's
/// `mx.quantized_matmul(..., mode=...)`); the affine mode takes the fused kernels.
#[allow(clippy::too_many_arguments)]
pub fn quantized_matmul_mode(
    x: &Array,
    w: &Array,
    scales: &Array,
    biases: Option<&Array>,
    transpose: bool,
    group_size: usize,
    bits: usize,
    mode: QuantizationMode,
) -> Result<Array> {
    if mode == QuantizationMode::Affine {
        let Some(b) = biases else {
            bail!(
                Value,
                "[quantized_matmul] Biases must be provided for affine quantization."
            );
        };
        return crate::quantized_matmul(x, w, scales, b, transpose, group_size, bits);
    }
    let wd = dequantize_mode(w, scales, biases, group_size, bits, mode, x.dtype())?;
    let wd = if transpose { wd.swapaxes(-1, -2)? } else { wd };
    x.matmul(&wd)
}
