//! The distributed ops, as primitives: MLX's `AllReduce`, `AllGather`, `Send` and `Recv`.

use crate::backend::{describe, Comm, ReduceOp};
use crate::group::{resolve, Group};
use rmlx_core::buffer::Data;
use rmlx_core::primitives::{batching, Primitive, Vmapped};
use rmlx_core::{Array, Dtype, Error, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static OPS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

/// What this process has contributed to collectives and sends since it started (payload only,
/// not MPI's own traffic): see [`traffic`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Collectives and sends evaluated.
    pub ops: u64,
    /// Bytes of the arrays they carried from this process.
    pub bytes: u64,
}

/// The [`Traffic`] so far; subtract two readings to measure a step.
pub fn traffic() -> Traffic {
    Traffic {
        ops: OPS.load(Ordering::Relaxed),
        bytes: BYTES.load(Ordering::Relaxed),
    }
}

fn count(x: &Data) {
    OPS.fetch_add(1, Ordering::Relaxed);
    BYTES.fetch_add((x.size() * x.dtype().size()) as u64, Ordering::Relaxed);
}

fn comm<'a>(group: &'a Group, op: &str) -> Result<&'a Comm> {
    group
        .comm
        .as_deref()
        .ok_or_else(|| Error::Value(format!("[{op}] internal: a size-1 group has no transport")))
}

fn one(inputs: Vec<Data>, op: &str) -> Result<Data> {
    inputs
        .into_iter()
        .next()
        .ok_or_else(|| Error::Value(format!("[{op}] expected one input")))
}

/// Sum, max or min over the group, elementwise (MLX `AllReduce`).
#[derive(Debug, Clone)]
struct AllReduce {
    op: ReduceOp,
    group: Group,
}

impl Primitive for AllReduce {
    fn name(&self) -> &'static str {
        match self.op {
            ReduceOp::Sum => "AllSum",
            ReduceOp::Max => "AllMax",
            ReduceOp::Min => "AllMin",
        }
    }

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        let x = one(inputs, self.name())?;
        let c = comm(&self.group, self.name())?;
        c.check_same(self.name(), &describe(x.dtype(), x.shape()))?;
        count(&x);
        c.all_reduce(x, self.op)
    }

    /// MLX: the cotangent passes through unchanged.
    fn vjp(&self, _: &[Array], cotangent: &Array, _: &Array, _: &[usize]) -> Result<Vec<Array>> {
        Ok(vec![cotangent.clone()])
    }

    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        Ok(all_reduce(
            first("AllReduce", tangents)?,
            self.op,
            &self.group,
        ))
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        Ok((vec![all_reduce(&x, self.op, &self.group)], vec![Some(ax)]))
    }

    fn output_shapes(&self, inputs: &[Array]) -> Result<Vec<Vec<usize>>> {
        Ok(vec![first(self.name(), inputs)?.shape().to_vec()])
    }

    fn is_equivalent(&self, _: &dyn Primitive) -> bool {
        false // each collective is its own communication step
    }
}

fn all_reduce(x: &Array, op: ReduceOp, group: &Group) -> Array {
    Array::from_primitive(
        x.shape().to_vec(),
        x.dtype(),
        Arc::new(AllReduce {
            op,
            group: group.clone(),
        }),
        vec![x.clone()],
    )
}

fn reduce_op(x: &Array, group: Option<&Group>, op: ReduceOp, name: &str) -> Result<Array> {
    let group = resolve(group)?;
    if x.dtype() == Dtype::Bool {
        return Err(Error::Dtype(format!(
            "[{name}] unsupported dtype {} (numbers only)",
            x.dtype()
        )));
    }
    if group.size() == 1 {
        return Ok(x.clone());
    }
    Ok(all_reduce(x, op, &group))
}

/// The elementwise sum of `x` over every process of `group` (the world group when `None`); every
/// process must call it with the same shape and dtype, or all of them get an error. MLX's
/// `mx.distributed.all_sum`.
pub fn all_sum(x: &Array, group: Option<&Group>) -> Result<Array> {
    reduce_op(x, group, ReduceOp::Sum, "all_sum")
}

/// The elementwise maximum over the group (MLX's `all_max`).
pub fn all_max(x: &Array, group: Option<&Group>) -> Result<Array> {
    reduce_op(x, group, ReduceOp::Max, "all_max")
}

/// The elementwise minimum over the group (MLX's `all_min`).
pub fn all_min(x: &Array, group: Option<&Group>) -> Result<Array> {
    reduce_op(x, group, ReduceOp::Min, "all_min")
}

/// Every process's `x`, concatenated along axis 0 in rank order (MLX `AllGather`).
#[derive(Debug, Clone)]
struct AllGather {
    group: Group,
}

impl Primitive for AllGather {
    rmlx_core::define_name!("AllGather");

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], _: Dtype) -> Result<Data> {
        let x = one(inputs, self.name())?;
        let c = comm(&self.group, self.name())?;
        c.check_same("all_gather", &describe(x.dtype(), x.shape()))?;
        count(&x);
        c.all_gather(x, shape)
    }

    /// MLX: this process's rows of the cotangent.
    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _: &Array,
        _: &[usize],
    ) -> Result<Vec<Array>> {
        let x = first("AllGather", primals)?;
        let rows = x.shape().first().copied().unwrap_or(1);
        let start = self.group.rank() * rows;
        let idx = rmlx_core::arange(start as f64, (start + rows) as f64, 1.0, Dtype::I32)?;
        let part = cotangent.take(&idx, Some(0))?;
        Ok(vec![if x.ndim() == 0 {
            part.reshape(&[][..] as &[usize])?
        } else {
            part
        }])
    }

    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Array> {
        Ok(gather(first("AllGather", tangents)?, &self.group))
    }

    /// MLX's rule: the gather of the batched input, the batch axis where it was.
    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        Ok((vec![gather(&x, &self.group)], vec![Some(ax)]))
    }

    fn output_shapes(&self, inputs: &[Array]) -> Result<Vec<Vec<usize>>> {
        Ok(vec![gathered_shape(
            first("AllGather", inputs)?.shape(),
            self.group.size(),
        )])
    }

    fn is_equivalent(&self, _: &dyn Primitive) -> bool {
        false
    }
}

fn gathered_shape(shape: &[usize], size: usize) -> Vec<usize> {
    let mut s = shape.to_vec();
    match s.first_mut() {
        Some(d) => *d *= size,
        None => s.push(size),
    }
    s
}

/// The first of a primitive's inputs, or an error naming the primitive (a rule called directly
/// with none).
fn first<'a>(op: &str, xs: &'a [Array]) -> Result<&'a Array> {
    xs.first()
        .ok_or_else(|| rmlx_core::Error::Value(format!("{op}: expected an input")))
}

fn gather(x: &Array, group: &Group) -> Array {
    Array::from_primitive(
        gathered_shape(x.shape(), group.size()),
        x.dtype(),
        Arc::new(AllGather {
            group: group.clone(),
        }),
        vec![x.clone()],
    )
}

/// Every process's `x` concatenated along axis 0 in rank order (a scalar becomes one row per
/// process): MLX's `mx.distributed.all_gather`.
pub fn all_gather(x: &Array, group: Option<&Group>) -> Result<Array> {
    let group = resolve(group)?;
    if group.size() == 1 {
        return Ok(x.clone());
    }
    Ok(gather(x, &group))
}

/// The sum of `x` over the group, split along axis 0 into one equal part per process, this
/// process keeping part `rank` (MLX's `mx.distributed.sum_scatter`): `all_sum(x)[rank * c ..
/// (rank + 1) * c]` with `c = x.shape[0] / size`. `x.shape[0]` must be divisible by the group's
/// size. MLX runs one reduce-scatter (NCCL only); rmlx sums with `all_sum` and keeps its part,
/// which moves more bytes but works on every backend.
///
/// ```
/// use rmlx_core::Array;
/// let x = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[4])?;
/// // one process: its whole sum
/// assert_eq!(rmlx_distributed::sum_scatter(&x, None)?.to_vec::<f32>()?, vec![1.0, 2.0, 3.0, 4.0]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn sum_scatter(x: &Array, group: Option<&Group>) -> Result<Array> {
    let group = resolve(group)?;
    let (n, r) = (group.size(), group.rank());
    let rows = x.shape().first().copied().unwrap_or(0);
    if x.ndim() == 0 || !rows.is_multiple_of(n) {
        return Err(rmlx_core::Error::Shape(format!(
            "[sum_scatter] the first axis ({:?}) must be divisible by the group size {n}",
            x.shape()
        )));
    }
    if n == 1 {
        return Ok(x.clone());
    }
    let c = rows / n;
    let sum = all_sum(x, Some(&group))?;
    let mut args = vec![rmlx_core::SliceArg::new(
        Some((r * c) as isize),
        Some(((r + 1) * c) as isize),
        1,
    )];
    args.extend((1..x.ndim()).map(|_| rmlx_core::SliceArg::new(None, None, 1)));
    sum.slice(&args)
}

/// Sends the input to `dst` when evaluated; the output is the input (MLX `Send`).
#[derive(Debug, Clone)]
struct Send {
    dst: usize,
    group: Group,
}

impl Primitive for Send {
    rmlx_core::define_name!("Send");

    fn eval_cpu(&self, inputs: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        let x = one(inputs, self.name())?;
        count(&x);
        comm(&self.group, self.name())?.send(x.clone(), self.dst)?;
        Ok(x)
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        Ok((vec![send_node(&x, self.dst, &self.group)], vec![Some(ax)]))
    }

    fn output_shapes(&self, inputs: &[Array]) -> Result<Vec<Vec<usize>>> {
        Ok(vec![first(self.name(), inputs)?.shape().to_vec()])
    }

    fn is_equivalent(&self, _: &dyn Primitive) -> bool {
        false
    }
}

fn send_node(x: &Array, dst: usize, group: &Group) -> Array {
    Array::from_primitive(
        x.shape().to_vec(),
        x.dtype(),
        Arc::new(Send {
            dst,
            group: group.clone(),
        }),
        vec![x.clone()],
    )
}

fn check_peer(op: &str, peer: usize, group: &Group) -> Result<()> {
    if group.size() == 1 {
        return Err(Error::Value(format!(
            "[{op}] Cannot {op} in a group of one process"
        )));
    }
    if peer >= group.size() || peer == group.rank() {
        return Err(Error::Value(format!(
            "[{op}] Invalid peer {peer} for a group of size {} (this process is rank {})",
            group.size(),
            group.rank()
        )));
    }
    Ok(())
}

/// Sends `x` to process `dst` of the group when the returned array (equal to `x`) is evaluated
/// (MLX's `mx.distributed.send`). The receiver calls [`recv`] or [`recv_like`] with the same
/// shape and dtype, or gets an error.
pub fn send(x: &Array, dst: usize, group: Option<&Group>) -> Result<Array> {
    let group = resolve(group)?;
    check_peer("send", dst, &group)?;
    Ok(send_node(x, dst, &group))
}

/// Receives an array of `shape` and `dtype` from process `src` when evaluated (MLX `Recv`).
#[derive(Debug, Clone)]
struct Recv {
    src: usize,
    group: Group,
}

impl Primitive for Recv {
    rmlx_core::define_name!("Recv");

    fn eval_cpu(&self, _: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        comm(&self.group, self.name())?.recv(self.src, dtype, shape)
    }

    fn is_equivalent(&self, _: &dyn Primitive) -> bool {
        false
    }
}

/// An array of `shape` and `dtype` received from process `src` (MLX's `mx.distributed.recv`).
pub fn recv(shape: &[usize], dtype: Dtype, src: usize, group: Option<&Group>) -> Result<Array> {
    let group = resolve(group)?;
    check_peer("recv", src, &group)?;
    Ok(Array::from_primitive(
        shape.to_vec(),
        dtype,
        Arc::new(Recv { src, group }),
        vec![],
    ))
}

/// [`recv`] with `x`'s shape and dtype (MLX's `recv_like`).
pub fn recv_like(x: &Array, src: usize, group: Option<&Group>) -> Result<Array> {
    recv(x.shape(), x.dtype(), src, group)
}
