//! Built-in layers draw their initial values as MLX does (`init_golden.json`), and `Linear`'s
//! forward pass against a naive loop.

use crate::support;

use rmlx_core::tree::tree_flatten;
use rmlx_core::{random, Array};
use rmlx_nn::{Conv1d, Embedding, Linear, Module, ModuleExt, MultiHeadAttention, ReLU, Sequential};
use serde_json::Value;

fn build(ctor: &str) -> Option<Box<dyn Module>> {
    Some(match ctor {
        "Linear(4, 3)" => Box::new(Linear::new(4, 3, true).ok()?),
        "Linear(5, 2, bias=False)" => Box::new(Linear::new(5, 2, false).ok()?),
        "Embedding(6, 4)" => Box::new(Embedding::new(6, 4).ok()?),
        "Sequential(Linear(3, 4), ReLU(), Linear(4, 2))" => {
            // arguments are evaluated in order, as in Python
            let a = Linear::new(3, 4, true).ok()?;
            let b = Linear::new(4, 2, true).ok()?;
            Box::new(Sequential::new(vec![
                Box::new(a),
                Box::new(ReLU::new()),
                Box::new(b),
            ]))
        }
        "MultiHeadAttention(8, 2)" => Box::new(MultiHeadAttention::new(8, 2, false).ok()?),
        "Conv1d(2, 3, 3)" => Box::new(Conv1d::new(2, 3, 3, 1, 0, 1, 1, true).ok()?),
        "Bilinear(2, 3, 4)" => Box::new(rmlx_nn::Bilinear::new(2, 3, 4, true).ok()?),
        _ => return None,
    })
}

#[test]
fn layer_init_matches_mlx() {
    let path = support::oracle_dir().join("init_golden.json");
    let g: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut checked = 0;
    for layer in g["layers"].as_array().unwrap() {
        let ctor = layer["constructor"].as_str().unwrap();
        random::seed(layer["seed"].as_u64().unwrap());
        let Some(m) = build(ctor) else { continue };
        let params = m.parameters();
        let flat = tree_flatten(&params);
        let want = layer["parameters"].as_array().unwrap();
        assert_eq!(flat.len(), want.len(), "{ctor}");
        for ((k, a), w) in flat.iter().zip(want) {
            assert_eq!(k, w[0].as_str().unwrap(), "{ctor}");
            let got = a.to_vec::<f32>().unwrap();
            let exp: Vec<f32> = w[2]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect();
            assert_eq!(got.len(), exp.len());
            for (x, y) in got.iter().zip(&exp) {
                // uniform draws are bit-exact; normal draws go through erfinv (within 1 ulp)
                let ulps = (x.to_bits() as i64 - y.to_bits() as i64).abs();
                assert!(ulps <= 1, "{ctor} {k}: {x} vs {y}");
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 7);
}

#[test]
fn linear_forward_matches_naive() {
    random::seed(3);
    let l = Linear::new(3, 2, true).unwrap();
    let x = Array::from_slice(&[1.0f32, -2.0, 0.5, 3.0, 0.0, -1.0], &[2, 3]).unwrap();
    let y = l.forward(&x).unwrap().to_vec::<f32>().unwrap();
    let w = l.weight.to_vec::<f32>().unwrap();
    let b = l.bias.as_ref().unwrap().to_vec::<f32>().unwrap();
    let xv = x.to_vec::<f32>().unwrap();
    for r in 0..2 {
        for o in 0..2 {
            let mut s = b[o] as f64;
            for i in 0..3 {
                s += xv[r * 3 + i] as f64 * w[o * 3 + i] as f64;
            }
            assert!((y[r * 2 + o] as f64 - s).abs() < 1e-5);
        }
    }
    let nb = Linear::new(3, 2, false).unwrap();
    assert_eq!(nb.forward(&x).unwrap().shape(), &[2, 2]);
    assert!(nb
        .forward(&Array::from_slice(&[1.0f32; 4], &[1, 4]).unwrap())
        .is_err());
}
