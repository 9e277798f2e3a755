//! Ops fuzzed by property tests (issue 20): random shapes (size-0 axes and 0-d included), all
//! dtypes, strided views (transposed, broadcast, stepped and reversed slices) and random axes,
//! sizes and indices (valid or not) through some sixty ops. Every call must come back as a value
//! or an `Err`, never a panic; and an op on a strided view must give exactly what it gives on
//! a contiguous copy of the same values (the copy made element by element through `to_vec`, an
//! independent path), or the same error.

use std::panic::{catch_unwind, AssertUnwindSafe};

use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use rmlx::core::{self as mx, idx, Array, Dtype, Index, SliceArg};

const DTYPES: [Dtype; 12] = [
    Dtype::Bool,
    Dtype::U8,
    Dtype::U32,
    Dtype::I8,
    Dtype::I32,
    Dtype::I64,
    Dtype::F16,
    Dtype::Bf16,
    Dtype::F32,
    Dtype::F64,
    Dtype::C64,
    Dtype::U64,
];

/// The knobs an op draws from.
#[derive(Clone, Debug)]
struct Args {
    axis: isize,
    axis2: isize,
    k: isize,
    other_shape: Vec<usize>,
    other_dtype: Dtype,
    perm: Vec<usize>,
    indices: Vec<i32>,
}

type Op = fn(&Array, &Array, &Args) -> mx::Result<Array>;

fn ax(a: &Args) -> Vec<isize> {
    vec![a.axis]
}

/// The ops under test: `x` is the input, `y` a second operand (another shape and dtype).
fn ops() -> Vec<(&'static str, Op)> {
    vec![
        ("abs", |x, _, _| x.abs()),
        ("negative", |x, _, _| x.negative()),
        ("exp", |x, _, _| x.exp()),
        ("log", |x, _, _| x.log()),
        ("sqrt", |x, _, _| x.sqrt()),
        ("sin", |x, _, _| x.sin()),
        ("tanh", |x, _, _| x.tanh()),
        ("floor", |x, _, _| x.floor()),
        ("round", |x, _, _| x.round()),
        ("square", |x, _, _| x.square()),
        ("sign", |x, _, _| x.sign()),
        ("isnan", |x, _, _| mx::isnan(x)),
        ("logical_not", |x, _, _| mx::logical_not(x)),
        ("astype", |x, _, a| x.astype(a.other_dtype)),
        ("add", |x, y, _| x + y),
        ("subtract", |x, y, _| x - y),
        ("multiply", |x, y, _| x * y),
        ("divide", |x, y, _| x / y),
        ("floor_divide", |x, y, _| mx::floor_divide(x, y)),
        ("remainder", |x, y, _| mx::remainder(x, y)),
        ("power", |x, y, _| mx::power(x, y)),
        ("maximum", |x, y, _| mx::maximum(x, y)),
        ("equal", |x, y, _| mx::equal(x, y)),
        ("less", |x, y, _| mx::less(x, y)),
        ("logical_and", |x, y, _| mx::logical_and(x, y)),
        ("where", |x, y, _| mx::where_(&x.astype(Dtype::Bool)?, x, y)),
        ("sum", |x, _, a| x.sum(ax(a), false)),
        ("sum_all", |x, _, _| x.sum(None, true)),
        ("prod", |x, _, a| x.prod(ax(a), true)),
        ("max", |x, _, a| x.max(ax(a), false)),
        ("min_all", |x, _, _| x.min(None, false)),
        ("mean", |x, _, a| x.mean(ax(a), false)),
        ("var", |x, _, a| mx::var(x, ax(a), false, 1)),
        ("argmax", |x, _, a| mx::argmax(x, ax(a), false)),
        ("logsumexp", |x, _, a| mx::logsumexp(x, ax(a), false)),
        ("softmax", |x, _, a| mx::softmax(x, ax(a), false)),
        ("cumsum", |x, _, a| mx::cumsum(x, Some(a.axis), false, true)),
        ("cumprod_rev", |x, _, a| {
            mx::cumprod(x, Some(a.axis), true, false)
        }),
        ("cummax", |x, _, a| mx::cummax(x, Some(a.axis), false, true)),
        ("sort", |x, _, a| mx::sort(x, a.axis)),
        ("argsort", |x, _, a| mx::argsort(x, a.axis)),
        ("topk", |x, _, a| mx::topk(x, a.k.unsigned_abs(), a.axis)),
        ("partition", |x, _, a| mx::partition(x, a.k, a.axis)),
        ("reshape", |x, _, a| x.reshape(a.other_shape.as_slice())),
        ("reshape_infer", |x, _, a| x.reshape([-1, a.k.max(1)])),
        ("transpose", |x, _, a| x.transpose_axes(&a.perm)),
        ("swapaxes", |x, _, a| x.swapaxes(a.axis, a.axis2)),
        ("moveaxis", |x, _, a| mx::moveaxis(x, a.axis, a.axis2)),
        ("squeeze", |x, _, a| x.squeeze(ax(a))),
        ("expand_dims", |x, _, a| x.expand_dims(ax(a))),
        ("flatten", |x, _, a| mx::flatten(x, a.axis, a.axis2)),
        ("broadcast_to", |x, _, a| x.broadcast_to(&a.other_shape)),
        ("flip", |x, _, a| mx::flip(x, ax(a))),
        ("roll", |x, _, a| mx::roll(x, a.k, Some(a.axis))),
        ("repeat", |x, _, a| {
            mx::repeat(x, a.k.unsigned_abs(), Some(a.axis))
        }),
        ("tile", |x, _, a| mx::tile(x, &a.other_shape)),
        ("pad", |x, _, a| {
            let w: Vec<(usize, usize)> = (0..x.ndim())
                .map(|i| (i % 2, a.k.unsigned_abs() % 3))
                .collect();
            mx::pad(x, &w, 0.0)
        }),
        ("concatenate", |x, y, a| {
            mx::concatenate(&[x.clone(), y.astype(x.dtype())?], a.axis)
        }),
        ("stack", |x, _, a| {
            mx::stack(&[x.clone(), x.clone()], a.axis)
        }),
        ("split", |x, _, a| {
            Ok(mx::split(x, a.k.unsigned_abs().max(1), a.axis)?.swap_remove(0))
        }),
        ("diagonal", |x, _, a| mx::diagonal(x, a.k, a.axis, a.axis2)),
        ("triu", |x, _, a| mx::triu(x, a.k)),
        ("slice", |x, _, a| {
            x.slice(&[SliceArg::new(Some(a.axis), Some(a.k), a.axis2 | 1)])
        }),
        ("take", |x, _, a| {
            let i = Array::from_slice(&a.indices, &[a.indices.len()])?;
            x.take(&i, Some(a.axis))
        }),
        ("take_flat", |x, _, a| {
            let i = Array::from_slice(&a.indices, &[a.indices.len()])?;
            x.take(&i, None)
        }),
        ("take_along_axis", |x, _, a| {
            let i = Array::from_slice(&a.indices, &[a.indices.len()])?
                .reshape(a.other_shape.as_slice())?;
            mx::take_along_axis(x, &i, a.axis)
        }),
        ("index", |x, _, a| {
            let i = Array::from_slice(&a.indices, &[a.indices.len()])?;
            x.index(idx![a.k, .., &i])
        }),
        ("index_newaxis", |x, _, a| {
            x.index(&[Index::NewAxis, Index::Ellipsis, Index::Int(a.axis)])
        }),
        ("index_put", |x, y, a| {
            let i = Array::from_slice(&a.indices, &[a.indices.len()])?;
            x.index_put(idx![.., &i], y)
        }),
        ("at_add", |x, y, a| {
            let i = Array::from_slice(&a.indices, &[a.indices.len()])?;
            x.at(&i).add(y)
        }),
        ("matmul", |x, y, _| x.matmul(y)),
        ("matmul_self_t", |x, _, _| x.matmul(&x.swapaxes(-1, -2)?)),
        ("tensordot", |x, y, a| {
            mx::tensordot(x, y, a.k.unsigned_abs() % 3)
        }),
        ("inner", |x, y, _| mx::inner(x, y)),
        ("outer", |x, y, _| mx::outer(x, y)),
        ("einsum_transpose", |x, _, _| {
            mx::einsum("ij->ji", std::slice::from_ref(x))
        }),
        ("fft", |x, _, a| {
            mx::fft::fft(x, None, a.axis, mx::fft::FftNorm::Backward)
        }),
    ]
}

/// `count` values of `dtype` (small, with both signs, zeros and a few NaNs for floats).
fn values(dtype: Dtype, count: usize, seed: u64) -> mx::Result<Array> {
    let v: Vec<f64> = (0..count)
        .map(|i| {
            let h = (i as u64)
                .wrapping_mul(6364136223846793005)
                .wrapping_add(seed)
                >> 33;
            match h % 11 {
                0 => 0.0,
                1 if dtype.is_float() => f64::NAN,
                _ => (h % 13) as f64 - 6.0,
            }
        })
        .collect();
    Array::from_vec(v, &[count])?.astype(dtype)
}

/// A view of `shape` over fresh values: contiguous, transposed, broadcast, or a stepped /
/// reversed slice of a larger array.
fn view(shape: &[usize], dtype: Dtype, kind: u8, seed: u64) -> mx::Result<Array> {
    let n: usize = shape.iter().product();
    match kind % 4 {
        0 => values(dtype, n, seed)?.reshape(shape),
        1 => {
            let rev: Vec<usize> = shape.iter().rev().copied().collect();
            let perm: Vec<usize> = (0..shape.len()).rev().collect();
            values(dtype, n, seed)?
                .reshape(rev.as_slice())?
                .transpose_axes(&perm)
        }
        2 if !shape.is_empty() => {
            // broadcast along the first axis
            let mut one = shape.to_vec();
            one[0] = 1;
            let m: usize = one.iter().product();
            values(dtype, m, seed)?
                .reshape(one.as_slice())?
                .broadcast_to(shape)
        }
        _ if !shape.is_empty() => {
            // every other element of a twice-as-long first axis, reversed
            let mut big = shape.to_vec();
            big[0] *= 2;
            let m: usize = big.iter().product();
            let x = values(dtype, m, seed)?.reshape(big.as_slice())?;
            x.slice(&[SliceArg::new(None, None, -2)])
        }
        _ => values(dtype, n, seed)?.reshape(shape),
    }
}

/// A contiguous copy made independently of the kernels' stride handling: the values read out
/// through `to_vec` (as f64, or as complex) and rebuilt.
fn copy_of(x: &Array) -> mx::Result<Array> {
    if x.dtype() == Dtype::C64 {
        let v = x.to_vec::<mx::Complex32>()?;
        return Array::from_slice(&v, x.shape());
    }
    let v = x.astype(Dtype::F64)?.to_vec::<f64>()?;
    Array::from_vec(v, x.shape())?.astype(x.dtype())
}

/// The values of a result as comparable numbers (complex: real and imaginary parts).
fn numbers(a: &Array) -> mx::Result<Vec<f64>> {
    if a.dtype() == Dtype::C64 {
        return Ok(a
            .to_vec::<mx::Complex32>()?
            .iter()
            .flat_map(|z| [z.re as f64, z.im as f64])
            .collect());
    }
    a.astype(Dtype::F64)?.to_vec::<f64>()
}

/// A result's shape, dtype and values.
type Outcome = (Vec<usize>, Dtype, Vec<f64>);

fn run(op: Op, x: &Array, y: &Array, a: &Args) -> std::thread::Result<mx::Result<Outcome>> {
    catch_unwind(AssertUnwindSafe(|| {
        let out = op(x, y, a)?;
        out.eval()?;
        Ok((out.shape().to_vec(), out.dtype(), numbers(&out)?))
    }))
}

fn shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..4, 0..4)
}

fn args() -> impl Strategy<Value = Args> {
    (
        -4isize..4,
        -4isize..4,
        -3isize..5,
        shape(),
        0usize..DTYPES.len(),
        Just(()).prop_perturb(|_, mut rng| {
            // a permutation of 0..n for n in 0..4, sometimes invalid (a repeat)
            let n = (rng.next_u32() % 4) as usize;
            let mut p: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                p.swap(i, (rng.next_u32() as usize) % (i + 1));
            }
            if n > 1 && rng.next_u32() % 5 == 0 {
                p[0] = p[1];
            }
            p
        }),
        prop::collection::vec(-6i32..6, 0..5),
    )
        .prop_map(|(axis, axis2, k, other_shape, od, perm, indices)| Args {
            axis,
            axis2,
            k,
            other_shape,
            other_dtype: DTYPES[od],
            perm,
            indices,
        })
}

static OK: AtomicUsize = AtomicUsize::new(0);
static ERR: AtomicUsize = AtomicUsize::new(0);

type Drawn = ((usize, Vec<usize>, usize, u8), (u8, Args, u64));

fn check(((op_i, shape, dt, kind), (yshape_kind, a, seed)): Drawn) -> Result<(), TestCaseError> {
    let table = ops();
    let (name, op) = table[op_i % table.len()];
    let dtype = DTYPES[dt];
    let x = view(&shape, dtype, kind, seed).unwrap();
    // the second operand: x's shape, a broadcastable one, or another
    let yshape: Vec<usize> = match yshape_kind {
        0 => shape.clone(),
        1 => shape.iter().skip(1).copied().collect(),
        _ => a.other_shape.clone(),
    };
    let y = view(&yshape, a.other_dtype, kind.wrapping_add(1), seed + 7).unwrap();
    let on_view = run(op, &x, &y, &a);
    prop_assert!(
        on_view.is_ok(),
        "{name} panicked on {:?} {} view {kind} with {:?}",
        shape,
        dtype,
        a
    );
    let on_copy = run(op, &copy_of(&x).unwrap(), &copy_of(&y).unwrap(), &a);
    prop_assert!(
        on_copy.is_ok(),
        "{name} panicked on a contiguous {:?} {}",
        shape,
        dtype
    );
    match (on_view.unwrap(), on_copy.unwrap()) {
        (Ok((s1, d1, v1)), Ok((s2, d2, v2))) => {
            OK.fetch_add(1, Ordering::Relaxed);
            prop_assert_eq!(&s1, &s2, "{} shape", name);
            prop_assert_eq!(d1, d2, "{} dtype", name);
            let tol = match d1 {
                Dtype::F16 | Dtype::Bf16 => 1e-2,
                Dtype::F32 | Dtype::C64 => 1e-5,
                _ => 1e-12,
            };
            for (i, (p, q)) in v1.iter().zip(&v2).enumerate() {
                let same =
                    p == q || (p.is_nan() && q.is_nan()) || (p - q).abs() <= tol * (1.0 + q.abs());
                prop_assert!(
                    same,
                    "{} on {:?} {} view {}: element {}: view {} copy {}",
                    name,
                    shape,
                    dtype,
                    kind,
                    i,
                    p,
                    q
                );
            }
        }
        (Err(_), Err(_)) => {
            ERR.fetch_add(1, Ordering::Relaxed);
        }
        (v, c) => prop_assert!(
            false,
            "{name} on {:?} {} view {kind}: view {:?}, copy {:?}",
            shape,
            dtype,
            v.map(|r| r.0),
            c.map(|r| r.0)
        ),
    }
    Ok(())
}

#[test]
fn ops_never_panic_and_views_match_copies() {
    let cases = std::env::var("RMLX_OPS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20000);
    let mut runner = TestRunner::new(ProptestConfig::with_cases(cases));
    let strategy = (
        (0usize..200, shape(), 0usize..DTYPES.len(), 0u8..4),
        (0u8..3, args(), 0u64..1000),
    );
    let result = runner.run(&strategy, check);
    let (ok, err) = (OK.load(Ordering::Relaxed), ERR.load(Ordering::Relaxed));
    println!(
        "ops fuzz: {} ops, {cases} cases: {ok} values (each equal on the view and on its copy), {err} errors, 0 panics",
        ops().len()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    let n = cases as usize;
    assert!(
        ok > n / 4 && err > n / 20,
        "the draws should give values and errors"
    );
}
