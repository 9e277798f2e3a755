//! Activation functions in function form, as MLX's `mlx.nn` functions (`nn.relu`, `nn.gelu`, …).
//! Each is written with rmlx ops exactly as MLX writes it, so values and gradients match
//! (e.g. [`relu`] is `maximum(x, 0)`: its gradient at `0` is `0`, as in MLX). Scalars are weak:
//! they take `x`'s dtype.
//!
//! ```
//! use rmlx_core::Array;
//! use rmlx_nn::activations::{relu, softplus};
//! let x = Array::from_slice(&[-1.0f32, 0.0, 2.0], &[3])?;
//! assert_eq!(relu(&x)?.to_vec::<f32>()?, vec![0.0, 0.0, 2.0]);
//! assert!((softplus(&x)?.to_vec::<f32>()?[1] - 2f32.ln()).abs() < 1e-7);
//! # Ok::<(), rmlx_core::Error>(())
//! ```

use rmlx_core::{self as mx, weak_scalar, Array, Error, Result};

fn s(v: f64, like: &Array) -> Array {
    weak_scalar(v, true, like)
}

/// `sigmoid(x) = 1 / (1 + exp(-x))`.
pub fn sigmoid(x: &Array) -> Result<Array> {
    x.sigmoid()
}

/// `tanh(x)`.
pub fn tanh(x: &Array) -> Result<Array> {
    x.tanh()
}

/// `relu(x) = maximum(x, 0)`.
pub fn relu(x: &Array) -> Result<Array> {
    mx::maximum(x, &s(0.0, x))
}

/// `relu2(x) = square(maximum(x, 0))`.
pub fn relu2(x: &Array) -> Result<Array> {
    relu(x)?.square()
}

/// `relu6(x) = minimum(maximum(x, 0), 6)`.
pub fn relu6(x: &Array) -> Result<Array> {
    mx::minimum(&relu(x)?, &s(6.0, x))
}

/// `leaky_relu(x) = maximum(negative_slope * x, x)` (MLX's default slope is `0.01`).
pub fn leaky_relu(x: &Array, negative_slope: f64) -> Result<Array> {
    mx::maximum(&(x * negative_slope)?, x)
}

/// `log_softmax(x) = x - logsumexp(x, axis, keepdims)`.
pub fn log_softmax(x: &Array, axis: isize) -> Result<Array> {
    x - &x.logsumexp(axis, true)?
}

/// `elu(x) = where(x > 0, x, alpha * (exp(x) - 1))` (default `alpha = 1`).
pub fn elu(x: &Array, alpha: f64) -> Result<Array> {
    let neg = ((x.exp()? - 1.0)? * alpha)?;
    mx::where_(&x.greater(&s(0.0, x))?, x, &neg)
}

/// `softmax(x)` along `axis`.
pub fn softmax(x: &Array, axis: isize) -> Result<Array> {
    x.softmax(axis, false)
}

/// `softmin(x) = softmax(-x)` along `axis`.
pub fn softmin(x: &Array, axis: isize) -> Result<Array> {
    (-x)?.softmax(axis, false)
}

/// `softplus(x) = logaddexp(x, 0)`.
pub fn softplus(x: &Array) -> Result<Array> {
    mx::logaddexp(x, &s(0.0, x))
}

/// `softsign(x) = x / (1 + |x|)`.
pub fn softsign(x: &Array) -> Result<Array> {
    x / &(x.abs()? + 1.0)?
}

/// `softshrink(x) = where(|x| > lambd, x - sign(x) * lambd, 0)` (default `lambd = 0.5`).
pub fn softshrink(x: &Array, lambd: f64) -> Result<Array> {
    let shrunk = (x - &(x.sign()? * lambd)?)?;
    mx::where_(&x.abs()?.greater(&s(lambd, x))?, &shrunk, &s(0.0, x))
}

/// `celu(x) = maximum(x, 0) + alpha * (exp(minimum(x, 0) / alpha) - 1)` (default `alpha = 1`).
pub fn celu(x: &Array, alpha: f64) -> Result<Array> {
    let z = s(0.0, x);
    let neg = (((mx::minimum(x, &z)? / alpha)?.exp()? - 1.0)? * alpha)?;
    mx::maximum(x, &z)? + neg
}

/// `silu(x) = x * sigmoid(x)`.
pub fn silu(x: &Array) -> Result<Array> {
    x * &x.sigmoid()?
}

/// `log_sigmoid(x) = -softplus(-x)`.
pub fn log_sigmoid(x: &Array) -> Result<Array> {
    softplus(&(-x)?)?.negative()
}

/// Exact gelu: `x * (1 + erf(x / sqrt(2))) / 2`.
pub fn gelu(x: &Array) -> Result<Array> {
    let e = (x / std::f64::consts::SQRT_2)?.erf()?;
    (x * &(e + 1.0)?)? / 2.0
}

/// Tanh approximation of gelu:
/// `0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))`.
pub fn gelu_approx(x: &Array) -> Result<Array> {
    let c = (2.0 / std::f64::consts::PI).sqrt();
    let cube = mx::power(x, &s(3.0, x))?;
    let inner = ((x + &(cube * 0.044715)?)? * c)?;
    (x * 0.5)? * &(inner.tanh()? + 1.0)?
}

/// Fast approximation of gelu: `x * sigmoid(1.702 * x)`.
pub fn gelu_fast_approx(x: &Array) -> Result<Array> {
    x * &(x * 1.702)?.sigmoid()?
}

/// Gated linear unit: splits `x` in two halves `a, b` along `axis` and returns `a * sigmoid(b)`.
pub fn glu(x: &Array, axis: isize) -> Result<Array> {
    let parts = x.split(2usize, axis)?;
    match parts.as_slice() {
        [a, b] => a * &b.sigmoid()?,
        _ => Err(Error::Shape("glu: expected two halves".into())),
    }
}

/// `step(x) = where(x > threshold, 1, 0)` (an int32 array, as MLX).
pub fn step(x: &Array, threshold: f64) -> Result<Array> {
    let c = x.greater(&s(threshold, x))?;
    mx::where_(&c, &Array::scalar(1i32), &Array::scalar(0i32))
}

/// `selu(x) = elu(x, 1.67326) * 1.0507`.
pub fn selu(x: &Array) -> Result<Array> {
    elu(x, 1.67326)? * 1.0507
}

/// `prelu(x, alpha) = maximum(0, x) + alpha * minimum(0, x)`.
pub fn prelu(x: &Array, alpha: &Array) -> Result<Array> {
    let z = s(0.0, x);
    mx::maximum(&z, x)? + (alpha * &mx::minimum(&z, x)?)?
}

/// `mish(x) = x * tanh(softplus(x))`.
pub fn mish(x: &Array) -> Result<Array> {
    x * &softplus(x)?.tanh()?
}

/// `hardswish(x) = x * minimum(maximum(x + 3, 0), 6) / 6`.
pub fn hardswish(x: &Array) -> Result<Array> {
    let m = mx::maximum(&(x + 3.0)?, &s(0.0, x))?;
    (x * &mx::minimum(&m, &s(6.0, x))?)? / 6.0
}

/// `hard_tanh(x) = minimum(maximum(x, min_val), max_val)` (defaults `-1`, `1`).
pub fn hard_tanh(x: &Array, min_val: f64, max_val: f64) -> Result<Array> {
    mx::minimum(&mx::maximum(x, &s(min_val, x))?, &s(max_val, x))
}

/// `hard_shrink(x) = where(|x| > lambd, x, 0)` (default `lambd = 0.5`).
pub fn hard_shrink(x: &Array, lambd: f64) -> Result<Array> {
    mx::where_(&x.abs()?.greater(&s(lambd, x))?, x, &s(0.0, x))
}

/// The gelu of MLX's `nn.GELU(approx)`: `"none"` → [`gelu`], `"precise"`/`"tanh"` →
/// [`gelu_approx`], `"fast"` → [`gelu_fast_approx`].
pub fn gelu_by_name(x: &Array, approx: &str) -> Result<Array> {
    match approx {
        "none" => gelu(x),
        "precise" | "tanh" => gelu_approx(x),
        "fast" => gelu_fast_approx(x),
        _ => Err(Error::Value(format!(
            "The approximation should be in ['none', 'precise', 'tanh', 'fast'] but '{approx}' was given"
        ))),
    }
}
