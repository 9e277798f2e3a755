//! Fused ops, as `mlx.core.fast`: [`layer_norm`], [`rms_norm`], [`rope`] and
//! [`scaled_dot_product_attention`]. Each is one primitive with a single-pass CPU kernel, and
//! differentiable in every float input.

use std::sync::Arc;

use crate::backend::cpu::norm::RopeParams;
use crate::checked::Checked;
use crate::primitives::fast::{rope_node, LayerNorm, MaskKind, RmsNorm, ScaledDotProductAttention};
use crate::{bail, Array, Dtype, Result};

fn norm_dtype(op: &str, arrays: &[&Array]) -> Result<Dtype> {
    let mut d = arrays.at(0)?.dtype();
    for a in arrays.span(1..)? {
        d = Dtype::promote(d, a.dtype());
    }
    if !d.is_float() {
        bail!(Dtype, "{op}: unsupported dtype {d} (float types only)");
    }
    Ok(d)
}

fn check_vector(op: &str, what: &str, v: &Array, x: &Array) -> Result<()> {
    let d = x.shape().last().copied().unwrap_or(0);
    if v.ndim() != 1 || *v.shape().at(0)? != d {
        bail!(
            Shape,
            "{op}: {what} must have shape [{d}] (the last axis of x {:?}), got {:?}",
            x.shape(),
            v.shape()
        );
    }
    Ok(())
}

/// Layer normalisation over the last axis: `(x - mean) / sqrt(var + eps) * weight + bias`
/// (biased variance; `weight`/`bias` of shape `[x.shape[-1]]`, each optional). f16/bf16 inputs
/// accumulate in f32.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[1, 4])?;
/// let y = mx::fast::layer_norm(&x, None, None, 0.0)?.to_vec::<f32>()?;
/// assert!((y[0] + 1.3416407).abs() < 1e-6 && (y[3] - 1.3416407).abs() < 1e-6);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn layer_norm(
    x: &Array,
    weight: Option<&Array>,
    bias: Option<&Array>,
    eps: f64,
) -> Result<Array> {
    if x.ndim() == 0 {
        bail!(
            Shape,
            "layer_norm: x must have at least one axis, got a 0-d array"
        );
    }
    let mut all = vec![x];
    if let Some(w) = weight {
        check_vector("layer_norm", "weight", w, x)?;
        all.push(w);
    }
    if let Some(b) = bias {
        check_vector("layer_norm", "bias", b, x)?;
        all.push(b);
    }
    let dtype = norm_dtype("layer_norm", &all)?;
    let inputs = all
        .iter()
        .map(|a| a.astype(dtype))
        .collect::<Result<Vec<_>>>()?;
    Ok(Array::from_primitive(
        x.shape().to_vec(),
        dtype,
        Arc::new(LayerNorm {
            eps,
            has_weight: weight.is_some(),
            has_bias: bias.is_some(),
        }),
        inputs,
    ))
}

/// RMS normalisation over the last axis: `x / sqrt(mean(x^2) + eps) * weight` (`weight` of shape
/// `[x.shape[-1]]`, optional).
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[3.0f32, 4.0], &[2])?;
/// let y = mx::fast::rms_norm(&x, None, 0.0)?.to_vec::<f32>()?;
/// assert!((y[0] - 0.8485281).abs() < 1e-6);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn rms_norm(x: &Array, weight: Option<&Array>, eps: f64) -> Result<Array> {
    if x.ndim() == 0 {
        bail!(
            Shape,
            "rms_norm: x must have at least one axis, got a 0-d array"
        );
    }
    let mut all = vec![x];
    if let Some(w) = weight {
        check_vector("rms_norm", "weight", w, x)?;
        all.push(w);
    }
    let dtype = norm_dtype("rms_norm", &all)?;
    let inputs = all
        .iter()
        .map(|a| a.astype(dtype))
        .collect::<Result<Vec<_>>>()?;
    Ok(Array::from_primitive(
        x.shape().to_vec(),
        dtype,
        Arc::new(RmsNorm {
            eps,
            has_weight: weight.is_some(),
        }),
        inputs,
    ))
}

/// Rotary position embedding (MLX's `fast.rope`): the first `dims` features of the last axis
/// are rotated in pairs by `theta = (offset + position) * scale * base^(-2i/dims)`, position
/// along axis -2. `traditional` pairs consecutive features `(2i, 2i+1)`; otherwise feature `i`
/// pairs with `i + dims/2`. Features past `dims` pass through.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[1.0f32, 0.0, 1.0, 0.0], &[2, 2])?;
/// let y = mx::fast::rope(&x, 2, true, 10000.0, 1.0, 0)?.to_vec::<f32>()?;
/// assert_eq!(y[0], 1.0); // position 0: no rotation
/// assert!((y[2] - 1f32.cos()).abs() < 1e-6 && (y[3] - 1f32.sin()).abs() < 1e-6);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn rope(
    x: &Array,
    dims: usize,
    traditional: bool,
    base: f64,
    scale: f64,
    offset: i64,
) -> Result<Array> {
    if x.ndim() < 2 {
        bail!(
            Shape,
            "rope: input must have at least 2 dimensions (.., sequence, features), got {:?}",
            x.shape()
        );
    }
    let d = *x.shape().at(x.ndim() - 1)?;
    if dims > d || !dims.is_multiple_of(2) {
        bail!(
            Value,
            "rope: dims must be even and at most the feature size {d}, got {dims}"
        );
    }
    if !x.dtype().is_float() {
        bail!(
            Dtype,
            "rope: unsupported dtype {} (float types only)",
            x.dtype()
        );
    }
    rope_node(
        x,
        RopeParams {
            dims,
            traditional,
            base,
            scale,
            offset,
            inverse: false,
        },
    )
}

/// The mask of [`scaled_dot_product_attention`].
#[derive(Clone, Copy)]
pub enum SdpaMask<'a> {
    /// Attend everywhere.
    None,
    /// A float mask added to the scores, or a bool mask keeping `true` positions; broadcast to
    /// `[B, H, Lq, Lk]`.
    Array(&'a Array),
    /// Query `i` sees keys `j <= i + Lk - Lq`.
    Causal,
}

/// Fused attention `softmax(scale * q @ k^T + mask) @ v` over `q [B, H, Lq, D]`,
/// `k [B, Hkv, Lk, D]`, `v [B, Hkv, Lk, Dv]` (grouped queries: `H` a multiple of `Hkv`).
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// use mx::fast::{scaled_dot_product_attention, SdpaMask};
/// let q = Array::from_slice(&[1.0f32, 0.0], &[1, 1, 1, 2])?;
/// let k = Array::from_slice(&[1.0f32, 0.0, 0.0, 1.0], &[1, 1, 2, 2])?;
/// let v = Array::from_slice(&[1.0f32, 3.0], &[1, 1, 2, 1])?;
/// let o = scaled_dot_product_attention(&q, &k, &v, 0.0, SdpaMask::None)?;
/// assert_eq!(o.to_vec::<f32>()?, vec![2.0]); // scale 0: uniform weights
/// # Ok::<(), mx::Error>(())
/// ```
pub fn scaled_dot_product_attention(
    q: &Array,
    k: &Array,
    v: &Array,
    scale: f64,
    mask: SdpaMask,
) -> Result<Array> {
    const OP: &str = "scaled_dot_product_attention";
    if q.ndim() != 4 || k.ndim() != 4 || v.ndim() != 4 {
        bail!(
            Shape,
            "{OP}: q, k, v must be 4-D [B, H, L, D], got {:?}, {:?}, {:?}",
            q.shape(),
            k.shape(),
            v.shape()
        );
    }
    let (qs, ks, vs) = (q.shape(), k.shape(), v.shape());
    if ks.span(..3)? != vs.span(..3)? || *qs.at(0)? != *ks.at(0)? || *qs.at(3)? != *ks.at(3)? {
        bail!(
            Shape,
            "{OP}: shapes do not fit: q {qs:?}, k {ks:?}, v {vs:?} (need q [B,H,Lq,D], k [B,Hkv,Lk,D], v [B,Hkv,Lk,Dv])"
        );
    }
    if *ks.at(1)? == 0 || *qs.at(1)? % *ks.at(1)? != 0 {
        bail!(
            Shape,
            "{OP}: query heads {} must be a multiple of key/value heads {}",
            *qs.at(1)?,
            *ks.at(1)?
        );
    }
    let dtype = norm_dtype(OP, &[q, k, v])?;
    let (q, mut k, mut v) = (q.astype(dtype)?, k.astype(dtype)?, v.astype(dtype)?);
    if *ks.at(1)? != *qs.at(1)? {
        // grouped-query attention: repeat each key/value head for its group of query heads
        let rep = *qs.at(1)? / *ks.at(1)?;
        let expand = |a: &Array| -> Result<Array> {
            let s = a.shape().to_vec();
            a.reshape([*s.at(0)?, *s.at(1)?, 1, *s.at(2)?, *s.at(3)?])?
                .broadcast_to(&[*s.at(0)?, *s.at(1)?, rep, *s.at(2)?, *s.at(3)?])?
                .reshape([*s.at(0)?, *s.at(1)? * rep, *s.at(2)?, *s.at(3)?])
        };
        k = expand(&k)?;
        v = expand(&v)?;
    }
    let score_shape = [*qs.at(0)?, *qs.at(1)?, *qs.at(2)?, *ks.at(2)?];
    let mut inputs = vec![q, k, v];
    let kind = match mask {
        SdpaMask::None => MaskKind::None,
        SdpaMask::Causal => MaskKind::Causal,
        SdpaMask::Array(m) => {
            let kind = if m.dtype() == Dtype::Bool {
                MaskKind::Keep
            } else if m.dtype().is_float() {
                MaskKind::Additive
            } else {
                bail!(Dtype, "{OP}: mask must be bool or float, got {}", m.dtype());
            };
            let m2 = if kind == MaskKind::Additive {
                m.astype(dtype)?
            } else {
                m.clone()
            };
            let b = m2.broadcast_to(&score_shape).map_err(|_| {
                crate::err!(
                    Shape,
                    "{OP}: mask of shape {:?} does not broadcast to the scores' shape {score_shape:?}",
                    m.shape()
                )
            })?;
            inputs.push(b);
            kind
        }
    };
    Ok(Array::from_primitive(
        vec![*qs.at(0)?, *qs.at(1)?, *qs.at(2)?, *vs.at(3)?],
        dtype,
        Arc::new(ScaledDotProductAttention { scale, mask: kind }),
        inputs,
    ))
}

/// Cross entropy with class indices (MLX's `fast.cross_entropy`):
/// `logsumexp(logits, -1) - logits[..., target]`, as float32 with `targets`' shape. Computed as
/// MLX's CPU fallback (unfused, reducing in the logits' dtype); differentiable in `logits`.
///
/// ```
/// use rmlx_core::{fast, Array};
/// let logits = Array::from_slice(&[0.0f32, 0.0, 2.0, 0.0], &[2, 2])?;
/// let t = Array::from_slice(&[1u32, 0], &[2])?;
/// let l = fast::cross_entropy(&logits, &t)?.to_vec::<f32>()?;
/// assert!((l[0] - 2f32.ln()).abs() < 1e-6);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn cross_entropy(logits: &Array, targets: &Array) -> Result<Array> {
    if logits.ndim() < 1 || targets.shape() != logits.shape().span(..logits.ndim() - 1)? {
        bail!(
            Shape,
            "[cross_entropy] targets must have the shape of logits without its last axis: \
             logits {:?}, targets {:?}",
            logits.shape(),
            targets.shape()
        );
    }
    if !targets.dtype().is_int() {
        bail!(
            Dtype,
            "[cross_entropy] targets must be integer class indices, got {}",
            targets.dtype()
        );
    }
    if !logits.dtype().is_float() {
        bail!(
            Dtype,
            "[cross_entropy] logits must be floating point, got {}",
            logits.dtype()
        );
    }
    let lse = logits.logsumexp(-1, false)?;
    let picked = logits
        .take_along_axis(&targets.expand_dims(-1)?, -1)?
        .squeeze(-1)?;
    lse.subtract(&picked)?.astype(Dtype::F32)
}

/// The gated delta rule, step by step over time (MLX's `fast.gated_delta_update`): with one
/// state `S` (`[Dv, Dk]`) per batch and value head, at each step `t`
/// `S = gamma_t S; S += beta_t (v_t - S k_t) k_tᵀ; o_t = S q_t`. Shapes: `q`, `k`
/// `[B, T, Hk, Dk]`, `v` `[B, T, Hv, Dv]`, `gamma`, `beta` `[B, T, Hv]` (`Hv` a multiple of `Hk`:
/// value head `h` reads key head `h / (Hv / Hk)`), `initial_state` `[B, Hv, Dv, Dk]` (zeros when
/// absent), `mask` `[B, T]` (a masked step leaves the state and outputs zeros). Returns the
/// outputs `[B, T, Hv, Dv]` and the final state. Computed in float32 (results in `q`'s dtype)
/// from differentiable ops, so every transform goes through it.
///
/// ```
/// use rmlx_core::{fast, ones, Dtype};
/// let (q, k) = (ones(&[1, 2, 1, 2], Dtype::F32)?, ones(&[1, 2, 1, 2], Dtype::F32)?);
/// let v = ones(&[1, 2, 1, 3], Dtype::F32)?;
/// let (g, b) = (ones(&[1, 2, 1], Dtype::F32)?, ones(&[1, 2, 1], Dtype::F32)?);
/// let (o, s) = fast::gated_delta_update(&q, &k, &v, &g, &b, None, None)?;
/// assert_eq!(o.shape(), &[1, 2, 1, 3]);
/// assert_eq!(s.shape(), &[1, 1, 3, 2]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
#[allow(clippy::too_many_arguments)] // MLX's signature
pub fn gated_delta_update(
    q: &Array,
    k: &Array,
    v: &Array,
    gamma: &Array,
    beta: &Array,
    initial_state: Option<&Array>,
    mask: Option<&Array>,
) -> Result<(Array, Array)> {
    let bad = |what: &str| -> Result<(Array, Array)> {
        bail!(
            Shape,
            "[gated_delta_update] {what}: q {:?}, k {:?}, v {:?}, gamma {:?}, beta {:?}",
            q.shape(),
            k.shape(),
            v.shape(),
            gamma.shape(),
            beta.shape()
        )
    };
    if q.ndim() != 4 || k.shape() != q.shape() || v.ndim() != 4 {
        return bad("q and k must be [B, T, Hk, Dk] and v [B, T, Hv, Dv]");
    }
    let (b, t, hk, dk) = (
        *q.shape().at(0)?,
        *q.shape().at(1)?,
        *q.shape().at(2)?,
        *q.shape().at(3)?,
    );
    let (hv, dv) = (*v.shape().at(2)?, *v.shape().at(3)?);
    if v.shape().span(..2)? != [b, t] || hk == 0 || hv % hk != 0 {
        return bad("v must share B and T, and Hv must be a multiple of Hk");
    }
    if gamma.shape() != [b, t, hv] || beta.shape() != [b, t, hv] {
        return bad("gamma and beta must be [B, T, Hv]");
    }
    let out_dtype = q.dtype();
    let f32 = |a: &Array| a.astype(Dtype::F32);
    let rep = hv / hk;
    let (q, k) = if rep > 1 {
        (f32(q)?.repeat(rep, Some(2))?, f32(k)?.repeat(rep, Some(2))?)
    } else {
        (f32(q)?, f32(k)?)
    };
    let (v, gamma, beta) = (f32(v)?, f32(gamma)?, f32(beta)?);
    let mut s = match initial_state {
        Some(s0) if s0.shape() == [b, hv, dv, dk] => f32(s0)?,
        Some(s0) => bail!(
            Shape,
            "[gated_delta_update] initial_state must be [B, Hv, Dv, Dk] = {:?}, got {:?}",
            [b, hv, dv, dk],
            s0.shape()
        ),
        None => crate::ops::zeros(&[b, hv, dv, dk], Dtype::F32)?,
    };
    if let Some(m) = mask {
        if m.shape() != [b, t] {
            bail!(
                Shape,
                "[gated_delta_update] mask must be [B, T] = {:?}, got {:?}",
                [b, t],
                m.shape()
            );
        }
    }
    let step = |a: &Array, i: usize| a.take(&Array::scalar(i as i32), Some(1));
    let mut outs = Vec::with_capacity(t);
    for i in 0..t {
        let (qt, kt, vt) = (step(&q, i)?, step(&k, i)?, step(&v, i)?);
        let gt = step(&gamma, i)?.reshape([b, hv, 1, 1])?;
        let bt = step(&beta, i)?.reshape([b, hv, 1, 1])?;
        let decayed = s.multiply(&gt)?;
        let kcol = kt.expand_dims(-1)?; // [B, Hv, Dk, 1]
        let kv = decayed.matmul(&kcol)?; // [B, Hv, Dv, 1]
        let delta = vt.expand_dims(-1)?.subtract(&kv)?.multiply(&bt)?;
        let updated = decayed.add(&delta.matmul(&kt.expand_dims(-2)?)?)?;
        let mut o = updated.matmul(&qt.expand_dims(-1)?)?.squeeze(-1)?; // [B, Hv, Dv]
        s = match mask {
            Some(m) => {
                let mt = step(m, i)?.astype(Dtype::Bool)?;
                o = mt.reshape([b, 1, 1])?.where_(&o, &Array::scalar(0.0f32))?;
                mt.reshape([b, 1, 1, 1])?.where_(&updated, &s)?
            }
            None => updated,
        };
        outs.push(o);
    }
    let out = if outs.is_empty() {
        crate::ops::zeros(&[b, 0, hv, dv], Dtype::F32)?
    } else {
        crate::ops::stack(&outs, 1)?
    };
    Ok((out.astype(out_dtype)?, s.astype(out_dtype)?))
}
