//! Multi-output nodes (MLX's siblings): `divmod` against its single-output equivalents, one
//! evaluation for all outputs, dropped outputs, and the transforms over a node whose outputs
//! feed different consumers (a test primitive with a real vjp, checked by finite differences).

use std::sync::Arc;

use rmlx_core::buffer::{Buffer, Data};
use rmlx_core::primitives::Primitive;
use rmlx_core::{self as mx, Array, Dtype, Result};

fn arr(v: &[f32], shape: &[usize]) -> Array {
    Array::from_slice(v, shape).unwrap()
}

#[test]
fn divmod_equals_floor_divide_and_remainder() {
    let a = arr(&[7.0, -7.0, 7.5, -0.5, 0.0, 9.0], &[2, 3]);
    let b = arr(&[2.0, -3.0, 0.25], &[3]);
    for d in [
        Dtype::F32,
        Dtype::F64,
        Dtype::F16,
        Dtype::Bf16,
        Dtype::I32,
        Dtype::I64,
        Dtype::I8,
    ] {
        let (a, b) = (a.astype(d).unwrap(), b.astype(d).unwrap());
        let (q, r) = mx::divmod(&a, &b).unwrap();
        assert_eq!((q.dtype(), r.dtype()), (d, d));
        assert_eq!(q.shape(), &[2, 3]);
        let (fq, fr) = (a.floor_divide(&b).unwrap(), a.remainder(&b).unwrap());
        assert_eq!(
            q.to_vec::<f64>().unwrap(),
            fq.to_vec::<f64>().unwrap(),
            "{d}"
        );
        assert_eq!(
            r.to_vec::<f64>().unwrap(),
            fr.to_vec::<f64>().unwrap(),
            "{d}"
        );
    }
    // integer division by zero, mixed dtypes promote, and a transposed operand
    let a = Array::from_slice(&[5i32, -5, 6, -3], &[2, 2]).unwrap();
    let z = Array::from_slice(&[0u8, 4], &[2]).unwrap();
    let (q, r) = a.transpose_axes(&[1, 0]).unwrap().divmod(&z).unwrap();
    assert_eq!(q.dtype(), Dtype::I32);
    // [[5, 6], [-5, -3]] by [0, 4]
    assert_eq!(q.to_vec::<i32>().unwrap(), vec![0, 1, 0, -1]);
    assert_eq!(r.to_vec::<i32>().unwrap(), vec![0, 2, 0, 1]);
    assert!(mx::divmod(&arr(&[1.0; 3], &[3]), &arr(&[1.0; 2], &[2])).is_err());
}

#[test]
fn one_evaluation_serves_every_output() {
    let a = arr(&[7.0, 8.0, 9.0], &[3]);
    let (q, r) = mx::divmod(&a, &arr(&[2.0], &[1])).unwrap();
    assert_eq!(q.siblings().len(), 1);
    assert_eq!(q.siblings()[0].id(), r.id());
    assert_eq!(q.primitive_name(), Some("DivMod"));
    q.eval().unwrap();
    assert!(
        r.is_evaluated(),
        "evaluating one output computes its sibling"
    );
    assert!(q.siblings().is_empty(), "evaluated outputs are detached");
    assert_eq!(r.to_vec::<f32>().unwrap(), vec![1.0, 0.0, 1.0]);
    // a dropped sibling is simply not kept
    let (q, r) = mx::divmod(&a, &arr(&[4.0], &[1])).unwrap();
    drop(r);
    assert!(q.siblings().is_empty());
    assert_eq!(q.to_vec::<f32>().unwrap(), vec![1.0, 2.0, 2.0]);
}

#[test]
fn divmod_gradients_are_zero() {
    let x = arr(&[3.5, -1.25, 8.0], &[3]);
    // d/dx sum(q * x) = q (q is piecewise constant), through a dropped remainder
    let f = |p: &[Array]| -> Result<Vec<Array>> {
        let (q, _) = mx::divmod(&p[0], &mx::array(2.0f32))?;
        Ok(vec![(&q * &p[0])?.sum(None, false)?])
    };
    let g = mx::grad(f, &[0])(std::slice::from_ref(&x)).unwrap();
    assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![1.0, -1.0, 4.0]);
    // both outputs returned: every cotangent reaches the one node
    let both = |p: &[Array]| -> Result<Vec<Array>> {
        let (q, r) = mx::divmod(&p[0], &p[1])?;
        Ok(vec![q, r])
    };
    let y = arr(&[2.0, 2.0, 3.0], &[3]);
    let c = arr(&[1.0, 1.0, 1.0], &[3]);
    let (outs, vjps) = mx::vjp(both, &[x.clone(), y.clone()], &[c.clone(), c.clone()]).unwrap();
    assert_eq!(outs[1].to_vec::<f32>().unwrap(), vec![1.5, 0.75, 2.0]);
    assert!(vjps
        .iter()
        .all(|v| v.to_vec::<f32>().unwrap().iter().all(|&g| g == 0.0)));
    let (_, tans) = mx::jvp(both, &[x, y], &[c.clone(), c]).unwrap();
    assert_eq!(tans.len(), 2);
    assert!(tans
        .iter()
        .all(|t| t.to_vec::<f32>().unwrap() == vec![0.0; 3]));
}

/// A test primitive with two outputs and a real derivative: `x` split in halves, the first
/// scaled by 2 and squared, the second scaled by 3.
#[derive(Debug)]
struct Halves;

fn halves_eval(x: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let n = x.len() / 2;
    (
        x[..n].iter().map(|v| (2.0 * v) * (2.0 * v)).collect(),
        x[n..].iter().map(|v| 3.0 * v).collect(),
    )
}

impl Primitive for Halves {
    fn name(&self) -> &'static str {
        "Halves"
    }

    fn eval_cpu(&self, _: Vec<Data>, _: &[usize], _: Dtype) -> Result<Data> {
        Err(mx::Error::Value("Halves has two outputs".into()))
    }

    fn eval_cpu_multi(&self, inputs: Vec<Data>, out: &[(Vec<usize>, Dtype)]) -> Result<Vec<Data>> {
        let x = Array::from_data(inputs[0].clone()).to_vec::<f32>()?;
        let (a, b) = halves_eval(&x);
        Ok(vec![
            Data::new(Buffer::from_slice(&a), Dtype::F32, &out[0].0),
            Data::new(Buffer::from_slice(&b), Dtype::F32, &out[1].0),
        ])
    }

    fn vjp_multi(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        outputs: &[Array],
        _: &[usize],
    ) -> Result<Vec<Array>> {
        // d(4x^2)/dx = 8x = 4 * out0 / x is not defined at 0: use the input instead
        let n = primals[0].size() / 2;
        let first = primals[0].slice(mx::s![..n as isize])?;
        assert_eq!(outputs.len(), 2);
        let g0 = (&(&first * 8.0)? * &cotangents[0])?;
        let g1 = (&cotangents[1] * 3.0)?;
        Ok(vec![mx::concatenate(&[g0, g1], 0)?])
    }
}

fn halves(x: &Array) -> (Array, Array) {
    let n = x.size() / 2;
    let mut o = Array::from_primitive_multi(
        vec![(vec![n], Dtype::F32), (vec![x.size() - n], Dtype::F32)],
        Arc::new(Halves),
        vec![x.clone()],
    );
    let b = o.pop().unwrap();
    (o.pop().unwrap(), b)
}

#[test]
fn outputs_feeding_different_consumers_differentiate_once() {
    // loss = sum(sin(b) * w) + sum(a * b[..2]): b is consumed before and after a
    let loss = |x: &Array, w: &Array| -> Result<Array> {
        let (a, b) = halves(x);
        let t = (&b.sin()? * w)?.sum(None, false)?;
        let u = (&a * &b.slice(mx::s![..2])?)?.sum(None, false)?;
        &t + &u
    };
    let x = arr(&[0.3, -0.7, 1.1, 0.5], &[4]);
    let w = arr(&[1.5, -2.0], &[2]);
    let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![loss(&p[0], &p[1])?]) };
    let g = mx::grad(f, &[0])(&[x.clone(), w.clone()]).unwrap();
    let g = g[0].to_vec::<f32>().unwrap();
    let xs = x.to_vec::<f32>().unwrap();
    let eps = 1e-3f32;
    for i in 0..4 {
        let (mut p, mut m) = (xs.clone(), xs.clone());
        p[i] += eps;
        m[i] -= eps;
        let lp = loss(&arr(&p, &[4]), &w).unwrap().item::<f32>().unwrap();
        let lm = loss(&arr(&m, &[4]), &w).unwrap().item::<f32>().unwrap();
        let fd = (lp - lm) / (2.0 * eps);
        assert!(
            (g[i] - fd).abs() < 2e-2 * (1.0 + fd.abs()),
            "x[{i}]: {} vs {fd}",
            g[i]
        );
    }
}
