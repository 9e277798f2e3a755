//! `compile`: trace a function once per input signature, simplify its graph and fuse its
//! elementwise chains (MLX's `mx.compile`).
//!
//! The first call with a new signature (input shapes and dtypes, or only ranks and dtypes when
//! shapeless) runs the function on *placeholders* (value-less tracer inputs) and records the
//! graph it builds as a tape. The tape is simplified: equal scalar constants are merged, nodes
//! computing the same primitive of the same inputs are merged (common-subexpression
//! elimination), nodes no output needs are dropped, and chains of elementwise primitives of one
//! shape become one [`Compiled`](crate::primitives::compiled::Compiled) node that runs over
//! cache-sized tiles. Every call (the first included) then replays the tape on the real inputs:
//! it builds the optimised graph lazily, as the function would have built the original one, so
//! a compiled function composes with every transform and evaluation stays the caller's choice.
//!
//! Arrays the function captures (instead of taking them as inputs) become constants of the
//! trace. State that a step updates (a model's parameters, an optimizer's moments) is passed
//! through [`compile_with_state`], MLX's `mx.compile(step, inputs=state, outputs=state)`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use crate::backend::cpu::fused::{self, Instr, Program, Step as FusedStep};
use crate::backend::cpu::fused_patterns;
use crate::buffer::Data;
use crate::checked::Checked;
use crate::context::TracingGuard;
use crate::define_name;
use crate::graph::Node;
use crate::primitives::compiled::Compiled;
use crate::primitives::Primitive;
use crate::tree::{tree_flatten, tree_map, Tree};
use crate::{bail, Array, Dtype, Error, Result};

/// An input of a function being compiled, as the function sees it while traced: a shape and a
/// dtype, no value.
#[derive(Debug)]
struct Placeholder;

impl Primitive for Placeholder {
    define_name!("CompileInput");

    fn eval_cpu(&self, _: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        Err(Error::Transform(
            "[compile] cannot evaluate an array computed from an input of the function being \
             compiled while it is traced (the inputs have no value yet): return the array \
             instead, or call disable_compile() to run the function as it is"
                .into(),
        ))
    }
}

fn placeholder(x: &Array) -> Array {
    Array::with_tracer_flag(
        x.shape().to_vec(),
        x.dtype(),
        Node::new(Arc::new(Placeholder), Vec::new()),
    )
}

// ---------------------------------------------------------------------------------------------
// The global switch

/// 0: not decided yet (read the environment), 1: on, 2: off.
static MODE: AtomicU8 = AtomicU8::new(0);

/// Turns compilation off for every compiled function: they run their function as it is (MLX's
/// `mx.disable_compile()`, for debugging). `MLX_DISABLE_COMPILE` or `RMLX_DISABLE_COMPILE` set
/// to anything but `0` in the environment does the same from the start.
pub fn disable_compile() {
    MODE.store(2, Ordering::Relaxed);
}

/// Turns compilation back on (MLX's `mx.enable_compile()`), overriding the environment.
pub fn enable_compile() {
    MODE.store(1, Ordering::Relaxed);
}

/// True unless compilation is turned off ([`disable_compile`], the environment).
pub fn compile_enabled() -> bool {
    match MODE.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            let off = ["MLX_DISABLE_COMPILE", "RMLX_DISABLE_COMPILE"]
                .iter()
                .any(|k| std::env::var(k).is_ok_and(|v| !v.is_empty() && v != "0"));
            let _ = MODE.compare_exchange(
                0,
                if off { 2 } else { 1 },
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            !off
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The tape

/// Where a tape value comes from.
#[derive(Clone)]
enum Ref {
    /// Input `i` of the compiled function.
    Input(usize),
    /// An array that already had its value when traced (a captured constant).
    Const(Array),
    /// Output `k` of step `s`.
    Node(usize, usize),
}

impl Ref {
    /// A key equal for equal references.
    fn key(&self) -> (u8, usize, usize) {
        match self {
            Ref::Input(i) => (0, *i, 0),
            Ref::Const(a) => (1, a.id(), 0),
            Ref::Node(s, k) => (2, *s, *k),
        }
    }
}

/// One recorded node.
#[derive(Clone)]
struct TapeStep {
    primitive: Arc<dyn Primitive>,
    inputs: Vec<Ref>,
    /// Shape and dtype of each output as traced.
    outputs: Vec<(Vec<usize>, Dtype)>,
    /// A multi-output node (siblings), even when only some outputs are used.
    multi: bool,
}

/// A recorded function: its steps in evaluation order and where its outputs come from.
struct Tape {
    steps: Vec<TapeStep>,
    outputs: Vec<Ref>,
    /// Dtype of each input, for the fusion's input registers.
    input_dtypes: Vec<Dtype>,
}

// A tape is private to this module and built only by `Tape::record` from a traced graph: every
// `Ref::Node(s, k)` names an earlier step `s` and one of its `k` outputs, every `Ref::Input(i)` an
// input of the trace, and the per-step tables (`canon`, `live`, `consumers`, `taken`,
// `fusable`, `new_index`) are allocated with one entry per step. The passes below keep those
// facts (they only merge a step into an earlier equivalent one, drop unreachable steps and
// renumber, or replace a region by one step at its root). `replay` is called only with inputs
// whose signature (count, shapes, dtypes) matched the trace's in the cache, so input indices fit.
#[allow(clippy::indexing_slicing)]
impl Tape {
    fn dtype_of(&self, r: &Ref) -> Dtype {
        match r {
            Ref::Input(i) => self.input_dtypes[*i],
            Ref::Const(a) => a.dtype(),
            Ref::Node(s, k) => self.steps[*s].outputs[*k].1,
        }
    }

    /// Records the graph from `tracers` (the placeholder inputs) to `outputs`.
    fn record(tracers: &[Array], outputs: &[Array]) -> Result<Tape> {
        let inputs: HashMap<usize, usize> = tracers
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id(), i))
            .collect();
        let order = crate::graph::topological_order(&outputs.iter().collect::<Vec<_>>());
        let mut at: HashMap<usize, (usize, usize)> = HashMap::new();
        let mut groups: HashMap<usize, usize> = HashMap::new();
        let mut steps: Vec<TapeStep> = Vec::new();
        let resolve = |x: &Array, at: &HashMap<usize, (usize, usize)>| -> Result<Ref> {
            if let Some(&i) = inputs.get(&x.id()) {
                return Ok(Ref::Input(i));
            }
            if let Some(&(s, k)) = at.get(&x.id()) {
                return Ok(Ref::Node(s, k));
            }
            if x.is_evaluated() {
                return Ok(Ref::Const(x.clone()));
            }
            bail!(
                Transform,
                "[compile] internal: an array of shape {:?} was used before it was recorded",
                x.shape()
            )
        };
        for a in order {
            if inputs.contains_key(&a.id()) || at.contains_key(&a.id()) {
                continue;
            }
            let Some(node) = a.node() else {
                bail!(
                    Transform,
                    "[compile] an array of shape {:?} has neither a value nor a graph",
                    a.shape()
                );
            };
            let refs = node
                .inputs
                .iter()
                .map(|x| resolve(x, &at))
                .collect::<Result<Vec<_>>>()?;
            match &node.siblings {
                Some((sib, k)) => {
                    if let Some(&s) = groups.get(&sib.key()) {
                        at.insert(a.id(), (s, *k));
                        continue;
                    }
                    let s = steps.len();
                    steps.push(TapeStep {
                        primitive: node.primitive.clone(),
                        inputs: refs,
                        outputs: sib.outputs.clone(),
                        multi: true,
                    });
                    groups.insert(sib.key(), s);
                    for j in 0..sib.outputs.len() {
                        if let Some(id) = sib.id(j) {
                            at.insert(id, (s, j));
                        }
                    }
                    at.insert(a.id(), (s, *k));
                }
                None => {
                    let s = steps.len();
                    steps.push(TapeStep {
                        primitive: node.primitive.clone(),
                        inputs: refs,
                        outputs: vec![(a.shape().to_vec(), a.dtype())],
                        multi: false,
                    });
                    at.insert(a.id(), (s, 0));
                }
            }
        }
        let outputs = outputs
            .iter()
            .map(|o| resolve(o, &at))
            .collect::<Result<Vec<_>>>()?;
        Ok(Tape {
            steps,
            outputs,
            input_dtypes: tracers.iter().map(Array::dtype).collect(),
        })
    }

    /// Rewrites every reference through `f`.
    fn remap(&mut self, f: impl Fn(&Ref) -> Ref) {
        for s in &mut self.steps {
            for r in &mut s.inputs {
                *r = f(r);
            }
        }
        for r in &mut self.outputs {
            *r = f(r);
        }
    }

    /// Merges equal 0-d constants (MLX merges scalars by value and dtype).
    fn merge_scalars(&mut self) {
        let mut seen: HashMap<(Dtype, Vec<u8>), Array> = HashMap::new();
        let mut canon: HashMap<usize, Array> = HashMap::new();
        let mut visit = |r: &Ref| {
            if let Ref::Const(a) = r {
                if a.ndim() == 0 && !canon.contains_key(&a.id()) {
                    if let Some(bytes) = a
                        .data()
                        .ok()
                        .and_then(|d| Some(d.contiguous_bytes()?.to_vec()))
                    {
                        let c = seen.entry((a.dtype(), bytes)).or_insert_with(|| a.clone());
                        canon.insert(a.id(), c.clone());
                    }
                }
            }
        };
        for s in &self.steps {
            s.inputs.iter().for_each(&mut visit);
        }
        self.outputs.iter().for_each(&mut visit);
        self.remap(|r| match r {
            Ref::Const(a) => Ref::Const(canon.get(&a.id()).cloned().unwrap_or_else(|| a.clone())),
            r => r.clone(),
        });
    }

    /// Common-subexpression elimination: a step computing an equivalent primitive of the same
    /// inputs as an earlier one is replaced by it.
    fn merge_equivalent(&mut self) {
        type Key = (&'static str, Vec<(u8, usize, usize)>);
        let mut canon: Vec<usize> = (0..self.steps.len()).collect();
        let mut seen: HashMap<Key, Vec<usize>> = HashMap::new();
        for s in 0..self.steps.len() {
            let fix = |r: &Ref| match r {
                Ref::Node(t, k) => Ref::Node(canon[*t], *k),
                r => r.clone(),
            };
            let inputs: Vec<Ref> = self.steps[s].inputs.iter().map(fix).collect();
            self.steps[s].inputs = inputs;
            let step = &self.steps[s];
            let key = (
                step.primitive.name(),
                step.inputs.iter().map(Ref::key).collect(),
            );
            let same = seen.get(&key).and_then(|cands| {
                cands.iter().copied().find(|&c| {
                    let o = &self.steps[c];
                    o.outputs == step.outputs
                        && o.multi == step.multi
                        && o.primitive.is_equivalent(step.primitive.as_ref())
                })
            });
            match same {
                Some(c) => canon[s] = c,
                None => seen.entry(key).or_default().push(s),
            }
        }
        self.remap(|r| match r {
            Ref::Node(t, k) => Ref::Node(canon[*t], *k),
            r => r.clone(),
        });
    }

    /// Drops the steps no output needs and renumbers the rest.
    fn drop_dead(&mut self) {
        let n = self.steps.len();
        let mut live = vec![false; n];
        let mut stack: Vec<usize> = self
            .outputs
            .iter()
            .filter_map(|r| match r {
                Ref::Node(s, _) => Some(*s),
                _ => None,
            })
            .collect();
        while let Some(s) = stack.pop() {
            if std::mem::replace(&mut live[s], true) {
                continue;
            }
            for r in &self.steps[s].inputs {
                if let Ref::Node(t, _) = r {
                    if !live[*t] {
                        stack.push(*t);
                    }
                }
            }
        }
        let mut new_index = vec![usize::MAX; n];
        let mut steps = Vec::with_capacity(n);
        for (s, step) in std::mem::take(&mut self.steps).into_iter().enumerate() {
            if live[s] {
                new_index[s] = steps.len();
                steps.push(step);
            }
        }
        self.steps = steps;
        self.remap(|r| match r {
            Ref::Node(t, k) => Ref::Node(new_index[*t], *k),
            r => r.clone(),
        });
    }

    /// The fused-program step of tape step `s`, if it may be fused.
    fn fusion_step(&self, s: usize) -> Option<FusedStep> {
        let step = &self.steps[s];
        if step.multi || step.outputs.len() != 1 || !fused::supports(step.outputs[0].1) {
            return None;
        }
        let dtypes: Vec<Dtype> = step.inputs.iter().map(|r| self.dtype_of(r)).collect();
        step.primitive.fusion_step(&dtypes)
    }

    /// The value a fused program reads for `r`: a broadcast is read through (the program
    /// broadcasts its inputs itself).
    fn through_broadcasts(&self, r: &Ref) -> Ref {
        let mut r = r.clone();
        while let Ref::Node(s, 0) = r {
            let step = &self.steps[s];
            if step.primitive.name() != "Broadcast" || step.inputs.len() != 1 {
                break;
            }
            r = step.inputs[0].clone();
        }
        r
    }

    /// Replaces chains of fusable elementwise steps of one shape by `Compiled` steps.
    fn fuse(&mut self) {
        /// Most steps and inputs in one fused program (registers cost 1 KiB each per thread).
        const MAX_STEPS: usize = 96;
        const MAX_INPUTS: usize = 24;
        let n = self.steps.len();
        let mut consumers: Vec<HashSet<usize>> = vec![HashSet::new(); n];
        for (s, step) in self.steps.iter().enumerate() {
            for r in &step.inputs {
                if let Ref::Node(t, _) = r {
                    consumers[*t].insert(s);
                }
            }
        }
        let is_output: HashSet<usize> = self
            .outputs
            .iter()
            .filter_map(|r| match r {
                Ref::Node(s, _) => Some(*s),
                _ => None,
            })
            .collect();
        let fusable: Vec<Option<FusedStep>> = (0..n).map(|s| self.fusion_step(s)).collect();
        let mut taken = vec![false; n];
        // (root, steps of the region in order, the program, its input refs)
        let mut regions: Vec<(usize, Vec<usize>, Program, Vec<Ref>)> = Vec::new();
        for root in (0..n).rev() {
            if taken[root] || fusable[root].is_none() {
                continue;
            }
            let shape = self.steps[root].outputs[0].0.clone();
            let mut region: BTreeSet<usize> = BTreeSet::from([root]);
            let mut candidates: BTreeSet<usize> = BTreeSet::new();
            let push_inputs = |s: usize, c: &mut BTreeSet<usize>| {
                for r in &self.steps[s].inputs {
                    if let Ref::Node(t, _) = self.through_broadcasts(r) {
                        c.insert(t);
                    }
                }
            };
            push_inputs(root, &mut candidates);
            while let Some(c) = candidates.pop_last() {
                if region.len() >= MAX_STEPS {
                    break;
                }
                let ok = !taken[c]
                    && fusable[c].is_some()
                    && self.steps[c].outputs[0].0 == shape
                    && consumers[c].iter().all(|p| region.contains(p));
                if ok {
                    region.insert(c);
                    push_inputs(c, &mut candidates);
                }
            }
            if region.len() < 2 {
                continue;
            }
            let Some((program, ext)) = self.program_of(&region, root, &is_output, &fusable) else {
                continue;
            };
            if ext.len() > MAX_INPUTS {
                continue;
            }
            for &s in &region {
                taken[s] = true;
            }
            regions.push((root, region.into_iter().collect(), program, ext));
        }
        if regions.is_empty() {
            return;
        }
        let mut moved: HashMap<(usize, usize), (usize, usize)> = HashMap::new();
        for (root, members, program, ext) in regions {
            let outs: Vec<usize> = std::iter::once(root)
                .chain(
                    members
                        .iter()
                        .copied()
                        .filter(|&s| s != root && is_output.contains(&s)),
                )
                .collect();
            for (k, &s) in outs.iter().enumerate() {
                moved.insert((s, 0), (root, k));
            }
            let shape = self.steps[root].outputs[0].0.clone();
            let outputs: Vec<(Vec<usize>, Dtype)> = outs
                .iter()
                .map(|&s| (shape.clone(), self.steps[s].outputs[0].1))
                .collect();
            self.steps[root] = TapeStep {
                primitive: Arc::new(Compiled { program }),
                multi: outputs.len() > 1,
                inputs: ext,
                outputs,
            };
        }
        self.remap(|r| match r {
            Ref::Node(s, k) => {
                let (s, k) = moved.get(&(*s, *k)).copied().unwrap_or((*s, *k));
                Ref::Node(s, k)
            }
            r => r.clone(),
        });
        self.drop_dead();
    }

    /// The fused program of `region` (ascending steps, `root` last) and its external inputs.
    fn program_of(
        &self,
        region: &BTreeSet<usize>,
        root: usize,
        is_output: &HashSet<usize>,
        fusable: &[Option<FusedStep>],
    ) -> Option<(Program, Vec<Ref>)> {
        let mut ext: Vec<Ref> = Vec::new();
        let mut ext_at: HashMap<(u8, usize, usize), usize> = HashMap::new();
        let mut dtypes: Vec<Dtype> = Vec::new();
        // the register of each region step, numbered after the inputs once they are known
        let mut instrs: Vec<(FusedStep, Vec<Operand>, Dtype)> = Vec::new();
        let mut step_at: HashMap<usize, usize> = HashMap::new();
        for &s in region {
            let step = &self.steps[s];
            let mut kind = fusable[s]?;
            let mut args: Vec<Operand> = Vec::new();
            for (i, r) in step.inputs.iter().enumerate() {
                let r = self.through_broadcasts(r);
                if let Ref::Node(t, 0) = r {
                    if let Some(&j) = step_at.get(&t) {
                        args.push(Operand::Step(j));
                        continue;
                    }
                }
                if let (FusedStep::Binary(crate::backend::cpu::binary::BinaryOp::Power), 1) =
                    (kind, i)
                {
                    if let Some(p) = small_integer_power(&r) {
                        kind = FusedStep::PowInt(p);
                        continue;
                    }
                }
                let d = self.dtype_of(&r);
                if !fused::supports(d) {
                    return None;
                }
                let at = *ext_at.entry(r.key()).or_insert_with(|| {
                    ext.push(r.clone());
                    dtypes.push(d);
                    ext.len() - 1
                });
                args.push(Operand::Input(at));
            }
            step_at.insert(s, instrs.len());
            instrs.push((kind, args, step.outputs[0].1));
        }
        let nin = ext.len();
        let reg = |o: &Operand| match o {
            Operand::Input(i) => *i,
            Operand::Step(j) => nin + j,
        };
        let mut outputs = vec![nin + step_at[&root]];
        outputs.extend(
            region
                .iter()
                .filter(|&&s| s != root && is_output.contains(&s))
                .map(|s| nin + step_at[s]),
        );
        let program = Program {
            inputs: dtypes,
            instrs: instrs
                .into_iter()
                .map(|(step, args, dtype)| Instr {
                    step,
                    args: args.iter().map(reg).collect(),
                    dtype,
                })
                .collect(),
            outputs,
        };
        program.validate().ok()?;
        // known chains (activations, multiply-add) become superinstructions; they read the
        // values of the scalar constants
        let consts: Vec<Option<f32>> = ext
            .iter()
            .map(|r| match r {
                Ref::Const(a) if a.size() == 1 && a.dtype() == Dtype::F32 => a.item::<f32>().ok(),
                _ => None,
            })
            .collect();
        let program = fused_patterns::specialize(&program, &consts);
        program.validate().ok()?;
        Some((program, ext))
    }

    /// Builds the recorded graph on `inputs`.
    fn replay(&self, inputs: &[Array], shapeless: bool) -> Result<Vec<Array>> {
        let mut values: Vec<Vec<Array>> = Vec::with_capacity(self.steps.len());
        let get = |r: &Ref, values: &Vec<Vec<Array>>| -> Array {
            match r {
                Ref::Input(i) => inputs[*i].clone(),
                Ref::Const(a) => a.clone(),
                Ref::Node(s, k) => values[*s][*k].clone(),
            }
        };
        for step in &self.steps {
            let ins: Vec<Array> = step.inputs.iter().map(|r| get(r, &values)).collect();
            let outputs = if shapeless {
                let shapes = step.primitive.output_shapes(&ins).map_err(|e| {
                    Error::Transform(format!(
                        "[compile] shapeless compilation cannot infer the output shape of {}: {e}",
                        step.primitive.name()
                    ))
                })?;
                if shapes.len() != step.outputs.len() {
                    bail!(
                        Transform,
                        "[compile] {} gave {} output shapes for {} outputs",
                        step.primitive.name(),
                        shapes.len(),
                        step.outputs.len()
                    );
                }
                shapes
                    .into_iter()
                    .zip(&step.outputs)
                    .map(|(s, (_, d))| (s, *d))
                    .collect()
            } else {
                step.outputs.clone()
            };
            let arrays = if step.multi {
                Array::from_primitive_multi(outputs, step.primitive.clone(), ins)
            } else {
                let (shape, dtype) = outputs.into_iter().next().ok_or_else(|| {
                    Error::Transform("[compile] internal: a step without outputs".into())
                })?;
                vec![Array::from_primitive(
                    shape,
                    dtype,
                    step.primitive.clone(),
                    ins,
                )]
            };
            values.push(arrays);
        }
        Ok(self.outputs.iter().map(|r| get(r, &values)).collect())
    }

    /// Records and optimises the graph from `tracers` to `outputs`.
    fn build(tracers: &[Array], outputs: &[Array], fuse: bool) -> Result<Tape> {
        let mut tape = Tape::record(tracers, outputs)?;
        tape.merge_scalars();
        tape.merge_equivalent();
        tape.drop_dead();
        if fuse {
            tape.fuse();
        }
        Ok(tape)
    }
}

/// An argument of a fused instruction before registers are numbered.
enum Operand {
    Input(usize),
    Step(usize),
}

/// `n` when `r` is a constant 0-d float exponent equal to 2, 3 or 4.
fn small_integer_power(r: &Ref) -> Option<i32> {
    let Ref::Const(a) = r else { return None };
    if a.ndim() != 0 || !a.dtype().is_float() {
        return None;
    }
    let v = a.item::<f64>().ok()?;
    [2, 3, 4].into_iter().find(|&n| v == n as f64)
}

// ---------------------------------------------------------------------------------------------
// The cache

/// How often a compiled function traced its function and how often it reused a trace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompileStats {
    /// Calls that traced the function (a new signature).
    pub traces: usize,
    /// Calls that replayed a cached trace.
    pub hits: usize,
}

/// What a trace is valid for: the inputs' dtypes and shapes (ranks when shapeless) and the
/// host-side values the state says the trace depends on.
#[derive(Clone, PartialEq, Eq)]
struct Signature {
    inputs: Vec<(Dtype, Vec<usize>)>,
    extra: Vec<u64>,
}

impl Signature {
    fn of(inputs: &[Array], shapeless: bool, extra: Vec<u64>) -> Signature {
        Signature {
            inputs: inputs
                .iter()
                .map(|x| {
                    let shape = if shapeless {
                        vec![x.ndim()]
                    } else {
                        x.shape().to_vec()
                    };
                    (x.dtype(), shape)
                })
                .collect(),
            extra,
        }
    }
}

struct Entry {
    signature: Signature,
    tape: Arc<Tape>,
    /// How much the state's host counters advance per call.
    counter_delta: Vec<u64>,
}

/// Traces kept per compiled function; the oldest is dropped beyond this.
const MAX_ENTRIES: usize = 16;

/// The cache and options shared by [`CompiledFn`] and [`CompiledStep`].
struct Cache {
    shapeless: bool,
    fuse: bool,
    entries: Mutex<Vec<Entry>>,
    stats: Mutex<CompileStats>,
}

impl Cache {
    fn new() -> Cache {
        Cache {
            shapeless: false,
            fuse: true,
            entries: Mutex::new(Vec::new()),
            stats: Mutex::new(CompileStats::default()),
        }
    }

    fn find(&self, sig: &Signature) -> Option<(Arc<Tape>, Vec<u64>)> {
        let entries = self.entries.lock().ok()?;
        entries
            .iter()
            .find(|e| &e.signature == sig)
            .map(|e| (e.tape.clone(), e.counter_delta.clone()))
    }

    fn insert(&self, signature: Signature, tape: Arc<Tape>, counter_delta: Vec<u64>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.remove(0);
            }
            entries.push(Entry {
                signature,
                tape,
                counter_delta,
            });
        }
    }

    fn count(&self, hit: bool) {
        if let Ok(mut s) = self.stats.lock() {
            if hit {
                s.hits += 1;
            } else {
                s.traces += 1;
            }
        }
    }

    fn stats(&self) -> CompileStats {
        self.stats.lock().map(|s| *s).unwrap_or_default()
    }

    fn clear(&self) {
        if let Ok(mut e) = self.entries.lock() {
            e.clear();
        }
    }
}

/// The options and cache accessors [`CompiledFn`] and [`CompiledStep`] share.
macro_rules! cache_methods {
    () => {
        /// MLX's `shapeless=True`: one trace serves inputs of any shapes with the same ranks and
        /// dtypes (output shapes are inferred per call; a primitive that cannot infer its output
        /// shape from its inputs makes the call an error).
        pub fn shapeless(mut self, shapeless: bool) -> Self {
            self.cache.shapeless = shapeless;
            self
        }

        /// Keeps the simplification passes but leaves elementwise chains unfused (MLX's
        /// `set_compile_mode(no_fuse)`).
        pub fn without_fusion(mut self) -> Self {
            self.cache.fuse = false;
            self
        }

        /// Traces and cache hits so far.
        pub fn stats(&self) -> CompileStats {
            self.cache.stats()
        }

        /// Forgets every trace (the next call traces again).
        pub fn clear_cache(&self) {
            self.cache.clear()
        }
    };
}

/// A compiled function (see [`compile`]).
pub struct CompiledFn<F> {
    f: F,
    cache: Cache,
}

/// Compiles `f` (MLX's `mx.compile(fun)`): the returned function traces `f` once per input
/// signature (shapes and dtypes), simplifies the graph and fuses its elementwise chains, and
/// replays that graph on every call with the same signature.
///
/// `f` must be a function of its inputs: arrays it captures are constants of the trace, and it
/// cannot evaluate anything computed from its inputs while traced.
///
/// ```
/// use rmlx_core::{self as mx, Array, Result};
/// let gelu = mx::compile(|x: &[Array]| -> Result<Vec<Array>> {
///     let x = &x[0];
///     let inner = ((x + &(&(x * x)? * x)?.multiply(&mx::array(0.044715f32))?)? * 0.797_884_6)?;
///     Ok(vec![((x * 0.5)? * &(inner.tanh()? + 1.0)?)?])
/// });
/// let x = Array::from_slice(&[-1.0f32, 0.0, 1.0], &[3])?;
/// let y = gelu.call(&[x.clone()])?; // traced, fused into one kernel
/// let y2 = gelu.call(&[(&x * 2.0)?])?; // same signature: the trace is reused
/// assert_eq!(gelu.stats().traces, 1);
/// assert_eq!(gelu.stats().hits, 1);
/// assert!((y[0].to_vec::<f32>()?[2] - 0.841_192).abs() < 1e-5);
/// # let _ = y2;
/// # Ok::<(), mx::Error>(())
/// ```
pub fn compile<F>(f: F) -> CompiledFn<F>
where
    F: Fn(&[Array]) -> Result<Vec<Array>>,
{
    CompiledFn {
        f,
        cache: Cache::new(),
    }
}

impl<F> CompiledFn<F>
where
    F: Fn(&[Array]) -> Result<Vec<Array>>,
{
    cache_methods!();

    /// Calls the compiled function.
    pub fn call(&self, inputs: &[Array]) -> Result<Vec<Array>> {
        if !compile_enabled() {
            return (self.f)(inputs);
        }
        let sig = Signature::of(inputs, self.cache.shapeless, Vec::new());
        if let Some((tape, _)) = self.cache.find(&sig) {
            self.cache.count(true);
            return tape.replay(inputs, self.cache.shapeless);
        }
        let tracers: Vec<Array> = inputs.iter().map(placeholder).collect();
        let outputs = {
            let _guard = TracingGuard::new();
            (self.f)(&tracers)?
        };
        let tape = Arc::new(Tape::build(&tracers, &outputs, self.cache.fuse)?);
        drop(outputs);
        self.cache.count(false);
        let out = tape.replay(inputs, self.cache.shapeless)?;
        self.cache.insert(sig, tape, Vec::new());
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------
// Compiling with state

/// Mutable state a compiled step reads and replaces (MLX's `inputs=state, outputs=state`): a
/// model's parameters, an optimizer's moments. Implemented for `Vec<Array>`, `Tree<Array>`,
/// tuples of states and `&mut` states here, for every `#[derive(Module)]` type in `rmlx-nn`
/// and for the optimizers in `rmlx-optimizers`.
pub trait CompileState {
    /// The state's arrays, always in the same order for the same structure.
    fn state_arrays(&self) -> Vec<Array>;

    /// Replaces the arrays (as many as [`CompileState::state_arrays`] returns, in its order).
    fn set_state_arrays(&mut self, arrays: &[Array]) -> Result<()>;

    /// Host-side values (not arrays) the traced computation depends on: a change traces again.
    fn trace_key(&self) -> Vec<u64> {
        Vec::new()
    }

    /// Host-side counters the step advances (an optimizer's step count): a replay advances
    /// them as the traced call did.
    fn host_counters(&self) -> Vec<u64> {
        Vec::new()
    }

    /// Sets the counters of [`CompileState::host_counters`].
    fn set_host_counters(&mut self, counters: &[u64]) -> Result<()> {
        let _ = counters;
        Ok(())
    }
}

impl CompileState for Vec<Array> {
    fn state_arrays(&self) -> Vec<Array> {
        self.clone()
    }

    fn set_state_arrays(&mut self, arrays: &[Array]) -> Result<()> {
        check_count("Vec<Array>", self.len(), arrays.len())?;
        *self = arrays.to_vec();
        Ok(())
    }
}

impl CompileState for Tree<Array> {
    fn state_arrays(&self) -> Vec<Array> {
        tree_flatten(self)
            .into_iter()
            .map(|(_, a)| a.clone())
            .collect()
    }

    fn set_state_arrays(&mut self, arrays: &[Array]) -> Result<()> {
        check_count("Tree<Array>", self.num_leaves(), arrays.len())?;
        let mut given = arrays.iter();
        let mut missing = false;
        let replaced = tree_map(self, |leaf| match given.next() {
            Some(a) => a.clone(),
            None => {
                missing = true;
                leaf.clone()
            }
        });
        if missing {
            bail!(
                Transform,
                "[compile] fewer state arrays than the tree's leaves"
            );
        }
        *self = replaced;
        Ok(())
    }
}

impl<T: CompileState + ?Sized> CompileState for &mut T {
    fn state_arrays(&self) -> Vec<Array> {
        (**self).state_arrays()
    }
    fn set_state_arrays(&mut self, arrays: &[Array]) -> Result<()> {
        (**self).set_state_arrays(arrays)
    }
    fn trace_key(&self) -> Vec<u64> {
        (**self).trace_key()
    }
    fn host_counters(&self) -> Vec<u64> {
        (**self).host_counters()
    }
    fn set_host_counters(&mut self, counters: &[u64]) -> Result<()> {
        (**self).set_host_counters(counters)
    }
}

macro_rules! tuple_state {
    ($($t:ident $i:tt),+) => {
        impl<$($t: CompileState),+> CompileState for ($($t,)+) {
            fn state_arrays(&self) -> Vec<Array> {
                let mut v = Vec::new();
                $(v.extend(self.$i.state_arrays());)+
                v
            }
            fn set_state_arrays(&mut self, arrays: &[Array]) -> Result<()> {
                let total = 0 $(+ self.$i.state_arrays().len())+;
                check_count("tuple", total, arrays.len())?;
                let mut at = 0;
                $(
                    let n = self.$i.state_arrays().len();
                    self.$i.set_state_arrays(arrays.span(at..at + n)?)?;
                    at += n;
                )+
                let _ = at;
                Ok(())
            }
            fn trace_key(&self) -> Vec<u64> {
                let mut v = Vec::new();
                $(
                    let k = self.$i.trace_key();
                    v.push(k.len() as u64);
                    v.extend(k);
                )+
                v
            }
            fn host_counters(&self) -> Vec<u64> {
                let mut v = Vec::new();
                $(v.extend(self.$i.host_counters());)+
                v
            }
            fn set_host_counters(&mut self, counters: &[u64]) -> Result<()> {
                let mut at = 0;
                $(
                    let n = self.$i.host_counters().len();
                    if at + n > counters.len() {
                        bail!(Transform, "[compile] {} state counters given, more expected", counters.len());
                    }
                    self.$i.set_host_counters(counters.span(at..at + n)?)?;
                    at += n;
                )+
                let _ = at;
                Ok(())
            }
        }
    };
}
tuple_state!(A 0, B 1);
tuple_state!(A 0, B 1, C 2);

fn check_count(what: &str, have: usize, given: usize) -> Result<()> {
    if have != given {
        bail!(
            Transform,
            "[compile] the {what} state has {have} arrays, {given} were given"
        );
    }
    Ok(())
}

/// A compiled step with state (see [`compile_with_state`]).
pub struct CompiledStep<S: ?Sized, F> {
    f: F,
    cache: Cache,
    _state: PhantomData<fn(&mut S)>,
}

/// Compiles a step that reads and updates `state` (MLX's
/// `mx.compile(step, inputs=state, outputs=state)`): on every call the state's arrays are
/// inputs of the compiled graph and the arrays the step leaves in the state are outputs, written
/// back into the state. A training step compiles this way with the model and the optimizer as
/// the state.
///
/// ```
/// use rmlx_core::{self as mx, Array, Result};
/// // state: a running sum; the step adds its input and returns the new mean of the sum
/// let step = mx::compile_with_state(|s: &mut Vec<Array>, x: &[Array]| -> Result<Vec<Array>> {
///     s[0] = (&s[0] + &x[0])?;
///     Ok(vec![s[0].mean(None, false)?])
/// });
/// let mut state = vec![mx::zeros(&[2], mx::Dtype::F32)?];
/// let x = Array::from_slice(&[1.0f32, 3.0], &[2])?;
/// for _ in 0..3 {
///     step.call(&mut state, &[x.clone()])?;
/// }
/// assert_eq!(state[0].to_vec::<f32>()?, vec![3.0, 9.0]);
/// assert_eq!(step.stats().traces, 1);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn compile_with_state<S, F>(f: F) -> CompiledStep<S, F>
where
    S: CompileState + ?Sized,
    F: Fn(&mut S, &[Array]) -> Result<Vec<Array>>,
{
    CompiledStep {
        f,
        cache: Cache::new(),
        _state: PhantomData,
    }
}

impl<S, F> CompiledStep<S, F>
where
    S: CompileState + ?Sized,
    F: Fn(&mut S, &[Array]) -> Result<Vec<Array>>,
{
    cache_methods!();

    /// Runs the step on `state` and `inputs`, returning the step's outputs.
    pub fn call(&self, state: &mut S, inputs: &[Array]) -> Result<Vec<Array>> {
        if !compile_enabled() {
            return (self.f)(state, inputs);
        }
        let before = state.state_arrays();
        let counters = state.host_counters();
        let mut all: Vec<Array> = inputs.to_vec();
        all.extend(before.iter().cloned());
        let sig = Signature::of(&all, self.cache.shapeless, state.trace_key());
        if let Some((tape, delta)) = self.cache.find(&sig) {
            self.cache.count(true);
            let mut outs = tape.replay(&all, self.cache.shapeless)?;
            let new_state = outs.split_off(outs.len() - before.len());
            state.set_state_arrays(&new_state)?;
            let advanced: Vec<u64> = counters
                .iter()
                .zip(&delta)
                .map(|(c, d)| c.wrapping_add(*d))
                .collect();
            state.set_host_counters(&advanced)?;
            return Ok(outs);
        }
        let tracers: Vec<Array> = all.iter().map(placeholder).collect();
        state.set_state_arrays(tracers.span(inputs.len()..)?)?;
        let result = {
            let _guard = TracingGuard::new();
            (self.f)(state, tracers.span(..inputs.len())?)
        };
        let after = state.state_arrays();
        let outputs = match result {
            Ok(o) => o,
            Err(e) => {
                // the state goes back to its values before the call
                if after.len() == before.len() {
                    let _ = state.set_state_arrays(&before);
                }
                let _ = state.set_host_counters(&counters);
                return Err(e);
            }
        };
        let n_out = outputs.len();
        let mut traced = outputs;
        traced.extend(after.iter().cloned());
        let built = Tape::build(&tracers, &traced, self.cache.fuse);
        drop(traced);
        let tape = match built {
            Ok(t) => Arc::new(t),
            Err(e) => {
                if after.len() == before.len() {
                    let _ = state.set_state_arrays(&before);
                }
                let _ = state.set_host_counters(&counters);
                return Err(e);
            }
        };
        self.cache.count(false);
        let mut outs = tape.replay(&all, self.cache.shapeless)?;
        let new_state = outs.split_off(n_out);
        state.set_state_arrays(&new_state)?;
        let now = state.host_counters();
        // a trace that changed the state's structure (an optimizer creating its moments) is
        // valid for this call only: the next call has another signature
        if after.len() == before.len() && now.len() == counters.len() {
            let delta = now
                .iter()
                .zip(&counters)
                .map(|(a, b)| a.wrapping_sub(*b))
                .collect();
            self.cache.insert(sig, tape, delta);
        }
        Ok(outs)
    }
}
