//! Memory behaviour of evaluation and the transforms: evaluation frees intermediates and donates
//! buffers; after `value_and_grad` returns and its results are evaluated, no intermediate of the
//! forward pass stays alive; `checkpoint` keeps none of its
//! function's intermediates after the forward pass. This binary holds only memory tests, each
//! under `ALONE`, so no other test allocates concurrently.

use rmlx_core::{self as mx, memory, Array, Result};

const N: usize = 1 << 20; // 4 MiB per f32 buffer
const MB4: usize = N * 4;

/// y0 = x * w; y_{k+1} = y_k * y_k + y_k: every y_k is needed by the backward pass.
fn chain(p: &[Array]) -> Result<Vec<Array>> {
    let mut y = (&p[0] * &p[1])?;
    for _ in 0..6 {
        y = (&(&y * &y)? + &y)?;
    }
    Ok(vec![y.sum(None, false)?])
}

fn inputs() -> (Array, Array) {
    let x = Array::from_vec((0..N).map(|i| (i % 7) as f32 * 0.01).collect(), &[N]).unwrap();
    let w = Array::from_vec(vec![0.5f32; N], &[N]).unwrap();
    mx::eval(&[&x, &w]).unwrap();
    (x, w)
}

fn grew(before: usize) -> usize {
    memory::active_memory().saturating_sub(before)
}

#[test]
fn transforms_free_forward_intermediates() {
    let _alone = crate::ALONE.lock();
    let (x, w) = inputs();

    // 1. value_and_grad: once value and grads are evaluated, only the grads remain.
    let base = memory::active_memory();
    let (v, g) = mx::value_and_grad(chain, &[0])(&[x.clone(), w.clone()]).unwrap();
    mx::eval(&[&v[0], &g[0]]).unwrap();
    let held = grew(base);
    assert!(
        (MB4..MB4 + MB4 / 2).contains(&held),
        "value_and_grad: {held} bytes held after evaluation, expected one gradient ({MB4})"
    );
    drop((v, g));
    assert!(grew(base) < MB4 / 2, "after dropping: {} bytes", grew(base));

    // 2. vjp with both inputs: two gradients remain, nothing else.
    let (o, vj) = mx::vjp(chain, &[x.clone(), w.clone()], &[mx::array(1.0f32)]).unwrap();
    mx::eval(&[&o[0], &vj[0], &vj[1]]).unwrap();
    let held = grew(base);
    assert!(
        (2 * MB4..2 * MB4 + MB4 / 2).contains(&held),
        "vjp: {held} bytes held"
    );
    drop((o, vj));

    // 3. Without checkpoint, evaluating only the value keeps the intermediates the pending
    //    gradient graph needs (7 buffers of 4 MiB here).
    let (v, g) = mx::value_and_grad(chain, &[0])(&[x.clone(), w.clone()]).unwrap();
    v[0].eval().unwrap();
    let held_plain = grew(base);
    assert!(
        held_plain >= 5 * MB4,
        "expected the forward intermediates to be kept for the pending backward pass, {held_plain} bytes"
    );
    g[0].eval().unwrap();
    let g_plain = g[0].to_vec::<f32>().unwrap();
    drop((v, g));

    // 4. With checkpoint, the forward pass keeps nothing of the function; the gradient is the
    //    same (recomputed in the backward pass).
    let layer = mx::checkpoint(chain);
    let f = move |p: &[Array]| layer(p);
    let (v, g) = mx::value_and_grad(f, &[0])(&[x.clone(), w.clone()]).unwrap();
    v[0].eval().unwrap();
    let held_ckpt = grew(base);
    assert!(
        held_ckpt < MB4 / 2,
        "checkpoint kept {held_ckpt} bytes after the forward pass"
    );
    g[0].eval().unwrap();
    assert_eq!(g[0].to_vec::<f32>().unwrap(), g_plain);
    drop((v, g));
    assert!(grew(base) < MB4 / 2, "after dropping: {} bytes", grew(base));
}

#[test]
fn eval_frees_intermediates_and_donates() {
    let _alone = crate::ALONE.lock();
    let n = 1 << 16; // 256 KiB per f32 buffer
    let x = Array::from_vec(vec![1.0f32; n], &[n]).unwrap();
    x.eval().unwrap();
    let before = memory::active_memory();
    // a chain of 10 elementwise ops: with donation and detaching, at most a couple of buffers live
    let mut y = (&x + 1.0).unwrap();
    for _ in 0..9 {
        y = (&y * 2.0).unwrap();
    }
    y.eval().unwrap();
    let after = memory::active_memory();
    assert_eq!(y.to_vec::<f32>().unwrap()[0], 1024.0);
    // the result and the input remain; intermediates are gone (slack of a few buffers, far
    // less than ten)
    assert!(
        after < before + 4 * n * 4,
        "active grew by {} bytes",
        after.saturating_sub(before)
    );
}

#[test]
fn attention_gradients_never_hold_an_lq_by_lk_matrix() {
    let _alone = crate::ALONE.lock();
    // 2 heads of 2048 x 2048 scores: one such f32 matrix is 32 MiB
    let (h, l, d) = (2, 2048, 32);
    let mk = |seed: u64| mx::random::normal(&[1, h, l, d], Some(&mx::random::key(seed))).unwrap();
    let (q, k, v) = (mk(1), mk(2), mk(3));
    mx::eval(&[&q, &k, &v]).unwrap();
    let loss = |p: &[Array]| -> Result<Vec<Array>> {
        let o = mx::fast::scaled_dot_product_attention(
            &p[0],
            &p[1],
            &p[2],
            0.2,
            mx::fast::SdpaMask::Causal,
        )?;
        Ok(vec![o.sum(None, false)?])
    };
    let base = memory::active_memory();
    memory::reset_peak_memory();
    let g = mx::grad(loss, &[0, 1, 2])(&[q.clone(), k.clone(), v.clone()]).unwrap();
    mx::eval(&g.iter().collect::<Vec<_>>()).unwrap();
    let peak = memory::peak_memory().saturating_sub(base);
    let lxl = h * l * l * 4;
    // the output, its cotangent and the three gradients are 0.5 MiB each
    assert!(
        peak < lxl / 4,
        "peak growth {peak} bytes during attention's gradients (one scores matrix is {lxl})"
    );
}
