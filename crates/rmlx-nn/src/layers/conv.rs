//! `Conv1d`, `Conv2d` and `Conv3d` (channels-last, as MLX), and [`Size2`] / [`Size3`], the "int
//! or tuple" arguments of the 2-D and 3-D layers.

use super::{py_bool, uniform_init, Forward};
use crate::{Module, ModuleState};
use rmlx_core::{Array, Error, Result};

/// A 2-D size given either as one number for both axes or as `(height, width)` — MLX's
/// `int or tuple` arguments. Converts from `usize` and `(usize, usize)`, so calls read
/// `Conv2d::new(3, 8, 3, 1, 0, 1, 1, true)` or `Conv2d::new(3, 8, (3, 5), (2, 1), 1, 1, 1, true)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size2 {
    /// The same value for height and width (Python `int`).
    Both(usize),
    /// `(height, width)` (Python tuple).
    Pair(usize, usize),
}

impl Size2 {
    /// `(height, width)`.
    pub fn pair(self) -> (usize, usize) {
        match self {
            Size2::Both(v) => (v, v),
            Size2::Pair(h, w) => (h, w),
        }
    }

    /// As Python prints the value it stands for: `3` or `(3, 5)`.
    pub fn py_repr(self) -> String {
        match self {
            Size2::Both(v) => v.to_string(),
            Size2::Pair(h, w) => format!("({h}, {w})"),
        }
    }
}

impl From<usize> for Size2 {
    fn from(v: usize) -> Size2 {
        Size2::Both(v)
    }
}

impl From<(usize, usize)> for Size2 {
    fn from((h, w): (usize, usize)) -> Size2 {
        Size2::Pair(h, w)
    }
}

/// A 3-D size given either as one number for every axis or as `(depth, height, width)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size3 {
    /// The same value for every axis (Python `int`).
    All(usize),
    /// `(depth, height, width)` (Python tuple).
    Triple(usize, usize, usize),
}

impl Size3 {
    /// `(depth, height, width)`.
    pub fn triple(self) -> (usize, usize, usize) {
        match self {
            Size3::All(v) => (v, v, v),
            Size3::Triple(d, h, w) => (d, h, w),
        }
    }

    /// As Python prints the value it stands for: `3` or `(1, 3, 5)`.
    pub fn py_repr(self) -> String {
        match self {
            Size3::All(v) => v.to_string(),
            Size3::Triple(d, h, w) => format!("({d}, {h}, {w})"),
        }
    }
}

impl From<usize> for Size3 {
    fn from(v: usize) -> Size3 {
        Size3::All(v)
    }
}

impl From<(usize, usize, usize)> for Size3 {
    fn from((d, h, w): (usize, usize, usize)) -> Size3 {
        Size3::Triple(d, h, w)
    }
}

/// Python's repr of a triple: `(1, 2, 3)`.
pub(crate) fn py_triple((a, b, c): (usize, usize, usize)) -> String {
    format!("({a}, {b}, {c})")
}

/// Python's repr of a pair: `(1, 2)`.
pub(crate) fn py_pair((a, b): (usize, usize)) -> String {
    format!("({a}, {b})")
}

/// The checks the constructors share (MLX raises for channels not divisible by `groups`).
pub(crate) fn check_new(
    class: &str,
    in_channels: usize,
    groups: usize,
    kernel: &[usize],
) -> Result<()> {
    if groups == 0 {
        return Err(Error::Value(format!(
            "[{class}] the number of groups must be positive, got 0"
        )));
    }
    if !in_channels.is_multiple_of(groups) {
        return Err(Error::Value(format!(
            "The number of input channels ({in_channels}) must be divisible by the number of \
             groups ({groups})"
        )));
    }
    if kernel.contains(&0) {
        return Err(Error::Value(format!(
            "[{class}] kernel_size must be positive, got {kernel:?}"
        )));
    }
    Ok(())
}

/// The bias, if any, added to a convolution's output.
pub(crate) fn add_bias(y: Array, bias: &Option<Array>) -> Result<Array> {
    match bias {
        Some(b) => &y + b,
        None => Ok(y),
    }
}

/// 1-D convolution over channels-last sequences `(N, L, C_in)` → `(N, L_out, C_out)` (MLX
/// `nn.Conv1d`): `weight` `(out_channels, kernel_size, in_channels / groups)` and optional `bias`
/// `(out_channels)`.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// use rmlx_nn::Conv1d;
/// let conv = Conv1d::new(2, 4, 3, 1, 1, 1, 1, true)?; // padding 1 keeps the length
/// let y = conv.forward(&mx::ones(&[8, 10, 2], mx::Dtype::F32)?)?;
/// assert_eq!(y.shape(), &[8, 10, 4]);
/// assert_eq!(
///     conv.to_string(),
///     "Conv1d(2, 4, kernel_size=3, stride=1, padding=1, dilation=1, groups=1, bias=True)"
/// );
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct Conv1d {
    /// `(out_channels, kernel_size, in_channels / groups)`.
    pub weight: Array,
    /// `(out_channels)`, absent with `bias = false`.
    pub bias: Option<Array>,
    /// Zeros added on both sides of the sequence.
    #[module(skip)]
    pub padding: usize,
    /// Spacing between kernel taps.
    #[module(skip)]
    pub dilation: usize,
    /// Step between output positions.
    #[module(skip)]
    pub stride: usize,
    /// Channel groups (`in_channels` and `out_channels` split into this many independent parts).
    #[module(skip)]
    pub groups: usize,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl Conv1d {
    /// `Conv1d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)`
    /// (MLX's defaults are `1, 0, 1, 1, true`). The weight is drawn from `U(-s, s)` with
    /// `s = sqrt(1 / (in_channels * kernel_size))` and the bias is zeros, as MLX does (same
    /// draws). `in_channels` must be divisible by `groups`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        groups: usize,
        bias: bool,
    ) -> Result<Conv1d> {
        check_new("Conv1d", in_channels, groups, &[kernel_size])?;
        let scale = (1.0 / (in_channels * kernel_size).max(1) as f64).sqrt();
        Ok(Conv1d {
            weight: uniform_init(&[out_channels, kernel_size, in_channels / groups], scale)?,
            bias: if bias {
                Some(rmlx_core::zeros(&[out_channels], rmlx_core::Dtype::F32)?)
            } else {
                None
            },
            padding,
            dilation,
            stride,
            groups,
            state: ModuleState::default(),
        })
    }

    /// `conv1d(x, weight, stride, padding, dilation, groups) + bias` for `x` `(N, L, C_in)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let y = rmlx_core::conv1d(
            x,
            &self.weight,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
        )?;
        add_bias(y, &self.bias)
    }

    fn repr_args(&self) -> String {
        let s = self.weight.shape();
        let dim = |i: usize| s.get(i).copied().unwrap_or(0);
        format!(
            "{}, {}, kernel_size={}, stride={}, padding={}, dilation={}, groups={}, bias={}",
            dim(2) * self.groups,
            dim(0),
            dim(1),
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            py_bool(self.bias.is_some())
        )
    }
}

impl Forward for Conv1d {
    fn forward(&self, x: &Array) -> Result<Array> {
        Conv1d::forward(self, x)
    }
}

/// 2-D convolution over channels-last images `(N, H, W, C_in)` → `(N, H_out, W_out, C_out)` (MLX
/// `nn.Conv2d`): `weight` `(out_channels, KH, KW, in_channels / groups)` and optional `bias`
/// `(out_channels)`. `kernel_size`, `stride`, `padding` and `dilation` are each one number or a
/// `(height, width)` pair ([`Size2`]).
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// use rmlx_nn::Conv2d;
/// let conv = Conv2d::new(3, 8, 3, 2, 1, 1, 1, true)?;
/// let y = conv.forward(&mx::ones(&[1, 16, 16, 3], mx::Dtype::F32)?)?;
/// assert_eq!(y.shape(), &[1, 8, 8, 8]);
/// let depthwise = Conv2d::new(4, 4, (3, 1), 1, (1, 0), 1, 4, false)?;
/// assert_eq!(depthwise.weight.shape(), &[4, 3, 1, 1]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct Conv2d {
    /// `(out_channels, KH, KW, in_channels / groups)`.
    pub weight: Array,
    /// `(out_channels)`, absent with `bias = false`.
    pub bias: Option<Array>,
    /// Zeros added on both sides of `(height, width)`.
    #[module(skip)]
    pub padding: (usize, usize),
    /// Step between output positions along `(height, width)`.
    #[module(skip)]
    pub stride: (usize, usize),
    /// Spacing between kernel taps along `(height, width)`, as given (MLX keeps an int as is).
    #[module(skip)]
    pub dilation: Size2,
    /// Channel groups.
    #[module(skip)]
    pub groups: usize,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl Conv2d {
    /// `Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)`
    /// (MLX's defaults are `1, 0, 1, 1, true`). The weight is drawn from `U(-s, s)` with
    /// `s = sqrt(1 / (in_channels * KH * KW))` and the bias is zeros, as MLX does (same draws).
    /// `in_channels` must be divisible by `groups`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: impl Into<Size2>,
        stride: impl Into<Size2>,
        padding: impl Into<Size2>,
        dilation: impl Into<Size2>,
        groups: usize,
        bias: bool,
    ) -> Result<Conv2d> {
        let (kh, kw) = kernel_size.into().pair();
        check_new("Conv2d", in_channels, groups, &[kh, kw])?;
        let scale = (1.0 / (in_channels * kh * kw).max(1) as f64).sqrt();
        Ok(Conv2d {
            weight: uniform_init(&[out_channels, kh, kw, in_channels / groups], scale)?,
            bias: if bias {
                Some(rmlx_core::zeros(&[out_channels], rmlx_core::Dtype::F32)?)
            } else {
                None
            },
            padding: padding.into().pair(),
            stride: stride.into().pair(),
            dilation: dilation.into(),
            groups,
            state: ModuleState::default(),
        })
    }

    /// `conv2d(x, weight, stride, padding, dilation, groups) + bias` for `x` `(N, H, W, C_in)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let y = rmlx_core::conv2d(
            x,
            &self.weight,
            self.stride,
            self.padding,
            self.dilation.pair(),
            self.groups,
        )?;
        add_bias(y, &self.bias)
    }

    fn repr_args(&self) -> String {
        let s = self.weight.shape();
        let dim = |i: usize| s.get(i).copied().unwrap_or(0);
        format!(
            "{}, {}, kernel_size={}, stride={}, padding={}, dilation={}, groups={}, bias={}",
            dim(3) * self.groups,
            dim(0),
            py_pair((dim(1), dim(2))),
            py_pair(self.stride),
            py_pair(self.padding),
            self.dilation.py_repr(),
            self.groups,
            py_bool(self.bias.is_some())
        )
    }
}

impl Forward for Conv2d {
    fn forward(&self, x: &Array) -> Result<Array> {
        Conv2d::forward(self, x)
    }
}

/// 3-D convolution over channels-last volumes `(N, D, H, W, C_in)` → `(N, D_out, H_out, W_out,
/// C_out)` (MLX `nn.Conv3d`): `weight` `(out_channels, KD, KH, KW, in_channels)` and optional
/// `bias` `(out_channels)`; each size is one number or a `(depth, height, width)` triple.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// use rmlx_nn::Conv3d;
/// let conv = Conv3d::new(2, 4, 3, 1, 1, 1, true)?;
/// let y = conv.forward(&mx::ones(&[1, 5, 6, 7, 2], mx::Dtype::F32)?)?;
/// assert_eq!(y.shape(), &[1, 5, 6, 7, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct Conv3d {
    /// `(out_channels, KD, KH, KW, in_channels)`.
    pub weight: Array,
    /// `(out_channels)`, absent with `bias = false`.
    pub bias: Option<Array>,
    /// Zeros added on both sides of each axis.
    #[module(skip)]
    pub padding: (usize, usize, usize),
    /// Step between output positions.
    #[module(skip)]
    pub stride: (usize, usize, usize),
    /// Spacing between kernel taps, as given.
    #[module(skip)]
    pub dilation: Size3,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl Conv3d {
    /// `Conv3d(in_channels, out_channels, kernel_size, stride, padding, dilation, bias)` (MLX's
    /// defaults `1, 0, 1, true`): weight from `U(-s, s)`, `s = sqrt(1 / (in_channels * KD * KH *
    /// KW))`, bias zeros, the same draws as MLX.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: impl Into<Size3>,
        stride: impl Into<Size3>,
        padding: impl Into<Size3>,
        dilation: impl Into<Size3>,
        bias: bool,
    ) -> Result<Conv3d> {
        let (kd, kh, kw) = kernel_size.into().triple();
        check_new("Conv3d", in_channels, 1, &[kd, kh, kw])?;
        let scale = (1.0 / (in_channels * kd * kh * kw).max(1) as f64).sqrt();
        Ok(Conv3d {
            weight: uniform_init(&[out_channels, kd, kh, kw, in_channels], scale)?,
            bias: if bias {
                Some(rmlx_core::zeros(&[out_channels], rmlx_core::Dtype::F32)?)
            } else {
                None
            },
            padding: padding.into().triple(),
            stride: stride.into().triple(),
            dilation: dilation.into(),
            state: ModuleState::default(),
        })
    }

    /// `conv3d(x, weight, stride, padding, dilation) + bias` for `x` `(N, D, H, W, C_in)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let y = rmlx_core::conv3d(
            x,
            &self.weight,
            self.stride,
            self.padding,
            self.dilation.triple(),
            1,
        )?;
        add_bias(y, &self.bias)
    }

    fn repr_args(&self) -> String {
        let s = self.weight.shape();
        let dim = |i: usize| s.get(i).copied().unwrap_or(0);
        format!(
            "{}, {}, kernel_size={}, stride={}, padding={}, dilation={}, bias={}",
            dim(4),
            dim(0),
            py_triple((dim(1), dim(2), dim(3))),
            py_triple(self.stride),
            py_triple(self.padding),
            self.dilation.py_repr(),
            py_bool(self.bias.is_some())
        )
    }
}

impl Forward for Conv3d {
    fn forward(&self, x: &Array) -> Result<Array> {
        Conv3d::forward(self, x)
    }
}
