//! Elementwise ops against naive per-element f64 / exact-integer references, for every dtype
//! each op accepts, on contiguous, transposed and broadcast inputs, with MLX's dtype rules.
// Tests favour plain `&[x.clone()]` argument lists and inline fn-pointer tables over helpers.

use crate::elementwise_common;

use elementwise_common::*;
use proptest::prelude::*;
use rmlx_core::{self as mx, Array, Dtype, ALL_DTYPES};

/// Every real dtype (complex64 has its own MLX oracle cases in `oracle_fft`).
fn real_dtypes() -> impl Iterator<Item = Dtype> {
    ALL_DTYPES.into_iter().filter(|d| !d.is_complex())
}

/// (name, op, f64 reference, domain lo, domain hi)
type MathCase = (&'static str, Op1, fn(f64) -> f64, f64, f64);

fn sigmoid64(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn erfinv64(y: f64) -> f64 {
    // bisection on the f64 erf (independent of the library's Newton refinement)
    let (mut lo, mut hi) = (-10.0f64, 10.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if libm_erf(mid) < y {
            lo = mid
        } else {
            hi = mid
        }
    }
    0.5 * (lo + hi)
}

/// erf by its Maclaurin series / continued fraction-free asymptotic split, good to ~1e-15 on
/// the ranges used here.
fn libm_erf(x: f64) -> f64 {
    if x.abs() > 6.0 {
        return x.signum();
    }
    if x.abs() < 2.5 {
        // Maclaurin: 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
        let mut term = x;
        let mut sum = x;
        for n in 1..200 {
            term *= -x * x / n as f64;
            let add = term / (2 * n + 1) as f64;
            sum += add;
            if add.abs() < 1e-18 {
                break;
            }
        }
        return sum * 2.0 / std::f64::consts::PI.sqrt();
    }
    // erfc continued fraction (Lentz) for larger |x|
    let z = x.abs();
    let mut f = z;
    let (mut c, mut d) = (z, 0.0);
    for k in 1..300 {
        let a = k as f64 / 2.0;
        d = z + a * d;
        d = 1.0 / d;
        c = z + a / c;
        f *= c * d;
    }
    let erfc = (-z * z).exp() / (f * std::f64::consts::PI.sqrt());
    x.signum() * (1.0 - erfc)
}

fn math_cases() -> Vec<MathCase> {
    vec![
        ("sqrt", mx::sqrt, f64::sqrt, 0.0, 9.0),
        ("rsqrt", mx::rsqrt, |x| 1.0 / x.sqrt(), 0.05, 9.0),
        ("reciprocal", mx::reciprocal, |x| 1.0 / x, 0.2, 5.0),
        ("exp", mx::exp, f64::exp, -8.0, 8.0),
        ("expm1", mx::expm1, f64::exp_m1, -3.0, 3.0),
        ("log", mx::log, f64::ln, 0.05, 20.0),
        ("log1p", mx::log1p, f64::ln_1p, -0.9, 10.0),
        ("log2", mx::log2, f64::log2, 0.05, 20.0),
        ("log10", mx::log10, f64::log10, 0.05, 20.0),
        ("sin", mx::sin, f64::sin, -4.0, 4.0),
        ("cos", mx::cos, f64::cos, -4.0, 4.0),
        ("tan", mx::tan, f64::tan, -1.2, 1.2),
        ("arcsin", mx::arcsin, f64::asin, -0.95, 0.95),
        ("arccos", mx::arccos, f64::acos, -0.95, 0.95),
        ("arctan", mx::arctan, f64::atan, -5.0, 5.0),
        ("sinh", mx::sinh, f64::sinh, -3.0, 3.0),
        ("cosh", mx::cosh, f64::cosh, -3.0, 3.0),
        ("tanh", mx::tanh, f64::tanh, -4.0, 4.0),
        ("arcsinh", mx::arcsinh, f64::asinh, -5.0, 5.0),
        ("arccosh", mx::arccosh, f64::acosh, 1.05, 8.0),
        ("arctanh", mx::arctanh, f64::atanh, -0.9, 0.9),
        ("sigmoid", mx::sigmoid, sigmoid64, -10.0, 10.0),
        ("erf", mx::erf, libm_erf, -3.0, 3.0),
        ("erfinv", mx::erfinv, erfinv64, -0.95, 0.95),
    ]
}

/// (name, op, float reference, integer reference (None: identity))
type KeepCase = (&'static str, Op1, fn(f64) -> f64, Option<fn(i128) -> i128>);

fn keep_cases() -> Vec<KeepCase> {
    vec![
        ("abs", mx::abs, f64::abs, Some(|v| v.abs())),
        ("negative", mx::negative, |x| -x, Some(|v| -v)),
        (
            "sign",
            mx::sign,
            |x| {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            },
            Some(|v| v.signum()),
        ),
        ("square", mx::square, |x| x * x, Some(|v| v * v)),
        ("floor", mx::floor, f64::floor, None),
        ("ceil", mx::ceil, f64::ceil, None),
        ("round", mx::round, f64::round_ties_even, None),
    ]
}

fn check_unary(seed: u64, shape: [usize; 2], layout: u8) {
    let mut rng = SplitMix(seed);
    for (name, op, f, lo, hi) in math_cases() {
        for d in real_dtypes() {
            let (lo, hi) = if d.is_float() {
                (lo, hi)
            } else {
                // integer inputs: whole numbers inside the domain
                (
                    lo.ceil()
                        .max(if d == Dtype::Bool { 0.0 } else { lo.ceil() }),
                    hi.floor(),
                )
            };
            if d != Dtype::Bool && !d.is_float() && lo > hi {
                continue;
            }
            if d == Dtype::Bool && (lo > 0.0 || hi < 1.0) {
                continue;
            }
            let x = input(d, shape, layout, lo, hi, &mut rng);
            let y = op(&x).unwrap();
            let want_dtype = if d.is_float() { d } else { Dtype::F32 };
            assert_eq!(y.dtype(), want_dtype, "{name}({d}) dtype");
            assert_eq!(y.shape(), &shape[..]);
            let xv = vals(&x);
            let want: Vec<f64> = xv.iter().map(|&v| f(v)).collect();
            assert_close(name, &vals(&y), &want, &[&xv], want_dtype);
        }
    }
    for (name, op, f, fi) in keep_cases() {
        for d in real_dtypes() {
            if d == Dtype::Bool && name == "negative" {
                continue;
            }
            let x = input(d, shape, layout, -40.0, 40.0, &mut rng);
            let y = op(&x).unwrap();
            assert_eq!(y.dtype(), d, "{name}({d}) keeps the dtype");
            let xv = vals(&x);
            let yv = vals(&y);
            if d.is_float() {
                let want: Vec<f64> = xv.iter().map(|&v| round_to(f(v), d)).collect();
                assert_close(name, &yv, &want, &[&xv], d);
            } else if d == Dtype::Bool {
                assert_eq!(yv, xv, "{name}(bool) is the identity");
            } else {
                let want: Vec<f64> = xv
                    .iter()
                    .map(|&v| match fi {
                        Some(g) => wrap(g(v as i128), d) as f64,
                        None => v,
                    })
                    .collect();
                assert_eq!(yv, want, "{name}({d}) on {xv:?}");
            }
        }
    }
    for d in real_dtypes() {
        let x = input(d, shape, layout, -2.0, 2.0, &mut rng);
        let y = mx::logical_not(&x).unwrap();
        assert_eq!(y.dtype(), Dtype::Bool);
        let want: Vec<bool> = vals(&x).iter().map(|&v| v == 0.0).collect();
        assert_eq!(y.to_vec::<bool>().unwrap(), want, "logical_not({d})");
        if !d.is_float() {
            let inv = mx::bitwise_invert(&x).unwrap();
            assert_eq!(inv.dtype(), d);
            let want: Vec<f64> = vals(&x)
                .iter()
                .map(|&v| {
                    if d == Dtype::Bool {
                        (v == 0.0) as u8 as f64
                    } else {
                        wrap(!(v as i128), d) as f64
                    }
                })
                .collect();
            assert_eq!(vals(&inv), want, "bitwise_invert({d})");
        }
    }
}

/// (name, op, float reference, integer reference or None when integers give float32,
///  b nonzero required)
type BinCase = (
    &'static str,
    Op2,
    fn(f64, f64) -> f64,
    Option<fn(i128, i128) -> i128>,
    bool,
);

fn py_floordiv(a: i128, b: i128) -> i128 {
    if b == 0 {
        0
    } else {
        a.div_euclid(b) - if b < 0 && a.rem_euclid(b) != 0 { 1 } else { 0 }
    }
}

fn py_rem(a: i128, b: i128) -> i128 {
    if b == 0 {
        0
    } else {
        a - b * py_floordiv(a, b)
    }
}

fn py_fmod(a: f64, b: f64) -> f64 {
    let r = a % b;
    if r != 0.0 && ((r < 0.0) != (b < 0.0)) {
        r + b
    } else {
        r
    }
}

fn ipow(a: i128, b: i128) -> i128 {
    let mut acc: i128 = 1;
    for _ in 0..b {
        acc = acc.wrapping_mul(a);
    }
    acc
}

fn bin_cases() -> Vec<BinCase> {
    vec![
        ("add", mx::add, |a, b| a + b, Some(|a, b| a + b), false),
        (
            "subtract",
            mx::subtract,
            |a, b| a - b,
            Some(|a, b| a - b),
            false,
        ),
        (
            "multiply",
            mx::multiply,
            |a, b| a * b,
            Some(|a, b| a * b),
            false,
        ),
        ("divide", mx::divide, |a, b| a / b, None, true),
        (
            "floor_divide",
            mx::floor_divide,
            |a, b| (a / b).floor(),
            Some(py_floordiv),
            true,
        ),
        ("remainder", mx::remainder, py_fmod, Some(py_rem), true),
        (
            "maximum",
            mx::maximum,
            f64::max,
            Some(|a, b| a.max(b)),
            false,
        ),
        (
            "minimum",
            mx::minimum,
            f64::min,
            Some(|a, b| a.min(b)),
            false,
        ),
        (
            "logaddexp",
            mx::logaddexp,
            |a, b| a.max(b) + (-(a - b).abs()).exp().ln_1p(),
            None,
            false,
        ),
        ("arctan2", mx::arctan2, f64::atan2, None, false),
    ]
}

fn nonzero(v: f64) -> f64 {
    if v.abs() < 0.5 {
        if v < 0.0 {
            v - 0.5
        } else {
            v + 0.5
        }
    } else {
        v
    }
}

/// `b` in layout `lb`, where layout 3 is a 1-d array of the last axis (broadcast by the op).
fn rhs(
    d: Dtype,
    shape: [usize; 2],
    lb: u8,
    lo: f64,
    hi: f64,
    rng: &mut SplitMix,
    fix: fn(f64) -> f64,
) -> (Array, Vec<f64>) {
    if lb == 3 {
        let b = input_fixed(d, [1, shape[1]], 0, lo, hi, rng, fix)
            .reshape([shape[1]])
            .unwrap();
        let bv = vals(&b);
        let full = (0..shape[0] * shape[1]).map(|k| bv[k % shape[1]]).collect();
        (b, full)
    } else {
        let b = input_fixed(d, shape, lb, lo, hi, rng, fix);
        let bv = vals(&b);
        (b, bv)
    }
}

fn check_binary(seed: u64, shape: [usize; 2], la: u8, lb: u8) {
    let mut rng = SplitMix(seed);
    for (name, op, f, fi, nz) in bin_cases() {
        let fix: fn(f64) -> f64 = if nz { nonzero } else { |v| v };
        for d in real_dtypes().filter(|&d| d != Dtype::Bool) {
            let (lo, hi) = if d.is_unsigned_int() {
                (0.0, 60.0)
            } else {
                (-6.0, 6.0)
            };
            let a = input(d, shape, la, lo, hi, &mut rng);
            let (b, bv) = rhs(d, shape, lb, lo, hi, &mut rng, fix);
            let b = if nz && !d.is_float() {
                // integers: make zeros ones
                let one = Array::scalar_as(1.0, d);
                mx::where_(&mx::equal(&b, &Array::scalar_as(0.0, d)).unwrap(), &one, &b).unwrap()
            } else {
                b
            };
            let bv: Vec<f64> = if nz && !d.is_float() {
                bv.iter().map(|&v| if v == 0.0 { 1.0 } else { v }).collect()
            } else {
                bv
            };
            let y = op(&a, &b).unwrap();
            let av = vals(&a);
            let out_d = if d.is_float() || fi.is_some() {
                d
            } else {
                Dtype::F32
            };
            assert_eq!(y.dtype(), out_d, "{name}({d}) dtype");
            assert_eq!(y.shape(), &shape[..]);
            let yv = vals(&y);
            match (d.is_float(), fi) {
                (false, Some(g)) => {
                    let want: Vec<f64> = av
                        .iter()
                        .zip(&bv)
                        .map(|(&x, &z)| wrap(g(x as i128, z as i128), d) as f64)
                        .collect();
                    assert_eq!(yv, want, "{name}({d}) a={av:?} b={bv:?}");
                }
                _ => {
                    let want: Vec<f64> = av.iter().zip(&bv).map(|(&x, &z)| f(x, z)).collect();
                    assert_close(name, &yv, &want, &[&av, &bv], out_d);
                }
            }
        }
    }
    // power: floats with a positive base, integers with small non-negative exponents
    for d in real_dtypes().filter(|&d| d != Dtype::Bool) {
        let (a, (b, bv)) = if d.is_float() {
            (
                input(d, shape, la, 0.2, 3.0, &mut rng),
                rhs(d, shape, lb, -2.0, 2.0, &mut rng, |v| v),
            )
        } else {
            let lo = if d.is_unsigned_int() { 0.0 } else { -3.0 };
            (
                input(d, shape, la, lo, 3.0, &mut rng),
                rhs(d, shape, lb, 0.0, 4.0, &mut rng, |v| v),
            )
        };
        let av = vals(&a);
        let y = mx::power(&a, &b).unwrap();
        assert_eq!(y.dtype(), d);
        if d.is_float() {
            let want: Vec<f64> = av.iter().zip(&bv).map(|(&x, &z)| x.powf(z)).collect();
            assert_close("power", &vals(&y), &want, &[&av, &bv], d);
        } else {
            let want: Vec<f64> = av
                .iter()
                .zip(&bv)
                .map(|(&x, &z)| wrap(ipow(x as i128, z as i128), d) as f64)
                .collect();
            assert_eq!(vals(&y), want, "power({d})");
        }
    }
    // comparisons (with many ties) and logical ops: every dtype, bool output
    type Cmp = (&'static str, Op2, fn(f64, f64) -> bool);
    let cmps: [Cmp; 8] = [
        ("equal", mx::equal, |a, b| a == b),
        ("not_equal", mx::not_equal, |a, b| a != b),
        ("less", mx::less, |a, b| a < b),
        ("less_equal", mx::less_equal, |a, b| a <= b),
        ("greater", mx::greater, |a, b| a > b),
        ("greater_equal", mx::greater_equal, |a, b| a >= b),
        ("logical_and", mx::logical_and, |a, b| a != 0.0 && b != 0.0),
        ("logical_or", mx::logical_or, |a, b| a != 0.0 || b != 0.0),
    ];
    let halves: fn(f64) -> f64 = |v| (v * 2.0).round() / 2.0;
    for (name, op, f) in cmps {
        for d in real_dtypes() {
            let a = input_fixed(d, shape, la, -2.0, 2.0, &mut rng, halves);
            let (b, bv) = rhs(d, shape, lb, -2.0, 2.0, &mut rng, halves);
            let y = op(&a, &b).unwrap();
            assert_eq!(y.dtype(), Dtype::Bool, "{name}({d})");
            let want: Vec<bool> = vals(&a).iter().zip(&bv).map(|(&x, &z)| f(x, z)).collect();
            assert_eq!(y.to_vec::<bool>().unwrap(), want, "{name}({d})");
        }
    }
    // bitwise and shifts: integers and bool
    type Bit = (&'static str, Op2, fn(i128, i128) -> i128);
    let bits: [Bit; 5] = [
        ("bitwise_and", mx::bitwise_and, |a, b| a & b),
        ("bitwise_or", mx::bitwise_or, |a, b| a | b),
        ("bitwise_xor", mx::bitwise_xor, |a, b| a ^ b),
        ("left_shift", mx::left_shift, |a, b| a << b),
        ("right_shift", mx::right_shift, |a, b| a >> b),
    ];
    for (name, op, f) in bits {
        let shift = name.ends_with("shift");
        for d in real_dtypes().filter(|d| !d.is_float()) {
            let a = input(d, shape, la, -100.0, 100.0, &mut rng);
            let (b, bv) = if shift {
                rhs(d, shape, lb, 0.0, 7.0, &mut rng, |v| v)
            } else {
                rhs(d, shape, lb, -100.0, 100.0, &mut rng, |v| v)
            };
            let y = op(&a, &b).unwrap();
            let out_d = if shift && d == Dtype::Bool {
                Dtype::U8
            } else {
                d
            };
            assert_eq!(y.dtype(), out_d, "{name}({d})");
            let want: Vec<f64> = vals(&a)
                .iter()
                .zip(&bv)
                .map(|(&x, &z)| {
                    let r = f(x as i128, z as i128);
                    if out_d == Dtype::Bool {
                        r as f64
                    } else {
                        wrap(r, out_d) as f64
                    }
                })
                .collect();
            assert_eq!(vals(&y), want, "{name}({d})");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn unary_ops_match_f64_reference(seed in any::<u64>(), m in 1usize..5, n in 1usize..6, layout in 0u8..3) {
        check_unary(seed, [m, n], layout);
    }

    #[test]
    fn binary_ops_match_reference(seed in any::<u64>(), m in 1usize..4, n in 1usize..5, la in 0u8..3, lb in 0u8..4) {
        check_binary(seed, [m, n], la, lb);
    }

    #[test]
    fn where_matches_reference(seed in any::<u64>(), m in 1usize..4, n in 1usize..5, lc in 0u8..3, lx in 0u8..3, ly in 0u8..4) {
        let mut rng = SplitMix(seed);
        for (cd, xd, yd) in [(Dtype::Bool, Dtype::F32, Dtype::F32), (Dtype::F32, Dtype::I32, Dtype::F16), (Dtype::I32, Dtype::U8, Dtype::I8), (Dtype::Bool, Dtype::Bf16, Dtype::F64)] {
            let c = input(cd, [m, n], lc, -1.0, 1.0, &mut rng);
            let x = input(xd, [m, n], lx, -9.0, 9.0, &mut rng);
            let (y, yv) = rhs(yd, [m, n], ly, -9.0, 9.0, &mut rng, |v| v);
            let out = mx::where_(&c, &x, &y).unwrap();
            let od = Dtype::promote(xd, yd);
            prop_assert_eq!(out.dtype(), od);
            let want: Vec<f64> = vals(&c).iter().zip(vals(&x)).zip(&yv).map(|((&c, x), &y)| round_to(if c != 0.0 { x } else { y }, od)).collect();
            prop_assert_eq!(vals(&out), want);
        }
    }

    #[test]
    fn mixed_dtype_promotion(seed in any::<u64>(), m in 1usize..4, n in 1usize..5, la in 0u8..3, lb in 0u8..4) {
        let mut rng = SplitMix(seed);
        let pairs = [(Dtype::I32, Dtype::F16), (Dtype::U8, Dtype::I8), (Dtype::U32, Dtype::I32), (Dtype::Bf16, Dtype::F16), (Dtype::Bool, Dtype::I32), (Dtype::I64, Dtype::F32), (Dtype::U16, Dtype::F64), (Dtype::Bool, Dtype::F32)];
        let ops: [(&str, Op2, fn(f64, f64) -> f64); 4] = [
            ("add", mx::add, |a, b| a + b),
            ("multiply", mx::multiply, |a, b| a * b),
            ("maximum", mx::maximum, f64::max),
            ("subtract", mx::subtract, |a, b| a - b),
        ];
        for (da, db) in pairs {
            for (name, op, f) in ops {
                let a = input(da, [m, n], la, 0.0, 20.0, &mut rng);
                let (b, bv) = rhs(db, [m, n], lb, 0.0, 20.0, &mut rng, |v| v);
                let y = op(&a, &b).unwrap();
                let od = Dtype::promote(da, db);
                prop_assert_eq!(y.dtype(), od, "{} {} {}", name, da, db);
                let want: Vec<f64> = vals(&a).iter().zip(&bv).map(|(&x, &z)| round_to(f(x, z), od)).collect();
                let av = vals(&a);
                assert_close(name, &vals(&y), &want, &[&av, &bv], od);
                // divide of integers is float32
                let q = mx::divide(&a, &b).unwrap();
                prop_assert_eq!(q.dtype(), if od.is_float() { od } else { Dtype::F32 });
            }
        }
    }
}

#[test]
fn special_values() {
    for d in FLOATS {
        let x = Array::from_slice(
            &[f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -1.5],
            &[5],
        )
        .unwrap()
        .astype(d)
        .unwrap();
        assert_eq!(
            x.isnan().unwrap().to_vec::<bool>().unwrap(),
            vec![true, false, false, false, false]
        );
        assert_eq!(
            x.isinf().unwrap().to_vec::<bool>().unwrap(),
            vec![false, true, true, false, false]
        );
        assert_eq!(
            x.isfinite().unwrap().to_vec::<bool>().unwrap(),
            vec![false, false, false, true, true]
        );
        let e = vals(&x.exp().unwrap());
        assert!(e[0].is_nan());
        assert_eq!(&e[1..4], &[f64::INFINITY, 0.0, 1.0]);
        assert_eq!(vals(&x.sign().unwrap())[..], [0.0, 1.0, -1.0, 0.0, -1.0]); // MLX: sign(NaN) = 0
        let t = vals(&x.tanh().unwrap());
        assert_eq!(&t[1..4], &[1.0, -1.0, 0.0]);
        let s = vals(&x.sigmoid().unwrap());
        assert_eq!(&s[1..4], &[1.0, 0.0, 0.5]);
        let one = Array::scalar_as(1.0, d);
        let mx_ = vals(&mx::maximum(&x, &one).unwrap());
        assert!(mx_[0].is_nan());
        let mn = vals(&mx::minimum(&one, &x).unwrap());
        assert!(mn[0].is_nan());
        assert_eq!(mn[2], f64::NEG_INFINITY);
    }
    let r = Array::from_slice(&[0.5f32, 1.5, 2.5, -0.5, -2.5, 2.6], &[6]).unwrap();
    assert_eq!(
        r.round().unwrap().to_vec::<f32>().unwrap(),
        vec![0.0, 2.0, 2.0, -0.0, -2.0, 3.0]
    );
    let i = Array::from_slice(&[1i32, -2], &[2]).unwrap();
    assert_eq!(
        i.isnan().unwrap().to_vec::<bool>().unwrap(),
        vec![false, false]
    );
    assert_eq!(
        i.isfinite().unwrap().to_vec::<bool>().unwrap(),
        vec![true, true]
    );
    assert_eq!(i.floor().unwrap().dtype(), Dtype::I32);
    assert_eq!(
        mx::remainder(&i, &Array::scalar(0i32))
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        vec![0, 0]
    );
    // large f32 exp on the parallel path equals the single-element path
    let big: Vec<f32> = (0..70_000).map(|k| (k as f32) * 1e-3 - 35.0).collect();
    let a = Array::from_slice(&big, &[70_000]).unwrap();
    let e = a.exp().unwrap().to_vec::<f32>().unwrap();
    for k in (0..70_000).step_by(997) {
        let want = (big[k] as f64).exp();
        assert!(((e[k] as f64) - want).abs() <= 3e-7 * want, "{k}");
    }
}

#[test]
fn clip_and_stop_gradient() {
    let a = Array::from_slice(&[-3i32, 0, 5, 9], &[4]).unwrap();
    let lo = Array::scalar(0i32);
    let hi = Array::from_slice(&[1i32, 1, 6, 6], &[4]).unwrap();
    assert_eq!(
        mx::clip(&a, Some(&lo), Some(&hi))
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        vec![0, 0, 5, 6]
    );
    assert_eq!(
        a.clip(None, Some(&hi)).unwrap().to_vec::<i32>().unwrap(),
        vec![-3, 0, 5, 6]
    );
    assert_eq!(
        a.clip(Some(&lo), None).unwrap().to_vec::<i32>().unwrap(),
        vec![0, 0, 5, 9]
    );
    let e = a.clip(None, None).unwrap_err().to_string();
    assert!(e.contains("clip"), "{e}");
    let s = mx::stop_gradient(&a).unwrap();
    assert_eq!(s.primitive_name(), Some("StopGradient"));
    assert_eq!(s.to_vec::<i32>().unwrap(), vec![-3, 0, 5, 9]);
    // no copy: the output shares the input's buffer
    let (da, ds) = (a.data().unwrap(), s.data().unwrap());
    assert!(da.shares_buffer(&ds));
}

#[test]
fn operators() {
    let a = Array::from_slice(&[7i32, -7, 6], &[3]).unwrap();
    let b = Array::from_slice(&[2i32, 2, -4], &[3]).unwrap();
    assert_eq!((&a % &b).unwrap().to_vec::<i32>().unwrap(), vec![1, 1, -2]);
    assert_eq!((&a % 3).unwrap().to_vec::<i32>().unwrap(), vec![1, 2, 0]);
    assert_eq!((10 % &b).unwrap().to_vec::<i32>().unwrap(), vec![0, 0, -2]);
    let r = (&a % 2.5).unwrap();
    assert_eq!(r.dtype(), Dtype::F32);
    assert_eq!(r.to_vec::<f32>().unwrap(), vec![2.0, 0.5, 1.0]);
    assert_eq!((-&a).unwrap().to_vec::<i32>().unwrap(), vec![-7, 7, -6]);
    assert_eq!(
        (-a.clone()).unwrap().to_vec::<i32>().unwrap(),
        vec![-7, 7, -6]
    );
    assert_eq!((!&a).unwrap().to_vec::<i32>().unwrap(), vec![!7, !-7, !6]);
    assert_eq!(
        (&a & &b).unwrap().to_vec::<i32>().unwrap(),
        vec![7 & 2, -7 & 2, 6 & -4]
    );
    assert_eq!((&a | 1).unwrap().to_vec::<i32>().unwrap(), vec![7, -7, 7]);
    assert_eq!(
        (a.clone() ^ b.clone()).unwrap().to_vec::<i32>().unwrap(),
        vec![7 ^ 2, -7 ^ 2, 6 ^ -4]
    );
    assert_eq!(
        (&a << 2).unwrap().to_vec::<i32>().unwrap(),
        vec![28, -28, 24]
    );
    assert_eq!((&a >> 1).unwrap().to_vec::<i32>().unwrap(), vec![3, -4, 3]);
    assert_eq!((1 << &b).unwrap().to_vec::<i32>().unwrap(), vec![4, 4, 0]);
    let t = Array::from_bools(&[true, false], &[2]).unwrap();
    let nt = (!&t).unwrap();
    assert_eq!(nt.dtype(), Dtype::Bool);
    assert_eq!(nt.to_vec::<bool>().unwrap(), vec![false, true]);
    assert_eq!(
        (&t & &nt).unwrap().to_vec::<bool>().unwrap(),
        vec![false, false]
    );
    assert_eq!(
        (&t | &nt).unwrap().to_vec::<bool>().unwrap(),
        vec![true, true]
    );
    let f = Array::from_slice(&[1.5f32], &[1]).unwrap();
    assert!((!&f).is_err());
    assert_eq!((-&f).unwrap().to_vec::<f32>().unwrap(), vec![-1.5]);
    assert_eq!((&f % 1.0).unwrap().to_vec::<f32>().unwrap(), vec![0.5]);
    // bool arithmetic stays 0/1
    let s = (&t + &t).unwrap();
    assert_eq!(s.dtype(), Dtype::Bool);
    assert_eq!(s.to_vec::<u8>().unwrap(), vec![1, 0]);
}

#[test]
fn errors_name_op_and_dtype() {
    let f = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
    let i = Array::from_slice(&[1i32, 2], &[2]).unwrap();
    for (name, op) in [
        ("bitwise_and", mx::bitwise_and as Op2),
        ("bitwise_or", mx::bitwise_or),
        ("bitwise_xor", mx::bitwise_xor),
        ("left_shift", mx::left_shift),
        ("right_shift", mx::right_shift),
    ] {
        let e = op(&f, &i).unwrap_err().to_string();
        assert!(e.contains(name) && e.contains("float32"), "{e}");
    }
    let e = mx::bitwise_invert(&f).unwrap_err().to_string();
    assert!(e.contains("bitwise_invert") && e.contains("float32"), "{e}");
    let b = Array::from_bools(&[true], &[1]).unwrap();
    let e = mx::negative(&b).unwrap_err().to_string();
    assert!(e.contains("negative") && e.contains("bool"), "{e}");
    let x = Array::from_slice(&[0.0f32; 6], &[2, 3]).unwrap();
    let y = Array::from_slice(&[0.0f32; 12], &[4, 3]).unwrap();
    for (name, op) in [
        ("add", mx::add as Op2),
        ("maximum", mx::maximum),
        ("less", mx::less),
        ("arctan2", mx::arctan2),
    ] {
        let e = op(&x, &y).unwrap_err().to_string();
        assert!(
            e.contains(name) && e.contains("[2, 3]") && e.contains("[4, 3]"),
            "{e}"
        );
    }
    let e = mx::where_(&b, &x, &y).unwrap_err().to_string();
    assert!(e.contains("where"), "{e}");
}
