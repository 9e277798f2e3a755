//! `Bilinear`.

use super::{py_bool, uniform_init};
use crate::{Module, ModuleState};
use rmlx_core::{Array, Error, Result};

/// `y[o] = Σᵢⱼ x1[i] W[o, j, i] x2[j] + b[o]` (MLX `nn.Bilinear`): `weight`
/// `[output_dims, input2_dims, input1_dims]`, optional `bias` `[output_dims]`.
///
/// ```
/// use rmlx_core::Array;
/// use rmlx_nn::Bilinear;
/// let l = Bilinear::new(2, 3, 4, true)?;
/// let x1 = Array::from_slice(&[1.0f32, 2.0], &[1, 2])?;
/// let x2 = Array::from_slice(&[1.0f32, 0.0, -1.0], &[1, 3])?;
/// assert_eq!(l.forward(&x1, &x2)?.shape(), &[1, 4]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
#[derive(Module, Clone)]
#[module(extra_repr = "repr_args")]
pub struct Bilinear {
    /// `[output_dims, input2_dims, input1_dims]`.
    pub weight: Array,
    /// `[output_dims]`, absent with `bias = false`.
    pub bias: Option<Array>,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl Bilinear {
    /// A `Bilinear(input1_dims, input2_dims, output_dims, bias)`: weight then bias drawn from
    /// `U(-1/√input1_dims, 1/√input1_dims)` (MLX's init, same draws).
    pub fn new(
        input1_dims: usize,
        input2_dims: usize,
        output_dims: usize,
        bias: bool,
    ) -> Result<Bilinear> {
        let scale = (1.0 / input1_dims.max(1) as f64).sqrt();
        Ok(Bilinear {
            weight: uniform_init(&[output_dims, input2_dims, input1_dims], scale)?,
            bias: if bias {
                Some(uniform_init(&[output_dims], scale)?)
            } else {
                None
            },
            state: ModuleState::default(),
        })
    }

    fn dims(&self) -> Result<(usize, usize, usize)> {
        match self.weight.shape() {
            [o, i2, i1] => Ok((*o, *i2, *i1)),
            s => Err(Error::Shape(format!(
                "[Bilinear] weight must be 3-D [output_dims, input2_dims, input1_dims], got {s:?}"
            ))),
        }
    }

    /// `x1 [..., input1_dims]`, `x2 [..., input2_dims]` (the same leading shape) →
    /// `[..., output_dims]`, computed as MLX does: one GEMM `x1 · W'ᵀ` with `W'` the weight
    /// viewed as `[out·in2, in1]`, then a batched product with `x2`, then the bias.
    pub fn forward(&self, x1: &Array, x2: &Array) -> Result<Array> {
        let (out, in2, in1) = self.dims()?;
        if x1.shape().last() != Some(&in1) || x2.shape().last() != Some(&in2) {
            return Err(Error::Shape(format!(
                "[Bilinear] the inputs must end in input1_dims={in1} and input2_dims={in2}, got shapes {:?} and {:?}",
                x1.shape(),
                x2.shape()
            )));
        }
        let lead = x1.shape().split_last().map_or(&[][..], |(_, l)| l);
        if Some(lead) != x2.shape().split_last().map(|(_, l)| l) {
            return Err(Error::Shape(format!(
                "[Bilinear] the inputs must have the same leading dimensions, got shapes {:?} and {:?}",
                x1.shape(),
                x2.shape()
            )));
        }
        let x1r = x1.reshape(&[-1isize, in1 as isize][..])?;
        let x2r = x2.reshape(&[-1isize, 1, in2 as isize][..])?;
        let w = self
            .weight
            .reshape(&[(out * in2) as isize, in1 as isize][..])?;
        let y = x1r.matmul(&w.t()?)?;
        let y = y
            .reshape(&[-1isize, out as isize, in2 as isize][..])?
            .swapaxes(-2, -1)?;
        let y = x2r.matmul(&y)?;
        let mut shape = lead.to_vec();
        shape.push(out);
        let y = y.reshape(&shape[..])?;
        match &self.bias {
            Some(b) => &y + b,
            None => Ok(y),
        }
    }

    fn repr_args(&self) -> String {
        let (o, i2, i1) = self.dims().unwrap_or((0, 0, 0));
        format!(
            "input1_dims={i1}, input2_dims={i2}, output_dims={o}, bias={}",
            py_bool(self.bias.is_some())
        )
    }
}
