//! Tensor-parallel linear layers over a process group (MLX's `nn.AllToShardedLinear` and
//! `nn.ShardedToAllLinear`): each process holds a slice of the weight, so a layer too large for
//! one process's memory, or its compute, is split across the group.
//!
//! - [`AllToShardedLinear`]: every process sees the whole input and computes a slice of the
//!   output features (`weight` `[out / N, in]`); the input's gradient is summed over the group.
//! - [`ShardedToAllLinear`]: every process holds a slice of the input features (`weight`
//!   `[out, in / N]`); the partial products are summed over the group, then the bias is added.
//!
//! A pair (all-to-sharded, then sharded-to-all) is Megatron's MLP split. With one process both
//! are a [`Linear`].

// Indexing here is into 2-D weights (Linear and QuantizedLinear weights and scales always are),
// into `split(n)` parts at `rank < n`, and into the one-input lists of the custom functions this
// file calls with exactly one input.
#![allow(clippy::indexing_slicing)]

use rmlx_core::{Array, CustomFunction, Result};
use rmlx_distributed::{all_sum, Group};

use super::{uniform_init, Forward, Linear, QuantizedLinear};
use crate::{Module, ModuleState};

/// The identity whose cotangent is summed over `group` (MLX's `nn.sum_gradients`): put before a
/// layer whose input every process shares, so each process gets the whole input gradient.
pub fn sum_gradients(x: &Array, group: &Group) -> Result<Array> {
    if group.size() == 1 {
        return Ok(x.clone());
    }
    let g = group.clone();
    let f = CustomFunction::new(|x: &[Array]| Ok(vec![x[0].clone()]))
        .with_vjp(move |_, cots, _| Ok(vec![all_sum(&cots[0], Some(&g))?]))
        .into_fn();
    Ok(f(std::slice::from_ref(x))?.remove(0))
}

fn group_or_world(group: Option<&Group>) -> Result<Group> {
    match group {
        Some(g) => Ok(g.clone()),
        None => rmlx_distributed::init(),
    }
}

/// Rows (`axis` 0) or columns (`axis` 1) `rank` of `n` equal parts of `w`.
fn shard(w: &Array, axis: isize, n: usize, rank: usize) -> Result<Array> {
    let parts = w.split(n, axis)?;
    rmlx_core::contiguous(&parts[rank], false)
}

/// `y + bias`, or `y` without one.
fn add_bias(y: Array, bias: Option<&Array>) -> Result<Array> {
    match bias {
        Some(b) => y.add(b),
        None => Ok(y),
    }
}

/// `x @ dequantize(weight).T`, the product of a quantized slice.
fn quantized_product(
    x: &Array,
    weight: &Array,
    scales: &Array,
    biases: Option<&Array>,
    group_size: usize,
    bits: usize,
    mode: rmlx_core::QuantizationMode,
) -> Result<Array> {
    rmlx_core::quantized_matmul_mode(x, weight, scales, biases, true, group_size, bits, mode)
}

fn check_divisible(what: &str, dims: usize, n: usize) -> Result<()> {
    if !dims.is_multiple_of(n) {
        return Err(rmlx_core::Error::Shape(format!(
            "Cannot shard the {what} of size {dims} across {n} devices."
        )));
    }
    Ok(())
}

/// A linear layer whose output features are split over a group (MLX's
/// `nn.AllToShardedLinear`): `weight` `[output_dims / N, input_dims]`, `bias`
/// `[output_dims / N]`.
///
/// ```
/// use rmlx_nn::{AllToShardedLinear, Linear};
/// let l = Linear::new(4, 6, true)?;
/// let s = AllToShardedLinear::from_linear(&l, None)?; // one process: the whole layer
/// let x = rmlx_core::ones(&[2, 4], rmlx_core::Dtype::F32)?;
/// assert_eq!(s.forward(&x)?.to_vec::<f32>()?, l.forward(&x)?.to_vec::<f32>()?);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct AllToShardedLinear {
    /// `[output_dims / N, input_dims]`.
    pub weight: Array,
    /// `[output_dims / N]`, absent with `bias = false`.
    pub bias: Option<Array>,
    /// Frozen names and training flag.
    pub state: ModuleState,
    /// The group the output is split over.
    #[module(skip)]
    pub group: Group,
}

impl AllToShardedLinear {
    /// A new layer with MLX's `Linear` initialisation of this process's slice.
    pub fn new(
        input_dims: usize,
        output_dims: usize,
        bias: bool,
        group: Option<&Group>,
    ) -> Result<Self> {
        let group = group_or_world(group)?;
        let n = group.size();
        check_divisible("output", output_dims, n)?;
        let scale = (1.0 / input_dims.max(1) as f64).sqrt();
        Ok(AllToShardedLinear {
            weight: uniform_init(&[output_dims / n, input_dims], scale)?,
            bias: if bias {
                Some(uniform_init(&[output_dims / n], scale)?)
            } else {
                None
            },
            state: ModuleState::default(),
            group,
        })
    }

    /// This process's slice of a whole `Linear` (MLX's `from_linear`).
    pub fn from_linear(linear: &Linear, group: Option<&Group>) -> Result<Self> {
        let group = group_or_world(group)?;
        let (n, r) = (group.size(), group.rank());
        check_divisible("output", linear.weight.shape()[0], n)?;
        Ok(AllToShardedLinear {
            weight: shard(&linear.weight, 0, n, r)?,
            bias: linear
                .bias
                .as_ref()
                .map(|b| shard(b, -1, n, r))
                .transpose()?,
            state: ModuleState::default(),
            group,
        })
    }

    /// `x Wᵀ + b` on this process's output slice; `x`'s gradient is summed over the group.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let x = sum_gradients(x, &self.group)?;
        let y = x.matmul(&self.weight.t()?)?;
        add_bias(y, self.bias.as_ref())
    }

    fn repr_args(&self) -> String {
        let s = self.weight.shape();
        format!(
            "input_dims={}, output_dims={}, bias={}",
            s[1],
            s[0] * self.group.size(),
            super::py_bool(self.bias.is_some())
        )
    }
}

impl Forward for AllToShardedLinear {
    fn forward(&self, x: &Array) -> Result<Array> {
        AllToShardedLinear::forward(self, x)
    }
}

/// A linear layer whose input features are split over a group (MLX's `nn.ShardedToAllLinear`):
/// `weight` `[output_dims, input_dims / N]`, the whole `bias` `[output_dims]`; the partial
/// products are summed over the group.
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct ShardedToAllLinear {
    /// `[output_dims, input_dims / N]`.
    pub weight: Array,
    /// `[output_dims]`, absent with `bias = false`.
    pub bias: Option<Array>,
    /// Frozen names and training flag.
    pub state: ModuleState,
    /// The group the input is split over.
    #[module(skip)]
    pub group: Group,
}

impl ShardedToAllLinear {
    /// A new layer with MLX's `Linear` initialisation of this process's slice.
    pub fn new(
        input_dims: usize,
        output_dims: usize,
        bias: bool,
        group: Option<&Group>,
    ) -> Result<Self> {
        let group = group_or_world(group)?;
        let n = group.size();
        check_divisible("input", input_dims, n)?;
        let scale = (1.0 / input_dims.max(1) as f64).sqrt();
        Ok(ShardedToAllLinear {
            weight: uniform_init(&[output_dims, input_dims / n], scale)?,
            bias: if bias {
                Some(uniform_init(&[output_dims], scale)?)
            } else {
                None
            },
            state: ModuleState::default(),
            group,
        })
    }

    /// This process's slice of a whole `Linear` (MLX's `from_linear`).
    pub fn from_linear(linear: &Linear, group: Option<&Group>) -> Result<Self> {
        let group = group_or_world(group)?;
        let (n, r) = (group.size(), group.rank());
        check_divisible("input", linear.weight.shape()[1], n)?;
        Ok(ShardedToAllLinear {
            weight: shard(&linear.weight, 1, n, r)?,
            bias: linear.bias.clone(),
            state: ModuleState::default(),
            group,
        })
    }

    /// `all_sum(x Wᵀ) + b`, `x` holding this process's slice of the input features.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let y = all_sum(&x.matmul(&self.weight.t()?)?, Some(&self.group))?;
        add_bias(y, self.bias.as_ref())
    }

    fn repr_args(&self) -> String {
        let s = self.weight.shape();
        format!(
            "input_dims={}, output_dims={}, bias={}",
            s[1] * self.group.size(),
            s[0],
            super::py_bool(self.bias.is_some())
        )
    }
}

impl Forward for ShardedToAllLinear {
    fn forward(&self, x: &Array) -> Result<Array> {
        ShardedToAllLinear::forward(self, x)
    }
}

/// [`AllToShardedLinear`] over a quantized weight (MLX's `nn.QuantizedAllToShardedLinear`):
/// this process's output rows of a [`QuantizedLinear`]'s packed weight, scales, biases and bias.
#[derive(Module, Clone)]
pub struct QuantizedAllToShardedLinear {
    /// Elements per scale and bias.
    #[module(skip)]
    pub group_size: usize,
    /// Bits per element.
    #[module(skip)]
    pub bits: usize,
    /// The quantization mode.
    #[module(skip)]
    pub mode: rmlx_core::QuantizationMode,
    /// `[output_dims / N, input_dims * bits / 32]` `uint32`.
    pub weight: Array,
    /// `[output_dims / N, input_dims / group_size]`.
    pub scales: Array,
    /// Affine mode only.
    pub biases: Option<Array>,
    /// `[output_dims / N]`.
    pub bias: Option<Array>,
    /// Frozen names and training flag (the quantized parameters are frozen, as MLX's).
    pub state: ModuleState,
    /// The group the output is split over.
    #[module(skip)]
    pub group: Group,
}

/// [`ShardedToAllLinear`] over a quantized weight (MLX's `nn.QuantizedShardedToAllLinear`):
/// this process's input columns of a [`QuantizedLinear`]'s packed weight, scales and biases,
/// and the whole bias.
#[derive(Module, Clone)]
pub struct QuantizedShardedToAllLinear {
    /// Elements per scale and bias.
    #[module(skip)]
    pub group_size: usize,
    /// Bits per element.
    #[module(skip)]
    pub bits: usize,
    /// The quantization mode.
    #[module(skip)]
    pub mode: rmlx_core::QuantizationMode,
    /// `[output_dims, input_dims / N * bits / 32]` `uint32`.
    pub weight: Array,
    /// `[output_dims, input_dims / N / group_size]`.
    pub scales: Array,
    /// Affine mode only.
    pub biases: Option<Array>,
    /// `[output_dims]`.
    pub bias: Option<Array>,
    /// Frozen names and training flag (the quantized parameters are frozen, as MLX's).
    pub state: ModuleState,
    /// The group the input is split over.
    #[module(skip)]
    pub group: Group,
}

fn frozen_quantized_state() -> ModuleState {
    let mut state = ModuleState::default();
    for k in ["weight", "scales", "biases"] {
        state.no_grad.insert(k.to_string());
    }
    state
}

impl QuantizedAllToShardedLinear {
    /// This process's slice of `layer` (MLX's `from_quantized_linear`).
    pub fn from_quantized_linear(layer: &QuantizedLinear, group: Option<&Group>) -> Result<Self> {
        let group = group_or_world(group)?;
        let (n, r) = (group.size(), group.rank());
        check_divisible("output", layer.weight.shape()[0], n)?;
        let part = |a: &Array| shard(a, 0, n, r);
        Ok(QuantizedAllToShardedLinear {
            group_size: layer.group_size,
            bits: layer.bits,
            mode: layer.mode,
            weight: part(&layer.weight)?,
            scales: part(&layer.scales)?,
            biases: layer.biases.as_ref().map(part).transpose()?,
            bias: layer.bias.as_ref().map(part).transpose()?,
            state: frozen_quantized_state(),
            group,
        })
    }

    /// `quantized_matmul(x, W) + b` on this process's output slice; `x`'s gradient is summed
    /// over the group.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let x = sum_gradients(x, &self.group)?;
        let y = quantized_product(
            &x,
            &self.weight,
            &self.scales,
            self.biases.as_ref(),
            self.group_size,
            self.bits,
            self.mode,
        )?;
        add_bias(y, self.bias.as_ref())
    }
}

impl Forward for QuantizedAllToShardedLinear {
    fn forward(&self, x: &Array) -> Result<Array> {
        QuantizedAllToShardedLinear::forward(self, x)
    }
}

impl QuantizedShardedToAllLinear {
    /// This process's slice of `layer` (MLX's `from_quantized_linear`); each process's input
    /// slice must hold whole quantization groups.
    pub fn from_quantized_linear(layer: &QuantizedLinear, group: Option<&Group>) -> Result<Self> {
        let group = group_or_world(group)?;
        let (n, r) = (group.size(), group.rank());
        check_divisible(
            "quantization groups of the input",
            layer.scales.shape()[1],
            n,
        )?;
        let part = |a: &Array| shard(a, 1, n, r);
        Ok(QuantizedShardedToAllLinear {
            group_size: layer.group_size,
            bits: layer.bits,
            mode: layer.mode,
            weight: part(&layer.weight)?,
            scales: part(&layer.scales)?,
            biases: layer.biases.as_ref().map(part).transpose()?,
            bias: layer.bias.clone(),
            state: frozen_quantized_state(),
            group,
        })
    }

    /// `all_sum(quantized_matmul(x, W)) + b`, `x` holding this process's input slice.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let y = quantized_product(
            x,
            &self.weight,
            &self.scales,
            self.biases.as_ref(),
            self.group_size,
            self.bits,
            self.mode,
        )?;
        let y = all_sum(&y, Some(&self.group))?;
        add_bias(y, self.bias.as_ref())
    }
}

impl Forward for QuantizedShardedToAllLinear {
    fn forward(&self, x: &Array) -> Result<Array> {
        QuantizedShardedToAllLinear::forward(self, x)
    }
}
