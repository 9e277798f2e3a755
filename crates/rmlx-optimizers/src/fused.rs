//! Fused float32 kernels for the Adam family's update: one pass for the whole step (parameter
//! and both moments, MLX's default without bias correction) or one per moment (with it),
//! instead of one pass per elementwise op (about twelve per parameter otherwise).
//!
//! Each kernel computes exactly the f32 operations, in the same order, that the composed ops
//! would (`b1 * m + (1 - b1) * g`, `b2 * v + (1 - b2) * (g * g)`, `p - (lr * m) / (sqrt(v) + eps)`,
//! scalars rounded to f32 first, as weak scalars are), so results are bit-identical to the
//! unfused graph. They are used only for f32 arrays of one shape; anything else (other dtypes,
//! broadcasting) goes through the composed ops. Optimizer updates are not differentiated, so the
//! primitives have no vjp (a transform over them is a clear `Err`).

// Indexing here is into element slices whose lengths the kernels check against the output's
// (`same_len`), into the five inputs `FusedAdam::vmap` checks it has, and into the axes of its
// state, whose rank it reads: every index is proved in range where it is made.
#![allow(clippy::indexing_slicing)]

use std::sync::Arc;

use rmlx_core::buffer::{Buffer, Data};
use rmlx_core::kernels::{adam_step, contiguous, AdamStep};
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

/// A whole Adam step without bias correction in one pass: inputs `(p, m, v, g, lr)`, outputs
/// `[p', m', v']` (see [`adam_step`]).
#[derive(Debug)]
struct FusedAdam {
    consts: AdamStep,
}

impl Primitive for FusedAdam {
    rmlx_core::define_name!("FusedAdam");

    fn eval_cpu(&self, _inputs: Vec<Data>, _shape: &[usize], _dtype: Dtype) -> Result<Data> {
        Err(Error::Value(
            "FusedAdam: the node has three outputs (parameter, first and second moment)".into(),
        ))
    }

    fn eval_cpu_multi(
        &self,
        inputs: Vec<Data>,
        outputs: &[(Vec<usize>, Dtype)],
    ) -> Result<Vec<Data>> {
        let mut it = inputs.into_iter().map(values);
        let (Some(p), Some(m), Some(v), Some(g), Some(lr)) =
            (it.next(), it.next(), it.next(), it.next(), it.next())
        else {
            return Err(Error::Value("FusedAdam: expected five inputs".into()));
        };
        let [(shape, _), _, _] = outputs else {
            return Err(Error::Value("FusedAdam: expected three outputs".into()));
        };
        let n = p.size();
        let lr = *slice(&lr)?
            .first()
            .ok_or_else(|| Error::Value("FusedAdam: empty learning rate".into()))?;
        let mut bufs = [Buffer::new(n * 4), Buffer::new(n * 4), Buffer::new(n * 4)];
        {
            let [po, mo, vo] = &mut bufs;
            adam_step(
                AdamStep { lr, ..self.consts },
                [slice(&p)?, slice(&m)?, slice(&v)?, slice(&g)?],
                [
                    &mut po.as_mut_slice::<f32>()[..n],
                    &mut mo.as_mut_slice::<f32>()[..n],
                    &mut vo.as_mut_slice::<f32>()[..n],
                ],
            )?;
        }
        Ok(bufs
            .into_iter()
            .map(|b| Data::new(b, Dtype::F32, shape))
            .collect())
    }

    /// A shared learning rate keeps the fused step over the mapped arrays; a mapped one (a
    /// learning rate per example) takes the composed ops.
    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        if inputs.len() != 5 || axes.len() != 5 {
            return Err(Error::Value(
                "FusedAdam: expected five inputs and five axes".into(),
            ));
        }
        let (a, ax) = batching::align_elementwise(self.name(), &inputs[..4], &axes[..4], true)?;
        let lr = &inputs[4];
        let c = self.consts;
        let outs = match axes[4] {
            None => fused_adam(&a[0], &a[1], &a[2], &a[3], lr, c)?.to_vec(),
            Some(lax) => {
                // lr is 0-d per example: [B] placed at the arrays' mapped axis
                let mut shape = vec![1usize; a[0].ndim()];
                shape[ax] = lr.shape()[lax];
                let lr = lr.reshape(&shape)?;
                let m = moment(&a[1], &a[3], (c.b1, c.r1), false);
                let v = moment(&a[2], &a[3], (c.b2, c.r2), true);
                let step = (&(&lr * &m)? / &(&v.sqrt()? + c.eps as f64)?)?;
                vec![(&a[0] - &step)?, m, v]
            }
        };
        Ok((outs, vec![Some(ax); 3]))
    }
}

/// One Adam step without bias correction for f32 `p`, `m`, `v`, `g` of one shape and a 0-d f32
/// `lr`: `[p', m', v']` from one node (bit-identical to the composed ops).
pub(crate) fn fused_adam(
    p: &Array,
    m: &Array,
    v: &Array,
    g: &Array,
    lr: &Array,
    consts: AdamStep,
) -> Result<[Array; 3]> {
    let out = Array::from_primitive_multi(
        vec![(p.shape().to_vec(), Dtype::F32); 3],
        Arc::new(FusedAdam { consts }),
        vec![p.clone(), m.clone(), v.clone(), g.clone(), lr.clone()],
    );
    let mut it = out.into_iter();
    match (it.next(), it.next(), it.next()) {
        (Some(p), Some(m), Some(v)) => Ok([p, m, v]),
        _ => Err(Error::Value("FusedAdam: expected three outputs".into())),
    }
}

/// `decay * s + rest * x` (`x * x` when `square`), for f32 `s` and `x` of one shape, with the
/// f32 constants of [`AdamStep`] (`rest = 1 - decay` rounded from f64, as the composed ops
/// round it, not recomputed from the rounded `decay`).
pub(crate) fn moment(s: &Array, x: &Array, (decay, rest): (f32, f32), square: bool) -> Array {
    Array::from_primitive(
        s.shape().to_vec(),
        Dtype::F32,
        Arc::new(MomentUpdate {
            decay,
            rest,
            square,
        }),
        vec![s.clone(), x.clone()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmlx_core as mx;

    fn bits(a: &Array) -> Vec<u32> {
        a.to_vec::<f32>()
            .unwrap()
            .iter()
            .map(|x| x.to_bits())
            .collect()
    }

    /// Under `vmap`, a learning rate per member (mapped) takes the composed ops and a shared one
    /// the fused node; both equal the members' steps one by one, output by output.
    #[test]
    fn fused_adam_under_vmap_with_a_shared_and_a_mapped_learning_rate() {
        let consts = AdamStep::new([0.9, 0.999], 0.0, 1e-8);
        let step = move |a: &[Array]| -> Result<Vec<Array>> {
            Ok(fused_adam(&a[0], &a[1], &a[2], &a[3], &a[4], consts)?.to_vec())
        };
        let n = |k: u64| mx::random::normal(&[3, 4, 5], Some(&mx::random::key(k))).unwrap();
        let (p, m, g) = (n(1), n(2), n(3));
        let v = mx::abs(&n(4)).unwrap();
        let lrs = Array::from_slice(&[0.1f32, 0.01, 0.5], &[3]).unwrap();
        let lr = Array::scalar(0.05f32);
        let pick = |x: &Array, i: usize| {
            x.slice(mx::s![i as isize..i as isize + 1])
                .unwrap()
                .squeeze(0)
                .unwrap()
        };
        for mapped in [true, false] {
            let (axes, lr_in) = if mapped {
                (vec![Some(0); 5], lrs.clone())
            } else {
                (vec![Some(0), Some(0), Some(0), Some(0), None], lr.clone())
            };
            let all = [p.clone(), m.clone(), v.clone(), g.clone(), lr_in];
            let got = mx::vmap(step, &axes, &[])(&all).unwrap();
            for i in 0..3 {
                let lr_i = if mapped { pick(&lrs, i) } else { lr.clone() };
                let want = step(&[pick(&p, i), pick(&m, i), pick(&v, i), pick(&g, i), lr_i]);
                for (k, w) in want.unwrap().iter().enumerate() {
                    assert_eq!(
                        bits(&pick(&got[k], i)),
                        bits(w),
                        "mapped lr {mapped}: member {i}, output {k}"
                    );
                }
            }
        }
    }
}
