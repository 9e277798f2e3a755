//! quantize / dequantize / quantized_matmul beyond the oracle: both product kernels (few rows:
//! fused; many rows: dequantize + GEMM) against the product with the dequantized matrix, any
//! leading axes of x, strided inputs, vmap and jvp, and MLX's errors.

use crate::gauss::Rng;
use crate::vmap_rules::{assert_close, check, rand, F};
use rmlx_core::{self as mx, Array, Dtype, Result};

#[test]
fn both_product_kernels_equal_the_dequantized_product() {
    let mut r = Rng(21);
    for bits in [2usize, 3, 4, 5, 6, 8] {
        let w = rand(&mut r, &[48, 128]);
        let (wq, s, b) = mx::quantize(&w, 64, bits).unwrap();
        let wd = mx::dequantize(&wq, &s, &b, 64, bits).unwrap();
        for rows in [1usize, 5, 16, 17, 40] {
            let x = rand(&mut r, &[rows, 128]);
            let y = mx::quantized_matmul(&x, &wq, &s, &b, true, 64, bits).unwrap();
            assert_close(
                &format!("b{bits} rows {rows} x @ w.T"),
                &y,
                &x.matmul(&wd.t().unwrap()).unwrap(),
                1e-4,
            );
            let xn = rand(&mut r, &[rows, 48]);
            let yn = mx::quantized_matmul(&xn, &wq, &s, &b, false, 64, bits).unwrap();
            assert_close(
                &format!("b{bits} rows {rows} x @ w"),
                &yn,
                &xn.matmul(&wd).unwrap(),
                1e-4,
            );
        }
    }
    // leading axes and a transposed (strided) x
    let w = rand(&mut r, &[32, 64]);
    let (wq, s, b) = mx::quantize(&w, 32, 4).unwrap();
    let wd = mx::dequantize(&wq, &s, &b, 32, 4).unwrap();
    let x = rand(&mut r, &[64, 3, 2])
        .transpose_axes(&[2, 1, 0])
        .unwrap();
    let y = mx::quantized_matmul(&x, &wq, &s, &b, true, 32, 4).unwrap();
    assert_eq!(y.shape(), &[2, 3, 32]);
    assert_close(
        "leading axes",
        &y,
        &x.matmul(&wd.t().unwrap()).unwrap(),
        1e-4,
    );
    // f16 input keeps its dtype
    let y16 =
        mx::quantized_matmul(&x.astype(Dtype::F16).unwrap(), &wq, &s, &b, true, 32, 4).unwrap();
    assert_eq!(y16.dtype(), Dtype::F16);
}

#[test]
fn quantized_products_vmap_and_jvp() {
    let mut r = Rng(22);
    let w = rand(&mut r, &[16, 64]);
    let (wq, s, b) = mx::quantize(&w, 32, 4).unwrap();
    let qmm: F = |a| {
        Ok(vec![mx::quantized_matmul(
            &a[0], &a[1], &a[2], &a[3], true, 32, 4,
        )?])
    };
    let x = rand(&mut r, &[5, 3, 64]);
    check(
        "qmm x mapped",
        qmm,
        &[x.clone(), wq.clone(), s.clone(), b.clone()],
        &[Some(0), None, None, None],
        0,
    );
    check(
        "qmm x mapped mid",
        qmm,
        &[x.clone(), wq.clone(), s.clone(), b.clone()],
        &[Some(1), None, None, None],
        0,
    );
    // a matrix per example
    let ws = rand(&mut r, &[5, 16, 64]);
    let (wqs, ss, bs) = mx::quantize(&ws, 32, 4).unwrap();
    check(
        "qmm w mapped",
        qmm,
        &[x.clone(), wqs.clone(), ss, bs],
        &[Some(0), Some(0), Some(0), Some(0)],
        0,
    );
    let quant: F = |a| {
        let (q, s, b) = mx::quantize(&a[0], 32, 4)?;
        Ok(vec![q, s, b])
    };
    check("quantize", quant, &[ws.clone()], &[Some(1)], 0);
    let deq: F = |a| Ok(vec![mx::dequantize(&a[0], &a[1], &a[2], 32, 4)?]);
    check(
        "dequantize",
        deq,
        &[wqs, s.clone(), b.clone()],
        &[Some(0), None, None],
        0,
    );
    // jvp in x is the product of the tangent
    let t = rand(&mut r, &[3, 64]);
    let f = |a: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![mx::quantized_matmul(&a[0], &wq, &s, &b, true, 32, 4)?])
    };
    let (_, jt) = mx::jvp(
        f,
        &[x.slice(mx::s![0..1]).unwrap().squeeze(0).unwrap()],
        &[t.clone()],
    )
    .unwrap();
    assert_close("jvp", &jt[0], &f(&[t]).unwrap()[0], 1e-6);
    // no gradient for the packed integers, as MLX
    let g = |a: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![
            mx::quantized_matmul(&x, &a[0], &s, &b, true, 32, 4)?.sum(None, false)?
        ])
    };
    let e = mx::grad(g, &[0])(&[wq.clone()]).unwrap_err();
    assert!(
        e.to_string()
            .contains("no gradient wrt the quantized weights"),
        "{e}"
    );
}

#[test]
fn quantization_errors_are_mlx_errors() {
    let w = mx::zeros(&[4, 64], Dtype::F32).unwrap();
    let msg = |e: mx::Error| e.to_string();
    assert!(msg(mx::quantize(&w, 16, 4).unwrap_err()).contains("group size 16 is not supported"));
    assert!(msg(mx::quantize(&w, 32, 7).unwrap_err()).contains("number of bits 7 is not supported"));
    let odd = mx::zeros(&[4, 48], Dtype::F32).unwrap();
    assert!(msg(mx::quantize(&odd, 32, 4).unwrap_err())
        .contains("divisible by the quantization group size 32"));
    let v = mx::zeros(&[64], Dtype::F32).unwrap();
    assert!(msg(mx::quantize(&v, 32, 4).unwrap_err()).contains("at least 2 dimension"));
    let ints = mx::zeros(&[4, 64], Dtype::I32).unwrap();
    assert!(mx::quantize(&ints, 32, 4).is_err());
    let (wq, s, b) = mx::quantize(&w, 32, 4).unwrap();
    assert!(
        msg(mx::dequantize(&wq, &s, &b, 64, 4).unwrap_err()).contains("does not match the matrix")
    );
    let x = mx::zeros(&[2, 63], Dtype::F32).unwrap();
    assert!(
        msg(mx::quantized_matmul(&x, &wq, &s, &b, true, 32, 4).unwrap_err())
            .contains("Inner dimension")
    );
    assert!(mx::quantized_matmul(&x, &s, &s, &b, true, 32, 4).is_err()); // scales as the matrix
                                                                         // a constant group quantizes to its value exactly
    let c = mx::full(&[1, 32], 0.75f32, Dtype::F32).unwrap();
    let (cq, cs, cb) = mx::quantize(&c, 32, 4).unwrap();
    assert_eq!(
        mx::dequantize(&cq, &cs, &cb, 32, 4)
            .unwrap()
            .to_vec::<f32>()
            .unwrap(),
        vec![0.75; 32]
    );
}

#[test]
fn quantized_hooks_reject_malformed_calls() {
    let w = mx::zeros(&[4, 64], Dtype::F32).unwrap();
    let (wq, s, b) = mx::quantize(&w, 32, 4).unwrap();
    let x = mx::zeros(&[2, 64], Dtype::F32).unwrap();
    let y = mx::quantized_matmul(&x, &wq, &s, &b, true, 32, 4).unwrap();
    let p = y.primitive().unwrap();
    assert!(p.vmap(&[x.clone()], &[Some(0)]).is_err()); // one input for a four-input node
    let d = mx::dequantize(&wq, &s, &b, 32, 4)
        .unwrap()
        .primitive()
        .unwrap();
    assert!(d.vmap(&[wq.clone(), s.clone()], &[Some(0), None]).is_err());
    assert!(wq.primitive().unwrap().output_shapes(&[]).is_err());
}
