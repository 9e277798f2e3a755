//! Reductions against naive f64 loops: random shapes, every axis subset (negative axes too),
//! keepdims, contiguous / transposed / broadcast inputs, several dtypes, and error cases.
// Tests favour plain `&[x.clone()]` argument lists and inline fn-pointer tables over helpers.

use proptest::prelude::*;
use rmlx_core::{self as mx, Array, Dtype};

/// Row-major multi-index of `lin` in `shape`.
fn unravel(mut lin: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for ax in (0..shape.len()).rev() {
        idx[ax] = lin % shape[ax];
        lin /= shape[ax];
    }
    idx
}

/// Groups the elements of a row-major `shape` array by their position on the kept axes.
fn groups(data: &[f64], shape: &[usize], axes: &[usize]) -> (Vec<usize>, Vec<Vec<f64>>) {
    let out_shape: Vec<usize> = (0..shape.len())
        .map(|i| if axes.contains(&i) { 1 } else { shape[i] })
        .collect();
    let n_out: usize = out_shape.iter().product();
    let mut g = vec![Vec::new(); n_out];
    for (lin, &v) in data.iter().enumerate() {
        let idx = unravel(lin, shape);
        let mut o = 0;
        for ax in 0..shape.len() {
            o = o * out_shape[ax] + if axes.contains(&ax) { 0 } else { idx[ax] };
        }
        g[o].push(v);
    }
    (out_shape, g)
}

fn naive(op: &str, g: &[f64]) -> f64 {
    let n = g.len() as f64;
    match op {
        "sum" => g.iter().sum(),
        "prod" => g.iter().product(),
        "max" => g.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        "min" => g.iter().cloned().fold(f64::INFINITY, f64::min),
        "mean" => g.iter().sum::<f64>() / n,
        "var" | "std" => {
            let m = g.iter().sum::<f64>() / n;
            let v = g.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
            if op == "std" {
                v.sqrt()
            } else {
                v
            }
        }
        "logsumexp" => {
            let m = g.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            m + g.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
        }
        "all" => g.iter().all(|&x| x != 0.0) as u8 as f64,
        "any" => g.iter().any(|&x| x != 0.0) as u8 as f64,
        _ => unreachable!(),
    }
}

fn run(op: &str, x: &Array, axes: Vec<isize>, keepdims: bool) -> mx::Result<Array> {
    match op {
        "sum" => x.sum(axes, keepdims),
        "prod" => x.prod(axes, keepdims),
        "max" => x.max(axes, keepdims),
        "min" => x.min(axes, keepdims),
        "mean" => x.mean(axes, keepdims),
        "var" => x.var(axes, keepdims, 0),
        "std" => x.std(axes, keepdims, 0),
        "logsumexp" => x.logsumexp(axes, keepdims),
        "all" => x.all(axes, keepdims),
        "any" => x.any(axes, keepdims),
        _ => unreachable!(),
    }
}

/// A view of the given kind holding (row-major) `data` of `shape`, plus the data as seen
/// through the view (row-major over the view's shape).
fn make_view(
    data: &[f64],
    shape: &[usize],
    kind: u8,
    dtype: Dtype,
) -> (Array, Vec<f64>, Vec<usize>) {
    let base = Array::from_slice(data, shape)
        .unwrap()
        .astype(dtype)
        .unwrap();
    let nd = shape.len();
    match kind {
        // transposed (axes reversed)
        1 if nd >= 2 => {
            let t = base.t().unwrap();
            let tshape: Vec<usize> = shape.iter().rev().cloned().collect();
            let mut tdata = vec![0.0; data.len()];
            for (lin, v) in tdata.iter_mut().enumerate() {
                let idx = unravel(lin, &tshape);
                let mut src = 0;
                for ax in 0..nd {
                    src = src * shape[ax] + idx[nd - 1 - ax];
                }
                *v = data[src];
            }
            (t, tdata, tshape)
        }
        // broadcast along a new leading axis of size 2
        2 => {
            let mut bshape = vec![2];
            bshape.extend_from_slice(shape);
            let b = base.broadcast_to(&bshape).unwrap();
            let mut bdata = data.to_vec();
            bdata.extend_from_slice(data);
            (b, bdata, bshape)
        }
        _ => (base, data.to_vec(), shape.to_vec()),
    }
}

fn close(got: f64, want: f64, tol: f64) -> bool {
    if want.is_nan() {
        return got.is_nan();
    }
    if want.is_infinite() {
        return got == want;
    }
    (got - want).abs() <= tol * (1.0 + want.abs())
}

fn check(
    op: &str,
    dtype: Dtype,
    data: &[f64],
    shape: &[usize],
    kind: u8,
    axes_mask: u32,
    neg: bool,
    keepdims: bool,
) {
    let (x, vdata, vshape) = make_view(data, shape, kind, dtype);
    let nd = vshape.len();
    let axes: Vec<usize> = (0..nd).filter(|a| axes_mask & (1 << a) != 0).collect();
    let axes_arg: Vec<isize> = axes
        .iter()
        .map(|&a| {
            if neg {
                a as isize - nd as isize
            } else {
                a as isize
            }
        })
        .collect();
    let (out_shape, g) = groups(&vdata, &vshape, &axes);
    let out = run(op, &x, axes_arg.clone(), keepdims).unwrap();
    let want_shape: Vec<usize> = if keepdims {
        out_shape.clone()
    } else {
        (0..nd)
            .filter(|a| !axes.contains(a))
            .map(|a| vshape[a])
            .collect()
    };
    assert_eq!(out.shape(), &want_shape[..], "{op} axes {axes_arg:?} shape");
    let got = out.to_vec::<f64>().unwrap();
    let tol = match dtype {
        Dtype::F64 => 1e-12,
        Dtype::F32 => 2e-5,
        _ => 0.0,
    };
    for (k, gr) in g.iter().enumerate() {
        if gr.is_empty() && matches!(op, "max" | "min" | "logsumexp" | "mean" | "var" | "std") {
            continue; // identities / NaN for empty groups are checked separately
        }
        let want = naive(op, gr);
        if op == "prod" && !dtype.is_float() && want.abs() > 2e9 {
            continue; // wraps in int32 (MLX wraps too); not modelled by the f64 reference
        }
        assert!(
            close(got[k], want, tol),
            "{op} {dtype} shape {vshape:?} axes {axes_arg:?} kind {kind}: got {} want {want}",
            got[k]
        );
    }
}

fn shape_and_data() -> impl Strategy<Value = (Vec<usize>, Vec<f64>)> {
    prop::collection::vec(1usize..5, 0..4).prop_flat_map(|shape| {
        let n: usize = shape.iter().product();
        (Just(shape), prop::collection::vec(-3.0f64..3.0, n))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn float_reductions_match_naive(
        (shape, data) in shape_and_data(),
        kind in 0u8..3,
        mask in 0u32..16,
        neg in any::<bool>(),
        keepdims in any::<bool>(),
        f64_dtype in any::<bool>(),
    ) {
        let dtype = if f64_dtype { Dtype::F64 } else { Dtype::F32 };
        // round to f32 first so the reference sees what the array holds
        let data: Vec<f64> = data.iter().map(|&v| v as f32 as f64).collect();
        let nd = shape.len() + usize::from(kind == 2);
        let mask = mask & ((1u32 << nd) - 1);
        for op in ["sum", "prod", "max", "min", "mean", "var", "std", "logsumexp", "all", "any"] {
            check(op, dtype, &data, &shape, kind, mask, neg, keepdims);
        }
    }

    #[test]
    fn integer_reductions_match_naive(
        (shape, data) in shape_and_data(),
        kind in 0u8..3,
        mask in 0u32..16,
        keepdims in any::<bool>(),
    ) {
        let data: Vec<f64> = data.iter().map(|v| v.round()).collect();
        let nd = shape.len() + usize::from(kind == 2);
        let mask = mask & ((1u32 << nd) - 1);
        for dtype in [Dtype::I8, Dtype::I32, Dtype::I64] {
            for op in ["sum", "prod", "max", "min", "all", "any"] {
                check(op, dtype, &data, &shape, kind, mask, false, keepdims);
            }
        }
    }

    #[test]
    fn argmax_argmin_match_naive(
        (shape, data) in shape_and_data(),
        kind in 0u8..3,
        axis in 0usize..4,
        keepdims in any::<bool>(),
    ) {
        let data: Vec<f64> = data.iter().map(|v| (v * 2.0).round()).collect(); // ties
        let (x, vdata, vshape) = make_view(&data, &shape, kind, Dtype::F32);
        if vshape.is_empty() { return Ok(()); }
        let axis = axis % vshape.len();
        for is_max in [true, false] {
            let out = if is_max { x.argmax(axis as i32, keepdims) } else { x.argmin(axis as i32, keepdims) }.unwrap();
            prop_assert_eq!(out.dtype(), Dtype::U32);
            let got = out.to_vec::<u32>().unwrap();
            let (_, g) = groups(&vdata, &vshape, &[axis]);
            for (k, gr) in g.iter().enumerate() {
                let mut best = 0;
                for (j, &v) in gr.iter().enumerate() {
                    if (is_max && v > gr[best]) || (!is_max && v < gr[best]) { best = j; }
                }
                prop_assert_eq!(got[k] as usize, best);
            }
        }
    }
}

#[test]
fn sum_dtypes_widen_like_mlx() {
    let cases = [
        (Dtype::Bool, Dtype::I32),
        (Dtype::I8, Dtype::I32),
        (Dtype::I16, Dtype::I32),
        (Dtype::U8, Dtype::U32),
        (Dtype::U16, Dtype::U32),
        (Dtype::I32, Dtype::I32),
        (Dtype::I64, Dtype::I64),
        (Dtype::U64, Dtype::U64),
        (Dtype::F16, Dtype::F16),
        (Dtype::Bf16, Dtype::Bf16),
    ];
    let x = Array::from_slice(&[1.0f32, 1.0, 0.0, 1.0], &[4]).unwrap();
    for (d, want) in cases {
        let s = x.astype(d).unwrap().sum(None, false).unwrap();
        assert_eq!(s.dtype(), want, "sum of {d}");
        assert_eq!(s.item::<f64>().unwrap(), 3.0);
        assert_eq!(
            x.astype(d).unwrap().prod(None, false).unwrap().dtype(),
            want
        );
        assert_eq!(x.astype(d).unwrap().max(None, false).unwrap().dtype(), d);
    }
    // int8 sums do not overflow at 8 bits
    let big = Array::from_slice(&[100i8, 100, 100], &[3]).unwrap();
    assert_eq!(big.sum(None, false).unwrap().item::<i32>().unwrap(), 300);
    // i64 keeps every bit
    let v = Array::from_slice(&[i64::MAX - 5, 2], &[2]).unwrap();
    assert_eq!(
        v.sum(None, false).unwrap().item::<i64>().unwrap(),
        i64::MAX - 3
    );
    // mean / var / std of integers are float32
    let i = Array::from_slice(&[1i32, 2, 3, 4], &[4]).unwrap();
    assert_eq!(i.mean(None, false).unwrap().dtype(), Dtype::F32);
    assert_eq!(i.var(None, false, 0).unwrap().dtype(), Dtype::F32);
    assert_eq!(i.std(None, false, 1).unwrap().dtype(), Dtype::F32);
    assert_eq!(i.logsumexp(None, false).unwrap().dtype(), Dtype::F32);
    assert_eq!(
        x.astype(Dtype::F16)
            .unwrap()
            .mean(None, false)
            .unwrap()
            .dtype(),
        Dtype::F16
    );
    assert_eq!(x.all(None, false).unwrap().dtype(), Dtype::Bool);
    assert!(!x.all(None, false).unwrap().item::<bool>().unwrap());
    assert!(x.any(None, false).unwrap().item::<bool>().unwrap());
}

#[test]
fn half_precision_sum_accumulates_in_f32() {
    // 4096 ones: an f16 accumulator would stall at 2048
    let x = Array::from_slice(&vec![1.0f32; 4096], &[4096])
        .unwrap()
        .astype(Dtype::F16)
        .unwrap();
    assert_eq!(x.sum(None, false).unwrap().item::<f32>().unwrap(), 4096.0);
}

#[test]
fn var_ddof_and_std() {
    let x = Array::from_slice(&[2.0f64, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], &[8]).unwrap();
    assert_eq!(x.var(None, false, 0).unwrap().item::<f64>().unwrap(), 4.0);
    assert_eq!(x.std(None, false, 0).unwrap().item::<f64>().unwrap(), 2.0);
    let v1 = x.var(None, false, 1).unwrap().item::<f64>().unwrap();
    assert!((v1 - 32.0 / 7.0).abs() < 1e-12);
    // n <= ddof: division by zero as in MLX
    let one = Array::from_slice(&[3.0f32], &[1]).unwrap();
    assert!(!one
        .var(None, false, 1)
        .unwrap()
        .item::<f32>()
        .unwrap()
        .is_finite());
}

#[test]
fn nan_propagates_through_max_and_argmax_finds_it() {
    let x = Array::from_slice(&[1.0f32, f32::NAN, 3.0], &[3]).unwrap();
    assert!(x.max(None, false).unwrap().item::<f32>().unwrap().is_nan());
    assert!(x.min(None, false).unwrap().item::<f32>().unwrap().is_nan());
    assert_eq!(x.argmax(None, false).unwrap().item::<u32>().unwrap(), 1);
    assert_eq!(x.argmin(None, false).unwrap().item::<u32>().unwrap(), 1);
}

#[test]
fn logsumexp_is_stable() {
    let x = Array::from_slice(&[1000.0f32, 1000.0, -1000.0], &[3]).unwrap();
    let l = x.logsumexp(None, false).unwrap().item::<f64>().unwrap();
    assert!((l - (1000.0 + 2f64.ln())).abs() < 1e-3);
    let ninf = Array::from_slice(&[f32::NEG_INFINITY; 3], &[3]).unwrap();
    assert_eq!(
        ninf.logsumexp(None, false).unwrap().item::<f32>().unwrap(),
        f32::NEG_INFINITY
    );
    let inf = Array::from_slice(&[1.0, f32::INFINITY], &[2]).unwrap();
    assert_eq!(
        inf.logsumexp(None, false).unwrap().item::<f32>().unwrap(),
        f32::INFINITY
    );
}

#[test]
fn empty_reductions_give_identities() {
    let e = Array::from_slice::<f32>(&[], &[0, 3]).unwrap();
    assert_eq!(
        e.sum(0, false).unwrap().to_vec::<f32>().unwrap(),
        vec![0.0; 3]
    );
    assert_eq!(
        e.prod(0, false).unwrap().to_vec::<f32>().unwrap(),
        vec![1.0; 3]
    );
    assert_eq!(
        e.max(0, false).unwrap().to_vec::<f32>().unwrap(),
        vec![f32::NEG_INFINITY; 3]
    );
    assert_eq!(e.sum(1, false).unwrap().shape(), &[0]);
    assert!(e.argmax(0, false).is_err());
}

#[test]
fn bad_axes_are_errors() {
    let x = Array::from_slice(&[1.0f32; 6], &[2, 3]).unwrap();
    assert!(matches!(x.sum(2, false), Err(mx::Error::Axis(_))));
    assert!(matches!(x.sum(-3, false), Err(mx::Error::Axis(_))));
    assert!(matches!(x.max([0, 0], false), Err(mx::Error::Axis(_))));
    assert!(matches!(x.mean([1, -1], false), Err(mx::Error::Axis(_))));
    assert!(matches!(x.argmax([0, 1], false), Err(mx::Error::Axis(_))));
    assert!(matches!(x.argmin(5, false), Err(mx::Error::Axis(_))));
    assert!(matches!(x.var(7, false, 0), Err(mx::Error::Axis(_))));
    assert!(matches!(
        x.logsumexp([0, 0], false),
        Err(mx::Error::Axis(_))
    ));
    assert!(matches!(x.softmax(3, false), Err(mx::Error::Axis(_))));
    assert!(matches!(
        x.cumsum(Some(2), false, true),
        Err(mx::Error::Axis(_))
    ));
    assert!(matches!(x.sort(2), Err(mx::Error::Axis(_))));
}

#[test]
fn argmax_flattened_and_keepdims() {
    let x = Array::from_slice(&[1.0f32, 9.0, 3.0, 4.0, 9.5, 0.0], &[2, 3]).unwrap();
    assert_eq!(x.argmax(None, false).unwrap().item::<u32>().unwrap(), 4);
    assert_eq!(x.argmax(None, true).unwrap().shape(), &[1]);
    let k = x.argmax(-1, true).unwrap();
    assert_eq!(k.shape(), &[2, 1]);
    assert_eq!(k.to_vec::<u32>().unwrap(), vec![1, 1]);
    assert_eq!(
        x.argmin(0, false).unwrap().to_vec::<u32>().unwrap(),
        vec![0, 0, 1]
    );
}

#[test]
fn large_inputs_take_the_parallel_paths() {
    // 2^17 elements: above the rayon threshold; compare against a sequential f64 sum
    let n = 1 << 17;
    let data: Vec<f32> = (0..n)
        .map(|i| ((i * 37) % 101) as f32 * 0.01 - 0.5)
        .collect();
    let x = Array::from_slice(&data, &[256, 512]).unwrap();
    let rows = x.sum(-1, false).unwrap().to_vec::<f32>().unwrap();
    let cols = x.sum(0, false).unwrap().to_vec::<f32>().unwrap();
    let mid = x
        .t()
        .unwrap()
        .sum(0, false)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    for r in 0..256 {
        let want: f64 = data[r * 512..(r + 1) * 512].iter().map(|&v| v as f64).sum();
        assert!((rows[r] as f64 - want).abs() < 1e-3);
        assert!((mid[r] as f64 - want).abs() < 1e-3);
    }
    for c in 0..512 {
        let want: f64 = (0..256).map(|r| data[r * 512 + c] as f64).sum();
        assert!((cols[c] as f64 - want).abs() < 1e-3);
    }
    let am = x.argmax(-1, false).unwrap().to_vec::<u32>().unwrap();
    assert_eq!(am.len(), 256);
}
