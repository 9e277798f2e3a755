//! Adam's fused f32 update is bit-identical to the same formula written with ops, for large
//! (multi-threaded) and small parameters, transposed gradients, AdamW's decay and f64 (unfused).

use rmlx_core::{self as mx, Array, Dtype};
use rmlx_optimizers::*;

/// `(m, v, p)` after one MLX Adam step (no bias correction), written with ops.
fn composed(
    p: &Array,
    g: &Array,
    m: &Array,
    v: &Array,
    lr: f64,
    b: [f64; 2],
    eps: f64,
) -> [Array; 3] {
    let m = ((b[0] * m).unwrap() + ((1.0 - b[0]) * g).unwrap()).unwrap();
    let v = ((b[1] * v).unwrap() + ((1.0 - b[1]) * mx::square(g).unwrap()).unwrap()).unwrap();
    let lr = Array::scalar_as(lr as f32 as f64, p.dtype());
    let step = ((&lr * &m).unwrap() / (mx::sqrt(&v).unwrap() + eps).unwrap()).unwrap();
    [m, v, (p - step).unwrap()]
}

fn bits(a: &Array) -> Vec<u64> {
    a.astype(Dtype::F64)
        .unwrap()
        .to_vec::<f64>()
        .unwrap()
        .iter()
        .map(|x| x.to_bits())
        .collect()
}

#[test]
fn fused_adam_matches_composed_ops_bit_for_bit() {
    for (shape, dtype) in [
        (vec![300usize, 257], Dtype::F32), // above the parallel threshold
        (vec![7, 5], Dtype::F32),
        (vec![7, 5], Dtype::F64), // not fused
    ] {
        let key = mx::random::key(shape[0] as u64);
        let keys = mx::random::split(&key, 3).unwrap();
        let draw = |i: usize, s: &[usize]| {
            let k = mx::take(&keys, &Array::scalar(i as i32), Some(0)).unwrap();
            mx::random::normal_with(s, dtype, 0.0, 1.0, Some(&k)).unwrap()
        };
        let p0 = draw(0, &shape);
        let g1 = draw(1, &shape);
        // a transposed (strided) second gradient
        let rev: Vec<usize> = shape.iter().rev().copied().collect();
        let g2 = draw(2, &rev).t().unwrap();
        let (lr, betas, eps) = (0.01, [0.9, 0.999], 1e-8);
        let mut opt = Adam::new(lr);
        let mut params = vec![("w".to_string(), p0.clone())];
        let (mut m, mut v, mut p) = (
            mx::zeros_like(&p0).unwrap(),
            mx::zeros_like(&p0).unwrap(),
            p0.clone(),
        );
        for g in [&g1, &g2] {
            params = opt
                .apply_gradients(&[("w".to_string(), g.clone())], &params)
                .unwrap();
            [m, v, p] = composed(&p, g, &m, &v, lr, betas, eps);
            assert_eq!(params[0].1.dtype(), dtype);
            assert_eq!(bits(&params[0].1), bits(&p), "{shape:?} {dtype}");
        }
        assert!(bits(&p) != bits(&p0), "the parameter moved");
    }
}

#[test]
fn fused_adamw_matches_its_formula() {
    // AdamW decays the parameter first, then takes the Adam step (fused here).
    let p0 = Array::from_slice(&[0.5f32, -1.25, 2.0, 0.75], &[2, 2]).unwrap();
    let g = Array::from_slice(&[0.1f32, -0.4, 0.25, -0.05], &[2, 2]).unwrap();
    let mut opt = AdamW::new(0.05);
    let out = opt
        .apply_gradients(
            &[("w".to_string(), g.clone())],
            &[("w".to_string(), p0.clone())],
        )
        .unwrap();
    let p = out[0].1.to_vec::<f32>().unwrap();
    let (p0v, gv) = (p0.to_vec::<f32>().unwrap(), g.to_vec::<f32>().unwrap());
    for i in 0..4 {
        let (p0, g) = (p0v[i] as f64, gv[i] as f64);
        let decayed = p0 * (1.0 - 0.05 * 0.01);
        let (m, v) = (0.1 * g, 0.001 * g * g);
        let want = decayed - 0.05 * m / (v.sqrt() + 1e-8);
        assert!((p[i] as f64 - want).abs() < 1e-6, "{i}: {} vs {want}", p[i]);
    }
}

/// An ensemble: one Adam step of 4 parameter sets at once under `vmap` (the fused kernels'
/// vmap rules), equal to the 4 steps one by one; a per-member learning rate too.
#[test]
fn fused_adam_vectorises_over_an_ensemble() {
    use rmlx_optimizers::optimizer::{ParamState, SingleOptimizer, StepContext};
    fn step(a: &[Array]) -> mx::Result<Vec<Array>> {
        let adam = Adam::new(0.01);
        let ctx = StepContext {
            step: 1,
            learning_rate: 0.01,
        };
        let mut st = ParamState::new();
        st.insert("m".into(), a[2].clone());
        st.insert("v".into(), a[3].clone());
        let p = adam.apply_single(&ctx, &a[1], &a[0], &mut st)?;
        Ok(vec![p, st["m"].clone(), st["v"].clone()])
    }
    let n = |s: &[usize], k: i32| mx::random::normal(s, Some(&mx::random::key(k as u64))).unwrap();
    let (p, g, m) = (n(&[4, 3, 5], 1), n(&[4, 3, 5], 2), n(&[4, 3, 5], 3));
    let v = mx::abs(&n(&[4, 3, 5], 4)).unwrap();
    let all = [p.clone(), g.clone(), m.clone(), v.clone()];
    let got = mx::vmap(step, &[], &[])(&all).unwrap();
    for i in 0..4 {
        let pick = |x: &Array| x.slice(mx::s![i..i + 1]).unwrap().squeeze(0).unwrap();
        let want = step(&[pick(&p), pick(&g), pick(&m), pick(&v)]).unwrap();
        for (k, w) in want.iter().enumerate() {
            assert_eq!(bits(&pick(&got[k])), bits(w), "member {i}, output {k}");
        }
    }
    // the gradient shared by every member (unmapped)
    let got = mx::vmap(step, &[Some(0), None, Some(0), Some(0)], &[])(&[
        p.clone(),
        g.slice(mx::s![0..1]).unwrap().squeeze(0).unwrap(),
        m.clone(),
        v.clone(),
    ])
    .unwrap();
    assert_eq!(got[0].shape(), &[4, 3, 5]);
}
