//! MLX's `mx.fft`: discrete Fourier transforms (`fft`, `ifft`, `rfft`, `irfft` in one, two and
//! n dimensions), `fftshift`/`ifftshift`, the sample frequencies and the short-time transforms
//! `stft`/`istft`.
//!
//! Transforms take complex64 (real inputs are converted) and run on `rustfft`; the real
//! transforms take float32 (`rfft*`) or give it (`irfft*`). A size `n` pads the input with
//! zeros or truncates it along each transformed axis. Every transform has MLX's gradients.
//!
//! ```
//! use rmlx_core::{fft, Array, Complex32};
//! let x = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[4])?;
//! let y = fft::fft(&x, None, -1, fft::FftNorm::Backward)?;
//! assert_eq!(y.to_vec::<Complex32>()?[0], Complex32::new(10.0, 0.0));
//! let back = fft::irfft(&fft::rfft(&x, None, -1, fft::FftNorm::Backward)?, Some(4), -1, fft::FftNorm::Backward)?;
//! assert_eq!(back.to_vec::<f32>()?, vec![1.0, 2.0, 3.0, 4.0]);
//! # Ok::<(), rmlx_core::Error>(())
//! ```

use std::sync::Arc;

use crate::checked::Checked;
use crate::ops::real;
use crate::ops::{normalize_axes, normalize_axis};
use crate::primitives::fft::Fft;
use crate::{bail, Array, Dtype, Result, SliceArg};

/// How a transform is scaled (MLX's `norm`): `Backward` leaves the forward transform unscaled
/// and divides the inverse by `n`, `Forward` the opposite, `Ortho` divides both by `sqrt(n)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FftNorm {
    /// no scaling forward, `1 / n` inverse (the default)
    #[default]
    Backward,
    /// `1 / sqrt(n)` both ways
    Ortho,
    /// `1 / n` forward, no scaling inverse
    Forward,
}

impl FftNorm {
    /// Parses MLX's names: `"backward"`, `"ortho"`, `"forward"`.
    pub fn from_name(name: &str) -> Result<FftNorm> {
        Ok(match name {
            "backward" => FftNorm::Backward,
            "ortho" => FftNorm::Ortho,
            "forward" => FftNorm::Forward,
            _ => bail!(
                Value,
                "[fft] Invalid norm '{name}': expected 'backward', 'ortho' or 'forward'."
            ),
        })
    }

    /// The factor applied after the unnormalised (forward) or `1 / n`-scaled (inverse)
    /// primitive, for `n` transformed values.
    fn factor(self, n: f64, inverse: bool) -> f64 {
        match self {
            FftNorm::Backward => 1.0,
            FftNorm::Ortho if inverse => n.sqrt(),
            FftNorm::Ortho => 1.0 / n.sqrt(),
            FftNorm::Forward if inverse => n,
            FftNorm::Forward => 1.0 / n,
        }
    }
}

/// The transform over resolved, distinct `axes` with sizes `n` (MLX's `fft_impl`): pads or
/// truncates the input to `n` (to `n / 2 + 1` bins on the last axis of a complex-to-real
/// transform), converts it to complex64 (float32 for `rfft`), and builds the `FFT` node.
pub fn fft_with_sizes(
    a: &Array,
    n: &[usize],
    axes: &[usize],
    real: bool,
    inverse: bool,
    norm: FftNorm,
) -> Result<Array> {
    if a.ndim() < 1 {
        bail!(Shape, "[fftn] Requires array with at least one dimension.");
    }
    if n.len() != axes.len() {
        bail!(Shape, "[fftn] Shape and axes have different sizes.");
    }
    if axes.is_empty() {
        return Ok(a.clone());
    }
    let mut seen = axes.to_vec();
    seen.sort_unstable();
    seen.dedup();
    if seen.len() != axes.len() {
        bail!(Axis, "[fftn] Duplicated axis received {axes:?}");
    }
    if axes.iter().any(|&ax| ax >= a.ndim()) {
        bail!(
            Axis,
            "[fftn] Invalid axis received for array with {} dimensions.",
            a.ndim()
        );
    }
    if n.contains(&0) {
        bail!(Value, "[fftn] Invalid FFT output size requested {n:?}");
    }
    let mut in_shape = a.shape().to_vec();
    for (&ax, &len) in axes.iter().zip(n) {
        *in_shape.at_mut(ax)? = len;
    }
    let last = *axes.at(axes.len() - 1)?;
    let n_last = *n.at(n.len() - 1)?;
    if real && inverse {
        *in_shape.at_mut(last)? = n_last / 2 + 1;
    }
    let input = resize(a, &in_shape)?;
    let in_dtype = if real && !inverse {
        Dtype::F32
    } else {
        Dtype::C64
    };
    let input = input.astype(in_dtype)?;
    let p = Fft {
        axes: axes.to_vec(),
        inverse,
        real,
        n_last: if real && inverse { n_last } else { 0 },
    };
    let out_shape = p.out_shape(&in_shape)?;
    let out_dtype = if real && inverse {
        Dtype::F32
    } else {
        Dtype::C64
    };
    let out = Array::from_primitive(out_shape, out_dtype, Arc::new(p), vec![input]);
    let count: f64 = n.iter().map(|&v| v as f64).product();
    let factor = norm.factor(count, inverse);
    if factor == 1.0 {
        Ok(out)
    } else {
        out.multiply(&Array::scalar_as(factor, out_dtype))
    }
}

/// Truncates (a slice) and zero-pads `a` to `shape`.
fn resize(a: &Array, shape: &[usize]) -> Result<Array> {
    let mut out = a.clone();
    if shape.iter().zip(a.shape()).any(|(s, o)| s < o) {
        let args: Vec<SliceArg> = shape
            .iter()
            .map(|&s| SliceArg::new(Some(0), Some(s as isize), 1))
            .collect();
        out = out.slice(&args)?;
    }
    if shape.iter().zip(out.shape()).any(|(s, o)| s > o) {
        let widths: Vec<(usize, usize)> = shape
            .iter()
            .zip(out.shape())
            .map(|(&s, &o)| (0, s.saturating_sub(o)))
            .collect();
        out = out.pad(&widths, 0.0)?;
    }
    Ok(out)
}

/// The default sizes along `axes`: the input's, with `2 (m - 1)` on the last axis of a
/// complex-to-real transform.
fn default_sizes(a: &Array, axes: &[usize], real_inverse: bool) -> Result<Vec<usize>> {
    let mut n = axes
        .iter()
        .map(|&ax| a.shape().at(ax).copied())
        .collect::<Result<Vec<usize>>>()?;
    if real_inverse {
        if let Some(last) = n.last_mut() {
            *last = last.saturating_sub(1) * 2;
        }
    }
    Ok(n)
}

/// The n-dimensional forms' argument rules (MLX's Python binding): no axes and no sizes is
/// every axis; sizes need axes; axes without sizes take the input's sizes.
fn nd(
    name: &str,
    a: &Array,
    s: Option<&[usize]>,
    axes: Option<&[isize]>,
    real: bool,
    inverse: bool,
    norm: FftNorm,
) -> Result<Array> {
    let ndim = a.ndim();
    let axes: Vec<usize> = match (axes, s) {
        (Some(ax), _) => normalize_axes(name, ax, ndim)?,
        (None, Some(_)) => bail!(
            Value,
            "[{name}] `axes` should not be `None` if `s` is not `None`."
        ),
        (None, None) => (0..ndim).collect(),
    };
    let n = match s {
        Some(s) => {
            if s.len() != axes.len() {
                bail!(Shape, "[{name}] Shape and axes have different sizes.");
            }
            s.to_vec()
        }
        None => default_sizes(a, &axes, real && inverse)?,
    };
    fft_with_sizes(a, &n, &axes, real, inverse, norm)
}

fn one(
    name: &str,
    a: &Array,
    n: Option<usize>,
    axis: isize,
    real: bool,
    inverse: bool,
    norm: FftNorm,
) -> Result<Array> {
    if a.ndim() < 1 {
        bail!(
            Shape,
            "[{name}] Requires array with at least one dimension."
        );
    }
    let ax = normalize_axis(name, axis, a.ndim())?;
    let n = match n {
        Some(n) => n,
        None => *default_sizes(a, &[ax], real && inverse)?.at(0)?,
    };
    fft_with_sizes(a, &[n], &[ax], real, inverse, norm)
}

/// One-dimensional discrete Fourier transform along `axis`, padded or truncated to `n`.
pub fn fft(a: &Array, n: Option<usize>, axis: isize, norm: FftNorm) -> Result<Array> {
    one("fft", a, n, axis, false, false, norm)
}

/// One-dimensional inverse discrete Fourier transform along `axis`.
pub fn ifft(a: &Array, n: Option<usize>, axis: isize, norm: FftNorm) -> Result<Array> {
    one("ifft", a, n, axis, false, true, norm)
}

/// One-dimensional transform of real input: `n / 2 + 1` bins along `axis`.
pub fn rfft(a: &Array, n: Option<usize>, axis: isize, norm: FftNorm) -> Result<Array> {
    one("rfft", a, n, axis, true, false, norm)
}

/// Inverse of [`rfft`]: `n` real values (default `2 (m - 1)` for `m` bins) along `axis`.
pub fn irfft(a: &Array, n: Option<usize>, axis: isize, norm: FftNorm) -> Result<Array> {
    one("irfft", a, n, axis, true, true, norm)
}

/// Two-dimensional transform over `axes` (MLX's default: `[-2, -1]`).
pub fn fft2(a: &Array, s: Option<&[usize]>, axes: &[isize], norm: FftNorm) -> Result<Array> {
    nd("fft2", a, s, Some(axes), false, false, norm)
}

/// Two-dimensional inverse transform over `axes`.
pub fn ifft2(a: &Array, s: Option<&[usize]>, axes: &[isize], norm: FftNorm) -> Result<Array> {
    nd("ifft2", a, s, Some(axes), false, true, norm)
}

/// Two-dimensional transform of real input over `axes` (the last one is halved).
pub fn rfft2(a: &Array, s: Option<&[usize]>, axes: &[isize], norm: FftNorm) -> Result<Array> {
    nd("rfft2", a, s, Some(axes), true, false, norm)
}

/// Inverse of [`rfft2`].
pub fn irfft2(a: &Array, s: Option<&[usize]>, axes: &[isize], norm: FftNorm) -> Result<Array> {
    nd("irfft2", a, s, Some(axes), true, true, norm)
}

/// n-dimensional transform over `axes` (default: every axis; sizes `s` need `axes`, as MLX).
pub fn fftn(
    a: &Array,
    s: Option<&[usize]>,
    axes: Option<&[isize]>,
    norm: FftNorm,
) -> Result<Array> {
    nd("fftn", a, s, axes, false, false, norm)
}

/// n-dimensional inverse transform.
pub fn ifftn(
    a: &Array,
    s: Option<&[usize]>,
    axes: Option<&[isize]>,
    norm: FftNorm,
) -> Result<Array> {
    nd("ifftn", a, s, axes, false, true, norm)
}

/// n-dimensional transform of real input (the last axis is halved).
pub fn rfftn(
    a: &Array,
    s: Option<&[usize]>,
    axes: Option<&[isize]>,
    norm: FftNorm,
) -> Result<Array> {
    nd("rfftn", a, s, axes, true, false, norm)
}

/// Inverse of [`rfftn`].
pub fn irfftn(
    a: &Array,
    s: Option<&[usize]>,
    axes: Option<&[isize]>,
    norm: FftNorm,
) -> Result<Array> {
    nd("irfftn", a, s, axes, true, true, norm)
}

fn shift(name: &str, a: &Array, axes: Option<&[isize]>, inverse: bool) -> Result<Array> {
    let axes: Vec<isize> = match axes {
        Some(ax) => ax.to_vec(),
        None => (0..a.ndim() as isize).collect(),
    };
    let mut out = a.clone();
    for &ax in &axes {
        let n = a.ndim() as isize;
        if ax < -n || ax >= n {
            bail!(
                Axis,
                "[{name}] Invalid axis {ax} for array with {} dimensions.",
                a.ndim()
            );
        }
        let axis = if ax < 0 { ax + n } else { ax } as usize;
        let half = (*a.shape().at(axis)? / 2) as isize;
        out = crate::ops::roll(
            &out,
            if inverse { -half } else { half },
            Some(axis as isize),
        )?;
    }
    Ok(out)
}

/// Moves the zero-frequency bin to the centre of `axes` (default: every axis), as numpy.
pub fn fftshift(a: &Array, axes: Option<&[isize]>) -> Result<Array> {
    shift("fftshift", a, axes, false)
}

/// Undoes [`fftshift`].
pub fn ifftshift(a: &Array, axes: Option<&[isize]>) -> Result<Array> {
    shift("ifftshift", a, axes, true)
}

fn freq_scale(name: &str, n: usize, d: f64) -> Result<Array> {
    if n == 0 {
        bail!(Value, "[{name}] `n` must be greater than 0.");
    }
    if d == 0.0 {
        bail!(Value, "[{name}] `d` must be non-zero.");
    }
    Ok(Array::scalar((1.0 / (n as f64 * d)) as f32))
}

/// The sample frequencies of an `n`-point transform with sample spacing `d`, as float32:
/// `[0, 1, …, (n-1)/2, -(n/2), …, -1] / (n d)`.
pub fn fftfreq(n: usize, d: f64) -> Result<Array> {
    let scale = freq_scale("fftfreq", n, d)?;
    let pos = crate::ops::arange(0.0, n.div_ceil(2) as f64, 1.0, Dtype::F32)?;
    let neg = crate::ops::arange(-((n / 2) as f64), 0.0, 1.0, Dtype::F32)?;
    crate::ops::concatenate(&[pos, neg], 0)?.multiply(&scale)
}

/// The sample frequencies of an `n`-point [`rfft`]: `[0, 1, …, n/2] / (n d)`, as float32.
pub fn rfftfreq(n: usize, d: f64) -> Result<Array> {
    let scale = freq_scale("rfftfreq", n, d)?;
    crate::ops::arange(0.0, (n / 2 + 1) as f64, 1.0, Dtype::F32)?.multiply(&scale)
}

/// How [`stft`] pads the ends of a centred signal (MLX's `pad_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StftPad {
    /// mirror without repeating the edge sample (numpy's `reflect`; the default)
    #[default]
    Reflect,
    /// zeros
    Constant,
    /// repeat the edge sample
    Edge,
}

impl StftPad {
    /// Parses MLX's names: `"reflect"`, `"constant"`, `"edge"`.
    pub fn from_name(name: &str) -> Result<StftPad> {
        Ok(match name {
            "reflect" => StftPad::Reflect,
            "constant" => StftPad::Constant,
            "edge" => StftPad::Edge,
            _ => bail!(
                Value,
                "Invalid padding mode ({name}) passed to pad: expected reflect, constant or edge"
            ),
        })
    }
}

/// The options of [`stft`] and [`istft`] besides the signal, with MLX's defaults
/// (`StftOptions::new(n_fft)`): `hop_length = n_fft / 4`, `win_length = n_fft`, a rectangular
/// window, centred frames, reflect padding, backward norm, one-sided for real input.
#[derive(Debug, Clone)]
pub struct StftOptions {
    /// Transform size (for [`istft`], `None` infers it from the bins).
    pub n_fft: Option<usize>,
    /// Samples between frames (`None`: `n_fft / 4`).
    pub hop_length: Option<usize>,
    /// Window size (`None`: `n_fft`); the window is centred and zero-padded to `n_fft`.
    pub win_length: Option<usize>,
    /// A one-dimensional window (`None`: ones of `win_length`).
    pub window: Option<Array>,
    /// Pad both ends by `n_fft / 2` so frames are centred.
    pub center: bool,
    /// How the ends are padded when centred.
    pub pad_mode: StftPad,
    /// Scaling of each frame's transform.
    pub norm: FftNorm,
    /// Only the non-negative frequencies (`None`: true for real input, false for complex).
    pub onesided: Option<bool>,
    /// [`istft`] only: trim or zero-pad the signal to this length.
    pub length: Option<usize>,
}

impl StftOptions {
    /// MLX's defaults for a transform of `n_fft` points.
    pub fn new(n_fft: usize) -> StftOptions {
        StftOptions {
            n_fft: Some(n_fft),
            hop_length: None,
            win_length: None,
            window: None,
            center: true,
            pad_mode: StftPad::Reflect,
            norm: FftNorm::Backward,
            onesided: None,
            length: None,
        }
    }
}

impl Default for StftOptions {
    /// MLX's `stft` defaults (`n_fft = 2048`).
    fn default() -> StftOptions {
        StftOptions::new(2048)
    }
}

/// The window of `opts`, centred and zero-padded to `n_fft` (float32).
fn stft_window(name: &str, opts: &StftOptions, n_fft: usize) -> Result<Array> {
    let w = match &opts.window {
        Some(w) => {
            if w.ndim() != 1 {
                bail!(
                    Shape,
                    "[{name}] window must be one-dimensional, got shape {:?}",
                    w.shape()
                );
            }
            w.astype(Dtype::F32)?
        }
        None => {
            let wl = opts.win_length.unwrap_or(n_fft);
            if wl == 0 || wl > n_fft {
                bail!(Value, "[{name}] window length must not exceed n_fft.");
            }
            crate::ops::ones(&[wl], Dtype::F32)?
        }
    };
    let wl = *w.shape().at(0)?;
    if wl > n_fft {
        bail!(Value, "[{name}] window length must not exceed n_fft.");
    }
    let left = (n_fft - wl) / 2;
    w.pad(&[(left, n_fft - wl - left)], 0.0)
}

/// The index into a signal of `len` samples that padding position `i` (of `len + 2 p`) reads.
fn padded_index(i: isize, len: isize, mode: StftPad) -> Option<isize> {
    if (0..len).contains(&i) {
        return Some(i);
    }
    match mode {
        StftPad::Constant => None,
        StftPad::Edge => Some(i.clamp(0, len - 1)),
        StftPad::Reflect => {
            if len == 1 {
                return Some(0);
            }
            let period = 2 * (len - 1);
            let j = i.rem_euclid(period);
            Some(if j < len { j } else { period - j })
        }
    }
}

/// Short-time Fourier transform of the last axis of `x`: frames of `n_fft` samples every
/// `hop_length`, windowed, each transformed (one-sided for real input). The output is
/// complex64 with shape `(..., n_freq, n_frames)`, as MLX's `mx.fft.stft`.
///
/// ```
/// use rmlx_core::{fft, Array};
/// let x = Array::from_slice(&(0..64).map(|i| (i as f32 * 0.3).sin()).collect::<Vec<_>>(), &[64])?;
/// let s = fft::stft(&x, &fft::StftOptions::new(16))?;
/// assert_eq!(s.shape(), &[9, 17]);
/// let back = fft::istft(&s, &fft::StftOptions { length: Some(64), ..fft::StftOptions::new(16) })?;
/// let err = back.subtract(&x)?.abs()?.max(None, false)?.item::<f32>()?;
/// assert!(err < 1e-5);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn stft(x: &Array, opts: &StftOptions) -> Result<Array> {
    let n_fft = opts.n_fft.unwrap_or(2048);
    if n_fft == 0 {
        bail!(Value, "[stft] n_fft must be positive.");
    }
    let hop = opts.hop_length.unwrap_or(n_fft / 4);
    if hop == 0 {
        bail!(Value, "[stft] hop_length must be positive.");
    }
    if x.ndim() < 1 {
        bail!(Shape, "[stft] Requires array with at least one dimension.");
    }
    let window = stft_window("stft", opts, n_fft)?;
    let len = *x.shape().at(x.ndim() - 1)?;
    let pad = if opts.center { n_fft / 2 } else { 0 };
    let total = len + 2 * pad;
    if len == 0 || total < n_fft {
        bail!(
            Shape,
            "[stft] the signal ({len} samples, {total} after padding) is shorter than n_fft ({n_fft})"
        );
    }
    let n_frames = 1 + (total - n_fft) / hop;
    // one gather: frame f, sample k reads padded position f * hop + k
    let mut idx = Vec::with_capacity(n_frames * n_fft);
    let mut keep = Vec::with_capacity(n_frames * n_fft);
    for f in 0..n_frames {
        for k in 0..n_fft {
            let p = (f * hop + k) as isize - pad as isize;
            match padded_index(p, len as isize, opts.pad_mode) {
                Some(i) => {
                    idx.push(i as i32);
                    keep.push(1.0f32);
                }
                None => {
                    idx.push(0);
                    keep.push(0.0);
                }
            }
        }
    }
    let idx = Array::from_slice(&idx, &[n_frames * n_fft])?;
    let mut frames = x.take(&idx, Some(-1))?;
    let mut fshape = x.shape().span(..x.ndim() - 1)?.to_vec();
    fshape.extend([n_frames, n_fft]);
    if keep.contains(&0.0) {
        frames = frames.multiply(&Array::from_slice(&keep, &[n_frames * n_fft])?)?;
    }
    let frames = frames.reshape(&fshape)?.multiply(&window)?;
    let onesided = opts.onesided.unwrap_or(x.dtype() != Dtype::C64);
    let spec = if onesided {
        rfft(&frames, None, -1, opts.norm)?
    } else {
        fft(&frames, None, -1, opts.norm)?
    };
    spec.swapaxes(-1, -2)
}

/// Inverse of [`stft`]: overlap-adds the windowed inverse transform of each frame of
/// `stft_matrix` (`(..., n_freq, n_frames)`) and divides by the overlap-added squared window
/// (0 where that is 0). `n_fft` defaults to `2 (n_freq - 1)` one-sided and `n_freq` otherwise;
/// the result is float32 (the real part for a two-sided input).
pub fn istft(stft_matrix: &Array, opts: &StftOptions) -> Result<Array> {
    let s = stft_matrix;
    if s.ndim() < 2 {
        bail!(
            Shape,
            "[istft] expected an array of shape (..., n_freq, n_frames), got {:?}",
            s.shape()
        );
    }
    let (n_freq, n_frames) = (*s.shape().at(s.ndim() - 2)?, *s.shape().at(s.ndim() - 1)?);
    let onesided = opts.onesided.unwrap_or(true);
    let n_fft = match opts.n_fft {
        Some(n) => n,
        None if onesided => n_freq.saturating_sub(1) * 2,
        None => n_freq,
    };
    if n_fft == 0 {
        bail!(Value, "[istft] n_fft must be positive.");
    }
    let hop = opts.hop_length.unwrap_or(n_fft / 4);
    if hop == 0 {
        bail!(Value, "[istft] hop_length must be positive.");
    }
    let window = stft_window("istft", opts, n_fft)?;
    let spec = s.swapaxes(-1, -2)?;
    let frames = if onesided {
        irfft(&spec, Some(n_fft), -1, opts.norm)?
    } else {
        real(&ifft(&spec, Some(n_fft), -1, opts.norm)?)?
    };
    let frames = frames.multiply(&window)?;
    let full = n_fft + hop * n_frames.saturating_sub(1);
    let mut pos = Vec::with_capacity(n_frames * n_fft);
    for f in 0..n_frames {
        for k in 0..n_fft {
            pos.push((f * hop + k) as i32);
        }
    }
    let batch = frames.shape().span(..frames.ndim() - 2)?;
    let mut flat_shape = batch.to_vec();
    flat_shape.push(n_frames * n_fft);
    let flat = frames.reshape(&flat_shape)?;
    let pos = Array::from_slice(&pos, &[n_frames * n_fft])?;
    let mut out_shape = batch.to_vec();
    out_shape.push(full);
    let zeros = crate::ops::zeros(&out_shape, Dtype::F32)?;
    let y = crate::ops::scatter_add_axis(&zeros, &pos.broadcast_to(&flat_shape)?, &flat, -1)?;
    // the squared window's overlap-add, by the same scatter (a graph op, so a traced window works)
    let w2 = window
        .square()?
        .reshape([1, n_fft])?
        .broadcast_to(&[n_frames, n_fft])?;
    let env = crate::ops::scatter_add_axis(
        &crate::ops::zeros(&[full], Dtype::F32)?,
        &pos,
        &w2.reshape([n_frames * n_fft])?,
        0,
    )?;
    let nonzero = env.greater(&Array::scalar(1e-11f32))?;
    let safe = nonzero.where_(&env, &Array::scalar(1.0f32))?;
    let inv = nonzero.where_(&safe.reciprocal()?, &Array::scalar(0.0f32))?;
    let y = y.multiply(&inv)?;
    let start = if opts.center { n_fft / 2 } else { 0 };
    let end = match opts.length {
        Some(l) => start + l,
        None if opts.center => full.saturating_sub(n_fft / 2).max(start),
        None => full,
    };
    let avail = end.min(full).max(start);
    let mut args = vec![SliceArg::new(None, None, 1); y.ndim() - 1];
    args.push(SliceArg::new(Some(start as isize), Some(avail as isize), 1));
    let y = y.slice(&args)?;
    if end > avail {
        let mut widths = vec![(0, 0); y.ndim() - 1];
        widths.push((0, end - avail));
        y.pad(&widths, 0.0)
    } else {
        Ok(y)
    }
}
