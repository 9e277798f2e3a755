//! Evaluation: deep graphs, freeing intermediates, donation.

use rmlx_core::{memory, Array};

#[test]
fn deep_chain_evaluates_and_drops_without_stack_overflow() {
    let x = Array::from_slice(&[1.0f32], &[1]).unwrap();
    let mut y = x.clone();
    for _ in 0..100_000 {
        y = (&y + 1.0).unwrap();
    }
    assert_eq!(y.to_vec::<f32>().unwrap(), vec![100_001.0]);
    // an unevaluated deep chain is dropped without recursion too
    let mut z = x.clone();
    for _ in 0..100_000 {
        z = (&z * 1.0).unwrap();
    }
    drop(z);
}

#[test]
fn eval_frees_intermediates_and_donates() {
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
    // the result and the input remain; intermediates are gone (other tests may allocate
    // concurrently, so allow slack of a few buffers but far less than ten)
    assert!(
        after < before + 4 * n * 4,
        "active grew by {} bytes",
        after.saturating_sub(before)
    );
}
