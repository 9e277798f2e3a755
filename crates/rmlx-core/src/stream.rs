//! Streams, as MLX's `mx.Stream` API on a build whose only device is the CPU.
//!
//! In MLX a stream is a queue of work on a device; ops take a `stream=` argument and
//! [`async_eval`] returns before the work is done. rmlx evaluates every graph on the calling
//! thread (the kernels split their work over rayon's pool), so a stream is a name for the CPU's
//! one queue: streams can be made, compared, printed, made the default for a scope and
//! cleared, and `async_eval` finishes its work before it returns — which an MLX program cannot
//! tell apart from the work finishing at once. [`depends`] adds MLX's graph dependencies.
//!
//! ```
//! use rmlx_core::{self as mx, stream, Device};
//! let s = stream::new_stream(Device::cpu())?;
//! {
//!     let _scope = stream::stream(s)?; // `with mx.stream(s):`
//!     assert_eq!(stream::default_stream(Device::cpu())?, s);
//! }
//! assert_ne!(stream::default_stream(Device::cpu())?, s);
//! let x = mx::array(2.0f32).multiply(&mx::array(3.0f32))?;
//! stream::async_eval(&[&x])?;
//! assert_eq!(x.item::<f32>()?, 6.0);
//! # Ok::<(), mx::Error>(())
//! ```

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::checked::Checked;
use crate::device::{is_available, Device};
use crate::primitives::Primitive;
use crate::{bail, Array, Result};

/// A queue of work on a device (MLX's `mx.Stream`): its index and device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stream {
    /// The stream's number (0 is the CPU's default stream).
    pub index: usize,
    /// The device it runs on.
    pub device: Device,
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Stream({}, {})", self.device, self.index)
    }
}

/// A stream that is the default of the thread that made it (MLX's `mx.ThreadLocalStream`).
/// rmlx's default stream is already per thread, so this is a [`Stream`] made by
/// [`new_thread_local_stream`].
pub type ThreadLocalStream = Stream;

static NEXT: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    static DEFAULT: Cell<Option<Stream>> = const { Cell::new(None) };
}

fn check(device: Device) -> Result<()> {
    if !is_available(&device) {
        bail!(
            Value,
            "[new_stream] {device} is not available: rmlx computes on the CPU only"
        );
    }
    Ok(())
}

/// A new stream on `device` (`mx.new_stream`); a GPU is an error.
pub fn new_stream(device: Device) -> Result<Stream> {
    check(device)?;
    Ok(Stream {
        index: NEXT.fetch_add(1, Ordering::Relaxed),
        device,
    })
}

/// A new stream for this thread (`mx.new_thread_local_stream`).
pub fn new_thread_local_stream(device: Device) -> Result<ThreadLocalStream> {
    new_stream(device)
}

/// A new stream that may be used from any thread (`mx.new_thread_unsafe_stream`; rmlx's
/// streams are plain values, so it is safe anyway).
pub fn new_thread_unsafe_stream(device: Device) -> Result<Stream> {
    new_stream(device)
}

/// This thread's default stream on `device` (`mx.default_stream`): the one set by
/// [`set_default_stream`] or a [`stream`] scope, else stream 0.
pub fn default_stream(device: Device) -> Result<Stream> {
    check(device)?;
    Ok(DEFAULT
        .with(Cell::get)
        .filter(|s| s.device == device)
        .unwrap_or(Stream { index: 0, device }))
}

/// Makes `s` this thread's default stream (`mx.set_default_stream`).
pub fn set_default_stream(s: Stream) -> Result<()> {
    check(s.device)?;
    DEFAULT.with(|d| d.set(Some(s)));
    Ok(())
}

/// Forgets the streams made so far (`mx.clear_streams`): the default goes back to stream 0.
pub fn clear_streams() {
    DEFAULT.with(|d| d.set(None));
}

/// The scope of a [`stream`] call (MLX's `mx.StreamContext`): `s` is the default stream until
/// it is dropped, then the previous default is restored.
#[must_use = "the stream is the default only while the returned scope is alive"]
#[derive(Debug)]
pub struct StreamContext {
    previous: Option<Stream>,
}

impl Drop for StreamContext {
    fn drop(&mut self) {
        DEFAULT.with(|d| d.set(self.previous));
    }
}

/// `with mx.stream(s):` — `s` is the default stream while the returned guard lives.
pub fn stream(s: Stream) -> Result<StreamContext> {
    check(s.device)?;
    let previous = DEFAULT.with(|d| d.replace(Some(s)));
    Ok(StreamContext { previous })
}

/// Evaluates `outputs` (`mx.async_eval`). rmlx finishes the work before returning; an MLX
/// program that waits with `eval` or `item` afterwards sees the same results.
pub fn async_eval(outputs: &[&Array]) -> Result<()> {
    crate::eval(outputs)
}

/// `inputs` unchanged, but depending on `dependencies` (`mx.depends`): evaluating an output
/// evaluates the dependencies first. Gradients flow to `inputs` only.
///
/// ```
/// use rmlx_core::{self as mx, stream::depends, Array};
/// let a = Array::from_slice(&[1.0f32, 2.0], &[2])?;
/// let side = a.multiply(&a)?;
/// let out = depends(&[a.clone()], &[side.clone()])?;
/// out[0].eval()?;
/// assert!(side.is_evaluated());
/// assert_eq!(out[0].to_vec::<f32>()?, vec![1.0, 2.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn depends(inputs: &[Array], dependencies: &[Array]) -> Result<Vec<Array>> {
    if inputs.is_empty() {
        bail!(Value, "[depends] needs at least one input");
    }
    let outs = inputs
        .iter()
        .map(|a| (a.shape().to_vec(), a.dtype()))
        .collect();
    let mut all = inputs.to_vec();
    all.extend(dependencies.iter().cloned());
    Ok(Array::from_primitive_multi(
        outs,
        Arc::new(Depends {
            n_inputs: inputs.len(),
        }),
        all,
    ))
}

/// MLX's `Depends`: the first `n_inputs` inputs pass through; the rest are only evaluated.
#[derive(Debug)]
pub struct Depends {
    /// How many leading inputs are passed through.
    pub n_inputs: usize,
}

impl Primitive for Depends {
    crate::define_name!("Depends");

    fn eval_cpu(
        &self,
        inputs: Vec<crate::buffer::Data>,
        _: &[usize],
        _: crate::Dtype,
    ) -> Result<crate::buffer::Data> {
        inputs
            .into_iter()
            .next()
            .ok_or_else(|| crate::err!(Value, "[Depends] no input"))
    }

    fn eval_cpu_multi(
        &self,
        inputs: Vec<crate::buffer::Data>,
        _: &[(Vec<usize>, crate::Dtype)],
    ) -> Result<Vec<crate::buffer::Data>> {
        Ok(inputs.into_iter().take(self.n_inputs).collect())
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        _: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        argnums
            .iter()
            .map(|&i| {
                if i == 0 {
                    Ok(cotangent.clone())
                } else {
                    crate::ops::zeros_like(primals.at(i)?)
                }
            })
            .collect()
    }

    fn vjp_multi(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _: &[Array],
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        argnums
            .iter()
            .map(|&i| match cotangents.get(i) {
                Some(c) if i < self.n_inputs => Ok(c.clone()),
                _ => crate::ops::zeros_like(primals.at(i)?),
            })
            .collect()
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Array> {
        let mut all = self.jvp_multi(primals, tangents, argnums)?;
        Ok(all.swap_remove(0))
    }

    fn jvp_multi(
        &self,
        primals: &[Array],
        tangents: &[Array],
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        (0..self.n_inputs)
            .map(|k| match argnums.iter().position(|&i| i == k) {
                Some(j) => Ok(tangents.at(j)?.clone()),
                None => crate::ops::zeros_like(primals.at(k)?),
            })
            .collect()
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<crate::primitives::Vmapped> {
        let outs = depends(inputs.span(..self.n_inputs)?, inputs.span(self.n_inputs..)?)?;
        Ok((outs, axes.span(..self.n_inputs)?.to_vec()))
    }
}
