//! `MaxPool1d/2d/3d`, `AvgPool1d/2d/3d` (channels-last, as MLX's `pooling.py`).
//!
//! The input is padded (with `-inf` for max pooling, `0` for average pooling), cut into sliding
//! windows (a reshape when the windows tile the input exactly, strided slice views otherwise)
//! and reduced with `max` / `mean` over the window axes. Everything is composed from
//! differentiable ops, so the layers have gradients; at ties `max` splits the cotangent as the
//! core `max` vjp does. Average pooling divides by the full window size, padding included.

// Indexing here is into shapes whose rank `sliding_windows` checks first (`n + 2` axes for
// `n` spatial ones) and into the kernel, stride, padding and position vectors of `n` entries each
// (the constructors make them one per spatial axis).
#![allow(clippy::indexing_slicing)]

use super::conv::{py_pair, py_triple, Size2, Size3};
use super::Forward;
use crate::{Module, ModuleState};
use rmlx_core::{Array, Error, Result, SliceArg};

/// Which reduction a pooling layer applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Max,
    Avg,
}

/// Checks a pooling layer's arguments (MLX's `_Pool.__init__`).
fn check_args(class: &str, kernel: &[usize], stride: &[usize]) -> Result<()> {
    for (name, v) in [("kernel_size", kernel), ("stride", stride)] {
        if v.contains(&0) {
            return Err(Error::Value(format!(
                "[{class}] '{name}' must be positive but got {}.",
                py_tuple(v)
            )));
        }
    }
    Ok(())
}

/// Python's repr of a tuple: `(2,)`, `(2, 3)`.
fn py_tuple(v: &[usize]) -> String {
    match v {
        [a] => format!("({a},)"),
        _ => {
            let parts: Vec<String> = v.iter().map(|x| x.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// Pads, windows and reduces `x` `(N, *spatial, C)`.
fn pool(
    class: &str,
    kind: Kind,
    x: &Array,
    kernel: &[usize],
    stride: &[usize],
    padding: &[usize],
) -> Result<Array> {
    let n = kernel.len();
    if x.ndim() < 3 {
        return Err(Error::Shape(format!(
            "[{class}] To extract sliding windows at least 1 spatial dimension (3 total) is \
             needed but the input only has {} dimensions.",
            x.ndim()
        )));
    }
    if x.ndim() != n + 2 {
        return Err(Error::Shape(format!(
            "[{class}] To extract sliding windows the window shapes and strides must have the \
             same number of spatial dimensions as the signal but the signal has {} dims and the \
             window shape has {n} and strides have {n} (input shape {:?}).",
            x.ndim() - 2,
            x.shape()
        )));
    }
    let fits = (0..n).all(|i| {
        padding[i]
            .checked_mul(2)
            .and_then(|p| p.checked_add(x.shape()[i + 1]))
            .is_some()
    });
    if !fits {
        return Err(Error::Value(format!(
            "[{class}] padding {} is too large",
            py_tuple(padding)
        )));
    }
    let x = if padding.iter().any(|&p| p > 0) {
        let mut widths = vec![(0, 0); n + 2];
        for i in 0..n {
            widths[i + 1] = (padding[i], padding[i]);
        }
        let fill = match kind {
            Kind::Max => f64::NEG_INFINITY,
            Kind::Avg => 0.0,
        };
        rmlx_core::pad(x, &widths, fill)?
    } else {
        x.clone()
    };
    let shape = x.shape().to_vec();
    let spatial = &shape[1..=n];
    for i in 0..n {
        if spatial[i] < kernel[i] {
            return Err(Error::Shape(format!(
                "[{class}] the pooling window {} is larger than the padded input {:?} along \
                 spatial axis {i} (input shape {:?}, padding {})",
                py_tuple(kernel),
                spatial,
                shape,
                py_tuple(padding)
            )));
        }
    }
    let (batch, c) = (shape[0], shape[n + 1]);
    // window axes: the non-overlapping case is a reshape (N, o0, k0, o1, k1, .., C); otherwise
    // one strided view per window position, stacked into (N, *out, K, C).
    let tiled = (0..n).all(|i| kernel[i] == stride[i] && spatial[i] % kernel[i] == 0);
    let (windows, axes): (Array, Vec<isize>) = if tiled {
        let mut s = vec![batch];
        for i in 0..n {
            s.push(spatial[i] / kernel[i]);
            s.push(kernel[i]);
        }
        s.push(c);
        let axes = (0..n).map(|i| (2 + 2 * i) as isize).collect();
        (x.reshape(&s[..])?, axes)
    } else {
        let out: Vec<usize> = (0..n)
            .map(|i| (spatial[i] - kernel[i]) / stride[i] + 1)
            .collect();
        let k_total: usize = kernel.iter().product();
        let mut pos = vec![0usize; n];
        let mut views = Vec::with_capacity(k_total);
        for _ in 0..k_total {
            let mut args = vec![SliceArg::all()];
            for i in 0..n {
                let start = pos[i] as isize;
                let stop = (pos[i] + (out[i] - 1) * stride[i] + 1) as isize;
                args.push(SliceArg::new(Some(start), Some(stop), stride[i] as isize));
            }
            views.push(x.slice(&args)?);
            for i in (0..n).rev() {
                pos[i] += 1;
                if pos[i] < kernel[i] {
                    break;
                }
                pos[i] = 0;
            }
        }
        (
            rmlx_core::stack(&views, (n + 1) as isize)?,
            vec![(n + 1) as isize],
        )
    };
    match kind {
        Kind::Max => windows.max(axes, false),
        Kind::Avg => windows.mean(axes, false),
    }
}

macro_rules! pool1d {
    ($(#[$doc:meta])* $name:ident, $kind:expr, $pad_doc:literal) => {
        $(#[$doc])*
        #[derive(Module, Clone)]
        #[module(extra_repr = "repr_args")]
        pub struct $name {
            /// Window length.
            #[module(skip)]
            pub kernel_size: usize,
            /// Step between windows.
            #[module(skip)]
            pub stride: usize,
            #[doc = $pad_doc]
            #[module(skip)]
            pub padding: usize,
            /// Frozen names and training flag.
            pub state: ModuleState,
        }

        impl $name {
            /// A pooling layer over `(N, L, C)` with windows of `kernel_size`, stepping by
            /// `stride` (`None`: `kernel_size`, as MLX), after padding both sides by `padding`.
            /// `kernel_size` and `stride` must be positive.
            pub fn new(kernel_size: usize, stride: Option<usize>, padding: usize) -> Result<$name> {
                let stride = stride.unwrap_or(kernel_size);
                check_args(stringify!($name), &[kernel_size], &[stride])?;
                Ok($name {
                    kernel_size,
                    stride,
                    padding,
                    state: ModuleState::default(),
                })
            }

            /// Pools `x` `(N, L, C)` into `(N, L_out, C)`,
            /// `L_out = (L + 2 * padding - kernel_size) / stride + 1`.
            pub fn forward(&self, x: &Array) -> Result<Array> {
                pool(
                    stringify!($name),
                    $kind,
                    x,
                    &[self.kernel_size],
                    &[self.stride],
                    &[self.padding],
                )
            }

            fn repr_args(&self) -> String {
                format!(
                    "kernel_size=({},), stride=({},), padding=({},)",
                    self.kernel_size, self.stride, self.padding
                )
            }
        }

        impl Forward for $name {
            fn forward(&self, x: &Array) -> Result<Array> {
                $name::forward(self, x)
            }
        }
    };
}

macro_rules! pool2d {
    ($(#[$doc:meta])* $name:ident, $kind:expr, $pad_doc:literal) => {
        $(#[$doc])*
        #[derive(Module, Clone)]
        #[module(extra_repr = "repr_args")]
        pub struct $name {
            /// Window `(height, width)`.
            #[module(skip)]
            pub kernel_size: (usize, usize),
            /// Step between windows along `(height, width)`.
            #[module(skip)]
            pub stride: (usize, usize),
            #[doc = $pad_doc]
            #[module(skip)]
            pub padding: (usize, usize),
            /// Frozen names and training flag.
            pub state: ModuleState,
        }

        impl $name {
            /// A pooling layer over `(N, H, W, C)` with windows of `kernel_size`, stepping by
            /// `stride` (`None`: `kernel_size`, as MLX), after padding both sides of each
            /// spatial axis by `padding`. Each size is one number or a `(height, width)` pair;
            /// `kernel_size` and `stride` must be positive.
            pub fn new(
                kernel_size: impl Into<Size2>,
                stride: Option<Size2>,
                padding: impl Into<Size2>,
            ) -> Result<$name> {
                let kernel_size = kernel_size.into().pair();
                let stride = stride.map_or(kernel_size, Size2::pair);
                check_args(
                    stringify!($name),
                    &[kernel_size.0, kernel_size.1],
                    &[stride.0, stride.1],
                )?;
                Ok($name {
                    kernel_size,
                    stride,
                    padding: padding.into().pair(),
                    state: ModuleState::default(),
                })
            }

            /// Pools `x` `(N, H, W, C)` into `(N, H_out, W_out, C)`,
            /// `H_out = (H + 2 * padding.0 - kernel_size.0) / stride.0 + 1` (same for `W`).
            pub fn forward(&self, x: &Array) -> Result<Array> {
                pool(
                    stringify!($name),
                    $kind,
                    x,
                    &[self.kernel_size.0, self.kernel_size.1],
                    &[self.stride.0, self.stride.1],
                    &[self.padding.0, self.padding.1],
                )
            }

            fn repr_args(&self) -> String {
                format!(
                    "kernel_size={}, stride={}, padding={}",
                    py_pair(self.kernel_size),
                    py_pair(self.stride),
                    py_pair(self.padding)
                )
            }
        }

        impl Forward for $name {
            fn forward(&self, x: &Array) -> Result<Array> {
                $name::forward(self, x)
            }
        }
    };
}

macro_rules! pool3d {
    ($(#[$doc:meta])* $name:ident, $kind:expr, $pad_doc:literal) => {
        $(#[$doc])*
        #[derive(Module, Clone)]
        #[module(extra_repr = "repr_args")]
        pub struct $name {
            /// Window `(depth, height, width)`.
            #[module(skip)]
            pub kernel_size: (usize, usize, usize),
            /// Step between windows along each axis.
            #[module(skip)]
            pub stride: (usize, usize, usize),
            #[doc = $pad_doc]
            #[module(skip)]
            pub padding: (usize, usize, usize),
            /// Frozen names and training flag.
            pub state: ModuleState,
        }

        impl $name {
            /// A pooling layer over `(N, D, H, W, C)` with windows of `kernel_size`, stepping by
            /// `stride` (`None`: `kernel_size`, as MLX), after padding both sides of each
            /// spatial axis by `padding`. Each size is one number or a `(depth, height, width)`
            /// triple; `kernel_size` and `stride` must be positive.
            pub fn new(
                kernel_size: impl Into<Size3>,
                stride: Option<Size3>,
                padding: impl Into<Size3>,
            ) -> Result<$name> {
                let kernel_size = kernel_size.into().triple();
                let stride = stride.map_or(kernel_size, Size3::triple);
                let (k, s) = (kernel_size, stride);
                check_args(stringify!($name), &[k.0, k.1, k.2], &[s.0, s.1, s.2])?;
                Ok($name {
                    kernel_size,
                    stride,
                    padding: padding.into().triple(),
                    state: ModuleState::default(),
                })
            }

            /// Pools `x` `(N, D, H, W, C)` into `(N, D_out, H_out, W_out, C)`, each
            /// `(size + 2 * padding - kernel_size) / stride + 1`.
            pub fn forward(&self, x: &Array) -> Result<Array> {
                let (k, s, p) = (self.kernel_size, self.stride, self.padding);
                pool(
                    stringify!($name),
                    $kind,
                    x,
                    &[k.0, k.1, k.2],
                    &[s.0, s.1, s.2],
                    &[p.0, p.1, p.2],
                )
            }

            fn repr_args(&self) -> String {
                format!(
                    "kernel_size={}, stride={}, padding={}",
                    py_triple(self.kernel_size),
                    py_triple(self.stride),
                    py_triple(self.padding)
                )
            }
        }

        impl Forward for $name {
            fn forward(&self, x: &Array) -> Result<Array> {
                $name::forward(self, x)
            }
        }
    };
}

pool1d!(
    /// 1-D max pooling over `(N, L, C)` (MLX `nn.MaxPool1d`): the maximum of each window; the
    /// padding is `-inf`.
    ///
    /// ```
    /// use rmlx_core::{self as mx, Array};
    /// use rmlx_nn::MaxPool1d;
    /// let x = Array::from_slice(&[1.0f32, 5.0, 2.0, 4.0, 3.0], &[1, 5, 1])?;
    /// let pool = MaxPool1d::new(2, None, 0)?; // stride defaults to the kernel size
    /// assert_eq!(pool.forward(&x)?.to_vec::<f32>()?, vec![5.0, 4.0]);
    /// let pool = MaxPool1d::new(3, Some(2), 1)?;
    /// assert_eq!(pool.forward(&x)?.to_vec::<f32>()?, vec![5.0, 5.0, 4.0]);
    /// assert_eq!(pool.to_string(), "MaxPool1d(kernel_size=(3,), stride=(2,), padding=(1,))");
    /// # Ok::<(), mx::Error>(())
    /// ```
    MaxPool1d,
    Kind::Max,
    "`-inf` elements added on both sides of the sequence."
);

pool1d!(
    /// 1-D average pooling over `(N, L, C)` (MLX `nn.AvgPool1d`): the mean of each window; the
    /// padding is zeros, counted in the mean (the divisor is always `kernel_size`).
    ///
    /// ```
    /// use rmlx_core::{self as mx, Array};
    /// use rmlx_nn::AvgPool1d;
    /// let x = Array::from_slice(&[1.0f32, 5.0, 2.0, 4.0], &[1, 4, 1])?;
    /// let pool = AvgPool1d::new(2, Some(2), 1)?;
    /// assert_eq!(pool.forward(&x)?.to_vec::<f32>()?, vec![0.5, 3.5, 2.0]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    AvgPool1d,
    Kind::Avg,
    "Zeros added on both sides of the sequence."
);

pool2d!(
    /// 2-D max pooling over `(N, H, W, C)` (MLX `nn.MaxPool2d`): the maximum of each window; the
    /// padding is `-inf`.
    ///
    /// ```
    /// use rmlx_core::{self as mx, Array};
    /// use rmlx_nn::MaxPool2d;
    /// let x = mx::arange(0.0, 16.0, 1.0, mx::Dtype::F32)?.reshape([1, 4, 4, 1])?;
    /// let pool = MaxPool2d::new(2, None, 0)?;
    /// assert_eq!(pool.forward(&x)?.to_vec::<f32>()?, vec![5.0, 7.0, 13.0, 15.0]);
    /// assert_eq!(pool.to_string(), "MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))");
    /// # Ok::<(), mx::Error>(())
    /// ```
    MaxPool2d,
    Kind::Max,
    "`-inf` elements added on both sides of `(height, width)`."
);

pool2d!(
    /// 2-D average pooling over `(N, H, W, C)` (MLX `nn.AvgPool2d`): the mean of each window;
    /// the padding is zeros, counted in the mean (the divisor is always `KH * KW`).
    ///
    /// ```
    /// use rmlx_core::{self as mx, Array};
    /// use rmlx_nn::AvgPool2d;
    /// let x = mx::ones(&[1, 3, 3, 2], mx::Dtype::F32)?;
    /// let pool = AvgPool2d::new((2, 2), Some((1, 1).into()), 0)?;
    /// assert_eq!(pool.forward(&x)?.shape(), &[1, 2, 2, 2]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    AvgPool2d,
    Kind::Avg,
    "Zeros added on both sides of `(height, width)`."
);

pool3d!(
    /// 3-D max pooling over `(N, D, H, W, C)` (MLX `nn.MaxPool3d`); the padding is `-inf`.
    ///
    /// ```
    /// use rmlx_core::{self as mx, Array};
    /// use rmlx_nn::MaxPool3d;
    /// let x = mx::arange(0.0, 8.0, 1.0, mx::Dtype::F32)?.reshape([1, 2, 2, 2, 1])?;
    /// let pool = MaxPool3d::new(2, None, 0)?;
    /// assert_eq!(pool.forward(&x)?.to_vec::<f32>()?, vec![7.0]);
    /// assert_eq!(pool.to_string(), "MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2), padding=(0, 0, 0))");
    /// # Ok::<(), mx::Error>(())
    /// ```
    MaxPool3d,
    Kind::Max,
    "`-inf` elements added on both sides of each spatial axis."
);

pool3d!(
    /// 3-D average pooling over `(N, D, H, W, C)` (MLX `nn.AvgPool3d`); the padding is zeros,
    /// counted in the mean.
    ///
    /// ```
    /// use rmlx_core::{self as mx, Array};
    /// use rmlx_nn::AvgPool3d;
    /// let x = mx::arange(0.0, 8.0, 1.0, mx::Dtype::F32)?.reshape([1, 2, 2, 2, 1])?;
    /// assert_eq!(AvgPool3d::new(2, None, 0)?.forward(&x)?.to_vec::<f32>()?, vec![3.5]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    AvgPool3d,
    Kind::Avg,
    "Zeros added on both sides of each spatial axis (counted in the mean)."
);
