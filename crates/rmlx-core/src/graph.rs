//! Graph nodes and evaluation: one iterative topological pass over everything the outputs need,
//! detaching each computed node from its inputs so intermediates are freed as soon as their last
//! consumer has run.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock, Weak};

use crate::array::{Array, Inner};
use crate::buffer::Data;
use crate::checked::Checked;
pub use crate::context::in_tracing;
use crate::context::{Restore, ThreadState};
use crate::primitives::Primitive;
use crate::{Error, Result};

/// A primitive applied to inputs: how a lazy array will be computed.
#[derive(Clone)]
pub struct Node {
    /// What to compute.
    pub primitive: Arc<dyn Primitive>,
    /// From what.
    pub inputs: Vec<Array>,
    /// For a primitive with several outputs (MLX's siblings): all of its outputs, and which one
    /// this array is. `None` for the usual single output.
    pub siblings: Option<(Arc<Siblings>, usize)>,
}

impl Node {
    /// The node of a single-output primitive.
    pub fn new(primitive: Arc<dyn Primitive>, inputs: Vec<Array>) -> Node {
        Node {
            primitive,
            inputs,
            siblings: None,
        }
    }
}

/// The outputs of one multi-output node. Each output holds the node (and so this list); the list
/// refers back to them weakly, so a dropped output is freed and no cycle keeps a graph alive.
pub struct Siblings {
    /// Shape and dtype of every output, in the primitive's order.
    pub outputs: Vec<(Vec<usize>, crate::Dtype)>,
    pub(crate) arrays: OnceLock<Vec<Weak<Inner>>>,
}

impl Siblings {
    pub(crate) fn new(outputs: Vec<(Vec<usize>, crate::Dtype)>) -> Siblings {
        Siblings {
            outputs,
            arrays: OnceLock::new(),
        }
    }

    /// Output `k` if it is still alive.
    pub fn get(&self, k: usize) -> Option<Array> {
        self.arrays.get()?.get(k)?.upgrade().map(Array)
    }

    /// The identity ([`Array::id`]) output `k` has (or had).
    pub fn id(&self, k: usize) -> Option<usize> {
        self.arrays.get()?.get(k).map(|w| w.as_ptr() as usize)
    }

    /// A key identifying the node these outputs share.
    pub fn key(self: &Arc<Self>) -> usize {
        Arc::as_ptr(self) as usize
    }
}

/// Arrays needed by `outputs` that are not evaluated yet, inputs before consumers. Iterative.
pub fn topological_order(outputs: &[&Array]) -> Vec<Array> {
    let mut order = Vec::new();
    let mut seen: HashSet<usize> = HashSet::new();
    // (array, inputs still to visit)
    let mut stack: Vec<(Array, Vec<Array>)> = Vec::new();
    for out in outputs {
        if out.is_evaluated() || !seen.insert(out.id()) {
            continue;
        }
        stack.push(((*out).clone(), out.inputs()));
        while let Some((_, pending)) = stack.last_mut() {
            if let Some(child) = pending.pop() {
                if !child.is_evaluated() && seen.insert(child.id()) {
                    let grandchildren = child.inputs();
                    stack.push((child, grandchildren));
                }
            } else {
                if let Some((done, _)) = stack.pop() {
                    order.push(done);
                }
            }
        }
    }
    order
}

/// Evaluates every array in `outputs` (and what they depend on) in one pass.
///
/// ```
/// use rmlx_core::{Array, eval};
/// let a = Array::from_slice(&[1.0f32, 2.0], &[2])?;
/// let b = (&a + &a)?;
/// let c = (&a * &a)?;
/// eval(&[&b, &c])?;
/// assert!(b.is_evaluated() && c.is_evaluated());
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn eval(outputs: &[&Array]) -> Result<()> {
    let order = topological_order(outputs);
    let keep_graph = in_tracing();
    let work: usize = order.iter().map(Array::size).sum();
    if work < POOL_MIN_ELEMENTS
        || rayon::current_thread_index().is_some()
        || rayon::current_num_threads() < 2
    {
        return eval_in_order(order, keep_graph);
    }
    // The pass runs on one of rayon's workers, so the parallel kernels inside it split their work
    // from a worker (a local push the other workers steal) instead of injecting every op into the
    // pool from outside and blocking this thread until a worker has woken up for it. Measured on
    // 2 threads: a 32k-element multiply 9.9 -> 4.7 us, W2's training step 90–122 -> 75–92 ms.
    // The caller's thread-local state (random key, tracing depth) travels with the pass, so a
    // custom function run at evaluation sees and advances the caller's key.
    let caller = ThreadState::capture();
    let (result, after) = crate::awake::with_workers_awake(move || {
        let _own = Restore(ThreadState::capture());
        caller.install();
        let result = eval_in_order(order, keep_graph);
        (result, ThreadState::capture())
    });
    after.install();
    result
}

/// Total output elements of a pass below which it runs on the calling thread (a pass that small
/// has no parallel kernel to gain from the pool; moving it costs a thread hand-off).
const POOL_MIN_ELEMENTS: usize = crate::backend::cpu::parallel::PAR_THRESHOLD;

fn eval_in_order(order: Vec<Array>, keep_graph: bool) -> Result<()> {
    for arr in order {
        eval_node(arr, keep_graph)?;
    }
    Ok(())
}

fn eval_node(arr: Array, keep_graph: bool) -> Result<()> {
    if arr.is_evaluated() {
        return Ok(());
    }
    let keep = keep_graph && arr.0.tracer;
    let node = {
        let mut guard = arr
            .0
            .node
            .lock()
            .map_err(|_| Error::Value("eval: a graph node's lock was poisoned".into()))?;
        if let Some(n) = guard.as_ref() {
            // before anything is consumed: an output that cannot exist is an error, the graph
            // stays as it was
            check_allocatable(&arr, n.primitive.name())?;
        }
        if keep {
            guard.clone()
        } else {
            guard.take()
        }
    };
    let Some(node) = node else {
        return Err(Error::Value(
            "eval: array has neither data nor a graph (an earlier evaluation of it failed)".into(),
        ));
    };
    let Node {
        primitive,
        inputs,
        siblings,
    } = node;
    let mut datas: Vec<Data> = Vec::with_capacity(inputs.len());
    for input in inputs {
        datas.push(take_input_data(input)?);
    }
    let clock = crate::profile::start();
    if let Some((siblings, position)) = siblings {
        let result = eval_siblings(&arr, primitive.as_ref(), datas, &siblings, position, keep);
        let elements = siblings
            .outputs
            .iter()
            .map(|(s, _)| s.iter().product::<usize>())
            .sum();
        crate::profile::record(primitive.name(), clock, elements);
        return result;
    }
    let data = primitive.eval_cpu(datas, &arr.0.shape, arr.0.dtype)?;
    crate::profile::record(primitive.name(), clock, data.size());
    debug_assert_eq!(data.shape(), arr.0.shape, "{}", primitive.name());
    let _ = arr.0.data.set(data);
    Ok(())
}

/// Outputs at least this large are checked against the allocator before their kernel runs.
const PROBE_BYTES: usize = 1 << 28;

/// Errors (instead of the process aborting inside a kernel) when `arr`'s output has more elements
/// than a `usize` counts or more bytes than the allocator will give. Views (which allocate
/// nothing) are not checked; large outputs are probed with a fallible reservation, which on
/// Linux costs an mmap/munmap and touches no page.
fn check_allocatable(arr: &Array, primitive: &str) -> Result<()> {
    if matches!(
        primitive,
        "Broadcast" | "Transpose" | "Slice" | "Copy" | "StopGradient"
    ) {
        return Ok(());
    }
    let shape = &arr.0.shape;
    let bytes = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .and_then(|n| n.checked_mul(arr.0.dtype.size()));
    let Some(bytes) = bytes else {
        return Err(Error::Value(format!(
            "eval: the {primitive} output of shape {shape:?} ({}) has more bytes than this machine can address",
            arr.0.dtype
        )));
    };
    if bytes >= PROBE_BYTES {
        let mut probe: Vec<u8> = Vec::new();
        if probe.try_reserve_exact(bytes).is_err() {
            return Err(Error::Value(format!(
                "eval: cannot allocate {bytes} bytes for the {primitive} output of shape {shape:?} ({}): not enough memory",
                arr.0.dtype
            )));
        }
    }
    Ok(())
}

/// Computes every output of a multi-output node at once and hands each live sibling its data
/// (detaching its node too, unless the graph is kept for a transform).
fn eval_siblings(
    arr: &Array,
    primitive: &dyn Primitive,
    inputs: Vec<Data>,
    siblings: &Siblings,
    position: usize,
    keep: bool,
) -> Result<()> {
    let datas = primitive.eval_cpu_multi(inputs, &siblings.outputs)?;
    if datas.len() != siblings.outputs.len() {
        return Err(Error::Value(format!(
            "eval: primitive {} computed {} outputs, its node has {}",
            primitive.name(),
            datas.len(),
            siblings.outputs.len()
        )));
    }
    for (k, data) in datas.into_iter().enumerate() {
        if data.shape() != siblings.outputs.at(k)?.0 {
            return Err(Error::Value(format!(
                "eval: primitive {} computed output {k} of shape {:?}, expected {:?}",
                primitive.name(),
                data.shape(),
                siblings.outputs.at(k)?.0
            )));
        }
        if k == position {
            let _ = arr.0.data.set(data);
        } else if let Some(sibling) = siblings.get(k) {
            if !keep {
                if let Ok(mut node) = sibling.0.node.lock() {
                    node.take();
                }
            }
            let _ = sibling.0.data.set(data);
        }
    }
    Ok(())
}

/// The data of an evaluated input. When the caller held the last handle, the data is moved out so
/// an elementwise kernel can reuse its buffer (donation).
fn take_input_data(input: Array) -> Result<Data> {
    let id_shape = input.0.shape.clone();
    match Arc::try_unwrap(input.0) {
        Ok(mut inner) => inner.data.take().ok_or_else(|| missing(&id_shape)),
        Err(shared) => shared.data.get().cloned().ok_or_else(|| missing(&id_shape)),
    }
}

fn missing(shape: &[usize]) -> Error {
    Error::Value(format!(
        "eval: input of shape {shape:?} was not evaluated before its consumer"
    ))
}

/// Counts the not-yet-evaluated nodes computed by primitive `name` that `outputs` depend on.
/// Used to prove gradient pruning by structure rather than by timing.
pub fn count_primitives(outputs: &[&Array], name: &str) -> usize {
    topological_order(outputs)
        .iter()
        .filter(|a| a.primitive_name() == Some(name))
        .count()
}

/// Writes the graph that computes `outputs` in Graphviz's DOT language (MLX's `export_to_dot`):
/// one box per primitive, one ellipse per array (its shape and dtype; constants and evaluated
/// arrays are leaves), edges in the direction data flows. Render it with `dot -Tsvg`.
///
/// ```
/// use rmlx_core::{self as mx, Array};
/// let x = Array::from_slice(&[1.0f32, 2.0], &[2])?;
/// let y = x.exp()?.sum(None, false)?;
/// let mut dot = Vec::new();
/// mx::export_to_dot(&mut dot, &[&y])?;
/// let dot = String::from_utf8(dot).unwrap();
/// assert!(dot.starts_with("digraph {") && dot.contains("Exp") && dot.contains("Sum"));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn export_to_dot(out: &mut impl std::io::Write, outputs: &[&Array]) -> Result<()> {
    let io = |e: std::io::Error| crate::err!(Value, "[export_to_dot] cannot write: {e}");
    writeln!(out, "digraph {{").map_err(io)?;
    writeln!(out, "  rankdir=LR;").map_err(io)?;
    for a in topological_order(outputs) {
        let label = format!("{:?} {}", a.shape(), a.dtype());
        writeln!(out, "  a{} [label=\"{label}\"];", a.id()).map_err(io)?;
        if let Some(name) = a.primitive_name() {
            writeln!(out, "  p{} [label=\"{name}\", shape=box];", a.id()).map_err(io)?;
            for i in a.inputs() {
                writeln!(out, "  a{} -> p{};", i.id(), a.id()).map_err(io)?;
            }
            writeln!(out, "  p{} -> a{};", a.id(), a.id()).map_err(io)?;
        }
    }
    writeln!(out, "}}").map_err(io)?;
    Ok(())
}
