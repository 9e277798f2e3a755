//! The primitive surface shared by every primitive: `is_equivalent` (for common-subexpression
//! elimination), `output_shapes`, the vmap hook, and the shared zero-gradient helper.

use rmlx_core::primitives::{zero_cotangents, Primitive};
use rmlx_core::{self as mx, Array, Result};
use std::sync::Arc;

fn prim(a: &Array) -> Arc<dyn Primitive> {
    a.primitive().expect("a lazy array has a primitive")
}

fn arr(v: &[f32], shape: &[usize]) -> Array {
    Array::from_slice(v, shape).unwrap()
}

#[test]
fn equivalence_compares_operation_and_parameters() {
    let x = arr(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let y = arr(&[6.0, 5.0, 4.0, 3.0, 2.0, 1.0], &[2, 3]);
    let (a1, a2, m) = ((&x + &y).unwrap(), (&y + &x).unwrap(), (&x * &y).unwrap());
    assert!(prim(&a1).is_equivalent(prim(&a2).as_ref()));
    assert!(!prim(&a1).is_equivalent(prim(&m).as_ref()));
    // the same primitive with other parameters is another computation
    let s0 = x.sum(0, false).unwrap();
    let s0b = y.sum(0, false).unwrap();
    let s1 = x.sum(1, false).unwrap();
    assert!(prim(&s0).is_equivalent(prim(&s0b).as_ref()));
    assert!(!prim(&s0).is_equivalent(prim(&s1).as_ref()));
    let t1 = x.transpose_axes(&[1, 0]).unwrap();
    let c1 = x.astype(mx::Dtype::F16).unwrap();
    let c2 = x.astype(mx::Dtype::Bf16).unwrap();
    assert!(!prim(&c1).is_equivalent(prim(&c2).as_ref()));
    assert!(!prim(&t1).is_equivalent(prim(&c1).as_ref()));
}

#[test]
fn custom_functions_are_equivalent_only_to_themselves() {
    let f =
        mx::CustomFunction::new(|p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&p[0] * 2.0)?]) })
            .into_fn();
    let x = arr(&[1.0, 2.0], &[2]);
    let xs = std::slice::from_ref(&x);
    let (a, b) = (f(xs).unwrap(), f(xs).unwrap());
    let (pa, pb) = (prim(&a[0]), prim(&b[0]));
    assert!(pa.is_equivalent(pa.as_ref()));
    assert!(!pa.is_equivalent(pb.as_ref()));
}

#[test]
fn elementwise_output_shapes_broadcast_the_inputs() {
    let x = arr(&[1.0, 2.0, 3.0], &[3]);
    let y = arr(&[1.0, 2.0], &[2, 1]);
    let s = (&x + &y).unwrap();
    assert_eq!(s.shape(), &[2, 3]);
    let p = prim(&s);
    assert_eq!(
        p.output_shapes(&[x.clone(), y.clone()]).unwrap(),
        vec![vec![2, 3]]
    );
    // on other input shapes (what shapeless compile needs)
    let z = arr(&[0.0; 20], &[5, 4]);
    let w = arr(&[0.0; 4], &[4]);
    assert_eq!(p.output_shapes(&[z.clone(), w]).unwrap(), vec![vec![5, 4]]);
    let e = p.output_shapes(&[z, x.clone()]).unwrap_err().to_string();
    assert!(e.contains("Add"), "{e}");
    let u = x.exp().unwrap();
    assert_eq!(prim(&u).output_shapes(&[y]).unwrap(), vec![vec![2, 1]]);
}

#[test]
fn hooks_without_a_rule_name_the_primitive() {
    // a primitive of a user's own, with no vmap rule: vmap over it is an error naming it
    #[derive(Debug)]
    struct Twice;
    impl Primitive for Twice {
        fn name(&self) -> &'static str {
            "Twice"
        }
        fn eval_cpu(
            &self,
            inputs: Vec<rmlx_core::buffer::Data>,
            _: &[usize],
            _: mx::Dtype,
        ) -> Result<rmlx_core::buffer::Data> {
            let x = Array::from_data(inputs[0].clone());
            (&x * 2.0)?.data()
        }
    }
    let twice = |p: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![Array::from_primitive(
            p[0].shape().to_vec(),
            p[0].dtype(),
            Arc::new(Twice),
            vec![p[0].clone()],
        )])
    };
    let x = arr(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    assert_eq!(
        twice(&[x.clone()]).unwrap()[0].to_vec::<f32>().unwrap(),
        vec![2.0, 4.0, 6.0, 8.0]
    );
    let e = mx::vmap(twice, &[Some(0)], &[])(&[x.clone()]).unwrap_err();
    assert!(
        e.to_string()
            .contains("vmap: primitive Twice has no vmap rule"),
        "{e}"
    );
    // every built-in primitive has one; output_shapes without a rule names the primitive
    let m = x.matmul(&x).unwrap();
    let x3 = mx::stack(&[x.clone(), x.clone()], 0).unwrap();
    assert!(prim(&m).vmap(&[x3, x.clone()], &[Some(0), None]).is_ok());
    // operands a Matmul node cannot have are an error, not a panic
    let e = prim(&m)
        .vmap(&[x.clone(), x.clone()], &[Some(0), None])
        .unwrap_err();
    assert!(e.to_string().contains("at least 2-D"), "{e}");
    let e = prim(&m).output_shapes(&[x.clone(), x]).unwrap_err();
    assert!(e.to_string().contains("Matmul"), "{e}");
}

#[test]
fn zero_cotangents_match_their_inputs() {
    let x = arr(&[1.0, 2.0, 3.0], &[3]);
    let i = Array::from_slice(&[1i32, 2], &[2]).unwrap();
    let z = zero_cotangents(&[x.clone(), i.clone()], &[0, 1]).unwrap();
    assert_eq!(z[0].shape(), x.shape());
    assert_eq!(z[1].dtype(), i.dtype());
    assert_eq!(z[0].to_vec::<f32>().unwrap(), vec![0.0; 3]);
    assert!(zero_cotangents(&[x], &[3]).is_err());
}
