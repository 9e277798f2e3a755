//! Reduction primitives: sum, prod, max, min, all, any over a set of axes (the output keeps them
//! as size 1; the op layer reshapes when `keepdims` is false), and the arg-reductions.

use crate::checked::Checked;
use crate::dtype::Complex32;
use crate::ops::zeros_like;
use half::{bf16, f16};

use super::{batching, Primitive, Vmapped};
use crate::backend::cpu::complex_order::Lex;
use crate::backend::cpu::convert::{cast, widen_half};
use crate::backend::cpu::elementwise::map_binary;
use crate::backend::cpu::order::Ordered;
use crate::backend::cpu::reduce::{arg_reduce, reduce, Reducer};
use crate::backend::cpu::scan::ScanKind;
use crate::buffer::{Buffer, Data};
use crate::ops::reduction::{move_axes_last, restore_axes, scan_op};
use crate::{bail, dispatch_all, Array, Dtype, Element, Result};

/// Which reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    /// Sum of the elements.
    Sum,
    /// Product of the elements.
    Prod,
    /// Largest element (NaN propagates).
    Max,
    /// Smallest element (NaN propagates).
    Min,
    /// True when every element is non-zero.
    And,
    /// True when some element is non-zero.
    Or,
}

/// Reduces `axes` (sorted) to size 1.
#[derive(Debug)]
pub struct Reduce {
    /// The reduction.
    pub op: ReduceOp,
    /// Axes reduced, ascending.
    pub axes: Vec<usize>,
}

/// A reducer from closures: `acc = combine(acc, load(x))` from `init`.
struct Fold<I, L, C> {
    init: I,
    load: L,
    combine: C,
}
impl<T, A, I, L, C> Reducer<T, A> for Fold<I, L, C>
where
    I: Fn() -> A + Sync + Send,
    L: Fn(T) -> A + Sync + Send,
    C: Fn(A, A) -> A + Sync + Send,
{
    #[inline(always)]
    fn init(&self) -> A {
        (self.init)()
    }
    #[inline(always)]
    fn load(&self, x: T) -> A {
        (self.load)(x)
    }
    #[inline(always)]
    fn combine(&self, a: A, b: A) -> A {
        (self.combine)(a, b)
    }
}

fn fold<T, A>(
    init: impl Fn() -> A + Sync + Send,
    load: impl Fn(T) -> A + Sync + Send,
    combine: impl Fn(A, A) -> A + Sync + Send,
) -> impl Reducer<T, A> {
    Fold {
        init,
        load,
        combine,
    }
}

fn write<T: Element, A: Copy>(
    vals: Vec<A>,
    shape: &[usize],
    dtype: Dtype,
    f: impl Fn(A) -> T,
) -> Data {
    let mut buf = Buffer::new(vals.len() * dtype.size());
    for (o, v) in buf.as_mut_slice::<T>().iter_mut().zip(vals) {
        *o = f(v);
    }
    Data::new(buf, dtype, shape)
}

/// Reduces with `+` (or `*` when `prod`) from the matching identity; the branch is resolved
/// outside the kernel so each combination compiles (and vectorises) on its own.
#[allow(clippy::too_many_arguments)] // the reducer callbacks are passed separately so each monomorphises
fn sum_or_prod<T, A>(
    x: &Data,
    axes: &[usize],
    prod: bool,
    one: A,
    zero: A,
    load: impl Fn(T) -> A + Sync + Send + Copy,
    add: impl Fn(A, A) -> A + Sync + Send + Copy,
    mul: impl Fn(A, A) -> A + Sync + Send + Copy,
) -> Vec<A>
where
    T: bytemuck::Pod + Send + Sync,
    A: Copy + Send + Sync,
{
    if prod {
        reduce(x, axes, &fold::<T, A>(move || one, load, mul))
    } else {
        reduce(x, axes, &fold::<T, A>(move || zero, load, add))
    }
}

/// Sum or product (`prod`), accumulating floats in f32 (f64 for f64) and integers in 64 bits
/// with wrap-around, then converting to the output dtype.
fn sum_prod(x: &Data, axes: &[usize], shape: &[usize], dtype: Dtype, prod: bool) -> Result<Data> {
    macro_rules! float_acc {
        ($T:ty, $A:ty, $to:expr, $from:expr) => {{
            let v = sum_or_prod::<$T, $A>(x, axes, prod, 1.0, 0.0, $to, |a, b| a + b, |a, b| a * b);
            write::<$T, $A>(v, shape, dtype, $from)
        }};
    }
    let d = x.dtype();
    Ok(match d {
        Dtype::F32 => float_acc!(f32, f32, |v| v, |v| v),
        Dtype::F64 => float_acc!(f64, f64, |v| v, |v| v),
        Dtype::C64 => {
            let (one, zero) = (Complex32::new(1.0, 0.0), Complex32::new(0.0, 0.0));
            let v = sum_or_prod::<Complex32, Complex32>(
                x,
                axes,
                prod,
                one,
                zero,
                |v| v,
                |a, b| a + b,
                |a, b| a * b,
            );
            write::<Complex32, Complex32>(v, shape, dtype, |v| v)
        }
        Dtype::F16 => float_acc!(f16, f32, |v: f16| v.to_f32(), f16::from_f32),
        Dtype::Bf16 => float_acc!(bf16, f32, |v: bf16| v.to_f32(), bf16::from_f32),
        Dtype::I64 | Dtype::U64 => {
            // 64-bit integers do not survive a trip through f64: reinterpret the bits (the
            // wrapping sum/product of the two's-complement words is the same for both)
            let v = sum_or_prod::<u64, u64>(
                x,
                axes,
                prod,
                1,
                0,
                |v| v,
                u64::wrapping_add,
                u64::wrapping_mul,
            );
            write::<u64, u64>(v, shape, dtype, |v| v)
        }
        _ => {
            let v: Vec<i64> = dispatch_all!(d, T => sum_or_prod::<T, i64>(
                x, axes, prod, 1, 0, |v: T| v.to_f64() as i64, i64::wrapping_add, i64::wrapping_mul));
            match dtype {
                Dtype::I32 => write::<i32, i64>(v, shape, dtype, |v| v as i32),
                Dtype::U32 => write::<u32, i64>(v, shape, dtype, |v| v as u32),
                Dtype::I64 => write::<i64, i64>(v, shape, dtype, |v| v),
                Dtype::U64 => write::<u64, i64>(v, shape, dtype, |v| v as u64),
                other => bail!(
                    Dtype,
                    "reduce: unsupported output dtype {other} for input {d}"
                ),
            }
        }
    })
}

fn max_min<T: Element + Ordered>(x: &Data, axes: &[usize], shape: &[usize], is_max: bool) -> Data {
    let vals = if is_max {
        reduce(x, axes, &fold::<T, T>(T::lowest, |v| v, T::max_nan))
    } else {
        reduce(x, axes, &fold::<T, T>(T::highest, |v| v, T::min_nan))
    };
    write::<T, T>(vals, shape, x.dtype(), |v| v)
}

fn and_or<T: Element>(x: &Data, axes: &[usize], shape: &[usize], and: bool) -> Data {
    let nz = |v: T| (v.to_f64() != 0.0) as u8;
    let vals = if and {
        reduce(x, axes, &fold::<T, u8>(|| 1, nz, |a, b| a & b))
    } else {
        reduce(x, axes, &fold::<T, u8>(|| 0, nz, |a, b| a | b))
    };
    write::<u8, u8>(vals, shape, Dtype::Bool, |v| v)
}

impl Primitive for Reduce {
    fn name(&self) -> &'static str {
        match self.op {
            ReduceOp::Sum => "Sum",
            ReduceOp::Prod => "Prod",
            ReduceOp::Max => "Max",
            ReduceOp::Min => "Min",
            ReduceOp::And => "And",
            ReduceOp::Or => "Or",
        }
    }

    /// The input's shape with the reduced axes as size 1.
    fn output_shapes(&self, inputs: &[Array]) -> Result<Vec<Vec<usize>>> {
        let Some(x) = inputs.first() else {
            bail!(Value, "{}: expected one input", self.name());
        };
        let mut shape = x.shape().to_vec();
        for &a in &self.axes {
            match shape.get_mut(a) {
                Some(d) => *d = 1,
                None => bail!(
                    Shape,
                    "{}: axis {a} of a rank-{} input",
                    self.name(),
                    x.ndim()
                ),
            }
        }
        Ok(vec![shape])
    }

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let [x] = super::take_inputs(self.name(), inputs)?;
        let x = &x;
        let axes = &self.axes;
        super::check_reduction(self.name(), x, axes, shape)?;
        Ok(match self.op {
            ReduceOp::Sum => sum_prod(x, axes, shape, dtype, false)?,
            ReduceOp::Prod => sum_prod(x, axes, shape, dtype, true)?,
            ReduceOp::Max | ReduceOp::Min => {
                let is_max = self.op == ReduceOp::Max;
                dispatch_all!(x.dtype(), T => max_min::<T>(x, axes, shape, is_max),
                    half => cast(max_min::<f32>(&widen_half(x)?, axes, shape, is_max), x.dtype())?,
                    complex => max_min::<Lex>(x, axes, shape, is_max))
            }
            ReduceOp::And | ReduceOp::Or => {
                let and = self.op == ReduceOp::And;
                dispatch_all!(x.dtype(), T => and_or::<T>(x, axes, shape, and),
                    half => and_or::<f32>(&widen_half(x)?, axes, shape, and))
            }
        })
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        output: &Array,
        _: &[usize],
    ) -> Result<Vec<Array>> {
        let x = primals.at(0)?;
        let cot = cotangent.astype(x.dtype())?.broadcast_to(x.shape())?;
        Ok(vec![match self.op {
            // the cotangent has the reduced axes as size 1: broadcast it back
            ReduceOp::Sum => cot,
            ReduceOp::Prod => (&cot * &self.prod_partials(x)?)?,
            ReduceOp::Max | ReduceOp::Min => (&cot * &self.tie_weights(x, output)?)?,
            ReduceOp::And | ReduceOp::Or => zeros_like(x)?,
        }])
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        let x = primals.at(0)?;
        let t = tangents.at(0)?;
        let axes = self.axes_isize();
        match self.op {
            ReduceOp::Sum => crate::ops::reduction::sum(t, axes, true),
            ReduceOp::Prod => (t * &self.prod_partials(x)?)?.sum(axes, true),
            ReduceOp::Max | ReduceOp::Min => {
                let out = crate::ops::reduction::reduce_op(
                    self.name(),
                    self.op,
                    x,
                    crate::ops::Axes::List(axes.clone()),
                    true,
                    x.dtype(),
                )?;
                (t * &self.tie_weights(x, &out)?)?.sum(axes, true)
            }
            ReduceOp::And | ReduceOp::Or => zeros_like(&Array::from_primitive(
                self.kept_shape(x.shape())?,
                x.dtype(),
                std::sync::Arc::new(Reduce {
                    op: self.op,
                    axes: self.axes.clone(),
                }),
                vec![x.clone()],
            )),
        }
    }

    /// The reduced axes are renumbered around the mapped one, which stays in place.
    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        let reduce = Reduce {
            op: self.op,
            axes: self
                .axes
                .iter()
                .map(|&a| batching::shift_axis(a, ax))
                .collect(),
        };
        let dtype = match self.op {
            ReduceOp::Sum | ReduceOp::Prod => crate::ops::reduction::sum_dtype(x.dtype()),
            ReduceOp::Max | ReduceOp::Min => x.dtype(),
            ReduceOp::And | ReduceOp::Or => Dtype::Bool,
        };
        let shape = reduce.kept_shape(x.shape())?;
        let out = Array::from_primitive(shape, dtype, std::sync::Arc::new(reduce), vec![x]);
        Ok((vec![out], vec![Some(ax)]))
    }
}

impl Reduce {
    fn axes_isize(&self) -> Vec<isize> {
        self.axes.iter().map(|&a| a as isize).collect()
    }

    fn kept_shape(&self, shape: &[usize]) -> Result<Vec<usize>> {
        let mut s = shape.to_vec();
        for &a in &self.axes {
            *s.at_mut(a)? = 1;
        }
        Ok(s)
    }

    /// `d prod / d x_i = prod_{j != i} x_j` over the reduced axes, computed as MLX does without
    /// dividing (so zeros are handled exactly): the reduced axes are flattened to the end and
    /// the exclusive forward cumprod is multiplied by the exclusive reverse cumprod.
    fn prod_partials(&self, x: &Array) -> Result<Array> {
        let (flat, perm, moved_shape) = move_axes_last(x, &self.axes)?;
        let fwd = scan_op("prod", ScanKind::Prod, &flat, -1, false, false)?;
        let bwd = scan_op("prod", ScanKind::Prod, &flat, -1, true, false)?;
        restore_axes(&(&fwd * &bwd)?, &perm, &moved_shape)
    }

    /// `1 / count` where `x` equals the reduced extreme `out` (kept axes), else 0: the gradient
    /// of max/min is split equally between tied extremes, as in MLX.
    fn tie_weights(&self, x: &Array, out: &Array) -> Result<Array> {
        let mask = equal_mask(x, out)?;
        let count = mask.sum(self.axes_isize(), true)?;
        &mask / &count
    }
}

/// 1 (in `x`'s dtype) where `x == y` (broadcast), else 0. Not differentiable (zero gradient).
#[derive(Debug)]
pub(crate) struct EqualMask;

pub(crate) fn equal_mask(x: &Array, y: &Array) -> Result<Array> {
    let y = y.astype(x.dtype())?.broadcast_to(x.shape())?;
    Ok(Array::from_primitive(
        x.shape().to_vec(),
        x.dtype(),
        std::sync::Arc::new(EqualMask),
        vec![x.clone(), y],
    ))
}

impl Primitive for EqualMask {
    define_name!("EqualMask");

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], dtype: Dtype) -> Result<Data> {
        let mut it = inputs.into_iter();
        let (Some(a), Some(b)) = (it.next(), it.next()) else {
            bail!(Value, "EqualMask: expected two inputs");
        };
        Ok(
            dispatch_all!(dtype, T => map_binary::<T, T, T>(a, b, dtype, |p, q| {
                T::from_f64(if p == q { 1.0 } else { 0.0 })
            })?),
        )
    }

    define_zero_grads!();

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (v, ax) = batching::align_elementwise(self.name(), inputs, axes, true)?;
        Ok((vec![equal_mask(v.at(0)?, v.at(1)?)?], vec![Some(ax)]))
    }
}

/// Index of the first maximum or minimum along `axis` (output keeps it as size 1), uint32.
#[derive(Debug)]
pub struct ArgReduce {
    /// True for argmax, false for argmin.
    pub is_max: bool,
    /// The axis.
    pub axis: usize,
}

impl Primitive for ArgReduce {
    fn name(&self) -> &'static str {
        if self.is_max {
            "ArgMax"
        } else {
            "ArgMin"
        }
    }

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], _: Dtype) -> Result<Data> {
        let [x] = super::take_inputs(self.name(), inputs)?;
        let x = &x;
        super::check_reduction(self.name(), x, &[self.axis], shape)?;
        let idx = dispatch_all!(x.dtype(), T => arg_reduce::<T>(x, self.axis, self.is_max),
            half => arg_reduce::<f32>(&widen_half(x)?, self.axis, self.is_max),
            complex => arg_reduce::<Lex>(x, self.axis, self.is_max));
        Ok(write::<u32, u32>(idx, shape, Dtype::U32, |v| v))
    }

    fn vjp(&self, primals: &[Array], _: &Array, _: &Array, _: &[usize]) -> Result<Vec<Array>> {
        Ok(vec![zeros_like(primals.at(0)?)?])
    }

    fn jvp(&self, primals: &[Array], _: &[Array], _: &[usize]) -> Result<Array> {
        let mut shape = primals.at(0)?.shape().to_vec();
        *shape.at_mut(self.axis)? = 1;
        Array::scalar_as(0.0, Dtype::U32).broadcast_to(&shape)
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        let axis = batching::shift_axis(self.axis, ax);
        let mut shape = x.shape().to_vec();
        *shape.at_mut(axis)? = 1;
        let out = Array::from_primitive(
            shape,
            Dtype::U32,
            std::sync::Arc::new(ArgReduce {
                is_max: self.is_max,
                axis,
            }),
            vec![x],
        );
        Ok((vec![out], vec![Some(ax)]))
    }
}

/// Elementwise square root (used by `std`). Gradient `cot / (2 sqrt(x))`.
#[derive(Debug)]
pub(crate) struct Sqrt;

pub(crate) fn sqrt_of(x: &Array) -> Array {
    Array::from_primitive(
        x.shape().to_vec(),
        x.dtype(),
        std::sync::Arc::new(Sqrt),
        vec![x.clone()],
    )
}

impl Primitive for Sqrt {
    define_name!("Sqrt");

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], dtype: Dtype) -> Result<Data> {
        use crate::backend::cpu::elementwise::map_unary;
        let [x] = super::take_inputs(self.name(), inputs)?;
        Ok(match dtype {
            Dtype::F64 => map_unary::<f64, f64>(x, dtype, f64::sqrt)?,
            Dtype::F32 => map_unary::<f32, f32>(x, dtype, f32::sqrt)?,
            Dtype::F16 => map_unary::<f16, f16>(x, dtype, |v| f16::from_f32(v.to_f32().sqrt()))?,
            Dtype::Bf16 => {
                map_unary::<bf16, bf16>(x, dtype, |v| bf16::from_f32(v.to_f32().sqrt()))?
            }
            d => bail!(Dtype, "sqrt: expected a float array, got {d}"),
        })
    }

    fn vjp(
        &self,
        _: &[Array],
        cotangent: &Array,
        output: &Array,
        _: &[usize],
    ) -> Result<Vec<Array>> {
        Ok(vec![(cotangent / &(output * 2.0)?)?])
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        tangents.at(0)? / &(&sqrt_of(primals.at(0)?) * 2.0)?
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        Ok((vec![sqrt_of(&x)], vec![Some(ax)]))
    }
}
