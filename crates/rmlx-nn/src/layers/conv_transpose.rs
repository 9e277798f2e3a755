//! `ConvTranspose1d`, `ConvTranspose2d` and `ConvTranspose3d` (channels-last, as MLX).

use super::conv::{add_bias, check_new, py_pair, py_triple, Size2, Size3};
use super::{py_bool, uniform_init, Forward};
use crate::{Module, ModuleState};
use rmlx_core::{Array, Dtype, Result};

/// The bias of a new layer: zeros, as MLX.
fn zero_bias(out_channels: usize, bias: bool) -> Result<Option<Array>> {
    bias.then(|| rmlx_core::zeros(&[out_channels], Dtype::F32))
        .transpose()
}

/// 1-D transposed convolution over `(N, L, C_in)` → `(N, L_out, C_out)` (MLX
/// `nn.ConvTranspose1d`): `weight` `(out_channels, kernel_size, in_channels)`, optional `bias`;
/// `L_out = (L - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1`.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// use rmlx_nn::ConvTranspose1d;
/// let up = ConvTranspose1d::new(4, 2, 3, 2, 1, 1, 1, true)?; // doubles the length
/// let y = up.forward(&mx::ones(&[1, 8, 4], mx::Dtype::F32)?)?;
/// assert_eq!(y.shape(), &[1, 16, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct ConvTranspose1d {
    /// `(out_channels, kernel_size, in_channels)`.
    pub weight: Array,
    /// `(out_channels)`, absent with `bias = false`.
    pub bias: Option<Array>,
    /// Removed from both ends of the full output.
    #[module(skip)]
    pub padding: usize,
    /// Spacing between kernel taps.
    #[module(skip)]
    pub dilation: usize,
    /// Step of the input in the output.
    #[module(skip)]
    pub stride: usize,
    /// Extra positions at the end of the output.
    #[module(skip)]
    pub output_padding: usize,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl ConvTranspose1d {
    /// `ConvTranspose1d(in_channels, out_channels, kernel_size, stride, padding, dilation,
    /// output_padding, bias)` (MLX's defaults `1, 0, 1, 0, true`): weight from `U(-s, s)`,
    /// `s = sqrt(1 / (in_channels * kernel_size))`, bias zeros, the same draws as MLX.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        output_padding: usize,
        bias: bool,
    ) -> Result<ConvTranspose1d> {
        check_new("ConvTranspose1d", in_channels, 1, &[kernel_size])?;
        let scale = (1.0 / (in_channels * kernel_size).max(1) as f64).sqrt();
        Ok(ConvTranspose1d {
            weight: uniform_init(&[out_channels, kernel_size, in_channels], scale)?,
            bias: zero_bias(out_channels, bias)?,
            padding,
            dilation,
            stride,
            output_padding,
            state: ModuleState::default(),
        })
    }

    /// `conv_transpose1d(x, weight, …) + bias` for `x` `(N, L, C_in)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let y = rmlx_core::conv_transpose1d(
            x,
            &self.weight,
            self.stride,
            self.padding,
            self.dilation,
            self.output_padding,
            1,
        )?;
        add_bias(y, &self.bias)
    }

    fn repr_args(&self) -> String {
        let s = self.weight.shape();
        let dim = |i: usize| s.get(i).copied().unwrap_or(0);
        format!(
            "{}, {}, kernel_size={}, stride={}, padding={}, dilation={}, output_padding={}, bias={}",
            dim(2),
            dim(0),
            dim(1),
            self.stride,
            self.padding,
            self.dilation,
            self.output_padding,
            py_bool(self.bias.is_some())
        )
    }
}

/// 2-D transposed convolution over `(N, H, W, C_in)` → `(N, H_out, W_out, C_out)` (MLX
/// `nn.ConvTranspose2d`): `weight` `(out_channels, KH, KW, in_channels)`; each size one number or
/// a `(height, width)` pair, output sizes as [`ConvTranspose1d`] per axis.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// use rmlx_nn::ConvTranspose2d;
/// let up = ConvTranspose2d::new(3, 8, 2, 2, 0, 1, 0, true)?;
/// let y = up.forward(&mx::ones(&[1, 5, 7, 3], mx::Dtype::F32)?)?;
/// assert_eq!(y.shape(), &[1, 10, 14, 8]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct ConvTranspose2d {
    /// `(out_channels, KH, KW, in_channels)`.
    pub weight: Array,
    /// `(out_channels)`, absent with `bias = false`.
    pub bias: Option<Array>,
    /// Removed from both ends of each axis.
    #[module(skip)]
    pub padding: (usize, usize),
    /// Step of the input in the output.
    #[module(skip)]
    pub stride: (usize, usize),
    /// Spacing between kernel taps, as given.
    #[module(skip)]
    pub dilation: Size2,
    /// Extra positions at the end of each axis.
    #[module(skip)]
    pub output_padding: (usize, usize),
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl ConvTranspose2d {
    /// `ConvTranspose2d(in_channels, out_channels, kernel_size, stride, padding, dilation,
    /// output_padding, bias)` (MLX's defaults `1, 0, 1, 0, true`), initialised as MLX does.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: impl Into<Size2>,
        stride: impl Into<Size2>,
        padding: impl Into<Size2>,
        dilation: impl Into<Size2>,
        output_padding: impl Into<Size2>,
        bias: bool,
    ) -> Result<ConvTranspose2d> {
        let (kh, kw) = kernel_size.into().pair();
        check_new("ConvTranspose2d", in_channels, 1, &[kh, kw])?;
        let scale = (1.0 / (in_channels * kh * kw).max(1) as f64).sqrt();
        Ok(ConvTranspose2d {
            weight: uniform_init(&[out_channels, kh, kw, in_channels], scale)?,
            bias: zero_bias(out_channels, bias)?,
            padding: padding.into().pair(),
            stride: stride.into().pair(),
            dilation: dilation.into(),
            output_padding: output_padding.into().pair(),
            state: ModuleState::default(),
        })
    }

    /// `conv_transpose2d(x, weight, …) + bias` for `x` `(N, H, W, C_in)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let y = rmlx_core::conv_transpose2d(
            x,
            &self.weight,
            self.stride,
            self.padding,
            self.dilation.pair(),
            self.output_padding,
            1,
        )?;
        add_bias(y, &self.bias)
    }

    fn repr_args(&self) -> String {
        let s = self.weight.shape();
        let dim = |i: usize| s.get(i).copied().unwrap_or(0);
        format!(
            "{}, {}, kernel_size={}, stride={}, padding={}, dilation={}, output_padding={}, bias={}",
            dim(3),
            dim(0),
            py_pair((dim(1), dim(2))),
            py_pair(self.stride),
            py_pair(self.padding),
            self.dilation.py_repr(),
            py_pair(self.output_padding),
            py_bool(self.bias.is_some())
        )
    }
}

/// 3-D transposed convolution over `(N, D, H, W, C_in)` → `(N, D_out, H_out, W_out, C_out)`
/// (MLX `nn.ConvTranspose3d`): `weight` `(out_channels, KD, KH, KW, in_channels)`; each size one
/// number or a `(depth, height, width)` triple.
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct ConvTranspose3d {
    /// `(out_channels, KD, KH, KW, in_channels)`.
    pub weight: Array,
    /// `(out_channels)`, absent with `bias = false`.
    pub bias: Option<Array>,
    /// Removed from both ends of each axis.
    #[module(skip)]
    pub padding: (usize, usize, usize),
    /// Step of the input in the output.
    #[module(skip)]
    pub stride: (usize, usize, usize),
    /// Spacing between kernel taps, as given.
    #[module(skip)]
    pub dilation: Size3,
    /// Extra positions at the end of each axis.
    #[module(skip)]
    pub output_padding: (usize, usize, usize),
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl ConvTranspose3d {
    /// `ConvTranspose3d(in_channels, out_channels, kernel_size, stride, padding, dilation,
    /// output_padding, bias)` (MLX's defaults `1, 0, 1, 0, true`), initialised as MLX does.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: impl Into<Size3>,
        stride: impl Into<Size3>,
        padding: impl Into<Size3>,
        dilation: impl Into<Size3>,
        output_padding: impl Into<Size3>,
        bias: bool,
    ) -> Result<ConvTranspose3d> {
        let (kd, kh, kw) = kernel_size.into().triple();
        check_new("ConvTranspose3d", in_channels, 1, &[kd, kh, kw])?;
        let scale = (1.0 / (in_channels * kd * kh * kw).max(1) as f64).sqrt();
        Ok(ConvTranspose3d {
            weight: uniform_init(&[out_channels, kd, kh, kw, in_channels], scale)?,
            bias: zero_bias(out_channels, bias)?,
            padding: padding.into().triple(),
            stride: stride.into().triple(),
            dilation: dilation.into(),
            output_padding: output_padding.into().triple(),
            state: ModuleState::default(),
        })
    }

    /// `conv_transpose3d(x, weight, …) + bias` for `x` `(N, D, H, W, C_in)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let y = rmlx_core::conv_transpose3d(
            x,
            &self.weight,
            self.stride,
            self.padding,
            self.dilation.triple(),
            self.output_padding,
            1,
        )?;
        add_bias(y, &self.bias)
    }

    fn repr_args(&self) -> String {
        let s = self.weight.shape();
        let dim = |i: usize| s.get(i).copied().unwrap_or(0);
        format!(
            "{}, {}, kernel_size={}, stride={}, padding={}, dilation={}, output_padding={}, bias={}",
            dim(4),
            dim(0),
            py_triple((dim(1), dim(2), dim(3))),
            py_triple(self.stride),
            py_triple(self.padding),
            self.dilation.py_repr(),
            py_triple(self.output_padding),
            py_bool(self.bias.is_some())
        )
    }
}

macro_rules! forward_impl {
    ($($t:ty),*) => {$(
        impl Forward for $t {
            fn forward(&self, x: &Array) -> Result<Array> {
                <$t>::forward(self, x)
            }
        }
    )*};
}
forward_impl!(ConvTranspose1d, ConvTranspose2d, ConvTranspose3d);
