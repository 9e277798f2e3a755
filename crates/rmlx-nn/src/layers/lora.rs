//! `LoRALinear`: a frozen-base `Linear` plus a trainable low-rank update (MLX-LM's
//! `mlx_lm.tuner.lora.LoRALinear`).

use super::{uniform_init, Dropout, Linear, QuantizedLinear};
use crate::{Module, ModuleExt, ModuleState};
use rmlx_core::{Array, Error, Result};

/// MLX-LM's default `scale` (`LoRALinear.from_base(linear, r=8, dropout=0.0, scale=20.0)`).
pub const LORA_DEFAULT_SCALE: f32 = 20.0;

/// A [`Linear`] with a low-rank adapter (MLX-LM's `LoRALinear`):
///
/// `y = linear(x) + scale · ((dropout(x) @ lora_a) @ lora_b)`
///
/// with `lora_a` `[input_dims, r]` drawn from `U(-1/√input_dims, 1/√input_dims)` and `lora_b`
/// `[r, output_dims]` zeros, so a fresh adapter leaves the base's outputs unchanged.
///
/// **Scale convention.** As current MLX-LM, `scale` multiplies the update directly (default
/// [`LORA_DEFAULT_SCALE`] = 20.0); it is *not* divided by the rank (the `alpha / r` convention of
/// the LoRA paper and PEFT). To reproduce an `alpha / r` setup pass `scale = alpha / r`.
///
/// Members, in MLX-LM's order: `linear`, `dropout`, `lora_a`, `lora_b` (flattened names
/// `linear.weight`, `linear.bias`, `lora_a`, `lora_b`). `from_linear` does not freeze the base:
/// as in MLX-LM, freeze the model first (`model.freeze(Keys::All)`), then swap the layers in
/// (a swapped-in module brings an empty frozen set, so only its own `linear` has to be frozen
/// again — or call [`LoRALinear::freeze_base`]).
///
/// ```
/// use rmlx_core::{Array, Result};
/// use rmlx_nn::{LoRALinear, Linear, ModuleExt};
/// let base = Linear::new(4, 3, true)?;
/// let mut lora = LoRALinear::from_linear(base.clone(), 2, 20.0, 0.0)?;
/// lora.freeze_base()?;
/// let names: Vec<String> =
///     lora.trainable_parameters().flatten().into_iter().map(|(k, _)| k).collect();
/// assert_eq!(names, ["lora_a", "lora_b"]);
/// let x = Array::from_slice(&[1.0f32, -2.0, 0.5, 3.0], &[1, 4])?;
/// // lora_b starts at zero: same outputs as the base
/// assert_eq!(lora.forward(&x)?.to_vec::<f32>()?, base.forward(&x)?.to_vec::<f32>()?);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct LoRALinear<B: LoraBase = Linear> {
    /// The base layer (frozen during fine-tuning): a [`Linear`], or a [`QuantizedLinear`]
    /// (QLoRA: adapters over a 4-bit base, [`LoRALinear::from_quantized`]).
    pub linear: B,
    /// Dropout applied to the adapter's input (training mode only).
    pub dropout: Dropout,
    /// The multiplier of the low-rank update (not a parameter).
    #[module(skip)]
    pub scale: f32,
    /// `[input_dims, r]`.
    pub lora_a: Array,
    /// `[r, output_dims]`.
    pub lora_b: Array,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

/// What a LoRA adapter can sit on: a [`Linear`] or a [`QuantizedLinear`] (MLX-LM's
/// `LoRALinear.from_base` accepts both).
pub trait LoraBase: crate::Member + Module + Clone {
    /// The base's output, `x W^T + b`.
    fn base_forward(&self, x: &Array) -> Result<Array>;
    /// `(input_dims, output_dims)`.
    fn dims(&self) -> (usize, usize);
    /// The base as a plain [`Linear`] (the quantized weight dequantized), for merging.
    fn dense(&self) -> Result<Linear>;
}

impl LoraBase for Linear {
    fn base_forward(&self, x: &Array) -> Result<Array> {
        self.forward(x)
    }
    fn dims(&self) -> (usize, usize) {
        let s = self.weight.shape();
        (
            s.get(1).copied().unwrap_or(0),
            s.first().copied().unwrap_or(0),
        )
    }
    fn dense(&self) -> Result<Linear> {
        Ok(self.clone())
    }
}

impl LoraBase for QuantizedLinear {
    fn base_forward(&self, x: &Array) -> Result<Array> {
        self.forward(x)
    }
    fn dims(&self) -> (usize, usize) {
        (
            self.input_dims(),
            self.weight.shape().first().copied().unwrap_or(0),
        )
    }
    fn dense(&self) -> Result<Linear> {
        self.dequantized()
    }
}

impl LoRALinear<QuantizedLinear> {
    /// QLoRA: an adapter over a quantized base (MLX-LM's `LoRALinear.from_base` of a
    /// `QuantizedLinear`). The base's own parameters stay frozen (they are quantized); `lora_a`
    /// is drawn as [`LoRALinear::from_linear`] draws it.
    ///
    /// ```
    /// use rmlx_core::{self as mx, Array};
    /// use rmlx_nn::{Linear, LoRALinear, ModuleExt, QuantizedLinear};
    /// let q = QuantizedLinear::from_linear(&Linear::new(64, 8, true)?, 64, 4)?;
    /// let lora = LoRALinear::from_quantized(q.clone(), 4, 2.0, 0.0)?;
    /// let names: Vec<String> =
    ///     lora.trainable_parameters().flatten().into_iter().map(|(k, _)| k).collect();
    /// assert_eq!(names, ["lora_a", "lora_b"]);
    /// let x = mx::random::normal(&[1, 64], None)?;
    /// assert_eq!(lora.forward(&x)?.to_vec::<f32>()?, q.forward(&x)?.to_vec::<f32>()?);
    /// # Ok::<(), rmlx_core::Error>(())
    /// ```
    pub fn from_quantized(
        linear: QuantizedLinear,
        r: usize,
        scale: f32,
        dropout: f32,
    ) -> Result<LoRALinear<QuantizedLinear>> {
        check_args(r, dropout, scale)?;
        let (input_dims, output_dims) = linear.dims();
        let _ = uniform_init(
            &[output_dims, input_dims],
            (1.0 / input_dims.max(1) as f64).sqrt(),
        )?;
        Self::build(linear, input_dims, output_dims, r, dropout, scale)
    }
}

impl LoRALinear {
    /// A `LoRALinear` with a fresh base `Linear(input_dims, output_dims, bias)` (MLX-LM's
    /// constructor; MLX-LM's default `bias` is `false`). Draws the base weight (and bias), then
    /// `lora_a`, from the global key sequence.
    pub fn new(
        input_dims: usize,
        output_dims: usize,
        r: usize,
        dropout: f32,
        scale: f32,
        bias: bool,
    ) -> Result<LoRALinear> {
        check_args(r, dropout, scale)?;
        let linear = Linear::new(input_dims, output_dims, bias)?;
        Self::build(linear, input_dims, output_dims, r, dropout, scale)
    }

    /// Wraps an existing `Linear` (MLX-LM's `LoRALinear.from_base(linear, r, dropout, scale)`),
    /// keeping its weight and bias. `r` must be positive, `dropout` in `[0, 1)` and `scale`
    /// finite.
    ///
    /// Draws exactly as MLX-LM's `from_base`, which builds a throw-away bias-free `Linear` before
    /// drawing `lora_a`: one `[output_dims, input_dims]` draw is consumed (never computed), so
    /// the same seed gives MLX-LM's `lora_a`.
    pub fn from_linear(linear: Linear, r: usize, scale: f32, dropout: f32) -> Result<LoRALinear> {
        check_args(r, dropout, scale)?;
        let (output_dims, input_dims) = match linear.weight.shape() {
            [o, i] => (*o, *i),
            s => {
                return Err(Error::Shape(format!(
                    "LoRALinear.from_linear: expected a 2-d Linear weight, got shape {s:?}"
                )))
            }
        };
        // MLX-LM's throw-away base layer (lazy, never evaluated): keeps the key sequence aligned.
        let _ = uniform_init(
            &[output_dims, input_dims],
            (1.0 / input_dims.max(1) as f64).sqrt(),
        )?;
        Self::build(linear, input_dims, output_dims, r, dropout, scale)
    }
}

impl<B: LoraBase> LoRALinear<B> {
    fn build(
        linear: B,
        input_dims: usize,
        output_dims: usize,
        r: usize,
        dropout: f32,
        scale: f32,
    ) -> Result<LoRALinear<B>> {
        let bound = 1.0 / (input_dims.max(1) as f64).sqrt();
        Ok(LoRALinear {
            linear,
            dropout: Dropout::new(dropout)?,
            scale,
            lora_a: uniform_init(&[input_dims, r], bound)?,
            lora_b: rmlx_core::zeros(&[r, output_dims], rmlx_core::Dtype::F32)?,
            state: ModuleState::default(),
        })
    }

    /// The rank `r`.
    pub fn rank(&self) -> usize {
        self.lora_a.shape().get(1).copied().unwrap_or(0)
    }

    /// Freezes the base layer's parameters (`linear.weight`, `linear.bias`), leaving the
    /// adapter trainable.
    pub fn freeze_base(&mut self) -> Result<&mut Self> {
        self.linear.freeze(crate::Keys::All)?;
        Ok(self)
    }

    /// `linear(x) + scale · ((dropout(x) @ lora_a) @ lora_b)`, the update cast to `x`'s dtype
    /// (MLX-LM). Dropout is applied only while the module is in training mode and `p > 0`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let y = self.linear.base_forward(x)?;
        let xd = self.apply_dropout(x)?;
        let z = xd.matmul(&self.lora_a)?.matmul(&self.lora_b)?;
        let upd = (&z * f64::from(self.scale))?.astype(x.dtype())?;
        &y + &upd
    }

    /// The plain `Linear` with the adapter folded in (MLX-LM's `fuse`):
    /// `weight + scale · (lora_a @ lora_b)ᵀ` in the base weight's dtype, the bias kept. Its
    /// outputs equal this layer's in eval mode (up to rounding).
    pub fn merge(&self) -> Result<Linear> {
        let base = self.linear.dense()?;
        let w = &base.weight;
        let delta = (self.lora_b.t()? * f64::from(self.scale))?
            .astype(w.dtype())?
            .matmul(&self.lora_a.t()?.astype(w.dtype())?)?;
        if delta.shape() != w.shape() {
            return Err(Error::Shape(format!(
                "LoRALinear.merge: the update's shape {:?} does not match the weight's {:?}",
                delta.shape(),
                w.shape()
            )));
        }
        let weight = (w + &delta)?;
        weight.eval()?;
        Ok(Linear {
            weight,
            bias: base.bias.clone(),
            state: ModuleState::default(),
        })
    }

    fn apply_dropout(&self, x: &Array) -> Result<Array> {
        let p = self.dropout.p;
        if p <= 0.0 || !self.dropout.training() {
            return Ok(x.clone());
        }
        // MLX `nn.Dropout`: keep with probability 1 - p, scale the kept values by 1 / (1 - p).
        let keep = 1.0 - p;
        let mask = rmlx_core::random::bernoulli(keep, Some(x.shape()), None)?.astype(x.dtype())?;
        (&mask * x)? * (1.0 / f64::from(keep))
    }

    fn repr_args(&self) -> String {
        let (i, o) = self.linear.dims();
        format!(
            "input_dims={i}, output_dims={o}, r={}, scale={}",
            self.rank(),
            self.scale
        )
    }
}

fn check_args(r: usize, dropout: f32, scale: f32) -> Result<()> {
    if r == 0 {
        return Err(Error::Value(
            "LoRALinear: the rank r must be positive, got 0".into(),
        ));
    }
    if !(0.0..1.0).contains(&dropout) {
        return Err(Error::Value(format!(
            "LoRALinear: the dropout probability {dropout:?} is not in [0, 1)"
        )));
    }
    if !scale.is_finite() {
        return Err(Error::Value(format!(
            "LoRALinear: the scale must be finite, got {scale}"
        )));
    }
    Ok(())
}
