//! Evaluation: deep graphs, freeing intermediates, donation.

use rmlx_core::Array;

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
