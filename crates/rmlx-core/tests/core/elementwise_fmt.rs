//! Printing arrays as MLX's Python repr does.

use rmlx_core::{Array, Dtype};

#[test]
fn prints_like_mlx() {
    let a = Array::from_slice(&[1i32, 2, 3], &[3]).unwrap();
    assert_eq!(a.to_string(), "array([1, 2, 3], dtype=int32)");
    assert_eq!(format!("{a:?}"), "array([1, 2, 3], dtype=int32)");
    let b = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    assert_eq!(
        b.to_string(),
        "array([[1, 2],\n       [3, 4]], dtype=float32)"
    );
    assert_eq!(
        Array::scalar(1.5f32).to_string(),
        "array(1.5, dtype=float32)"
    );
    let t = Array::from_bools(&[true, false], &[2]).unwrap();
    assert_eq!(t.to_string(), "array([True, False], dtype=bool)");
    let f = Array::from_slice(&[0.1f32, 1.0 / 3.0, -2.5e-7, 1.0e7], &[4]).unwrap();
    assert_eq!(
        f.to_string(),
        "array([0.1, 0.333333, -2.5e-07, 1e+07], dtype=float32)"
    );
    let r = Array::from_slice(&(0..10).collect::<Vec<i64>>(), &[10]).unwrap();
    assert_eq!(r.to_string(), "array([0, 1, 2, ..., 7, 8, 9], dtype=int64)");
    let c = Array::from_slice(&(0..8).collect::<Vec<u8>>(), &[2, 2, 2]).unwrap();
    assert_eq!(
        c.to_string(),
        "array([[[0, 1],\n        [2, 3]],\n       [[4, 5],\n        [6, 7]]], dtype=uint8)"
    );
    // views print their logical elements
    let tt = b.t().unwrap();
    assert_eq!(
        tt.to_string(),
        "array([[1, 3],\n       [2, 4]], dtype=float32)"
    );
    let h = Array::from_slice(&[1.5f32, f32::NAN, f32::INFINITY], &[3])
        .unwrap()
        .astype(Dtype::Bf16)
        .unwrap();
    assert_eq!(h.to_string(), "array([1.5, nan, inf], dtype=bfloat16)");
    let e = Array::from_slice::<f32>(&[], &[0]).unwrap();
    assert_eq!(e.to_string(), "array([], dtype=float32)");
}
