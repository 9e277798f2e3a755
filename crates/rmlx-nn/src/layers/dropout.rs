//! `Dropout`, `Dropout2d`, `Dropout3d`.

use super::Forward;
use crate::{Module, ModuleState};
use rmlx_core::{Array, Error, Result};

/// MLX `nn.Dropout(p)`: zeroes elements with probability `p` in training; identity otherwise.
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct Dropout {
    /// The drop probability, in `[0, 1)`.
    #[module(skip)]
    pub p: f32,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl Dropout {
    /// `Dropout(p)`; `p` must lie in `[0, 1)`.
    pub fn new(p: f32) -> Result<Dropout> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::Value(format!(
                "The dropout probability {p:?} is not in [0, 1)"
            )));
        }
        Ok(Dropout {
            p,
            state: ModuleState::default(),
        })
    }

    /// Identity in eval mode or with `p = 0`; in training mode keeps each element with
    /// probability `1 - p` (a `bernoulli` draw from the global key sequence, as MLX) and scales
    /// the kept ones by `1 / (1 - p)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let keep = 1.0 - self.p as f64;
        if keep == 1.0 || !self.state.training {
            return Ok(x.clone());
        }
        let mask = rmlx_core::random::bernoulli(keep, Some(x.shape()), None)?;
        (&mask * x)? * (1.0 / keep)
    }

    fn repr_args(&self) -> String {
        repr_p(self.p)
    }
}

impl Forward for Dropout {
    fn forward(&self, x: &Array) -> Result<Array> {
        Dropout::forward(self, x)
    }
}

/// MLX's repr `p={1 - (1 - p)}`, computed in f64 from `p`'s decimal value as Python does
/// (`Dropout(0.1)` prints `p=0.09999999999999998`).
fn repr_p(p: f32) -> String {
    let p64: f64 = p.to_string().parse().unwrap_or(p as f64);
    let v = 1.0 - (1.0 - p64);
    if v.fract() == 0.0 {
        format!("p={v:.1}")
    } else {
        format!("p={v}")
    }
}

fn check_p(p: f32) -> Result<()> {
    if !(0.0..1.0).contains(&p) {
        return Err(Error::Value(format!(
            "The dropout probability {p:?} is not in [0, 1)"
        )));
    }
    Ok(())
}

/// Channel dropout over the last axis: the mask has `x`'s shape with the `spatial` axes before
/// the channels set to 1, so a whole channel of one sample is kept or dropped.
fn channel_dropout(
    p: f32,
    training: bool,
    x: &Array,
    ranks: [usize; 2],
    spatial: usize,
) -> Result<Array> {
    if !ranks.contains(&x.ndim()) {
        return Err(Error::Value(format!(
            "Received input with {} dimensions. Expected {} or {} dimensions.",
            x.ndim(),
            ranks[0],
            ranks[1]
        )));
    }
    let keep = 1.0 - p as f64;
    if keep == 1.0 || !training {
        return Ok(x.clone());
    }
    let mut mask_shape = x.shape().to_vec();
    let nd = mask_shape.len();
    let range = nd
        .checked_sub(1 + spatial)
        .map_or(0..0, |start| start..nd - 1);
    for d in mask_shape.get_mut(range).unwrap_or_default() {
        *d = 1;
    }
    let mask = rmlx_core::random::bernoulli(keep, Some(&mask_shape), None)?;
    (&mask * x)? * (1.0 / keep)
}

/// MLX `nn.Dropout2d(p)`: in training, zeroes whole channels of `[N, H, W, C]` or `[H, W, C]`
/// inputs (channels last; mask shape `[N, 1, 1, C]` / `[1, 1, C]`) with probability `p` and
/// scales the kept ones by `1 / (1 - p)`; identity in eval mode.
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct Dropout2d {
    /// The drop probability, in `[0, 1)`.
    #[module(skip)]
    pub p: f32,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl Dropout2d {
    /// `Dropout2d(p)`; `p` must lie in `[0, 1)`.
    pub fn new(p: f32) -> Result<Dropout2d> {
        check_p(p)?;
        Ok(Dropout2d {
            p,
            state: ModuleState::default(),
        })
    }

    /// Drops channels in training mode (a `bernoulli` draw from the global key sequence);
    /// the input must be 3-D or 4-D.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        channel_dropout(self.p, self.state.training, x, [3, 4], 2)
    }

    fn repr_args(&self) -> String {
        repr_p(self.p)
    }
}

/// MLX `nn.Dropout3d(p)`: in training, zeroes whole channels of `[N, D, H, W, C]` or
/// `[D, H, W, C]` inputs (mask shape `[N, 1, 1, 1, C]` / `[1, 1, 1, C]`) with probability `p`
/// and scales the kept ones by `1 / (1 - p)`; identity in eval mode.
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct Dropout3d {
    /// The drop probability, in `[0, 1)`.
    #[module(skip)]
    pub p: f32,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl Dropout3d {
    /// `Dropout3d(p)`; `p` must lie in `[0, 1)`.
    pub fn new(p: f32) -> Result<Dropout3d> {
        check_p(p)?;
        Ok(Dropout3d {
            p,
            state: ModuleState::default(),
        })
    }

    /// Drops channels in training mode; the input must be 4-D or 5-D.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        channel_dropout(self.p, self.state.training, x, [4, 5], 3)
    }

    fn repr_args(&self) -> String {
        repr_p(self.p)
    }
}

impl Forward for Dropout2d {
    fn forward(&self, x: &Array) -> Result<Array> {
        Dropout2d::forward(self, x)
    }
}

impl Forward for Dropout3d {
    fn forward(&self, x: &Array) -> Result<Array> {
        Dropout3d::forward(self, x)
    }
}
