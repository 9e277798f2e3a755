//! Creation ops: zeros/ones/full(_like), arange (MLX's accumulation and length rules), linspace,
//! eye/identity/tri, tril/triu, against closed forms.

use rmlx_core::{self as mx, Array, Dtype, Error, ALL_DTYPES};

#[test]
fn zeros_ones_full_every_dtype() -> mx::Result<()> {
    for dt in ALL_DTYPES {
        let z = mx::zeros(&[2, 3], dt)?;
        assert_eq!((z.shape(), z.dtype()), (&[2usize, 3][..], dt));
        assert_eq!(z.to_vec::<f64>()?, vec![0.0; 6]);
        assert_eq!(mx::ones(&[4], dt)?.to_vec::<f64>()?, vec![1.0; 4]);
        assert_eq!(mx::full(&[2], 1i32, dt)?.to_vec::<f64>()?, vec![1.0; 2]);
        let like = mx::ones_like(&z)?;
        assert_eq!((like.shape(), like.dtype()), (z.shape(), dt));
        assert_eq!(mx::zeros_like(&like)?.to_vec::<f64>()?, vec![0.0; 6]);
    }
    assert_eq!(mx::full(&[2], 2.5, None)?.dtype(), Dtype::F32);
    assert_eq!(
        mx::full(&[2], 2.5f64, Dtype::F64)?.to_vec::<f64>()?,
        vec![2.5, 2.5]
    );
    assert_eq!(
        mx::full(&[2], true, None)?.to_vec::<bool>()?,
        vec![true, true]
    );
    let f = mx::full_like(&mx::zeros(&[3], Dtype::I32)?, 2.9, None)?;
    assert_eq!((f.dtype(), f.to_vec::<i32>()?), (Dtype::I32, vec![2, 2, 2]));
    // an array value broadcasts
    let row = Array::from_slice(&[1i32, 2, 3], &[3])?;
    assert_eq!(
        mx::full(&[2, 3], &row, None)?.to_vec::<i32>()?,
        vec![1, 2, 3, 1, 2, 3]
    );
    assert!(matches!(
        mx::full(&[2, 2], &row, None),
        Err(Error::Shape(_))
    ));
    assert_eq!(mx::zeros(&[], Dtype::F32)?.shape(), &[] as &[usize]);
    assert_eq!(
        mx::zeros(&[0, 3], Dtype::F32)?.to_vec::<f32>()?,
        Vec::<f32>::new()
    );
    Ok(())
}

#[test]
fn arange_follows_mlx() -> mx::Result<()> {
    assert_eq!(
        mx::arange(0.0, 5.0, 1.0, Dtype::I32)?.to_vec::<i32>()?,
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!(
        mx::arange(5.0, 0.0, -2.0, Dtype::I64)?.to_vec::<i64>()?,
        vec![5, 3, 1]
    );
    assert_eq!(mx::arange(0.0, 1.0, 0.3, Dtype::F32)?.shape(), &[4]);
    assert_eq!(mx::arange(3.0, 1.0, 1.0, Dtype::F32)?.shape(), &[0]);
    // values accumulate in the dtype: v[i] = v[i-1] + step, as MLX's CPU kernel
    let v = mx::arange(0.0, 10.0, 0.1, Dtype::F32)?.to_vec::<f32>()?;
    assert_eq!(v.len(), 100);
    let mut acc = 0.0f32;
    for &x in &v {
        assert_eq!(x, acc);
        acc += 0.1f32;
    }
    let h = mx::arange(0.0, 4.0, 0.5, Dtype::F16)?;
    assert_eq!(
        h.to_vec::<f32>()?,
        vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    );
    assert_eq!(
        mx::arange(250.0, 260.0, 3.0, Dtype::U8)?.to_vec::<u8>()?,
        vec![250, 253, 0, 3]
    );
    assert!(matches!(
        mx::arange(0.0, 1.0, 0.0, Dtype::F32),
        Err(Error::Value(_))
    ));
    assert!(matches!(
        mx::arange(0.0, f64::NAN, 1.0, Dtype::F32),
        Err(Error::Value(_))
    ));
    assert!(matches!(
        mx::arange(0.0, 3.0, 1.0, Dtype::Bool),
        Err(Error::Dtype(_))
    ));
    assert!(mx::arange(0.0, 1e12, 1.0, Dtype::F32).is_err());
    Ok(())
}

#[test]
fn linspace_closed_form() -> mx::Result<()> {
    let v = mx::linspace(-1.0, 2.0, 7, Dtype::F32)?.to_vec::<f32>()?;
    for (i, &x) in v.iter().enumerate() {
        let t = i as f32 / 6.0;
        assert_eq!(x, -(1.0 - t) + t * 2.0);
    }
    assert_eq!(v[6], 2.0);
    assert_eq!(
        mx::linspace(3.0, 9.0, 1, Dtype::F32)?.to_vec::<f32>()?,
        vec![3.0]
    );
    assert_eq!(mx::linspace(3.0, 9.0, 0, Dtype::F32)?.shape(), &[0]);
    assert_eq!(
        mx::linspace(0.0, 10.0, 3, Dtype::I32)?.to_vec::<i32>()?,
        vec![0, 5, 10]
    );
    Ok(())
}

#[test]
fn eye_tri_and_masks() -> mx::Result<()> {
    for dt in ALL_DTYPES {
        let e = mx::eye(3, Some(4), -1, dt)?.to_vec::<f64>()?;
        for i in 0..3 {
            for j in 0..4 {
                assert_eq!(
                    e[i * 4 + j],
                    (j as isize - i as isize == -1) as u8 as f64,
                    "{dt}"
                );
            }
        }
    }
    assert_eq!(
        mx::identity(2, Dtype::F32)?.to_vec::<f32>()?,
        vec![1.0, 0.0, 0.0, 1.0]
    );
    let t = mx::tri(3, Some(2), 1, Dtype::I32)?.to_vec::<i32>()?;
    assert_eq!(t, vec![1, 1, 1, 1, 1, 1]);
    let t = mx::tri(3, None, -1, Dtype::I32)?.to_vec::<i32>()?;
    assert_eq!(t, vec![0, 0, 0, 1, 0, 0, 1, 1, 0]);
    // tril / triu on a batched, transposed input, with inf values kept intact
    let v: Vec<f32> = (0..24)
        .map(|i| if i == 5 { f32::INFINITY } else { i as f32 })
        .collect();
    let x = Array::from_slice(&v, &[2, 4, 3])?.swapaxes(1, 2)?; // [2, 3, 4]
    let xv = x.to_vec::<f32>()?;
    for k in [-2isize, 0, 1, 3] {
        let lo = mx::tril(&x, k)?.to_vec::<f32>()?;
        let up = x.triu(k)?.to_vec::<f32>()?;
        for (n, (&l, &u)) in lo.iter().zip(&up).enumerate() {
            let (i, j) = ((n / 4) % 3, n % 4);
            let d = j as isize - i as isize;
            assert_eq!(l, if d <= k { xv[n] } else { 0.0 });
            assert_eq!(u, if d >= k { xv[n] } else { 0.0 });
        }
    }
    assert!(matches!(
        mx::tril(&mx::zeros(&[3], Dtype::F32)?, 0),
        Err(Error::Shape(_))
    ));
    Ok(())
}

/// Outputs no machine can hold are errors naming the op, not an aborted process (issue 20):
/// sizes past the address space, so the check cannot depend on the machine's memory.
#[test]
fn impossible_sizes_are_errors_not_aborts() {
    let huge = 1usize << 60; // 2^62 bytes of f32
    let e = mx::random::uniform(&[huge], None)
        .unwrap()
        .eval()
        .unwrap_err();
    assert!(e.to_string().contains("cannot allocate"), "{e}");
    let z = mx::zeros(&[huge], Dtype::F32).unwrap(); // a broadcast view: nothing allocated
    let e = z.exp().unwrap().eval().unwrap_err();
    assert!(e.to_string().contains("Exp"), "{e}");
    let e = (&z + &z).unwrap().eval().unwrap_err();
    assert!(e.to_string().contains("cannot allocate"), "{e}");
    assert!(mx::eye(1 << 31, None, 0, Dtype::F32).is_err());
    assert!(mx::tri(1 << 40, None, 0, Dtype::F32).is_err());
    assert!(mx::linspace(0.0, 1.0, huge, Dtype::F32).is_err());
    // element counts that overflow usize
    let big = mx::zeros(&[1 << 40], Dtype::F32).unwrap();
    let outer = big.reshape([1isize << 40, 1]).unwrap();
    // broadcasting to 2^80 elements fails when the product is built
    let e = (&outer * &big.reshape([1, 1isize << 40]).unwrap()).unwrap_err();
    assert!(e.to_string().contains("more elements than"), "{e}");
}
