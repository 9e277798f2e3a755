//! The few array functions the optimizers need beyond `+ - * /`: square roots, signs, maxima,
//! means, norms and a small matrix product.
//!
//! They build lazy graph nodes like every rmlx op. Unary and binary maps are local primitives
//! over floating dtypes (computed in `f64`, rounded once to the array's dtype), so the optimizers
//! do not depend on which elementwise ops the core exposes yet. None of them is differentiated
//! through: optimizer updates are not part of a loss.

use std::sync::Arc;

use rmlx_core::backend::cpu::copy::contiguous;
use rmlx_core::buffer::{Buffer, Data};
use rmlx_core::primitives::Primitive;
use rmlx_core::{bail, broadcast_arrays, dispatch_float, Array, Dtype, Element, Result};

/// The scalar function of a [`Map`]: the output element from the input elements.
type MapFn = Arc<dyn Fn(&[f64]) -> f64 + Send + Sync>;

/// An elementwise map `f(args)` over floating arrays of one shape and dtype.
struct Map {
    name: &'static str,
    f: MapFn,
}

impl std::fmt::Debug for Map {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Map({})", self.name)
    }
}

fn map_typed<T: Element>(inputs: &[Data], shape: &[usize], f: &dyn Fn(&[f64]) -> f64) -> Data {
    let n: usize = shape.iter().product();
    let cols: Vec<Data> = inputs.iter().map(|d| contiguous(d.clone())).collect();
    let mut buf = Buffer::new(n * std::mem::size_of::<T>());
    let out = &mut buf.as_mut_slice::<T>()[..n];
    let mut args = vec![0.0f64; cols.len()];
    for (i, o) in out.iter_mut().enumerate() {
        for (a, c) in args.iter_mut().zip(&cols) {
            *a = c.raw::<T>()[i].to_f64();
        }
        *o = T::from_f64(f(&args));
    }
    Data::new(buf, T::DTYPE, shape)
}

impl Primitive for Map {
    fn name(&self) -> &'static str {
        self.name
    }
    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let f = &*self.f;
        dispatch_float!(dtype, T => Ok(map_typed::<T>(&inputs, shape, f)),
            _ => bail!(Dtype, "{}: expected a floating dtype, got {}", self.name, dtype.name()))
    }
}

fn check_float(op: &str, a: &Array) -> Result<()> {
    if !a.dtype().is_float() {
        bail!(
            Dtype,
            "{op}: expected a floating array, got {}",
            a.dtype().name()
        );
    }
    Ok(())
}

fn map1(
    name: &'static str,
    a: &Array,
    f: impl Fn(f64) -> f64 + Send + Sync + 'static,
) -> Result<Array> {
    check_float(name, a)?;
    Ok(Array::from_primitive(
        a.shape().to_vec(),
        a.dtype(),
        Arc::new(Map {
            name,
            f: Arc::new(move |v| f(v[0])),
        }),
        vec![a.clone()],
    ))
}

/// A broadcasting binary map over the promoted (floating) dtype of `a` and `b`.
pub(crate) fn map2(
    name: &'static str,
    a: &Array,
    b: &Array,
    f: impl Fn(f64, f64) -> f64 + Send + Sync + 'static,
) -> Result<Array> {
    let dtype = Dtype::promote(a.dtype(), b.dtype());
    let (a, b) = (a.astype(dtype)?, b.astype(dtype)?);
    check_float(name, &a)?;
    let v = broadcast_arrays(name, &[&a, &b])?;
    Ok(Array::from_primitive(
        v[0].shape().to_vec(),
        dtype,
        Arc::new(Map {
            name,
            f: Arc::new(move |v| f(v[0], v[1])),
        }),
        v,
    ))
}

/// Elementwise square root.
pub fn sqrt(a: &Array) -> Result<Array> {
    map1("sqrt", a, f64::sqrt)
}

/// Elementwise reciprocal square root `1 / sqrt(x)`.
pub fn rsqrt(a: &Array) -> Result<Array> {
    map1("rsqrt", a, |x| 1.0 / x.sqrt())
}

/// Elementwise sign: -1, 0 or 1 (NaN stays NaN).
pub fn sign(a: &Array) -> Result<Array> {
    map1("sign", a, |x| {
        if x > 0.0 {
            1.0
        } else if x < 0.0 {
            -1.0
        } else {
            x
        }
    })
}

/// Elementwise absolute value.
pub fn abs(a: &Array) -> Result<Array> {
    map1("abs", a, f64::abs)
}

/// Elementwise square `x * x`.
pub fn square(a: &Array) -> Result<Array> {
    a * a
}

/// Elementwise maximum with broadcasting (NaN propagates, as MLX).
pub fn maximum(a: &Array, b: &Array) -> Result<Array> {
    map2("maximum", a, b, |x, y| {
        if x.is_nan() || y.is_nan() {
            f64::NAN
        } else {
            x.max(y)
        }
    })
}

/// Elementwise minimum with broadcasting (NaN propagates, as MLX).
pub fn minimum(a: &Array, b: &Array) -> Result<Array> {
    map2("minimum", a, b, |x, y| {
        if x.is_nan() || y.is_nan() {
            f64::NAN
        } else {
            x.min(y)
        }
    })
}

/// Mean over `axis` (negative counts from the end), as MLX: `sum * (1/n)`.
pub fn mean_axis(a: &Array, axis: isize, keepdims: bool) -> Result<Array> {
    let n = a.dim(axis)?;
    let s = a.sum(axis as i32, keepdims)?;
    s * (1.0 / n as f64)
}

/// Mean of every element, as a 0-d array.
pub fn mean_all(a: &Array) -> Result<Array> {
    let n = a.size().max(1);
    let s = a.sum(None::<&[isize]>, false)?;
    s * (1.0 / n as f64)
}

/// Frobenius / 2-norm of all elements: `sqrt(sum(x²))` (0-d).
pub fn norm_all(a: &Array) -> Result<Array> {
    sqrt(&square(a)?.sum(None::<&[isize]>, false)?)
}

/// A zero array shaped and typed like `a` (a broadcast constant: no buffer of its own).
pub fn zeros_like(a: &Array) -> Result<Array> {
    zeros(a.shape(), a.dtype())
}

/// A zero array of `shape` and `dtype` (a broadcast constant: no buffer of its own).
pub fn zeros(shape: &[usize], dtype: Dtype) -> Result<Array> {
    Array::scalar_as(0.0, dtype).broadcast_to(shape)
}

/// 2-D matrix product `a @ b` (`[m, k] @ [k, n]`), as a broadcast multiply and a sum over `k`.
pub fn matmul2d(a: &Array, b: &Array) -> Result<Array> {
    if a.ndim() != 2 || b.ndim() != 2 || a.shape()[1] != b.shape()[0] {
        bail!(
            Shape,
            "matmul: expected [m, k] @ [k, n], got {:?} @ {:?}",
            a.shape(),
            b.shape()
        );
    }
    let (m, k, n) = (a.shape()[0], a.shape()[1], b.shape()[1]);
    let a3 = a.reshape(&[m as isize, k as isize, 1][..])?;
    let b3 = b.reshape(&[1, k as isize, n as isize][..])?;
    (a3 * b3)?.sum(1, false)
}
