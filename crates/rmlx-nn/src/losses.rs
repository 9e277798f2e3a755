//! Loss functions, as MLX's `nn.losses`: each takes a [`Reduction`] (`None`, `Mean`, `Sum`);
//! MLX's per-loss default is noted on each function. Written with rmlx ops exactly as MLX
//! writes them, so values and gradients match.
//!
//! ```
//! use rmlx_core::Array;
//! use rmlx_nn::losses::{mse_loss, Reduction};
//! let p = Array::from_slice(&[1.0f32, 2.0], &[2])?;
//! let t = Array::from_slice(&[0.0f32, 0.0], &[2])?;
//! assert_eq!(mse_loss(&p, &t, Reduction::Mean)?.to_vec::<f32>()?, vec![2.5]);
//! # Ok::<(), rmlx_core::Error>(())
//! ```

use rmlx_core::{self as mx, weak_scalar, Array, Error, Result};

/// How a loss reduces its per-element values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    /// Keep the per-element losses (MLX `'none'`).
    None,
    /// Their mean over all elements (MLX `'mean'`).
    Mean,
    /// Their sum (MLX `'sum'`).
    Sum,
}

impl Reduction {
    /// Parses `"none"`, `"mean"` or `"sum"`; anything else is MLX's error.
    pub fn from_name(name: &str) -> Result<Reduction> {
        match name {
            "none" => Ok(Reduction::None),
            "mean" => Ok(Reduction::Mean),
            "sum" => Ok(Reduction::Sum),
            _ => Err(Error::Value(
                "Invalid reduction. Must be 'none', 'mean', or 'sum'.".into(),
            )),
        }
    }

    /// Applies the reduction.
    pub fn apply(self, loss: Array) -> Result<Array> {
        match self {
            Reduction::None => Ok(loss),
            Reduction::Mean => loss.mean(None, false),
            Reduction::Sum => loss.sum(None, false),
        }
    }
}

fn s(v: f64, like: &Array) -> Array {
    weak_scalar(v, true, like)
}

fn py_shape(s: &[usize]) -> String {
    match s {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            s.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn same_shape(what: &str, a: &Array, b: &Array) -> Result<()> {
    if a.shape() != b.shape() {
        return Err(Error::Value(format!(
            "{what} shape {} does not match targets shape {}.",
            py_shape(a.shape()),
            py_shape(b.shape())
        )));
    }
    Ok(())
}

fn axis_of(op: &str, axis: isize, ndim: usize) -> Result<usize> {
    mx::normalize_axis(op, axis, ndim)
}

/// Cross entropy between `logits` and `targets` (MLX default reduction: `None`). `targets` are
/// class indices (one axis fewer than `logits`) or probabilities (same shape). Optional
/// per-element `weights` (the loss's shape) and `label_smoothing` in `[0, 1)`:
/// `logsumexp(logits) - (1 - ls) * score - ls * mean(logits)`.
pub fn cross_entropy(
    logits: &Array,
    targets: &Array,
    weights: Option<&Array>,
    axis: isize,
    label_smoothing: f64,
    reduction: Reduction,
) -> Result<Array> {
    if !(0.0..1.0).contains(&label_smoothing) {
        return Err(Error::Value(format!(
            "Label smoothing must in [0, 1), got {label_smoothing}."
        )));
    }
    let ax = axis_of("cross_entropy", axis, logits.ndim())?;
    let as_probs = targets.ndim() == logits.ndim();
    let score = if as_probs {
        if targets.shape() != logits.shape() {
            return Err(Error::Value(format!(
                "Targets shape {} does not match logits shape {}.",
                py_shape(targets.shape()),
                py_shape(logits.shape())
            )));
        }
        (logits * targets)?.sum(axis, false)?
    } else {
        let mut dropped = logits.shape().to_vec();
        dropped.remove(ax);
        if dropped != targets.shape() {
            return Err(Error::Value(format!(
                "Targets shape {} does not match logits shape {}.",
                py_shape(targets.shape()),
                py_shape(logits.shape())
            )));
        }
        logits
            .take_along_axis(&mx::expand_dims(targets, axis)?, axis)?
            .squeeze(axis)?
    };
    let lse = logits.logsumexp(axis, false)?;
    let mut loss = if label_smoothing > 0.0 {
        let adjusted = (&score * (1.0 - label_smoothing))?;
        let smoothed = (logits.mean(axis, false)?.negative()? * label_smoothing)?;
        ((&lse - &adjusted)? + smoothed)?
    } else {
        (&lse - &score)?
    };
    if let Some(w) = weights {
        if w.shape() != loss.shape() {
            return Err(Error::Value(format!(
                "Weights with shape {} is not the same as output loss with shape {}.",
                py_shape(w.shape()),
                py_shape(loss.shape())
            )));
        }
        loss = (&loss * w)?;
    }
    reduction.apply(loss)
}

/// Binary cross entropy (MLX default reduction: `Mean`). With `with_logits` (MLX's default)
/// `inputs` are logits: `logaddexp(0, x) - x * t`; otherwise probabilities:
/// `-(t * max(log p, -100) + (1 - t) * max(log(1 - p), -100))`.
pub fn binary_cross_entropy(
    inputs: &Array,
    targets: &Array,
    weights: Option<&Array>,
    with_logits: bool,
    reduction: Reduction,
) -> Result<Array> {
    same_shape("Inputs", inputs, targets)?;
    let mut loss = if with_logits {
        (mx::logaddexp(&s(0.0, inputs), inputs)? - (inputs * targets)?)?
    } else {
        let lo = s(-100.0, inputs);
        let log_p = mx::maximum(&inputs.log()?, &lo)?;
        let log_1mp = mx::maximum(&(1.0 - inputs)?.log()?, &lo)?;
        ((targets * &log_p)? + ((1.0 - targets)? * &log_1mp)?)?.negative()?
    };
    if let Some(w) = weights {
        if w.shape() != loss.shape() {
            return Err(Error::Value(format!(
                "Weights with shape {} is not the same as output loss with shape {}.",
                py_shape(w.shape()),
                py_shape(loss.shape())
            )));
        }
        loss = (&loss * w)?;
    }
    reduction.apply(loss)
}

/// `|p - t|` (MLX default reduction: `Mean`).
pub fn l1_loss(predictions: &Array, targets: &Array, reduction: Reduction) -> Result<Array> {
    same_shape("Predictions", predictions, targets)?;
    reduction.apply((predictions - targets)?.abs()?)
}

/// `(p - t)^2` (MLX default reduction: `Mean`).
pub fn mse_loss(predictions: &Array, targets: &Array, reduction: Reduction) -> Result<Array> {
    same_shape("Predictions", predictions, targets)?;
    reduction.apply((predictions - targets)?.square()?)
}

/// Negative log likelihood of log-probabilities `inputs` at class indices `targets` along
/// `axis` (MLX default reduction: `None`).
pub fn nll_loss(
    inputs: &Array,
    targets: &Array,
    axis: isize,
    reduction: Reduction,
) -> Result<Array> {
    let loss = inputs
        .take_along_axis(&mx::expand_dims(targets, axis)?, axis)?
        .squeeze(axis)?
        .negative()?;
    reduction.apply(loss)
}

/// Gaussian negative log likelihood with predicted means `inputs` and variances `vars`
/// (clamped below by `eps`): `0.5 * (log(v) + (t - x)^2 / v)`, plus `0.5 * log(2π)` when
/// `full` (MLX default reduction: `Mean`).
pub fn gaussian_nll_loss(
    inputs: &Array,
    targets: &Array,
    vars: &Array,
    full: bool,
    eps: f64,
    reduction: Reduction,
) -> Result<Array> {
    if inputs.shape() != targets.shape() {
        return Err(Error::Value(format!(
            "Inputs shape {} does not match targets shape {}.",
            py_shape(inputs.shape()),
            py_shape(targets.shape())
        )));
    }
    if inputs.shape() != vars.shape() {
        return Err(Error::Value(format!(
            "Inputs shape {} does not match vars shape {}.",
            py_shape(inputs.shape()),
            py_shape(vars.shape())
        )));
    }
    let v = mx::maximum(vars, &s(eps, vars))?;
    let mut loss = ((v.log()? + ((targets - inputs)?.square()? / &v)?)? * 0.5)?;
    if full {
        loss = (loss + 0.5 * (2.0 * std::f64::consts::PI).ln())?;
    }
    reduction.apply(loss)
}

/// Kullback-Leibler divergence from log-probabilities `inputs` to log-probabilities `targets`:
/// `sum(exp(t) * (t - x), axis)` (MLX default reduction: `None`).
pub fn kl_div_loss(
    inputs: &Array,
    targets: &Array,
    axis: isize,
    reduction: Reduction,
) -> Result<Array> {
    let loss = (targets.exp()? * (targets - inputs)?)?.sum(axis, false)?;
    reduction.apply(loss)
}

/// Smooth L1: `0.5 * d^2 / beta` where `|d| < beta`, `|d| - 0.5 * beta` elsewhere (MLX default
/// `beta = 1`, reduction `Mean`).
pub fn smooth_l1_loss(
    predictions: &Array,
    targets: &Array,
    beta: f64,
    reduction: Reduction,
) -> Result<Array> {
    same_shape("Predictions", predictions, targets)?;
    let diff = (predictions - targets)?.abs()?;
    let quad = ((diff.square()? * 0.5)? / beta)?;
    let lin = (&diff - 0.5 * beta)?;
    let loss = mx::where_(&diff.less(&s(beta, &diff))?, &quad, &lin)?;
    reduction.apply(loss)
}

/// Triplet margin loss `max(‖a - p‖_p - ‖a - n‖_p + margin, 0)` along `axis`, the norms
/// computed as `sqrt(sum(d^p) + eps)` as MLX does (MLX defaults `p = 2`, `margin = 1`,
/// `eps = 1e-6`, reduction `None`).
#[allow(clippy::too_many_arguments)]
pub fn triplet_loss(
    anchors: &Array,
    positives: &Array,
    negatives: &Array,
    axis: isize,
    p: f64,
    margin: f64,
    eps: f64,
    reduction: Reduction,
) -> Result<Array> {
    let dist = |b: &Array| -> Result<Array> {
        let d = (anchors - b)?;
        let pw = mx::power(&d, &s(p, &d))?;
        (pw.sum(axis, false)? + eps)?.sqrt()
    };
    let inner = ((dist(positives)? - dist(negatives)?)? + margin)?;
    let loss = mx::maximum(&inner, &s(0.0, &inner))?;
    reduction.apply(loss)
}

/// Hinge loss `max(1 - x * t, 0)` (MLX default reduction: `None`).
pub fn hinge_loss(inputs: &Array, targets: &Array, reduction: Reduction) -> Result<Array> {
    let m = (1.0 - (inputs * targets)?)?;
    reduction.apply(mx::maximum(&m, &s(0.0, &m))?)
}

/// Huber loss: `0.5 * e^2` where `|e| <= delta`, `delta * (|e| - 0.5 * delta)` elsewhere, with
/// `e = x - t` (MLX defaults `delta = 1`, reduction `None`).
pub fn huber_loss(
    inputs: &Array,
    targets: &Array,
    delta: f64,
    reduction: Reduction,
) -> Result<Array> {
    let errors = (inputs - targets)?;
    let abs = errors.abs()?;
    let quad = mx::minimum(&abs, &s(delta, &abs))?;
    let lin = (&abs - &quad)?;
    let loss = ((quad.square()? * 0.5)? + (lin * delta)?)?;
    reduction.apply(loss)
}

/// `log(cosh(x - t))` computed stably as `logaddexp(e, -e) - log 2` (MLX default reduction:
/// `None`).
pub fn log_cosh_loss(inputs: &Array, targets: &Array, reduction: Reduction) -> Result<Array> {
    let e = (inputs - targets)?;
    let loss = (mx::logaddexp(&e, &e.negative()?)? - std::f64::consts::LN_2)?;
    reduction.apply(loss)
}

/// Cosine similarity `sum(x1 * x2) / max(‖x1‖ ‖x2‖, eps)` along `axis` (MLX defaults `axis = 1`,
/// `eps = 1e-8`, reduction `None`).
pub fn cosine_similarity_loss(
    x1: &Array,
    x2: &Array,
    axis: isize,
    eps: f64,
    reduction: Reduction,
) -> Result<Array> {
    let n1 = x1.square()?.sum(axis, false)?.sqrt()?;
    let n2 = x2.square()?.sum(axis, false)?.sqrt()?;
    let num = (x1 * x2)?.sum(axis, false)?;
    let den = (n1 * n2)?;
    let loss = (num / mx::maximum(&den, &s(eps, &den))?)?;
    reduction.apply(loss)
}

/// Margin ranking loss `max(-t * (x1 - x2) + margin, 0)` (MLX defaults `margin = 0`,
/// reduction `None`).
pub fn margin_ranking_loss(
    inputs1: &Array,
    inputs2: &Array,
    targets: &Array,
    margin: f64,
    reduction: Reduction,
) -> Result<Array> {
    if inputs1.shape() != inputs2.shape() || inputs1.shape() != targets.shape() {
        return Err(Error::Value(format!(
            "The shapes of the arguments do not match. The provided shapes are inputs1.shape={}, inputs2.shape={}, and targets.shape={}.",
            py_shape(inputs1.shape()),
            py_shape(inputs2.shape()),
            py_shape(targets.shape())
        )));
    }
    let d = ((targets.negative()? * (inputs1 - inputs2)?)? + margin)?;
    reduction.apply(mx::maximum(&d, &s(0.0, &d))?)
}
