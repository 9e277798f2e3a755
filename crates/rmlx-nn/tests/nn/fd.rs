//! Test support: deterministic random f64 data and finite-difference gradient checks.
#![allow(dead_code)]

use rmlx_core::{Array, Result};

/// A deterministic generator (64-bit LCG) of uniform values in `[lo, hi)`.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407))
    }

    /// One value in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u = (self.0 >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * u
    }

    /// `n` values in `[lo, hi)`.
    pub fn vec(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }

    /// An f64 array of `shape` with values in `[lo, hi)`.
    pub fn array(&mut self, shape: &[usize], lo: f64, hi: f64) -> Array {
        let n = shape.iter().product();
        Array::from_vec(self.vec(n, lo, hi), shape).unwrap()
    }
}

/// The f64 values of `a`.
pub fn vals(a: &Array) -> Vec<f64> {
    a.astype(rmlx_core::Dtype::F64)
        .unwrap()
        .to_vec::<f64>()
        .unwrap()
}

/// Asserts `|a - b| <= tol * (1 + |b|)` elementwise.
pub fn assert_close(what: &str, a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "{what}[{i}]: got {x}, expected {y} (tol {tol})"
        );
    }
}

/// Checks the gradient of the scalar `f` with respect to `inputs[i]` for each `i` in `argnums`
/// (all f64) against central differences with step `h`.
pub fn check_grad<F>(what: &str, f: F, inputs: &[Array], argnums: &[usize], tol: f64)
where
    F: Fn(&[Array]) -> Result<Array> + Clone,
{
    let g = {
        let f = f.clone();
        rmlx_core::grad(move |x: &[Array]| Ok(vec![f(x)?]), argnums)(inputs).unwrap()
    };
    assert_eq!(g.len(), argnums.len(), "{what}: one gradient per argnum");
    let h = 1e-6;
    for (k, &i) in argnums.iter().enumerate() {
        let base = vals(&inputs[i]);
        let shape = inputs[i].shape().to_vec();
        assert_eq!(g[k].shape(), &shape[..], "{what}: gradient {i} shape");
        let mut num = Vec::with_capacity(base.len());
        for j in 0..base.len() {
            let at = |d: f64| -> f64 {
                let mut v = base.clone();
                v[j] += d;
                let mut xs = inputs.to_vec();
                xs[i] = Array::from_vec(v, &shape).unwrap();
                f(&xs).unwrap().item::<f64>().unwrap()
            };
            num.push((at(h) - at(-h)) / (2.0 * h));
        }
        assert_close(&format!("{what}: d/d input {i}"), &vals(&g[k]), &num, tol);
    }
}
