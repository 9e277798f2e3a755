//! vjp / jvp / grad / value_and_grad: values, argnums, errors, auxiliary outputs, stop_gradient,
//! composition and pruning.
// Tests favour plain `&[x.clone()]` argument lists and inline fn-pointer tables over helpers.

use rmlx_core::{self as mx, array, graph, Array, Dtype, Result};

fn arr(v: &[f32], shape: &[usize]) -> Array {
    Array::from_slice(v, shape).unwrap()
}

fn err<T>(r: Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

fn sum_sq(p: &[Array]) -> Result<Vec<Array>> {
    Ok(vec![(&p[0] * &p[0])?.sum(None, false)?])
}

#[test]
fn vjp_of_product_gives_both_cotangents() {
    let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&p[0] * &p[1])?]) };
    let x = arr(&[1.0, 2.0, 3.0], &[3]);
    let y = arr(&[4.0, 5.0, 6.0], &[3]);
    let c = arr(&[1.0, 2.0, 3.0], &[3]);
    let (outs, vjps) = mx::vjp(f, &[x, y], &[c]).unwrap();
    assert_eq!(outs[0].to_vec::<f32>().unwrap(), vec![4.0, 10.0, 18.0]);
    assert_eq!(vjps[0].to_vec::<f32>().unwrap(), vec![4.0, 10.0, 18.0]);
    assert_eq!(vjps[1].to_vec::<f32>().unwrap(), vec![1.0, 4.0, 9.0]);
}

#[test]
fn vjp_multiple_outputs_accumulates() {
    // outputs a*b and a+b: d/da = c0*b + c1, d/db = c0*a + c1
    let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&p[0] * &p[1])?, (&p[0] + &p[1])?]) };
    let (_, v) = mx::vjp(
        f,
        &[array(2.0f32), array(3.0f32)],
        &[array(1.0f32), array(10.0f32)],
    )
    .unwrap();
    assert_eq!(v[0].item::<f32>().unwrap(), 13.0);
    assert_eq!(v[1].item::<f32>().unwrap(), 12.0);
}

#[test]
fn vjp_with_argnums_returns_only_requested() {
    let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&p[0] * &p[1])?]) };
    let (_, v) =
        mx::vjp_with_argnums(f, &[array(2.0f32), array(3.0f32)], &[array(1.0f32)], &[1]).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].item::<f32>().unwrap(), 2.0);
}

#[test]
fn jvp_of_product() {
    let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&p[0] * &p[1])?, (&p[0] + 1.0)?]) };
    let (outs, t) = mx::jvp(
        f,
        &[array(2.0f32), array(3.0f32)],
        &[array(1.0f32), array(0.5f32)],
    )
    .unwrap();
    assert_eq!(outs[0].item::<f32>().unwrap(), 6.0);
    assert_eq!(t[0].item::<f32>().unwrap(), 3.0 + 2.0 * 0.5);
    assert_eq!(t[1].item::<f32>().unwrap(), 1.0);
}

#[test]
fn jvp_errors() {
    let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![p[0].clone()]) };
    assert!(mx::jvp(f, &[array(1.0f32)], &[]).is_err());
    assert!(mx::jvp(f, &[arr(&[1.0, 2.0], &[2])], &[array(1.0f32)]).is_err());
}

#[test]
fn jvp_of_constant_output_is_zero() {
    let c = arr(&[1.0, 2.0], &[2]);
    let f = move |_: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&c * 2.0)?]) };
    let (_, t) = mx::jvp(f, &[array(1.0f32)], &[array(1.0f32)]).unwrap();
    assert_eq!(t[0].to_vec::<f32>().unwrap(), vec![0.0, 0.0]);
}

#[test]
fn grad_and_value_and_grad() {
    let x = arr(&[1.0, -2.0, 3.0], &[3]);
    let g = mx::grad(sum_sq, &[0])(&[x.clone()]).unwrap();
    assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![2.0, -4.0, 6.0]);
    let (v, g) = mx::value_and_grad(sum_sq, &[0])(&[x]).unwrap();
    assert_eq!(v[0].item::<f32>().unwrap(), 14.0);
    assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![2.0, -4.0, 6.0]);
}

#[test]
fn argnums_order_is_kept_and_unused_inputs_get_zeros() {
    let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&p[0] * 3.0)?.sum(None, false)?]) };
    let g = mx::grad(f, &[2, 0, 1])(&[
        arr(&[1.0, 1.0], &[2]),
        Array::from_slice(&[5i32], &[1]).unwrap(),
        arr(&[1.0; 6], &[2, 3]),
    ])
    .unwrap();
    assert_eq!(g[0].shape(), &[2, 3]);
    assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![0.0; 6]);
    assert_eq!(g[1].to_vec::<f32>().unwrap(), vec![3.0, 3.0]);
    assert_eq!(g[2].dtype(), Dtype::I32);
    assert_eq!(g[2].to_vec::<i32>().unwrap(), vec![0]);
}

#[test]
fn integer_inputs_get_integer_gradients() {
    // MLX_SEMANTICS 79: grad(lambda a: (a*2).sum())(int32 [1,2]) -> [2, 2] int32
    let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&p[0] * 2)?.sum(None, false)?]) };
    let g = mx::grad(f, &[0])(&[Array::from_slice(&[1i32, 2], &[2]).unwrap()]).unwrap();
    assert_eq!(g[0].dtype(), Dtype::I32);
    assert_eq!(g[0].to_vec::<i32>().unwrap(), vec![2, 2]);
}

#[test]
fn gradient_has_parameter_dtype() {
    let x = arr(&[1.0, 2.0], &[2]).astype(Dtype::F16).unwrap();
    let g = mx::grad(sum_sq, &[0])(&[x]).unwrap();
    assert_eq!(g[0].dtype(), Dtype::F16);
    assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![2.0, 4.0]);
}

#[test]
fn grad_errors_are_mlx_messages() {
    let x = arr(&[1.0, 2.0, 3.0, 4.0], &[4, 1]);
    let e = err(mx::grad(sum_sq, &[])(&[x.clone()]));
    assert_eq!(e, "[grad] Must specify at least one argument.");
    let e = err(mx::grad(sum_sq, &[1])(&[x.clone()]));
    assert!(e.starts_with("[grad] Invalid argument number"), "{e}");
    let e = err(mx::grad(sum_sq, &[0, 0])(&[x.clone()]));
    assert_eq!(e, "[grad] Repeat argument number not allowed in grad.");
    let id = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&p[0] * 2.0)?]) };
    let e = err(mx::grad(id, &[0])(&[x.clone()]));
    assert_eq!(
        e,
        "[vjp] Output shape (4,1) does not match cotangent shape ()."
    );
    let e = err(mx::grad(id, &[0])(&[arr(&[1.0], &[1])]));
    assert_eq!(
        e,
        "[vjp] Output shape (1) does not match cotangent shape (). If you are using grad your function must return a scalar."
    );
    // grad of a function with auxiliary outputs
    let two =
        |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![p[0].sum(None, false)?, p[0].clone()]) };
    assert!(mx::grad(two, &[0])(&[x.clone()]).is_err());
    let none = |_: &[Array]| -> Result<Vec<Array>> { Ok(vec![]) };
    assert!(mx::value_and_grad(none, &[0])(&[x.clone()]).is_err());
}

#[test]
fn vjp_cotangent_errors() {
    let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&p[0] * 2.0)?]) };
    let x = arr(&[1.0, 2.0], &[2]);
    let e = err(mx::vjp(f, &[x.clone()], &[array(1.0f32)]));
    assert_eq!(
        e,
        "[vjp] Output shape (2) does not match cotangent shape ()."
    );
    assert!(mx::vjp(f, &[x.clone()], &[]).is_err());
    assert!(mx::vjp(f, &[x.clone()], &[x.clone(), x.clone()]).is_err());
    assert!(mx::vjp_with_argnums(f, &[x.clone()], &[x.clone()], &[3]).is_err());
    assert!(mx::vjp_with_argnums(f, &[x.clone()], &[x.clone()], &[0, 0]).is_err());
}

#[test]
fn cotangent_is_cast_to_output_dtype() {
    let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&p[0] * 2.0)?]) };
    let x = Array::from_slice(&[1.0f64, 2.0], &[2]).unwrap();
    let (_, v) = mx::vjp(f, &[x], &[arr(&[1.0, 1.0], &[2])]).unwrap();
    assert_eq!(v[0].dtype(), Dtype::F64);
    assert_eq!(v[0].to_vec::<f64>().unwrap(), vec![2.0, 2.0]);
}

#[test]
fn auxiliary_outputs_are_returned_with_stopped_gradients() {
    let f = |p: &[Array]| -> Result<Vec<Array>> {
        let loss = (&p[0] * &p[0])?.sum(None, false)?;
        Ok(vec![loss, (&p[0] * 100.0)?])
    };
    let (v, g) = mx::value_and_grad(f, &[0])(&[arr(&[1.0, 2.0], &[2])]).unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[1].primitive_name(), Some("StopGradient"));
    assert_eq!(v[1].to_vec::<f32>().unwrap(), vec![100.0, 200.0]);
    assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![2.0, 4.0]);
}

#[test]
fn stop_gradient_blocks() {
    let f = |p: &[Array]| -> Result<Vec<Array>> {
        let s = mx::stop_gradient(&(&p[0] * &p[0])?)?;
        Ok(vec![(&s + &p[0])?.sum(None, false)?])
    };
    let g = mx::grad(f, &[0])(&[arr(&[3.0, 4.0], &[2])]).unwrap();
    assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![1.0, 1.0]);
    // fully stopped: zeros
    let f2 = |p: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![mx::stop_gradient(&p[0])?.sum(None, false)?])
    };
    let g = mx::grad(f2, &[0])(&[arr(&[3.0, 4.0], &[2])]).unwrap();
    assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![0.0, 0.0]);
    // jvp through stop_gradient is zero
    let (_, t) = mx::jvp(f2, &[arr(&[3.0, 4.0], &[2])], &[arr(&[1.0, 1.0], &[2])]).unwrap();
    assert_eq!(t[0].item::<f32>().unwrap(), 0.0);
}

#[test]
fn captured_arrays_are_constants() {
    let w = arr(&[2.0, 3.0], &[2]);
    let f = move |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&p[0] * &w)?.sum(None, false)?]) };
    let g = mx::grad(f, &[0])(&[arr(&[1.0, 1.0], &[2])]).unwrap();
    assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![2.0, 3.0]);
}

#[test]
fn same_array_twice_gets_separate_gradients() {
    let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&p[0] * 2.0)?.sum(None, false)?]) };
    let x = arr(&[1.0], &[1]);
    let g = mx::grad(f, &[0, 1])(&[x.clone(), x]).unwrap();
    assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![2.0]);
    assert_eq!(g[1].to_vec::<f32>().unwrap(), vec![0.0]);
}

#[test]
fn identity_and_evaluation_inside_the_function() {
    let id = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![p[0].clone()]) };
    let g = mx::grad(id, &[0])(&[array(5.0f32)]).unwrap();
    assert_eq!(g[0].item::<f32>().unwrap(), 1.0);
    // evaluating an intermediate inside f (e.g. to log it) keeps the graph for the transform
    let f = |p: &[Array]| -> Result<Vec<Array>> {
        let y = (&p[0] * &p[0])?;
        let _logged: f32 = y.sum(None, false)?.item()?;
        y.eval()?;
        Ok(vec![(&y * &p[0])?.sum(None, false)?])
    };
    let g = mx::grad(f, &[0])(&[arr(&[2.0], &[1])]).unwrap();
    assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![12.0]);
}

#[test]
fn higher_order_grad_of_cube() {
    let cube = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&(&p[0] * &p[0])? * &p[0])?]) };
    let d1 = mx::grad(cube, &[0]);
    let d2 = mx::grad(&d1, &[0]);
    let d3 = mx::grad(&d2, &[0]);
    let d4 = mx::grad(&d3, &[0]);
    let x = [array(1.5f64)];
    assert!((d1(&x).unwrap()[0].item::<f64>().unwrap() - 3.0 * 2.25).abs() < 1e-12);
    assert!((d2(&x).unwrap()[0].item::<f64>().unwrap() - 9.0).abs() < 1e-12);
    assert!((d3(&x).unwrap()[0].item::<f64>().unwrap() - 6.0).abs() < 1e-12);
    assert_eq!(d4(&x).unwrap()[0].item::<f64>().unwrap(), 0.0);
}

#[test]
fn jvp_of_grad_is_hessian_vector_product() {
    // f(x) = sum(x^3): grad = 3x^2, Hessian = diag(6x); H v = 6 x v
    let f = |p: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![(&(&p[0] * &p[0])? * &p[0])?.sum(None, false)?])
    };
    let g = mx::grad(f, &[0]);
    let x = arr(&[1.0, 2.0, 3.0], &[3]);
    let v = arr(&[1.0, 0.5, -1.0], &[3]);
    let (gx, hv) = mx::jvp(&g, &[x], &[v]).unwrap();
    assert_eq!(gx[0].to_vec::<f32>().unwrap(), vec![3.0, 12.0, 27.0]);
    assert_eq!(hv[0].to_vec::<f32>().unwrap(), vec![6.0, 6.0, -18.0]);
}

#[test]
fn vjp_of_vjp() {
    // inner: x -> vjp of (x*x*y) w.r.t. x with cotangent 1 = 2xy; outer vjp of that w.r.t. (x, y)
    let inner = |p: &[Array]| -> Result<Vec<Array>> {
        let f = |q: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&(&q[0] * &q[0])? * &q[1])?]) };
        let ones = Array::scalar_as(1.0, p[0].dtype()).broadcast_to(p[0].shape())?;
        let (_, v) = mx::vjp_with_argnums(f, p, &[ones], &[0])?;
        Ok(v)
    };
    let x = arr(&[1.0, 2.0], &[2]);
    let y = arr(&[3.0, 5.0], &[2]);
    let c = arr(&[1.0, 1.0], &[2]);
    let (o, v) = mx::vjp(inner, &[x, y], &[c]).unwrap();
    assert_eq!(o[0].to_vec::<f32>().unwrap(), vec![6.0, 20.0]); // 2xy
    assert_eq!(v[0].to_vec::<f32>().unwrap(), vec![6.0, 10.0]); // 2y
    assert_eq!(v[1].to_vec::<f32>().unwrap(), vec![2.0, 4.0]); // 2x
}

#[test]
fn grad_of_value_and_grad_mixed_levels() {
    // g(x, y) = d/dx (x^2 y) = 2xy; d/dy g = 2x
    let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&(&p[0] * &p[0])? * &p[1])?]) };
    let gx = move |p: &[Array]| -> Result<Vec<Array>> { mx::grad(f, &[0])(p) };
    let gy = mx::grad(gx, &[1]);
    let r = gy(&[array(3.0f32), array(7.0f32)]).unwrap();
    assert_eq!(r[0].item::<f32>().unwrap(), 6.0);
}

#[test]
fn pruning_multiply_counts() {
    // f(x, w) = sum(x * w); only d/dx -> one Multiply in the gradient graph; both -> two
    let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&p[0] * &p[1])?.sum(None, false)?]) };
    let x = arr(&[1.0, 2.0, 3.0], &[3]);
    let w = arr(&[4.0, 5.0, 6.0], &[3]);
    let gx = mx::grad(f, &[0])(&[x.clone(), w.clone()]).unwrap();
    let refs: Vec<&Array> = gx.iter().collect();
    assert_eq!(graph::count_primitives(&refs, "Multiply"), 1);
    let gw = mx::grad(f, &[1])(&[x.clone(), w.clone()]).unwrap();
    let refs: Vec<&Array> = gw.iter().collect();
    assert_eq!(graph::count_primitives(&refs, "Multiply"), 1);
    let gb = mx::grad(f, &[0, 1])(&[x.clone(), w.clone()]).unwrap();
    let refs: Vec<&Array> = gb.iter().collect();
    assert_eq!(graph::count_primitives(&refs, "Multiply"), 2);
    assert_eq!(gb[0].to_vec::<f32>().unwrap(), vec![4.0, 5.0, 6.0]);
    assert_eq!(gb[1].to_vec::<f32>().unwrap(), vec![1.0, 2.0, 3.0]);
}

#[test]
fn branch_not_reaching_a_differentiated_input_is_not_differentiated() {
    // loss = sum(x*x) + sum(w*w*w); d/dx must build no backward node involving w
    let f = |p: &[Array]| -> Result<Vec<Array>> {
        let a = (&p[0] * &p[0])?.sum(None, false)?;
        let b = (&(&p[1] * &p[1])? * &p[1])?.sum(None, false)?;
        Ok(vec![(&a + &b)?])
    };
    let g = mx::grad(f, &[0])(&[arr(&[1.0, 2.0], &[2]), arr(&[1.0, 2.0], &[2])]).unwrap();
    let refs: Vec<&Array> = g.iter().collect();
    // x*x's vjp: cot*x twice (both inputs are x); nothing from the w branch
    assert_eq!(graph::count_primitives(&refs, "Multiply"), 2);
    assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![2.0, 4.0]);
}

#[test]
fn deep_chain_grad_does_not_overflow() {
    let f = |p: &[Array]| -> Result<Vec<Array>> {
        let mut y = p[0].clone();
        for _ in 0..100_000 {
            y = (&y + 1.0)?;
        }
        Ok(vec![(&y * 2.0)?.sum(None, false)?])
    };
    let (v, g) = mx::value_and_grad(f, &[0])(&[arr(&[1.0], &[1])]).unwrap();
    mx::eval(&[&v[0], &g[0]]).unwrap();
    assert_eq!(v[0].item::<f32>().unwrap(), 200_002.0);
    assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![2.0]);
}

#[test]
fn pruning_matmul_counts() {
    // f(x, w) = sum(matmul(x, w)): d/dx only -> exactly one Matmul in the backward graph (cot @ wᵀ),
    // never xᵀ @ cot; w.r.t. both -> two.
    let f = |p: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![mx::matmul(&p[0], &p[1])?.sum(None, false)?])
    };
    let x = Array::from_vec((0..12).map(|i| i as f32 * 0.1).collect(), &[3, 4]).unwrap();
    let w = Array::from_vec((0..20).map(|i| 1.0 - i as f32 * 0.05).collect(), &[4, 5]).unwrap();
    let count = |g: &[Array]| {
        let refs: Vec<&Array> = g.iter().collect();
        graph::count_primitives(&refs, "Matmul")
    };
    let gx = mx::grad(f, &[0])(&[x.clone(), w.clone()]).unwrap();
    assert_eq!(count(&gx), 1);
    let gw = mx::grad(f, &[1])(&[x.clone(), w.clone()]).unwrap();
    assert_eq!(count(&gw), 1);
    let gb = mx::grad(f, &[0, 1])(&[x.clone(), w.clone()]).unwrap();
    assert_eq!(count(&gb), 2);
    // values: d/dx = ones @ wᵀ (row sums of w), d/dw = xᵀ @ ones (column sums of x)
    let wv = w.to_vec::<f32>().unwrap();
    let xv = x.to_vec::<f32>().unwrap();
    let gxv = gb[0].to_vec::<f32>().unwrap();
    let gwv = gb[1].to_vec::<f32>().unwrap();
    for i in 0..3 {
        for k in 0..4 {
            let want: f32 = (0..5).map(|j| wv[k * 5 + j]).sum();
            assert!((gxv[i * 4 + k] - want).abs() < 1e-5);
        }
    }
    for k in 0..4 {
        for j in 0..5 {
            let want: f32 = (0..3).map(|i| xv[i * 4 + k]).sum();
            assert!((gwv[k * 5 + j] - want).abs() < 1e-5);
        }
    }
}

#[test]
fn frozen_weight_in_a_two_layer_net_builds_no_weight_gradient() {
    // loss = sum(relu(x @ w1) @ w2). The gradient graph also holds the forward x @ w1 (unevaluated),
    // so counts are 1 forward + backward: w.r.t. w2 only, relu(x @ w1)ᵀ @ cot (1 backward);
    // w.r.t. w1 only, dh = cot @ w2ᵀ and xᵀ @ dh (2 backward, never a dW2); both: 3 backward.
    let f = |p: &[Array]| -> Result<Vec<Array>> {
        let h = mx::maximum(
            &mx::matmul(&p[0], &p[1])?,
            &Array::scalar_as(0.0, p[0].dtype()),
        )?;
        Ok(vec![mx::matmul(&h, &p[2])?.sum(None, false)?])
    };
    let x = Array::from_vec((0..8).map(|i| i as f32 * 0.1 - 0.3).collect(), &[2, 4]).unwrap();
    let w1 = Array::from_vec((0..12).map(|i| 0.5 - i as f32 * 0.07).collect(), &[4, 3]).unwrap();
    let w2 = Array::from_vec((0..6).map(|i| i as f32 * 0.2).collect(), &[3, 2]).unwrap();
    let inputs = [x, w1, w2];
    let count = |g: &[Array]| {
        let refs: Vec<&Array> = g.iter().collect();
        graph::count_primitives(&refs, "Matmul")
    };
    assert_eq!(count(&mx::grad(f, &[2])(&inputs).unwrap()), 1 + 1);
    assert_eq!(count(&mx::grad(f, &[1])(&inputs).unwrap()), 1 + 2);
    assert_eq!(count(&mx::grad(f, &[1, 2])(&inputs).unwrap()), 1 + 3);
}
