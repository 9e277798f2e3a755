//! checkpoint, custom_vjp and CustomFunction.

use rmlx_core::{self as mx, graph, Array, CustomFunction, Dtype, Result};

fn arr(v: &[f64], shape: &[usize]) -> Array {
    Array::from_slice(v, shape).unwrap()
}

fn layer(p: &[Array]) -> Result<Vec<Array>> {
    // (x*w + x) / (1 + w*w)
    let num = (&(&p[0] * &p[1])? + &p[0])?;
    Ok(vec![(&num / &(&(&p[1] * &p[1])? + 1.0)?)?])
}

fn loss_of(f: impl Fn(&[Array]) -> Result<Vec<Array>>) -> impl Fn(&[Array]) -> Result<Vec<Array>> {
    move |p: &[Array]| Ok(vec![(&f(p)?[0] * &p[0])?.sum(None, false)?])
}

#[test]
fn checkpoint_matches_plain_gradients() {
    let x = arr(&[1.0, -2.0, 0.5], &[3]);
    let w = arr(&[0.3, 0.7, -1.1], &[3]);
    let (v0, g0) = mx::value_and_grad(loss_of(layer), &[0, 1])(&[x.clone(), w.clone()]).unwrap();
    let ck = mx::checkpoint(layer);
    let (v1, g1) = mx::value_and_grad(loss_of(ck), &[0, 1])(&[x, w]).unwrap();
    assert_eq!(v0[0].item::<f64>().unwrap(), v1[0].item::<f64>().unwrap());
    for (a, b) in g0.iter().zip(&g1) {
        let (a, b) = (a.to_vec::<f64>().unwrap(), b.to_vec::<f64>().unwrap());
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() < 1e-12, "{a:?} vs {b:?}");
        }
    }
}

#[test]
fn checkpoint_is_one_node_and_prunes() {
    let ck = mx::checkpoint(layer);
    let x = arr(&[1.0, 2.0], &[2]);
    let w = arr(&[3.0, 4.0], &[2]);
    let y = ck(&[x.clone(), w.clone()]).unwrap();
    assert_eq!(y[0].primitive_name(), Some("Checkpoint"));
    assert_eq!(graph::count_primitives(&[&y[0]], "Multiply"), 0);
    // d/dx only: the re-run vjp prunes w's branch (w*w is never differentiated)
    let f = {
        let ck = ck.clone();
        move |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![ck(p)?[0].sum(None, false)?]) }
    };
    let g = mx::grad(f, &[0])(&[x.clone(), w.clone()]).unwrap();
    // d/dx = (w + 1) / (1 + w^2)
    assert_eq!(g[0].to_vec::<f64>().unwrap(), vec![4.0 / 10.0, 5.0 / 17.0]);
}

#[test]
fn checkpoint_second_derivative_and_jvp() {
    let cube = mx::checkpoint(|p: &[Array]| Ok(vec![(&(&p[0] * &p[0])? * &p[0])?]));
    let d2 = mx::grad(mx::grad(cube.clone(), &[0]), &[0]);
    assert_eq!(
        d2(&[mx::array(2.0f64)]).unwrap()[0].item::<f64>().unwrap(),
        12.0
    );
    let (o, t) = mx::jvp(&cube, &[mx::array(2.0f64)], &[mx::array(0.5f64)]).unwrap();
    assert_eq!(o[0].item::<f64>().unwrap(), 8.0);
    assert_eq!(t[0].item::<f64>().unwrap(), 6.0); // 3x² t
}

#[test]
fn custom_vjp_rule_is_used() {
    // a "straight-through" rounding: forward multiplies by 0, backward passes the cotangent
    let f = mx::custom_vjp(
        |p: &[Array]| Ok(vec![(&p[0] * 0.0)?]),
        |_: &[Array], cots: &[Array], _: &[Array]| Ok(vec![cots[0].clone()]),
    );
    let loss =
        move |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&f(p)?[0] * 3.0)?.sum(None, false)?]) };
    let (v, g) = mx::value_and_grad(loss, &[0])(&[arr(&[1.0, 2.0], &[2])]).unwrap();
    assert_eq!(v[0].item::<f64>().unwrap(), 0.0);
    assert_eq!(g[0].to_vec::<f64>().unwrap(), vec![3.0, 3.0]);
}

#[test]
fn custom_function_rules_see_primals_and_outputs() {
    // exp-like function given by its own output: y = x*x, rule uses the output y: dy = 2 * y / x
    let f = CustomFunction::new(|p: &[Array]| Ok(vec![(&p[0] * &p[0])?]))
        .with_vjp(|primals: &[Array], cots: &[Array], outs: &[Array]| {
            Ok(vec![(&(&cots[0] * &outs[0])? * &(2.0 / &primals[0])?)?])
        })
        .with_jvp(|primals: &[Array], tangents: &[Array], argnums: &[usize]| {
            assert_eq!(argnums, &[0]);
            Ok(vec![(&(&tangents[0] * &primals[0])? * 100.0)?])
        });
    let g = {
        let f = f.clone();
        mx::grad(
            move |p: &[Array]| Ok(vec![f.call(p)?[0].sum(None, false)?]),
            &[0],
        )(&[arr(&[3.0], &[1])])
        .unwrap()
    };
    assert_eq!(g[0].to_vec::<f64>().unwrap(), vec![6.0]);
    let h = f.clone().into_fn();
    let (_, t) = mx::jvp(h, &[arr(&[3.0], &[1])], &[arr(&[1.0], &[1])]).unwrap();
    assert_eq!(t[0].to_vec::<f64>().unwrap(), vec![300.0]);
}

#[test]
fn custom_function_without_rules_differentiates_the_function() {
    let f = CustomFunction::new(layer).into_fn();
    let x = arr(&[1.0, 2.0], &[2]);
    let w = arr(&[3.0, 4.0], &[2]);
    let g0 = mx::grad(loss_of(layer), &[1])(&[x.clone(), w.clone()]).unwrap();
    let g1 = mx::grad(loss_of(f), &[1])(&[x, w]).unwrap();
    assert_eq!(
        g0[0].to_vec::<f64>().unwrap(),
        g1[0].to_vec::<f64>().unwrap()
    );
}

#[test]
fn custom_function_errors() {
    let two = CustomFunction::new(|p: &[Array]| Ok(vec![p[0].clone(), p[0].clone()]));
    assert!(two.call(&[arr(&[1.0], &[1])]).is_err());
    // a rule returning the wrong number of cotangents is an error, not a panic
    let bad = mx::custom_vjp(
        |p: &[Array]| Ok(vec![(&p[0] * &p[1])?]),
        |_: &[Array], c: &[Array], _: &[Array]| Ok(vec![c[0].clone()]),
    );
    let loss = move |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![bad(p)?[0].sum(None, false)?]) };
    assert!(mx::grad(loss, &[0])(&[arr(&[1.0], &[1]), arr(&[2.0], &[1])]).is_err());
    // a rule returning a wrong shape
    let bad_shape = mx::custom_vjp(
        |p: &[Array]| Ok(vec![(&p[0] * 2.0)?]),
        |_: &[Array], _: &[Array], _: &[Array]| Ok(vec![mx::array(1.0f64)]),
    );
    let loss =
        move |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![bad_shape(p)?[0].sum(None, false)?]) };
    assert!(mx::grad(loss, &[0])(&[arr(&[1.0, 2.0], &[2])]).is_err());
}

/// A custom function that draws random numbers when it runs. Large enough (50,000 elements) that
/// `eval` runs the pass on a rayon worker rather than the calling thread.
fn noisy_pass() -> (Vec<f32>, Vec<f32>) {
    mx::random::seed(3);
    let f = CustomFunction::new(|p: &[Array]| {
        let noise = mx::random::uniform(p[0].shape(), None)?;
        Ok(vec![(&p[0] + &noise)?])
    })
    .into_fn();
    let x = mx::zeros(&[50_000], Dtype::F32).unwrap();
    let y = f(&[x]).unwrap().remove(0);
    y.eval().unwrap();
    let next = mx::random::uniform(&[4], None).unwrap();
    (y.to_vec::<f32>().unwrap(), next.to_vec::<f32>().unwrap())
}

#[test]
fn evaluation_on_the_pool_uses_and_advances_the_callers_random_key() {
    // inside a one-thread pool, evaluation stays on the calling thread: the reference
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let (want_y, want_next) = pool.install(noisy_pass);
    // from a plain (non-pool) thread with the global pool at 2+ threads, the pass moves to a
    // worker and back (the global pool may already exist, with as many threads as cores)
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build_global();
    let (got_y, got_next) = std::thread::spawn(noisy_pass).join().unwrap();
    assert_eq!(got_y, want_y, "values drawn at evaluation");
    assert_eq!(got_next, want_next, "the caller's key afterwards");
    assert!(got_y.iter().any(|&v| v != 0.0));
}
