//! take / take_along_axis / put_along_axis / scatter-add: naive gathers in the test, every index
//! dtype, negative indices, out-of-range indices failing at evaluation, and the MLX oracle.

use proptest::prelude::*;
use rmlx_core::{self as mx, Array, Dtype, Error, ALL_DTYPES};

fn iota(shape: &[usize]) -> Array {
    let n: usize = shape.iter().product();
    let v: Vec<i32> = (0..n as i32).collect();
    Array::from_slice(&v, shape).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn take_matches_naive(
        shape in prop::collection::vec(1usize..4, 1..4),
        axis_seed in 0usize..8,
        idx_shape in prop::collection::vec(0usize..3, 0..3),
        seed in prop::collection::vec(-100i32..100, 9),
    ) {
        let ax = axis_seed % shape.len();
        let n = shape[ax] as i32;
        let ni: usize = idx_shape.iter().product();
        // indices in [-n, n)
        let idx: Vec<i32> = (0..ni).map(|k| seed[k % 9].rem_euclid(2 * n) - n).collect();
        let x = iota(&shape);
        let i = Array::from_slice(&idx, &idx_shape).unwrap();
        let y = mx::take(&x, &i, Some(ax as isize)).unwrap();
        let pre: usize = shape[..ax].iter().product();
        let post: usize = shape[ax + 1..].iter().product();
        let mut expect = vec![];
        for p in 0..pre {
            for &k in &idx {
                let k = if k < 0 { k + n } else { k } as usize;
                for q in 0..post {
                    expect.push((p * shape[ax] * post + k * post + q) as i32);
                }
            }
        }
        let mut out_shape = shape[..ax].to_vec();
        out_shape.extend_from_slice(&idx_shape);
        out_shape.extend_from_slice(&shape[ax + 1..]);
        prop_assert_eq!(y.shape(), &out_shape[..]);
        prop_assert_eq!(y.to_vec::<i32>().unwrap(), expect);
        // flat take
        let total: i32 = shape.iter().product::<usize>() as i32;
        let fidx: Vec<i32> = (0..ni).map(|k| seed[k % 9].rem_euclid(2 * total) - total).collect();
        let f = mx::take(&x, &Array::from_slice(&fidx, &idx_shape).unwrap(), None).unwrap();
        let fe: Vec<i32> = fidx.iter().map(|&k| if k < 0 { k + total } else { k }).collect();
        prop_assert_eq!(f.to_vec::<i32>().unwrap(), fe);
    }
}

#[test]
fn take_every_index_dtype_and_value_dtype() -> mx::Result<()> {
    let x = iota(&[4, 3]);
    for it in [
        Dtype::U8,
        Dtype::U16,
        Dtype::U32,
        Dtype::U64,
        Dtype::I8,
        Dtype::I16,
        Dtype::I32,
        Dtype::I64,
    ] {
        let i = Array::from_slice(&[3i32, 0, 3], &[3])?.astype(it)?;
        assert_eq!(
            x.take(&i, Some(0))?.to_vec::<i32>()?,
            vec![9, 10, 11, 0, 1, 2, 9, 10, 11],
            "{it}"
        );
    }
    for dt in ALL_DTYPES {
        let xs = x.astype(dt)?;
        let i = Array::from_slice(&[-1i64, 1], &[2])?;
        let got = xs.t()?.take(&i, Some(1))?; // gathers from a transposed view
        let want = Array::from_slice(&[9i32, 3, 10, 4, 11, 5], &[3, 2])?.astype(dt)?;
        assert_eq!(got.dtype(), dt);
        assert_eq!(got.to_vec::<f64>()?, want.to_vec::<f64>()?, "{dt}");
    }
    Ok(())
}

#[test]
fn out_of_range_indices_fail_at_evaluation() -> mx::Result<()> {
    let x = iota(&[5, 4]);
    for bad in [5i32, -6, 100] {
        let y = mx::take(&x, &Array::from_slice(&[0, bad], &[2])?, Some(0))?; // builds fine
        match y.eval() {
            Err(Error::Index(m)) => {
                assert!(m.contains(&bad.to_string()) && m.contains('5'), "{m}")
            }
            other => panic!("expected an index error, got {other:?}"),
        }
    }
    let big = Array::from_slice(&[u64::MAX], &[1])?;
    assert!(matches!(
        mx::take(&x, &big, None)?.eval(),
        Err(Error::Index(_))
    ));
    let i = Array::from_slice(&[0i32, 5, 0, 0], &[1, 4])?;
    assert!(matches!(
        mx::take_along_axis(&x, &i, 0)?.eval(),
        Err(Error::Index(_))
    ));
    let ok = Array::from_slice(&[0i32, 3, 0, -4, 1], &[5, 1])?;
    assert!(mx::put_along_axis(&x, &ok, &mx::array(1i32), 1)?
        .eval()
        .is_ok());
    let bad = Array::from_slice(&[0i32, 4, 0, 0, 0], &[5, 1])?;
    assert!(matches!(
        mx::put_along_axis(&x, &bad, &mx::array(1i32), 1)?.eval(),
        Err(Error::Index(_))
    ));
    let i = Array::from_slice(&[0i32, 1], &[1, 2])?;
    // build-time errors
    let f = Array::from_slice(&[0.0f32], &[1])?;
    assert!(matches!(mx::take(&x, &f, None), Err(Error::Dtype(_))));
    let b = Array::from_bools(&[true], &[1])?;
    assert!(matches!(mx::take(&x, &b, None), Err(Error::Dtype(_))));
    assert!(matches!(mx::take(&x, &i, Some(2)), Err(Error::Axis(_))));
    let i1 = Array::from_slice(&[0i32], &[1])?;
    assert!(matches!(
        mx::take_along_axis(&x, &i1, 0),
        Err(Error::Shape(_))
    ));
    let i3 = Array::from_slice(&[0i32; 3], &[3, 1])?;
    assert!(matches!(
        mx::take_along_axis(&x, &i3, 1),
        Err(Error::Shape(_))
    ));
    let vals = Array::from_slice(&[1i32, 2, 3], &[3])?;
    assert!(matches!(
        mx::put_along_axis(&x, &i, &vals, 1),
        Err(Error::Shape(_))
    ));
    // empty indices into an empty axis are fine
    let e = mx::take(
        &mx::zeros(&[0, 2], Dtype::F32)?,
        &Array::from_slice(&[0i32; 0], &[0])?,
        Some(0),
    )?;
    assert_eq!(e.to_vec::<f32>()?, Vec::<f32>::new());
    Ok(())
}

#[test]
fn along_axis_and_put() -> mx::Result<()> {
    let x = iota(&[3, 4]);
    let i = Array::from_slice(&[3i32, 0, -1, 1, 2, 2], &[3, 2])?;
    assert_eq!(
        x.take_along_axis(&i, 1)?.to_vec::<i32>()?,
        vec![3, 0, 7, 5, 10, 10]
    );
    // indices broadcast against the array on the other axes
    let i = Array::from_slice(&[2i32, 0, 1, 2], &[1, 4])?;
    assert_eq!(
        x.take_along_axis(&i, 0)?.to_vec::<i32>()?,
        vec![8, 1, 6, 11]
    );
    let xb = Array::from_slice(&[5i32, 6, 7], &[1, 3])?;
    let ib = Array::from_slice(&[2i32, 0], &[2, 1])?;
    assert_eq!(xb.take_along_axis(&ib, 1)?.to_vec::<i32>()?, vec![7, 5]);
    let p = mx::put_along_axis(
        &x,
        &Array::from_slice(&[1i32, 2, 0, 2], &[1, 4])?,
        &Array::from_slice(&[-1i32, -2, -3, -4], &[1, 4])?,
        0,
    )?;
    assert_eq!(
        p.to_vec::<i32>()?,
        vec![0, 1, -3, 3, -1, 5, 6, 7, 8, -2, 10, -4]
    );
    let p = mx::put_along_axis(
        &x,
        &Array::from_slice(&[0i32], &[1, 1])?,
        &mx::array(9.9f32),
        1,
    )?;
    assert_eq!(p.dtype(), Dtype::I32);
    assert_eq!(
        p.to_vec::<i32>()?,
        vec![9, 1, 2, 3, 9, 5, 6, 7, 9, 9, 10, 11]
    );
    Ok(())
}

#[test]
fn scatter_add_accumulates_repeats() -> mx::Result<()> {
    let base = mx::zeros(&[3, 2], Dtype::F32)?;
    let i = Array::from_slice(&[2i32, 0, 2, -1], &[4])?;
    let v = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], &[4, 2])?;
    let out = mx::scatter_add_axis(&base, &i, &v, 0)?;
    assert_eq!(out.to_vec::<f32>()?, vec![3.0, 4.0, 0.0, 0.0, 13.0, 16.0]);
    // bool scatter-add is a logical or, ints wrap
    let b = mx::scatter_add_axis(
        &mx::zeros(&[2], Dtype::Bool)?,
        &Array::from_slice(&[1i32, 1], &[2])?,
        &mx::array(true),
        0,
    )?;
    assert_eq!(b.to_vec::<bool>()?, vec![false, true]);
    let u = mx::scatter_add_axis(
        &mx::full(&[1], 200u8, None)?,
        &Array::from_slice(&[0i32, 0], &[2])?,
        &mx::array(50u8),
        0,
    )?;
    assert_eq!(u.to_vec::<u8>()?, vec![44]);
    Ok(())
}

// ---- MLX oracle -------------------------------------------------------------------------

fn load(st: &safetensors::SafeTensors, key: &str) -> Array {
    let t = st.tensor(key).unwrap();
    let shape = t.shape().to_vec();
    match t.dtype() {
        safetensors::Dtype::F32 => {
            let v: Vec<f32> = t
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            Array::from_slice(&v, &shape).unwrap()
        }
        safetensors::Dtype::I32 => {
            let v: Vec<i32> = t
                .data()
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            Array::from_slice(&v, &shape).unwrap()
        }
        d => panic!("unexpected dtype {d:?}"),
    }
}

fn close(a: &Array, b: &Array, what: &str) {
    assert_eq!(a.shape(), b.shape(), "{what}");
    let (x, y) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
    for (p, q) in x.iter().zip(&y) {
        assert!((p - q).abs() <= 1e-6 + 1e-5 * q.abs(), "{what}: {p} vs {q}");
    }
}

#[test]
fn oracle_take_concatenate_transpose() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/oracle/core_ops.safetensors"
    ))
    .unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    for (case, axis) in [
        ("take_axis0", Some(0)),
        ("take_axis1", Some(1)),
        ("take_flat", None),
    ] {
        let x = load(&st, &format!("{case}.input.x"));
        let i = load(&st, &format!("{case}.input.indices"));
        close(
            &mx::take(&x, &i, axis).unwrap(),
            &load(&st, &format!("{case}.out")),
            case,
        );
        // the vjp (through the transforms) scatter-adds the cotangent
        let cot = load(&st, &format!("{case}.cotangent"));
        let i2 = i.clone();
        let f =
            move |p: &[Array]| -> mx::Result<Vec<Array>> { Ok(vec![mx::take(&p[0], &i2, axis)?]) };
        let g = mx::vjp(f, std::slice::from_ref(&x), &[cot])
            .unwrap()
            .1
            .remove(0);
        close(&g, &load(&st, &format!("{case}.vjp.x")), case);
    }
    let x = load(&st, "take_along_axis.input.x");
    let i = load(&st, "take_along_axis.input.indices");
    close(
        &mx::take_along_axis(&x, &i, -1).unwrap(),
        &load(&st, "take_along_axis.out"),
        "take_along_axis",
    );
    let f = move |p: &[Array]| -> mx::Result<Vec<Array>> {
        Ok(vec![mx::take_along_axis(&p[0], &i, -1)?])
    };
    let cot = load(&st, "take_along_axis.cotangent");
    let g = mx::vjp(f, &[x], &[cot]).unwrap().1.remove(0);
    close(
        &g,
        &load(&st, "take_along_axis.vjp.x"),
        "take_along_axis vjp",
    );
    let a = load(&st, "concatenate_axis1.input.a");
    let b = load(&st, "concatenate_axis1.input.b");
    let c = load(&st, "concatenate_axis1.input.c");
    let abc = [a, b, c];
    close(
        &mx::concatenate(&abc, 1).unwrap(),
        &load(&st, "concatenate_axis1.out"),
        "concatenate_axis1",
    );
    let f = |p: &[Array]| -> mx::Result<Vec<Array>> { Ok(vec![mx::concatenate(p, 1)?]) };
    let cot = load(&st, "concatenate_axis1.cotangent");
    let g = mx::vjp(f, &abc, &[cot]).unwrap().1;
    for (gi, n) in g.iter().zip(["a", "b", "c"]) {
        let want = load(&st, &format!("concatenate_axis1.vjp.{n}"));
        close(gi, &want, "concatenate_axis1 vjp");
    }
    let a = load(&st, "concatenate_axis0.input.a");
    let b = load(&st, "concatenate_axis0.input.b");
    close(
        &mx::concatenate(&[a, b], 0).unwrap(),
        &load(&st, "concatenate_axis0.out"),
        "concatenate_axis0",
    );
    let x = load(&st, "transpose_perm.input.x");
    close(
        &mx::transpose(&x, Some(&[2, 0, 1])).unwrap(),
        &load(&st, "transpose_perm.out"),
        "transpose_perm",
    );
}
