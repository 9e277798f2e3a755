//! Gradients of the reductions, scans, sorts and softmax: vjp and jvp against central finite
//! differences in f64, plus the exact tie and zero rules.
// Tests favour plain `&[x.clone()]` argument lists and inline fn-pointer tables over helpers.

use rmlx_core::{self as mx, Array, Result};

type Op = Box<dyn Fn(&Array) -> Result<Array>>;

fn pseudo(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect()
}

fn eval_f(f: &Op, x: &[f64], shape: &[usize]) -> Vec<f64> {
    f(&Array::from_slice(x, shape).unwrap())
        .unwrap()
        .to_vec::<f64>()
        .unwrap()
}

/// vjp and jvp of `f` at `x` against central differences.
fn fd_check(name: &str, f: Op, x: &[f64], shape: &[usize]) {
    let h = 1e-6;
    let xa = Array::from_slice(x, shape).unwrap();
    let y = f(&xa).unwrap();
    let c = pseudo(y.size(), 7);
    let ca = Array::from_slice(&c, y.shape()).unwrap();
    let g = {
        let ff = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![f(&p[0])?]) };
        let (_, g) = mx::vjp(ff, &[xa.clone()], &[ca]).unwrap();
        g[0].to_vec::<f64>().unwrap()
    };
    assert_eq!(g.len(), x.len(), "{name}: vjp shape");
    for i in 0..x.len() {
        let (mut xp, mut xm) = (x.to_vec(), x.to_vec());
        xp[i] += h;
        xm[i] -= h;
        let fp: f64 = eval_f(&f, &xp, shape)
            .iter()
            .zip(&c)
            .map(|(a, b)| a * b)
            .sum();
        let fm: f64 = eval_f(&f, &xm, shape)
            .iter()
            .zip(&c)
            .map(|(a, b)| a * b)
            .sum();
        let want = (fp - fm) / (2.0 * h);
        assert!(
            (g[i] - want).abs() <= 1e-5 * (1.0 + want.abs()),
            "{name}: vjp[{i}] = {} but finite differences give {want}",
            g[i]
        );
    }
    let t = pseudo(x.len(), 11);
    let ta = Array::from_slice(&t, shape).unwrap();
    let ff = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![f(&p[0])?]) };
    let (_, tans) = mx::jvp(ff, &[xa], &[ta]).unwrap();
    let got = tans[0].to_vec::<f64>().unwrap();
    let xp: Vec<f64> = x.iter().zip(&t).map(|(a, b)| a + h * b).collect();
    let xm: Vec<f64> = x.iter().zip(&t).map(|(a, b)| a - h * b).collect();
    let (fp, fm) = (eval_f(&f, &xp, shape), eval_f(&f, &xm, shape));
    for k in 0..got.len() {
        let want = (fp[k] - fm[k]) / (2.0 * h);
        assert!(
            (got[k] - want).abs() <= 1e-5 * (1.0 + want.abs()),
            "{name}: jvp[{k}] = {} but finite differences give {want}",
            got[k]
        );
    }
}

#[test]
fn reductions_match_finite_differences() {
    let shape = [2, 3, 4];
    let x = pseudo(24, 1);
    let pos: Vec<f64> = x.iter().map(|v| v + 1.5).collect();
    let cases: Vec<(&str, Op, &Vec<f64>)> = vec![
        ("sum", Box::new(|a: &Array| a.sum([0, 2], false)), &x),
        ("sum_all", Box::new(|a: &Array| a.sum(None, false)), &x),
        ("mean", Box::new(|a: &Array| a.mean(-1, true)), &x),
        ("prod", Box::new(|a: &Array| a.prod(1, false)), &x),
        ("prod_all", Box::new(|a: &Array| a.prod([0, 2], true)), &pos),
        ("max", Box::new(|a: &Array| a.max(1, false)), &x),
        ("min", Box::new(|a: &Array| a.min([0, 2], false)), &x),
        (
            "logsumexp",
            Box::new(|a: &Array| a.logsumexp(-1, false)),
            &x,
        ),
        (
            "logsumexp02",
            Box::new(|a: &Array| a.logsumexp([0, 2], true)),
            &x,
        ),
        ("var", Box::new(|a: &Array| a.var(-1, false, 0)), &x),
        ("var_ddof", Box::new(|a: &Array| a.var(0, true, 1)), &x),
        ("std", Box::new(|a: &Array| a.std([1, 2], false, 0)), &x),
        (
            "softmax_last",
            Box::new(|a: &Array| a.softmax(-1, false)),
            &x,
        ),
        (
            "softmax_axis0",
            Box::new(|a: &Array| a.softmax(0, false)),
            &x,
        ),
        (
            "softmax_01",
            Box::new(|a: &Array| a.softmax([0, 1], true)),
            &x,
        ),
        (
            "cumsum",
            Box::new(|a: &Array| a.cumsum(Some(1), false, true)),
            &x,
        ),
        (
            "cumsum_rev_excl",
            Box::new(|a: &Array| a.cumsum(Some(-1), true, false)),
            &x,
        ),
        (
            "cumprod",
            Box::new(|a: &Array| a.cumprod(Some(2), false, true)),
            &x,
        ),
        (
            "cumprod_rev_excl",
            Box::new(|a: &Array| a.cumprod(Some(1), true, false)),
            &x,
        ),
        (
            "cummax",
            Box::new(|a: &Array| a.cummax(Some(2), false, true)),
            &x,
        ),
        (
            "cummin_rev",
            Box::new(|a: &Array| a.cummin(Some(0), true, true)),
            &x,
        ),
        ("sort", Box::new(|a: &Array| a.sort(-1)), &x),
        ("sort0", Box::new(|a: &Array| a.sort(0)), &x),
        ("topk", Box::new(|a: &Array| a.topk(2, -1)), &x),
        ("partition", Box::new(|a: &Array| a.partition(1, 1)), &x),
    ];
    for (name, f, data) in cases {
        fd_check(name, f, data, &shape);
    }
}

#[test]
fn transposed_input_gradients() {
    let x = pseudo(12, 3);
    let f: Op = Box::new(|a: &Array| a.t()?.softmax(-1, false));
    fd_check("softmax_t", f, &x, &[3, 4]);
    let f: Op = Box::new(|a: &Array| a.t()?.cumprod(Some(-1), false, true));
    fd_check("cumprod_t", f, &x, &[3, 4]);
}

#[test]
fn max_gradient_is_split_between_ties() {
    let x = Array::from_slice(&[1.0f32, 3.0, 3.0, 0.0, 2.0, 2.0, 2.0, 1.0], &[2, 4]).unwrap();
    let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![p[0].max(1, false)?]) };
    let c = Array::from_slice(&[1.0f32, 3.0], &[2]).unwrap();
    let (_, g) = mx::vjp(f, &[x.clone()], &[c]).unwrap();
    assert_eq!(
        g[0].to_vec::<f32>().unwrap(),
        vec![0.0, 0.5, 0.5, 0.0, 1.0, 1.0, 1.0, 0.0]
    );
    let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![p[0].min(None, false)?]) };
    let (_, g) = mx::vjp(f, &[x], &[mx::array(1.0f32)]).unwrap();
    // the minimum 0.0 is unique (position 3)
    assert_eq!(
        g[0].to_vec::<f32>().unwrap(),
        vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    );
}

#[test]
fn prod_and_cumprod_gradients_with_zeros_are_exact() {
    // d prod / d x_i = product of the others, also when some x_j is zero
    let x = Array::from_slice(&[2.0f64, 0.0, 3.0, 4.0], &[4]).unwrap();
    let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![p[0].prod(None, false)?]) };
    let (_, g) = mx::vjp(f, &[x.clone()], &[mx::array(1.0f64)]).unwrap();
    assert_eq!(g[0].to_vec::<f64>().unwrap(), vec![0.0, 24.0, 0.0, 0.0]);
    let two = Array::from_slice(&[0.0f64, 5.0, 0.0], &[3]).unwrap();
    let (_, g) = mx::vjp(f, &[two], &[mx::array(1.0f64)]).unwrap();
    assert_eq!(g[0].to_vec::<f64>().unwrap(), vec![0.0, 0.0, 0.0]);
    // cumprod [2, 0, 3, 4] -> [2, 0, 0, 0]; with cotangent ones:
    // grad_0 = 1 + 0 + 0 + 0 = 1, grad_1 = 2 + 2*3 + 2*3*4 = 32, grad_2 = 0, grad_3 = 0
    let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![p[0].cumprod(Some(0), false, true)?]) };
    let ones = Array::from_slice(&[1.0f64; 4], &[4]).unwrap();
    let (_, g) = mx::vjp(f, &[x], &[ones]).unwrap();
    assert_eq!(g[0].to_vec::<f64>().unwrap(), vec![1.0, 32.0, 0.0, 0.0]);
}

#[test]
fn only_requested_argnums_and_integer_inputs() {
    let a = Array::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
    let b = Array::from_slice(&[4.0f32, 5.0, 6.0], &[3]).unwrap();
    let f = |p: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![(&p[0].softmax(-1, false)? * &p[1])?.sum(None, false)?])
    };
    let (_, g) = mx::vjp_with_argnums(f, &[a, b], &[mx::array(1.0f32)], &[1]).unwrap();
    assert_eq!(g.len(), 1);
    let s: f32 = g[0].to_vec::<f32>().unwrap().iter().sum();
    assert!((s - 1.0).abs() < 1e-6);
    // argmax gives a zero gradient
    let f = |p: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![
            (&p[0].argmax(None, false)?.astype(mx::Dtype::F32)? + &p[0].sum(None, false)?)?,
        ])
    };
    let x = Array::from_slice(&[1.0f32, 5.0, 2.0], &[3]).unwrap();
    let (_, g) = mx::vjp(f, &[x], &[mx::array(1.0f32)]).unwrap();
    assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![1.0, 1.0, 1.0]);
}
