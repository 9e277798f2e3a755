//! Shared helpers for the elementwise tests: random inputs of any dtype in three layouts
//! (contiguous, transposed, broadcast) and tolerant comparison against f64 references.
#![allow(dead_code)]

use rmlx_core::{Array, Dtype, Result};

/// A small deterministic generator (splitmix64).
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }
}

/// `n` values valid for dtype `d` in `[lo, hi]` (integers: whole numbers clamped to the type).
pub fn values(d: Dtype, n: usize, lo: f64, hi: f64, rng: &mut SplitMix) -> Vec<f64> {
    (0..n)
        .map(|_| {
            if d == Dtype::Bool {
                (rng.next_u64() & 1) as f64
            } else if d.is_float() {
                rng.uniform(lo, hi)
            } else {
                let lo = if d.is_unsigned_int() { lo.max(0.0) } else { lo };
                let hi = hi.max(lo);
                rng.uniform(lo, hi + 1.0).floor().min(hi)
            }
        })
        .collect()
}

/// An array of dtype `d` and `shape` in layout `layout` (0 contiguous, 1 transposed view,
/// 2 broadcast view of one row), with values from [`values`].
pub fn input(
    d: Dtype,
    shape: [usize; 2],
    layout: u8,
    lo: f64,
    hi: f64,
    rng: &mut SplitMix,
) -> Array {
    input_fixed(d, shape, layout, lo, hi, rng, |v| v)
}

/// [`input`] with `fix` applied to each generated value before conversion to `d`.
pub fn input_fixed(
    d: Dtype,
    shape: [usize; 2],
    layout: u8,
    lo: f64,
    hi: f64,
    rng: &mut SplitMix,
    fix: fn(f64) -> f64,
) -> Array {
    let [m, n] = shape;
    let mut make = |s: &[usize]| {
        let v: Vec<f64> = values(d, s.iter().product(), lo, hi, rng)
            .into_iter()
            .map(fix)
            .collect();
        Array::from_slice(&v, s).unwrap().astype(d).unwrap()
    };
    match layout {
        0 => make(&[m, n]),
        1 => make(&[n, m]).t().unwrap(),
        _ => make(&[1, n]).broadcast_to(&[m, n]).unwrap(),
    }
}

/// The logical elements of `a` as f64 (row-major, through any view).
pub fn vals(a: &Array) -> Vec<f64> {
    a.to_vec::<f64>().unwrap()
}

/// Relative+absolute tolerance for results of dtype `d` computed in that precision.
pub fn tol(d: Dtype) -> f64 {
    match d {
        Dtype::F64 => 1e-12,
        Dtype::F32 => 1e-5,
        Dtype::F16 => 2e-3,
        Dtype::Bf16 => 1.6e-2,
        _ => 0.0,
    }
}

/// Rounds an f64 the way storing it in `d` does.
pub fn round_to(x: f64, d: Dtype) -> f64 {
    Array::from_slice(&[x], &[1])
        .unwrap()
        .astype(d)
        .unwrap()
        .to_vec::<f64>()
        .unwrap()[0]
}

/// Wraps an exact integer result to the range of integer dtype `d` (two's complement).
pub fn wrap(x: i128, d: Dtype) -> i128 {
    let bits = d.size() * 8;
    let m = 1i128 << bits;
    let r = x.rem_euclid(m);
    if d.is_signed_int() && r >= m / 2 {
        r - m
    } else {
        r
    }
}

/// Asserts `got` matches `want` elementwise within the tolerance of `d` (NaNs must agree;
/// infinities must be equal; integer and bool dtypes exactly).
pub fn assert_close(what: &str, got: &[f64], want: &[f64], inputs: &[&[f64]], d: Dtype) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let t = tol(d);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = if w.is_nan() {
            g.is_nan()
        } else if w.is_infinite() {
            g == w
        } else {
            (g - w).abs() <= t * (1.0 + w.abs())
        };
        if !ok {
            let ins: Vec<f64> = inputs.iter().map(|v| v[i]).collect();
            panic!("{what} ({d}): element {i} of inputs {ins:?}: got {g}, want {w}");
        }
    }
}

pub const FLOATS: [Dtype; 4] = [Dtype::F16, Dtype::Bf16, Dtype::F32, Dtype::F64];
pub const INTS: [Dtype; 8] = [
    Dtype::U8,
    Dtype::U16,
    Dtype::U32,
    Dtype::U64,
    Dtype::I8,
    Dtype::I16,
    Dtype::I32,
    Dtype::I64,
];

pub type Op1 = fn(&Array) -> Result<Array>;
pub type Op2 = fn(&Array, &Array) -> Result<Array>;
