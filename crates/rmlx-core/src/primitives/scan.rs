//! `Scan`: cumulative sum, product, max and min along one axis (MLX's `cumsum(a, axis, reverse,
//! inclusive)` family), with the gradient kernels of cumprod and cummax/cummin.

use std::sync::Arc;

use super::{batching, Primitive, Vmapped};
use crate::backend::cpu::complex_order::Lex;
pub use crate::backend::cpu::scan::ScanKind;
use crate::backend::cpu::scan::{cum_extreme_grad, cumprod_grad, scan};
use crate::buffer::Data;
use crate::checked::Checked;
use crate::ops::reduction::scan_op;
use crate::{bail, dispatch_all, Array, Dtype, Result};

/// A cumulative reduction along `axis`; the output has the input's shape and dtype.
#[derive(Debug, Clone)]
pub struct Scan {
    /// Which reduction.
    pub kind: ScanKind,
    /// The axis scanned.
    pub axis: usize,
    /// Scan from the end of the axis towards its start.
    pub reverse: bool,
    /// Include the element itself (`false`: output `i` combines the elements before `i`).
    pub inclusive: bool,
}

impl Primitive for Scan {
    fn name(&self) -> &'static str {
        match self.kind {
            ScanKind::Sum => "CumSum",
            ScanKind::Prod => "CumProd",
            ScanKind::Max => "CumMax",
            ScanKind::Min => "CumMin",
            ScanKind::LogAddExp => "CumLogSumExp",
        }
    }

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        let [x] = super::take_inputs("Scan", inputs)?;
        super::check_axis(self.name(), &x, self.axis)?;
        let (axis, kind, rev, inc) = (self.axis, self.kind, self.reverse, self.inclusive);
        Ok(
            dispatch_all!(x.dtype(), T => scan::<T>(x, axis, kind, rev, inc),
            complex => scan::<Lex>(x, axis, kind, rev, inc)),
        )
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        output: &Array,
        _: &[usize],
    ) -> Result<Vec<Array>> {
        let x = primals.at(0)?;
        let cot = cotangent.astype(x.dtype())?;
        Ok(vec![match self.kind {
            // d/dx_i sum_{j >= i} cot_j: the opposite-direction cumsum of the cotangent
            ScanKind::Sum => scan_op(
                "cumsum",
                ScanKind::Sum,
                &cot,
                self.axis as isize,
                !self.reverse,
                self.inclusive,
            )?,
            ScanKind::LogAddExp => self.log_weighted_cumsum(x, &cot, output, !self.reverse)?,
            _ => Array::from_primitive(
                x.shape().to_vec(),
                x.dtype(),
                Arc::new(ScanGrad(self.clone())),
                vec![x.clone(), cot],
            ),
        }])
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        let x = primals.at(0)?;
        let t = tangents.at(0)?.astype(x.dtype())?;
        match self.kind {
            ScanKind::Sum => scan_op(
                "cumsum",
                ScanKind::Sum,
                &t,
                self.axis as isize,
                self.reverse,
                self.inclusive,
            ),
            ScanKind::Prod => {
                // d y_j = sum_{i in prefix(j)} t_i prod_{k in prefix(j), k != i} x_k: the
                // forward counterpart of the exact cumprod gradient, built from the same
                // kernel by linearity is not available, so use y_j * cumsum(t / x) where it is
                // defined (no zeros in x).
                let y = scan_op(
                    "cumprod",
                    ScanKind::Prod,
                    x,
                    self.axis as isize,
                    self.reverse,
                    self.inclusive,
                )?;
                let r = scan_op(
                    "cumsum",
                    ScanKind::Sum,
                    &(&t / x)?,
                    self.axis as isize,
                    self.reverse,
                    self.inclusive,
                )?;
                &y * &r
            }
            ScanKind::LogAddExp => {
                // d out_i = sum_{j in prefix(i)} exp(x_j - out_i) t_j: the same weighted scan as
                // the vjp, in the scan's own direction
                let out = scan_op(
                    "logcumsumexp",
                    ScanKind::LogAddExp,
                    x,
                    self.axis as isize,
                    self.reverse,
                    self.inclusive,
                )?;
                self.log_weighted_forward(x, &t, &out)
            }
            ScanKind::Max | ScanKind::Min => {
                // the tangent of the element holding the running extreme
                let is_max = self.kind == ScanKind::Max;
                let idx = Array::from_primitive(
                    x.shape().to_vec(),
                    Dtype::U32,
                    Arc::new(CumArgExtreme {
                        scan: self.clone(),
                        is_max,
                    }),
                    vec![x.clone()],
                );
                crate::primitives::sort::gather_along(&t, &idx, self.axis)
            }
        }
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        let scan = self.shifted(ax);
        let out = Array::from_primitive(x.shape().to_vec(), x.dtype(), Arc::new(scan), vec![x]);
        Ok((vec![out], vec![Some(ax)]))
    }
}

impl Scan {
    /// MLX's vjp of logcumsumexp: `exp(x + logcumsumexp(log|g| - out))` over the opposite
    /// direction, with the positive and negative parts of `g` taken separately (logs need
    /// positive values; `finfo.min` stands for log 0).
    fn log_weighted_cumsum(
        &self,
        x: &Array,
        g: &Array,
        out: &Array,
        reverse: bool,
    ) -> Result<Array> {
        let dtype = g.dtype();
        let zero = Array::scalar_as(0.0, dtype);
        let floor = Array::scalar_as(crate::ops::finfo(dtype)?.min, dtype);
        let log_abs = g.abs()?.log()?;
        let pos = g.greater(&zero)?.where_(&log_abs, &floor)?;
        let neg = g.less(&zero)?.where_(&log_abs, &floor)?;
        let part = |lg: &Array| -> Result<Array> {
            let c = scan_op(
                "logcumsumexp",
                ScanKind::LogAddExp,
                &(lg - out)?,
                self.axis as isize,
                reverse,
                self.inclusive,
            )?;
            (&c + x)?.exp()
        };
        &part(&pos)? - &part(&neg)?
    }

    /// The forward-mode counterpart: `exp(logcumsumexp(x + log|t|) - out)`, signs split.
    fn log_weighted_forward(&self, x: &Array, t: &Array, out: &Array) -> Result<Array> {
        let dtype = t.dtype();
        let zero = Array::scalar_as(0.0, dtype);
        let floor = Array::scalar_as(crate::ops::finfo(dtype)?.min, dtype);
        let log_abs = t.abs()?.log()?;
        let pos = t.greater(&zero)?.where_(&log_abs, &floor)?;
        let neg = t.less(&zero)?.where_(&log_abs, &floor)?;
        let part = |lt: &Array| -> Result<Array> {
            let c = scan_op(
                "logcumsumexp",
                ScanKind::LogAddExp,
                &(lt + x)?,
                self.axis as isize,
                self.reverse,
                self.inclusive,
            )?;
            (&c - out)?.exp()
        };
        &part(&pos)? - &part(&neg)?
    }

    /// The same scan over an input with a mapped axis inserted at `mapped`.
    fn shifted(&self, mapped: usize) -> Scan {
        Scan {
            axis: batching::shift_axis(self.axis, mapped),
            ..self.clone()
        }
    }
}

/// The input cotangent of a cumprod / cummax / cummin: inputs `(x, cotangent)`.
#[derive(Debug)]
struct ScanGrad(Scan);

impl Primitive for ScanGrad {
    define_name!("ScanGrad");

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        let [x, cot] = super::take_inputs("ScanGrad", inputs)?;
        let s = &self.0;
        super::check_axis("ScanGrad", &x, s.axis)?;
        super::check_same_shape("ScanGrad", &x, &cot)?;
        Ok(match s.kind {
            ScanKind::Prod => {
                dispatch_all!(x.dtype(), T => cumprod_grad::<T>(x, cot, s.axis, s.reverse, s.inclusive),
                    complex => bail!(Dtype, "[ScanGrad] Not supported for complex64."))
            }
            ScanKind::Max | ScanKind::Min => {
                let is_max = s.kind == ScanKind::Max;
                dispatch_all!(x.dtype(), T => cum_extreme_grad::<T>(x, cot, s.axis, s.reverse, s.inclusive, is_max),
                    complex => cum_extreme_grad::<Lex>(x, cot, s.axis, s.reverse, s.inclusive, is_max))
            }
            ScanKind::Sum | ScanKind::LogAddExp => {
                bail!(Value, "ScanGrad: {} needs no gradient kernel", s.name())
            }
        })
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (v, ax) = batching::align_elementwise(self.name(), inputs, axes, true)?;
        let (x, cot) = (v.at(0)?, v.at(1)?);
        let out = Array::from_primitive(
            x.shape().to_vec(),
            x.dtype(),
            Arc::new(ScanGrad(self.0.shifted(ax))),
            vec![x.clone(), cot.clone()],
        );
        Ok((vec![out], vec![Some(ax)]))
    }
}

/// For each output position of a cummax/cummin, the index along the axis of the element holding
/// the running extreme (exclusive scans: of the positions before; position 0 points at itself).
#[derive(Debug)]
struct CumArgExtreme {
    scan: Scan,
    is_max: bool,
}

impl Primitive for CumArgExtreme {
    define_name!("CumArgExtreme");

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        use crate::backend::cpu::copy::contiguous;
        use crate::backend::cpu::order::Ordered;
        use crate::backend::cpu::scan::split_axis;
        use crate::buffer::Buffer;
        let [x] = super::take_inputs(self.name(), inputs)?;
        super::check_axis(self.name(), &x, self.scan.axis)?;
        let x = contiguous(x);
        let s = &self.scan;
        let (outer, n, inner) = split_axis(x.shape(), s.axis);
        let total = outer * n * inner;
        let mut buf = Buffer::new(total * 4);
        let out = buf.as_mut_slice::<u32>().span_mut(..total)?;
        dispatch_all!(x.dtype(), T => {
            let xs = x.raw::<T>().span(x.offset()..x.offset() + total)?;
            for o in 0..outer {
                for i in 0..inner {
                    let at = |j: usize| (o * n + j) * inner + i;
                    let mut best: Option<usize> = None;
                    for step in 0..n {
                        let j = if s.reverse { n - 1 - step } else { step };
                        if !s.inclusive {
                            *out.at_mut(at(j))? = best.unwrap_or(j) as u32;
                        }
                        let v = *xs.at(at(j))?;
                        let better = match best {
                            None => true,
                            Some(b) => {
                                let bv = *xs.at(at(b))?;
                                !bv.is_nan() && (v.is_nan() || if self.is_max { v > bv } else { v < bv })
                            }
                        };
                        if better {
                            best = Some(j);
                        }
                        if s.inclusive {
                            *out.at_mut(at(j))? = best.unwrap_or(j) as u32;
                        }
                    }
                }
            }
        }, complex => bail!(Dtype, "[{}] Not supported for complex64.", self.name()));
        Ok(Data::new(buf, Dtype::U32, x.shape()))
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        let out = Array::from_primitive(
            x.shape().to_vec(),
            Dtype::U32,
            Arc::new(CumArgExtreme {
                scan: self.scan.shifted(ax),
                is_max: self.is_max,
            }),
            vec![x],
        );
        Ok((vec![out], vec![Some(ax)]))
    }
}
