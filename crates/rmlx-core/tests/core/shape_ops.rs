//! Shape ops: views (reshape, transpose, slice, broadcast, expand_dims, squeeze) checked against
//! naive index arithmetic, joins (concatenate, stack, split, pad, repeat, tile) against manual
//! loops, every element width through the copy kernels, and the errors.

use proptest::prelude::*;
use rmlx_core::{self as mx, s, Array, Dtype, Error, SliceArg, ALL_DTYPES};

fn iota(shape: &[usize]) -> Array {
    let n: usize = shape.iter().product();
    let v: Vec<i32> = (0..n as i32).collect();
    Array::from_slice(&v, shape).unwrap()
}

fn row_major(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// All multi-indices of `shape` in row-major order.
fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let n: usize = shape.iter().product();
    (0..n)
        .map(|mut lin| {
            let mut idx = vec![0; shape.len()];
            for ax in (0..shape.len()).rev() {
                idx[ax] = lin % shape[ax];
                lin /= shape[ax];
            }
            idx
        })
        .collect()
}

/// Python's slice of `range(n)`, by walking the indices one by one.
fn py_slice(n: usize, start: Option<isize>, stop: Option<isize>, step: isize) -> Vec<usize> {
    let n = n as isize;
    let fix = |v: isize| if v < 0 { v + n } else { v };
    let mut out = vec![];
    if step > 0 {
        let mut i = start.map_or(0, fix).max(0);
        let end = stop.map_or(n, fix).min(n);
        while i < end {
            out.push(i as usize);
            i += step;
        }
    } else {
        let mut i = start.map_or(n - 1, fix).min(n - 1);
        let end = stop.map_or(-1, fix).max(-1);
        while i > end {
            if i >= 0 {
                out.push(i as usize);
            }
            i += step;
        }
    }
    out
}

fn same_buffer(a: &Array, b: &Array) -> bool {
    a.data().unwrap().shares_buffer(&b.data().unwrap())
}

fn shape_strategy() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..5, 0..5)
}

fn slice_arg() -> impl Strategy<Value = (Option<isize>, Option<isize>, isize)> {
    (
        prop::option::of(-7isize..7),
        prop::option::of(-7isize..7),
        prop_oneof![-3isize..=-1, 1isize..=3],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn slice_matches_python(shape in shape_strategy(), args in prop::collection::vec(slice_arg(), 5)) {
        let x = iota(&shape);
        let args: Vec<SliceArg> = args[..shape.len()].iter().map(|&a| a.into()).collect();
        let y = x.slice(&args).unwrap();
        let kept: Vec<Vec<usize>> = shape.iter().zip(&args)
            .map(|(&n, a)| py_slice(n, a.start, a.stop, a.step)).collect();
        let out_shape: Vec<usize> = kept.iter().map(|k| k.len()).collect();
        prop_assert_eq!(y.shape(), &out_shape[..]);
        let st = row_major(&shape);
        let expect: Vec<i32> = indices(&out_shape).iter()
            .map(|ix| ix.iter().enumerate().map(|(ax, &i)| kept[ax][i] * st[ax]).sum::<usize>() as i32)
            .collect();
        prop_assert_eq!(y.to_vec::<i32>().unwrap(), expect);
    }

    #[test]
    fn transpose_then_reshape_matches_naive(shape in prop::collection::vec(1usize..5, 1..5), seed in 0usize..1000) {
        let nd = shape.len();
        let mut perm: Vec<usize> = (0..nd).collect();
        // a permutation from the seed
        for i in (1..nd).rev() { perm.swap(i, (seed / (i + 1)) % (i + 1)); }
        let x = iota(&shape);
        let t = x.transpose_axes(&perm).unwrap();
        let tshape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        let st = row_major(&shape);
        let expect: Vec<i32> = indices(&tshape).iter()
            .map(|ix| ix.iter().enumerate().map(|(ax, &i)| i * st[perm[ax]]).sum::<usize>() as i32)
            .collect();
        prop_assert_eq!(t.to_vec::<i32>().unwrap(), expect.clone());
        // a reshape of the transposed view keeps row-major order
        let flat = t.reshape([-1]).unwrap();
        prop_assert_eq!(flat.to_vec::<i32>().unwrap(), expect);
    }

    #[test]
    fn concatenate_matches_manual(pre in 0usize..4, post in 0usize..4, ns in prop::collection::vec(0usize..4, 1..4)) {
        let arrays: Vec<Array> = ns.iter().enumerate().map(|(k, &n)| {
            let v: Vec<i32> = (0..(pre * n * post) as i32).map(|i| i + 100 * k as i32).collect();
            Array::from_slice(&v, &[pre, n, post]).unwrap()
        }).collect();
        let c = mx::concatenate(&arrays, 1).unwrap();
        let total: usize = ns.iter().sum();
        prop_assert_eq!(c.shape(), &[pre, total, post][..]);
        let mut expect = vec![];
        for p in 0..pre {
            for (k, &n) in ns.iter().enumerate() {
                for j in 0..n { for q in 0..post {
                    expect.push((p * n * post + j * post + q) as i32 + 100 * k as i32);
                }}
            }
        }
        prop_assert_eq!(c.to_vec::<i32>().unwrap(), expect);
        // split at the boundaries gives the parts back
        let mut bounds = vec![];
        let mut at = 0isize;
        for &n in &ns[..ns.len() - 1] { at += n as isize; bounds.push(at); }
        let parts = mx::split(&c, bounds, 1).unwrap();
        prop_assert_eq!(parts.len(), arrays.len());
        for (p, a) in parts.iter().zip(&arrays) {
            prop_assert_eq!(p.to_vec::<i32>().unwrap(), a.to_vec::<i32>().unwrap());
        }
    }
}

#[test]
fn views_share_the_buffer() -> mx::Result<()> {
    let x = iota(&[4, 6]);
    x.eval()?;
    let views = [
        x.t()?,
        x.slice(s![1..3, (5, None, -2)])?,
        x.broadcast_to(&[2, 4, 6])?,
        x.expand_dims([0, 2])?,
        x.reshape([2, 2, 6])?,
        x.t()?.expand_dims(1)?.squeeze(None)?,
        x.flatten(0, 1)?,
        mx::moveaxis(&x, 0, 1)?,
    ];
    for v in &views {
        assert!(same_buffer(&x, v), "{:?} copies", v.shape());
    }
    // split parts are views too
    for p in x.split(2usize, 1)? {
        assert!(same_buffer(&x, &p));
    }
    Ok(())
}

#[test]
fn view_of_view_of_view() -> mx::Result<()> {
    // slice of transpose of broadcast
    let base = Array::from_slice(&[0i32, 1, 2], &[3])?; // [3]
    let b = base.broadcast_to(&[4, 3])?; // b[i, j] = j
    let t = b.t()?; // [3, 4], t[j, i] = j
    let v = t.slice(s![(-1, None, -2), 1..])?; // rows 2, 0; cols 1..4
    assert_eq!(v.shape(), &[2, 3]);
    assert_eq!(v.to_vec::<i32>()?, vec![2, 2, 2, 0, 0, 0]);
    assert!(same_buffer(&base, &v));
    // a reshape that cannot be a view copies and is still right
    let r = v.reshape([6])?;
    assert_eq!(r.to_vec::<i32>()?, vec![2, 2, 2, 0, 0, 0]);
    // slice of a negatively strided slice
    let x = iota(&[10]);
    let y = x
        .slice(s![SliceArg::from(..).step(-1)])?
        .slice(s![(1, Some(8), 3)])?;
    assert_eq!(y.to_vec::<i32>()?, vec![8, 5, 2]);
    assert!(same_buffer(&x, &y));
    Ok(())
}

#[test]
fn every_width_through_the_copy_paths() -> mx::Result<()> {
    for dt in ALL_DTYPES {
        let x = iota(&[3, 4]).astype(dt)?;
        let y = iota(&[3, 2]).astype(dt)?;
        // concatenate a transposed view with a slice
        let c = mx::concatenate(
            &[x.t()?.slice(s![.., 0..2])?, x.slice(s![0..2, ..])?.t()?],
            1,
        )?;
        let expect_i: Vec<i32> = (0..4).flat_map(|r| vec![r, 4 + r, r, 4 + r]).collect();
        let want = Array::from_slice(&expect_i, &[4, 4])?.astype(dt)?;
        assert_eq!(c.dtype(), dt);
        assert_eq!(c.to_vec::<f64>()?, want.to_vec::<f64>()?, "{dt}");
        // contiguous copy of a reversed view, pad, tile, repeat, slice_update
        let rev = x.slice(s![SliceArg::from(..).step(-1)])?.reshape([-1])?;
        let want: Vec<f64> = (0..3)
            .rev()
            .flat_map(|r| (0..4).map(move |c| (r * 4 + c) as f64))
            .collect();
        let want: Vec<f64> = Array::from_slice(&want, &[12])?.astype(dt)?.to_vec()?;
        assert_eq!(rev.to_vec::<f64>()?, want, "{dt}");
        let p = mx::pad(&y, &[(1, 0), (0, 1)], 1i32)?;
        assert_eq!(p.dtype(), dt);
        let want =
            Array::from_slice(&[1i32, 1, 1, 0, 1, 1, 2, 3, 1, 4, 5, 1], &[4, 3])?.astype(dt)?;
        assert_eq!(p.to_vec::<f64>()?, want.to_vec::<f64>()?, "{dt}");
        let u = x.slice_update(&y.slice(s![0..1, ..])?, s![.., (3, None, -2)])?;
        let want =
            Array::from_slice(&[0i32, 1, 2, 0, 4, 1, 6, 0, 8, 1, 10, 0], &[3, 4])?.astype(dt)?;
        assert_eq!(u.to_vec::<f64>()?, want.to_vec::<f64>()?, "{dt}");
    }
    Ok(())
}

#[test]
fn bool_copies() -> mx::Result<()> {
    let b = Array::from_bools(&[true, false, false, true, true, false], &[2, 3])?;
    let c = mx::concatenate(&[b.t()?, b.t()?], 1)?;
    assert_eq!(
        c.to_vec::<bool>()?,
        vec![true, true, true, true, false, true, false, true, false, false, false, false]
    );
    assert_eq!(mx::tile(&b, &[1, 2])?.shape(), &[2, 6]);
    Ok(())
}

#[test]
fn big_copies_use_the_parallel_paths() -> mx::Result<()> {
    // 300 x 400 f32: above the rayon threshold for concatenate, contiguous copies and pads
    let x = iota(&[300, 400]).astype(Dtype::F32)?;
    let t = x.t()?.reshape([-1])?.to_vec::<f32>()?;
    for (k, &v) in t.iter().enumerate().step_by(997) {
        let (i, j) = (k / 300, k % 300);
        assert_eq!(v, (j * 400 + i) as f32);
    }
    let c = mx::concatenate(&[x.clone(), x.t()?.slice(s![0..300, 0..300])?], 1)?;
    let cv = c.to_vec::<f32>()?;
    assert_eq!(c.shape(), &[300, 700]);
    for r in (0..300).step_by(37) {
        assert_eq!(cv[r * 700 + 5], (r * 400 + 5) as f32);
        assert_eq!(cv[r * 700 + 400 + 7], (7 * 400 + r) as f32);
    }
    let p = mx::pad(&x, &[(2, 3)], 0.5)?;
    assert_eq!(p.shape(), &[305, 405]);
    let pv = p.to_vec::<f32>()?;
    assert_eq!(pv[0], 0.5);
    assert_eq!(pv[2 * 405 + 2], 0.0);
    assert_eq!(pv[304 * 405 + 404], 0.5);
    Ok(())
}

#[test]
fn shape_op_semantics() -> mx::Result<()> {
    let x = iota(&[2, 3]);
    assert_eq!(mx::stack(&[x.clone(), x.clone()], 1)?.shape(), &[2, 2, 3]);
    assert_eq!(
        mx::stack(&[x.clone(), x.clone()], 2)?.to_vec::<i32>()?,
        vec![0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    );
    assert_eq!(
        mx::repeat(&x, 2, Some(0))?.to_vec::<i32>()?,
        vec![0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5]
    );
    assert_eq!(
        mx::repeat(&x, 2, None)?.to_vec::<i32>()?,
        vec![0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    );
    assert_eq!(mx::repeat(&x, 0, Some(1))?.shape(), &[2, 0]);
    let t = mx::tile(&x, &[2])?;
    assert_eq!(t.shape(), &[2, 6]);
    assert_eq!(t.to_vec::<i32>()?, vec![0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5]);
    assert_eq!(mx::tile(&x, &[2, 1, 1])?.shape(), &[2, 2, 3]);
    assert_eq!(
        mx::swapaxes(&x, 0, -1)?.to_vec::<i32>()?,
        vec![0, 3, 1, 4, 2, 5]
    );
    assert_eq!(iota(&[2, 3, 4]).moveaxis(-1, 0)?.shape(), &[4, 2, 3]);
    assert_eq!(iota(&[2, 3, 4]).flatten(-2, -1)?.shape(), &[2, 12]);
    assert_eq!(mx::array(3i32).flatten(0, -1)?.shape(), &[1]);
    assert_eq!(iota(&[6]).unflatten(0, [2, -1])?.shape(), &[2, 3]);
    assert_eq!(
        mx::pad_edge(&x, &[(1, 1), (0, 2)])?.to_vec::<i32>()?,
        vec![0, 1, 2, 2, 2, 0, 1, 2, 2, 2, 3, 4, 5, 5, 5, 3, 4, 5, 5, 5]
    );
    // split into equal parts along the last axis
    let parts = iota(&[2, 4]).split(2usize, -1)?;
    assert_eq!(parts[1].to_vec::<i32>()?, vec![2, 3, 6, 7]);
    // slice_update broadcasts and leaves the source alone
    let u = x.slice_update(&mx::array(9i32), s![.., 1..])?;
    assert_eq!(u.to_vec::<i32>()?, vec![0, 9, 9, 3, 9, 9]);
    assert_eq!(x.to_vec::<i32>()?, vec![0, 1, 2, 3, 4, 5]);
    // a float update is cast to the source's dtype
    let u = x.slice_update(&mx::array(2.7f32), s![0..1])?;
    assert_eq!(u.dtype(), Dtype::I32);
    assert_eq!(u.to_vec::<i32>()?, vec![2, 2, 2, 3, 4, 5]);
    // concatenate promotes
    let c = mx::concatenate(&[x.clone(), x.astype(Dtype::F32)?], 0)?;
    assert_eq!(c.dtype(), Dtype::F32);
    // empty slices
    assert_eq!(x.slice(s![5.., ..])?.shape(), &[0, 3]);
    assert_eq!(x.slice(s![5.., ..])?.to_vec::<i32>()?, Vec::<i32>::new());
    Ok(())
}

fn is_kind(r: mx::Result<Array>, f: fn(&Error) -> bool) -> bool {
    matches!(r, Err(ref e) if f(e))
}

#[test]
fn errors() -> mx::Result<()> {
    let x = iota(&[2, 3]);
    let shape = |e: &Error| matches!(e, Error::Shape(_));
    let axis = |e: &Error| matches!(e, Error::Axis(_));
    let value = |e: &Error| matches!(e, Error::Value(_));
    assert!(is_kind(
        mx::concatenate(&[x.clone(), iota(&[3, 3])], 1),
        shape
    ));
    assert!(is_kind(mx::concatenate(&[x.clone(), iota(&[6])], 0), shape));
    assert!(is_kind(mx::concatenate(&[], 0), value));
    assert!(is_kind(mx::concatenate(std::slice::from_ref(&x), 2), axis));
    assert!(is_kind(mx::stack(&[x.clone(), iota(&[3, 2])], 0), shape));
    assert!(is_kind(mx::stack(std::slice::from_ref(&x), 3), axis));
    assert!(is_kind(x.slice(s![.., .., ..]), axis));
    assert!(is_kind(x.slice(&[SliceArg::new(None, None, 0)]), value));
    assert!(is_kind(x.slice_update(&iota(&[3]), s![.., 1..]), shape));
    assert!(is_kind(x.squeeze(0), shape));
    assert!(is_kind(x.squeeze(2), axis));
    assert!(is_kind(x.expand_dims([0, 0]), axis));
    assert!(is_kind(x.expand_dims(3), axis));
    assert!(is_kind(x.flatten(1, 0), axis));
    assert!(is_kind(x.unflatten(1, [4, -1]), shape));
    assert!(is_kind(mx::swapaxes(&x, 0, 2), axis));
    assert!(is_kind(mx::moveaxis(&x, -3, 0), axis));
    assert!(is_kind(mx::pad(&x, &[(1, 1); 3], 0i32), shape));
    assert!(is_kind(mx::pad(&x, &[(1, 1)], iota(&[2])), shape));
    assert!(is_kind(mx::pad_edge(&iota(&[0]), &[(1, 1)]), shape));
    assert!(is_kind(mx::repeat(&x, 2, Some(2)), axis));
    assert!(x.split(4usize, 1).is_err());
    assert!(x.split(2usize, 5).is_err());
    let msg = mx::concatenate(&[x.clone(), iota(&[3, 3])], 1)
        .err()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("concatenate") && msg.contains("[3, 3]"),
        "{msg}"
    );
    Ok(())
}
