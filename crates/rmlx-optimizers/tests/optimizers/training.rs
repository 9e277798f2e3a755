//! End to end: gradients from `rmlx_core::value_and_grad`, clipped, fed to each optimizer; a
//! least-squares fit converges (the loss drops by orders of magnitude).

use rmlx_core::{value_and_grad, Array, Result};
use rmlx_optimizers::*;

/// `y = X w* + b*` for 16 points in 3 dims.
fn data() -> (Array, Array) {
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    let w = [0.5f32, -1.0, 2.0];
    for i in 0..16 {
        let x = [
            ((i * 7 % 5) as f32 - 2.0) * 0.5,
            ((i * 3 % 7) as f32 - 3.0) * 0.3,
            ((i % 4) as f32 - 1.5) * 0.6,
        ];
        ys.push(x.iter().zip(&w).map(|(a, b)| a * b).sum::<f32>() + 0.3);
        xs.extend(x);
    }
    (
        Array::from_slice(&xs, &[16, 3]).unwrap(),
        Array::from_slice(&ys, &[16, 1]).unwrap(),
    )
}

fn loss(x: &Array, y: &Array, w: &Array, b: &Array) -> Result<Array> {
    let pred = (x.matmul(w)? + b)?;
    let d = (pred - y)?;
    rmlx_core::mean(&(&d * &d)?, None::<&[isize]>, false)
}

fn train(mut opt: Box<dyn Optimizer>, steps: usize) -> (f32, f32) {
    let (x, y) = data();
    let mut params = vec![
        (
            "w".to_string(),
            Array::from_slice(&[0.0f32; 3], &[3, 1]).unwrap(),
        ),
        ("b".to_string(), Array::from_slice(&[0.0f32], &[1]).unwrap()),
    ];
    let (xc, yc) = (x.clone(), y.clone());
    let vg = value_and_grad(
        move |p: &[Array]| Ok(vec![loss(&xc, &yc, &p[0], &p[1])?]),
        &[0, 1],
    );
    let mut first = None;
    let mut last = 0.0;
    for _ in 0..steps {
        let (vals, grads) = vg(&[params[0].1.clone(), params[1].1.clone()]).unwrap();
        let l = vals[0].item::<f32>().unwrap();
        first.get_or_insert(l);
        last = l;
        let g = vec![
            ("w".to_string(), grads[0].clone()),
            ("b".to_string(), grads[1].clone()),
        ];
        let (g, _) = clip_grad_norm(&g, 10.0).unwrap();
        params = opt.apply_gradients(&g, &params).unwrap();
        for (_, p) in &params {
            p.eval().unwrap();
        }
        for (_, s) in opt.state() {
            s.eval().unwrap();
        }
    }
    (first.unwrap(), last)
}

/// Optimizer class, its arguments, and the number of steps.
type Case = (&'static str, Vec<(&'static str, HParam)>, usize);

#[test]
fn optimizers_fit_least_squares() {
    let cases: Vec<Case> = vec![
        (
            "SGD",
            vec![
                ("learning_rate", HParam::Num(0.1)),
                ("momentum", HParam::Num(0.9)),
            ],
            150,
        ),
        ("Adam", vec![("learning_rate", HParam::Num(0.05))], 300),
        (
            "AdamW",
            vec![
                ("learning_rate", HParam::Num(0.05)),
                ("weight_decay", HParam::Num(0.0)),
            ],
            300,
        ),
        ("RMSprop", vec![("learning_rate", HParam::Num(0.01))], 400),
        ("Adagrad", vec![("learning_rate", HParam::Num(0.5))], 300),
        ("Adamax", vec![("learning_rate", HParam::Num(0.05))], 300),
        // Relative steps scaled by RMS(w) barely move from w = 0 (as in MLX); use a fixed rate.
        (
            "Adafactor",
            vec![
                ("learning_rate", HParam::Num(0.05)),
                ("relative_step", HParam::Bool(false)),
                ("scale_parameter", HParam::Bool(false)),
            ],
            400,
        ),
    ];
    for (name, args, steps) in cases {
        let opt = optimizer_from_name(name, &args).unwrap();
        let (l0, l1) = train(opt, steps);
        assert!(l1 < l0 * 1e-2, "{name}: loss {l0} -> {l1}");
    }
}
