//! `Upsample` and the functions behind it (MLX's `upsample.py`): nearest, linear and cubic
//! interpolation over any number of channels-last spatial axes, with `align_corners` and
//! antialiased downsampling. The sample positions and weights are computed on the host in single
//! precision, in MLX's order of operations, and applied with `take` and products, so the result
//! is differentiable in `x`.

// Indexing here is into shapes checked to have at least 3 axes (`dims + 2`: batch, the `dims`
// spatial axes, channels), into `scale` (one factor per spatial axis, checked against `dims`),
// and into the per-axis tap lists and the odometer `choice` built with one entry per axis.
#![allow(clippy::indexing_slicing)]

use super::py_bool;
use super::Forward;
use crate::{Module, ModuleState};
use rmlx_core::{Array, Error, Result};

/// The interpolation of [`Upsample`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpsampleMode {
    /// The nearest input position (MLX `"nearest"`).
    Nearest,
    /// Linear in each axis: bilinear, trilinear… (MLX `"linear"`).
    Linear,
    /// Cubic convolution (Keys, `a = -0.75`; `-0.5` when antialiased) (MLX `"cubic"`).
    Cubic,
}

/// One axis's taps: for each tap, the input index of every output position and its weight.
type Taps = Vec<(Vec<u32>, Vec<f32>)>;

fn out_len(n: usize, scale: f64) -> usize {
    (scale * n as f64) as usize
}

/// Output positions in input coordinates (MLX `_scaled_indices`), in f32.
fn scaled_indices(n: usize, scale: f64, align_corners: bool) -> Vec<f32> {
    let m = out_len(n, scale);
    if align_corners {
        let step = ((n as f64 - 1.0) / (m.max(2) - 1) as f64) as f32;
        (0..m).map(|i| i as f32 * step).collect()
    } else {
        let step = 1.0 / scale;
        let start = (((m as f64 - 1.0) * step - n as f64 + 1.0) / 2.0) as f32;
        let step = step as f32;
        (0..m).map(|i| i as f32 * step - start).collect()
    }
}

fn clip(v: f32, n: usize) -> u32 {
    v.max(0.0).min(n as f32 - 1.0) as u32
}

fn linear_taps(n: usize, scale: f64, align_corners: bool) -> Taps {
    let idx: Vec<f32> = scaled_indices(n, scale, align_corners)
        .into_iter()
        .map(|v| v.max(0.0).min(n as f32 - 1.0))
        .collect();
    let w: Vec<f32> = idx.iter().map(|v| v - v.floor()).collect();
    vec![
        (
            idx.iter().map(|v| v.floor() as u32).collect(),
            w.iter().map(|w| 1.0 - w).collect(),
        ),
        (idx.iter().map(|v| v.ceil() as u32).collect(), w),
    ]
}

fn cubic_taps(n: usize, scale: f64, align_corners: bool) -> Taps {
    let idx = scaled_indices(n, scale, align_corners);
    let a = -0.75f32;
    let near = |x: f32| ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    let far = |x: f32| (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    let tap = |offset: fn(f32) -> f32, w: &dyn Fn(f32) -> f32| {
        let grid: Vec<f32> = idx.iter().map(|&v| offset(v)).collect();
        (
            grid.iter().map(|&g| clip(g, n)).collect(),
            idx.iter()
                .zip(&grid)
                .map(|(v, g)| w((v - g).abs()))
                .collect(),
        )
    };
    vec![
        tap(|v| v.floor(), &near),
        tap(|v| (v + 1.0).floor(), &near),
        tap(|v| v.floor() - 1.0, &far),
        tap(|v| (v + 1.0).floor() + 1.0, &far),
    ]
}

/// Antialiased taps (MLX `_aa_indices`): when downsampling the kernel widens by `1 / scale`;
/// out-of-range taps get weight 0 and the weights of each output are renormalised.
fn antialiased_taps(n: usize, scale: f64, kernel: fn(f32) -> f32, radius: f64) -> Taps {
    let idx = scaled_indices(n, scale, false);
    let inv = if scale < 1.0 { 1.0 / scale } else { 1.0 };
    let taps = (radius * inv).ceil() as i64 + 1;
    let inv32 = inv as f32;
    let mut raw: Vec<(Vec<f32>, Vec<f32>)> = Vec::new();
    for k in (-taps + 1)..taps {
        let at: Vec<f32> = idx.iter().map(|v| v.floor() + k as f32).collect();
        let w = idx
            .iter()
            .zip(&at)
            .map(|(v, i)| {
                let w = kernel((v - i).abs() / inv32);
                if *i >= 0.0 && *i < n as f32 {
                    w
                } else {
                    0.0
                }
            })
            .collect();
        raw.push((at, w));
    }
    let m = idx.len();
    let sums: Vec<f32> = (0..m)
        .map(|j| {
            let s = raw.iter().fold(0.0f32, |s, (_, w)| s + w[j]);
            if s > 0.0 {
                s
            } else {
                1.0
            }
        })
        .collect();
    raw.into_iter()
        .map(|(at, w)| {
            (
                at.iter().map(|&i| clip(i, n)).collect(),
                w.iter().zip(&sums).map(|(w, s)| w / s).collect(),
            )
        })
        .collect()
}

fn triangle(x: f32) -> f32 {
    (1.0 - x).max(0.0)
}

fn cubic_half(x: f32) -> f32 {
    let a = -0.5f32;
    if x <= 1.0 {
        ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    } else if x <= 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * a
    } else {
        0.0
    }
}

/// MLX's error for an input without a spatial axis.
fn check_rank(x: &Array) -> Result<()> {
    if x.ndim() < 3 {
        return Err(Error::Shape(format!(
            "[Upsample] The input should have at least 1 spatial dimension which means it should be at least 3D but {}D was provided",
            x.ndim()
        )));
    }
    Ok(())
}

fn check(x: &Array, scale: &[f64], op: &str) -> Result<()> {
    check_rank(x)?;
    let dims = x.ndim() - 2;
    if scale.len() != dims {
        return Err(Error::Value(format!(
            "[{op}] A scale needs to be provided for each spatial dimension (got {} for {dims})",
            scale.len()
        )));
    }
    if let Some(s) = scale.iter().find(|s| !s.is_finite() || **s <= 0.0) {
        return Err(Error::Value(format!(
            "[{op}] scale factors must be positive, got {s}"
        )));
    }
    Ok(())
}

/// `[1, …, m at axis, …, 1, 1]` weights (spatial axes, then channels) for broadcasting.
fn weight_array(w: &[f32], axis: usize, dims: usize) -> Result<Array> {
    let mut shape = vec![1usize; dims + 1];
    shape[axis] = w.len();
    Array::from_slice(w, &shape)
}

fn take_axis(x: &Array, idx: &[u32], axis: usize) -> Result<Array> {
    x.take(&Array::from_slice(idx, &[idx.len()])?, Some(axis as isize))
}

/// One axis after another: `out = Σ_k take(out, idx_k) * w_k` (MLX `_interpolate_separable`).
fn separable(x: &Array, taps: &[Taps]) -> Result<Array> {
    let dims = taps.len();
    let mut out = x.clone();
    for (d, axis_taps) in taps.iter().enumerate() {
        let mut acc: Option<Array> = None;
        for (idx, w) in axis_taps {
            let s =
                (&take_axis(&out, idx, d + 1)? * &weight_array(w, d, dims)?.astype(x.dtype())?)?;
            acc = Some(match acc {
                None => s,
                Some(a) => (&a + &s)?,
            });
        }
        out = acc.ok_or_else(|| Error::Value("[Upsample] internal: no taps".into()))?;
    }
    Ok(out)
}

/// Every combination of one tap per axis, weighted by the product of the weights (MLX
/// `_interpolate`).
fn product(x: &Array, taps: &[Taps]) -> Result<Array> {
    let dims = taps.len();
    let mut choice = vec![0usize; dims];
    let mut acc: Option<Array> = None;
    loop {
        let mut sample = x.clone();
        let mut weight: Option<Array> = None;
        for d in 0..dims {
            let (idx, w) = &taps[d][choice[d]];
            sample = take_axis(&sample, idx, d + 1)?;
            let w = weight_array(w, d, dims)?;
            weight = Some(match weight {
                None => w,
                Some(p) => (&p * &w)?,
            });
        }
        let term = match weight {
            Some(w) => (&w.astype(x.dtype())? * &sample)?,
            None => sample,
        };
        acc = Some(match acc {
            None => term,
            Some(a) => (&a + &term)?,
        });
        // next combination, the last axis fastest (itertools.product's order)
        let mut d = dims;
        loop {
            if d == 0 {
                return acc.ok_or_else(|| Error::Value("[Upsample] internal: no taps".into()));
            }
            d -= 1;
            choice[d] += 1;
            if choice[d] < taps[d].len() {
                break;
            }
            choice[d] = 0;
        }
    }
}

/// Nearest-neighbour upsampling of `x` `(N, spatial…, C)` by one factor per spatial axis (MLX
/// `upsample_nearest`): integer factors repeat each element; others pick
/// `round((i + 0.5) * n / m - 0.5)` when enlarging and `floor(i * n / m)` when shrinking.
///
/// ```
/// use rmlx_core::{Array};
/// let x = Array::from_slice(&[1.0f32, 2.0], &[1, 2, 1])?;
/// let y = rmlx_nn::upsample_nearest(&x, &[2.0])?;
/// assert_eq!(y.to_vec::<f32>()?, vec![1.0, 1.0, 2.0, 2.0]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn upsample_nearest(x: &Array, scale: &[f64]) -> Result<Array> {
    check(x, scale, "upsample_nearest")?;
    let dims = scale.len();
    if scale.iter().all(|s| s.fract() == 0.0) {
        let s = x.shape().to_vec();
        let mut expanded = vec![s[0]];
        let mut target = vec![s[0]];
        let mut merged = vec![s[0]];
        for d in 0..dims {
            expanded.extend([s[d + 1], 1]);
            target.extend([s[d + 1], scale[d] as usize]);
            merged.push(s[d + 1] * scale[d] as usize);
        }
        expanded.push(s[dims + 1]);
        target.push(s[dims + 1]);
        merged.push(s[dims + 1]);
        return x
            .reshape(&expanded[..])?
            .broadcast_to(&target)?
            .reshape(&merged[..]);
    }
    let mut out = x.clone();
    for (d, &sc) in scale.iter().enumerate() {
        let n = x.shape()[d + 1];
        let m = out_len(n, sc);
        let ratio = (n as f64 / m.max(1) as f64) as f32;
        let idx: Vec<u32> = (0..m)
            .map(|i| {
                if m > n {
                    ((i as f32 + 0.5) * ratio - 0.5).round_ties_even() as u32
                } else {
                    (i as f32 * ratio) as u32
                }
            })
            .collect();
        out = take_axis(&out, &idx, d + 1)?;
    }
    Ok(out)
}

/// Linear (bilinear, trilinear…) upsampling of `x` `(N, spatial…, C)` (MLX `upsample_linear`).
/// `align_corners` maps the corner pixels onto each other; `antialias` widens the kernel when
/// shrinking (not with `align_corners`).
pub fn upsample_linear(
    x: &Array,
    scale: &[f64],
    align_corners: bool,
    antialias: bool,
) -> Result<Array> {
    check(x, scale, "upsample_linear")?;
    check_antialias(align_corners, antialias)?;
    let n = |d: usize| x.shape()[d + 1];
    if antialias {
        let taps: Vec<Taps> = (0..scale.len())
            .map(|d| antialiased_taps(n(d), scale[d], triangle, 1.0))
            .collect();
        return separable(x, &taps);
    }
    let taps: Vec<Taps> = (0..scale.len())
        .map(|d| linear_taps(n(d), scale[d], align_corners))
        .collect();
    if align_corners {
        product(x, &taps)
    } else {
        separable(x, &taps)
    }
}

/// Cubic (bicubic…) upsampling of `x` `(N, spatial…, C)` (MLX `upsample_cubic`): Keys' kernel
/// with `a = -0.75`, or `a = -0.5` with `antialias` (PyTorch's conventions).
pub fn upsample_cubic(
    x: &Array,
    scale: &[f64],
    align_corners: bool,
    antialias: bool,
) -> Result<Array> {
    check(x, scale, "upsample_cubic")?;
    check_antialias(align_corners, antialias)?;
    let n = |d: usize| x.shape()[d + 1];
    if antialias {
        let taps: Vec<Taps> = (0..scale.len())
            .map(|d| antialiased_taps(n(d), scale[d], cubic_half, 2.0))
            .collect();
        return separable(x, &taps);
    }
    let taps: Vec<Taps> = (0..scale.len())
        .map(|d| cubic_taps(n(d), scale[d], align_corners))
        .collect();
    product(x, &taps)
}

fn check_antialias(align_corners: bool, antialias: bool) -> Result<()> {
    if antialias && align_corners {
        return Err(Error::Value(
            "[Upsample] antialias=True with align_corners=True is not supported. Use align_corners=False for antialiased interpolation.".into(),
        ));
    }
    Ok(())
}

/// The scale of [`Upsample`]: one factor for every spatial axis, or one per axis.
#[derive(Clone, Debug, PartialEq)]
pub enum Scale {
    /// The same factor for every spatial axis (Python `float`).
    All(f64),
    /// One factor per spatial axis (Python tuple).
    Each(Vec<f64>),
}

impl From<f64> for Scale {
    fn from(s: f64) -> Scale {
        Scale::All(s)
    }
}

impl From<&[f64]> for Scale {
    fn from(s: &[f64]) -> Scale {
        Scale::Each(s.to_vec())
    }
}

impl<const N: usize> From<[f64; N]> for Scale {
    fn from(s: [f64; N]) -> Scale {
        Scale::Each(s.to_vec())
    }
}

/// Spatial upsampling of channels-last inputs `(N, spatial…, C)` (MLX `nn.Upsample`); no
/// parameters.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// use rmlx_nn::{Upsample, UpsampleMode};
/// let up = Upsample::new(2.0, UpsampleMode::Linear, true, false)?;
/// let x = Array::from_slice(&[0.0f32, 3.0], &[1, 2, 1])?;
/// assert_eq!(up.forward(&x)?.to_vec::<f32>()?, vec![0.0, 1.0, 2.0, 3.0]);
/// assert_eq!(up.to_string(), "Upsample(scale_factor=2.0, mode='linear', align_corners=True)");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct Upsample {
    /// The factor(s).
    #[module(skip)]
    pub scale_factor: Scale,
    /// The interpolation.
    #[module(skip)]
    pub mode: UpsampleMode,
    /// Corner pixels map onto each other (linear and cubic).
    #[module(skip)]
    pub align_corners: bool,
    /// Antialiased downsampling (linear and cubic).
    #[module(skip)]
    pub antialias: bool,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl Upsample {
    /// `Upsample(scale_factor, mode, align_corners, antialias)`; MLX's errors for antialiased
    /// nearest and for antialias with `align_corners`.
    pub fn new(
        scale_factor: impl Into<Scale>,
        mode: UpsampleMode,
        align_corners: bool,
        antialias: bool,
    ) -> Result<Upsample> {
        if antialias && mode == UpsampleMode::Nearest {
            return Err(Error::Value(
                "[Upsample] Antialiasing is not supported for nearest neighbor upsampling".into(),
            ));
        }
        check_antialias(align_corners, antialias)?;
        Ok(Upsample {
            scale_factor: scale_factor.into(),
            mode,
            align_corners,
            antialias,
            state: ModuleState::default(),
        })
    }

    /// Upsamples `x` `(N, spatial…, C)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        check_rank(x)?;
        let dims = x.ndim() - 2;
        let scale = match &self.scale_factor {
            Scale::All(s) => vec![*s; dims],
            Scale::Each(v) => {
                if v.len() != dims {
                    return Err(Error::Value(format!(
                        "[Upsample] One scale per spatial dimension is required but scale_factor={} and the number of spatial dimensions were {dims}",
                        self.scale_repr()
                    )));
                }
                v.clone()
            }
        };
        match self.mode {
            UpsampleMode::Nearest => upsample_nearest(x, &scale),
            UpsampleMode::Linear => upsample_linear(x, &scale, self.align_corners, self.antialias),
            UpsampleMode::Cubic => upsample_cubic(x, &scale, self.align_corners, self.antialias),
        }
    }

    fn scale_repr(&self) -> String {
        let f = |v: f64| format!("{v:?}");
        match &self.scale_factor {
            Scale::All(s) => f(*s),
            Scale::Each(v) if v.len() == 1 => format!("({},)", f(v[0])),
            Scale::Each(v) => format!(
                "({})",
                v.iter().map(|s| f(*s)).collect::<Vec<_>>().join(", ")
            ),
        }
    }

    fn repr_args(&self) -> String {
        let mode = match self.mode {
            UpsampleMode::Nearest => "nearest",
            UpsampleMode::Linear => "linear",
            UpsampleMode::Cubic => "cubic",
        };
        let mut s = format!(
            "scale_factor={}, mode='{mode}', align_corners={}",
            self.scale_repr(),
            py_bool(self.align_corners)
        );
        if self.antialias {
            s.push_str(", antialias=True");
        }
        s
    }
}

impl Forward for Upsample {
    fn forward(&self, x: &Array) -> Result<Array> {
        Upsample::forward(self, x)
    }
}
