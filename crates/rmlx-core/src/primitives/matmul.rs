//! Matrix-product primitives: `Matmul` (`a @ b`) and `AddMM` (`beta * c + alpha * (a @ b)`).
//!
//! Inputs arrive from the op layer with at least two axes, the same batch shape (broadcast as
//! views, so the `Broadcast` vjp sums batch gradients back) and one float dtype.

use super::{batching, Primitive, Vmapped};
use crate::backend::cpu::gemm;
use crate::buffer::Data;
use crate::checked::Checked;
use crate::ops::linalg::{matmul, swap_last};
use crate::{Array, Dtype, Result};

/// `a @ b` over the last two axes.
#[derive(Debug)]
pub struct Matmul;

/// Whether `x` is a `Transpose` node swapping the last two axes of its input (as `w.t()` in
/// `Linear`, or `k.swapaxes(-1, -2)` in attention).
fn is_swapped_view(x: &Array) -> bool {
    let nd = x.ndim();
    if nd < 2 || x.primitive_name() != Some("Transpose") {
        return false;
    }
    let Some(src) = x.inputs().into_iter().next() else {
        return false;
    };
    match (x.shape(), src.shape()) {
        ([s_lead @ .., s2, s1], [t_lead @ .., t2, t1]) => s_lead == t_lead && s2 == t1 && s1 == t2,
        _ => false,
    }
}

/// The cotangent of `a` in `a @ b`: `g @ bᵀ`. When `a` is itself a swapped view of some `x`, it is
/// computed as `(b @ gᵀ)ᵀ` instead (the same numbers), so the transpose's own vjp hands `x` a
/// row-contiguous gradient rather than a transposed view that every later op (optimizer
/// updates, gradient sums) would have to walk column by column.
/// MLX's complex convention: a product's cotangent meets the conjugated other factor.
fn conj_if_complex(x: &Array) -> Result<Array> {
    if x.dtype().is_complex() {
        crate::conjugate(x)
    } else {
        Ok(x.clone())
    }
}

fn grad_a(a: &Array, b: &Array, g: &Array) -> Result<Array> {
    let b = &conj_if_complex(b)?;
    if is_swapped_view(a) {
        swap_last(&matmul(b, &swap_last(g)?)?)
    } else {
        matmul(g, &swap_last(b)?)
    }
}

/// The cotangent of `b` in `a @ b`: `aᵀ @ g`, or `(gᵀ @ a)ᵀ` when `b` is a swapped view (a
/// `Linear` weight enters its product as `w.t()`; see [`grad_a`]).
fn grad_b(a: &Array, b: &Array, g: &Array) -> Result<Array> {
    let a = &conj_if_complex(a)?;
    if is_swapped_view(b) {
        swap_last(&matmul(&swap_last(g)?, a)?)
    } else {
        matmul(&swap_last(a)?, g)
    }
}

impl Primitive for Matmul {
    define_name!("Matmul");

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let [a, b] = super::take_inputs("Matmul", inputs)?;
        gemm::matmul(&a, &b, None, 1.0, 0.0, shape, dtype)
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _output: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        let (a, b) = (primals.at(0)?, primals.at(1)?);
        argnums
            .iter()
            .map(|&i| {
                if i == 0 {
                    grad_a(a, b, cotangent)
                } else {
                    grad_b(a, b, cotangent)
                }
            })
            .collect()
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Array> {
        let (a, b) = (primals.at(0)?, primals.at(1)?);
        let mut total: Option<Array> = None;
        for (t, &i) in tangents.iter().zip(argnums) {
            let term = if i == 0 { matmul(t, b)? } else { matmul(a, t)? };
            total = Some(match total {
                None => term,
                Some(acc) => (&acc + &term)?,
            });
        }
        total.ok_or_else(|| crate::err!(Transform, "jvp: Matmul called without tangents"))
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        check_operands("Matmul", inputs, axes, 2)?;
        let (out, ax) = vmap_matmul(inputs.at(0)?, *axes.at(0)?, inputs.at(1)?, *axes.at(1)?)?;
        Ok((vec![out], vec![Some(ax)]))
    }
}

/// Rejects vmap operands a product node cannot have: fewer than `n` inputs, or a matrix operand
/// below 2-D once its mapped axis is left out.
fn check_operands(name: &str, inputs: &[Array], axes: &[Option<usize>], n: usize) -> Result<()> {
    if inputs.len() < n || axes.len() != inputs.len() {
        crate::bail!(
            Transform,
            "vmap: {name} expects {n} operands with one axis entry each, got {} and {}",
            inputs.len(),
            axes.len()
        );
    }
    for (x, ax) in inputs.iter().zip(axes) {
        let rank = x.ndim() - usize::from(ax.is_some());
        if ax.is_some_and(|a| a >= x.ndim()) || rank < 2 {
            crate::bail!(
                Transform,
                "vmap: {name} operands must be at least 2-D besides the mapped axis, got shape {:?} mapped at {ax:?}",
                x.shape()
            );
        }
    }
    Ok(())
}

/// The product of `a` and `b` (each at least 2-D, with equal batch axes in the unmapped
/// computation) where either carries a mapped axis; returns the product and its mapped axis.
///
/// When only one side is mapped, the mapped axis is folded into that side's rows (of `a`) or
/// columns (of `b`), so `B` products of `m x k` by `k x n` become one `B*m x k` by `k x n`
/// product: a per-example `x @ W` is one GEMM, not `B` matrix-vector products.
fn vmap_matmul(
    a: &Array,
    a_ax: Option<usize>,
    b: &Array,
    b_ax: Option<usize>,
) -> Result<(Array, usize)> {
    match (a_ax, b_ax) {
        (Some(aa), None) => {
            // [*batch, m, k] with B inserted -> [*batch, B*m, k]
            let nb = b.ndim() - 2;
            let a = batching::move_axis(a, aa, nb)?;
            let s = a.shape().to_vec();
            let (n_map, m, k) = (*s.at(nb)?, *s.at(nb + 1)?, *s.at(nb + 2)?);
            let mut folded = s.span(..nb)?.to_vec();
            folded.extend([n_map * m, k]);
            let p = matmul(&a.reshape(&folded)?, b)?;
            let mut out = s.span(..nb)?.to_vec();
            out.extend([n_map, m, *p.shape().last().unwrap_or(&0)]);
            Ok((p.reshape(&out)?, nb))
        }
        (None, Some(ba)) => {
            // [*batch, k, n] with B inserted -> [*batch, k, B*n]
            let nb = a.ndim() - 2;
            let b = batching::move_axis(b, ba, nb + 1)?;
            let s = b.shape().to_vec();
            let (k, n_map, n) = (*s.at(nb)?, *s.at(nb + 1)?, *s.at(nb + 2)?);
            let mut folded = s.span(..nb)?.to_vec();
            folded.extend([k, n_map * n]);
            let p = matmul(a, &b.reshape(&folded)?)?;
            let m = *p.shape().at(nb)?;
            let mut out = s.span(..nb)?.to_vec();
            out.extend([m, n_map, n]);
            Ok((p.reshape(&out)?, nb + 1))
        }
        _ => {
            let a = batching::to_front(a, a_ax)?;
            let b = batching::to_front(b, b_ax)?;
            Ok((matmul(&a, &b)?, 0))
        }
    }
}

/// `beta * c + alpha * (a @ b)`; inputs `[c, a, b]`, `c` broadcast to the output shape.
#[derive(Debug)]
pub struct AddMM {
    /// Scale of the product.
    pub alpha: f64,
    /// Scale of `c`.
    pub beta: f64,
}

fn scaled(x: Array, s: f64) -> Result<Array> {
    if s == 1.0 {
        Ok(x)
    } else {
        &x * s
    }
}

impl Primitive for AddMM {
    define_name!("AddMM");

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        gemm::matmul(
            inputs.at(1)?,
            inputs.at(2)?,
            Some(inputs.at(0)?),
            self.alpha,
            self.beta,
            shape,
            dtype,
        )
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _output: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        let (a, b) = (primals.at(1)?, primals.at(2)?);
        argnums
            .iter()
            .map(|&i| match i {
                0 => scaled(cotangent.clone(), self.beta),
                1 => scaled(grad_a(a, b, cotangent)?, self.alpha),
                _ => scaled(grad_b(a, b, cotangent)?, self.alpha),
            })
            .collect()
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Array> {
        let (a, b) = (primals.at(1)?, primals.at(2)?);
        let mut total: Option<Array> = None;
        for (t, &i) in tangents.iter().zip(argnums) {
            let term = match i {
                0 => scaled(t.clone(), self.beta)?,
                1 => scaled(matmul(t, b)?, self.alpha)?,
                _ => scaled(matmul(a, t)?, self.alpha)?,
            };
            total = Some(match total {
                None => term,
                Some(acc) => (&acc + &term)?,
            });
        }
        total.ok_or_else(|| crate::err!(Transform, "jvp: AddMM called without tangents"))
    }

    /// The product by the Matmul rule, then `alpha * (a @ b) + beta * c` with `c` brought to
    /// the product's mapped axis.
    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        check_operands("AddMM", inputs, axes, 3)?;
        let (c, a, b) = (inputs.at(0)?, inputs.at(1)?, inputs.at(2)?);
        if let (Some(aa), None, 2) = (*axes.at(1)?, *axes.at(2)?, b.ndim()) {
            // per-example rows times a shared matrix: one fused product over all rows
            let a = batching::move_axis(a, aa, 0)?;
            let c = batching::to_front(c, *axes.at(0)?)?;
            let out = crate::ops::linalg::addmm(&c, &a, b, self.alpha, self.beta)?;
            return Ok((vec![out], vec![Some(0)]));
        }
        let (p, ax) = match (*axes.at(1)?, *axes.at(2)?) {
            (None, None) => {
                let p = matmul(a, b)?;
                let Some(cax) = *axes.at(0)? else {
                    crate::bail!(
                        Transform,
                        "vmap: AddMM asked to vectorise with no mapped input"
                    );
                };
                (p, cax)
            }
            (aa, ba) => vmap_matmul(a, aa, b, ba)?,
        };
        let c = match *axes.at(0)? {
            Some(cax) => batching::move_axis(c, cax, ax)?,
            None => c.expand_dims(ax as isize)?,
        };
        let c = if self.beta == 1.0 {
            c
        } else {
            (&c * self.beta)?
        };
        let out = (&scaled(p, self.alpha)? + &c.astype(a.dtype())?)?;
        Ok((vec![out], vec![Some(ax)]))
    }
}
