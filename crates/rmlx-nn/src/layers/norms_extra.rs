//! `GroupNorm`, `InstanceNorm` and `BatchNorm` (channels last, as MLX).

use super::{filled, py_bool, Forward};
use crate::{Module, ModuleState};
use rmlx_core::{Array, Error, Result};

/// Python's `repr` of a float (`1e-05`, `0.1`, `10000.0`), for module reprs. The value is
/// printed from its own precision (an `f32` field prints its shortest `f32` decimal).
pub(crate) fn py_float(s_debug: String) -> String {
    // `s_debug` is Rust's `{:e}` rendering, e.g. "1e-5", "1.5e1", "-2.5e-7".
    let Some((mant, exp)) = s_debug.split_once('e') else {
        return s_debug;
    };
    let Ok(e) = exp.parse::<i32>() else {
        return s_debug;
    };
    if !(-4..16).contains(&e) {
        let sign = if e < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", e.abs());
    }
    // positional notation: shift the mantissa's decimal point by `e`
    let (neg, m) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let digits: String = m.chars().filter(|c| *c != '.').collect();
    let point = 1 + e; // digits before the decimal point
    let body = if point <= 0 {
        format!("0.{}{}", "0".repeat((-point) as usize), digits)
    } else if point as usize >= digits.len() {
        format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
    } else {
        let (a, b) = digits.split_at(point as usize);
        format!("{a}.{b}")
    };
    if neg {
        format!("-{body}")
    } else {
        body
    }
}

fn check_eps(class: &str, eps: f32) -> Result<()> {
    if eps.is_nan() || eps <= 0.0 {
        return Err(Error::Value(format!(
            "[{class}] 'eps' must be positive, got {eps}"
        )));
    }
    Ok(())
}

/// `(x - mean) * rsqrt(var + eps)` over `axes` (biased variance, as MLX).
fn normalize(x: &Array, axes: Vec<isize>, eps: f32) -> Result<Array> {
    let mean = x.mean(axes.clone(), true)?;
    let var = x.var(axes, true, 0)?;
    (x - &mean)? * (var + eps as f64)?.rsqrt()?
}

fn affine(x: Array, weight: Option<&Array>, bias: Option<&Array>) -> Result<Array> {
    match (weight, bias) {
        (Some(w), Some(b)) => (w * &x)? + b,
        (Some(w), None) => w * &x,
        _ => Ok(x),
    }
}

fn check_last(class: &str, x: &Array, dims: usize, min_ndim: usize) -> Result<()> {
    if x.ndim() < min_ndim {
        return Err(Error::Shape(format!(
            "[{class}] expected an input with at least {min_ndim} dimensions (batch, ..., features), got shape {:?}",
            x.shape()
        )));
    }
    if x.shape().last() != Some(&dims) {
        return Err(Error::Shape(format!(
            "[{class}] the last dimension of the input with shape {:?} must be {dims}",
            x.shape()
        )));
    }
    Ok(())
}

/// Group normalisation (MLX `nn.GroupNorm`): statistics over the spatial axes and each group
/// of features, features last (`[batch, ..., dims]`). `weight` (ones) and `bias` (zeros) of
/// shape `[dims]` when `affine`.
///
/// MLX's default grouping puts feature `c` in group `c % num_groups`; with
/// `pytorch_compatible` the groups are contiguous (`c / (dims / num_groups)`), as PyTorch.
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct GroupNorm {
    /// Shift, `[dims]`, present when `affine`.
    pub bias: Option<Array>,
    /// Scale, `[dims]`, present when `affine`.
    pub weight: Option<Array>,
    /// Number of groups.
    #[module(skip)]
    pub num_groups: usize,
    /// Feature size.
    #[module(skip)]
    pub dims: usize,
    /// Epsilon added to the variance.
    #[module(skip)]
    pub eps: f32,
    /// PyTorch's contiguous grouping.
    #[module(skip)]
    pub pytorch_compatible: bool,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl GroupNorm {
    /// `GroupNorm(num_groups, dims, eps, affine, pytorch_compatible)`; `eps` must be positive
    /// and `dims` a multiple of `num_groups`.
    pub fn new(
        num_groups: usize,
        dims: usize,
        eps: f32,
        affine: bool,
        pytorch_compatible: bool,
    ) -> Result<GroupNorm> {
        check_eps("GroupNorm", eps)?;
        if num_groups == 0 || !dims.is_multiple_of(num_groups) {
            return Err(Error::Value(format!(
                "[GroupNorm] dims ({dims}) must be divisible by num_groups ({num_groups})"
            )));
        }
        // MLX assigns bias before weight.
        let (bias, weight) = if affine {
            (Some(filled(&[dims], 0.0)?), Some(filled(&[dims], 1.0)?))
        } else {
            (None, None)
        };
        Ok(GroupNorm {
            bias,
            weight,
            num_groups,
            dims,
            eps,
            pytorch_compatible,
            state: ModuleState::default(),
        })
    }

    /// Normalises `x` `[batch, ..., dims]` per batch element and group, then applies the affine
    /// transform.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        check_last("GroupNorm", x, self.dims, 2)?;
        let g = self.num_groups as isize;
        let gs = (self.dims / self.num_groups) as isize;
        let b = x.shape().first().copied().unwrap_or(1) as isize;
        let y = if self.pytorch_compatible {
            let t = x
                .reshape(&[b, -1, g, gs][..])?
                .transpose_axes(&[0, 2, 1, 3])?
                .reshape(&[b, g, -1][..])?;
            let t = rmlx_core::fast::layer_norm(&t, None, None, self.eps as f64)?;
            t.reshape(&[b, g, -1, gs][..])?
                .transpose_axes(&[0, 2, 1, 3])?
                .reshape(x.shape())?
        } else {
            let t = x.reshape(&[b, -1, g][..])?;
            normalize(&t, vec![1], self.eps)?.reshape(x.shape())?
        };
        affine(y, self.weight.as_ref(), self.bias.as_ref())
    }

    fn repr_args(&self) -> String {
        format!(
            "{}, {}, eps={}, affine={}, pytorch_compatible={}",
            self.num_groups,
            self.dims,
            py_float(format!("{:e}", self.eps)),
            py_bool(self.weight.is_some()),
            py_bool(self.pytorch_compatible)
        )
    }
}

/// Instance normalisation (MLX `nn.InstanceNorm`): statistics over the spatial axes of each
/// batch element and feature, features last (`[batch, ..., dims]`). `weight` (ones) and `bias`
/// (zeros) of shape `[dims]` when `affine`.
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct InstanceNorm {
    /// Scale, `[dims]`, present when `affine`.
    pub weight: Option<Array>,
    /// Shift, `[dims]`, present when `affine`.
    pub bias: Option<Array>,
    /// Feature size.
    #[module(skip)]
    pub dims: usize,
    /// Epsilon added to the variance.
    #[module(skip)]
    pub eps: f32,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl InstanceNorm {
    /// `InstanceNorm(dims, eps, affine)`; `eps` must be positive.
    pub fn new(dims: usize, eps: f32, affine: bool) -> Result<InstanceNorm> {
        check_eps("InstanceNorm", eps)?;
        let (weight, bias) = if affine {
            (Some(filled(&[dims], 1.0)?), Some(filled(&[dims], 0.0)?))
        } else {
            (None, None)
        };
        Ok(InstanceNorm {
            weight,
            bias,
            dims,
            eps,
            state: ModuleState::default(),
        })
    }

    /// Normalises `x` `[batch, ..., dims]` over axes `1..ndim-1` (a 2-D input has no spatial
    /// axis: every value is its own mean, as in MLX), then applies the affine transform.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        check_last("InstanceNorm", x, self.dims, 2)?;
        let axes: Vec<isize> = (1..x.ndim() as isize - 1).collect();
        let y = if axes.is_empty() {
            // mean over no axis is x itself and the variance 0
            let mean = x.clone();
            ((x - &mean)? * (1.0 / (self.eps as f64).sqrt()))?
        } else {
            normalize(x, axes, self.eps)?
        };
        affine(y, self.weight.as_ref(), self.bias.as_ref())
    }

    fn repr_args(&self) -> String {
        format!(
            "{}, eps={}, affine={}",
            self.dims,
            py_float(format!("{:e}", self.eps)),
            py_bool(self.weight.is_some())
        )
    }
}

/// The names `BatchNorm` keeps frozen.
const RUNNING: [&str; 2] = ["running_mean", "running_var"];

/// Batch normalisation (MLX `nn.BatchNorm`) over inputs `[N, C]`, `[N, L, C]` or
/// `[N, H, W, C]` (features last).
///
/// Members, in MLX's order: `weight` (ones) and `bias` (zeros) when `affine`, then
/// `running_mean` (zeros) and `running_var` (ones) when `track_running_stats`. The running
/// statistics are parameters (saved and loaded) that are frozen at construction and re-frozen
/// by `unfreeze` called on the `BatchNorm` itself (MLX's `unfreeze` override), so they never
/// appear in `trainable_parameters()` of the layer.
///
/// In training mode the batch statistics normalise the input and, when tracking, update the
/// running statistics with `momentum` (the running variance takes the unbiased batch variance);
/// in eval mode the running statistics are used.
///
/// ```
/// use rmlx_core::Array;
/// use rmlx_nn::{BatchNorm, ModuleExt};
/// let mut bn = BatchNorm::new(2, 1e-5, 0.1, true, true)?;
/// let x = Array::from_slice(&[0.0f32, 1.0, 2.0, 3.0], &[2, 2])?;
/// let y = bn.forward(&x)?; // training: batch statistics, running stats updated
/// assert!((y.to_vec::<f32>()?[0] + 1.0).abs() < 1e-3);
/// assert_eq!(bn.running_mean.as_ref().unwrap().to_vec::<f32>()?, vec![0.1, 0.2]);
/// bn.unfreeze(rmlx_nn::Keys::All)?;
/// assert_eq!(bn.trainable_parameters().flatten().len(), 2); // weight and bias only
/// # Ok::<(), rmlx_core::Error>(())
/// ```
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct BatchNorm {
    /// Scale, `[num_features]`, present when `affine`.
    pub weight: Option<Array>,
    /// Shift, `[num_features]`, present when `affine`.
    pub bias: Option<Array>,
    /// Running mean, `[num_features]`, present when `track_running_stats`.
    pub running_mean: Option<Array>,
    /// Running variance, `[num_features]`, present when `track_running_stats`.
    pub running_var: Option<Array>,
    /// Feature size.
    #[module(skip)]
    pub num_features: usize,
    /// Epsilon added to the variance.
    #[module(skip)]
    pub eps: f32,
    /// Weight of the new batch statistics in the running update.
    #[module(skip)]
    pub momentum: f32,
    /// Whether running statistics are kept.
    #[module(skip)]
    pub track_running_stats: bool,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl BatchNorm {
    /// `BatchNorm(num_features, eps, momentum, affine, track_running_stats)`; `eps` must be
    /// positive.
    pub fn new(
        num_features: usize,
        eps: f32,
        momentum: f32,
        affine: bool,
        track_running_stats: bool,
    ) -> Result<BatchNorm> {
        check_eps("BatchNorm", eps)?;
        let (weight, bias) = if affine {
            (
                Some(filled(&[num_features], 1.0)?),
                Some(filled(&[num_features], 0.0)?),
            )
        } else {
            (None, None)
        };
        let (running_mean, running_var) = if track_running_stats {
            (
                Some(filled(&[num_features], 0.0)?),
                Some(filled(&[num_features], 1.0)?),
            )
        } else {
            (None, None)
        };
        let mut bn = BatchNorm {
            weight,
            bias,
            running_mean,
            running_var,
            num_features,
            eps,
            momentum,
            track_running_stats,
            state: ModuleState::default(),
        };
        if track_running_stats {
            bn.refreeze();
        }
        Ok(bn)
    }

    /// Freezes `running_mean` and `running_var` (non-recursive, by name), as MLX's override
    /// does after every `unfreeze`.
    fn refreeze(&mut self) {
        self.state
            .no_grad
            .extend(RUNNING.iter().map(|s| s.to_string()));
    }

    fn check_input(&self, x: &Array) -> Result<()> {
        if x.ndim() < 2 || x.ndim() > 4 {
            return Err(Error::Value(format!(
                "Expected input tensor to have 2, 3 or 4 dimensions, but got {}",
                x.ndim()
            )));
        }
        if x.shape().last() != Some(&self.num_features) {
            return Err(Error::Shape(format!(
                "[BatchNorm] the last dimension of the input with shape {:?} must be num_features={}",
                x.shape(),
                self.num_features
            )));
        }
        Ok(())
    }

    fn batch_stats(x: &Array) -> Result<(Array, Array, usize)> {
        let axes: Vec<isize> = (0..x.ndim() as isize - 1).collect();
        let n: usize = x
            .shape()
            .split_last()
            .map_or(1, |(_, lead)| lead.iter().product());
        Ok((x.mean(axes.clone(), false)?, x.var(axes, false, 0)?, n))
    }

    /// The output and, in training mode with running statistics, their updated values, without
    /// storing them (for use inside `value_and_grad`, whose loss function sees the model by
    /// shared reference; store them afterwards with [`BatchNorm::set_running_stats`]).
    pub fn forward_stats(&self, x: &Array) -> Result<(Array, Option<(Array, Array)>)> {
        self.check_input(x)?;
        let training = self.state.training;
        let (mean, var, new_stats) = match (&self.running_mean, &self.running_var) {
            (Some(rm), Some(rv)) if !training => (rm.clone(), rv.clone(), None),
            (Some(rm), Some(rv)) => {
                let (mean, var, n) = Self::batch_stats(x)?;
                if n <= 1 {
                    return Err(Error::Value(format!(
                        "Expected more than 1 value per channel when training, got input size {:?}",
                        x.shape()
                    )));
                }
                let mu = self.momentum as f64;
                let unbiased = (&var * (n as f64 / (n - 1) as f64))?;
                let new_mean = ((rm * (1.0 - mu))? + (&mean * mu)?)?;
                let new_var = ((rv * (1.0 - mu))? + (unbiased * mu)?)?;
                (mean, var, Some((new_mean, new_var)))
            }
            _ => {
                let (mean, var, _) = Self::batch_stats(x)?;
                (mean, var, None)
            }
        };
        let y = ((x - &mean)? * (var + self.eps as f64)?.rsqrt()?)?;
        Ok((
            affine(y, self.weight.as_ref(), self.bias.as_ref())?,
            new_stats,
        ))
    }

    /// Replaces the running statistics (both `[num_features]`), as returned by
    /// [`BatchNorm::forward_stats`].
    pub fn set_running_stats(&mut self, mean: Array, var: Array) -> Result<()> {
        let want = [self.num_features];
        if !self.track_running_stats || mean.shape() != want || var.shape() != want {
            return Err(Error::Value(format!(
                "[BatchNorm] running statistics must be two [{}] arrays on a layer that tracks them, got {:?} and {:?}",
                self.num_features,
                mean.shape(),
                var.shape()
            )));
        }
        self.running_mean = Some(mean);
        self.running_var = Some(var);
        Ok(())
    }

    /// MLX's `__call__`: normalises with the batch statistics in training mode (updating the
    /// running statistics when tracked) and with the running statistics in eval mode.
    pub fn forward(&mut self, x: &Array) -> Result<Array> {
        let (y, stats) = self.forward_stats(x)?;
        if let Some((m, v)) = stats {
            self.running_mean = Some(m);
            self.running_var = Some(v);
        }
        Ok(y)
    }

    fn repr_args(&self) -> String {
        format!(
            "{}, eps={}, momentum={}, affine={}, track_running_stats={}",
            self.num_features,
            py_float(format!("{:e}", self.eps)),
            py_float(format!("{:e}", self.momentum)),
            py_bool(self.weight.is_some()),
            py_bool(self.track_running_stats)
        )
    }
}

/// The hook `unfreeze` runs on the module it is called on: a `BatchNorm` re-freezes its
/// running statistics (MLX's `BatchNorm.unfreeze` override). As in MLX, it is not run for the
/// descendants of a container being unfrozen.
pub(crate) fn after_unfreeze(m: &mut dyn Module) {
    if let Some(bn) = m.as_any_mut().downcast_mut::<BatchNorm>() {
        bn.refreeze();
    }
}

impl Forward for GroupNorm {
    fn forward(&self, x: &Array) -> Result<Array> {
        GroupNorm::forward(self, x)
    }
}

impl Forward for InstanceNorm {
    fn forward(&self, x: &Array) -> Result<Array> {
        InstanceNorm::forward(self, x)
    }
}

/// Through a shared reference `BatchNorm` cannot store its running statistics: this works in
/// eval mode or without running statistics, and is an `Err` in training mode with them (call
/// [`BatchNorm::forward`] on `&mut`, or [`BatchNorm::forward_stats`]).
impl Forward for BatchNorm {
    fn forward(&self, x: &Array) -> Result<Array> {
        let (y, stats) = self.forward_stats(x)?;
        if stats.is_some() {
            return Err(Error::Value(
                "[BatchNorm] in training mode with running statistics the layer must be called mutably (BatchNorm::forward on &mut) to update them".into(),
            ));
        }
        Ok(y)
    }
}
