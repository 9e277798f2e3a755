//! Finite-difference checks (f64, central differences) of every differentiable op's vjp and jvp,
//! on random inputs including broadcast and transposed (non-contiguous) ones, and second
//! derivatives against closed forms.

use rmlx_core::{self as mx, Array, Dtype, Result};

/// Deterministic uniform numbers in [-1, 1) (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.next()).collect()
    }
    /// Values bounded away from zero (for divisors).
    fn vec_away(&mut self, n: usize) -> Vec<f64> {
        (0..n)
            .map(|_| {
                let v = self.next();
                v.signum() * (0.5 + v.abs())
            })
            .collect()
    }
}

type Fun = dyn Fn(&[Array]) -> Result<Array>;
type VecFn = Box<dyn Fn(&[Array]) -> Result<Vec<Array>>>;
type UnaryCase = (&'static str, fn(&Array) -> Result<Array>, fn(f64) -> f64);

/// L(p) = sum(f(p) * r) for fixed random r, as a value in f64.
fn scalar_loss(f: &Fun, r: &Array, p: &[Array]) -> Result<Array> {
    let y = f(p)?;
    (&y.astype(Dtype::F64)? * r)?.sum(None, false)
}

/// Checks grad (through vjp) and jvp of `f` at `inputs` against central differences.
/// `make[i]` builds input i from its flat row-major values (so it can be a transposed view etc.).
fn check(
    name: &str,
    f: &Fun,
    shapes: &[Vec<usize>],
    make: &dyn Fn(usize, &[f64]) -> Array,
    vals: Vec<Vec<f64>>,
    tol: f64,
) {
    let inputs: Vec<Array> = vals.iter().enumerate().map(|(i, v)| make(i, v)).collect();
    for (a, s) in inputs.iter().zip(shapes) {
        assert_eq!(a.shape(), &s[..], "{name}: input shape");
    }
    let out = f(&inputs).unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ name.len() as u64);
    let r = Array::from_vec(rng.vec(out.size()), out.shape()).unwrap();
    let argnums: Vec<usize> = (0..inputs.len()).collect();
    let rr = r.clone();
    let loss = move |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![scalar_loss(f, &rr, p)?]) };
    let grads = mx::grad(&loss, &argnums)(&inputs).unwrap();
    let eps = 1e-6;
    for (i, v) in vals.iter().enumerate() {
        assert_eq!(
            grads[i].shape(),
            inputs[i].shape(),
            "{name}: grad {i} shape"
        );
        let g = grads[i].to_vec::<f64>().unwrap();
        for k in 0..v.len() {
            let eval_at = |d: f64| -> f64 {
                let mut p = inputs.clone();
                let mut w = v.clone();
                w[k] += d;
                p[i] = make(i, &w);
                scalar_loss(f, &r, &p).unwrap().item::<f64>().unwrap()
            };
            let fd = (eval_at(eps) - eval_at(-eps)) / (2.0 * eps);
            // grads come back in the input's (possibly transposed) layout: map flat index k
            // (row-major in the values `make` consumed) to the gradient's row-major index.
            let gk = g[grad_index(make, i, v.len(), k)];
            assert!(
                (gk - fd).abs() <= tol * (1.0 + fd.abs()),
                "{name}: d/d input {i}[{k}]: vjp {gk} vs finite difference {fd}"
            );
        }
    }
    // jvp against the directional derivative along random tangents
    let tangents: Vec<Array> = inputs
        .iter()
        .map(|a| {
            Array::from_vec(rng.vec(a.size()), a.shape())
                .unwrap()
                .astype(a.dtype())
                .unwrap()
        })
        .collect();
    let rr = r.clone();
    let lf = move |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![scalar_loss(f, &rr, p)?]) };
    let (_, jt) = mx::jvp(&lf, &inputs, &tangents).unwrap();
    let jt = jt[0].item::<f64>().unwrap();
    // <grad, t> must equal the jvp (vjp/jvp consistency)
    let mut dot = 0.0;
    for (g, t) in grads.iter().zip(&tangents) {
        let gv = g.to_vec::<f64>().unwrap();
        let tv = t.to_vec::<f64>().unwrap();
        dot += gv.iter().zip(&tv).map(|(a, b)| a * b).sum::<f64>();
    }
    assert!(
        (jt - dot).abs() <= tol * (1.0 + dot.abs()),
        "{name}: jvp {jt} vs <grad, tangent> {dot}"
    );
}

/// Where element `k` of the flat values lands in the row-major order of the built input.
fn grad_index(make: &dyn Fn(usize, &[f64]) -> Array, i: usize, n: usize, k: usize) -> usize {
    let probe: Vec<f64> = (0..n).map(|j| j as f64).collect();
    let laid = make(i, &probe).to_vec::<f64>().unwrap();
    laid.iter()
        .position(|&x| x == k as f64)
        .expect("every value appears")
}

fn plain(shapes: Vec<Vec<usize>>) -> impl Fn(usize, &[f64]) -> Array {
    move |i, v| Array::from_slice(v, &shapes[i]).unwrap()
}

fn rand_inputs(rng: &mut Rng, shapes: &[Vec<usize>]) -> Vec<Vec<f64>> {
    shapes.iter().map(|s| rng.vec(s.iter().product())).collect()
}

#[test]
fn binary_ops_with_broadcasting() {
    let mut rng = Rng(12345);
    let cases: Vec<(&str, Box<Fun>)> = vec![
        ("add", Box::new(|p: &[Array]| mx::add(&p[0], &p[1]))),
        (
            "subtract",
            Box::new(|p: &[Array]| mx::subtract(&p[0], &p[1])),
        ),
        (
            "multiply",
            Box::new(|p: &[Array]| mx::multiply(&p[0], &p[1])),
        ),
    ];
    let shape_sets = [
        vec![vec![3, 4], vec![3, 4]],
        vec![vec![3, 1], vec![1, 4]],
        vec![vec![2, 3, 4], vec![4]],
        vec![vec![], vec![2, 3]],
    ];
    for (name, f) in &cases {
        for shapes in &shape_sets {
            let vals = rand_inputs(&mut rng, shapes);
            check(name, f.as_ref(), shapes, &plain(shapes.clone()), vals, 1e-6);
        }
    }
    for shapes in &shape_sets {
        let vals = vec![
            rng.vec(shapes[0].iter().product()),
            rng.vec_away(shapes[1].iter().product()),
        ];
        let f = |p: &[Array]| mx::divide(&p[0], &p[1]);
        check("divide", &f, shapes, &plain(shapes.clone()), vals, 1e-6);
    }
}

#[test]
fn transposed_inputs() {
    let mut rng = Rng(777);
    // inputs built as transposes of row-major [4, 3] data: non-contiguous views of shape [3, 4]
    let make = |_: usize, v: &[f64]| Array::from_slice(v, &[4, 3]).unwrap().t().unwrap();
    let shapes = vec![vec![3, 4], vec![3, 4]];
    let f = |p: &[Array]| (&(&p[0] * &p[1])? + &p[0])?.sum(1, true);
    check(
        "mul_add_sum_transposed",
        &f,
        &shapes,
        &make,
        rand_inputs(&mut rng, &shapes),
        1e-6,
    );
    let f = |p: &[Array]| (&p[0] / &(&(&p[1] * &p[1])? + 1.0)?)?.t();
    check(
        "div_transposed",
        &f,
        &shapes,
        &make,
        rand_inputs(&mut rng, &shapes),
        1e-6,
    );
}

#[test]
fn reductions_and_shape_ops() {
    let mut rng = Rng(4242);
    let s = vec![vec![2, 3, 4]];
    let mk = plain(s.clone());
    let fs: Vec<(&str, Box<Fun>)> = vec![
        ("sum_all", Box::new(|p: &[Array]| p[0].sum(None, false))),
        ("sum_axis1", Box::new(|p: &[Array]| p[0].sum(1, false))),
        (
            "sum_axes_keep",
            Box::new(|p: &[Array]| p[0].sum([0, 2], true)),
        ),
        ("sum_neg", Box::new(|p: &[Array]| p[0].sum(-1, false))),
        (
            "reshape",
            Box::new(|p: &[Array]| (&p[0] * &p[0])?.reshape([4, -1])),
        ),
        (
            "transpose",
            Box::new(|p: &[Array]| (&p[0] * &p[0])?.transpose_axes(&[2, 0, 1])),
        ),
        ("t", Box::new(|p: &[Array]| (&p[0] * &p[0])?.t())),
        (
            "broadcast_to",
            Box::new(|p: &[Array]| (&p[0] * &p[0])?.broadcast_to(&[5, 2, 3, 4])),
        ),
        (
            "reshape_of_transposed",
            Box::new(|p: &[Array]| (&p[0] * 2.0)?.t()?.reshape([6, 4])),
        ),
    ];
    for (name, f) in &fs {
        check(name, f.as_ref(), &s, &mk, rand_inputs(&mut rng, &s), 1e-6);
    }
    // broadcast of a size-1 axis and a new leading axis
    let s1 = vec![vec![3, 1]];
    let f = |p: &[Array]| (&p[0] * &p[0])?.broadcast_to(&[2, 3, 5]);
    check(
        "broadcast_size1",
        &f,
        &s1,
        &plain(s1.clone()),
        rand_inputs(&mut rng, &s1),
        1e-6,
    );
}

#[test]
fn astype_round_trip() {
    // f64 -> f32 -> f64: the vjp casts back; values lose f32 precision, so a looser tolerance
    let mut rng = Rng(99);
    let s = vec![vec![5]];
    let f = |p: &[Array]| (&p[0].astype(Dtype::F32)? * 3.0)?.astype(Dtype::F64);
    check(
        "astype_f32",
        &f,
        &s,
        &plain(s.clone()),
        rand_inputs(&mut rng, &s),
        2e-2,
    );
    // exact check of the rule: gradient is the cotangent cast back to f64
    let loss = |p: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![(&p[0].astype(Dtype::F32)? * 3.0)?.sum(None, false)?])
    };
    let x = Array::from_slice(&[0.1f64, 0.2], &[2]).unwrap();
    let g = mx::grad(loss, &[0])(&[x]).unwrap();
    assert_eq!(g[0].dtype(), Dtype::F64);
    assert_eq!(g[0].to_vec::<f64>().unwrap(), vec![3.0, 3.0]);
}

#[test]
fn composite_functions() {
    let mut rng = Rng(2024);
    // a small "layer": sum over the last axis of (x * w + b) / (1 + x*x)
    let s = vec![vec![3, 4], vec![4], vec![3, 1]];
    let f = |p: &[Array]| {
        let num = (&(&p[0] * &p[1])? + &p[2])?;
        let den = (&(&p[0] * &p[0])? + 1.0)?;
        (&num / &den)?.sum(-1, false)
    };
    check(
        "layer",
        &f,
        &s,
        &plain(s.clone()),
        rand_inputs(&mut rng, &s),
        1e-6,
    );
}

fn nth_derivative(f: impl Fn(&[Array]) -> Result<Vec<Array>> + 'static, n: usize) -> VecFn {
    let mut g: VecFn = Box::new(f);
    for _ in 0..n {
        g = Box::new(mx::grad(g, &[0]));
    }
    g
}

#[test]
fn second_derivative_of_cube_and_rational() {
    let cube = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&(&p[0] * &p[0])? * &p[0])?]) };
    let d2 = nth_derivative(cube, 2);
    // f = 1 / (1 + x^2): f'' = (6x^2 - 2) / (1 + x^2)^3
    let rat =
        |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(1.0 / &(&(&p[0] * &p[0])? + 1.0)?)?]) };
    let r2 = nth_derivative(rat, 2);
    for x in [-1.7f64, -0.3, 0.0, 0.4, 2.5] {
        let v = d2(&[mx::array(x)]).unwrap()[0].item::<f64>().unwrap();
        assert!((v - 6.0 * x).abs() < 1e-12, "x^3'' at {x}: {v}");
        let v = r2(&[mx::array(x)]).unwrap()[0].item::<f64>().unwrap();
        let want = (6.0 * x * x - 2.0) / (1.0 + x * x).powi(3);
        assert!((v - want).abs() < 1e-12, "rational'' at {x}: {v} vs {want}");
    }
}

#[test]
fn hessian_of_small_quadratic_loss() {
    // L(w) = sum((x*w - y)^2) over a batch: d2L/dw2 = 2 * sum(x^2) (per weight, broadcast over
    // rows), checked by grad-of-grad (sum of the gradient) and jvp-of-grad (Hessian-vector).
    let x = Array::from_slice(&[1.0f64, 2.0, -1.0, 0.5, 3.0, -2.0], &[3, 2]).unwrap();
    let y = Array::from_slice(&[0.5f64, -1.0, 2.0, 1.0, 0.0, 1.0], &[3, 2]).unwrap();
    let loss = move |p: &[Array]| -> Result<Vec<Array>> {
        let r = (&(&x * &p[0])? - &y)?;
        Ok(vec![(&r * &r)?.sum(None, false)?])
    };
    let g = mx::grad(loss, &[0]);
    let w = Array::from_slice(&[0.3f64, -0.7], &[2]).unwrap();
    let v = Array::from_slice(&[1.0f64, 2.0], &[2]).unwrap();
    let (_, hv) = mx::jvp(&g, std::slice::from_ref(&w), &[v]).unwrap();
    // sum(x^2) per column: [1+1+9, 4+0.25+4] = [11, 8.25]; H = 2*diag → Hv = [22*1, 16.5*2]
    assert_eq!(hv[0].to_vec::<f64>().unwrap(), vec![22.0, 33.0]);
    let gsum = move |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![g(p)?[0].sum(None, false)?]) };
    let h = mx::grad(gsum, &[0])(&[w]).unwrap();
    assert_eq!(h[0].to_vec::<f64>().unwrap(), vec![22.0, 16.5]);
}

#[test]
fn second_derivatives_of_unary_ops_match_closed_forms() {
    let cases: [UnaryCase; 3] = [
        ("sin", mx::sin, |x| -x.sin()),
        ("tanh", mx::tanh, |x| {
            let t = x.tanh();
            -2.0 * t * (1.0 - t * t)
        }),
        ("exp", mx::exp, f64::exp),
    ];
    for (name, op, want) in cases {
        let f = move |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![op(&p[0])?]) };
        let d2 = nth_derivative(f, 2);
        for x in [-1.3f64, -0.2, 0.0, 0.7, 1.9] {
            let v = d2(&[mx::array(x)]).unwrap()[0].item::<f64>().unwrap();
            assert!(
                (v - want(x)).abs() < 1e-12,
                "{name}'' at {x}: {v} vs {}",
                want(x)
            );
        }
    }
    // third derivative of sin is -cos
    let s = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![mx::sin(&p[0])?]) };
    let d3 = nth_derivative(s, 3);
    let v = d3(&[mx::array(0.4f64)]).unwrap()[0].item::<f64>().unwrap();
    assert!((v + 0.4f64.cos()).abs() < 1e-12);
}

#[test]
fn unary_ops_finite_differences() {
    let mut rng = Rng(31337);
    let s = vec![vec![2, 3]];
    let fs: Vec<(&str, Box<Fun>)> = vec![
        ("sin", Box::new(|p: &[Array]| mx::sin(&p[0]))),
        ("tanh", Box::new(|p: &[Array]| mx::tanh(&p[0]))),
        ("exp", Box::new(|p: &[Array]| mx::exp(&p[0]))),
        ("sigmoid", Box::new(|p: &[Array]| mx::sigmoid(&p[0]))),
        (
            "maximum",
            Box::new(|p: &[Array]| mx::maximum(&p[0], &(&p[0] * 0.5)?)),
        ),
    ];
    for (name, f) in &fs {
        check(
            name,
            f.as_ref(),
            &s,
            &plain(s.clone()),
            rand_inputs(&mut rng, &s),
            1e-6,
        );
    }
}

#[test]
fn mlp_loss_second_derivative_matches_closed_form() {
    // loss(w) = sum(tanh(x * w) * v): d/dw = sum_i x_i v_i (1 - tanh²(x_i w)),
    // d²/dw² = sum_i -2 x_i² v_i tanh(x_i w)(1 - tanh²(x_i w))
    let xs = [0.3f64, -1.2, 0.8, 2.0];
    let vs = [1.0f64, 0.5, -0.7, 0.2];
    let x = Array::from_slice(&xs, &[4]).unwrap();
    let v = Array::from_slice(&vs, &[4]).unwrap();
    let loss = move |p: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![(&mx::tanh(&(&x * &p[0])?)? * &v)?.sum(None, false)?])
    };
    let d2 = nth_derivative(loss, 2);
    let w = 0.6f64;
    let got = d2(&[mx::array(w)]).unwrap()[0].item::<f64>().unwrap();
    let want: f64 = xs
        .iter()
        .zip(&vs)
        .map(|(&xi, &vi)| {
            let t = (xi * w).tanh();
            -2.0 * xi * xi * vi * t * (1.0 - t * t)
        })
        .sum();
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
}
