//! `QuantizedLinear` and `QuantizedEmbedding` (MLX's `nn.QuantizedLinear`,
//! `nn.QuantizedEmbedding`) in every quantization mode (affine, mxfp4, mxfp8, nvfp4): the weight
//! stored as `quantize` returns it (`weight` packed `uint32`, `scales`, and in affine mode
//! `biases`), by MLX's member names, so MLX's quantized checkpoints load by name. Their own parameters stay frozen, as MLX's do: `unfreeze` (of the layer or of
//! a model holding it) leaves them frozen, so a quantized model trains only what is added to it
//! (LoRA adapters: QLoRA).

use super::{Embedding, Forward, Linear};
use crate::{Module, ModuleState};
use rmlx_core::{self as mx, Array, Dtype, Error, QuantizationMode, Result};

/// MLX's `_defaults_for_mode`: `(group_size, bits)` for `None` arguments of a mode (affine 64 and
/// 4, mxfp4 32 and 4, nvfp4 16 and 4, mxfp8 32 and 8).
pub fn quantization_defaults(
    mode: QuantizationMode,
    group_size: Option<usize>,
    bits: Option<usize>,
) -> (usize, usize) {
    let (g, b) = match mode {
        QuantizationMode::Affine => (QUANTIZE_DEFAULT_GROUP_SIZE, QUANTIZE_DEFAULT_BITS),
        QuantizationMode::Mxfp4 => (32, 4),
        QuantizationMode::Nvfp4 => (16, 4),
        QuantizationMode::Mxfp8 => (32, 8),
    };
    (group_size.unwrap_or(g), bits.unwrap_or(b))
}

/// Quantizes `w` in `mode`: `(packed weight, scales, biases)`, biases only in affine mode.
fn quantize_weight(
    w: &Array,
    group_size: usize,
    bits: usize,
    mode: QuantizationMode,
) -> Result<(Array, Array, Option<Array>)> {
    if mode == QuantizationMode::Affine {
        let (q, s, b) = mx::quantize(w, group_size, bits)?;
        return Ok((q, s, Some(b)));
    }
    let mut parts = mx::quantize_mode(w, group_size, bits, mode)?.into_iter();
    match (parts.next(), parts.next()) {
        (Some(q), Some(s)) => Ok((q, s, None)),
        _ => Err(Error::Value(
            "[quantize] expected the packed weight and the scales".into(),
        )),
    }
}

/// MLX's default group size (`group_size=None` in affine mode).
pub const QUANTIZE_DEFAULT_GROUP_SIZE: usize = 64;
/// MLX's default bit width (`bits=None` in affine mode).
pub const QUANTIZE_DEFAULT_BITS: usize = 4;

/// Freezes a quantized layer's own parameters (MLX's `self.freeze(recurse=False)`): the packed
/// weight, the scales and biases, and the bias when there is one.
fn freeze_own(state: &mut ModuleState, bias: bool) {
    let own = ["weight", "scales", "biases"];
    state.no_grad.extend(own.iter().map(|s| s.to_string()));
    if bias {
        state.no_grad.insert("bias".to_string());
    }
}

/// `y = x W^T + b` with `W` quantized (MLX's `nn.QuantizedLinear`): `weight`
/// `[output_dims, input_dims * bits / 32]` (`uint32`), `scales` and `biases`
/// `[output_dims, input_dims / group_size]`, optional `bias` `[output_dims]`.
///
/// ```
/// use rmlx_core::{self as mx, Array, Result};
/// use rmlx_nn::{Linear, Module, ModuleExt, QuantizedLinear};
/// let l = Linear::new(64, 8, true)?;
/// let mut q = QuantizedLinear::from_linear(&l, 64, 4)?;
/// let names: Vec<String> = q.parameters().flatten().into_iter().map(|(k, _)| k).collect();
/// assert_eq!(names, ["weight", "scales", "biases", "bias"]);
/// q.unfreeze(rmlx_nn::Keys::All)?; // MLX: a quantized layer's own parameters stay frozen
/// assert!(q.trainable_parameters().flatten().is_empty());
/// let x = mx::random::normal(&[2, 64], None)?;
/// let err = (&q.forward(&x)? - &l.forward(&x)?)?.abs()?.max(None, false)?.item::<f32>()?;
/// assert!(err < 0.5);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct QuantizedLinear {
    /// Elements per scale and bias.
    #[module(skip)]
    pub group_size: usize,
    /// Bits per element.
    #[module(skip)]
    pub bits: usize,
    /// The quantization mode.
    #[module(skip)]
    pub mode: QuantizationMode,
    /// The packed weight, `[output_dims, input_dims * bits / 32]` `uint32`.
    pub weight: Array,
    /// `[output_dims, input_dims / group_size]`.
    pub scales: Array,
    /// `[output_dims, input_dims / group_size]`; affine mode only.
    pub biases: Option<Array>,
    /// `[output_dims]`, absent with `bias = false`.
    pub bias: Option<Array>,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl QuantizedLinear {
    /// A `QuantizedLinear(input_dims, output_dims, bias, group_size, bits)`: a [`Linear`]'s
    /// initial weight (same draws) quantized.
    pub fn new(
        input_dims: usize,
        output_dims: usize,
        bias: bool,
        group_size: usize,
        bits: usize,
    ) -> Result<QuantizedLinear> {
        QuantizedLinear::from_linear(
            &Linear::new(input_dims, output_dims, bias)?,
            group_size,
            bits,
        )
    }

    /// `linear` quantized (MLX's `QuantizedLinear.from_linear` / `Linear.to_quantized`); the
    /// bias is kept as it is.
    pub fn from_linear(linear: &Linear, group_size: usize, bits: usize) -> Result<QuantizedLinear> {
        QuantizedLinear::from_linear_mode(
            linear,
            Some(group_size),
            Some(bits),
            QuantizationMode::Affine,
        )
    }

    /// `linear` quantized in `mode` (MLX's `from_linear(linear, group_size, bits, mode)`); `None`
    /// takes the mode's default ([`quantization_defaults`]).
    ///
    /// ```
    /// use rmlx_core::{self as mx, QuantizationMode};
    /// use rmlx_nn::{Linear, ModuleExt, QuantizedLinear};
    /// let q = QuantizedLinear::from_linear_mode(&Linear::new(64, 8, true)?, None, None, QuantizationMode::Mxfp4)?;
    /// let names: Vec<String> = q.parameters().flatten().into_iter().map(|(k, _)| k).collect();
    /// assert_eq!(names, ["weight", "scales", "bias"]); // no biases in the fp modes
    /// assert_eq!(q.to_string(), "QuantizedLinear(input_dims=64, output_dims=8, bias=True, group_size=32, bits=4, mode=mxfp4)");
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn from_linear_mode(
        linear: &Linear,
        group_size: Option<usize>,
        bits: Option<usize>,
        mode: QuantizationMode,
    ) -> Result<QuantizedLinear> {
        let (group_size, bits) = quantization_defaults(mode, group_size, bits);
        let (weight, scales, biases) = quantize_weight(&linear.weight, group_size, bits, mode)?;
        let mut state = ModuleState::default();
        state.training = linear.state.training;
        freeze_own(&mut state, linear.bias.is_some());
        Ok(QuantizedLinear {
            group_size,
            bits,
            mode,
            weight,
            scales,
            biases,
            bias: linear.bias.clone(),
            state,
        })
    }

    /// The input width (`weight.shape[1] * 32 / bits`).
    pub fn input_dims(&self) -> usize {
        self.weight.shape().get(1).copied().unwrap_or(0) * 32 / self.bits.max(1)
    }

    /// `quantized_matmul(x, weight, scales, biases, transpose=True, mode) + bias`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let y = mx::quantized_matmul_mode(
            x,
            &self.weight,
            &self.scales,
            self.biases.as_ref(),
            true,
            self.group_size,
            self.bits,
            self.mode,
        )?;
        match &self.bias {
            Some(b) => &y + b,
            None => Ok(y),
        }
    }

    /// The layer with its weight dequantized (a plain [`Linear`], e.g. to merge and export).
    pub fn dequantized(&self) -> Result<Linear> {
        let weight = mx::dequantize_mode(
            &self.weight,
            &self.scales,
            self.biases.as_ref(),
            self.group_size,
            self.bits,
            self.mode,
            match self.mode {
                QuantizationMode::Affine => self.scales.dtype(),
                _ => Dtype::F32,
            },
        )?;
        Ok(Linear {
            weight,
            bias: self.bias.clone(),
            state: ModuleState::default(),
        })
    }

    fn repr_args(&self) -> String {
        format!(
            "input_dims={}, output_dims={}, bias={}, group_size={}, bits={}, mode={}",
            self.input_dims(),
            self.weight.shape().first().copied().unwrap_or(0),
            super::py_bool(self.bias.is_some()),
            self.group_size,
            self.bits,
            self.mode.name()
        )
    }
}

impl Forward for QuantizedLinear {
    fn forward(&self, x: &Array) -> Result<Array> {
        QuantizedLinear::forward(self, x)
    }
}

/// An [`Embedding`] with its table quantized (MLX's `nn.QuantizedEmbedding`): looked-up rows
/// are dequantized; [`QuantizedEmbedding::as_linear`] multiplies by the packed table.
///
/// ```
/// use rmlx_core::{self as mx, Array, Result};
/// use rmlx_nn::{Embedding, QuantizedEmbedding};
/// let e = Embedding::new(10, 64)?;
/// let q = QuantizedEmbedding::from_embedding(&e, 32, 8)?;
/// let ids = Array::from_slice(&[3i32, 7], &[2])?;
/// let err = (&q.forward(&ids)? - &e.forward(&ids)?)?.abs()?.max(None, false)?.item::<f32>()?;
/// assert!(err < 0.05);
/// assert_eq!(q.as_linear(&mx::ones(&[1, 64], mx::Dtype::F32)?)?.shape(), &[1, 10]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct QuantizedEmbedding {
    /// The quantization mode.
    #[module(skip)]
    pub mode: QuantizationMode,
    /// Elements per scale and bias.
    #[module(skip)]
    pub group_size: usize,
    /// Bits per element.
    #[module(skip)]
    pub bits: usize,
    /// The packed table, `[num_embeddings, dims * bits / 32]` `uint32`.
    pub weight: Array,
    /// `[num_embeddings, dims / group_size]`.
    pub scales: Array,
    /// `[num_embeddings, dims / group_size]`; affine mode only.
    pub biases: Option<Array>,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl QuantizedEmbedding {
    /// A `QuantizedEmbedding(num_embeddings, dims, group_size, bits)`: an [`Embedding`]'s
    /// initial table (same draws) quantized.
    pub fn new(
        num_embeddings: usize,
        dims: usize,
        group_size: usize,
        bits: usize,
    ) -> Result<QuantizedEmbedding> {
        QuantizedEmbedding::from_embedding(&Embedding::new(num_embeddings, dims)?, group_size, bits)
    }

    /// `embedding` quantized (MLX's `QuantizedEmbedding.from_embedding`).
    pub fn from_embedding(
        embedding: &Embedding,
        group_size: usize,
        bits: usize,
    ) -> Result<QuantizedEmbedding> {
        QuantizedEmbedding::from_embedding_mode(
            embedding,
            Some(group_size),
            Some(bits),
            QuantizationMode::Affine,
        )
    }

    /// `embedding` quantized in `mode`; `None` takes the mode's default
    /// ([`quantization_defaults`]). As in MLX, the fp modes' looked-up rows are bfloat16.
    pub fn from_embedding_mode(
        embedding: &Embedding,
        group_size: Option<usize>,
        bits: Option<usize>,
        mode: QuantizationMode,
    ) -> Result<QuantizedEmbedding> {
        let (group_size, bits) = quantization_defaults(mode, group_size, bits);
        let (weight, scales, biases) = quantize_weight(&embedding.weight, group_size, bits, mode)?;
        let mut state = ModuleState::default();
        state.training = embedding.state.training;
        freeze_own(&mut state, false);
        Ok(QuantizedEmbedding {
            mode,
            group_size,
            bits,
            weight,
            scales,
            biases,
            state,
        })
    }

    /// The dequantized rows at the integer indices `x` (shape `x.shape + [dims]`).
    pub fn forward(&self, x: &Array) -> Result<Array> {
        if x.dtype().is_float() {
            return Err(Error::Dtype(format!(
                "[QuantizedEmbedding] indices must be integers, got {}",
                x.dtype()
            )));
        }
        let pick = |a: &Array| a.take(x, Some(0));
        let (weight, scales) = (pick(&self.weight)?, pick(&self.scales)?);
        match (&self.biases, self.mode) {
            (Some(b), QuantizationMode::Affine) => {
                mx::dequantize(&weight, &scales, &pick(b)?, self.group_size, self.bits)
            }
            (_, mode) => mx::dequantize_mode(
                &weight,
                &scales,
                None,
                self.group_size,
                self.bits,
                mode,
                Dtype::Bf16,
            ),
        }
    }

    /// `x @ table.T` through the packed table (a tied output projection), as MLX's
    /// `as_linear`.
    pub fn as_linear(&self, x: &Array) -> Result<Array> {
        mx::quantized_matmul_mode(
            x,
            &self.weight,
            &self.scales,
            self.biases.as_ref(),
            true,
            self.group_size,
            self.bits,
            self.mode,
        )
    }

    fn repr_args(&self) -> String {
        let s = self.weight.shape();
        format!(
            "{}, {}, group_size={}, bits={}, mode={}",
            s.first().copied().unwrap_or(0),
            s.get(1).copied().unwrap_or(0) * 32 / self.bits.max(1),
            self.group_size,
            self.bits,
            self.mode.name()
        )
    }
}

impl Forward for QuantizedEmbedding {
    fn forward(&self, x: &Array) -> Result<Array> {
        QuantizedEmbedding::forward(self, x)
    }
}

/// Re-freezes a quantized layer's own parameters after an `unfreeze` reached it (MLX's
/// `QuantizedLinear.unfreeze` override).
pub(crate) fn after_unfreeze(m: &mut dyn Module) {
    let any = m.as_any_mut();
    if let Some(q) = any.downcast_mut::<QuantizedLinear>() {
        let bias = q.bias.is_some();
        freeze_own(&mut q.state, bias);
    } else if let Some(q) = any.downcast_mut::<QuantizedEmbedding>() {
        freeze_own(&mut q.state, false);
    }
}

/// Which layers [`quantize`] converts: called with each layer's dotted path and the layer;
/// `None` takes MLX's default (every `Linear` and `Embedding` whose last weight axis is a
/// multiple of the group size).
pub type QuantizePredicate<'a> = &'a dyn Fn(&str, &dyn Module) -> bool;

/// Replaces the `Linear` and `Embedding` layers of `model` accepted by `class_predicate` by
/// [`QuantizedLinear`] and [`QuantizedEmbedding`] (MLX's
/// `nn.quantize(model, group_size, bits, class_predicate=...)`), and returns their paths.
///
/// A layer can be swapped only where the model holds it as `Box<dyn Module>` (Rust fields have a
/// type; MLX's attributes do not): a selected layer held in a typed `Linear` field is an error
/// listing every such path, and then nothing is changed. Exclude those with the predicate, or
/// hold the layers as `Box<dyn Module>`.
///
/// ```
/// use rmlx_core::{self as mx, Result};
/// use rmlx_nn::{quantize, Linear, Module, ModuleExt, ModuleState, ReLU, Sequential};
/// let mut model = Sequential::new(vec![
///     Box::new(Linear::new(64, 32, true)?),
///     Box::new(ReLU::new()),
///     Box::new(Linear::new(32, 10, true)?),
/// ]);
/// let done = quantize(&mut model, 32, 4, None)?;
/// assert_eq!(done, ["layers.0", "layers.2"]);
/// assert_eq!(model.module_at("layers.0").unwrap().class_name(), "QuantizedLinear");
/// assert!(model.trainable_parameters().flatten().is_empty());
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn quantize(
    model: &mut dyn Module,
    group_size: usize,
    bits: usize,
    class_predicate: Option<QuantizePredicate>,
) -> Result<Vec<String>> {
    quantize_mode(
        model,
        Some(group_size),
        Some(bits),
        QuantizationMode::Affine,
        class_predicate,
    )
}

/// [`quantize`] in any mode (MLX's `nn.quantize(model, group_size, bits, mode=…,
/// class_predicate=…)`); `None` sizes take the mode's defaults ([`quantization_defaults`]).
pub fn quantize_mode(
    model: &mut dyn Module,
    group_size: Option<usize>,
    bits: Option<usize>,
    mode: QuantizationMode,
    class_predicate: Option<QuantizePredicate>,
) -> Result<Vec<String>> {
    quantize_model(model, group_size, bits, mode, false, class_predicate)
}

/// [`quantize_mode`] quantizing the inputs too (MLX's `nn.quantize(model, ..., mode=…,
/// quantize_input=True)`): every selected [`Linear`] becomes a [`QQLinear`](super::QQLinear)
/// (weights and activations quantized, [`rmlx_core::qqmm`]). As in MLX, only the `nvfp4` and
/// `mxfp8` modes are accepted, and a selected `Embedding` (or a `Linear` with a bias) is an
/// error: select the bias-free linear layers with the class predicate.
///
/// ```
/// use rmlx_core::QuantizationMode;
/// use rmlx_nn::{quantize_with_inputs, Linear, Module, ModuleExt, Sequential};
/// let mut model = Sequential::new(vec![
///     Box::new(Linear::new(32, 32, false)?) as Box<dyn Module>,
///     Box::new(Linear::new(32, 16, false)?),
/// ]);
/// let done = quantize_with_inputs(&mut model, None, None, QuantizationMode::Nvfp4, None)?;
/// assert_eq!(done, ["layers.0", "layers.1"]);
/// assert!(model.repr().contains("QQLinear(input_dims=32, output_dims=16"));
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn quantize_with_inputs(
    model: &mut dyn Module,
    group_size: Option<usize>,
    bits: Option<usize>,
    mode: QuantizationMode,
    class_predicate: Option<QuantizePredicate>,
) -> Result<Vec<String>> {
    if !matches!(mode, QuantizationMode::Nvfp4 | QuantizationMode::Mxfp8) {
        return Err(Error::Value(format!(
            "Quantized activations are only supported for 'nvfp4' and 'mxfp8' modes, got {}.",
            mode.name()
        )));
    }
    quantize_model(model, group_size, bits, mode, true, class_predicate)
}

fn quantize_model(
    model: &mut dyn Module,
    group_size: Option<usize>,
    bits: Option<usize>,
    mode: QuantizationMode,
    quantize_input: bool,
    class_predicate: Option<QuantizePredicate>,
) -> Result<Vec<String>> {
    let (group_size, bits) = quantization_defaults(mode, group_size, bits);
    use crate::module::members::{members_mut, MemberNodeMut};
    use crate::module::ModuleMut;

    let default = |_: &str, m: &dyn Module| -> bool {
        let any = m.as_any();
        let cols = |w: &Array| w.shape().last().copied().unwrap_or(0);
        if let Some(l) = any.downcast_ref::<Linear>() {
            cols(&l.weight) % group_size == 0
        } else if let Some(e) = any.downcast_ref::<Embedding>() {
            cols(&e.weight) % group_size == 0
        } else {
            false
        }
    };
    let pred: QuantizePredicate = class_predicate.unwrap_or(&default);
    let quantizable = |m: &dyn Module| m.as_any().is::<Linear>() || m.as_any().is::<Embedding>();

    // (path, boxed?) of every selected layer, in member order
    fn walk(
        m: &mut dyn Module,
        prefix: &str,
        pass: &mut dyn FnMut(&str, &mut ModuleMut<'_>) -> Result<bool>,
    ) -> Result<()> {
        fn node(
            n: &mut MemberNodeMut<'_>,
            path: String,
            pass: &mut dyn FnMut(&str, &mut ModuleMut<'_>) -> Result<bool>,
        ) -> Result<()> {
            match n {
                MemberNodeMut::Module(slot) => {
                    if !pass(&path, slot)? {
                        walk(slot.get(), &path, pass)?;
                    }
                }
                MemberNodeMut::List(items) => {
                    for (i, it) in items.iter_mut().enumerate() {
                        node(it, format!("{path}.{i}"), pass)?;
                    }
                }
                MemberNodeMut::Dict(entries) => {
                    for (k, it) in entries.iter_mut() {
                        node(it, format!("{path}.{k}"), pass)?;
                    }
                }
                MemberNodeMut::Array(_) => {}
            }
            Ok(())
        }
        for (name, _, mut n) in members_mut(m) {
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}.{name}")
            };
            node(&mut n, path, pass)?;
        }
        Ok(())
    }

    // pass 1: every selected layer must sit in a replaceable slot
    // (and, quantizing inputs, be a Linear without a bias), so nothing changes on an error
    let mut typed = Vec::new();
    let mut unsupported = Vec::new();
    walk(model, "", &mut |path, slot| {
        let is_typed = matches!(slot, ModuleMut::Typed(_));
        let m = slot.get();
        if quantizable(m) && pred(path, m) {
            if is_typed {
                typed.push(path.to_string());
            }
            let bias_free_linear = m
                .as_any()
                .downcast_ref::<Linear>()
                .is_some_and(|l| l.bias.is_none());
            if quantize_input && !bias_free_linear {
                unsupported.push(format!("{path} ({})", m.class_name()));
            }
            return Ok(true);
        }
        Ok(false)
    })?;
    if !unsupported.is_empty() {
        return Err(Error::Value(format!(
            "[quantize] quantized input is supported only for Linear layers without a bias, not: {}; exclude them with the class predicate",
            unsupported.join(", ")
        )));
    }
    if !typed.is_empty() {
        return Err(Error::Value(format!(
            "[quantize] these layers are typed fields and cannot become quantized layers: {}; hold them as Box<dyn Module> or exclude them with the class predicate",
            typed.join(", ")
        )));
    }
    // pass 2: swap them in
    let mut done = Vec::new();
    walk(model, "", &mut |path, slot| {
        let m = slot.get();
        if !(quantizable(m) && pred(path, m)) {
            return Ok(false);
        }
        let any = m.as_any();
        let new: Box<dyn Module> =
            if let (Some(l), true) = (any.downcast_ref::<Linear>(), quantize_input) {
                Box::new(super::QQLinear::from_linear(
                    l,
                    Some(group_size),
                    Some(bits),
                    mode,
                )?)
            } else if let Some(l) = any.downcast_ref::<Linear>() {
                Box::new(QuantizedLinear::from_linear_mode(
                    l,
                    Some(group_size),
                    Some(bits),
                    mode,
                )?)
            } else if let Some(e) = any.downcast_ref::<Embedding>() {
                Box::new(QuantizedEmbedding::from_embedding_mode(
                    e,
                    Some(group_size),
                    Some(bits),
                    mode,
                )?)
            } else {
                return Ok(false);
            };
        slot.replace(new).map_err(Error::Value)?;
        done.push(path.to_string());
        Ok(true)
    })?;
    Ok(done)
}
