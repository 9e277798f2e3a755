//! Fused float32 kernels for the Adam family's update: one pass per new state instead of one
//! pass per elementwise op (about twelve per parameter otherwise).
//!
//! Each kernel computes exactly the f32 operations, in the same order, that the composed ops
//! would (`b1 * m + (1 - b1) * g`, `b2 * v + (1 - b2) * (g * g)`, `p - (lr * m) / (sqrt(v) + eps)`,
//! scalars rounded to f32 first, as weak scalars are), so results are bit-identical to the
//! unfused graph. They are used only for f32 arrays of one shape; anything else (other dtypes,
//! broadcasting) goes through the composed ops. Optimizer updates are not differentiated, so the
//! primitives have no vjp (a transform over them is a clear `Err`).

// Indexing here is into element slices whose lengths the kernels check against the output's
// (`same_len`), into the four inputs `AdamApply::vmap` checks it has, and into the axes of its
// state, whose rank it reads: every index is proved in range where it is made.
#![allow(clippy::indexing_slicing)]

use std::sync::Arc;

use rmlx_core::buffer::{Buffer, Data};
use rmlx_core::kernels::contiguous;
use rmlx_core::kernels::{for_each_chunk_mut, PAR_CHUNK, PAR_THRESHOLD};
use rmlx_core::primitives::{batching, Primitive, Vmapped};
use rmlx_core::{Array, Dtype, Error, Result};

/// Whether the fused path applies: every array f32 and of one shape.
pub(crate) fn applies(arrays: &[&Array]) -> bool {
    let Some(first) = arrays.first() else {
        return false;
    };
    let shape = first.shape();
    arrays
        .iter()
        .all(|a| a.dtype() == Dtype::F32 && a.shape() == shape)
}

/// Every slice has `n` elements (the inputs of a fused node have the output's shape).
fn same_len(op: &str, n: usize, slices: &[&[f32]]) -> Result<()> {
    if slices.iter().any(|s| s.len() < n) {
        return Err(Error::Shape(format!(
            "{op}: every input must have the output's {n} elements"
        )));
    }
    Ok(())
}

/// `decay * s + (1 - decay) * x` (or `x * x` when `square`): Adam's first and second moments.
#[derive(Debug, Clone)]
struct MomentUpdate {
    decay: f32,
    rest: f32,
    square: bool,
}

/// `p - (lr * m) / (sqrt(v) + eps)`: Adam's parameter step (`lr` a 0-d input).
#[derive(Debug)]
struct AdamApply {
    eps: f32,
}

/// The f32 elements of `d`, contiguous (copied only when `d` is a strided view).
fn values(d: Data) -> Data {
    if d.contiguous_slice::<f32>().is_some() {
        d
    } else {
        contiguous(d)
    }
}

fn slice(d: &Data) -> Result<&[f32]> {
    d.contiguous_slice::<f32>()
        .ok_or_else(|| Error::Value("fused optimizer kernel: input is not contiguous".into()))
}

/// Runs `f(i, out_chunk)` over `n` outputs in chunks, in parallel above the threshold.
fn fill(out: &mut [f32], f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    for_each_chunk_mut(out, PAR_CHUNK, out.len() >= PAR_THRESHOLD, &f);
}

impl Primitive for MomentUpdate {
    rmlx_core::define_name!("MomentUpdate");

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let mut it = inputs.into_iter();
        let (Some(s), Some(x)) = (it.next(), it.next()) else {
            return Err(Error::Value("MomentUpdate: expected two inputs".into()));
        };
        let (s, x) = (values(s), values(x));
        let n = s.size();
        let mut buf = Buffer::new(n * 4);
        {
            let (sv, xv) = (slice(&s)?, slice(&x)?);
            same_len("MomentUpdate", n, &[sv, xv])?;
            let (d, r, sq) = (self.decay, self.rest, self.square);
            fill(&mut buf.as_mut_slice::<f32>()[..n], |start, out| {
                let (sv, xv) = (&sv[start..start + out.len()], &xv[start..start + out.len()]);
                if sq {
                    for ((o, &s), &x) in out.iter_mut().zip(sv).zip(xv) {
                        *o = d * s + r * (x * x);
                    }
                } else {
                    for ((o, &s), &x) in out.iter_mut().zip(sv).zip(xv) {
                        *o = d * s + r * x;
                    }
                }
            });
        }
        Ok(Data::new(buf, dtype, shape))
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (v, ax) = batching::align_elementwise(self.name(), inputs, axes, true)?;
        let out =
            Array::from_primitive(v[0].shape().to_vec(), Dtype::F32, Arc::new(self.clone()), v);
        Ok((vec![out], vec![Some(ax)]))
    }
}

impl Primitive for AdamApply {
    rmlx_core::define_name!("AdamApply");

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let mut it = inputs.into_iter().map(values);
        let (Some(p), Some(m), Some(v), Some(lr)) = (it.next(), it.next(), it.next(), it.next())
        else {
            return Err(Error::Value("AdamApply: expected four inputs".into()));
        };
        let n = p.size();
        let lr = *slice(&lr)?
            .first()
            .ok_or_else(|| Error::Value("AdamApply: empty learning rate".into()))?;
        let mut buf = Buffer::new(n * 4);
        {
            let (pv, mv, vv) = (slice(&p)?, slice(&m)?, slice(&v)?);
            same_len("AdamApply", n, &[pv, mv, vv])?;
            let eps = self.eps;
            fill(&mut buf.as_mut_slice::<f32>()[..n], |start, out| {
                let end = start + out.len();
                let (pv, mv, vv) = (&pv[start..end], &mv[start..end], &vv[start..end]);
                for (((o, &p), &m), &v) in out.iter_mut().zip(pv).zip(mv).zip(vv) {
                    *o = p - (lr * m) / (v.sqrt() + eps);
                }
            });
        }
        Ok(Data::new(buf, dtype, shape))
    }
    /// A shared learning rate keeps the fused kernel over the mapped state; a mapped one (a
    /// learning rate per example) is applied with the composed ops.
    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        if inputs.len() != 4 || axes.len() != 4 {
            return Err(Error::Value(
                "AdamApply: expected four inputs and four axes".into(),
            ));
        }
        let (state, ax) = batching::align_elementwise(self.name(), &inputs[..3], &axes[..3], true)?;
        let lr = &inputs[3];
        let out = match axes[3] {
            None => adam_apply(&state[0], &state[1], &state[2], lr, self.eps as f64),
            Some(lax) => {
                // lr is 0-d per example: [B] placed at the state's mapped axis
                let mut shape = vec![1usize; state[0].ndim()];
                shape[ax] = lr.shape()[lax];
                let lr = lr.reshape(&shape)?;
                let step = (&(&lr * &state[1])? / &(&state[2].sqrt()? + self.eps as f64)?)?;
                (&state[0] - &step)?
            }
        };
        Ok((vec![out], vec![Some(ax)]))
    }
}

/// `decay * s + (1 - decay) * x` (`x * x` when `square`), for f32 `s` and `x` of one shape.
pub(crate) fn moment(s: &Array, x: &Array, decay: f64, square: bool) -> Array {
    Array::from_primitive(
        s.shape().to_vec(),
        Dtype::F32,
        Arc::new(MomentUpdate {
            decay: decay as f32,
            rest: (1.0 - decay) as f32,
            square,
        }),
        vec![s.clone(), x.clone()],
    )
}

/// `p - (lr * m) / (sqrt(v) + eps)` for f32 `p`, `m`, `v` of one shape and a 0-d f32 `lr`.
pub(crate) fn adam_apply(p: &Array, m: &Array, v: &Array, lr: &Array, eps: f64) -> Array {
    Array::from_primitive(
        p.shape().to_vec(),
        Dtype::F32,
        Arc::new(AdamApply { eps: eps as f32 }),
        vec![p.clone(), m.clone(), v.clone(), lr.clone()],
    )
}
