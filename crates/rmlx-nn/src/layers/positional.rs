//! Positional encodings: `RoPE`, `SinusoidalPositionalEncoding`, `ALiBi`.

use super::{py_bool, Forward};
use crate::{Module, ModuleState};
use rmlx_core::{Array, Dtype, Error, Result};

/// Rotary positional encoding (MLX `nn.RoPE`) over [`rmlx_core::fast::rope`]: rotates the
/// first `dims` features of `[..., sequence, features]` inputs by position-dependent angles
/// `position · scale · base^(-2i/dims)`. No parameters.
///
/// ```
/// use rmlx_core::Array;
/// use rmlx_nn::RoPE;
/// let rope = RoPE::new(2, false, 10000.0, 1.0);
/// let x = Array::from_slice(&[1.0f32, 0.0, 1.0, 0.0], &[2, 2])?;
/// let y = rope.forward_offset(&x, 0)?.to_vec::<f32>()?;
/// assert!((y[2] - 1f32.cos()).abs() < 1e-6 && (y[3] - 1f32.sin()).abs() < 1e-6);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct RoPE {
    /// The number of features rotated (even); the rest pass through.
    #[module(skip)]
    pub dims: usize,
    /// Rotate consecutive pairs `(2i, 2i+1)` instead of `(i, i + dims/2)`.
    #[module(skip)]
    pub traditional: bool,
    /// The base of the angular frequencies.
    #[module(skip)]
    pub base: f64,
    /// The scale of the positions.
    #[module(skip)]
    pub scale: f64,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl RoPE {
    /// `RoPE(dims, traditional, base, scale)` (MLX's defaults: `false`, `10000`, `1.0`).
    pub fn new(dims: usize, traditional: bool, base: f64, scale: f64) -> RoPE {
        RoPE {
            dims,
            traditional,
            base,
            scale,
            state: ModuleState::default(),
        }
    }

    /// Applies the rotation with positions starting at `offset` (MLX `rope(x, offset=...)`).
    pub fn forward_offset(&self, x: &Array, offset: i64) -> Result<Array> {
        rmlx_core::fast::rope(
            x,
            self.dims,
            self.traditional,
            self.base,
            self.scale,
            offset,
        )
    }

    /// Applies the rotation with positions starting at 0.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        self.forward_offset(x, 0)
    }

    fn repr_args(&self) -> String {
        format!("{}, traditional={}", self.dims, py_bool(self.traditional))
    }
}

/// Sinusoidal positional encoding (MLX `nn.SinusoidalPositionalEncoding`): maps each value `x`
/// to `[sin(x·σ), cos(x·σ)]` (or cosine first), `σ` being `dims / 2` frequencies geometrically
/// spaced from `max_freq` down to `min_freq`, times `scale`. The frequencies are a hidden
/// member (`_sigmas`, MLX's underscore attribute), so the layer has no parameters.
#[derive(Module, Clone)]
pub struct SinusoidalPositionalEncoding {
    /// The `dims / 2` frequencies (float32), not a parameter.
    #[module(hidden, rename = "_sigmas")]
    pub sigmas: Array,
    /// Multiplier of the embeddings (default `sqrt(2 / dims)`).
    #[module(skip)]
    pub scale: f64,
    /// `[cos, sin]` instead of `[sin, cos]`.
    #[module(skip)]
    pub cos_first: bool,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl SinusoidalPositionalEncoding {
    /// `SinusoidalPositionalEncoding(dims, min_freq, max_freq, scale, cos_first, full_turns)`
    /// (MLX's defaults: `1e-4`, `1`, `None`, `false`, `false`). `scale = None` (or 0, as Python's
    /// `scale or ...`) means `sqrt(2 / dims)`; `full_turns` multiplies the frequencies by `2π`.
    /// The frequencies must be positive.
    pub fn new(
        dims: usize,
        min_freq: f64,
        max_freq: f64,
        scale: Option<f64>,
        cos_first: bool,
        full_turns: bool,
    ) -> Result<SinusoidalPositionalEncoding> {
        if min_freq.is_nan() || max_freq.is_nan() || min_freq <= 0.0 || max_freq <= 0.0 {
            return Err(Error::Value(format!(
                "[SinusoidalPositionalEncoding] min_freq and max_freq must be positive, got {min_freq} and {max_freq}"
            )));
        }
        let half = dims / 2;
        // 1 - arange(0, half) / (half - 1), in float32 as MLX (int32 / int divides in float32)
        let denom = half as f32 - 1.0;
        let one_zero: Vec<f32> = (0..half).map(|i| 1.0 - i as f32 / denom).collect();
        let one_zero = Array::from_vec(one_zero, &[half])?;
        let (lo, hi) = (min_freq.ln(), max_freq.ln());
        let mut sigmas = ((one_zero * (hi - lo))? + lo)?.exp()?;
        if full_turns {
            sigmas = (sigmas * (2.0 * std::f64::consts::PI))?;
        }
        let scale = match scale {
            Some(s) if s != 0.0 => s,
            _ => (2.0 / dims as f64).sqrt(),
        };
        Ok(SinusoidalPositionalEncoding {
            sigmas,
            scale,
            cos_first,
            state: ModuleState::default(),
        })
    }

    /// `x` of any shape → `[*x.shape, 2 · (dims / 2)]`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let y = (&x.expand_dims(-1isize)? * &self.sigmas)?;
        let (c, s) = (y.cos()?, y.sin()?);
        let y = if self.cos_first {
            rmlx_core::concatenate(&[c, s], -1)?
        } else {
            rmlx_core::concatenate(&[s, c], -1)?
        };
        if self.scale != 1.0 {
            y * self.scale
        } else {
            Ok(y)
        }
    }
}

/// Attention with linear biases (MLX `nn.ALiBi`): adds `-slope_h · |i - j|` to the attention
/// scores of head `h`. No parameters.
#[derive(Module, Clone, Default)]
pub struct ALiBi {
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl ALiBi {
    /// An `ALiBi` module.
    pub fn new() -> ALiBi {
        ALiBi::default()
    }

    /// The per-head slopes of the ALiBi paper (MLX `alibi_get_slopes`): for a power of two
    /// `n`, `start^(i+1)` with `start = 2^(-2^-(log2 n - 3))`; otherwise those of the closest
    /// lower power of two followed by every other slope of twice that.
    pub fn alibi_get_slopes(num_heads: usize) -> Result<Vec<f64>> {
        if num_heads == 0 {
            return Err(Error::Value(
                "[ALiBi] the number of heads must be positive".into(),
            ));
        }
        fn pow2(n: usize) -> Vec<f64> {
            let start = 2f64.powf(-(2f64.powf(-((n as f64).log2() - 3.0))));
            let ratio = start;
            (0..n).map(|i| start * ratio.powf(i as f64)).collect()
        }
        let l = (num_heads as f64).log2();
        if l.fract() == 0.0 {
            return Ok(pow2(num_heads));
        }
        let closest = 1usize << (l.floor() as u32);
        let mut out = pow2(closest);
        let extra = Self::alibi_get_slopes(2 * closest)?;
        out.extend(extra.into_iter().step_by(2).take(num_heads - closest));
        Ok(out)
    }

    /// The bias `[1, num_heads, q_sequence_length - offset, k_sequence_length]` of `dtype`
    /// (MLX `create_alibi_matrix`): row `i` is query position `offset + i`.
    pub fn create_alibi_matrix(
        q_sequence_length: usize,
        k_sequence_length: usize,
        num_heads: usize,
        offset: usize,
        dtype: Dtype,
    ) -> Result<Array> {
        let rows = q_sequence_length.saturating_sub(offset);
        let mut dist = Vec::with_capacity(rows * k_sequence_length);
        for i in offset..offset + rows {
            for j in 0..k_sequence_length {
                dist.push(-((i as i64 - j as i64).abs() as i32));
            }
        }
        let dist = Array::from_vec(dist, &[1, 1, rows, k_sequence_length])?;
        let slopes = Array::from_vec(Self::alibi_get_slopes(num_heads)?, &[num_heads, 1, 1])?
            .astype(dtype)?;
        (&dist * &slopes)?.astype(dtype)
    }

    /// `attention_scores [batch, heads, queries, keys]` plus the ALiBi bias for query positions
    /// starting at `offset`, plus `mask` when given.
    pub fn forward(
        &self,
        attention_scores: &Array,
        offset: usize,
        mask: Option<&Array>,
    ) -> Result<Array> {
        let &[_, heads, queries, keys] = attention_scores.shape() else {
            return Err(Error::Shape(format!(
                "[ALiBi] attention scores must be [batch, heads, queries, keys], got shape {:?}",
                attention_scores.shape()
            )));
        };
        let mut bias = Self::create_alibi_matrix(
            queries + offset,
            keys,
            heads,
            offset,
            attention_scores.dtype(),
        )?;
        if let Some(m) = mask {
            bias = (&bias + m)?;
        }
        attention_scores + &bias
    }
}

impl Forward for RoPE {
    fn forward(&self, x: &Array) -> Result<Array> {
        RoPE::forward(self, x)
    }
}

impl Forward for SinusoidalPositionalEncoding {
    fn forward(&self, x: &Array) -> Result<Array> {
        SinusoidalPositionalEncoding::forward(self, x)
    }
}

impl Forward for ALiBi {
    fn forward(&self, x: &Array) -> Result<Array> {
        ALiBi::forward(self, x, 0, None)
    }
}
