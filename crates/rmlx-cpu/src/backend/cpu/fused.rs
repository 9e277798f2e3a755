//! Fused elementwise programs: the kernel behind `compile`'s fusion (MLX's `Compiled` primitive).
//!
//! A [`Program`] is a straight-line list of elementwise steps over registers: registers
//! `0..inputs.len()` hold the inputs, register `inputs.len() + i` the result of step `i`. [`eval`]
//! runs the whole program over tiles of [`TILE`] elements: each input tile is loaded once (any
//! strides, broadcast inputs as zero strides), every step runs over the L1-resident tiles, and
//! only the outputs are written back. A chain of `k` elementwise ops then reads and writes main
//! memory once instead of `k` times.
//!
//! Registers hold f32; a step whose dtype is f16 or bf16 rounds its result to that type, so each
//! step gives exactly the numbers the unfused kernel of the same op gives (those compute in f32
//! and round once too). Bool values are 0.0 / 1.0. The tile loop is compiled for AVX-512 and
//! AVX2+FMA and picked at run time.
//!
//! A step costs a tile load and store per element however little it computes, so the chains
//! that recur in models (the activations of `nn`, `a * b + c`) arrive as superinstructions that
//! keep their intermediate values in registers ([`Step::MulAdd`], [`Step::Activation`],
//! [`Step::MulAddActivation`]; see [`super::fused_patterns`]). A program of one such step
//! whose operands are read in place needs no tiles at all: it runs over whole row segments.

use half::{bf16, f16};

use super::binary::BinaryOp;
/// Elements per register tile.
pub const TILE: usize = 256;

/// Floats per register: a tile and a cache line of padding, so consecutive registers do not sit
/// a multiple of 4 KiB apart (loads would wait on unrelated stores: 4K aliasing).
const REG: usize = TILE + 16;

/// One register tile, cache-line aligned.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Reg([f32; REG]);
use super::parallel::{for_each_chunk_mut, PAR_CHUNK, PAR_THRESHOLD};
use super::scalar::{maximum, minimum, Arith, FloatMath};
use super::stream;
use super::strided::{collapse, offset_of};
use super::unary::UnaryOp;
use crate::buffer::{Buffer, Data};
use crate::{bail, Dtype, Result};

/// One step of a [`Program`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    /// An elementwise unary op on one register.
    Unary(UnaryOp),
    /// An elementwise binary op on two registers.
    Binary(BinaryOp),
    /// `c != 0 ? x : y` on three registers (MLX's `Select`, `where`).
    Select,
    /// `x ** n` for a small integer `n` (2 to 4), by repeated multiplication.
    PowInt(i32),
    /// A dtype conversion to the step's dtype (rounding to f16/bf16, `x != 0` for bool).
    Cast,
    /// `a * b + c` on three registers, rounded after the product and after the sum as the two
    /// steps it replaces (a superinstruction, see [`super::fused_patterns`]).
    MulAdd,
    /// A whole activation on one register (a superinstruction, see [`super::fused_patterns`]).
    Activation(Activation),
    /// `act(a * b + c)` on three registers: a [`Step::MulAdd`] read only by the activation
    /// after it, both in one pass with the sum kept in a vector register (a superinstruction,
    /// see [`super::fused_patterns`]). Rounded as the two steps it replaces.
    MulAddActivation(Activation),
}

/// The activations a fused program evaluates as one step, in registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// `nn.gelu_approx`: `x * 0.5 * (tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)) + 1)`.
    GeluTanh,
    /// `nn.gelu`: `x * (erf(x / sqrt(2)) + 1) / 2`.
    Gelu,
    /// `nn.silu`: `x * sigmoid(x)`.
    Silu,
}

impl Activation {
    /// `gelu_approx`'s cubic coefficient.
    pub const GELU_CUBIC: f32 = 0.044715;
    /// `sqrt(2 / pi)` as `gelu_approx`'s f64 constant rounds to f32.
    pub const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    /// `sqrt(2)` as `gelu`'s f64 constant rounds to f32.
    pub const SQRT_2: f32 = std::f64::consts::SQRT_2 as f32;

    /// The activation of `x`: the f32 operations of the chain it replaces, in the chain's order,
    /// so the result is the chain's to the bit.
    #[inline(always)]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::GeluTanh => {
                let cube = x * x * x;
                let inner = (x + cube * Self::GELU_CUBIC) * Self::SQRT_2_OVER_PI;
                (x * 0.5) * (<f32 as FloatMath>::tanh(inner) + 1.0)
            }
            Activation::Gelu => {
                let e = <f32 as FloatMath>::erf(x / Self::SQRT_2);
                (x * (e + 1.0)) / 2.0
            }
            Activation::Silu => x * <f32 as FloatMath>::sigmoid(x),
        }
    }
}

impl Step {
    /// The number of registers the step reads.
    pub fn arity(self) -> usize {
        match self {
            Step::Unary(_) | Step::PowInt(_) | Step::Cast | Step::Activation(_) => 1,
            Step::Binary(_) => 2,
            Step::Select | Step::MulAdd | Step::MulAddActivation(_) => 3,
        }
    }
}

/// One instruction: `step` applied to registers `args`, its result of dtype `dtype`.
#[derive(Clone, Debug, PartialEq)]
pub struct Instr {
    /// What to compute.
    pub step: Step,
    /// The registers read (each below this instruction's own register).
    pub args: Vec<usize>,
    /// The result's dtype: f32, f16, bf16 or bool.
    pub dtype: Dtype,
}

/// A straight-line elementwise program (see the module documentation).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Program {
    /// The dtype of each input register.
    pub inputs: Vec<Dtype>,
    /// The instructions, in order.
    pub instrs: Vec<Instr>,
    /// The registers written out, one output array each.
    pub outputs: Vec<usize>,
}

/// True for the dtypes a fused program computes on (in f32 registers, exactly).
pub fn supports(dtype: Dtype) -> bool {
    matches!(dtype, Dtype::F32 | Dtype::F16 | Dtype::Bf16 | Dtype::Bool)
}

impl Program {
    /// The dtype of register `r`.
    pub fn dtype_of(&self, r: usize) -> Option<Dtype> {
        match self.inputs.get(r) {
            Some(&d) => Some(d),
            None => self.instrs.get(r - self.inputs.len()).map(|i| i.dtype),
        }
    }

    /// Checks that every instruction reads earlier registers with its arity and every dtype is
    /// one a program computes on.
    pub fn validate(&self) -> Result<()> {
        let n = self.inputs.len();
        if let Some(d) = self.inputs.iter().find(|d| !supports(**d)) {
            bail!(Dtype, "Compiled: a fused program cannot read {d} inputs");
        }
        for (i, ins) in self.instrs.iter().enumerate() {
            if ins.args.len() != ins.step.arity() || ins.args.iter().any(|&a| a >= n + i) {
                bail!(
                    Value,
                    "Compiled: instruction {i} ({:?}) reads registers {:?}",
                    ins.step,
                    ins.args
                );
            }
            if !supports(ins.dtype) {
                bail!(
                    Dtype,
                    "Compiled: a fused program cannot compute {}",
                    ins.dtype
                );
            }
        }
        if self.outputs.is_empty() || self.outputs.iter().any(|&r| r >= n + self.instrs.len()) {
            bail!(Value, "Compiled: bad output registers {:?}", self.outputs);
        }
        Ok(())
    }
}

/// Runs `program` over `inputs`, each already broadcast to `shape` (any strides), returning one
/// row-major array per output register.
pub fn eval(program: &Program, inputs: &[Data], shape: &[usize]) -> Result<Vec<Data>> {
    program.validate()?;
    if inputs.len() != program.inputs.len() {
        bail!(
            Value,
            "Compiled: expected {} inputs, got {}",
            program.inputs.len(),
            inputs.len()
        );
    }
    for (k, (x, &d)) in inputs.iter().zip(&program.inputs).enumerate() {
        if x.dtype != d || x.shape != shape {
            bail!(
                Value,
                "Compiled: input {k} is {:?} {}, the program reads {:?} {d}",
                x.shape,
                x.dtype,
                shape
            );
        }
    }
    let n: usize = shape.iter().product();
    let strides: Vec<&[isize]> = inputs.iter().map(|d| &d.strides[..]).collect();
    let (mut cshape, mut cstrides) = collapse(shape, &strides);
    if cshape.is_empty() {
        cshape.push(1);
        cstrides.iter_mut().for_each(|s| s.push(0));
    }
    let walk = DynWalk {
        row: *cshape.last().unwrap_or(&1),
        inner: cstrides.iter().map(|s| *s.last().unwrap_or(&0)).collect(),
        offsets: inputs.iter().map(|d| d.offset).collect(),
        shape: cshape,
        strides: cstrides,
    };
    let raws: Vec<&[u8]> = inputs.iter().map(|d| d.buf.bytes()).collect();
    let out_dtypes: Vec<Dtype> = program
        .outputs
        .iter()
        .map(|&r| program.dtype_of(r).unwrap_or(Dtype::F32))
        .collect();
    let mut bufs: Vec<Buffer> = out_dtypes
        .iter()
        .map(|d| Buffer::new(n * d.size()))
        .collect();
    {
        // one task per chunk of output positions, holding that chunk of every output
        let chunk = PAR_CHUNK;
        let n_chunks = n.div_ceil(chunk);
        let mut tasks: Vec<(usize, Vec<&mut [u8]>)> =
            (0..n_chunks).map(|k| (k * chunk, Vec::new())).collect();
        for (buf, d) in bufs.iter_mut().zip(&out_dtypes) {
            let size = d.size();
            let bytes = &mut buf.bytes_mut()[..n * size];
            for (task, part) in tasks.iter_mut().zip(bytes.chunks_mut(chunk * size)) {
                task.1.push(part);
            }
        }
        let (slots, n_slots) = assign_slots(program);
        let ctx = Ctx {
            program,
            slots: &slots,
            walk: &walk,
            raws: &raws,
            out_dtypes: &out_dtypes,
            stream: n * out_dtypes.iter().map(|d| d.size()).sum::<usize>()
                >= stream::STREAM_MIN_BYTES,
        };
        let par = n >= PAR_THRESHOLD;
        for_each_chunk_mut(&mut tasks, 1, par, &|_, ts| {
            let mut regs = vec![Reg([0.0; REG]); program.inputs.len() + n_slots];
            for (first, outs) in ts.iter_mut() {
                let len = outs
                    .first()
                    .map(|o| o.len() / out_dtypes[0].size())
                    .unwrap_or(0);
                run_wide(&ctx, *first, len, outs, &mut regs);
            }
        });
    }
    Ok(bufs
        .into_iter()
        .zip(out_dtypes)
        .map(|(b, d)| Data::new(b, d, shape))
        .collect())
}

/// Gives each instruction a temporary tile to write, reusing the tile of a result once its last
/// reader has run (a result never shares a tile with its own operands). Returns the tile of each
/// instruction and the number of tiles: a chain of any length needs a few, so the tiles stay in
/// L1 however long the program is.
fn assign_slots(program: &Program) -> (Vec<usize>, usize) {
    let nin = program.inputs.len();
    let n = program.instrs.len();
    // the last instruction reading each result; outputs live to the end
    let mut last = vec![None; n];
    for (i, ins) in program.instrs.iter().enumerate() {
        for &a in &ins.args {
            if let Some(l) = a.checked_sub(nin).and_then(|t| last.get_mut(t)) {
                *l = Some(i);
            }
        }
    }
    for &o in &program.outputs {
        if let Some(l) = o.checked_sub(nin).and_then(|t| last.get_mut(t)) {
            *l = Some(n);
        }
    }
    let (mut slots, mut free, mut count) = (Vec::with_capacity(n), Vec::new(), 0);
    for (i, ins) in program.instrs.iter().enumerate() {
        let slot = free.pop().unwrap_or_else(|| {
            count += 1;
            count - 1
        });
        slots.push(slot);
        // operands read for the last time here, and a result nobody reads, free their tiles
        let mut done: Vec<usize> = ins
            .args
            .iter()
            .filter_map(|&a| a.checked_sub(nin))
            .filter(|&t| last.get(t) == Some(&Some(i)))
            .collect();
        if last.get(i) == Some(&None) {
            done.push(i);
        }
        done.sort_unstable();
        done.dedup();
        free.extend(done.iter().filter_map(|&t| slots.get(t)));
    }
    (slots, count)
}

/// The operands' layout after collapsing axes, for any number of operands.
struct DynWalk {
    shape: Vec<usize>,
    strides: Vec<Vec<isize>>,
    offsets: Vec<usize>,
    row: usize,
    inner: Vec<isize>,
}

/// What every chunk task reads.
struct Ctx<'a> {
    program: &'a Program,
    /// The temporary tile each instruction writes (see [`assign_slots`]).
    slots: &'a [usize],
    walk: &'a DynWalk,
    raws: &'a [&'a [u8]],
    out_dtypes: &'a [Dtype],
    /// Write f32 outputs with streaming stores (the outputs are larger than the caches).
    stream: bool,
}

/// [`run`] compiled for AVX-512 or AVX2+FMA when the CPU has them.
fn run_wide(ctx: &Ctx, first: usize, len: usize, outs: &mut [&mut [u8]], regs: &mut [Reg]) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
        unsafe fn v4(c: &Ctx, f: usize, l: usize, o: &mut [&mut [u8]], r: &mut [Reg]) {
            run(c, f, l, o, r)
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn v3(c: &Ctx, f: usize, l: usize, o: &mut [&mut [u8]], r: &mut [Reg]) {
            run(c, f, l, o, r)
        }
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
        {
            // SAFETY: the CPU supports AVX-512F/BW (checked just above).
            return unsafe { v4(ctx, first, len, outs, regs) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            return unsafe { v3(ctx, first, len, outs, regs) };
        }
    }
    run(ctx, first, len, outs, regs)
}

/// Computes output positions `first..first + len` into `outs` (each that chunk of an output).
///
/// Contiguous f32 inputs are read where they lie and the last instruction writes an f32 output
/// in place; everything else goes through the register tiles.
#[inline(always)]
fn run(ctx: &Ctx, first: usize, len: usize, outs: &mut [&mut [u8]], regs: &mut [Reg]) {
    let w = ctx.walk;
    let p = ctx.program;
    let nin = p.inputs.len();
    let (in_regs, tmp) = regs.split_at_mut(nin);
    let n_instr = p.instrs.len();
    // the last instruction writes output 0 directly when that output is it and is f32, with
    // plain stores even past the caches: cheaper than a pass copying a result tile out with
    // streaming stores (w5, 2 threads: 10.4 -> 9.3 ms)
    let direct = n_instr > 0
        && p.outputs[0] == nin + n_instr - 1
        && ctx.out_dtypes[0] == Dtype::F32
        && !p.outputs[1..].contains(&p.outputs[0]);
    let in_place: Vec<bool> = (0..nin)
        .map(|j| p.inputs[j] == Dtype::F32 && w.inner[j] == 1)
        .collect();
    // inputs that are one value everywhere (broadcast scalars) are read once
    let splat: Vec<Option<f32>> = (0..nin)
        .map(|j| {
            w.strides[j].iter().all(|&s| s == 0).then(|| {
                let mut v = [0.0f32];
                load(p.inputs[j], ctx.raws[j], w.offsets[j], 0, &mut v);
                v[0]
            })
        })
        .collect();
    let mut offsets = vec![0usize; nin];
    // a single step (a superinstruction, usually) on operands read where they lie needs no
    // tiles: it runs over each row segment in one call, with none of the per-tile bookkeeping
    // (w5, 2 threads: 9.3 -> 8.0 ms)
    let one_pass = direct
        && n_instr == 1
        && p.outputs.len() == 1
        && p.instrs[0]
            .args
            .iter()
            .all(|&j| j < nin && (in_place[j] || splat[j].is_some()));
    let mut pos = 0;
    while pos < len {
        let lin = first + pos;
        let seg = (w.row - lin % w.row).min(len - pos);
        for (j, o) in offsets.iter_mut().enumerate() {
            *o = offset_of(lin, &w.shape, &w.strides[j], w.offsets[j]);
        }
        if one_pass {
            // one step on operands read where they lie: the whole row segment in one call
            let ins = &p.instrs[0];
            let mut args = [Src::Splat(0.0); 3];
            for (a, &j) in args.iter_mut().zip(&ins.args) {
                *a = match splat[j] {
                    Some(v) => Src::Splat(v),
                    None => {
                        let raw: &[f32] = bytemuck::cast_slice(ctx.raws[j]);
                        Src::Lanes(&raw[offsets[j]..offsets[j] + seg])
                    }
                };
            }
            let dst: &mut [f32] = bytemuck::cast_slice_mut(&mut outs[0][pos * 4..(pos + seg) * 4]);
            exec(ins, &args, dst);
            pos += seg;
            continue;
        }
        let mut k = 0;
        while k < seg {
            let m = TILE.min(seg - k);
            for j in 0..nin {
                if !in_place[j] && splat[j].is_none() {
                    let s = w.inner[j];
                    let base = (offsets[j] as isize + k as isize * s) as usize;
                    load(p.inputs[j], ctx.raws[j], base, s, &mut in_regs[j].0[..m]);
                }
            }
            // input `j`'s operand for this tile (no allocation per tile)
            let in_regs: &[Reg] = in_regs;
            let src = |j: usize| -> Src {
                if let Some(v) = splat[j] {
                    Src::Splat(v)
                } else if in_place[j] {
                    let raw: &[f32] = bytemuck::cast_slice(ctx.raws[j]);
                    let base = offsets[j] + k;
                    Src::Lanes(&raw[base..base + m])
                } else {
                    Src::Lanes(&in_regs[j].0[..m])
                }
            };
            for (i, ins) in p.instrs.iter().enumerate() {
                let slot = ctx.slots[i];
                // the instruction's own tile, apart from the tiles it reads
                let (lo, rest) = tmp.split_at_mut(slot);
                // (`eval` allocates one tile per slot `assign_slots` hands out, so `rest` is
                // never empty)
                let Some((own, hi)) = rest.split_first_mut() else {
                    debug_assert!(false, "slot {slot} has no tile");
                    continue;
                };
                let (lo, hi): (&[Reg], &[Reg]) = (lo, hi);
                let mut args = [Src::Splat(0.0); 3];
                for (a, &r) in args.iter_mut().zip(&ins.args) {
                    *a = if r < nin {
                        src(r)
                    } else {
                        let t = ctx.slots[r - nin];
                        let reg = if t < slot { &lo[t] } else { &hi[t - slot - 1] };
                        Src::Lanes(&reg.0[..m])
                    };
                }
                if direct && i + 1 == n_instr {
                    let at = (pos + k) * 4;
                    let dst: &mut [f32] = bytemuck::cast_slice_mut(&mut outs[0][at..at + m * 4]);
                    exec(ins, &args, dst);
                } else {
                    exec(ins, &args, &mut own.0[..m]);
                }
            }
            for (o, (&r, &d)) in p.outputs.iter().zip(ctx.out_dtypes).enumerate() {
                if o == 0 && direct {
                    continue;
                }
                let at = (pos + k) * d.size();
                let dst = &mut outs[o][at..at + m * d.size()];
                match if r < nin {
                    src(r)
                } else {
                    Src::Lanes(&tmp[ctx.slots[r - nin]].0[..m])
                } {
                    Src::Lanes(src) if ctx.stream && d == Dtype::F32 => {
                        stream::store(bytemuck::cast_slice_mut(dst), src, None)
                    }
                    Src::Lanes(src) => store(d, src, dst),
                    Src::Splat(v) => store(d, &vec![v; m], dst),
                }
            }
            k += m;
        }
        pos += seg;
    }
    if ctx.stream {
        stream::fence();
    }
}

/// Reads `out.len()` elements of `dtype` (start `base`, step `stride`) as f32.
#[inline(always)]
fn load(dtype: Dtype, raw: &[u8], base: usize, stride: isize, out: &mut [f32]) {
    #[inline(always)]
    fn gather<T: bytemuck::Pod>(
        raw: &[T],
        base: usize,
        stride: isize,
        out: &mut [f32],
        f: impl Fn(T) -> f32,
    ) {
        let n = out.len();
        match stride {
            1 => {
                for (o, &v) in out.iter_mut().zip(&raw[base..base + n]) {
                    *o = f(v);
                }
            }
            0 => out.fill(f(raw[base])),
            s => {
                for (k, o) in out.iter_mut().enumerate() {
                    *o = f(raw[(base as isize + k as isize * s) as usize]);
                }
            }
        }
    }
    match dtype {
        Dtype::F16 => gather::<f16>(bytemuck::cast_slice(raw), base, stride, out, f16::to_f32),
        Dtype::Bf16 => gather::<bf16>(bytemuck::cast_slice(raw), base, stride, out, bf16::to_f32),
        Dtype::Bool => gather::<u8>(raw, base, stride, out, |v| (v != 0) as u8 as f32),
        _ => gather::<f32>(bytemuck::cast_slice(raw), base, stride, out, |v| v),
    }
}

/// Writes f32 register values as elements of `dtype`.
#[inline(always)]
fn store(dtype: Dtype, src: &[f32], out: &mut [u8]) {
    match dtype {
        Dtype::F16 => {
            let out: &mut [f16] = bytemuck::cast_slice_mut(out);
            out.iter_mut()
                .zip(src)
                .for_each(|(o, &v)| *o = f16::from_f32(v));
        }
        Dtype::Bf16 => {
            let out: &mut [bf16] = bytemuck::cast_slice_mut(out);
            out.iter_mut()
                .zip(src)
                .for_each(|(o, &v)| *o = bf16::from_f32(v));
        }
        Dtype::Bool => out
            .iter_mut()
            .zip(src)
            .for_each(|(o, &v)| *o = (v != 0.0) as u8),
        _ => bytemuck::cast_slice_mut::<u8, f32>(out).copy_from_slice(src),
    }
}

/// An operand of an instruction: lanes of a tile, or one value for every lane (a broadcast
/// scalar input, read once instead of once per tile).
#[derive(Clone, Copy)]
enum Src<'a> {
    Lanes(&'a [f32]),
    Splat(f32),
}

impl Src<'_> {
    #[inline(always)]
    fn at(self, i: usize) -> f32 {
        match self {
            Src::Lanes(s) => s[i],
            Src::Splat(v) => v,
        }
    }
}

/// Runs one instruction into `out` (its lanes) on its operands `args`.
#[inline(always)]
fn exec(ins: &Instr, args: &[Src; 3], out: &mut [f32]) {
    let arg = |k: usize| args[k];
    match ins.step {
        Step::Unary(op) => unary(op, out, arg(0)),
        Step::Binary(op) => binary(op, out, arg(0), arg(1)),
        Step::Select => {
            let (c, x, y) = (arg(0), arg(1), arg(2));
            for (i, o) in out.iter_mut().enumerate() {
                *o = if c.at(i) != 0.0 { x.at(i) } else { y.at(i) };
            }
        }
        Step::PowInt(n) => {
            let x = arg(0);
            match n {
                2 => zip1(out, x, |v| v * v),
                3 => zip1(out, x, |v| v * v * v),
                _ => zip1(out, x, |v| (v * v) * (v * v)),
            }
        }
        Step::Cast => match ins.dtype {
            Dtype::Bool => zip1(out, arg(0), |v| (v != 0.0) as u8 as f32),
            _ => zip1(out, arg(0), |v| v),
        },
        Step::MulAdd => zip3(out, arg(0), arg(1), arg(2), |a, b, c| a * b + c),
        Step::Activation(act) => match act {
            Activation::GeluTanh => zip1(out, arg(0), |v| Activation::GeluTanh.apply(v)),
            Activation::Gelu => zip1(out, arg(0), |v| Activation::Gelu.apply(v)),
            Activation::Silu => zip1(out, arg(0), |v| Activation::Silu.apply(v)),
        },
        Step::MulAddActivation(act) => {
            let (a, b, c) = (arg(0), arg(1), arg(2));
            match act {
                Activation::GeluTanh => zip3(out, a, b, c, |a, b, c| {
                    Activation::GeluTanh.apply(a * b + c)
                }),
                Activation::Gelu => zip3(out, a, b, c, |a, b, c| Activation::Gelu.apply(a * b + c)),
                Activation::Silu => zip3(out, a, b, c, |a, b, c| Activation::Silu.apply(a * b + c)),
            }
        }
    }
    match ins.dtype {
        Dtype::F16 => out.iter_mut().for_each(|v| *v = f16::from_f32(*v).to_f32()),
        Dtype::Bf16 => out
            .iter_mut()
            .for_each(|v| *v = bf16::from_f32(*v).to_f32()),
        _ => {}
    }
}

/// `out[i] = f(x[i])`, one loop per operand kind.
#[inline(always)]
fn zip1(out: &mut [f32], x: Src, f: impl Fn(f32) -> f32) {
    match x {
        Src::Lanes(x) => {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = f(v);
            }
        }
        Src::Splat(v) => out.fill(f(v)),
    }
}

/// `out[i] = f(a[i], b[i])`, one loop per pair of operand kinds.
#[inline(always)]
fn zip2(out: &mut [f32], a: Src, b: Src, f: impl Fn(f32, f32) -> f32) {
    match (a, b) {
        (Src::Lanes(a), Src::Lanes(b)) => {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o = f(x, y);
            }
        }
        (Src::Lanes(a), Src::Splat(y)) => {
            for (o, &x) in out.iter_mut().zip(a) {
                *o = f(x, y);
            }
        }
        (Src::Splat(x), Src::Lanes(b)) => {
            for (o, &y) in out.iter_mut().zip(b) {
                *o = f(x, y);
            }
        }
        (Src::Splat(x), Src::Splat(y)) => out.fill(f(x, y)),
    }
}

/// `out[i] = f(a[i], b[i], c[i])`: one loop for the common operand kinds, a generic one for
/// the rest.
#[inline(always)]
fn zip3(out: &mut [f32], a: Src, b: Src, c: Src, f: impl Fn(f32, f32, f32) -> f32) {
    match (a, b, c) {
        (Src::Lanes(a), Src::Lanes(b), Src::Lanes(c)) => {
            for (((o, &x), &y), &z) in out.iter_mut().zip(a).zip(b).zip(c) {
                *o = f(x, y, z);
            }
        }
        (Src::Lanes(a), Src::Splat(y), Src::Splat(z)) => {
            for (o, &x) in out.iter_mut().zip(a) {
                *o = f(x, y, z);
            }
        }
        (Src::Lanes(a), Src::Lanes(b), Src::Splat(z)) => {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o = f(x, y, z);
            }
        }
        (Src::Lanes(a), Src::Splat(y), Src::Lanes(c)) => {
            for ((o, &x), &z) in out.iter_mut().zip(a).zip(c) {
                *o = f(x, y, z);
            }
        }
        _ => {
            for (i, o) in out.iter_mut().enumerate() {
                *o = f(a.at(i), b.at(i), c.at(i));
            }
        }
    }
}

/// The unfused kernels' f32 functions, one per op (bool results as 0.0 / 1.0).
#[inline(always)]
fn unary(op: UnaryOp, out: &mut [f32], x: Src) {
    use UnaryOp::*;
    type M = f32;
    macro_rules! m {
        ($f:ident) => {
            zip1(out, x, <M as FloatMath>::$f)
        };
    }
    macro_rules! pred {
        ($f:ident) => {
            zip1(out, x, |v| <M as FloatMath>::$f(v) as u8 as f32)
        };
    }
    match op {
        Abs => zip1(out, x, <M as Arith>::abs),
        Negative => zip1(out, x, <M as Arith>::neg),
        Sign => zip1(out, x, <M as Arith>::sign),
        LogicalNot => zip1(out, x, |v| (v == 0.0) as u8 as f32),
        // integers only: never fused (see `fusable_unary`)
        BitwiseInvert => zip1(out, x, |v| v),
        Square => m!(square),
        Sqrt => m!(sqrt),
        Rsqrt => m!(rsqrt),
        Reciprocal => m!(reciprocal),
        Exp => m!(exp),
        Expm1 => m!(expm1),
        Log => m!(log),
        Log1p => m!(log1p),
        Log2 => m!(log2),
        Log10 => m!(log10),
        Sin => m!(sin),
        Cos => m!(cos),
        Tan => m!(tan),
        ArcSin => m!(arcsin),
        ArcCos => m!(arccos),
        ArcTan => m!(arctan),
        Sinh => m!(sinh),
        Cosh => m!(cosh),
        Tanh => m!(tanh),
        ArcSinh => m!(arcsinh),
        ArcCosh => m!(arccosh),
        ArcTanh => m!(arctanh),
        Sigmoid => m!(sigmoid),
        Erf => m!(erf),
        ErfInv => m!(erfinv),
        Floor => m!(floor),
        Ceil => m!(ceil),
        Round => m!(round),
        IsNan => pred!(is_nan),
        IsInf => pred!(is_inf),
        IsFinite => pred!(is_finite),
    }
}

#[inline(always)]
fn binary(op: BinaryOp, out: &mut [f32], a: Src, b: Src) {
    use BinaryOp::*;
    type M = f32;
    macro_rules! cmp {
        ($op:tt) => {
            zip2(out, a, b, |x, y| (x $op y) as u8 as f32)
        };
    }
    match op {
        Add => zip2(out, a, b, <M as Arith>::add),
        Subtract => zip2(out, a, b, <M as Arith>::sub),
        Multiply => zip2(out, a, b, <M as Arith>::mul),
        Divide => zip2(out, a, b, <M as Arith>::div),
        FloorDivide => zip2(out, a, b, <M as Arith>::floor_div),
        Remainder => zip2(out, a, b, <M as Arith>::rem),
        Power => zip2(out, a, b, <M as Arith>::pow),
        Maximum => zip2(out, a, b, maximum::<M>),
        Minimum => zip2(out, a, b, minimum::<M>),
        LogAddExp => zip2(out, a, b, <M as FloatMath>::logaddexp),
        ArcTan2 => zip2(out, a, b, <M as FloatMath>::arctan2),
        Equal => cmp!(==),
        NotEqual => cmp!(!=),
        Less => cmp!(<),
        LessEqual => cmp!(<=),
        Greater => cmp!(>),
        GreaterEqual => cmp!(>=),
        LogicalAnd => zip2(out, a, b, |x, y| (x != 0.0 && y != 0.0) as u8 as f32),
        LogicalOr => zip2(out, a, b, |x, y| (x != 0.0 || y != 0.0) as u8 as f32),
        // integers only: never fused (see `fusable_binary`)
        BitwiseAnd | BitwiseOr | BitwiseXor | LeftShift | RightShift => zip1(out, a, |v| v),
    }
}

/// True when the unfused kernel of `op` on `input` computes through the same f32 functions a
/// program uses (float or, for `LogicalNot`, bool input).
pub fn fusable_unary(op: UnaryOp, input: Dtype) -> bool {
    match op {
        UnaryOp::BitwiseInvert => false,
        UnaryOp::LogicalNot => input == Dtype::Bool,
        _ => matches!(input, Dtype::F32 | Dtype::F16 | Dtype::Bf16),
    }
}

/// True when the unfused kernel of `op` on `input` operands computes through the same f32
/// functions a program uses (float operands, or bool operands of the logical ops).
pub fn fusable_binary(op: BinaryOp, input: Dtype) -> bool {
    match op {
        BinaryOp::LogicalAnd | BinaryOp::LogicalOr => input == Dtype::Bool,
        op if op.is_bitwise() => false,
        _ => matches!(input, Dtype::F32 | Dtype::F16 | Dtype::Bf16),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(vals: &[f32], shape: &[usize]) -> Data {
        Data::new(Buffer::from_slice(vals), Dtype::F32, shape)
    }

    #[test]
    fn chain_matches_a_naive_loop_across_tiles_chunks_and_broadcasts() {
        // out0 = tanh(x * w + b), out1 = (x * w + b) > 0, over a [300, 257] x and a row w, b
        let (r, c) = (300usize, 257usize);
        let xs: Vec<f32> = (0..r * c).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
        let ws: Vec<f32> = (0..c).map(|i| i as f32 / c as f32 - 0.5).collect();
        let x = data(&xs, &[r, c]);
        let mut w = data(&ws, &[c]);
        w.shape = vec![r, c];
        w.strides = vec![0, 1];
        let mut b = data(&[0.25], &[1]);
        b.shape = vec![r, c];
        b.strides = vec![0, 0];
        let p = Program {
            inputs: vec![Dtype::F32; 3],
            instrs: vec![
                Instr {
                    step: Step::Binary(BinaryOp::Multiply),
                    args: vec![0, 1],
                    dtype: Dtype::F32,
                },
                Instr {
                    step: Step::Binary(BinaryOp::Add),
                    args: vec![3, 2],
                    dtype: Dtype::F32,
                },
                Instr {
                    step: Step::Unary(UnaryOp::Tanh),
                    args: vec![4],
                    dtype: Dtype::F32,
                },
                Instr {
                    step: Step::Cast,
                    args: vec![4],
                    dtype: Dtype::Bool,
                },
            ],
            outputs: vec![5, 6],
        };
        let outs = eval(&p, &[x, w, b], &[r, c]).unwrap();
        let t = outs[0].contiguous_slice::<f32>().unwrap();
        let nz = outs[1].contiguous_slice::<u8>().unwrap();
        for i in 0..r * c {
            let v = xs[i] * ws[i % c] + 0.25;
            assert_eq!(t[i], <f32 as FloatMath>::tanh(v), "at {i}");
            assert_eq!(nz[i], (v != 0.0) as u8);
        }
    }

    #[test]
    fn one_step_programs_match_a_naive_loop_in_place_strided_and_streamed() {
        // gelu_approx(x * w + b) as one superinstruction, over a row-broadcast w and a scalar b:
        // with x contiguous (the step runs over whole row segments, reading x where it lies),
        // transposed (through the tiles), and large enough for streamed outputs
        for (r, c, transposed) in [
            (300usize, 257usize, false),
            (257, 300, true),
            (2048, 4100, false),
        ] {
            let xs: Vec<f32> = (0..r * c).map(|i| (i as f32 * 0.37).sin() * 4.0).collect();
            let ws: Vec<f32> = (0..c).map(|i| i as f32 / c as f32 - 0.5).collect();
            let mut x = data(&xs, &[r, c]);
            if transposed {
                // the same logical [r, c] values, stored column-major
                let cm: Vec<f32> = (0..r * c).map(|k| xs[(k % r) * c + k / r]).collect();
                x = data(&cm, &[c, r]);
                x.shape = vec![r, c];
                x.strides = vec![1, r as isize];
            }
            let mut w = data(&ws, &[c]);
            w.shape = vec![r, c];
            w.strides = vec![0, 1];
            let mut b = data(&[-0.25], &[1]);
            b.shape = vec![r, c];
            b.strides = vec![0, 0];
            let p = Program {
                inputs: vec![Dtype::F32; 3],
                instrs: vec![Instr {
                    step: Step::MulAddActivation(Activation::GeluTanh),
                    args: vec![0, 1, 2],
                    dtype: Dtype::F32,
                }],
                outputs: vec![3],
            };
            let outs = eval(&p, &[x, w, b], &[r, c]).unwrap();
            let got = outs[0].contiguous_slice::<f32>().unwrap();
            for i in 0..r * c {
                let want = Activation::GeluTanh.apply(xs[i] * ws[i % c] + -0.25);
                assert_eq!(got[i].to_bits(), want.to_bits(), "{r}x{c} at {i}");
            }
        }
    }

    #[test]
    fn half_steps_round_each_result_and_bad_programs_error() {
        let x = Data::new(
            Buffer::from_slice(&[f16::from_f32(1.0), f16::from_f32(3.0)]),
            Dtype::F16,
            &[2],
        );
        // (x / 3) * 3 in f16 rounds after the division as the unfused kernels do
        let three = Data::new(
            Buffer::from_slice(&[f16::from_f32(3.0); 2]),
            Dtype::F16,
            &[2],
        );
        let p = Program {
            inputs: vec![Dtype::F16, Dtype::F16],
            instrs: vec![
                Instr {
                    step: Step::Binary(BinaryOp::Divide),
                    args: vec![0, 1],
                    dtype: Dtype::F16,
                },
                Instr {
                    step: Step::Binary(BinaryOp::Multiply),
                    args: vec![2, 1],
                    dtype: Dtype::F16,
                },
            ],
            outputs: vec![3],
        };
        let out = eval(&p, &[x.clone(), three.clone()], &[2]).unwrap();
        let third = f16::from_f32(f16::from_f32(1.0).to_f32() / 3.0);
        let want = f16::from_f32(third.to_f32() * 3.0);
        assert_eq!(out[0].contiguous_slice::<f16>().unwrap()[0], want);
        let mut bad = p.clone();
        bad.instrs[0].args = vec![0, 2];
        assert!(eval(&bad, &[x.clone(), three.clone()], &[2]).is_err());
        assert!(eval(&p, &[x], &[2]).is_err());
    }

    #[test]
    fn random_programs_reusing_tiles_match_a_naive_loop() {
        // long random programs (results read many steps later, read twice by one step, never
        // read, written out more than once) against each element computed on its own
        let mut seed = 0x2545_f491_u64;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as usize % n
        };
        let (r, c) = (37usize, 301usize);
        let xs: Vec<f32> = (0..r * c).map(|i| (i as f32 * 0.11).cos() * 2.0).collect();
        let ys: Vec<f32> = (0..r * c).map(|i| (i as f32 * 0.07).sin()).collect();
        for _ in 0..40 {
            let nin = 2;
            let n = 3 + next(20);
            let mut instrs = Vec::new();
            for i in 0..n {
                let pick = next(5);
                let a = next(nin + i);
                let b = next(nin + i);
                let step = match pick {
                    0 => Step::Binary(BinaryOp::Add),
                    1 => Step::Binary(BinaryOp::Multiply),
                    2 => Step::Binary(BinaryOp::Maximum),
                    3 => Step::Unary(UnaryOp::Tanh),
                    _ => Step::Unary(UnaryOp::Negative),
                };
                let args = if step.arity() == 2 {
                    vec![a, b]
                } else {
                    vec![a]
                };
                instrs.push(Instr {
                    step,
                    args,
                    dtype: Dtype::F32,
                });
            }
            let outputs = vec![nin + n - 1, next(nin + n), next(nin + n), nin + n - 1];
            let p = Program {
                inputs: vec![Dtype::F32; 2],
                instrs,
                outputs,
            };
            let outs = eval(&p, &[data(&xs, &[r, c]), data(&ys, &[r, c])], &[r, c]).unwrap();
            for e in (0..r * c).step_by(7) {
                let mut regs = vec![xs[e], ys[e]];
                for ins in &p.instrs {
                    let a = regs[ins.args[0]];
                    regs.push(match ins.step {
                        Step::Binary(BinaryOp::Add) => a + regs[ins.args[1]],
                        Step::Binary(BinaryOp::Multiply) => a * regs[ins.args[1]],
                        Step::Binary(_) => maximum(a, regs[ins.args[1]]),
                        Step::Unary(UnaryOp::Tanh) => <f32 as FloatMath>::tanh(a),
                        _ => -a,
                    });
                }
                for (o, &reg) in outs.iter().zip(&p.outputs) {
                    let got = o.contiguous_slice::<f32>().unwrap()[e];
                    assert!(
                        got.to_bits() == regs[reg].to_bits()
                            || (got.is_nan() && regs[reg].is_nan()),
                        "{p:?} at {e}"
                    );
                }
            }
        }
    }
}
