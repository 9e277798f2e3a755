//! The recurrent layers `RNN`, `GRU` and `LSTM` (MLX's `nn/layers/recurrent.py`): same parameter
//! names, shapes, order and initial draws, same gate order and step formulas.
//!
//! Each layer takes `x` of shape `[L, D]` or `[N, L, D]` (sequence length `L`, features `D`,
//! optional batch `N`), runs one step per position along the sequence axis, and returns the hidden
//! state of every step, `[L, H]` or `[N, L, H]` (the LSTM also returns every cell state).
//!
//! ```
//! use rmlx_core::{random, Array};
//! use rmlx_nn::{ModuleExt, GRU};
//! random::seed(0);
//! let gru = GRU::new(3, 4, true)?;
//! let names: Vec<String> = gru.parameters().flatten().into_iter().map(|(k, _)| k).collect();
//! assert_eq!(names, ["Wx", "Wh", "b", "bhn"]);
//! let x = Array::from_vec(vec![0.5f32; 2 * 5 * 3], &[2, 5, 3])?;
//! assert_eq!(gru.forward(&x, None)?.shape(), &[2, 5, 4]);
//! # Ok::<(), rmlx_core::Error>(())
//! ```

// Indexing here is into shapes `check_input` proves `[L, D]` or `[N, L, D]`, and into the
// gate splits this file makes itself (`split(2)` / `split(3)` / `split(4)` give exactly that many).
#![allow(clippy::indexing_slicing)]

use super::{py_bool, uniform_init};
use crate::{Module, ModuleState};
use rmlx_core::{self as mx, Array, Dtype, Error, Result, SliceArg};
use std::fmt;
use std::sync::Arc;

/// A user-supplied elementwise function for [`Nonlinearity::Custom`].
pub type NonlinearityFn = dyn Fn(&Array) -> Result<Array> + Send + Sync;

/// The nonlinearity of an [`RNN`] (MLX takes any callable; `None` means `tanh`).
#[derive(Clone, Default)]
pub enum Nonlinearity {
    /// `tanh` (MLX's default).
    #[default]
    Tanh,
    /// `max(x, 0)`.
    Relu,
    /// Any function of one array, with the name shown in the layer's repr.
    Custom(String, Arc<NonlinearityFn>),
}

impl Nonlinearity {
    /// A [`Nonlinearity::Custom`] from a closure.
    pub fn custom<F>(name: &str, f: F) -> Nonlinearity
    where
        F: Fn(&Array) -> Result<Array> + Send + Sync + 'static,
    {
        Nonlinearity::Custom(name.to_string(), Arc::new(f))
    }

    /// Applies the function.
    pub fn apply(&self, x: &Array) -> Result<Array> {
        match self {
            Nonlinearity::Tanh => x.tanh(),
            Nonlinearity::Relu => crate::activations::relu(x),
            Nonlinearity::Custom(_, f) => f(x),
        }
    }

    /// The name shown in reprs (`tanh`, `relu`, or the custom name).
    pub fn name(&self) -> &str {
        match self {
            Nonlinearity::Tanh => "tanh",
            Nonlinearity::Relu => "relu",
            Nonlinearity::Custom(n, _) => n,
        }
    }
}

impl fmt::Debug for Nonlinearity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Checks `x` is `[L, D]` or `[N, L, D]` with `D = input_size`; returns `(batch shape, L)`.
fn check_input(op: &str, x: &Array, input_size: usize) -> Result<(Vec<usize>, usize)> {
    if x.ndim() != 2 && x.ndim() != 3 {
        return Err(Error::Shape(format!(
            "[{op}] input must be [L, D] or [N, L, D], got shape {:?}",
            x.shape()
        )));
    }
    let d = x.shape()[x.ndim() - 1];
    if d != input_size {
        return Err(Error::Shape(format!(
            "[{op}] last dimension of the input with shape {:?} must equal input_size {input_size}",
            x.shape()
        )));
    }
    let l = x.shape()[x.ndim() - 2];
    if l == 0 {
        return Err(Error::Shape(format!(
            "[{op}] the sequence length of the input with shape {:?} must be at least 1",
            x.shape()
        )));
    }
    Ok((x.shape()[..x.ndim() - 2].to_vec(), l))
}

/// Checks an initial state (`what` = "hidden" or "cell") broadcasts to `batch + [H]` without
/// growing it.
fn check_state(op: &str, what: &str, s: &Array, batch: &[usize], h: usize) -> Result<()> {
    let mut want = batch.to_vec();
    want.push(h);
    let ok = s.ndim() <= want.len()
        && s.shape().last() == Some(&h)
        && s.shape()
            .iter()
            .rev()
            .zip(want.iter().rev())
            .all(|(a, b)| a == b || *a == 1);
    if !ok {
        return Err(Error::Shape(format!(
            "[{op}] the initial {what} state with shape {:?} must be [H] or [N, H] broadcasting to {:?}",
            s.shape(),
            want
        )));
    }
    Ok(())
}

/// The input projection `x @ W (+ b)` (MLX: `addmm(b, x, W)`).
fn project(x: &Array, w: &Array, b: Option<&Array>) -> Result<Array> {
    match b {
        Some(b) => mx::addmm(b, x, w, 1.0, 1.0),
        None => x.matmul(w),
    }
}

/// `x[..., t, :]`.
fn step(x: &Array, t: usize) -> Result<Array> {
    let nd = x.ndim();
    let mut args = vec![SliceArg::all(); nd];
    args[nd - 2] = SliceArg::new(Some(t as isize), Some(t as isize + 1), 1);
    x.slice(&args)?.squeeze(-2)
}

/// The `[hidden_size]` float32 zeros MLX starts GRU/LSTM states from.
fn zeros_state(h: usize) -> Result<Array> {
    mx::zeros(&[h], Dtype::F32)
}

fn dim(a: &Array, i: usize) -> usize {
    a.shape().get(i).copied().unwrap_or(0)
}

/// MLX `nn.RNN`, an Elman layer: `h_{t+1} = σ(x_t Wxh + h_t Whh + bias)` with `σ` the
/// [`Nonlinearity`] (tanh by default). Parameters in order: `Wxh [D, H]`, `Whh [H, H]`,
/// `bias [H]` (absent with `bias = false`).
#[derive(Module, Clone)]
#[module(name = "RNN", extra_repr = "repr_args")]
pub struct Rnn {
    /// The nonlinearity (a plain attribute).
    #[module(skip)]
    pub nonlinearity: Nonlinearity,
    /// `H` (a plain attribute).
    #[module(skip)]
    pub hidden_size: usize,
    /// Input weights `[input_size, hidden_size]` (MLX name `Wxh`).
    #[module(rename = "Wxh")]
    pub wxh: Array,
    /// Recurrent weights `[hidden_size, hidden_size]` (MLX name `Whh`).
    #[module(rename = "Whh")]
    pub whh: Array,
    /// `[hidden_size]`, absent with `bias = false`.
    pub bias: Option<Array>,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl Rnn {
    /// `RNN(input_size, hidden_size, bias)` with tanh: `Wxh`, `Whh`, then `bias` drawn from
    /// `U(-1/√H, 1/√H)` (MLX's draws, in MLX's order).
    pub fn new(input_size: usize, hidden_size: usize, bias: bool) -> Result<Rnn> {
        Self::with_nonlinearity(input_size, hidden_size, bias, Nonlinearity::Tanh)
    }

    /// `RNN(input_size, hidden_size, bias, nonlinearity)`.
    pub fn with_nonlinearity(
        input_size: usize,
        hidden_size: usize,
        bias: bool,
        nonlinearity: Nonlinearity,
    ) -> Result<Rnn> {
        let scale = 1.0 / (hidden_size as f64).sqrt();
        Ok(Rnn {
            nonlinearity,
            hidden_size,
            wxh: uniform_init(&[input_size, hidden_size], scale)?,
            whh: uniform_init(&[hidden_size, hidden_size], scale)?,
            bias: if bias {
                Some(uniform_init(&[hidden_size], scale)?)
            } else {
                None
            },
            state: ModuleState::default(),
        })
    }

    /// All hidden states (`[L, H]` or `[N, L, H]`) of the sequence `x` (`[L, D]` or
    /// `[N, L, D]`), starting from `hidden` (`[H]` or `[N, H]`; `None` = zeros, where MLX skips
    /// the `h Whh` term of the first step).
    pub fn forward(&self, x: &Array, hidden: Option<&Array>) -> Result<Array> {
        let (batch, l) = check_input("RNN", x, dim(&self.wxh, 0))?;
        if let Some(h) = hidden {
            check_state("RNN", "hidden", h, &batch, self.hidden_size)?;
        }
        let xp = project(x, &self.wxh, self.bias.as_ref())?;
        let mut hidden = hidden.cloned();
        let mut all = Vec::with_capacity(l);
        for t in 0..l {
            let xt = step(&xp, t)?;
            let pre = match &hidden {
                Some(h) => (&xt + &h.matmul(&self.whh)?)?,
                None => xt,
            };
            let h = self.nonlinearity.apply(&pre)?;
            all.push(h.clone());
            hidden = Some(h);
        }
        mx::stack(&all, -2)
    }

    fn repr_args(&self) -> String {
        format!(
            "input_dims={}, hidden_size={}, nonlinearity={}, bias={}",
            dim(&self.wxh, 0),
            self.hidden_size,
            self.nonlinearity.name(),
            py_bool(self.bias.is_some())
        )
    }
}

/// MLX `nn.GRU`. With `x_t Wx + b` split as `[r | z | n]` (each `H` wide) and `h_t Wh` likewise:
///
/// ```text
/// r = σ(x_r + h_r)        z = σ(x_z + h_z)
/// n = tanh(x_n + r ⊙ (h_n + bhn))
/// h_{t+1} = (1 - z) ⊙ n + z ⊙ h_t
/// ```
///
/// Parameters in order: `Wx [D, 3H]`, `Wh [H, 3H]`, `b [3H]`, `bhn [H]` (the last two absent
/// with `bias = false`).
#[derive(Module, Clone)]
#[module(name = "GRU", extra_repr = "repr_args")]
pub struct Gru {
    /// `H` (a plain attribute).
    #[module(skip)]
    pub hidden_size: usize,
    /// Input weights `[input_size, 3 * hidden_size]` (MLX name `Wx`).
    #[module(rename = "Wx")]
    pub wx: Array,
    /// Recurrent weights `[hidden_size, 3 * hidden_size]` (MLX name `Wh`).
    #[module(rename = "Wh")]
    pub wh: Array,
    /// Input bias `[3 * hidden_size]` (for `r`, `z`, `n`).
    pub b: Option<Array>,
    /// The bias of the recurrent `n` term, `[hidden_size]`, inside `r ⊙ (…)`.
    pub bhn: Option<Array>,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl Gru {
    /// `GRU(input_size, hidden_size, bias)`: `Wx`, `Wh`, `b`, `bhn` drawn in that order from
    /// `U(-1/√H, 1/√H)`.
    pub fn new(input_size: usize, hidden_size: usize, bias: bool) -> Result<Gru> {
        let scale = 1.0 / (hidden_size as f64).sqrt();
        let h3 = 3 * hidden_size;
        let wx = uniform_init(&[input_size, h3], scale)?;
        let wh = uniform_init(&[hidden_size, h3], scale)?;
        let (b, bhn) = if bias {
            let b = uniform_init(&[h3], scale)?;
            (Some(b), Some(uniform_init(&[hidden_size], scale)?))
        } else {
            (None, None)
        };
        Ok(Gru {
            hidden_size,
            wx,
            wh,
            b,
            bhn,
            state: ModuleState::default(),
        })
    }

    /// All hidden states (`[L, H]` or `[N, L, H]`) of `x` (`[L, D]` or `[N, L, D]`), starting
    /// from `hidden` (`[H]` or `[N, H]`; `None` = float32 zeros as MLX, so a float16 input gives
    /// a float32 result, as in MLX).
    pub fn forward(&self, x: &Array, hidden: Option<&Array>) -> Result<Array> {
        let hs = self.hidden_size;
        let (batch, l) = check_input("GRU", x, dim(&self.wx, 0))?;
        if let Some(h) = hidden {
            check_state("GRU", "hidden", h, &batch, hs)?;
        }
        let xp = project(x, &self.wx, self.b.as_ref())?;
        let cut = [2 * hs as isize];
        let xs = xp.split(cut, -1)?;
        let (x_rz, x_n) = (&xs[0], &xs[1]);
        let mut hidden = match hidden {
            Some(h) => h.clone(),
            None => zeros_state(hs)?,
        };
        let mut all = Vec::with_capacity(l);
        for t in 0..l {
            let hp = hidden.matmul(&self.wh)?.split(cut, -1)?;
            let mut h_n = hp[1].clone();
            if let Some(bhn) = &self.bhn {
                h_n = (&h_n + bhn)?;
            }
            let rz = (&step(x_rz, t)? + &hp[0])?.sigmoid()?;
            let rz = rz.split(2usize, -1)?;
            let (r, z) = (&rz[0], &rz[1]);
            let n = (&step(x_n, t)? + &(r * &h_n)?)?.tanh()?;
            hidden = ((&(1.0 - z)? * &n)? + &(z * &hidden)?)?;
            all.push(hidden.clone());
        }
        mx::stack(&all, -2)
    }

    fn repr_args(&self) -> String {
        format!(
            "input_dims={}, hidden_size={}, bias={}",
            dim(&self.wx, 0),
            self.hidden_size,
            py_bool(self.b.is_some())
        )
    }
}

/// MLX `nn.LSTM`. With `x_t Wx + h_t Wh + bias` split as `[i | f | g | o]` (each `H` wide):
///
/// ```text
/// i = σ(·)  f = σ(·)  g = tanh(·)  o = σ(·)
/// c_{t+1} = f ⊙ c_t + i ⊙ g
/// h_{t+1} = o ⊙ tanh(c_{t+1})
/// ```
///
/// Parameters in order: `Wx [D, 4H]`, `Wh [H, 4H]`, `bias [4H]` (absent with `bias = false`).
#[derive(Module, Clone)]
#[module(name = "LSTM", extra_repr = "repr_args")]
pub struct Lstm {
    /// `H` (a plain attribute).
    #[module(skip)]
    pub hidden_size: usize,
    /// Input weights `[input_size, 4 * hidden_size]` (MLX name `Wx`).
    #[module(rename = "Wx")]
    pub wx: Array,
    /// Recurrent weights `[hidden_size, 4 * hidden_size]` (MLX name `Wh`).
    #[module(rename = "Wh")]
    pub wh: Array,
    /// `[4 * hidden_size]`, absent with `bias = false`.
    pub bias: Option<Array>,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl Lstm {
    /// `LSTM(input_size, hidden_size, bias)`: `Wx`, `Wh`, `bias` drawn in that order from
    /// `U(-1/√H, 1/√H)`.
    pub fn new(input_size: usize, hidden_size: usize, bias: bool) -> Result<Lstm> {
        let scale = 1.0 / (hidden_size as f64).sqrt();
        let h4 = 4 * hidden_size;
        Ok(Lstm {
            hidden_size,
            wx: uniform_init(&[input_size, h4], scale)?,
            wh: uniform_init(&[hidden_size, h4], scale)?,
            bias: if bias {
                Some(uniform_init(&[h4], scale)?)
            } else {
                None
            },
            state: ModuleState::default(),
        })
    }

    /// `(hidden states, cell states)` of every step, each `[L, H]` or `[N, L, H]`, for `x`
    /// (`[L, D]` or `[N, L, D]`), starting from `hidden` and `cell` (`[H]` or `[N, H]`;
    /// `None` = float32 zeros, as MLX).
    pub fn forward(
        &self,
        x: &Array,
        hidden: Option<&Array>,
        cell: Option<&Array>,
    ) -> Result<(Array, Array)> {
        let hs = self.hidden_size;
        let (batch, l) = check_input("LSTM", x, dim(&self.wx, 0))?;
        if let Some(h) = hidden {
            check_state("LSTM", "hidden", h, &batch, hs)?;
        }
        if let Some(c) = cell {
            check_state("LSTM", "cell", c, &batch, hs)?;
        }
        let xp = project(x, &self.wx, self.bias.as_ref())?;
        let mut hidden = match hidden {
            Some(h) => h.clone(),
            None => zeros_state(hs)?,
        };
        let mut cell = match cell {
            Some(c) => c.clone(),
            None => zeros_state(hs)?,
        };
        let (mut all_h, mut all_c) = (Vec::with_capacity(l), Vec::with_capacity(l));
        for t in 0..l {
            let ifgo = (&step(&xp, t)? + &hidden.matmul(&self.wh)?)?;
            let g4 = ifgo.split(4usize, -1)?;
            let i = g4[0].sigmoid()?;
            let f = g4[1].sigmoid()?;
            let g = g4[2].tanh()?;
            let o = g4[3].sigmoid()?;
            cell = ((&f * &cell)? + &(&i * &g)?)?;
            hidden = (&o * &cell.tanh()?)?;
            all_c.push(cell.clone());
            all_h.push(hidden.clone());
        }
        Ok((mx::stack(&all_h, -2)?, mx::stack(&all_c, -2)?))
    }

    fn repr_args(&self) -> String {
        format!(
            "input_dims={}, hidden_size={}, bias={}",
            dim(&self.wx, 0),
            self.hidden_size,
            py_bool(self.bias.is_some())
        )
    }
}

/// `RNN(x)` with no initial state (so an RNN can sit in a [`Sequential`](super::Sequential), as
/// in MLX).
impl super::Forward for Rnn {
    fn forward(&self, x: &Array) -> Result<Array> {
        Rnn::forward(self, x, None)
    }
}

/// `GRU(x)` with no initial state (so a GRU can sit in a [`Sequential`](super::Sequential), as
/// in MLX).
impl super::Forward for Gru {
    fn forward(&self, x: &Array) -> Result<Array> {
        Gru::forward(self, x, None)
    }
}
