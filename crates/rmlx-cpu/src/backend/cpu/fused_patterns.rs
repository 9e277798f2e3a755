//! Superinstructions: rewrites of a fused [`Program`] that compute a known chain of steps in
//! registers, in one pass over a tile, instead of one pass per step.
//!
//! A step of a fused program reads its operands from L1-resident tiles and writes its result to
//! another; that costs a load and a store per element whatever the step computes, about as much
//! as the arithmetic of a simple step. The chains below recur in every model (the activations of
//! `nn`, a scale and shift), so [`specialize`] recognises them and replaces each by one
//! instruction whose kernel keeps the intermediate values in registers:
//!
//! - [`Activation::GeluTanh`]: `x * 0.5 * (tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)) + 1)`, the
//!   chain `nn.gelu_approx` traces to (the cube as `x ** 3` or `(x * x) * x`);
//! - [`Activation::Gelu`]: `x * (erf(x / sqrt(2)) + 1) / 2` (`nn.gelu`);
//! - [`Activation::Silu`]: `x * sigmoid(x)` (`nn.silu`);
//! - [`Step::MulAdd`]: `a * b + c`;
//! - [`Step::MulAddActivation`]: one of the activations above applied to an `a * b + c` that
//!   nothing else reads (a scale and shift, or a bias, feeding an activation: one pass over the
//!   tile instead of two).
//!
//! The kernels run the same f32 operations in the same order as the chain (each rounded as the
//! chain rounds it; no fused multiply-add), so a rewritten program gives bit-identical results.
//! Only all-f32 chains whose intermediate values nothing else reads are rewritten, and the
//! constants must be the ones the chain uses, exactly (they are read from the program's
//! broadcast scalar inputs at evaluation).

use super::binary::BinaryOp;
use super::fused::{Activation, Instr, Program, Step};
use super::unary::UnaryOp;
use crate::Dtype;

/// What [`specialize`] sees of a program: its instructions, which registers hold one known
/// value everywhere, and how many times each register is read (outputs count as reads).
struct View<'a> {
    p: &'a Program,
    consts: &'a [Option<f32>],
    uses: Vec<usize>,
    /// Instructions folded into a superinstruction (removed at the end).
    absorbed: Vec<bool>,
}

impl View<'_> {
    fn nin(&self) -> usize {
        self.p.inputs.len()
    }

    /// The instruction writing register `r`, if `r` is an f32 result read only once (so a
    /// superinstruction may absorb it).
    fn private(&self, r: usize) -> Option<&Instr> {
        self.result_read(r, 1)
    }

    /// The instruction writing register `r`, if `r` is an f32 result not yet absorbed and read
    /// exactly `times` times.
    fn result_read(&self, r: usize, times: usize) -> Option<&Instr> {
        let i = r.checked_sub(self.nin())?;
        let ins = self.p.instrs.get(i)?;
        (ins.dtype == Dtype::F32 && self.uses.get(r) == Some(&times) && !self.absorbed[i])
            .then_some(ins)
    }

    /// The instruction writing register `r` when `r` is an f32 result whose every read is by
    /// one of the instructions writing registers `readers` (so a superinstruction made of
    /// those may absorb it too).
    fn read_only_by(&self, r: usize, readers: &[usize]) -> Option<&Instr> {
        let nin = self.nin();
        let reads: usize = readers
            .iter()
            .filter_map(|&q| self.p.instrs.get(q.checked_sub(nin)?))
            .map(|reader| reader.args.iter().filter(|&&a| a == r).count())
            .sum();
        self.result_read(r, reads)
    }

    /// True when register `r` is a broadcast scalar equal to `v`.
    fn is_const(&self, r: usize, v: f32) -> bool {
        self.consts.get(r).copied().flatten() == Some(v)
    }

    /// The operands of private binary instruction `r` computing `op`.
    fn binary(&self, r: usize, op: BinaryOp) -> Option<(usize, usize)> {
        let ins = self.private(r)?;
        (ins.step == Step::Binary(op)).then(|| (ins.args[0], ins.args[1]))
    }

    /// The other operand of private `op` instruction `r` when one operand is the constant `v`
    /// (either side for the commutative ops, the right for the others).
    fn with_const(&self, r: usize, op: BinaryOp, v: f32) -> Option<usize> {
        let (a, b) = self.binary(r, op)?;
        if self.is_const(b, v) {
            Some(a)
        } else if commutative(op) && self.is_const(a, v) {
            Some(b)
        } else {
            None
        }
    }

    /// The operand of private unary instruction `r` computing `step`.
    fn unary(&self, r: usize, step: Step) -> Option<usize> {
        let ins = self.private(r)?;
        (ins.step == step).then(|| ins.args[0])
    }

    fn absorb(&mut self, regs: &[usize]) {
        let nin = self.nin();
        for &r in regs {
            self.absorbed[r - nin] = true;
        }
    }
}

fn commutative(op: BinaryOp) -> bool {
    matches!(op, BinaryOp::Add | BinaryOp::Multiply)
}

/// Both orders of a commutative pair: `f(a, b)` and then `f(b, a)`.
fn either<T>(a: usize, b: usize, f: impl Fn(usize, usize) -> Option<T>) -> Option<T> {
    f(a, b).or_else(|| f(b, a))
}

/// `nn.gelu_approx` rooted at instruction `root` (the final product): the input and the
/// registers absorbed.
fn gelu_tanh(v: &View, root: &Instr) -> Option<(usize, Vec<usize>)> {
    if root.step != Step::Binary(BinaryOp::Multiply) {
        return None;
    }
    either(root.args[0], root.args[1], |half, plus1| {
        let x = v.with_const(half, BinaryOp::Multiply, 0.5)?;
        let th = v.with_const(plus1, BinaryOp::Add, 1.0)?;
        let inner = v.unary(th, Step::Unary(UnaryOp::Tanh))?;
        let sum = v.with_const(inner, BinaryOp::Multiply, Activation::SQRT_2_OVER_PI)?;
        let (a, b) = v.binary(sum, BinaryOp::Add)?;
        let (cube_k, _) = either(a, b, |x2, ck| (x2 == x).then_some((ck, x2)))?;
        let cube = v.with_const(cube_k, BinaryOp::Multiply, Activation::GELU_CUBIC)?;
        let mut absorbed = vec![half, plus1, th, inner, sum, cube_k];
        absorbed.extend(cube_of(v, cube, x)?);
        Some((x, absorbed))
    })
}

/// The registers computing `cube` as `x^3` from `x`: `x ** 3` (a `PowInt`) or `(x * x) * x`,
/// which round alike.
fn cube_of(v: &View, cube: usize, x: usize) -> Option<Vec<usize>> {
    if v.unary(cube, Step::PowInt(3)) == Some(x) {
        return Some(vec![cube]);
    }
    let (a, b) = v.binary(cube, BinaryOp::Multiply)?;
    either(a, b, |sq, x1| {
        (x1 == x && v.binary(sq, BinaryOp::Multiply)? == (x, x)).then(|| vec![cube, sq])
    })
}

/// `nn.gelu` rooted at `root` (the division by 2).
fn gelu(v: &View, root: &Instr) -> Option<(usize, Vec<usize>)> {
    if root.step != Step::Binary(BinaryOp::Divide) || !v.is_const(root.args[1], 2.0) {
        return None;
    }
    let prod = root.args[0];
    let (a, b) = v.binary(prod, BinaryOp::Multiply)?;
    either(a, b, |x, plus1| {
        let e = v.with_const(plus1, BinaryOp::Add, 1.0)?;
        let scaled = v.unary(e, Step::Unary(UnaryOp::Erf))?;
        let (x2, k) = v.binary(scaled, BinaryOp::Divide)?;
        (x2 == x && v.is_const(k, Activation::SQRT_2)).then(|| (x, vec![prod, plus1, e, scaled]))
    })
}

/// `nn.silu` rooted at `root` (the product).
fn silu(v: &View, root: &Instr) -> Option<(usize, Vec<usize>)> {
    if root.step != Step::Binary(BinaryOp::Multiply) {
        return None;
    }
    either(root.args[0], root.args[1], |x, s| {
        (v.unary(s, Step::Unary(UnaryOp::Sigmoid))? == x).then(|| (x, vec![s]))
    })
}

/// `a * b + c` rooted at `root` (the sum): the three operands and the product's register.
fn mul_add(v: &View, root: &Instr) -> Option<(Vec<usize>, usize)> {
    if root.step != Step::Binary(BinaryOp::Add) {
        return None;
    }
    either(root.args[0], root.args[1], |m, c| {
        let (a, b) = v.binary(m, BinaryOp::Multiply)?;
        Some((vec![a, b, c], m))
    })
}

/// The `a * b + c` computing activation input `x` when nothing but the activation's own
/// instructions (`readers`) reads it: the three operands and the registers absorbed.
fn mul_add_input(v: &View, x: usize, readers: &[usize]) -> Option<(Vec<usize>, Vec<usize>)> {
    let sum = v.read_only_by(x, readers)?;
    if sum.step != Step::Binary(BinaryOp::Add) {
        return None;
    }
    either(sum.args[0], sum.args[1], |m, c| {
        let (a, b) = v.binary(m, BinaryOp::Multiply)?;
        Some((vec![a, b, c], vec![x, m]))
    })
}

/// `program` with the chains of the module documentation replaced by superinstructions.
/// `consts[r]` is the value of input register `r` when it is one broadcast scalar. Returns the
/// program unchanged when nothing matches.
pub fn specialize(program: &Program, consts: &[Option<f32>]) -> Program {
    let nin = program.inputs.len();
    let n = program.instrs.len();
    let mut uses = vec![0usize; nin + n];
    for ins in &program.instrs {
        for &a in &ins.args {
            if let Some(u) = uses.get_mut(a) {
                *u += 1;
            }
        }
    }
    for &o in &program.outputs {
        if let Some(u) = uses.get_mut(o) {
            *u += 1;
        }
    }
    let mut v = View {
        p: program,
        consts,
        uses,
        absorbed: vec![false; n],
    };
    let mut instrs = program.instrs.clone();
    // from the last instruction down, so a whole activation is seen before its parts
    for i in (0..n).rev() {
        if v.absorbed[i] {
            continue;
        }
        let root = &program.instrs[i];
        if root.dtype != Dtype::F32 {
            continue;
        }
        let act = [
            (Activation::GeluTanh, gelu_tanh as fn(&View, &Instr) -> _),
            (Activation::Gelu, gelu),
            (Activation::Silu, silu),
        ]
        .into_iter()
        .find_map(|(act, f)| f(&v, root).map(|m| (act, m)));
        if let Some((act, (x, mut inner))) = act {
            let mut readers = inner.clone();
            readers.push(nin + i);
            instrs[i] = match mul_add_input(&v, x, &readers) {
                Some((args, sum)) => {
                    inner.extend(sum);
                    Instr {
                        step: Step::MulAddActivation(act),
                        args,
                        dtype: Dtype::F32,
                    }
                }
                None => Instr {
                    step: Step::Activation(act),
                    args: vec![x],
                    dtype: Dtype::F32,
                },
            };
            v.absorb(&inner);
        } else if let Some((args, m)) = mul_add(&v, root) {
            v.absorb(&[m]);
            instrs[i] = Instr {
                step: Step::MulAdd,
                args,
                dtype: Dtype::F32,
            };
        }
    }
    if !v.absorbed.contains(&true) {
        return program.clone();
    }
    // drop the absorbed instructions (nothing else reads them) and renumber the registers
    let mut new_reg: Vec<usize> = (0..nin).collect();
    let mut kept = Vec::with_capacity(n);
    for (i, mut ins) in instrs.into_iter().enumerate() {
        if v.absorbed[i] {
            new_reg.push(usize::MAX);
            continue;
        }
        ins.args.iter_mut().for_each(|a| *a = new_reg[*a]);
        new_reg.push(nin + kept.len());
        kept.push(ins);
    }
    Program {
        inputs: program.inputs.clone(),
        instrs: kept,
        outputs: program.outputs.iter().map(|&o| new_reg[o]).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::fused::eval;
    use crate::buffer::{Buffer, Data};
    use crate::layout::Layout;

    /// Register 0: `n` test values (ordinary, tiny, huge, signed zeros, infinities, NaN);
    /// registers 1..: the scalars `consts`, broadcast.
    fn inputs(consts: &[f32]) -> (Vec<Data>, Vec<usize>) {
        let mut xs: Vec<f32> = (0..4000).map(|i| (i as f32 - 2000.0) * 0.0123).collect();
        xs.extend([
            0.0,
            -0.0,
            1e-30,
            -1e-30,
            1e30,
            -1e30,
            88.0,
            -88.0,
            f32::INFINITY,
        ]);
        xs.extend([f32::NEG_INFINITY, f32::NAN, 3.0e-39, f32::MAX, f32::MIN]);
        let shape = vec![xs.len()];
        let mut v = vec![Data::new(Buffer::from_slice(&xs), Dtype::F32, &shape)];
        for &c in consts {
            let one = Data::new(Buffer::from_slice(&[c]), Dtype::F32, &[1]);
            let layout = Layout::new(shape.clone(), vec![0], 0);
            v.push(one.with_layout(layout).expect("a broadcast scalar"));
        }
        (v, shape)
    }

    fn ins(step: Step, args: &[usize]) -> Instr {
        Instr {
            step,
            args: args.to_vec(),
            dtype: Dtype::F32,
        }
    }

    fn bits(d: &Data) -> Vec<u32> {
        d.raw::<f32>().iter().map(|v| v.to_bits()).collect()
    }

    /// Specialises `instrs` over `x` and `consts`, checks the rewritten program has `want`
    /// instructions, and that both programs give the same bits.
    fn check(consts: &[f32], instrs: Vec<Instr>, want: &[Step]) {
        let (data, shape) = inputs(consts);
        let nin = data.len();
        let p = Program {
            inputs: vec![Dtype::F32; nin],
            outputs: vec![nin + instrs.len() - 1],
            instrs,
        };
        let known: Vec<Option<f32>> = std::iter::once(None)
            .chain(consts.iter().map(|&c| Some(c)))
            .collect();
        let q = specialize(&p, &known);
        q.validate().expect("a valid program");
        let steps: Vec<Step> = q.instrs.iter().map(|i| i.step).collect();
        assert_eq!(steps, want);
        let a = eval(&p, &data, &shape).expect("the chain runs");
        let b = eval(&q, &data, &shape).expect("the superinstruction runs");
        let (xs, a, b) = (data[0].raw::<f32>(), bits(&a[0]), bits(&b[0]));
        // the same bits, but any NaN for a NaN (which operand's NaN a product passes on
        // depends on the order of its operands, and either order is the same product)
        let same = |i: usize| {
            a[i] == b[i] || (f32::from_bits(a[i]).is_nan() && f32::from_bits(b[i]).is_nan())
        };
        if let Some(i) = (0..a.len()).find(|&i| !same(i)) {
            panic!(
                "{want:?} at x = {}: chain {}, superinstruction {}",
                xs[i],
                f32::from_bits(a[i]),
                f32::from_bits(b[i])
            );
        }
    }

    fn gelu_tanh_chain() -> Vec<Instr> {
        use BinaryOp::{Add, Multiply};
        // registers: 0 x, 1 k, 2 sqrt(2/pi), 3 one, 4 half
        vec![
            ins(Step::PowInt(3), &[0]),
            ins(Step::Binary(Multiply), &[5, 1]),
            ins(Step::Binary(Add), &[0, 6]),
            ins(Step::Binary(Multiply), &[7, 2]),
            ins(Step::Unary(UnaryOp::Tanh), &[8]),
            ins(Step::Binary(Add), &[9, 3]),
            ins(Step::Binary(Multiply), &[0, 4]),
            ins(Step::Binary(Multiply), &[11, 10]),
        ]
    }

    const SQRT_2_OVER_PI: f32 = Activation::SQRT_2_OVER_PI;

    #[test]
    fn gelu_approx_chain_is_one_step_with_the_same_bits() {
        assert_eq!(SQRT_2_OVER_PI, (2.0 / std::f64::consts::PI).sqrt() as f32);
        let consts = [0.044715, SQRT_2_OVER_PI, 1.0, 0.5];
        check(
            &consts,
            gelu_tanh_chain(),
            &[Step::Activation(Activation::GeluTanh)],
        );
    }

    #[test]
    fn gelu_approx_with_the_cube_as_products_is_one_step() {
        use BinaryOp::{Add, Multiply};
        let mut chain = gelu_tanh_chain();
        // x * x, then (x * x) * x in place of x ** 3; registers after 5 move up by one
        chain[0] = ins(Step::Binary(Multiply), &[0, 0]);
        chain.insert(1, ins(Step::Binary(Multiply), &[0, 5]));
        for (i, step) in chain.iter_mut().enumerate().skip(2) {
            for a in step.args.iter_mut().filter(|a| **a >= 5) {
                *a += 1;
            }
            assert!(step.args.iter().all(|&a| a < 5 + i));
        }
        assert_eq!(chain[2].step, Step::Binary(Multiply));
        assert_eq!(chain[3].step, Step::Binary(Add));
        check(
            &[0.044715, SQRT_2_OVER_PI, 1.0, 0.5],
            chain,
            &[Step::Activation(Activation::GeluTanh)],
        );
    }

    /// `gelu_approx(x * s + t)`: registers 0 x, 1 s, 2 t, 3 k, 4 sqrt(2/pi), 5 one, 6 half.
    fn gelu_tanh_of_mul_add_chain() -> Vec<Instr> {
        use BinaryOp::{Add, Multiply};
        vec![
            ins(Step::Binary(Multiply), &[0, 1]),
            ins(Step::Binary(Add), &[7, 2]),
            ins(Step::PowInt(3), &[8]),
            ins(Step::Binary(Multiply), &[9, 3]),
            ins(Step::Binary(Add), &[8, 10]),
            ins(Step::Binary(Multiply), &[11, 4]),
            ins(Step::Unary(UnaryOp::Tanh), &[12]),
            ins(Step::Binary(Add), &[13, 5]),
            ins(Step::Binary(Multiply), &[8, 6]),
            ins(Step::Binary(Multiply), &[15, 14]),
        ]
    }

    #[test]
    fn an_activation_of_a_scale_and_shift_is_one_step_with_the_same_bits() {
        let consts = [1.7, -0.3, 0.044715, SQRT_2_OVER_PI, 1.0, 0.5];
        check(
            &consts,
            gelu_tanh_of_mul_add_chain(),
            &[Step::MulAddActivation(Activation::GeluTanh)],
        );
        // the shift first: t + x * s
        let mut chain = gelu_tanh_of_mul_add_chain();
        chain[1].args = vec![2, 7];
        check(
            &consts,
            chain,
            &[Step::MulAddActivation(Activation::GeluTanh)],
        );
        // silu of a bias alone (no product): the activation only
        check(
            &[0.75],
            vec![
                ins(Step::Binary(BinaryOp::Add), &[0, 1]),
                ins(Step::Unary(UnaryOp::Sigmoid), &[2]),
                ins(Step::Binary(BinaryOp::Multiply), &[2, 3]),
            ],
            &[
                Step::Binary(BinaryOp::Add),
                Step::Activation(Activation::Silu),
            ],
        );
    }

    #[test]
    fn a_scale_and_shift_read_elsewhere_stays_a_step_of_its_own() {
        let known = [
            None,
            Some(1.7),
            Some(-0.3),
            Some(0.044715),
            Some(SQRT_2_OVER_PI),
            Some(1.0),
            Some(0.5),
        ];
        let p = Program {
            inputs: vec![Dtype::F32; 7],
            instrs: gelu_tanh_of_mul_add_chain(),
            // x * s + t is an output too
            outputs: vec![16, 8],
        };
        let q = specialize(&p, &known);
        let steps: Vec<Step> = q.instrs.iter().map(|i| i.step).collect();
        assert_eq!(
            steps,
            [Step::MulAdd, Step::Activation(Activation::GeluTanh)]
        );
        assert_eq!(q.outputs, [8, 7]);
    }

    #[test]
    fn a_chain_with_other_constants_is_left_alone() {
        // 0.0447 instead of 0.044715: not gelu_approx; only its multiply-adds are rewritten
        let consts = [0.0447, SQRT_2_OVER_PI, 1.0, 0.5];
        let p = Program {
            inputs: vec![Dtype::F32; 5],
            instrs: gelu_tanh_chain(),
            outputs: vec![12],
        };
        let known: Vec<Option<f32>> = std::iter::once(None)
            .chain(consts.iter().map(|&c| Some(c)))
            .collect();
        let q = specialize(&p, &known);
        assert!(q
            .instrs
            .iter()
            .all(|i| !matches!(i.step, Step::Activation(_))));
        // nor when the constants are unknown (not broadcast scalars)
        let q = specialize(&p, &[None; 5]);
        assert!(q
            .instrs
            .iter()
            .all(|i| !matches!(i.step, Step::Activation(_))));
    }

    #[test]
    fn an_intermediate_read_elsewhere_is_not_absorbed() {
        let p = Program {
            inputs: vec![Dtype::F32; 5],
            instrs: gelu_tanh_chain(),
            // the tanh is an output too
            outputs: vec![12, 9],
        };
        let known = [
            None,
            Some(0.044715),
            Some(SQRT_2_OVER_PI),
            Some(1.0),
            Some(0.5),
        ];
        let q = specialize(&p, &known);
        assert!(q
            .instrs
            .iter()
            .all(|i| !matches!(i.step, Step::Activation(_))));
        assert_eq!(q.outputs.len(), 2);
    }

    #[test]
    fn gelu_and_silu_chains_are_one_step_with_the_same_bits() {
        use BinaryOp::{Add, Divide, Multiply};
        // gelu: registers 0 x, 1 sqrt(2), 2 one, 3 two
        check(
            &[std::f64::consts::SQRT_2 as f32, 1.0, 2.0],
            vec![
                ins(Step::Binary(Divide), &[0, 1]),
                ins(Step::Unary(UnaryOp::Erf), &[4]),
                ins(Step::Binary(Add), &[5, 2]),
                ins(Step::Binary(Multiply), &[0, 6]),
                ins(Step::Binary(Divide), &[7, 3]),
            ],
            &[Step::Activation(Activation::Gelu)],
        );
        // silu, with the product's operands either way round
        for args in [[0, 1], [1, 0]] {
            check(
                &[],
                vec![
                    ins(Step::Unary(UnaryOp::Sigmoid), &[0]),
                    ins(Step::Binary(Multiply), &args),
                ],
                &[Step::Activation(Activation::Silu)],
            );
        }
    }

    #[test]
    fn multiply_adds_fuse_and_keep_their_rounding() {
        use BinaryOp::{Add, Multiply};
        // (x * 3) + x, then * 0.1 + 7: two multiply-adds; then + x (a plain add stays)
        check(
            &[3.0, 0.1, 7.0],
            vec![
                ins(Step::Binary(Multiply), &[0, 1]),
                ins(Step::Binary(Add), &[4, 0]),
                ins(Step::Binary(Multiply), &[5, 2]),
                ins(Step::Binary(Add), &[3, 6]),
                ins(Step::Binary(Add), &[7, 0]),
            ],
            &[Step::MulAdd, Step::MulAdd, Step::Binary(Add)],
        );
        // a product read twice stays a product
        check(
            &[3.0],
            vec![
                ins(Step::Binary(Multiply), &[0, 1]),
                ins(Step::Binary(Add), &[2, 0]),
                ins(Step::Binary(Multiply), &[2, 3]),
            ],
            &[
                Step::Binary(Multiply),
                Step::Binary(Add),
                Step::Binary(Multiply),
            ],
        );
    }
}
