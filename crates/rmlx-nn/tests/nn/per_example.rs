//! Per-example gradients of a Module (`per_example_grads`, vmap of grad) against a loop of
//! `value_and_grad` on one example at a time, with a frozen layer getting no gradient; and
//! through a Transformer encoder layer (attention, layer norm, dropout-free).

use rmlx_core::tree::tree_flatten;
use rmlx_core::{self as mx, random, Array, Result};
use rmlx_nn::losses::{cross_entropy, Reduction};
use rmlx_nn::{per_example_grads, value_and_grad, Linear, Module, ModuleExt, ModuleState};

#[derive(Module)]
struct Mlp {
    layers: Vec<Linear>,
    state: ModuleState,
}

impl Mlp {
    fn forward(&self, x: &Array) -> Result<Array> {
        let mut h = x.clone();
        for (i, l) in self.layers.iter().enumerate() {
            h = l.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = mx::maximum(&h, &mx::array(0.0f32))?;
            }
        }
        Ok(h)
    }
}

fn loss(m: &Mlp, x: &Array, y: &Array) -> Result<Array> {
    cross_entropy(&m.forward(x)?, y, None, -1, 0.0, Reduction::Mean)
}

#[test]
fn per_example_grads_match_a_loop_of_value_and_grad() {
    random::seed(3);
    let mut m = Mlp {
        layers: vec![
            Linear::new(6, 8, true).unwrap(),
            Linear::new(8, 3, true).unwrap(),
        ],
        state: ModuleState::default(),
    };
    m.layers[0].freeze(rmlx_nn::Keys::All).unwrap();
    let n = 5;
    let x = random::normal(&[n, 6], None).unwrap();
    let y = Array::from_slice(&[0i32, 2, 1, 1, 0], &[n]).unwrap();
    // one example is a [1, 6] row and a [1] label
    let xs = x.reshape([n as isize, 1, 6]).unwrap();
    let ys = y.reshape([n as isize, 1]).unwrap();
    let g = per_example_grads(&mut m, &[xs.clone(), ys.clone()], |m: &Mlp, d: &[Array]| {
        loss(m, &d[0], &d[1])
    })
    .unwrap();
    let names: Vec<String> = tree_flatten(&g).into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["layers.1.weight", "layers.1.bias"]);
    for i in 0..n {
        let (xi, yi) = (
            xs.slice(mx::s![i as isize..i as isize + 1])
                .unwrap()
                .squeeze(0)
                .unwrap(),
            ys.slice(mx::s![i as isize..i as isize + 1])
                .unwrap()
                .squeeze(0)
                .unwrap(),
        );
        let (_, gi) = value_and_grad(&mut m, |m: &Mlp| Ok(vec![loss(m, &xi, &yi)?])).unwrap();
        for ((k, per), (_, one)) in tree_flatten(&g).into_iter().zip(tree_flatten(&gi)) {
            let row = per
                .slice(mx::s![i as isize..i as isize + 1])
                .unwrap()
                .squeeze(0)
                .unwrap();
            let (a, b) = (row.to_vec::<f32>().unwrap(), one.to_vec::<f32>().unwrap());
            for (p, q) in a.iter().zip(&b) {
                assert!(
                    (p - q).abs() <= 1e-5 * (1.0 + q.abs()),
                    "{k} example {i}: {p} vs {q}"
                );
            }
        }
    }
    // the mean of the per-example gradients is the batch gradient
    let (_, gb) = value_and_grad(&mut m, |m: &Mlp| Ok(vec![loss(m, &x, &y)?])).unwrap();
    for ((k, per), (_, batch)) in tree_flatten(&g).into_iter().zip(tree_flatten(&gb)) {
        let mean = per.mean(0, false).unwrap().to_vec::<f32>().unwrap();
        for (p, q) in mean.iter().zip(batch.to_vec::<f32>().unwrap()) {
            assert!(
                (p - q).abs() <= 1e-5 * (1.0 + q.abs()),
                "{k}: mean {p} vs batch {q}"
            );
        }
    }
    // the model's parameters are the same arrays afterwards; bad calls are errors
    assert_eq!(m.layers[1].weight.shape(), &[3, 8]);
    let e = per_example_grads(&mut m, &[], |m: &Mlp, d: &[Array]| loss(m, &d[0], &d[1]));
    assert!(e.unwrap_err().to_string().contains("no data arrays"));
    let short = x.slice(mx::s![0..2]).unwrap();
    let e = per_example_grads(&mut m, &[xs, short], |m: &Mlp, d: &[Array]| {
        loss(m, &d[0], &d[1])
    });
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("Inconsistent axis sizes"));
}

#[test]
fn per_example_grads_through_a_transformer_layer() {
    random::seed(4);
    let c = rmlx_nn::TransformerConfig {
        dims: 8,
        num_heads: 2,
        mlp_dims: Some(16),
        ..Default::default()
    };
    let mut layer = rmlx_nn::TransformerEncoderLayer::new(&c).unwrap();
    layer.freeze(rmlx_nn::Keys::All).unwrap();
    layer.unfreeze("bias").unwrap();
    let n = 3;
    let x = random::normal(&[n, 1, 4, 8], None).unwrap();
    let f = |m: &rmlx_nn::TransformerEncoderLayer, d: &[Array]| -> Result<Array> {
        m.forward(&d[0], None)?.square()?.mean(None, false)
    };
    let g = per_example_grads(&mut layer, std::slice::from_ref(&x), f).unwrap();
    let flat = tree_flatten(&g);
    assert!(!flat.is_empty() && flat.iter().all(|(k, _)| k.ends_with("bias")));
    for i in 0..n {
        let xi = x
            .slice(mx::s![i as isize..i as isize + 1])
            .unwrap()
            .squeeze(0)
            .unwrap();
        let (_, gi) =
            value_and_grad(&mut layer, |m| Ok(vec![f(m, std::slice::from_ref(&xi))?])).unwrap();
        for ((k, per), (_, one)) in flat.iter().zip(tree_flatten(&gi)) {
            let row = per
                .slice(mx::s![i as isize..i as isize + 1])
                .unwrap()
                .squeeze(0)
                .unwrap();
            for (p, q) in row
                .to_vec::<f32>()
                .unwrap()
                .iter()
                .zip(one.to_vec::<f32>().unwrap())
            {
                assert!(
                    (p - q).abs() <= 1e-4 * (1.0 + q.abs()),
                    "{k} example {i}: {p} vs {q}"
                );
            }
        }
    }
}
