//! `LoRALinear`: forward against naive loops, `merge` against the adapter layer, which
//! parameters train after freezing, gradients against finite differences (f64), bad arguments.

use rmlx_core::tree::Tree;
use rmlx_core::{random, Array, Dtype, Result};
use rmlx_nn::{value_and_grad, Keys, Linear, LoRALinear, Module, ModuleExt, Sequential};

fn names(t: &Tree<Array>) -> Vec<String> {
    t.flatten().into_iter().map(|(k, _)| k).collect()
}

fn vals(a: &Array) -> Vec<f64> {
    a.astype(Dtype::F64).unwrap().to_vec::<f64>().unwrap()
}

/// A LoRA layer over `Linear(i, o, bias)` with a non-zero `lora_b` (so the update matters).
fn layer(i: usize, o: usize, r: usize, scale: f32, bias: bool, seed: u64) -> LoRALinear {
    random::seed(seed);
    let base = Linear::new(i, o, bias).unwrap();
    let mut l = LoRALinear::from_linear(base, r, scale, 0.0).unwrap();
    l.lora_b = random::normal(&[r, o], None).unwrap();
    l
}

/// `x W^T + b + scale (x A) B` over the last axis, in f64 loops.
fn naive(l: &LoRALinear, x: &Array) -> Vec<f64> {
    let (o, i) = (l.linear.weight.shape()[0], l.linear.weight.shape()[1]);
    let r = l.rank();
    let (w, a, b) = (vals(&l.linear.weight), vals(&l.lora_a), vals(&l.lora_b));
    let bias = l.linear.bias.as_ref().map(vals);
    let xs = vals(x);
    let rows = xs.len() / i;
    let mut out = Vec::with_capacity(rows * o);
    for n in 0..rows {
        let row = &xs[n * i..(n + 1) * i];
        let xa: Vec<f64> = (0..r)
            .map(|k| (0..i).map(|j| row[j] * a[j * r + k]).sum())
            .collect();
        for c in 0..o {
            let base: f64 = (0..i).map(|j| row[j] * w[c * i + j]).sum::<f64>()
                + bias.as_ref().map_or(0.0, |b| b[c]);
            let upd: f64 = (0..r).map(|k| xa[k] * b[k * o + c]).sum();
            out.push(base + f64::from(l.scale) * upd);
        }
    }
    out
}

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{k}]: got {g}, want {w}"
        );
    }
}

#[test]
fn init_shapes_and_zero_update() {
    random::seed(3);
    let base = Linear::new(6, 4, true).unwrap();
    let l = LoRALinear::from_linear(base.clone(), 3, 20.0, 0.0).unwrap();
    assert_eq!(l.lora_a.shape(), &[6, 3]);
    assert_eq!(l.lora_b.shape(), &[3, 4]);
    assert_eq!(l.rank(), 3);
    let bound = 1.0 / 6f64.sqrt();
    assert!(vals(&l.lora_a).iter().all(|v| v.abs() <= bound));
    assert!(vals(&l.lora_b).iter().all(|v| *v == 0.0));
    assert_eq!(
        names(&l.parameters()),
        ["linear.weight", "linear.bias", "lora_a", "lora_b"]
    );
    let x = random::normal(&[2, 6], None).unwrap();
    assert_eq!(
        vals(&l.forward(&x).unwrap()),
        vals(&base.forward(&x).unwrap())
    );
    // the constructor with a fresh base
    let n = LoRALinear::new(5, 2, 4, 0.1, 2.0, false).unwrap();
    assert_eq!(n.linear.weight.shape(), &[2, 5]);
    assert!(n.linear.bias.is_none());
    assert_eq!(n.dropout.p, 0.1);
    assert_eq!(n.scale, 2.0);
}

#[test]
fn forward_matches_naive() {
    for (bias, scale, seed) in [(true, 20.0, 1), (false, 0.5, 2), (true, -1.5, 3)] {
        let l = layer(5, 3, 2, scale, bias, seed);
        let x = random::normal(&[4, 5], None).unwrap();
        assert_close(&vals(&l.forward(&x).unwrap()), &naive(&l, &x), 1e-5, "2-d");
        // batched input [2, 3, 5]
        let x3 = random::normal(&[2, 3, 5], None).unwrap();
        let y3 = l.forward(&x3).unwrap();
        assert_eq!(y3.shape(), &[2, 3, 3]);
        assert_close(&vals(&y3), &naive(&l, &x3), 1e-5, "3-d");
        // a transposed view as input
        let xt = random::normal(&[5, 4], None).unwrap().t().unwrap();
        assert_close(
            &vals(&l.forward(&xt).unwrap()),
            &naive(&l, &xt),
            1e-5,
            "view",
        );
    }
}

#[test]
fn merge_gives_the_same_outputs() {
    for (bias, scale, seed) in [(true, 20.0, 11), (false, 2.0, 12)] {
        let l = layer(7, 4, 3, scale, bias, seed);
        let merged = l.merge().unwrap();
        assert_eq!(merged.weight.shape(), &[4, 7]);
        assert_eq!(merged.bias.is_some(), bias);
        if let (Some(a), Some(b)) = (&merged.bias, &l.linear.bias) {
            assert_eq!(vals(a), vals(b));
        }
        let x = random::uniform(&[6, 7], None).unwrap();
        let (y1, y2) = (
            vals(&l.forward(&x).unwrap()),
            vals(&merged.forward(&x).unwrap()),
        );
        let max = y1
            .iter()
            .zip(&y2)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(max <= 1e-5 * (1.0 + f64::from(scale)), "max diff {max}");
        // merged weight = W + scale (A B)^T, checked by loops
        let (w, a, b) = (vals(&l.linear.weight), vals(&l.lora_a), vals(&l.lora_b));
        let want: Vec<f64> = (0..4)
            .flat_map(|c| (0..7).map(move |j| (c, j)))
            .map(|(c, j)| {
                w[c * 7 + j]
                    + f64::from(scale) * (0..3).map(|k| a[j * 3 + k] * b[k * 4 + c]).sum::<f64>()
            })
            .collect();
        assert_close(&vals(&merged.weight), &want, 1e-5, "merged weight");
        // the merged layer is a fresh module: nothing frozen
        assert_eq!(
            names(&merged.trainable_parameters()).len(),
            1 + bias as usize
        );
    }
}

#[test]
fn only_adapters_train_after_freezing() {
    // freeze everything, unfreeze the adapters
    let mut l = layer(4, 3, 2, 1.0, true, 21);
    l.freeze(Keys::All).unwrap();
    assert!(names(&l.trainable_parameters()).is_empty());
    l.unfreeze(vec!["lora_a", "lora_b"]).unwrap();
    assert_eq!(names(&l.trainable_parameters()), ["lora_a", "lora_b"]);
    // or freeze the base only
    let mut l = layer(4, 3, 2, 1.0, true, 22);
    l.freeze_base().unwrap();
    assert_eq!(names(&l.trainable_parameters()), ["lora_a", "lora_b"]);
    assert_eq!(names(&l.parameters()).len(), 4);

    // MLX-LM's pattern: freeze the model, swap Linears in through update_modules
    random::seed(23);
    let mut s = Sequential::new(vec![
        Box::new(Linear::new(3, 5, true).unwrap()),
        Box::new(Linear::new(5, 2, true).unwrap()),
    ]);
    s.freeze(Keys::All).unwrap();
    let swapped: Vec<Tree<Box<dyn Module>>> = (0..2)
        .map(|k| {
            let lin = s
                .module_at(&format!("layers.{k}"))
                .and_then(|m| m.as_any().downcast_ref::<Linear>())
                .cloned()
                .unwrap();
            let mut lora = LoRALinear::from_linear(lin, 2, 20.0, 0.0).unwrap();
            lora.freeze_base().unwrap();
            Tree::Leaf(Box::new(lora) as Box<dyn Module>)
        })
        .collect();
    let tree = Tree::Dict(
        [("layers".to_string(), Tree::List(swapped))]
            .into_iter()
            .collect(),
    );
    s.update_modules(tree, true).unwrap();
    assert_eq!(
        names(&s.trainable_parameters()),
        [
            "layers.0.lora_a",
            "layers.0.lora_b",
            "layers.1.lora_a",
            "layers.1.lora_b"
        ]
    );
    // gradients come only for the adapters
    let x = random::normal(&[4, 3], None).unwrap();
    let (_, grads) = value_and_grad(&mut s, |m: &Sequential| -> Result<Vec<Array>> {
        let mut h = x.clone();
        for k in 0..2 {
            let l = m
                .module_at(&format!("layers.{k}"))
                .and_then(|m| m.as_any().downcast_ref::<LoRALinear>())
                .expect("a LoRALinear");
            h = l.forward(&h)?;
        }
        Ok(vec![(&h * &h)?.sum(None, false)?])
    })
    .unwrap();
    assert_eq!(names(&grads), names(&s.trainable_parameters()));
}

/// `sum((forward(x) - c)^2)`, the loss of the gradient check.
fn loss(l: &LoRALinear, x: &Array, c: &Array) -> Result<Array> {
    let y = l.forward(x)?;
    let d = (&y - c)?;
    (&d * &d)?.sum(None, false)
}

#[test]
fn adapter_gradients_match_finite_differences() {
    let mut l = layer(4, 3, 2, 1.5, true, 31);
    // work in f64 for the finite differences
    l.linear.weight = l.linear.weight.astype(Dtype::F64).unwrap();
    l.linear.bias = l
        .linear
        .bias
        .as_ref()
        .map(|b| b.astype(Dtype::F64).unwrap());
    l.lora_a = l.lora_a.astype(Dtype::F64).unwrap();
    l.lora_b = l.lora_b.astype(Dtype::F64).unwrap();
    l.freeze_base().unwrap();
    let x = random::normal(&[5, 4], None)
        .unwrap()
        .astype(Dtype::F64)
        .unwrap();
    let c = random::normal(&[5, 3], None)
        .unwrap()
        .astype(Dtype::F64)
        .unwrap();
    let (outs, grads) =
        value_and_grad(&mut l, |m: &LoRALinear| Ok(vec![loss(m, &x, &c)?])).unwrap();
    assert_eq!(names(&grads), ["lora_a", "lora_b"]);
    let l0 = outs[0].item::<f64>().unwrap();
    assert!((l0 - loss(&l, &x, &c).unwrap().item::<f64>().unwrap()).abs() < 1e-12);
    let eps = 1e-6;
    for name in ["lora_a", "lora_b"] {
        let g = vals(grads.get(name).and_then(Tree::as_leaf).unwrap());
        let p0 = if name == "lora_a" {
            &l.lora_a
        } else {
            &l.lora_b
        };
        let (shape, base) = (p0.shape().to_vec(), vals(p0));
        for k in 0..base.len() {
            let eval_at = |delta: f64| {
                let mut v = base.clone();
                v[k] += delta;
                let mut m = l.clone();
                let p = Array::from_vec(v, &shape).unwrap();
                if name == "lora_a" {
                    m.lora_a = p;
                } else {
                    m.lora_b = p;
                }
                loss(&m, &x, &c).unwrap().item::<f64>().unwrap()
            };
            let fd = (eval_at(eps) - eval_at(-eps)) / (2.0 * eps);
            assert!(
                (g[k] - fd).abs() <= 1e-6 * (1.0 + fd.abs()),
                "d{name}[{k}]: analytic {} vs finite difference {fd}",
                g[k]
            );
        }
    }
}

#[test]
fn dropout_only_in_training() {
    let mut l = layer(16, 4, 2, 1.0, false, 41);
    l.dropout = rmlx_nn::Dropout::new(0.5).unwrap();
    let mut plain = l.clone();
    plain.dropout = rmlx_nn::Dropout::new(0.0).unwrap();
    let x = random::normal(&[8, 16], None).unwrap();
    let want = vals(&plain.forward(&x).unwrap());
    // training (the default): the adapter sees a masked, rescaled input
    let y = vals(&l.forward(&x).unwrap());
    assert!(y.iter().zip(&want).any(|(a, b)| (a - b).abs() > 1e-6));
    // the base part is untouched by dropout: with lora_b = 0 the outputs are the base's
    let mut z = l.clone();
    z.lora_b = rmlx_core::zeros(&[2, 4], Dtype::F32).unwrap();
    assert_eq!(
        vals(&z.forward(&x).unwrap()),
        vals(&l.linear.forward(&x).unwrap())
    );
    // eval mode: no dropout
    l.eval();
    assert_close(&vals(&l.forward(&x).unwrap()), &want, 1e-6, "eval");
}

#[test]
fn bad_arguments_are_errors() {
    random::seed(51);
    let base = Linear::new(3, 2, true).unwrap();
    let e = LoRALinear::from_linear(base.clone(), 0, 20.0, 0.0)
        .err()
        .unwrap();
    assert_eq!(
        e.to_string(),
        "LoRALinear: the rank r must be positive, got 0"
    );
    for p in [1.0f32, -0.1, f32::NAN] {
        let e = LoRALinear::from_linear(base.clone(), 2, 20.0, p)
            .err()
            .unwrap();
        assert!(e.to_string().contains("dropout probability"), "{e}");
    }
    let e = LoRALinear::from_linear(base.clone(), 2, f32::INFINITY, 0.0)
        .err()
        .unwrap();
    assert!(e.to_string().contains("scale must be finite"), "{e}");
    let mut bad = base.clone();
    bad.weight = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
    let e = LoRALinear::from_linear(bad, 2, 20.0, 0.0).err().unwrap();
    assert!(e.to_string().contains("2-d Linear weight"), "{e}");
    assert!(LoRALinear::new(3, 2, 0, 0.0, 20.0, false).is_err());
    // a wrong input width is an error, not a panic
    let l = LoRALinear::from_linear(base, 2, 20.0, 0.0).unwrap();
    let x = Array::from_slice(&[1.0f32; 8], &[2, 4]).unwrap();
    assert!(l.forward(&x).is_err());
}
