//! Key-based random numbers, bit-for-bit as MLX draws them.
//!
//! MLX's generator is counter-based: a *key* is a `uint32[2]` array, and every draw hashes counters
//! under a key with Threefry-2x32 ([`threefry2x32`]). The same key always gives the same numbers;
//! [`split`] derives independent keys. Every function takes `key: Option<&Array>`: `Some(k)` draws
//! from `k`, `None` takes the next key of this thread's global sequence (seeded from the clock in
//! milliseconds until [`seed`] is called), exactly as MLX: each draw without a key splits the global
//! key into (new global key, key for this draw).
//!
//! The float results repeat MLX's op-by-op rounding (see [`crate::primitives::random`]), so seeds
//! shared with MLX code reproduce MLX's samples exactly.
//!
//! **API shape.** The common call is short and defaults to float32, as in MLX's Python API:
//! `uniform(&[2, 3], None)`, `normal(&[8, 16], None)`. The `_with` forms take the dtype and the
//! distribution's parameters; those accept a number or an [`Array`] (anything
//! `Into<`[`ScalarOrArray`]`>`), broadcast against the requested shape.
//!
//! ```
//! use rmlx_core::{random, Dtype};
//! let k = random::key(0);
//! let u = random::uniform(&[4], Some(&k))?;
//! assert!((u.to_vec::<f32>()?[0] - 0.965_321).abs() < 1e-6);
//! random::seed(0);
//! let x = random::uniform(&[3], None)?;           // the global sequence, as mx.random.seed(0)
//! assert!((x.to_vec::<f32>()?[0] - 0.872_414).abs() < 1e-6);
//! let w = random::uniform_with(-0.5, 0.5, &[3, 4], Dtype::F32, None)?;
//! let n = random::normal_with(&[2], Dtype::F16, 1.0, 0.1, Some(&k))?;
//! assert_eq!((w.shape(), n.dtype()), (&[3usize, 4][..], Dtype::F16));
//! # Ok::<(), rmlx_core::Error>(())
//! ```

pub mod threefry;

use std::sync::Arc;

use crate::checked::Checked;
use crate::primitives::random::{RandomBits, Sample, SampleKind};
use crate::{bail, broadcast_shapes, Array, Dtype, Result};

pub use threefry::threefry2x32;

/// A distribution parameter: a number (converted to the draw's dtype, like a Python scalar in
/// MLX) or an array (cast to the draw's dtype, broadcast against the shape).
#[derive(Clone)]
pub enum ScalarOrArray {
    /// A number.
    Scalar(f64),
    /// An array.
    Array(Array),
}

impl std::fmt::Debug for ScalarOrArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScalarOrArray::Scalar(v) => write!(f, "Scalar({v})"),
            ScalarOrArray::Array(a) => write!(f, "Array({:?}, {})", a.shape(), a.dtype()),
        }
    }
}

impl ScalarOrArray {
    /// The parameter as an array of `dtype`.
    pub fn to_array(&self, dtype: Dtype) -> Result<Array> {
        match self {
            ScalarOrArray::Scalar(v) => Ok(Array::scalar_as(*v, dtype)),
            ScalarOrArray::Array(a) => a.astype(dtype),
        }
    }

    fn shape(&self) -> &[usize] {
        match self {
            ScalarOrArray::Scalar(_) => &[],
            ScalarOrArray::Array(a) => a.shape(),
        }
    }

    fn is_scalar(&self, v: f64) -> bool {
        matches!(self, ScalarOrArray::Scalar(x) if *x == v)
    }
}

macro_rules! scalar_from {
    ($($t:ty),*) => {$(
        impl From<$t> for ScalarOrArray {
            fn from(v: $t) -> Self {
                ScalarOrArray::Scalar(v as f64)
            }
        }
    )*};
}
scalar_from!(f64, f32, i32, i64, u32, u64, usize);

impl From<Array> for ScalarOrArray {
    fn from(a: Array) -> Self {
        ScalarOrArray::Array(a)
    }
}

impl From<&Array> for ScalarOrArray {
    fn from(a: &Array) -> Self {
        ScalarOrArray::Array(a.clone())
    }
}

fn seed_words(seed: u64) -> [u32; 2] {
    [(seed >> 32) as u32, seed as u32]
}

fn key_array(words: [u32; 2]) -> Array {
    // INVARIANT: two words always fill the shape [2], the only error of `from_slice`.
    #[allow(clippy::expect_used)]
    Array::from_slice(&words, &[2]).expect("two words fill shape [2]")
}

/// A key from a seed: `[seed >> 32, seed & 0xffffffff]` (uint32, shape `[2]`), as `mx.random.key`.
///
/// ```
/// use rmlx_core::random;
/// assert_eq!(random::key((1 << 32) + 5).to_vec::<u32>()?, vec![1, 5]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn key(seed: u64) -> Array {
    key_array(seed_words(seed))
}

/// Reseeds this thread's global key sequence (`mx.random.seed`).
pub fn seed(seed: u64) {
    crate::context::set_global_key(Some(seed_words(seed)));
}

/// The next key of the global sequence: the global key is split into (new global key, returned
/// key). Computed at once (a key is two words), so no graph grows across draws.
fn next_key() -> Array {
    let current = crate::context::global_key().unwrap_or_else(|| {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        seed_words(ms)
    });
    let (next, sub) = threefry::split_pair(current);
    crate::context::set_global_key(Some(next));
    key_array(sub)
}

fn check_key(key: &Array) -> Result<()> {
    if key.dtype() != Dtype::U32 {
        bail!(
            Dtype,
            "[bits] Expected key type uint32 but received {}.",
            key.dtype()
        );
    }
    if key.shape() != [2] {
        bail!(
            Shape,
            "[bits] Expected key shape (2) but received {:?}.",
            key.shape()
        );
    }
    Ok(())
}

/// The key a draw uses: the given one (checked) or the next of the global sequence.
fn resolve_key(key: Option<&Array>) -> Result<Array> {
    match key {
        Some(k) => {
            check_key(k)?;
            Ok(k.clone())
        }
        None => Ok(next_key()),
    }
}

/// Random bits: an array of `shape` with `width` bytes per element (1 → uint8, 2 → uint16,
/// 4 → uint32), as `mx.random.bits`.
///
/// ```
/// use rmlx_core::random;
/// let b = random::bits(&[4], 4, Some(&random::key(0)))?;
/// assert_eq!(b.to_vec::<u32>()?, vec![4146024105, 967050713, 2718843009, 1272950319]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn bits(shape: &[usize], width: usize, key: Option<&Array>) -> Result<Array> {
    let dtype = match width {
        4 => Dtype::U32,
        2 => Dtype::U16,
        1 => Dtype::U8,
        _ => bail!(
            Value,
            "[bits] Bit width must be in {{1, 2, 4}} but got {width}."
        ),
    };
    let key = resolve_key(key)?;
    Ok(Array::from_primitive(
        shape.to_vec(),
        dtype,
        Arc::new(RandomBits {
            width,
            shape: shape.to_vec(),
        }),
        vec![key],
    ))
}

/// `num` new keys from `key`, as a `(num, 2)` uint32 array (`mx.random.split(key, num)`).
pub fn split(key: &Array, num: usize) -> Result<Array> {
    bits(&[num, 2], 4, Some(key))
}

/// Splits `key` into two keys, MLX's `split(key)` pair: rows 0 and 1 of `split(key, 2)`. Reads the
/// key's two words (evaluating it if needed).
///
/// ```
/// use rmlx_core::random;
/// let (a, b) = random::split_pair(&random::key(0))?;
/// assert_eq!(a.to_vec::<u32>()?, vec![4146024105, 967050713]);
/// assert_eq!(b.to_vec::<u32>()?, vec![2718843009, 1272950319]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn split_pair(key: &Array) -> Result<(Array, Array)> {
    check_key(key)?;
    let w = key.to_vec::<u32>()?;
    let (a, b) = threefry::split_pair([*w.at(0)?, *w.at(1)?]);
    Ok((key_array(a), key_array(b)))
}

fn sample(kind: SampleKind, shape: &[usize], dtype: Dtype, inputs: Vec<Array>) -> Array {
    Array::from_primitive(
        shape.to_vec(),
        dtype,
        Arc::new(Sample { kind, dtype }),
        inputs,
    )
}

fn check_float(op: &str, dtype: Dtype, what: &str) -> Result<()> {
    if !dtype.is_float() {
        bail!(Dtype, "[{op}] {what}");
    }
    if dtype == Dtype::F64 {
        bail!(
            Dtype,
            "[{op}] Unsupported type float64 (MLX draws uniform samples in float32, float16 or bfloat16)."
        );
    }
    Ok(())
}

/// Checks that `param` broadcasts into `shape` without growing it (MLX's rule for bounds).
fn check_fits(op: &str, shape: &[usize], param: &[usize]) -> Result<()> {
    let out = broadcast_shapes(op, shape, param)?;
    if out != shape {
        bail!(
            Shape,
            "[{op}] Cannot generate random values of shape {shape:?} from broadcasted shape {out:?}."
        );
    }
    Ok(())
}

/// Uniform float32 samples in `[0, 1)` (`mx.random.uniform(shape=shape)`).
pub fn uniform(shape: &[usize], key: Option<&Array>) -> Result<Array> {
    uniform_with(0.0, 1.0, shape, Dtype::F32, key)
}

/// Uniform samples in `[low, high)` of a float `dtype` (float32, float16 or bfloat16), `low` and
/// `high` broadcast against `shape` (`mx.random.uniform(low, high, shape, dtype, key)`).
///
/// Computed as MLX does: `min(bits / (2³² − 1), below_one)` in float32, cast to `dtype`, then
/// `(high - low) * u + low` in `dtype`. Differentiable with respect to array bounds.
pub fn uniform_with(
    low: impl Into<ScalarOrArray>,
    high: impl Into<ScalarOrArray>,
    shape: &[usize],
    dtype: Dtype,
    key: Option<&Array>,
) -> Result<Array> {
    let (low, high) = (low.into(), high.into());
    check_float(
        "uniform",
        dtype,
        "Can only generate uniform numbers with real floating point type.",
    )?;
    let lo = low.to_array(dtype)?;
    let hi = high.to_array(dtype)?;
    check_fits(
        "uniform",
        shape,
        &broadcast_shapes("uniform", lo.shape(), hi.shape())?,
    )?;
    let unit = sample(SampleKind::Unit, shape, dtype, vec![bits(shape, 4, key)?]);
    if low.is_scalar(0.0) && high.is_scalar(1.0) {
        return Ok(unit); // (1 - 0) * u + 0 == u exactly
    }
    let range = crate::subtract(&hi, &lo)?;
    crate::add(&crate::multiply(&range, &unit)?, &lo)
}

/// Standard normal float32 samples (`mx.random.normal(shape)`).
///
/// ```
/// use rmlx_core::random;
/// let x = random::normal(&[4], Some(&random::key(0)))?;
/// assert!((x.to_vec::<f32>()?[0] - 1.816_09).abs() < 1e-5);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn normal(shape: &[usize], key: Option<&Array>) -> Result<Array> {
    normal_with(shape, Dtype::F32, 0.0, 1.0, key)
}

/// Normal samples `loc + scale * z` of a float `dtype` (`mx.random.normal(shape, dtype, loc,
/// scale, key)`); `loc` and `scale` are numbers or arrays (broadcasting into the result).
///
/// As MLX: a float32 uniform on `[nextafter(-1, 0), 1)` through `erfinv`, cast to `dtype`, times
/// `sqrt(2) * scale` (computed first, in `dtype`), plus `loc`. `loc = 0` and `scale = 1` give the
/// same bits as omitting them in MLX.
pub fn normal_with(
    shape: &[usize],
    dtype: Dtype,
    loc: impl Into<ScalarOrArray>,
    scale: impl Into<ScalarOrArray>,
    key: Option<&Array>,
) -> Result<Array> {
    let (loc, scale) = (loc.into(), scale.into());
    if !dtype.is_float() {
        bail!(
            Dtype,
            "[normal] Can only generate uniform numbers with floating point type."
        );
    }
    let plain_scale = scale.is_scalar(1.0);
    let b = bits(shape, 4, key)?;
    let mut out = sample(
        SampleKind::Normal {
            scaled: plain_scale,
        },
        shape,
        dtype,
        vec![b],
    );
    if !plain_scale {
        let sqrt2 = Array::scalar_as(std::f64::consts::SQRT_2, dtype);
        let applied = crate::multiply(&sqrt2, &scale.to_array(dtype)?)?;
        out = crate::multiply(&applied, &out)?;
    }
    if !loc.is_scalar(0.0) {
        out = crate::add(&loc.to_array(dtype)?, &out)?;
    }
    Ok(out)
}

/// Normal samples truncated to `[lower, upper]` (`mx.random.truncated_normal`). `shape` defaults
/// to the broadcast shape of the bounds.
///
/// As MLX (and JAX): a uniform draw between `erf(lower / √2)` and `erf(upper / √2)` mapped back
/// through `√2 · erfinv`, then clipped to the bounds; each step rounded to `dtype`.
pub fn truncated_normal(
    lower: impl Into<ScalarOrArray>,
    upper: impl Into<ScalarOrArray>,
    shape: Option<&[usize]>,
    dtype: Dtype,
    key: Option<&Array>,
) -> Result<Array> {
    let (lower, upper) = (lower.into(), upper.into());
    check_float(
        "trunc_normal",
        dtype,
        "trunc_normal only accepts floating point dtypes.",
    )?;
    let bounds = broadcast_shapes("truncated_normal", lower.shape(), upper.shape())?;
    let shape = shape.map_or(bounds.clone(), <[usize]>::to_vec);
    check_fits("uniform", &shape, &bounds)?;
    let lo = lower.to_array(dtype)?.broadcast_to(&shape)?;
    let hi = upper.to_array(dtype)?.broadcast_to(&shape)?;
    let b = bits(&shape, 4, key)?;
    Ok(sample(
        SampleKind::TruncatedNormal,
        &shape,
        dtype,
        vec![b, lo, hi],
    ))
}

/// Boolean samples, `true` with probability `p` (`mx.random.bernoulli(p, shape, key)`); `p` is a
/// number (float32) or a float array, `shape` defaults to `p`'s shape.
///
/// As MLX: `bits < p * nextafter(2³², ∞)` so `p ≥ 1` is always true and `p ≤ 0` always false.
pub fn bernoulli(
    p: impl Into<ScalarOrArray>,
    shape: Option<&[usize]>,
    key: Option<&Array>,
) -> Result<Array> {
    let p = match p.into() {
        ScalarOrArray::Scalar(v) => Array::scalar_as(v, Dtype::F32),
        ScalarOrArray::Array(a) => a,
    };
    if !p.dtype().is_float() {
        bail!(
            Dtype,
            "[bernoulli] bernoulli probability `p` must be a float type."
        );
    }
    let shape = shape.map_or(p.shape().to_vec(), <[usize]>::to_vec);
    if broadcast_shapes("bernoulli", &shape, p.shape())
        .ok()
        .as_deref()
        != Some(&shape[..])
    {
        bail!(
            Shape,
            "[bernoulli] shape of `p` is incompatible with argument `shape`."
        );
    }
    let upper = Array::scalar(f32::from_bits((u32::MAX as f32).to_bits() + 1));
    let threshold = crate::multiply(&p, &upper)?.broadcast_to(&shape)?;
    let b = bits(&shape, 4, key)?;
    Ok(sample(
        SampleKind::Bernoulli,
        &shape,
        Dtype::Bool,
        vec![b, threshold],
    ))
}

/// Random integers in `[low, high)` of an integer (or bool) `dtype`
/// (`mx.random.randint(low, high, shape, dtype, key)`).
///
/// As MLX 0.32: a float32 uniform draw on `[low, high)`, `max(·, low)`, truncated to `dtype`
/// (so bounds beyond 2²⁴ in magnitude lose precision exactly as they do in MLX).
///
/// ```
/// use rmlx_core::{random, Dtype};
/// let r = random::randint(0, 10, &[5], Dtype::I32, Some(&random::key(1)))?;
/// assert_eq!(r.to_vec::<i32>()?, vec![8, 1, 4, 6, 5]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn randint(
    low: impl Into<ScalarOrArray>,
    high: impl Into<ScalarOrArray>,
    shape: &[usize],
    dtype: Dtype,
    key: Option<&Array>,
) -> Result<Array> {
    let (low, high) = (low.into(), high.into());
    if dtype.is_float() {
        bail!(
            Dtype,
            "[randint] randint only accepts integer dtypes and bool."
        );
    }
    let lo = low.to_array(Dtype::F32)?;
    let hi = high.to_array(Dtype::F32)?;
    check_fits(
        "uniform",
        shape,
        &broadcast_shapes("randint", lo.shape(), hi.shape())?,
    )?;
    let b = bits(shape, 4, key)?;
    Ok(sample(
        SampleKind::RandInt,
        shape,
        dtype,
        vec![b, lo.broadcast_to(shape)?, hi.broadcast_to(shape)?],
    ))
}

/// Samples of the standard Gumbel distribution, `-log(-log(u))` with `u` uniform
/// (`mx.random.gumbel(shape, dtype, key)`).
pub fn gumbel(shape: &[usize], dtype: Dtype, key: Option<&Array>) -> Result<Array> {
    check_float(
        "uniform",
        dtype,
        "Can only generate uniform numbers with real floating point type.",
    )?;
    let b = bits(shape, 4, key)?;
    Ok(sample(SampleKind::Gumbel, shape, dtype, vec![b]))
}

/// Laplace samples with location `loc` and scale `scale` (MLX's `mx.random.laplace`), by MLX's
/// inverse CDF: `u ~ U(nextafter(-1, 0), 1)` in float32, `sign(u) * log1p(-|u|)`, cast to
/// `dtype`, then scaled and shifted. The same draws as MLX for the same key.
///
/// ```
/// use rmlx_core::{random, Dtype};
/// let s = random::laplace(&[1000], Dtype::F32, 2.0, 0.5, Some(&random::key(1)))?;
/// let mean = s.mean(None, false)?.item::<f32>()?;
/// assert!((mean - 2.0).abs() < 0.1);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn laplace(
    shape: &[usize],
    dtype: Dtype,
    loc: f64,
    scale: f64,
    key: Option<&Array>,
) -> Result<Array> {
    if !dtype.is_float() {
        bail!(
            Dtype,
            "[laplace] Only real floating point types are supported."
        );
    }
    let low = f32::from_bits((-1.0f32).to_bits() - 1); // nextafter(-1, 0)
    let u = uniform_with(f64::from(low), 1.0, shape, Dtype::F32, key)?;
    let minus_one = Array::scalar_as(-1.0, dtype);
    let s = (&u.sign()? * &(&minus_one * &u.abs()?)?.log1p()?)?.astype(dtype)?;
    let s = if scale != 1.0 {
        (&Array::scalar_as(scale, dtype) * &s)?
    } else {
        s
    };
    if loc != 0.0 {
        &Array::scalar_as(loc, dtype) + &s
    } else {
        Ok(s)
    }
}

/// Samples of the multivariate normal distribution with `mean` (`[.., n]`) and covariance `cov`
/// (`[.., n, n]`, symmetric positive semi-definite), MLX's `mx.random.multivariate_normal`. The
/// result has the shape of `shape`, `mean`'s and `cov`'s batch axes broadcast together, then
/// `n`. As MLX: standard normal draws `z` (float32) times the covariance's square root from its
/// SVD (`U diag(sqrt(S)) Vᵀ`), plus `mean`; the same draws as MLX for the same key. Only
/// float32 is supported (as in MLX).
///
/// ```
/// use rmlx_core::{random, Array, Dtype};
/// let mean = Array::from_slice(&[1.0f32, -1.0], &[2])?;
/// let cov = Array::from_slice(&[1.0f32, 0.0, 0.0, 4.0], &[2, 2])?;
/// let s = random::multivariate_normal(&mean, &cov, &[2000], Dtype::F32, Some(&random::key(0)))?;
/// assert_eq!(s.shape(), &[2000, 2]);
/// let m = s.mean(0, false)?.to_vec::<f32>()?;
/// assert!((m[0] - 1.0).abs() < 0.1 && (m[1] + 1.0).abs() < 0.2);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn multivariate_normal(
    mean: &Array,
    cov: &Array,
    shape: &[usize],
    dtype: Dtype,
    key: Option<&Array>,
) -> Result<Array> {
    if dtype != Dtype::F32 {
        bail!(
            Dtype,
            "[multivariate_normal] dtype must be float32, got {dtype}"
        );
    }
    if mean.ndim() < 1 {
        bail!(
            Shape,
            "[multivariate_normal] mean must have at least one dimension, got a scalar"
        );
    }
    if cov.ndim() < 2 {
        bail!(
            Shape,
            "[multivariate_normal] cov must have at least two dimensions, got shape {:?}",
            cov.shape()
        );
    }
    let (cs, ms) = (cov.shape(), mean.shape());
    let n = *ms.at(ms.len() - 1)?;
    if *cs.at(cs.len() - 1)? != *cs.at(cs.len() - 2)? {
        bail!(
            Shape,
            "[multivariate_normal] the last two dimensions of cov must be equal, got shape {cs:?}"
        );
    }
    if n != *cs.at(cs.len() - 1)? {
        bail!(
            Shape,
            "[multivariate_normal] mean (shape {ms:?}) and cov (shape {cs:?}) must have compatible shapes"
        );
    }
    let batch = broadcast_shapes(
        "multivariate_normal",
        cs.span(..cs.len() - 2)?,
        ms.span(..ms.len() - 1)?,
    )?;
    let mut out_shape = broadcast_shapes("multivariate_normal", &batch, shape)?;
    out_shape.push(n);
    let usv = crate::linalg::svd(&cov.astype(Dtype::F32)?, true)?;
    let root =
        crate::multiply(usv.at(0)?, &usv.at(1)?.sqrt()?.expand_dims(-2)?)?.matmul(usv.at(2)?)?;
    let z = normal_with(&out_shape, dtype, 0.0, 1.0, key)?;
    let scaled = z.expand_dims(-2)?.matmul(&root)?.squeeze(vec![-2isize])?;
    crate::add(mean, &scaled)
}

/// Draws indices from the categorical distributions given by unnormalised log-probabilities
/// `logits` along `axis`: one sample per distribution, so the result has `logits`' shape without
/// `axis` (uint32). `mx.random.categorical(logits, axis)`.
///
/// As MLX (the Gumbel-max trick): `argmax(gumbel(shape) + logits, axis)` with float32 Gumbel noise.
///
/// ```
/// use rmlx_core::{random, Array};
/// let logits = Array::from_slice(&[0.0f32, 100.0, 0.0], &[1, 3])?;
/// let s = random::categorical(&logits, -1, Some(&random::key(3)))?;
/// assert_eq!(s.to_vec::<u32>()?, vec![1]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn categorical(logits: &Array, axis: isize, key: Option<&Array>) -> Result<Array> {
    let ax = categorical_axis(logits, axis)?;
    let mut shape = logits.shape().to_vec();
    shape.remove(ax);
    categorical_impl(logits, ax, &shape, key)
}

/// `num_samples` draws per distribution, appended as a last axis
/// (`mx.random.categorical(logits, axis, num_samples=n)`).
pub fn categorical_num_samples(
    logits: &Array,
    axis: isize,
    num_samples: usize,
    key: Option<&Array>,
) -> Result<Array> {
    let ax = categorical_axis(logits, axis)?;
    let expanded = logits.expand_dims(-1)?;
    let mut shape = expanded.shape().to_vec();
    shape.remove(ax);
    if let Some(last) = shape.last_mut() {
        *last = num_samples;
    }
    categorical_impl(&expanded, ax, &shape, key)
}

/// Draws of the given `shape`, which must broadcast with `logits`' shape without `axis`
/// (`mx.random.categorical(logits, axis, shape=shape)`).
pub fn categorical_shape(
    logits: &Array,
    axis: isize,
    shape: &[usize],
    key: Option<&Array>,
) -> Result<Array> {
    let ax = categorical_axis(logits, axis)?;
    let mut reduced = logits.shape().to_vec();
    reduced.remove(ax);
    if broadcast_shapes("categorical", shape, &reduced)
        .ok()
        .as_deref()
        != Some(shape)
    {
        bail!(
            Shape,
            "[categorical] Requested shape {shape:?} is not broadcast compatible with reduced logits shape {reduced:?}."
        );
    }
    categorical_impl(logits, ax, shape, key)
}

fn categorical_axis(logits: &Array, axis: isize) -> Result<usize> {
    let n = logits.ndim() as isize;
    let ax = if axis < 0 { axis + n } else { axis };
    if ax < 0 || ax >= n {
        bail!(
            Axis,
            "[categorical] Invalid axis {axis} for logits with {} dimensions.",
            logits.ndim()
        );
    }
    Ok(ax as usize)
}

fn categorical_impl(
    logits: &Array,
    axis: usize,
    shape: &[usize],
    key: Option<&Array>,
) -> Result<Array> {
    // Where the logits' `axis` lands in the noise array (its trailing dims align with logits').
    let offset = (axis + shape.len() + 1).checked_sub(logits.ndim()).ok_or_else(|| {
        crate::Error::Shape(format!(
            "[categorical] shape {shape:?} has fewer dimensions than logits {:?} without axis {axis}",
            logits.shape()
        ))
    })?;
    let mut gumbel_shape = shape.to_vec();
    gumbel_shape.insert(offset, *logits.shape().at(axis)?);
    let g = gumbel(&gumbel_shape, Dtype::F32, key)?;
    crate::argmax(&crate::add(&g, logits)?, offset as isize, false)
}

/// A random permutation of `0..n` (uint32): `argsort` of `n` random words
/// (`mx.random.permutation(n)`).
///
/// ```
/// use rmlx_core::random;
/// let mut p = random::permutation(5, Some(&random::key(0)))?.to_vec::<u32>()?;
/// p.sort();
/// assert_eq!(p, vec![0, 1, 2, 3, 4]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn permutation(n: usize, key: Option<&Array>) -> Result<Array> {
    crate::argsort(&bits(&[n], 4, key)?, 0)
}

/// `x` with its entries along `axis` randomly permuted (`mx.random.permutation(x, axis)`).
pub fn permutation_of(x: &Array, axis: isize, key: Option<&Array>) -> Result<Array> {
    let n = x.dim(axis)?;
    x.take(&permutation(n, key)?, Some(axis))
}
