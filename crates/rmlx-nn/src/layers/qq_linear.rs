//! `QQLinear` (MLX's `nn.QQLinear`): a linear layer whose input and weight are both quantized
//! in a floating-point mode ([`rmlx_core::qqmm`]). In training mode the weight is kept in full
//! precision and quantized on the fly, so it receives (straight-through) gradients; `eval()`
//! quantizes it in place (`weight` packed `uint32` and `scales`, by MLX's names) and `train()`
//! dequantizes it back (to bfloat16, MLX's default for the fp modes).

use super::{uniform_init, Forward, Linear};
use crate::{Module, ModuleExt, ModuleState};
use rmlx_core::{self as mx, Array, Dtype, Error, QuantizationMode, Result};

/// `y = quantize(x) @ quantize(W)^T` (MLX's `nn.QQLinear`, which has no bias yet).
///
/// ```
/// use rmlx_core::{self as mx, Dtype, QuantizationMode};
/// use rmlx_nn::{Forward, ModuleExt, QQLinear};
/// let mut l = QQLinear::new(64, 8, None, None, QuantizationMode::Nvfp4)?;
/// let x = mx::random::normal(&[2, 64], None)?;
/// let trained = l.forward(&x)?; // weight float32, quantized on the fly
/// l.eval(); // the weight is quantized in place
/// assert_eq!((l.weight.dtype(), l.weight.shape()), (Dtype::U32, &[8usize, 8][..]));
/// let served = l.forward(&x)?;
/// assert!((&trained - &served)?.abs()?.max(None, false)?.item::<f32>()? < 1e-5);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args", training_mode = "on_training_mode")]
pub struct QQLinear {
    /// Elements per scale.
    #[module(skip)]
    pub group_size: usize,
    /// Bits per element.
    #[module(skip)]
    pub bits: usize,
    /// The quantization mode (nvfp4, mxfp8 or mxfp4).
    #[module(skip)]
    pub mode: QuantizationMode,
    /// `[output_dims, input_dims]` in training mode; packed `uint32`
    /// `[output_dims, input_dims * bits / 32]` in eval mode.
    pub weight: Array,
    /// `[output_dims, input_dims / group_size]` `uint8`, present while quantized (eval mode).
    pub scales: Option<Array>,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl QQLinear {
    /// A `QQLinear(input_dims, output_dims, group_size, bits, mode)`: a `Linear`'s initial weight
    /// (`U(-1/sqrt(in), 1/sqrt(in))`), in training mode. `None` sizes take the mode's defaults
    /// (nvfp4: 16 and 4, mxfp8: 32 and 8, mxfp4: 32 and 4).
    pub fn new(
        input_dims: usize,
        output_dims: usize,
        group_size: Option<usize>,
        bits: Option<usize>,
        mode: QuantizationMode,
    ) -> Result<QQLinear> {
        let (group_size, bits) = check_mode(mode, group_size, bits, input_dims)?;
        let scale = (1.0 / input_dims.max(1) as f64).sqrt();
        Ok(QQLinear {
            group_size,
            bits,
            mode,
            weight: uniform_init(&[output_dims, input_dims], scale)?,
            scales: None,
            state: ModuleState::default(),
        })
    }

    /// `linear` as a `QQLinear` (MLX's `QQLinear.from_linear` / `Linear.to_quantized(...,
    /// quantize_input=True)`), in `linear`'s training mode (quantized at once if it is in eval
    /// mode). A bias is an error, as in MLX.
    pub fn from_linear(
        linear: &Linear,
        group_size: Option<usize>,
        bits: Option<usize>,
        mode: QuantizationMode,
    ) -> Result<QQLinear> {
        if linear.bias.is_some() {
            return Err(Error::Value(
                "QQLinear does not support bias yet: build the Linear with bias=false, or exclude it with the class predicate."
                    .into(),
            ));
        }
        let input_dims = linear.weight.shape().last().copied().unwrap_or(0);
        let (group_size, bits) = check_mode(mode, group_size, bits, input_dims)?;
        let mut q = QQLinear {
            group_size,
            bits,
            mode,
            weight: linear.weight.clone(),
            scales: None,
            state: ModuleState::default(),
        };
        q.train(linear.state.training);
        Ok(q)
    }

    /// Whether the weight is held quantized (eval mode).
    pub fn is_quantized(&self) -> bool {
        self.scales.is_some()
    }

    /// Quantizes the weight in place (MLX's `QQLinear.quantize`); a no-op when it already is.
    pub fn quantize(&mut self) -> Result<()> {
        if self.scales.is_none() {
            let q = mx::quantize_mode(&self.weight, self.group_size, self.bits, self.mode)?;
            let mut q = q.into_iter();
            if let (Some(w), Some(s)) = (q.next(), q.next()) {
                self.weight = w;
                self.scales = Some(s);
            }
        }
        Ok(())
    }

    /// Dequantizes the weight in place, to bfloat16 as MLX does (MLX's `QQLinear.dequantize`);
    /// a no-op when it is not quantized.
    pub fn dequantize(&mut self) -> Result<()> {
        if let Some(s) = &self.scales {
            self.weight = mx::dequantize_mode(
                &self.weight,
                s,
                None,
                self.group_size,
                self.bits,
                self.mode,
                Dtype::Bf16,
            )?;
            self.scales = None;
        }
        Ok(())
    }

    /// MLX's `_set_training_mode`: training dequantizes, evaluation quantizes. The shapes were
    /// checked when the layer was built; a weight replaced since by one that cannot be quantized
    /// is left as it is (the product quantizes it on the fly, and reports the error).
    fn on_training_mode(&mut self, training: bool) {
        let _ = if training {
            self.dequantize()
        } else {
            self.quantize()
        };
    }

    fn input_dims(&self) -> usize {
        let cols = self.weight.shape().last().copied().unwrap_or(0);
        if self.weight.dtype() == Dtype::U32 {
            cols * 32 / self.bits.max(1)
        } else {
            cols
        }
    }

    fn repr_args(&self) -> String {
        format!(
            "input_dims={}, output_dims={}, group_size={}, bits={}, mode={}",
            self.input_dims(),
            self.weight.shape().first().copied().unwrap_or(0),
            self.group_size,
            self.bits,
            self.mode.name()
        )
    }
}

impl Forward for QQLinear {
    fn forward(&self, x: &Array) -> Result<Array> {
        mx::qqmm(
            x,
            &self.weight,
            self.scales.as_ref(),
            Some(self.group_size),
            Some(self.bits),
            self.mode,
            None,
        )
    }
}

/// The mode's `(group_size, bits)`, checked: a floating-point mode, and `input_dims` a multiple
/// of the group size.
fn check_mode(
    mode: QuantizationMode,
    group_size: Option<usize>,
    bits: Option<usize>,
    input_dims: usize,
) -> Result<(usize, usize)> {
    if mode == QuantizationMode::Affine {
        return Err(Error::Value(
            "[QQLinear] Quantized activations are only supported for the floating-point modes ('nvfp4', 'mxfp8', 'mxfp4'), got affine.".into(),
        ));
    }
    let (g, b) = super::quantization_defaults(mode, group_size, bits);
    if g == 0 || !input_dims.is_multiple_of(g) {
        return Err(Error::Value(format!(
            "[QQLinear] input_dims ({input_dims}) must be a multiple of the group size ({g})."
        )));
    }
    Ok((g, b))
}
