//! vjp/jvp rules of the elementwise primitives, called directly on the primitives (so they are
//! tested independently of the transforms), against central finite differences in f64; MLX's
//! tie rules; zero gradients of the right dtype for the non-differentiable ops.
// Tests favour plain `&[x.clone()]` argument lists and inline fn-pointer tables over helpers.

use crate::elementwise_common;

use elementwise_common::*;
use rmlx_core::primitives::binary::{Binary, BinaryOp};
use rmlx_core::primitives::ternary::Select;
use rmlx_core::primitives::unary::{StopGradient, Unary, UnaryOp};
use rmlx_core::primitives::Primitive;
use rmlx_core::{self as mx, Array, Dtype};

const H: f64 = 1e-6;

fn arr(v: &[f64]) -> Array {
    Array::from_slice(v, &[v.len()]).unwrap()
}

fn check_close(what: &str, got: &[f64], want: &[f64]) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-6 * (1.0 + w.abs()),
            "{what}: element {i}: got {g}, finite difference {w}"
        );
    }
}

/// Checks vjp and jvp of unary `op` at points in `[lo, hi]` against central differences.
fn fd_unary(op: UnaryOp, f: fn(&Array) -> mx::Result<Array>, lo: f64, hi: f64) {
    let mut rng = SplitMix(op as u64 + 1);
    let n = 9;
    let xv: Vec<f64> = (0..n).map(|_| rng.uniform(lo, hi)).collect();
    let cv: Vec<f64> = (0..n).map(|_| rng.uniform(-2.0, 2.0)).collect();
    let x = arr(&xv);
    let out = f(&x).unwrap();
    let prim = Unary(op);
    let g = prim.vjp(&[x.clone()], &arr(&cv), &out, &[0]).unwrap();
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].dtype(), Dtype::F64);
    let fp = vals(&f(&arr(&xv.iter().map(|v| v + H).collect::<Vec<_>>())).unwrap());
    let fm = vals(&f(&arr(&xv.iter().map(|v| v - H).collect::<Vec<_>>())).unwrap());
    let d: Vec<f64> = fp
        .iter()
        .zip(&fm)
        .map(|(p, m)| (p - m) / (2.0 * H))
        .collect();
    let want: Vec<f64> = d.iter().zip(&cv).map(|(d, c)| d * c).collect();
    check_close(&format!("vjp {op:?}"), &vals(&g[0]), &want);
    let t = prim.jvp(&[x], &[arr(&cv)], &[0]).unwrap();
    check_close(&format!("jvp {op:?}"), &vals(&t), &want);
}

#[test]
fn unary_rules_match_finite_differences() {
    use UnaryOp::*;
    let cases: [(UnaryOp, fn(&Array) -> mx::Result<Array>, f64, f64); 28] = [
        (Abs, mx::abs, 0.1, 2.0),
        (Negative, mx::negative, -2.0, 2.0),
        (Square, mx::square, -2.0, 2.0),
        (Sqrt, mx::sqrt, 0.2, 4.0),
        (Rsqrt, mx::rsqrt, 0.2, 4.0),
        (Reciprocal, mx::reciprocal, 0.3, 3.0),
        (Exp, mx::exp, -2.0, 2.0),
        (Expm1, mx::expm1, -2.0, 2.0),
        (Log, mx::log, 0.2, 4.0),
        (Log1p, mx::log1p, -0.5, 3.0),
        (Log2, mx::log2, 0.2, 4.0),
        (Log10, mx::log10, 0.2, 4.0),
        (Sin, mx::sin, -3.0, 3.0),
        (Cos, mx::cos, -3.0, 3.0),
        (Tan, mx::tan, -1.0, 1.0),
        (ArcSin, mx::arcsin, -0.8, 0.8),
        (ArcCos, mx::arccos, -0.8, 0.8),
        (ArcTan, mx::arctan, -3.0, 3.0),
        (Sinh, mx::sinh, -2.0, 2.0),
        (Cosh, mx::cosh, -2.0, 2.0),
        (Tanh, mx::tanh, -2.0, 2.0),
        (ArcSinh, mx::arcsinh, -3.0, 3.0),
        (ArcCosh, mx::arccosh, 1.2, 4.0),
        (ArcTanh, mx::arctanh, -0.8, 0.8),
        (Sigmoid, mx::sigmoid, -4.0, 4.0),
        (Erf, mx::erf, -2.0, 2.0),
        (ErfInv, mx::erfinv, -0.8, 0.8),
        (Abs, mx::abs, -2.0, -0.1),
    ];
    for (op, f, lo, hi) in cases {
        fd_unary(op, f, lo, hi);
    }
}

#[test]
fn zero_gradient_unary_ops() {
    use UnaryOp::*;
    let x = arr(&[-1.5, 0.2, 2.7]);
    let c = arr(&[1.0, 1.0, 1.0]);
    for op in [Sign, Floor, Ceil, Round] {
        let g = Unary(op).vjp(&[x.clone()], &c, &x, &[0]).unwrap();
        assert_eq!(vals(&g[0]), vec![0.0; 3], "{op:?}");
        assert_eq!(g[0].dtype(), Dtype::F64);
        let t = Unary(op).jvp(&[x.clone()], &[c.clone()], &[0]).unwrap();
        assert_eq!(vals(&t), vec![0.0; 3]);
    }
    // integer inputs get integer zeros
    let i = Array::from_slice(&[3i32, -4], &[2]).unwrap();
    let ci = Array::from_slice(&[1i32, 1], &[2]).unwrap();
    let g = Unary(Sign).vjp(&[i.clone()], &ci, &i, &[0]).unwrap();
    assert_eq!(g[0].dtype(), Dtype::I32);
    assert_eq!(g[0].to_vec::<i32>().unwrap(), vec![0, 0]);
    // abs of an integer: sign * cotangent, still integer
    let g = Unary(Abs).vjp(&[i.clone()], &ci, &i, &[0]).unwrap();
    assert_eq!(g[0].to_vec::<i32>().unwrap(), vec![1, -1]);
    // stop_gradient: zero vjp and jvp
    let s = mx::stop_gradient(&x).unwrap();
    assert_eq!(s.primitive_name(), Some("StopGradient"));
    let g = StopGradient.vjp(&[x.clone()], &c, &s, &[0]).unwrap();
    assert_eq!(vals(&g[0]), vec![0.0; 3]);
    assert_eq!(
        vals(&StopGradient.jvp(&[x.clone()], &[c], &[0]).unwrap()),
        vec![0.0; 3]
    );
}

/// Checks vjp (each argnum alone and both) and jvp of binary `op` against central differences.
fn fd_binary(
    op: BinaryOp,
    f: fn(&Array, &Array) -> mx::Result<Array>,
    a_rng: (f64, f64),
    b_rng: (f64, f64),
) {
    let mut rng = SplitMix(op as u64 + 100);
    let n = 9;
    let av: Vec<f64> = (0..n).map(|_| rng.uniform(a_rng.0, a_rng.1)).collect();
    let bv: Vec<f64> = (0..n).map(|_| rng.uniform(b_rng.0, b_rng.1)).collect();
    let cv: Vec<f64> = (0..n).map(|_| rng.uniform(-2.0, 2.0)).collect();
    let (a, b, c) = (arr(&av), arr(&bv), arr(&cv));
    let out = f(&a, &b).unwrap();
    let shift = |v: &[f64], h: f64| arr(&v.iter().map(|x| x + h).collect::<Vec<_>>());
    let da: Vec<f64> = vals(&f(&shift(&av, H), &b).unwrap())
        .iter()
        .zip(vals(&f(&shift(&av, -H), &b).unwrap()))
        .map(|(p, m)| (p - m) / (2.0 * H))
        .collect();
    let db: Vec<f64> = vals(&f(&a, &shift(&bv, H)).unwrap())
        .iter()
        .zip(vals(&f(&a, &shift(&bv, -H)).unwrap()))
        .map(|(p, m)| (p - m) / (2.0 * H))
        .collect();
    let wa: Vec<f64> = da.iter().zip(&cv).map(|(d, c)| d * c).collect();
    let wb: Vec<f64> = db.iter().zip(&cv).map(|(d, c)| d * c).collect();
    let prim = Binary(op);
    let primals = [a.clone(), b.clone()];
    let g = prim.vjp(&primals, &c, &out, &[0, 1]).unwrap();
    assert_eq!(g.len(), 2);
    check_close(&format!("vjp {op:?} a"), &vals(&g[0]), &wa);
    check_close(&format!("vjp {op:?} b"), &vals(&g[1]), &wb);
    // only the requested argnum is computed
    let g1 = prim.vjp(&primals, &c, &out, &[1]).unwrap();
    assert_eq!(g1.len(), 1);
    check_close(&format!("vjp {op:?} b alone"), &vals(&g1[0]), &wb);
    let ta = prim.jvp(&primals, &[c.clone()], &[0]).unwrap();
    check_close(&format!("jvp {op:?} a"), &vals(&ta), &wa);
    let tb = prim.jvp(&primals, &[c.clone()], &[1]).unwrap();
    check_close(&format!("jvp {op:?} b"), &vals(&tb), &wb);
    let both = prim.jvp(&primals, &[c.clone(), c], &[0, 1]).unwrap();
    let sum: Vec<f64> = wa.iter().zip(&wb).map(|(x, y)| x + y).collect();
    check_close(&format!("jvp {op:?} both"), &vals(&both), &sum);
}

#[test]
fn binary_rules_match_finite_differences() {
    use BinaryOp::*;
    fd_binary(Add, mx::add, (-2.0, 2.0), (-2.0, 2.0));
    fd_binary(Subtract, mx::subtract, (-2.0, 2.0), (-2.0, 2.0));
    fd_binary(Multiply, mx::multiply, (-2.0, 2.0), (-2.0, 2.0));
    fd_binary(Divide, mx::divide, (-2.0, 2.0), (0.5, 2.0));
    fd_binary(Remainder, mx::remainder, (0.1, 0.9), (1.1, 2.0));
    fd_binary(Remainder, mx::remainder, (2.2, 2.9), (1.1, 1.4));
    fd_binary(Power, mx::power, (0.3, 3.0), (-2.0, 2.0));
    fd_binary(Maximum, mx::maximum, (-2.0, 2.0), (-2.0, 2.0));
    fd_binary(Minimum, mx::minimum, (-2.0, 2.0), (-2.0, 2.0));
    fd_binary(LogAddExp, mx::logaddexp, (-3.0, 3.0), (-3.0, 3.0));
    fd_binary(ArcTan2, mx::arctan2, (-2.0, 2.0), (0.3, 2.0));
    fd_binary(ArcTan2, mx::arctan2, (0.3, 2.0), (-2.0, -0.3));
    fd_binary(FloorDivide, mx::floor_divide, (0.1, 0.9), (1.1, 2.0));
}

#[test]
fn maximum_minimum_ties_go_to_the_second_argument() {
    let a = arr(&[1.0, 2.0, 3.0, 0.0]);
    let b = arr(&[1.0, 5.0, 0.0, 0.0]);
    let c = arr(&[1.0, 1.0, 1.0, 1.0]);
    let out = mx::maximum(&a, &b).unwrap();
    let g = Binary(BinaryOp::Maximum)
        .vjp(&[a.clone(), b.clone()], &c, &out, &[0, 1])
        .unwrap();
    assert_eq!(vals(&g[0]), vec![0.0, 0.0, 1.0, 0.0]);
    assert_eq!(vals(&g[1]), vec![1.0, 1.0, 0.0, 1.0]);
    let out = mx::minimum(&a, &b).unwrap();
    let g = Binary(BinaryOp::Minimum)
        .vjp(&[a.clone(), b.clone()], &c, &out, &[0, 1])
        .unwrap();
    assert_eq!(vals(&g[0]), vec![0.0, 1.0, 0.0, 0.0]);
    assert_eq!(vals(&g[1]), vec![1.0, 0.0, 1.0, 1.0]);
    // relu = maximum(x, 0): gradient 0 at x == 0
    let x = arr(&[-1.0, 0.0, 2.0]);
    let z = Array::scalar(0.0f64).broadcast_to(&[3]).unwrap();
    let out = mx::maximum(&x, &z).unwrap();
    let g = Binary(BinaryOp::Maximum)
        .vjp(&[x, z], &arr(&[1.0, 1.0, 1.0]), &out, &[0])
        .unwrap();
    assert_eq!(vals(&g[0]), vec![0.0, 0.0, 1.0]);
}

#[test]
fn comparisons_logical_bitwise_have_zero_gradients() {
    use BinaryOp::*;
    let a = arr(&[1.0, 2.0]);
    let b = arr(&[2.0, 1.0]);
    let c = Array::from_bools(&[true, false], &[2]).unwrap();
    for op in [
        Equal,
        NotEqual,
        Less,
        LessEqual,
        Greater,
        GreaterEqual,
        FloorDivide,
    ] {
        let out = mx::binary_op(op, &a, &b).unwrap();
        let g = Binary(op)
            .vjp(&[a.clone(), b.clone()], &c, &out, &[0, 1])
            .unwrap();
        assert_eq!(g[0].dtype(), Dtype::F64, "{op:?}");
        assert_eq!(vals(&g[0]), vec![0.0, 0.0]);
        assert_eq!(vals(&g[1]), vec![0.0, 0.0]);
    }
    let i = Array::from_slice(&[6i32, 3], &[2]).unwrap();
    let j = Array::from_slice(&[1i32, 2], &[2]).unwrap();
    for op in [BitwiseAnd, BitwiseOr, BitwiseXor, LeftShift, RightShift] {
        let out = mx::binary_op(op, &i, &j).unwrap();
        let g = Binary(op)
            .vjp(&[i.clone(), j.clone()], &out, &out, &[0, 1])
            .unwrap();
        assert_eq!(g[0].dtype(), Dtype::I32, "{op:?}");
        assert_eq!(g[0].to_vec::<i32>().unwrap(), vec![0, 0]);
        let t = Binary(op)
            .jvp(&[i.clone(), j.clone()], &[i.clone()], &[0])
            .unwrap();
        assert_eq!(t.to_vec::<i32>().unwrap(), vec![0, 0]);
    }
    // integer maximum: integer masks
    let out = mx::maximum(&i, &j).unwrap();
    let g = Binary(Maximum)
        .vjp(&[i.clone(), j.clone()], &j, &out, &[0, 1])
        .unwrap();
    assert_eq!(g[0].dtype(), Dtype::I32);
    assert_eq!(g[0].to_vec::<i32>().unwrap(), vec![1, 2]);
    assert_eq!(g[1].to_vec::<i32>().unwrap(), vec![0, 0]);
}

#[test]
fn where_rules() {
    let c = Array::from_bools(&[true, false, true], &[3]).unwrap();
    let x = arr(&[1.0, 2.0, 3.0]);
    let y = arr(&[4.0, 5.0, 6.0]);
    let cot = arr(&[10.0, 20.0, 30.0]);
    let out = mx::where_(&c, &x, &y).unwrap();
    let g = Select
        .vjp(&[c.clone(), x.clone(), y.clone()], &cot, &out, &[0, 1, 2])
        .unwrap();
    assert_eq!(g[0].dtype(), Dtype::Bool);
    assert_eq!(g[0].to_vec::<bool>().unwrap(), vec![false; 3]);
    assert_eq!(vals(&g[1]), vec![10.0, 0.0, 30.0]);
    assert_eq!(vals(&g[2]), vec![0.0, 20.0, 0.0]);
    let g = Select
        .vjp(&[c.clone(), x.clone(), y.clone()], &cot, &out, &[2])
        .unwrap();
    assert_eq!(g.len(), 1);
    assert_eq!(vals(&g[0]), vec![0.0, 20.0, 0.0]);
    let t = Select
        .jvp(&[c.clone(), x.clone(), y.clone()], &[cot.clone()], &[1])
        .unwrap();
    assert_eq!(vals(&t), vec![10.0, 0.0, 30.0]);
    let t = Select
        .jvp(&[c, x, y], &[cot.clone(), cot], &[1, 2])
        .unwrap();
    assert_eq!(vals(&t), vec![10.0, 20.0, 30.0]);
}
