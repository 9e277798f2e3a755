//! Random primitives: [`RandomBits`] (Threefry-2x32 words from keys, MLX's layout) and
//! [`Sample`], a fused elementwise map from those words to samples that repeats, in one pass, the
//! exact float steps MLX's composite `uniform`/`normal`/`gumbel`/… ops take (rounding to the
//! target dtype after each step), so the results are MLX's bit for bit.
//!
//! Neither is differentiable in its random input (it is integer data); gradients with respect to
//! bounds, `loc` or `scale` flow through the ordinary ops the `random` module wraps around them.

use half::{bf16, f16};

use super::{batching, Primitive, Vmapped};
use crate::backend::cpu::copy::contiguous;
use crate::backend::cpu::parallel::{for_each_chunk_mut, PAR_CHUNK, PAR_THRESHOLD};
use crate::backend::cpu::special::{erf_f32, erfinv_f32};
use crate::backend::cpu::vector_isa::with_fma;
use crate::buffer::{Buffer, Data};
use crate::checked::Checked;
use crate::random::threefry::fill_words;
use crate::{bail, Dtype, Element, Result};

/// Random words: input 0 holds keys of shape `(…, 2)` (uint32); the output (uint8, uint16 or
/// uint32 by `width`) is split evenly among the keys, each key filling its share as MLX does.
#[derive(Debug)]
pub struct RandomBits {
    /// The shape of the output (MLX's `shape_`).
    pub shape: Vec<usize>,
    /// Bytes per output element: 1, 2 or 4.
    pub width: usize,
}

fn read_u32(d: &Data) -> Vec<u32> {
    crate::buffer::collect_contiguous::<u32>(d)
}

impl Primitive for RandomBits {
    define_name!("RandomBits");

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let Some(keys) = inputs.first() else {
            bail!(Value, "RandomBits: expected a key input");
        };
        if keys.dtype() != Dtype::U32 {
            bail!(
                Dtype,
                "RandomBits: keys must be uint32, got {}",
                keys.dtype()
            );
        }
        let keys = read_u32(keys);
        let n: usize = shape.iter().product();
        let nbytes = n * dtype.size();
        let mut buf = Buffer::new(nbytes);
        let num_keys = keys.len() / 2;
        if n == 0 || num_keys == 0 {
            return Ok(Data::new(buf, dtype, shape));
        }
        if !n.is_multiple_of(num_keys) {
            bail!(
                Shape,
                "RandomBits: {n} outputs cannot be split among {num_keys} keys"
            );
        }
        let bytes_per_key = nbytes / num_keys;
        let words_per_key = bytes_per_key.div_ceil(4);
        if bytes_per_key.is_multiple_of(4) {
            let out = buf.as_mut_slice::<u32>().span_mut(..n * dtype.size() / 4)?;
            for (k, chunk) in out.chunks_mut(words_per_key).enumerate() {
                fill_words([*keys.at(2 * k)?, *keys.at(2 * k + 1)?], chunk);
            }
        } else {
            let mut words = vec![0u32; words_per_key];
            let bytes = buf.bytes_mut();
            for (k, chunk) in bytes.chunks_mut(bytes_per_key).enumerate() {
                fill_words([*keys.at(2 * k)?, *keys.at(2 * k + 1)?], &mut words);
                for (dst, src) in chunk
                    .iter_mut()
                    .zip(words.iter().flat_map(|w| w.to_le_bytes()))
                {
                    *dst = src;
                }
            }
        }
        Ok(Data::new(buf, dtype, shape))
    }

    /// MLX's rule: a mapped key array (the last axis is always the key pair) gives one draw of
    /// the shape per key, the mapped axis of the keys inserted into the output at the same
    /// place.
    fn vmap(&self, inputs: &[crate::Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (key, kax) = batching::single(self.name(), inputs, axes)?;
        let (key, kax) = if kax + 1 == key.ndim() && kax > 0 {
            (batching::move_axis(&key, kax, kax - 1)?, kax - 1)
        } else {
            (key, kax)
        };
        let mut shape = self.shape.clone();
        if kax > shape.len() {
            bail!(
                Transform,
                "vmap: RandomBits cannot place the keys' mapped axis {kax} in an output of shape {:?}",
                self.shape
            );
        }
        shape.insert(kax, *key.shape().at(kax)?);
        let dtype = match self.width {
            1 => Dtype::U8,
            2 => Dtype::U16,
            _ => Dtype::U32,
        };
        let out = crate::Array::from_primitive(
            shape.clone(),
            dtype,
            std::sync::Arc::new(RandomBits {
                width: self.width,
                shape,
            }),
            vec![key],
        );
        Ok((vec![out], vec![Some(kax)]))
    }
}

/// How [`Sample`] turns random words into values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SampleKind {
    /// `uniform`'s unit draw in `[0, 1)`: `min(bits / 4294967295, below_one(dtype))` in float32,
    /// then cast. Inputs: bits.
    Unit,
    /// `normal`'s draw: a float32 uniform on `[nextafter(-1, 0), 1)`, `erfinv`, cast, and (when
    /// `scaled`) multiplied by `sqrt(2)` in the dtype. Inputs: bits.
    Normal {
        /// Multiply by `sqrt(2)` here (no user scale); otherwise the caller does it.
        scaled: bool,
    },
    /// `-log(-log(u))` with `u` a unit draw, each step rounded to the dtype. Inputs: bits.
    Gumbel,
    /// `truncated_normal`: `sqrt2 * erfinv(uniform(erf(l / sqrt2), erf(u / sqrt2)))` clipped to
    /// `[l, u]`. Inputs: bits, lower, upper (in the dtype).
    TruncatedNormal,
    /// `bits < threshold` (bool), compared in the threshold's dtype (float32 or float64).
    /// Inputs: bits, threshold.
    Bernoulli,
    /// `randint`: a float32 uniform on `[low, high)`, `max(·, low)`, cast to the integer dtype.
    /// Inputs: bits, low, high (float32).
    RandInt,
}

/// A fused elementwise map from `uint32` random words (input 0, contiguous) and optional extra
/// inputs (broadcast to the output shape) to samples of the output dtype.
#[derive(Debug)]
pub struct Sample {
    /// The samples' dtype.
    pub dtype: Dtype,
    /// What to compute.
    pub kind: SampleKind,
}

/// The largest value below 1.0 in `dtype`, as float32 (MLX's `upper` in `uniform`).
pub fn below_one(dtype: Dtype) -> f32 {
    match dtype {
        Dtype::F16 => f16::from_bits(f16::ONE.to_bits() - 1).to_f32(),
        Dtype::Bf16 => bf16::from_bits(bf16::ONE.to_bits() - 1).to_f32(),
        _ => f32::from_bits(1.0f32.to_bits() - 1),
    }
}

/// Rounds a float32 value to `dtype` and back (identity for float32).
#[inline(always)]
fn round_to(dtype: Dtype, x: f32) -> f32 {
    match dtype {
        Dtype::F16 => f16::from_f32(x).to_f32(),
        Dtype::Bf16 => bf16::from_f32(x).to_f32(),
        _ => x,
    }
}

/// A float64 constant as `dtype` would hold it, widened to float32.
fn const_in(dtype: Dtype, v: f64) -> f32 {
    match dtype {
        Dtype::F16 => f16::from_f64(v).to_f32(),
        Dtype::Bf16 => bf16::from_f64(v).to_f32(),
        _ => v as f32,
    }
}

/// MLX's unit draw in float32 (before the cast to `dtype`).
#[inline(always)]
fn unit_f32(bits: u32, upper: f32) -> f32 {
    // uint32 → float32 rounds to nearest; u32::MAX as float32 is 2^32.
    let u = bits as f32 / u32::MAX as f32;
    if u < upper {
        u
    } else {
        upper
    }
}

/// Reads an extra input (broadcast to the output shape) as f64: one value when it is a broadcast
/// scalar, otherwise every element in row-major order. Index it with [`at`].
/// `n` is the output's element count: the list must hold one value or `n`.
fn extra(d: Data, n: usize) -> Result<Vec<f64>> {
    if d.size() > 0 && d.strides().iter().all(|&s| s == 0) {
        let v = crate::dispatch_all!(d.dtype(), T => d.raw::<T>().get(d.offset()).map_or(f64::NAN, |&v| Element::to_f64(v)));
        return Ok(vec![v]);
    }
    let d = contiguous(d);
    let v: Vec<f64> = crate::dispatch_all!(d.dtype(), T => {
        let s = d.contiguous_slice::<T>().unwrap_or(&[]);
        s.iter().map(|&v| Element::to_f64(v)).collect()
    });
    if v.len() != 1 && v.len() != n {
        bail!(
            Shape,
            "random: a parameter input holds {} values for {n} samples (expected 1 or {n})",
            v.len()
        );
    }
    Ok(v)
}

/// Element `i` of a value list from [`extra`].
// `extra` returns one value or exactly `n` (it checks), and `i` is an output index, below `n`.
#[allow(clippy::indexing_slicing)]
#[inline(always)]
fn at(v: &[f64], i: usize) -> f64 {
    if v.len() == 1 {
        v[0]
    } else {
        v[i]
    }
}

/// Writes `f(i, bits[i])` for every element into `out`, in parallel above the threshold.
fn fill<U: bytemuck::Pod + Send + Sync>(
    bits: &[u32],
    out: &mut [U],
    f: impl Fn(usize, u32) -> U + Sync + Send,
) {
    let par = out.len() >= PAR_THRESHOLD;
    for_each_chunk_mut(out, PAR_CHUNK, par, &|first, o: &mut [U]| {
        // `first` is an index into `out`, and every caller passes `bits.len() == out.len()`.
        // Compiled for the CPU's FMA unit: `erfinv_f32`'s multiply-adds are then instructions,
        // not C library calls (the same bits).
        with_fma(
            #[inline(always)]
            || {
                for (k, (o, &b)) in o
                    .iter_mut()
                    .zip(bits.get(first..).unwrap_or(&[]))
                    .enumerate()
                {
                    *o = f(first + k, b);
                }
            },
        )
    });
}

/// Stores float32 results into a buffer of float `dtype`.
fn fill_float(
    dtype: Dtype,
    bits: &[u32],
    buf: &mut Buffer,
    f: impl Fn(usize, u32) -> f32 + Sync + Send,
) -> Result<()> {
    let n = bits.len();
    match dtype {
        Dtype::F32 => fill(bits, buf.as_mut_slice::<f32>().span_mut(..n)?, f),
        Dtype::F16 => fill(
            bits,
            buf.as_mut_slice::<f16>().span_mut(..n)?,
            #[inline(always)]
            |i, b| f16::from_f32(f(i, b)),
        ),
        Dtype::Bf16 => fill(
            bits,
            buf.as_mut_slice::<bf16>().span_mut(..n)?,
            #[inline(always)]
            |i, b| bf16::from_f32(f(i, b)),
        ),
        Dtype::F64 => fill(
            bits,
            buf.as_mut_slice::<f64>().span_mut(..n)?,
            #[inline(always)]
            |i, b| f(i, b) as f64,
        ),
        d => bail!(Dtype, "random: cannot produce {d} samples"),
    }
    Ok(())
}

/// MLX's `minimum`/`maximum` on floats propagate NaN.
#[inline(always)]
fn nan_min(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.min(b)
    }
}

#[inline(always)]
fn nan_max(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.max(b)
    }
}

impl Primitive for Sample {
    fn name(&self) -> &'static str {
        match self.kind {
            SampleKind::Unit => "RandomUniform",
            SampleKind::Normal { .. } => "RandomNormal",
            SampleKind::Gumbel => "RandomGumbel",
            SampleKind::TruncatedNormal => "RandomTruncatedNormal",
            SampleKind::Bernoulli => "RandomBernoulli",
            SampleKind::RandInt => "RandomInt",
        }
    }

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let mut it = inputs.into_iter();
        let Some(bits) = it.next() else {
            bail!(Value, "{}: expected random bits", self.name());
        };
        let bits = contiguous(bits);
        let bits = bits.contiguous_slice::<u32>().unwrap_or(&[]);
        let n: usize = shape.iter().product();
        if bits.len() != n {
            bail!(
                Shape,
                "{}: {} bits for {n} outputs",
                self.name(),
                bits.len()
            );
        }
        let extras: Vec<Data> = it.collect();
        let mut buf = Buffer::new(n * dtype.size());
        match self.kind {
            SampleKind::Unit => {
                let upper = below_one(dtype);
                fill_float(dtype, bits, &mut buf, |_, b| unit_f32(b, upper))?;
            }
            SampleKind::Normal { scaled } => {
                let upper = below_one(Dtype::F32);
                let lo = f32::from_bits((-1.0f32).to_bits() - 1); // nextafter(-1, 0)
                let range = 1.0f32 - lo;
                if dtype == Dtype::F64 {
                    let sqrt2 = std::f64::consts::SQRT_2;
                    fill(
                        bits,
                        buf.as_mut_slice::<f64>().span_mut(..n)?,
                        #[inline(always)]
                        |_, b| {
                            let u = range * unit_f32(b, upper) + lo;
                            let e = erfinv_f32(u) as f64;
                            if scaled {
                                sqrt2 * e
                            } else {
                                e
                            }
                        },
                    );
                } else {
                    let sqrt2 = const_in(dtype, std::f64::consts::SQRT_2);
                    fill_float(
                        dtype,
                        bits,
                        &mut buf,
                        #[inline(always)]
                        |_, b| {
                            let u = range * unit_f32(b, upper) + lo;
                            let e = round_to(dtype, erfinv_f32(u));
                            if scaled {
                                sqrt2 * e
                            } else {
                                e
                            }
                        },
                    )?;
                }
            }
            SampleKind::Gumbel => {
                let upper = below_one(dtype);
                fill_float(dtype, bits, &mut buf, |_, b| {
                    let u = round_to(dtype, unit_f32(b, upper));
                    let l1 = round_to(dtype, u.ln());
                    let l2 = round_to(dtype, (-l1).ln());
                    -l2
                })?;
            }
            SampleKind::TruncatedNormal => {
                let mut ex = extras.into_iter().map(|d| extra(d, n));
                let (Some(lower), Some(upper_b)) = (ex.next(), ex.next()) else {
                    bail!(Value, "RandomTruncatedNormal: expected lower and upper");
                };
                let (lower, upper_b) = (lower?, upper_b?);
                let below = below_one(dtype);
                let sqrt2 = const_in(dtype, std::f64::consts::SQRT_2);
                fill_float(
                    dtype,
                    bits,
                    &mut buf,
                    #[inline(always)]
                    |i, b| {
                        let (l, h) = (at(&lower, i) as f32, at(&upper_b, i) as f32);
                        let a = round_to(dtype, erf_f32(round_to(dtype, l / sqrt2)));
                        let bb = round_to(dtype, erf_f32(round_to(dtype, h / sqrt2)));
                        let range = round_to(dtype, bb - a);
                        let u = round_to(dtype, unit_f32(b, below));
                        let x = round_to(dtype, round_to(dtype, range * u) + a);
                        let e = round_to(dtype, erfinv_f32(x));
                        let out = round_to(dtype, sqrt2 * e);
                        nan_max(nan_min(h, out), l)
                    },
                )?;
            }
            SampleKind::Bernoulli => {
                let Some(t) = extras.into_iter().next() else {
                    bail!(Value, "RandomBernoulli: expected a threshold");
                };
                let f64_compare = t.dtype() == Dtype::F64;
                let t = extra(t, n)?;
                fill(bits, buf.as_mut_slice::<u8>().span_mut(..n)?, |i, b| {
                    if f64_compare {
                        ((b as f64) < at(&t, i)) as u8
                    } else {
                        ((b as f32) < at(&t, i) as f32) as u8
                    }
                });
            }
            SampleKind::RandInt => {
                let mut ex = extras.into_iter().map(|d| extra(d, n));
                let (Some(lo), Some(hi)) = (ex.next(), ex.next()) else {
                    bail!(Value, "RandomInt: expected low and high");
                };
                let (lo, hi) = (lo?, hi?);
                let upper = below_one(Dtype::F32);
                let value = |i: usize, b: u32| -> f64 {
                    let (l, h) = (at(&lo, i) as f32, at(&hi, i) as f32);
                    let v = (h - l) * unit_f32(b, upper) + l;
                    nan_max(v, l) as f64
                };
                if dtype == Dtype::Bool {
                    fill(bits, buf.as_mut_slice::<u8>().span_mut(..n)?, |i, b| {
                        (value(i, b) != 0.0) as u8
                    });
                } else {
                    crate::dispatch_all!(dtype, T => fill(
                        bits,
                        buf.as_mut_slice::<T>().span_mut(..n)?,
                        |i, b| <T as Element>::from_f64(value(i, b).trunc()),
                    ));
                }
            }
        }
        Ok(Data::new(buf, dtype, shape))
    }

    /// Elementwise over the bits and the distribution's parameters.
    fn vmap(&self, inputs: &[crate::Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (v, ax) = batching::align_elementwise(self.name(), inputs, axes, true)?;
        let out = crate::Array::from_primitive(
            v.at(0)?.shape().to_vec(),
            self.dtype,
            std::sync::Arc::new(Sample {
                kind: self.kind,
                dtype: self.dtype,
            }),
            v,
        );
        Ok((vec![out], vec![Some(ax)]))
    }
}
