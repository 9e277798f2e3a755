//! Shape primitives. Views return the input buffer with new strides; nothing is copied.

use super::{batching, Primitive, Vmapped};
use crate::backend::cpu::copy::contiguous;
use crate::buffer::Data;
use crate::checked::Checked;
use crate::layout::Layout;
use crate::{bail, Array, Dtype, Result};

/// Broadcast to `shape`: new leading axes and size-1 axes get stride 0.
#[derive(Debug)]
pub struct Broadcast {
    /// Target shape.
    pub shape: Vec<usize>,
}

impl Primitive for Broadcast {
    define_name!("Broadcast");

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], _: Dtype) -> Result<Data> {
        let [x] = super::take_inputs(self.name(), inputs)?;
        let Some(layout) = x.layout().broadcast_to(shape) else {
            bail!(
                Shape,
                "Broadcast: cannot broadcast {:?} to {shape:?}",
                x.shape()
            );
        };
        x.with_layout(layout)
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _: &Array,
        _: &[usize],
    ) -> Result<Vec<Array>> {
        Ok(vec![sum_to_shape(cotangent, primals.at(0)?.shape())?])
    }

    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        tangents.at(0)?.broadcast_to(&self.shape)
    }

    /// The mapped axis goes first; the input gets the target's leading axes as size 1 after it.
    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        let x = batching::move_axis(&x, ax, 0)?;
        let n = *x.shape().at(0)?;
        let pad = self.shape.len() + 1 - x.ndim();
        let mut padded = vec![n];
        padded.extend(std::iter::repeat_n(1, pad));
        padded.extend_from_slice(x.shape().span(1..)?);
        let mut target = vec![n];
        target.extend_from_slice(&self.shape);
        Ok((
            vec![x.reshape(&padded)?.broadcast_to(&target)?],
            vec![Some(0)],
        ))
    }
}

/// Sums `x` over the axes along which `shape` was broadcast to `x.shape()` (the reverse of
/// broadcasting), giving an array of exactly `shape`.
pub fn sum_to_shape(x: &Array, shape: &[usize]) -> Result<Array> {
    if x.shape() == shape {
        return Ok(x.clone());
    }
    let pad = x.ndim() - shape.len();
    let mut axes: Vec<isize> = (0..pad as isize).collect();
    for (i, &d) in shape.iter().enumerate() {
        if d == 1 && *x.shape().at(pad + i)? != 1 {
            axes.push((pad + i) as isize);
        }
    }
    x.sum(axes, true)?.reshape(shape)
}

/// Row-major reshape: a view when the input is contiguous, else a copy.
#[derive(Debug)]
pub struct Reshape {
    /// Target shape.
    pub shape: Vec<usize>,
}

impl Primitive for Reshape {
    define_name!("Reshape");

    /// The target shape, when the input has as many elements (a reshape's target is fixed:
    /// shapeless compilation of a reshape to a size that changed with the inputs is an error).
    fn output_shapes(&self, inputs: &[Array]) -> Result<Vec<Vec<usize>>> {
        let Some(x) = inputs.first() else {
            bail!(Value, "Reshape: expected one input");
        };
        if x.size() != self.shape.iter().product::<usize>() {
            bail!(
                Shape,
                "Reshape: the traced target shape {:?} does not fit an input of shape {:?}",
                self.shape,
                x.shape()
            );
        }
        Ok(vec![self.shape.clone()])
    }

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], _: Dtype) -> Result<Data> {
        let [x] = super::take_inputs(self.name(), inputs)?;
        if let Some(view) = x.layout().reshape(shape) {
            return x.with_layout(view);
        }
        let x = contiguous(x);
        x.with_layout(Layout::contiguous(shape))
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _: &Array,
        _: &[usize],
    ) -> Result<Vec<Array>> {
        Ok(vec![cotangent.reshape(primals.at(0)?.shape())?])
    }

    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        tangents.at(0)?.reshape(&self.shape)
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        let x = batching::move_axis(&x, ax, 0)?;
        let mut shape = vec![*x.shape().at(0)?];
        shape.extend_from_slice(&self.shape);
        Ok((vec![x.reshape(&shape)?], vec![Some(0)]))
    }
}

pub use crate::layout::reshape_strides;

/// Permutes axes: output axis `i` is input axis `perm[i]`. A view.
#[derive(Debug)]
pub struct Transpose {
    /// The permutation.
    pub perm: Vec<usize>,
}

impl Primitive for Transpose {
    define_name!("Transpose");

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], _: Dtype) -> Result<Data> {
        let [x] = super::take_inputs(self.name(), inputs)?;
        match x.layout().transpose(&self.perm) {
            Some(layout) if layout.shape() == shape => x.with_layout(layout),
            _ => bail!(
                Axis,
                "Transpose: {:?} is not a permutation of the axes of {:?}",
                self.perm,
                x.shape()
            ),
        }
    }

    fn vjp(&self, _: &[Array], cotangent: &Array, _: &Array, _: &[usize]) -> Result<Vec<Array>> {
        let mut inv = vec![0usize; self.perm.len()];
        for (i, &p) in self.perm.iter().enumerate() {
            *inv.at_mut(p)? = i;
        }
        Ok(vec![cotangent.transpose_axes(&inv)?])
    }

    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        tangents.at(0)?.transpose_axes(&self.perm)
    }

    /// The mapped axis stays where it is in the output; the permuted axes move around it.
    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        let mut perm: Vec<usize> = self
            .perm
            .iter()
            .map(|&p| batching::shift_axis(p, ax))
            .collect();
        perm.insert(ax, ax);
        Ok((vec![x.transpose_axes(&perm)?], vec![Some(ax)]))
    }
}

/// A row-contiguous copy of the input, or the input itself when it already is row-contiguous
/// (or, with `allow_col_major`, column-contiguous): MLX's `Contiguous`.
#[derive(Debug)]
pub struct Contiguous {
    /// Column-major input counts as contiguous.
    pub allow_col_major: bool,
}

impl Primitive for Contiguous {
    define_name!("Contiguous");

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        let [x] = super::take_inputs(self.name(), inputs)?;
        let col_major = || {
            let l = x.layout();
            let rev = Layout::new(
                l.shape().iter().rev().copied().collect(),
                l.strides().iter().rev().copied().collect(),
                l.offset(),
            );
            rev.is_contiguous()
        };
        if x.is_contiguous() || (self.allow_col_major && col_major()) {
            Ok(x)
        } else {
            Ok(contiguous(x))
        }
    }

    fn vjp(&self, _: &[Array], cotangent: &Array, _: &Array, _: &[usize]) -> Result<Vec<Array>> {
        Ok(vec![cotangent.clone()])
    }

    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        crate::ops::contiguous(tangents.at(0)?, self.allow_col_major)
    }

    fn output_shapes(&self, inputs: &[Array]) -> Result<Vec<Vec<usize>>> {
        super::elementwise_output_shapes(self.name(), inputs)
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        Ok((
            vec![crate::ops::contiguous(&x, self.allow_col_major)?],
            vec![Some(ax)],
        ))
    }
}

/// A view of the (flattened, row-major) input with the given shape, strides and offset, in
/// elements: MLX's `AsStrided`. The view is checked against the buffer when it is evaluated, so
/// strides that reach outside it are an error, not a read out of bounds.
#[derive(Debug)]
pub struct AsStrided {
    /// Shape of the view.
    pub shape: Vec<usize>,
    /// Strides of the view, in elements.
    pub strides: Vec<isize>,
    /// Offset of the view's first element, in elements.
    pub offset: usize,
}

impl Primitive for AsStrided {
    define_name!("AsStrided");

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        let [x] = super::take_inputs(self.name(), inputs)?;
        let x = contiguous(x);
        let base = x.offset();
        let n = x.size();
        // the view may reach only the input's own elements, not the rest of a shared buffer
        let view = Layout::new(self.shape.clone(), self.strides.clone(), self.offset);
        let inside = view.span().is_some_and(|(_, hi)| hi < n);
        if !self.shape.contains(&0) && !inside {
            bail!(
                Shape,
                "as_strided: shape {:?} with strides {:?} and offset {} reaches outside an array of {n} elements",
                self.shape,
                self.strides,
                self.offset
            );
        }
        x.with_layout(Layout::new(
            self.shape.clone(),
            self.strides.clone(),
            base + self.offset,
        ))
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _: &Array,
        _: &[usize],
    ) -> Result<Vec<Array>> {
        // each output element adds its cotangent to the input element it views (MLX's rule)
        let x = primals.at(0)?;
        let n = x.size();
        let idx = crate::ops::arange(0.0, n as f64, 1.0, Dtype::I32)?;
        let idx = crate::ops::as_strided(&idx, &self.shape, &self.strides, self.offset)?
            .reshape([cotangent.size()])?;
        let zero = crate::ops::zeros(&[n], cotangent.dtype())?;
        let g =
            crate::ops::scatter_add_axis(&zero, &idx, &cotangent.reshape([cotangent.size()])?, 0)?;
        Ok(vec![g.reshape(x.shape())?])
    }

    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        crate::ops::as_strided(tangents.at(0)?, &self.shape, &self.strides, self.offset)
    }
}
