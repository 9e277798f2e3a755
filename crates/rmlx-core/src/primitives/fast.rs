//! Fused primitives behind [`crate::fast`]: layer norm, RMS norm, rotary embedding and scaled
//! dot-product attention, with their vjp/jvp rules. The input gradients of the norms have fused
//! kernels of their own (`LayerNormVjpX`, `RmsNormVjpX`); the attention vjp is written with ops
//! over the softmax probabilities (`SdpaProbs`).

use half::{bf16, f16};

use super::{batching, Primitive, Vmapped};
use crate::backend::cpu::attention::{sdpa, MaskData};
use crate::backend::cpu::copy::contiguous;
use crate::backend::cpu::elementwise::map_unary;
use crate::backend::cpu::flash::{sdpa_tiled, sdpa_tiled_vjp};
pub use crate::backend::cpu::norm::RopeParams;
use crate::backend::cpu::norm::{self, NormElem};
use crate::buffer::{Buffer, Data};
use crate::checked::Checked;
use crate::ops::fast::{layer_norm, rms_norm};
use crate::ops::linalg::{matmul, swap_last};
use crate::{bail, dispatch_float, Array, Dtype, Result};

fn acc_vec<T: NormElem>(d: Option<&Data>) -> Option<Vec<T::Acc>> {
    d.map(|d| {
        let c = contiguous(d.clone());
        c.contiguous_slice::<T>()
            .unwrap_or(&[])
            .iter()
            .map(|v| v.load())
            .collect()
    })
}

fn out_like(x: &Data, dtype: Dtype) -> Buffer {
    Buffer::new(x.size() * dtype.size())
}

fn not_float(op: &str, d: Dtype) -> crate::Error {
    crate::err!(Dtype, "{op}: unsupported dtype {d} (float types only)")
}

/// Sums `x` over every axis but the last (the gradient of a per-feature vector).
fn sum_rows(x: &Array) -> Result<Array> {
    let axes: Vec<isize> = (0..x.ndim() as isize - 1).collect();
    if axes.is_empty() {
        return Ok(x.clone());
    }
    x.sum(axes, false)
}

fn add_terms(terms: Vec<Array>, op: &str) -> Result<Array> {
    let mut it = terms.into_iter();
    let mut acc = it
        .next()
        .ok_or_else(|| crate::err!(Transform, "jvp: {op} called without tangents"))?;
    for t in it {
        acc = (&acc + &t)?;
    }
    Ok(acc)
}

/// The input of a last-axis primitive with its mapped axis anywhere but last (moved to the
/// front when it was last), and where it is.
fn norm_input(x: &Array, ax: Option<usize>) -> Result<(Array, usize)> {
    let Some(ax) = ax else {
        bail!(
            Transform,
            "vmap: a norm was asked to vectorise an unmapped input"
        );
    };
    if ax + 1 == x.ndim() {
        Ok((batching::move_axis(x, ax, 0)?, 0))
    } else {
        Ok((x.clone(), ax))
    }
}

/// A per-example feature vector (`[d]` mapped: `[B, d]` in some order) shaped to broadcast
/// against an input of rank `nd` whose mapped axis is at `ax`.
fn per_example_vector(w: &Array, wax: usize, nd: usize, ax: usize) -> Result<Array> {
    let w = batching::move_axis(w, wax, 0)?;
    let mut shape = vec![1usize; nd];
    *shape.at_mut(ax)? = *w.shape().at(0)?;
    *shape.at_mut(nd - 1)? = *w.shape().at(1)?;
    w.reshape(&shape)
}

/// `(x - mean) / sqrt(var + eps) * weight + bias` over the last axis; inputs
/// `[x, weight?, bias?]`.
#[derive(Debug)]
pub struct LayerNorm {
    /// Added to the variance.
    pub eps: f64,
    /// Whether input 1 is a weight.
    pub has_weight: bool,
    /// Whether the last input is a bias.
    pub has_bias: bool,
}

impl Primitive for LayerNorm {
    define_name!("LayerNorm");

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let x = contiguous(inputs.at(0)?.clone());
        let w = self.has_weight.then(|| inputs.at(1)).transpose()?;
        let b = self
            .has_bias
            .then(|| inputs.at(1 + self.has_weight as usize))
            .transpose()?;
        let d = *shape.last().unwrap_or(&1);
        let mut buf = out_like(&x, dtype);
        dispatch_float!(dtype, T => {
            let xs = x.contiguous_slice::<T>().unwrap_or(&[]);
            let (wv, bv) = (acc_vec::<T>(w), acc_vec::<T>(b));
            norm::layer_norm::<T>(xs, wv.as_deref(), bv.as_deref(), d, self.eps, buf.as_mut_slice::<T>());
        }, _ => return Err(not_float("layer_norm", dtype)));
        Ok(Data::new(buf, dtype, shape))
    }

    fn vjp(
        &self,
        primals: &[Array],
        cot: &Array,
        _: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        let x = primals.at(0)?;
        let w = self.has_weight.then(|| primals.at(1)).transpose()?;
        argnums
            .iter()
            .map(|&i| {
                if i == 0 {
                    let g = match w {
                        Some(w) => (cot * w)?,
                        None => cot.clone(),
                    };
                    norm_vjp_x(x, &g, self.eps, NormKind::Layer)
                } else if i == 1 && self.has_weight {
                    sum_rows(&(cot * &layer_norm(x, None, None, self.eps)?)?)
                } else {
                    sum_rows(cot)
                }
            })
            .collect()
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Array> {
        let x = primals.at(0)?;
        let w = self.has_weight.then(|| primals.at(1)).transpose()?;
        let mut terms = Vec::new();
        for (t, &i) in tangents.iter().zip(argnums) {
            terms.push(if i == 0 {
                // the Jacobian of the normalisation is symmetric: J t = vjp_x(t)
                let j = norm_vjp_x(x, t, self.eps, NormKind::Layer)?;
                match w {
                    Some(w) => (&j * w)?,
                    None => j,
                }
            } else if i == 1 && self.has_weight {
                (t * &layer_norm(x, None, None, self.eps)?)?
            } else {
                t.broadcast_to(x.shape())?
            });
        }
        add_terms(terms, "LayerNorm")
    }

    /// With a shared weight and bias the fused kernel runs over the mapped input as it is; a
    /// mapped weight or bias is applied after an unweighted norm.
    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = norm_input(inputs.at(0)?, *axes.at(0)?)?;
        let w = self.has_weight.then_some(1);
        let b = self.has_bias.then_some(1 + self.has_weight as usize);
        let mapped = |i: Option<usize>| i.is_some_and(|i| axes.get(i).is_some_and(Option::is_some));
        if !mapped(w) && !mapped(b) {
            let w = w.map(|i| inputs.at(i)).transpose()?;
            let b = b.map(|i| inputs.at(i)).transpose()?;
            let out = layer_norm(&x, w, b, self.eps)?;
            return Ok((vec![out], vec![Some(ax)]));
        }
        let mut out = layer_norm(&x, None, None, self.eps)?;
        let nd = x.ndim();
        let vector = |i: usize| match *axes.at(i)? {
            Some(wax) => per_example_vector(inputs.at(i)?, wax, nd, ax),
            None => Ok(inputs.at(i)?.clone()),
        };
        if let Some(i) = w {
            out = (&out * &vector(i)?)?;
        }
        if let Some(i) = b {
            out = (&out + &vector(i)?)?;
        }
        Ok((vec![out.astype(x.dtype())?], vec![Some(ax)]))
    }
}

/// `x / sqrt(mean(x^2) + eps) * weight` over the last axis; inputs `[x, weight?]`.
#[derive(Debug)]
pub struct RmsNorm {
    /// Added to the mean square.
    pub eps: f64,
    /// Whether input 1 is a weight.
    pub has_weight: bool,
}

impl Primitive for RmsNorm {
    define_name!("RMSNorm");

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let x = contiguous(inputs.at(0)?.clone());
        let w = self.has_weight.then(|| inputs.at(1)).transpose()?;
        let d = *shape.last().unwrap_or(&1);
        let mut buf = out_like(&x, dtype);
        dispatch_float!(dtype, T => {
            let xs = x.contiguous_slice::<T>().unwrap_or(&[]);
            let wv = acc_vec::<T>(w);
            norm::rms_norm::<T>(xs, wv.as_deref(), d, self.eps, buf.as_mut_slice::<T>());
        }, _ => return Err(not_float("rms_norm", dtype)));
        Ok(Data::new(buf, dtype, shape))
    }

    fn vjp(
        &self,
        primals: &[Array],
        cot: &Array,
        _: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        let x = primals.at(0)?;
        argnums
            .iter()
            .map(|&i| {
                if i == 0 {
                    let g = if self.has_weight {
                        (cot * primals.at(1)?)?
                    } else {
                        cot.clone()
                    };
                    norm_vjp_x(x, &g, self.eps, NormKind::Rms)
                } else {
                    sum_rows(&(cot * &rms_norm(x, None, self.eps)?)?)
                }
            })
            .collect()
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Array> {
        let x = primals.at(0)?;
        let mut terms = Vec::new();
        for (t, &i) in tangents.iter().zip(argnums) {
            terms.push(if i == 0 {
                let j = norm_vjp_x(x, t, self.eps, NormKind::Rms)?;
                if self.has_weight {
                    (&j * primals.at(1)?)?
                } else {
                    j
                }
            } else {
                (t * &rms_norm(x, None, self.eps)?)?
            });
        }
        add_terms(terms, "RMSNorm")
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = norm_input(inputs.at(0)?, *axes.at(0)?)?;
        let out = match (self.has_weight, axes.get(1).copied().flatten()) {
            (true, Some(wax)) => {
                let w = per_example_vector(inputs.at(1)?, wax, x.ndim(), ax)?;
                (&rms_norm(&x, None, self.eps)? * &w)?.astype(x.dtype())?
            }
            (true, None) => rms_norm(&x, Some(inputs.at(1)?), self.eps)?,
            (false, _) => rms_norm(&x, None, self.eps)?,
        };
        Ok((vec![out], vec![Some(ax)]))
    }
}

/// Which normalisation a [`NormVjpX`] differentiates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NormKind {
    /// Layer norm (mean and variance).
    Layer,
    /// RMS norm.
    Rms,
}

fn norm_vjp_x(x: &Array, g: &Array, eps: f64, kind: NormKind) -> Result<Array> {
    let g = g.astype(x.dtype())?.broadcast_to(x.shape())?;
    Ok(Array::from_primitive(
        x.shape().to_vec(),
        x.dtype(),
        std::sync::Arc::new(NormVjpX { eps, kind }),
        vec![x.clone(), g],
    ))
}

/// The input gradient of an unweighted layer/RMS norm for `g = cotangent * weight`; inputs
/// `[x, g]`. Not differentiable again.
#[derive(Debug)]
pub struct NormVjpX {
    /// The norm's epsilon.
    pub eps: f64,
    /// Which norm.
    pub kind: NormKind,
}

impl Primitive for NormVjpX {
    fn name(&self) -> &'static str {
        match self.kind {
            NormKind::Layer => "LayerNormVJP",
            NormKind::Rms => "RMSNormVJP",
        }
    }

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let x = contiguous(inputs.at(0)?.clone());
        let g = contiguous(inputs.at(1)?.clone());
        let d = *shape.last().unwrap_or(&1);
        let mut buf = out_like(&x, dtype);
        dispatch_float!(dtype, T => {
            let xs = x.contiguous_slice::<T>().unwrap_or(&[]);
            let gs = g.contiguous_slice::<T>().unwrap_or(&[]);
            let out = buf.as_mut_slice::<T>();
            match self.kind {
                NormKind::Layer => norm::layer_norm_vjp_x::<T>(xs, gs, d, self.eps, out),
                NormKind::Rms => norm::rms_norm_vjp_x::<T>(xs, gs, d, self.eps, out),
            }
        }, _ => return Err(not_float(self.name(), dtype)));
        Ok(Data::new(buf, dtype, shape))
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (v, ax) = batching::align_elementwise(self.name(), inputs, axes, true)?;
        let (v, ax) = if ax + 1 == v.at(0)?.ndim() {
            let moved = v
                .iter()
                .map(|x| batching::move_axis(x, ax, 0))
                .collect::<Result<Vec<_>>>()?;
            (moved, 0)
        } else {
            (v, ax)
        };
        Ok((
            vec![norm_vjp_x(v.at(0)?, v.at(1)?, self.eps, self.kind)?],
            vec![Some(ax)],
        ))
    }
}

/// Rotary position embedding over the last axis, positions along axis -2.
#[derive(Debug)]
pub struct Rope {
    /// The parameters (`inverse` rotates backwards: the transpose, used by the vjp).
    pub params: RopeParams,
}

impl Primitive for Rope {
    define_name!("RoPE");

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let [x] = super::take_inputs(self.name(), inputs)?;
        let x = contiguous(x);
        let (&[.., seq, d], true) = (shape, x.shape() == shape && x.dtype() == dtype) else {
            bail!(
                Shape,
                "RoPE: a {} input of shape {:?} for a {dtype} output of shape {shape:?} (at least \
                 2-D, the same shape and dtype)",
                x.dtype(),
                x.shape()
            );
        };
        let mut buf = out_like(&x, dtype);
        dispatch_float!(dtype, T => {
            let xs = x.contiguous_slice::<T>().unwrap_or(&[]);
            let n = xs.len();
            norm::rope::<T>(xs, seq, d, self.params, buf.as_mut_slice::<T>().span_mut(..n)?)?;
        }, _ => return Err(not_float("rope", dtype)));
        Ok(Data::new(buf, dtype, shape))
    }

    fn vjp(&self, _: &[Array], cot: &Array, _: &Array, _: &[usize]) -> Result<Vec<Array>> {
        let mut params = self.params;
        params.inverse = !params.inverse;
        Ok(vec![rope_node(cot, params)?])
    }

    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        rope_node(tangents.at(0)?, self.params)
    }

    /// Positions run along axis -2 and features along -1: a mapped axis among them moves to
    /// the front.
    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        let (x, ax) = if ax + 2 >= x.ndim() {
            (batching::move_axis(&x, ax, 0)?, 0)
        } else {
            (x, ax)
        };
        Ok((vec![rope_node(&x, self.params)?], vec![Some(ax)]))
    }
}

pub(crate) fn rope_node(x: &Array, params: RopeParams) -> Result<Array> {
    Ok(Array::from_primitive(
        x.shape().to_vec(),
        x.dtype(),
        std::sync::Arc::new(Rope { params }),
        vec![x.clone()],
    ))
}

/// How attention is masked (the mask array, when there is one, is the last input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskKind {
    /// No mask.
    None,
    /// A float mask added to the scores.
    Additive,
    /// A bool mask: `true` keeps a position.
    Keep,
    /// Query `i` sees keys `j <= i + Lk - Lq`.
    Causal,
}

fn to_f32(x: &Data) -> Result<Data> {
    match x.dtype() {
        Dtype::F16 => map_unary::<f16, f32>(x.clone(), Dtype::F32, f16::to_f32),
        Dtype::Bf16 => map_unary::<bf16, f32>(x.clone(), Dtype::F32, bf16::to_f32),
        _ => Ok(x.clone()),
    }
}

fn from_f32(x: Data, dtype: Dtype) -> Result<Data> {
    match dtype {
        Dtype::F16 => map_unary::<f32, f16>(x, dtype, f16::from_f32),
        Dtype::Bf16 => map_unary::<f32, bf16>(x, dtype, bf16::from_f32),
        _ => Ok(x),
    }
}

/// What the attention kernels assume (their matrix products read raw memory through the
/// layouts): `q [B, H, Lq, D]`, `k [B, Hkv, Lk, D]` with `Hkv` dividing `H`, `v [B, Hkv, Lk, Dv]`,
/// a mask of exactly `[B, H, Lq, Lk]` (broadcast as strides), `extra` outputs and cotangents of
/// `[B, H, Lq, Dv]`, all in the compute dtype (a keep-mask in bool). The op builds nodes that
/// satisfy this; a primitive called directly on other inputs gets an `Err`.
fn check_attention(
    q: &Data,
    k: &Data,
    v: Option<&Data>,
    mask: Option<&Data>,
    kind: MaskKind,
    compute: Dtype,
    extra: &[&Data],
) -> Result<()> {
    let fail = || {
        crate::err!(
            Shape,
            "scaled_dot_product_attention: q {:?}, k {:?}, v {:?} and mask {:?} ({compute}) do not \
             fit [B, H, Lq, D], [B, Hkv, Lk, D], [B, Hkv, Lk, Dv], [B, H, Lq, Lk]",
            q.shape(),
            k.shape(),
            v.map(|v| v.shape()),
            mask.map(|m| m.shape())
        )
    };
    let (&[b, h, lq, d], &[kb, hkv, lk, kd]) = (q.shape(), k.shape()) else {
        return Err(fail());
    };
    if kb != b || kd != d || hkv == 0 || !h.is_multiple_of(hkv) {
        return Err(fail());
    }
    if q.dtype() != compute || k.dtype() != compute {
        return Err(fail());
    }
    let dv = match v {
        Some(v) => match v.shape() {
            &[vb, vh, vl, dv] if (vb, vh, vl) == (b, hkv, lk) && v.dtype() == compute => dv,
            _ => return Err(fail()),
        },
        None => lk,
    };
    match (kind, mask) {
        (MaskKind::Additive | MaskKind::Keep, Some(m)) => {
            let want = if kind == MaskKind::Keep {
                Dtype::Bool
            } else {
                compute
            };
            if m.shape() != [b, h, lq, lk] || m.dtype() != want {
                return Err(fail());
            }
        }
        (MaskKind::Additive | MaskKind::Keep, None) => return Err(fail()),
        _ => {}
    }
    if extra
        .iter()
        .any(|x| x.shape() != [b, h, lq, dv] || x.dtype() != compute)
    {
        return Err(fail());
    }
    Ok(())
}

fn compute_dtype(dtype: Dtype) -> Dtype {
    if dtype == Dtype::F64 {
        Dtype::F64
    } else {
        Dtype::F32
    }
}

fn attention(
    q: &Data,
    k: &Data,
    v: Option<&Data>,
    mask_in: Option<&Data>,
    kind: MaskKind,
    scale: f64,
    dtype: Dtype,
) -> Result<Data> {
    let (q, k) = (to_f32(q)?, to_f32(k)?);
    let v = v.map(to_f32).transpose()?;
    let mask_c = mask_data(kind, mask_in)?;
    check_attention(
        &q,
        &k,
        v.as_ref(),
        mask_c.as_ref(),
        kind,
        compute_dtype(dtype),
        &[],
    )?;
    let mask = match (kind, &mask_c) {
        (MaskKind::Additive, Some(m)) => MaskData::Additive(m),
        (MaskKind::Keep, Some(m)) => MaskData::Keep(m),
        (MaskKind::Causal, _) => MaskData::Causal,
        _ => MaskData::None,
    };
    let out = match (&v, dtype) {
        // the output: tiled, with an online softmax (no Lq x Lk scores)
        (Some(v), Dtype::F64) => sdpa_tiled::<f64>(&q, &k, v, &mask, scale, dtype),
        (Some(v), Dtype::F32 | Dtype::F16 | Dtype::Bf16) => {
            sdpa_tiled::<f32>(&q, &k, v, &mask, scale, Dtype::F32)
        }
        // the probabilities themselves (SdpaProbs)
        (None, Dtype::F64) => sdpa::<f64>(&q, &k, &k, &mask, scale, true, dtype),
        (None, Dtype::F32 | Dtype::F16 | Dtype::Bf16) => {
            sdpa::<f32>(&q, &k, &k, &mask, scale, true, Dtype::F32)
        }
        (_, d) => return Err(not_float("scaled_dot_product_attention", d)),
    };
    from_f32(out, dtype)
}

/// The mask inputs of an attention kernel in its compute dtype.
fn mask_data(kind: MaskKind, mask_in: Option<&Data>) -> Result<Option<Data>> {
    Ok(match (kind, mask_in) {
        (MaskKind::Additive, Some(m)) => Some(to_f32(m)?),
        (_, m) => m.cloned(),
    })
}

fn mask_view(kind: MaskKind, mask: &Option<Data>) -> MaskData<'_> {
    match (kind, mask) {
        (MaskKind::Additive, Some(m)) => MaskData::Additive(m),
        (MaskKind::Keep, Some(m)) => MaskData::Keep(m),
        (MaskKind::Causal, _) => MaskData::Causal,
        _ => MaskData::None,
    }
}

/// The gradients of q, k and v of the attention output, tiled (no `Lq x Lk` matrix);
/// inputs `[q, k, v, mask?, out, cotangent]`, outputs `[dq, dk, dv]`.
#[derive(Debug)]
pub struct SdpaVjp {
    /// Score scale.
    pub scale: f64,
    /// The mask.
    pub mask: MaskKind,
}

/// `(dq, dk, dv)` of the attention, written with ops (the probabilities materialised): the
/// rule [`SdpaVjp`]'s own derivatives and vmap are taken of.
fn composed_attention_grads(
    q: &Array,
    k: &Array,
    v: &Array,
    mask: Option<&Array>,
    kind: MaskKind,
    scale: f64,
    cot: &Array,
) -> Result<Vec<Array>> {
    let p = probs_node(q, k, mask, scale, kind)?;
    let dp = matmul(cot, &swap_last(v)?)?;
    let ds = softmax_back(&p, &dp)?;
    Ok(vec![
        scores_vjp(q, k, mask, kind, &ds, scale, 0)?,
        scores_vjp(q, k, mask, kind, &ds, scale, 1)?,
        matmul(&swap_last(&p)?, cot)?,
    ])
}

impl SdpaVjp {
    /// The node for the attention's primals, output and cotangent.
    fn node(
        scale: f64,
        kind: MaskKind,
        primals: &[Array],
        out: &Array,
        cot: &Array,
    ) -> Result<Vec<Array>> {
        let mut inputs = primals.to_vec();
        inputs.push(out.clone());
        inputs.push(cot.clone());
        let outputs = primals
            .span(..3)?
            .iter()
            .map(|x| (x.shape().to_vec(), x.dtype()))
            .collect();
        Ok(Array::from_primitive_multi(
            outputs,
            std::sync::Arc::new(SdpaVjp { scale, mask: kind }),
            inputs,
        ))
    }

    /// The same gradients with ops, from this node's inputs.
    fn composed(&self, xs: &[Array]) -> Result<Vec<Array>> {
        let n = xs.len();
        let mask = has_mask_input(self.mask).then(|| xs.at(3)).transpose()?;
        composed_attention_grads(
            xs.at(0)?,
            xs.at(1)?,
            xs.at(2)?,
            mask,
            self.mask,
            self.scale,
            xs.at(n - 1)?,
        )
    }
}

impl Primitive for SdpaVjp {
    define_name!("SdpaVjp");

    fn eval_cpu(&self, _: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        bail!(Value, "SdpaVjp: a node with three outputs evaluated as one")
    }

    fn eval_cpu_multi(
        &self,
        inputs: Vec<Data>,
        outputs: &[(Vec<usize>, Dtype)],
    ) -> Result<Vec<Data>> {
        let n = inputs.len();
        if n != 5 + has_mask_input(self.mask) as usize || outputs.len() != 3 {
            bail!(
                Value,
                "SdpaVjp: expected q, k, v, [mask], out, cotangent and three outputs"
            );
        }
        let dtype = outputs.at(0)?.1;
        let f = |i: usize| to_f32(inputs.at(i)?);
        let (q, k, v, o, d_o) = (f(0)?, f(1)?, f(2)?, f(n - 2)?, f(n - 1)?);
        let mask_c = mask_data(
            self.mask,
            has_mask_input(self.mask)
                .then(|| inputs.at(3))
                .transpose()?,
        )?;
        check_attention(
            &q,
            &k,
            Some(&v),
            mask_c.as_ref(),
            self.mask,
            compute_dtype(dtype),
            &[&o, &d_o],
        )?;
        let mask = mask_view(self.mask, &mask_c);
        let grads = match dtype {
            Dtype::F64 => sdpa_tiled_vjp::<f64>(&q, &k, &v, &mask, self.scale, &o, &d_o, dtype),
            Dtype::F32 | Dtype::F16 | Dtype::Bf16 => {
                sdpa_tiled_vjp::<f32>(&q, &k, &v, &mask, self.scale, &o, &d_o, Dtype::F32)
            }
            d => return Err(not_float("scaled_dot_product_attention", d)),
        };
        grads.into_iter().map(|g| from_f32(g, dtype)).collect()
    }

    fn vjp_multi(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _: &[Array],
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        let f = |xs: &[Array]| self.composed(xs);
        Ok(crate::vjp_with_argnums(f, primals, cotangents, argnums)?.1)
    }

    fn jvp_multi(
        &self,
        primals: &[Array],
        tangents: &[Array],
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        super::jvp_through(|xs: &[Array]| self.composed(xs), primals, tangents, argnums)
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (v, n) = merge_mapped_batch(self.name(), inputs, axes)?;
        let k = v.len();
        let outs = SdpaVjp::node(
            self.scale,
            self.mask,
            v.span(..k - 2)?,
            v.at(k - 2)?,
            v.at(k - 1)?,
        )?;
        let mut split = Vec::with_capacity(3);
        for o in outs {
            split.extend(split_mapped_batch(o, n)?.0);
        }
        Ok((split, vec![Some(0); 3]))
    }
}

/// Fused `softmax(scale * q @ k^T + mask) @ v`; inputs `[q, k, v, mask?]`, all `[B, H, L, D]`
/// (the mask broadcast to `[B, H, Lq, Lk]`).
#[derive(Debug)]
pub struct ScaledDotProductAttention {
    /// Score scale.
    pub scale: f64,
    /// The mask.
    pub mask: MaskKind,
}

/// The inputs of an attention primitive (`[B, H, L, D]` each, a mask broadcast to
/// `[B, H, Lq, Lk]`) with the mapped axis first and merged into the batch axis: the fused kernel
/// then runs once over `n * B` batches. Returns the merged inputs and the mapped size.
fn merge_mapped_batch(
    name: &str,
    inputs: &[Array],
    axes: &[Option<usize>],
) -> Result<(Vec<Array>, usize)> {
    let (v, n) = batching::all_front(name, inputs, axes)?;
    let merged = v
        .iter()
        .map(|x| {
            let mut shape = vec![n * *x.shape().at(1)?];
            shape.extend_from_slice(x.shape().span(2..)?);
            x.reshape(&shape)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((merged, n))
}

/// An attention output computed over merged batches, with the mapped axis split out first.
fn split_mapped_batch(out: Array, n: usize) -> Result<Vmapped> {
    let mut shape = vec![n, *out.shape().at(0)? / n.max(1)];
    shape.extend_from_slice(out.shape().span(1..)?);
    Ok((vec![out.reshape(&shape)?], vec![Some(0)]))
}

/// The attention probabilities `softmax(scale * q @ k^T + mask)`; inputs `[q, k, mask?]`.
#[derive(Debug)]
pub struct SdpaProbs {
    /// Score scale.
    pub scale: f64,
    /// The mask.
    pub mask: MaskKind,
}

fn has_mask_input(kind: MaskKind) -> bool {
    matches!(kind, MaskKind::Additive | MaskKind::Keep)
}

fn probs_node(
    q: &Array,
    k: &Array,
    mask: Option<&Array>,
    scale: f64,
    kind: MaskKind,
) -> Result<Array> {
    let (qs, ks) = (q.shape(), k.shape());
    let shape = vec![*qs.at(0)?, *qs.at(1)?, *qs.at(2)?, *ks.at(2)?];
    let mut inputs = vec![q.clone(), k.clone()];
    inputs.extend(mask.cloned());
    Ok(Array::from_primitive(
        shape,
        q.dtype(),
        std::sync::Arc::new(SdpaProbs { scale, mask: kind }),
        inputs,
    ))
}

/// Gradient of the scores given the probabilities and their cotangent: `P * (dP - sum(dP * P))`.
fn softmax_back(p: &Array, dp: &Array) -> Result<Array> {
    let s = (dp * p)?.sum(-1, true)?;
    p * &(dp - &s)?
}

/// vjp through the scores `S = scale * q @ k^T + mask` given `dS`, for argnums among q (0),
/// k (1) and the additive mask (`mask_pos`).
fn scores_vjp(
    q: &Array,
    k: &Array,
    mask: Option<&Array>,
    kind: MaskKind,
    ds: &Array,
    scale: f64,
    i: usize,
) -> Result<Array> {
    match i {
        0 => &matmul(ds, k)? * scale,
        1 => &matmul(&swap_last(ds)?, q)? * scale,
        _ => match (kind, mask) {
            (MaskKind::Additive, Some(_)) => Ok(ds.clone()),
            (_, Some(m)) => Ok(Array::scalar_as(0.0, m.dtype()).broadcast_to(m.shape())?),
            _ => bail!(Transform, "vjp: attention has no input {i}"),
        },
    }
}

impl Primitive for SdpaProbs {
    define_name!("SdpaProbs");

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], dtype: Dtype) -> Result<Data> {
        let mask = has_mask_input(self.mask)
            .then(|| inputs.at(2))
            .transpose()?;
        attention(
            inputs.at(0)?,
            inputs.at(1)?,
            None,
            mask,
            self.mask,
            self.scale,
            dtype,
        )
    }

    fn vjp(
        &self,
        primals: &[Array],
        cot: &Array,
        out: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        let ds = softmax_back(out, cot)?;
        let mask = primals.get(2);
        argnums
            .iter()
            .map(|&i| {
                let i = if i == 2 { 3 } else { i };
                scores_vjp(
                    primals.at(0)?,
                    primals.at(1)?,
                    mask,
                    self.mask,
                    &ds,
                    self.scale,
                    i,
                )
            })
            .collect()
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (v, n) = merge_mapped_batch(self.name(), inputs, axes)?;
        let p = probs_node(v.at(0)?, v.at(1)?, v.get(2), self.scale, self.mask)?;
        split_mapped_batch(p, n)
    }
}

impl Primitive for ScaledDotProductAttention {
    define_name!("ScaledDotProductAttention");

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], dtype: Dtype) -> Result<Data> {
        let mask = has_mask_input(self.mask)
            .then(|| inputs.at(3))
            .transpose()?;
        attention(
            inputs.at(0)?,
            inputs.at(1)?,
            Some(inputs.at(2)?),
            mask,
            self.mask,
            self.scale,
            dtype,
        )
    }

    fn vjp(
        &self,
        primals: &[Array],
        cot: &Array,
        out: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        let (q, k, v) = (primals.at(0)?, primals.at(1)?, primals.at(2)?);
        let mask = primals.get(3);
        if !argnums.contains(&3) {
            // the tiled kernel: no Lq x Lk matrix, the three gradients in one pass
            let grads = SdpaVjp::node(self.scale, self.mask, primals, out, cot)?;
            return argnums
                .iter()
                .map(|&i| match grads.get(i) {
                    Some(g) => Ok(g.clone()),
                    None => bail!(Transform, "vjp: attention has no input {i}"),
                })
                .collect();
        }
        // the mask's gradient is the scores' gradient itself: materialise it
        let p = probs_node(q, k, mask, self.scale, self.mask)?;
        let need_ds = argnums.iter().any(|&i| i != 2);
        let ds = if need_ds {
            let dp = matmul(cot, &swap_last(v)?)?;
            Some(softmax_back(&p, &dp)?)
        } else {
            None
        };
        argnums
            .iter()
            .map(|&i| match (i, &ds) {
                (2, _) => matmul(&swap_last(&p)?, cot),
                (_, Some(ds)) => scores_vjp(q, k, mask, self.mask, ds, self.scale, i),
                _ => bail!(Transform, "vjp: attention has no input {i}"),
            })
            .collect()
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Array> {
        let (q, k, v) = (primals.at(0)?, primals.at(1)?, primals.at(2)?);
        let mask = primals.get(3);
        let p = probs_node(q, k, mask, self.scale, self.mask)?;
        let mut ds_t: Option<Array> = None;
        let mut terms = Vec::new();
        for (t, &i) in tangents.iter().zip(argnums) {
            let term = match i {
                0 => Some((&matmul(t, &swap_last(k)?)? * self.scale)?),
                1 => Some((&matmul(q, &swap_last(t)?)? * self.scale)?),
                2 => {
                    terms.push(matmul(&p, t)?);
                    None
                }
                _ if self.mask == MaskKind::Additive => Some(t.clone()),
                _ => None,
            };
            if let Some(term) = term {
                ds_t = Some(match ds_t {
                    None => term,
                    Some(acc) => (&acc + &term)?,
                });
            }
        }
        if let Some(ds) = ds_t {
            // d softmax = P * (dS - sum(dS * P))
            let dp = softmax_back(&p, &ds)?;
            terms.push(matmul(&dp, v)?);
        }
        if terms.is_empty() {
            // only a bool mask had a tangent: the output does not change
            return Array::scalar_as(0.0, q.dtype()).broadcast_to(&[
                *q.shape().at(0)?,
                *q.shape().at(1)?,
                *q.shape().at(2)?,
                *v.shape().at(3)?,
            ]);
        }
        add_terms(terms, "ScaledDotProductAttention")
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (v, n) = merge_mapped_batch(self.name(), inputs, axes)?;
        let (q, vv) = (v.at(0)?, v.at(2)?);
        let shape = vec![
            *q.shape().at(0)?,
            *q.shape().at(1)?,
            *q.shape().at(2)?,
            *vv.shape().at(3)?,
        ];
        let out = Array::from_primitive(
            shape,
            q.dtype(),
            std::sync::Arc::new(ScaledDotProductAttention {
                scale: self.scale,
                mask: self.mask,
            }),
            v,
        );
        split_mapped_batch(out, n)
    }
}
