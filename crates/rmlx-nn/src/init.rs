//! Initializers (MLX `nn.init`): each constructor returns a function from an array (only its
//! shape is read) to a new array of the chosen dtype, drawing from the global key sequence as
//! MLX does.
//!
//! ```
//! use rmlx_core::{Array, Dtype};
//! use rmlx_nn::init::{self, FanMode};
//! let w = Array::from_vec(vec![0.0f32; 12], &[4, 3])?;
//! let he = init::he_uniform(Dtype::F32)(&w, FanMode::FanIn, 1.0)?;
//! let limit = (3.0f32 / 3.0).sqrt();
//! assert!(he.to_vec::<f32>()?.iter().all(|v| v.abs() <= limit));
//! let q = init::orthogonal(1.0, Dtype::F32)(&w)?;
//! assert_eq!(q.shape(), &[4, 3]);
//! # Ok::<(), rmlx_core::Error>(())
//! ```

// Indexing here is into shapes checked to have at least two axes (`calculate_fan_in_fan_out`),
// and, in `householder_qr`, into the `n × n` matrices and `n`-vectors it allocates, with every
// index below `n` by its loop bounds.
#![allow(clippy::indexing_slicing)]

use rmlx_core::{random, Array, Dtype, Error, Result};
use std::str::FromStr;

/// `constant(value)`: an array of `value` with the input's shape.
pub fn constant(value: f64, dtype: Dtype) -> impl Fn(&Array) -> Result<Array> {
    move |a| rmlx_core::full(a.shape(), Array::scalar_as(value, dtype), dtype)
}

/// `normal(mean, std)`: samples of `N(mean, std²)`.
pub fn normal(mean: f64, std: f64, dtype: Dtype) -> impl Fn(&Array) -> Result<Array> {
    move |a| random::normal_with(a.shape(), dtype, mean, std, None)
}

/// `uniform(low, high)`: samples of `U(low, high)`.
pub fn uniform(low: f64, high: f64, dtype: Dtype) -> impl Fn(&Array) -> Result<Array> {
    move |a| random::uniform_with(low, high, a.shape(), dtype, None)
}

/// `identity()`: the identity matrix; the input must be square.
pub fn identity(dtype: Dtype) -> impl Fn(&Array) -> Result<Array> {
    move |a| match a.shape() {
        [n, m] if n == m => rmlx_core::eye(*n, None, 0, dtype),
        s => Err(Error::Value(format!(
            "The input array must be a square matrix but got shape {}.",
            py_tuple(s)
        ))),
    }
}

/// Python's spelling of a shape tuple: `(3,)`, `(2, 3)`.
fn py_tuple(s: &[usize]) -> String {
    match s {
        [x] => format!("({x},)"),
        _ => format!(
            "({})",
            s.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// MLX's `_calculate_fan_in_fan_out`: `fan_in = shape[-1]`, `fan_out = shape[0]`, both times
/// the receptive field `prod(shape[1..-1])` for arrays of more than 2 dimensions. Fewer than 2
/// dimensions is an `Err`.
pub fn calculate_fan_in_fan_out(a: &Array) -> Result<(usize, usize)> {
    let s = a.shape();
    if s.len() < 2 {
        return Err(Error::Value(format!(
            "Glorot / He initialization requires at least 2 dimensional input but input with {} dimensions.",
            s.len()
        )));
    }
    let receptive: usize = s[1..s.len() - 1].iter().product();
    Ok((s[s.len() - 1] * receptive, s[0] * receptive))
}

/// Which fan the He initializers scale by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FanMode {
    /// The number of inputs (MLX `"fan_in"`, the default).
    #[default]
    FanIn,
    /// The number of outputs (MLX `"fan_out"`).
    FanOut,
}

impl FromStr for FanMode {
    type Err = Error;
    /// `"fan_in"` or `"fan_out"`; anything else is MLX's `ValueError`.
    fn from_str(s: &str) -> Result<FanMode> {
        match s {
            "fan_in" => Ok(FanMode::FanIn),
            "fan_out" => Ok(FanMode::FanOut),
            _ => Err(Error::Value(format!(
                "Invalid mode: {s}. Valid modes are: fan_in, fan_out"
            ))),
        }
    }
}

/// `glorot_normal()`: `N(0, σ²)` with `σ = gain · sqrt(2 / (fan_in + fan_out))`; the returned
/// function takes `(array, gain)`.
pub fn glorot_normal(dtype: Dtype) -> impl Fn(&Array, f64) -> Result<Array> {
    move |a, gain| {
        let (fi, fo) = calculate_fan_in_fan_out(a)?;
        let std = gain * (2.0 / (fi + fo) as f64).sqrt();
        random::normal_with(a.shape(), dtype, 0.0, std, None)
    }
}

/// `glorot_uniform()`: `U(-l, l)` with `l = gain · sqrt(6 / (fan_in + fan_out))`; the returned
/// function takes `(array, gain)`.
pub fn glorot_uniform(dtype: Dtype) -> impl Fn(&Array, f64) -> Result<Array> {
    move |a, gain| {
        let (fi, fo) = calculate_fan_in_fan_out(a)?;
        let limit = gain * (6.0 / (fi + fo) as f64).sqrt();
        random::uniform_with(-limit, limit, a.shape(), dtype, None)
    }
}

fn fan(a: &Array, mode: FanMode) -> Result<f64> {
    let (fi, fo) = calculate_fan_in_fan_out(a)?;
    Ok(match mode {
        FanMode::FanIn => fi,
        FanMode::FanOut => fo,
    } as f64)
}

/// `he_normal()`: `N(0, σ²)` with `σ = gain / sqrt(fan)`; the returned function takes
/// `(array, mode, gain)`.
pub fn he_normal(dtype: Dtype) -> impl Fn(&Array, FanMode, f64) -> Result<Array> {
    move |a, mode, gain| {
        let std = gain / fan(a, mode)?.sqrt();
        random::normal_with(a.shape(), dtype, 0.0, std, None)
    }
}

/// `he_uniform()`: `U(-l, l)` with `l = gain · sqrt(3 / fan)`; the returned function takes
/// `(array, mode, gain)`.
pub fn he_uniform(dtype: Dtype) -> impl Fn(&Array, FanMode, f64) -> Result<Array> {
    move |a, mode, gain| {
        let limit = gain * (3.0 / fan(a, mode)?).sqrt();
        random::uniform_with(-limit, limit, a.shape(), dtype, None)
    }
}

/// `sparse(sparsity, mean, std)`: `N(mean, std²)` samples with `ceil(sparsity · cols)` entries
/// of each row set to zero, at positions chosen by a uniform draw (made first, as MLX). The
/// input must be 2-D; `sparsity` must lie in `[0, 1]`.
pub fn sparse(
    sparsity: f64,
    mean: f64,
    std: f64,
    dtype: Dtype,
) -> impl Fn(&Array) -> Result<Array> {
    move |a| {
        let [_, cols] = a.shape() else {
            return Err(Error::Value(
                "Only tensors with 2 dimensions are supported".into(),
            ));
        };
        if !(0.0..=1.0).contains(&sparsity) {
            return Err(Error::Value(format!(
                "[sparse] sparsity must lie in [0, 1], got {sparsity}"
            )));
        }
        // MLX: int(mx.ceil(sparsity * cols)), the ceiling taken in float32
        let num_zeros = ((sparsity * *cols as f64) as f32).ceil() as i64;
        let order = random::uniform(a.shape(), None)?.argsort(1)?;
        let values = random::normal_with(a.shape(), dtype, mean, std, None)?;
        // rank of each entry in its row's random order; the first `num_zeros` are zeroed
        let rank = order.argsort(1)?.astype(Dtype::I64)?;
        let keep = rank.greater_equal(&Array::scalar(num_zeros))?;
        keep.where_(&values, &Array::scalar_as(0.0, dtype))
    }
}

/// `orthogonal(gain)`: a `[rows, cols]` matrix with orthonormal rows or columns (whichever are
/// fewer), times `gain`: the `Q` of the QR decomposition of an `n × n` standard normal draw
/// (`n = max(rows, cols)`), its columns' signs fixed so `R` has a positive diagonal, sliced to
/// the input's shape. The QR runs in f64 on the host (Householder).
pub fn orthogonal(gain: f64, dtype: Dtype) -> impl Fn(&Array) -> Result<Array> {
    move |a| {
        let (rows, cols) = match a.shape() {
            [r, c] => (*r, *c),
            s if s.len() < 2 => {
                return Err(Error::Value(format!(
                    "Orthogonal initialization requires at least 2D tensor but got {}D.",
                    s.len()
                )))
            }
            _ => {
                return Err(Error::Value(
                    "Orthogonal initialization currently only supports 2D arrays.".into(),
                ))
            }
        };
        let n = rows.max(cols);
        let m = random::normal_with(&[n, n], dtype, 0.0, 1.0, None)?
            .astype(Dtype::F64)?
            .to_vec::<f64>()?;
        let (q, rdiag) = householder_qr(&m, n);
        let mut out = Vec::with_capacity(rows * cols);
        for i in 0..rows {
            for (j, d) in rdiag.iter().enumerate().take(cols) {
                let sign = if *d > 0.0 {
                    1.0
                } else if *d < 0.0 {
                    -1.0
                } else {
                    0.0
                };
                out.push(q[i * n + j] * sign * gain);
            }
        }
        Array::from_vec(out, &[rows, cols])?.astype(dtype)
    }
}

/// The QR decomposition of the row-major `n × n` matrix `m` by Householder reflections:
/// returns `Q` (row-major `n × n`, orthogonal) and the diagonal of `R` (`m = Q R`).
pub(crate) fn householder_qr(m: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut r = m.to_vec();
    // q starts as the identity; each reflection H_k is applied on the right: Q = H_0 H_1 …
    let mut q = vec![0.0; n * n];
    for i in 0..n {
        q[i * n + i] = 1.0;
    }
    let mut v = vec![0.0; n];
    for k in 0..n.saturating_sub(1) {
        let norm: f64 = (k..n).map(|i| r[i * n + k].powi(2)).sum::<f64>().sqrt();
        if norm == 0.0 {
            continue;
        }
        let x0 = r[k * n + k];
        let alpha = if x0 > 0.0 { -norm } else { norm };
        for i in k..n {
            v[i] = r[i * n + k];
        }
        v[k] -= alpha;
        let vnorm2: f64 = (k..n).map(|i| v[i] * v[i]).sum();
        if vnorm2 == 0.0 {
            continue;
        }
        // R ← (I - 2 v vᵀ / vᵀv) R
        for j in 0..n {
            let dot: f64 = (k..n).map(|i| v[i] * r[i * n + j]).sum();
            let f = 2.0 * dot / vnorm2;
            for i in k..n {
                r[i * n + j] -= f * v[i];
            }
        }
        // Q ← Q (I - 2 v vᵀ / vᵀv)
        for i in 0..n {
            let dot: f64 = (k..n).map(|j| q[i * n + j] * v[j]).sum();
            let f = 2.0 * dot / vnorm2;
            for j in k..n {
                q[i * n + j] -= f * v[j];
            }
        }
    }
    let diag = (0..n).map(|i| r[i * n + i]).collect();
    (q, diag)
}

#[cfg(test)]
mod tests {
    use super::householder_qr;

    #[test]
    fn qr_reconstructs_and_is_orthogonal() {
        let n = 5;
        let m: Vec<f64> = (0..n * n)
            .map(|i| ((i * 7919 % 23) as f64 - 11.0) / 3.0)
            .collect();
        let (q, _) = householder_qr(&m, n);
        // QᵀQ = I
        for a in 0..n {
            for b in 0..n {
                let d: f64 = (0..n).map(|i| q[i * n + a] * q[i * n + b]).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((d - want).abs() < 1e-12, "{a},{b}: {d}");
            }
        }
        // R = Qᵀ M is upper triangular and Q R = M
        let mut r = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                r[i * n + j] = (0..n).map(|k| q[k * n + i] * m[k * n + j]).sum();
            }
        }
        for i in 0..n {
            for j in 0..i {
                assert!(r[i * n + j].abs() < 1e-12);
            }
        }
    }
}
