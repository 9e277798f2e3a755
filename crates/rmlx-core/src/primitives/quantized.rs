//! Affine quantization primitives (MLX's `fast::Quantize`, the dequantize graph and
//! `QuantizedMatmul`): [`Quantize`] (one node, three outputs: packed weights, scales, biases),
//! [`Dequantize`] and [`QuantizedMatmul`]. The kernels are in
//! [`backend::cpu::quantized`](crate::backend::cpu::quantized); the ops that build these nodes,
//! with MLX's checks, in [`crate::ops::quantized`].

use std::borrow::Cow;
use std::sync::Arc;

use super::{batching, Primitive, Vmapped};
use crate::backend::cpu::convert::cast;
use crate::backend::cpu::copy::contiguous;
use crate::backend::cpu::gemm;
use crate::backend::cpu::quantized as q;
use crate::buffer::{collect_contiguous, Buffer, Data};
use crate::checked::Checked;
use crate::layout::Layout;
use crate::ops::quantized::{dequantize, quantized_matmul};
use crate::{bail, Array, Dtype, Result};

/// Checks what the kernels assume of a packed `rows x cols` matrix (the ops check it with MLX's
/// messages; a primitive called directly may get anything): a supported width and group size
/// dividing `cols`, and packed words, scales and biases of exactly the matrix's counts.
fn check_packed(
    name: &str,
    (rows, cols): (usize, usize),
    w: &Data,
    s: &Data,
    b: &Data,
    group_size: usize,
    bits: usize,
) -> Result<()> {
    let elements = rows.checked_mul(cols);
    let fits = (1..=8).contains(&bits)
        && group_size > 0
        && cols.is_multiple_of(group_size)
        && w.dtype() == Dtype::U32
        && elements.is_some_and(|e| e.checked_mul(bits) == w.size().checked_mul(32))
        && elements.is_some_and(|e| s.size() == e / group_size && b.size() == e / group_size);
    if !fits {
        bail!(
            Shape,
            "{name}: packed {} weights {:?}, scales {:?} and biases {:?} do not hold a {rows} x \
             {cols} matrix at {bits} bits in groups of {group_size}",
            w.dtype(),
            w.shape(),
            s.shape(),
            b.shape()
        );
    }
    Ok(())
}

/// A float array's values as f32, row-major (borrowed when they already are).
fn f32_values(d: &Data) -> Result<Cow<'_, [f32]>> {
    if d.dtype() == Dtype::F32 {
        if let Some(s) = d.contiguous_slice::<f32>() {
            return Ok(Cow::Borrowed(s));
        }
        return Ok(Cow::Owned(collect_contiguous::<f32>(d)));
    }
    Ok(Cow::Owned(collect_contiguous::<f32>(&cast(
        d.clone(),
        Dtype::F32,
    )?)))
}

/// f32 values as a `dtype` array of `shape`.
fn from_f32(v: Vec<f32>, dtype: Dtype, shape: &[usize]) -> Result<Data> {
    with_dtype(Data::new(Buffer::from_slice(&v), Dtype::F32, shape), dtype)
}

/// `d` in `dtype`, converted only when it is not already (a same-type `cast` would copy).
fn with_dtype(d: Data, dtype: Dtype) -> Result<Data> {
    if d.dtype() == dtype {
        Ok(d)
    } else {
        cast(d, dtype)
    }
}

/// The last axis of `x` split into groups of `group_size`: `[.., cols]` -> `[.., cols / gs, gs]`.
fn grouped(x: &Array, group_size: usize) -> Result<Array> {
    let mut shape: Vec<isize> = x
        .shape()
        .span(..x.ndim().saturating_sub(1))?
        .iter()
        .map(|&d| d as isize)
        .collect();
    shape.extend([-1, group_size as isize]);
    x.reshape(shape)
}

/// The quantized levels `q` of a packed matrix as floats of the scales' dtype, grouped
/// (dequantized with unit scales and zero biases, as MLX's gradients of the scales do).
fn grouped_levels(
    w: &Array,
    s: &Array,
    b: &Array,
    group_size: usize,
    bits: usize,
) -> Result<Array> {
    let ones = crate::ops::ones_like(s)?;
    let zeros = crate::ops::zeros_like(b)?;
    grouped(&dequantize(w, &ones, &zeros, group_size, bits)?, group_size)
}

/// The bytes of a packed (`uint32`) array, row-major (borrowed when contiguous).
fn packed_bytes(d: &Data) -> Cow<'_, [u8]> {
    match d.contiguous_slice::<u32>() {
        Some(s) => Cow::Borrowed(bytemuck::cast_slice(s)),
        None => Cow::Owned(bytemuck::cast_slice(&collect_contiguous::<u32>(d)).to_vec()),
    }
}

/// The rounding of each dequantization step in `dtype`.
fn rounding(dtype: Dtype) -> q::Rounding {
    match dtype {
        Dtype::F16 => q::Rounding::F16,
        Dtype::Bf16 => q::Rounding::Bf16,
        _ => q::Rounding::F32,
    }
}

/// `quantize(w)`: outputs the packed weights (`uint32`, last axis `cols * bits / 32`), the
/// scales and the biases (`w`'s dtype, last axis `cols / group_size`).
#[derive(Debug, Clone)]
pub struct Quantize {
    /// Elements sharing a scale and bias.
    pub group_size: usize,
    /// Bits per element.
    pub bits: usize,
}

impl Primitive for Quantize {
    define_name!("Quantize");

    fn eval_cpu(&self, _: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        bail!(
            Value,
            "Quantize: has three outputs (evaluated through eval_cpu_multi)"
        )
    }

    fn eval_cpu_multi(
        &self,
        inputs: Vec<Data>,
        outputs: &[(Vec<usize>, Dtype)],
    ) -> Result<Vec<Data>> {
        let [w] = super::take_inputs("Quantize", inputs)?;
        let [(wq_shape, _), (s_shape, dtype), _] = outputs else {
            bail!(
                Value,
                "Quantize: expected three outputs, got {}",
                outputs.len()
            );
        };
        let cols = *w.shape().last().unwrap_or(&0);
        let groups: usize = s_shape.iter().product();
        let words: usize = wq_shape.iter().product();
        let fits = (1..=8).contains(&self.bits)
            && self.group_size > 0
            && cols.is_multiple_of(self.group_size)
            && groups * self.group_size == w.size()
            && w.size().checked_mul(self.bits) == words.checked_mul(32);
        if !fits {
            bail!(
                Shape,
                "Quantize: weights of shape {:?} do not give {words} words and {groups} groups \
                 at {} bits in groups of {}",
                w.shape(),
                self.bits,
                self.group_size
            );
        }
        let values = f32_values(&w)?;
        let mut packed = Buffer::new(words * 4);
        let (mut scales, mut biases) = (vec![0f32; groups], vec![0f32; groups]);
        q::quantize_rows(
            &values,
            cols,
            self.group_size,
            self.bits,
            packed.bytes_mut().span_mut(..words * 4)?,
            &mut scales,
            &mut biases,
        );
        Ok(vec![
            Data::new(packed, Dtype::U32, wq_shape),
            from_f32(scales, *dtype, s_shape)?,
            from_f32(biases, *dtype, s_shape)?,
        ])
    }

    fn output_shapes(&self, inputs: &[Array]) -> Result<Vec<Vec<usize>>> {
        let Some(w) = inputs.first() else {
            bail!(Value, "Quantize: expected one input");
        };
        let mut wq = w.shape().to_vec();
        let mut s = wq.clone();
        let cols = s.last().copied().unwrap_or(0);
        if let (Some(a), Some(b)) = (wq.last_mut(), s.last_mut()) {
            *a = cols * self.bits / 32;
            *b = cols / self.group_size;
        }
        Ok(vec![wq, s.clone(), s])
    }

    /// Rows are quantized independently: the mapped axis goes first (never last).
    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (w, ax) = batching::single(self.name(), inputs, axes)?;
        let w = batching::move_axis(&w, ax, 0)?;
        let (wq, s, b) = crate::ops::quantized::quantize(&w, self.group_size, self.bits)?;
        Ok(batching::outputs_at(vec![wq, s, b], 0))
    }
}

/// `dequantize(w, scales, biases)`: `scales * q + biases` per group, in the scales' dtype.
#[derive(Debug, Clone)]
pub struct Dequantize {
    /// Elements sharing a scale and bias.
    pub group_size: usize,
    /// Bits per element.
    pub bits: usize,
}

impl Primitive for Dequantize {
    define_name!("Dequantize");

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let [w, s, b] = super::take_inputs("Dequantize", inputs)?;
        let cols = *shape.last().unwrap_or(&0);
        let n: usize = shape.iter().product();
        let rows = n.checked_div(cols).unwrap_or(0);
        check_packed(
            "Dequantize",
            (rows, cols),
            &w,
            &s,
            &b,
            self.group_size,
            self.bits,
        )?;
        // the output buffer comes from the buffer cache (a large matrix dequantized every call
        // would otherwise page-fault its memory in each time)
        let mut buf = Buffer::new(n * 4);
        let (bytes, sv, bv) = (packed_bytes(&w), f32_values(&s)?, f32_values(&b)?);
        q::dequantize_rows(
            &bytes,
            &sv,
            &bv,
            cols,
            self.group_size,
            self.bits,
            rounding(dtype),
            buf.as_mut_slice::<f32>().span_mut(..n)?,
        );
        with_dtype(Data::new(buf, Dtype::F32, shape), dtype)
    }

    /// No gradient for the packed integers; the scales' and biases' are the per-group sums
    /// of the cotangent times `q` and of the cotangent (MLX's composed dequantize).
    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        let gs = self.group_size;
        argnums
            .iter()
            .map(|&i| match i {
                0 => crate::ops::zeros_like(primals.at(0)?),
                1 => {
                    let q = grouped_levels(
                        primals.at(0)?,
                        primals.at(1)?,
                        primals.at(2)?,
                        gs,
                        self.bits,
                    )?;
                    (&grouped(cotangent, gs)? * &q)?.sum(-1, false)
                }
                _ => grouped(cotangent, gs)?.sum(-1, false),
            })
            .collect()
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        check_arity(self.name(), inputs, axes, 3)?;
        let (v, _) = batching::all_front(self.name(), inputs, axes)?;
        let out = dequantize(v.at(0)?, v.at(1)?, v.at(2)?, self.group_size, self.bits)?;
        Ok((vec![out], vec![Some(0)]))
    }
}

/// `x @ dequantize(w).T` (`transpose`) or `x @ dequantize(w)`; inputs `[x, w, scales, biases]`,
/// `w` 2-D. Output in `x`'s dtype.
#[derive(Debug, Clone)]
pub struct QuantizedMatmul {
    /// Elements sharing a scale and bias.
    pub group_size: usize,
    /// Bits per element.
    pub bits: usize,
    /// Multiply by the transpose of the (dequantized) matrix.
    pub transpose: bool,
}

/// Products with at most this many rows of `x` run the fused kernels (the packed matrix is
/// read once, never dequantized whole); more rows dequantize it and run one GEMM.
const FUSED_MAX_ROWS: usize = 16;

impl Primitive for QuantizedMatmul {
    define_name!("QuantizedMatmul");

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let [x, w, s, b] = super::take_inputs("QuantizedMatmul", inputs)?;
        let k = *x.shape().last().unwrap_or(&0);
        let n = *shape.last().unwrap_or(&0);
        let m = x.size().checked_div(k).unwrap_or(x.size());
        let (wr, wc) = match w.shape() {
            [r, c] if (1..=8).contains(&self.bits) => (*r, *c * 32 / self.bits),
            other => bail!(
                Shape,
                "QuantizedMatmul: expected a 2-D packed matrix at 1 to 8 bits, got shape \
                 {other:?} at {} bits",
                self.bits
            ),
        };
        let (rows, cols) = if self.transpose { (n, k) } else { (k, n) };
        check_packed(
            "QuantizedMatmul",
            (rows, cols),
            &w,
            &s,
            &b,
            self.group_size,
            self.bits,
        )?;
        let out_rows: usize = shape.iter().rev().skip(1).product();
        if (wr, wc) != (rows, cols) || out_rows != m || x.size() != m * k {
            bail!(
                Shape,
                "QuantizedMatmul: x {:?} and a {wr} x {wc} matrix cannot give an output of \
                 shape {shape:?}",
                x.shape()
            );
        }
        if m <= FUSED_MAX_ROWS {
            let xv = f32_values(&x)?;
            let (bytes, sv, bv) = (packed_bytes(&w), f32_values(&s)?, f32_values(&b)?);
            let mut out = vec![0f32; m * n];
            if self.transpose {
                q::qmm_t(
                    &xv,
                    m,
                    k,
                    &bytes,
                    &sv,
                    &bv,
                    self.group_size,
                    self.bits,
                    &mut out,
                    n,
                );
            } else {
                q::qmm(
                    &xv,
                    m,
                    k,
                    &bytes,
                    &sv,
                    &bv,
                    self.group_size,
                    self.bits,
                    &mut out,
                    n,
                );
            }
            return from_f32(out, dtype, shape);
        }
        // dequantize the whole matrix once (f32) and multiply
        let deq = Dequantize {
            group_size: self.group_size,
            bits: self.bits,
        }
        .eval_cpu(vec![w, s, b], &[wr, wc], Dtype::F32)?;
        let wmat = if self.transpose {
            let view = deq.layout().transpose(&[1, 0]).ok_or_else(|| {
                crate::err!(
                    Value,
                    "QuantizedMatmul: cannot transpose the dequantized matrix"
                )
            })?;
            deq.with_layout(view)?
        } else {
            deq
        };
        let x2 = contiguous(with_dtype(x, Dtype::F32)?).with_layout(Layout::contiguous(&[m, k]))?;
        let out = gemm::matmul(&x2, &wmat, None, 1.0, 0.0, &[m, n], Dtype::F32)?;
        with_dtype(out.with_layout(Layout::contiguous(shape))?, dtype)
    }

    /// MLX's rules: `x` gets the product with the other orientation; the scales and biases get
    /// the per-group sums of `dW = cot^T x` (times `q` for the scales); the packed weights none.
    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        let (x, w, s, b) = (
            primals.at(0)?,
            primals.at(1)?,
            primals.at(2)?,
            primals.at(3)?,
        );
        let mut dsb: Option<Array> = None;
        let mut dw_grouped = || -> Result<Array> {
            if let Some(d) = &dsb {
                return Ok(d.clone());
            }
            let fc = cotangent.reshape([-1, *cotangent.shape().last().unwrap_or(&0) as isize])?;
            let fx = x.reshape([-1, *x.shape().last().unwrap_or(&0) as isize])?;
            let dw = if self.transpose {
                fc.t()?.matmul(&fx)?
            } else {
                fx.t()?.matmul(&fc)?
            };
            let d = grouped(&dw, self.group_size)?;
            dsb = Some(d.clone());
            Ok(d)
        };
        argnums
            .iter()
            .map(|&i| match i {
                0 => quantized_matmul(
                    cotangent,
                    w,
                    s,
                    b,
                    !self.transpose,
                    self.group_size,
                    self.bits,
                ),
                1 => bail!(
                    Transform,
                    "[QuantizedMatmul::vjp] no gradient wrt the quantized weights."
                ),
                3 => dw_grouped()?.sum(-1, false)?.astype(b.dtype()),
                _ => {
                    let q = grouped_levels(w, s, b, self.group_size, self.bits)?;
                    (&dw_grouped()? * &q)?.sum(-1, false)?.astype(s.dtype())
                }
            })
            .collect()
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Array> {
        if argnums != [0] {
            bail!(
                Transform,
                "[QuantizedMatmul::jvp] No JVP wrt the quantized matrix yet."
            );
        }
        quantized_matmul(
            tangents.at(0)?,
            primals.at(1)?,
            primals.at(2)?,
            primals.at(3)?,
            self.transpose,
            self.group_size,
            self.bits,
        )
    }

    /// A mapped `x` is more rows of one product (its mapped axis goes first); a mapped matrix,
    /// scale or bias is a product per example, through the dequantized matrices.
    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        check_arity(self.name(), inputs, axes, 4)?;
        if axes.len() == 4 && axes.span(1..)?.iter().all(Option::is_none) {
            let (x, ax) = batching::single(self.name(), inputs.span(..1)?, axes.span(..1)?)?;
            let x = if ax + 1 == x.ndim() {
                batching::move_axis(&x, ax, 0)?
            } else {
                x
            };
            let ax = if ax + 1 == inputs.at(0)?.ndim() {
                0
            } else {
                ax
            };
            let out = quantized_matmul(
                &x,
                inputs.at(1)?,
                inputs.at(2)?,
                inputs.at(3)?,
                self.transpose,
                self.group_size,
                self.bits,
            )?;
            return Ok((vec![out], vec![Some(ax)]));
        }
        let (v, _) = batching::all_front(self.name(), inputs, axes)?;
        let w = dequantize(v.at(1)?, v.at(2)?, v.at(3)?, self.group_size, self.bits)?;
        let w = if self.transpose {
            w.swapaxes(-1, -2)?
        } else {
            w
        };
        // x [B, .., k] against w [B, k, n]: one product per example
        let x = v.at(0)?;
        let lead = x.ndim() - 1;
        let xr = x.reshape([
            *x.shape().at(0)? as isize,
            -1,
            *x.shape().at(lead)? as isize,
        ])?;
        let out = xr.matmul(&w.astype(x.dtype())?)?;
        let mut shape = x.shape().to_vec();
        if let Some(l) = shape.last_mut() {
            *l = *out.shape().at(2)?;
        }
        Ok((vec![out.reshape(&shape)?], vec![Some(0)]))
    }
}

/// Rejects a vmap call with other than `n` inputs (one axis entry each).
fn check_arity(name: &str, inputs: &[Array], axes: &[Option<usize>], n: usize) -> Result<()> {
    if inputs.len() != n || axes.len() != n {
        bail!(
            Transform,
            "vmap: {name} expects {n} inputs and axes, got {} and {}",
            inputs.len(),
            axes.len()
        );
    }
    Ok(())
}

/// `Arc`'d quantize primitive (for the op layer).
pub(crate) fn quantize_node(group_size: usize, bits: usize) -> Arc<dyn Primitive> {
    Arc::new(Quantize { group_size, bits })
}
