//! Bit-exact agreement with MLX 0.32.4's random numbers: the golden values of MLX_SEMANTICS §4.4
//! and `tests/data/oracle/init_golden.json` (the global sequence and the layer initialisations,
//! reproduced here with plain random calls).

use rmlx_core::{random, Array, Dtype};

fn f32s(a: &Array) -> Vec<f32> {
    a.to_vec::<f32>().unwrap()
}

/// Values printed by MLX with 6 significant digits.
fn assert_close6(got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!(
            ((*g as f64) - w).abs() <= 5e-6 * w.abs().max(1e-3),
            "got {got:?}, want {want:?}"
        );
    }
}

#[test]
fn key_words() {
    assert_eq!(random::key(0).to_vec::<u32>().unwrap(), vec![0, 0]);
    assert_eq!(random::key(42).to_vec::<u32>().unwrap(), vec![0, 42]);
    assert_eq!(
        random::key((1u64 << 32) + 5).to_vec::<u32>().unwrap(),
        vec![1, 5]
    );
    assert_eq!(random::key(0).dtype(), Dtype::U32);
}

#[test]
fn split_golden() {
    let s = random::split(&random::key(0), 2).unwrap();
    assert_eq!(s.shape(), &[2, 2]);
    assert_eq!(
        s.to_vec::<u32>().unwrap(),
        vec![4146024105, 967050713, 2718843009, 1272950319]
    );
    let (a, b) = random::split_pair(&random::key(0)).unwrap();
    assert_eq!(a.to_vec::<u32>().unwrap(), vec![4146024105, 967050713]);
    assert_eq!(b.to_vec::<u32>().unwrap(), vec![2718843009, 1272950319]);
}

#[test]
fn uniform_golden() {
    let u = random::uniform(&[4], Some(&random::key(0))).unwrap();
    assert_eq!(u.dtype(), Dtype::F32);
    assert_close6(&f32s(&u), &[0.965321, 0.225159, 0.63303, 0.296382]);
    // Exact: bits / 4294967295 in float32 (bits from the split golden above).
    let want: Vec<f32> = [4146024105u32, 967050713, 2718843009, 1272950319]
        .iter()
        .map(|&b| b as f32 / 4294967295.0f32)
        .collect();
    assert_eq!(f32s(&u), want);
}

#[test]
fn normal_golden() {
    let n = random::normal(&[4], Some(&random::key(0))).unwrap();
    assert_close6(&f32s(&n), &[1.81609, -0.754885, 0.339889, -0.534835]);
}

#[test]
fn randint_golden() {
    let r = random::randint(0, 10, &[5], Dtype::I32, Some(&random::key(1))).unwrap();
    assert_eq!(r.dtype(), Dtype::I32);
    assert_eq!(r.to_vec::<i32>().unwrap(), vec![8, 1, 4, 6, 5]);
}

fn golden() -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/oracle/init_golden.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn global_sequence_golden() {
    let g = golden();
    let seq = &g["global_sequence"];
    random::seed(seq["seed"].as_u64().unwrap());
    for call in seq["calls"].as_array().unwrap() {
        let kind = call[0].as_str().unwrap();
        let shape: Vec<usize> = call[1]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        let got = match kind {
            "uniform" => random::uniform(&shape, None).unwrap(),
            "normal" => random::normal(&shape, None).unwrap(),
            other => panic!("unknown call {other}"),
        };
        assert_eq!(f32s(&got), floats(&call[2]), "{kind}");
    }
    // MLX_SEMANTICS §4.4: seed(0); uniform((3,)) = [0.872414, 0.111052, 0.277081]
    random::seed(0);
    let u = random::uniform(&[3], None).unwrap();
    assert_close6(&f32s(&u), &[0.872414, 0.111052, 0.277081]);
}

/// How a layer draws one parameter: `uniform(-s, s)`, `normal(scale = s)`, or zeros (no draw).
enum Draw {
    Uniform(f64),
    Normal(f64),
    Zeros,
}

fn layer_draws(constructor: &str) -> Vec<Draw> {
    let lin = |i: f64| Draw::Uniform((1.0 / i).sqrt());
    match constructor {
        "Linear(4, 3)" => vec![lin(4.0), lin(4.0)],
        "Linear(5, 2, bias=False)" => vec![lin(5.0)],
        "Embedding(6, 4)" => vec![Draw::Normal((1.0f64 / 4.0).sqrt())],
        "Sequential(Linear(3, 4), ReLU(), Linear(4, 2))" => {
            vec![lin(3.0), lin(3.0), lin(4.0), lin(4.0)]
        }
        "MultiHeadAttention(8, 2)" => vec![lin(8.0), lin(8.0), lin(8.0), lin(8.0)],
        "Bilinear(2, 3, 4)" => vec![lin(2.0), lin(2.0)],
        "Conv1d(2, 3, 3)" => vec![lin(6.0), Draw::Zeros],
        other => panic!("no recipe for {other}"),
    }
}

#[test]
fn layer_init_golden() {
    let g = golden();
    let mut checked = Vec::new();
    for layer in g["layers"].as_array().unwrap() {
        let ctor = layer["constructor"].as_str().unwrap();
        random::seed(layer["seed"].as_u64().unwrap());
        let params = layer["parameters"].as_array().unwrap();
        let draws = layer_draws(ctor);
        assert_eq!(draws.len(), params.len(), "{ctor}");
        for (p, d) in params.iter().zip(draws) {
            let shape: Vec<usize> = p[1]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            let got = match d {
                Draw::Uniform(s) => random::uniform_with(-s, s, &shape, Dtype::F32, None).unwrap(),
                Draw::Normal(s) => random::normal_with(&shape, Dtype::F32, 0.0, s, None).unwrap(),
                Draw::Zeros => Array::scalar(0.0f32).broadcast_to(&shape).unwrap(),
            };
            assert_eq!(f32s(&got), floats(&p[2]), "{ctor} {}", p[0]);
        }
        checked.push(ctor.to_string());
    }
    assert!(checked.iter().any(|c| c.starts_with("Linear")));
    assert!(checked.iter().any(|c| c.starts_with("Embedding")));
}
