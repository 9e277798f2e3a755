//! Bilinear, GroupNorm, InstanceNorm, BatchNorm, Dropout2d/3d and the positional encodings
//! against naive loops / closed forms written here, finite-difference gradients in f64, and
//! MLX's error messages.

use crate::support;

use rmlx_core::transforms::grad;
use rmlx_core::{Array, Dtype, Result};
use rmlx_nn::{
    ALiBi, BatchNorm, Bilinear, Dropout2d, Dropout3d, GroupNorm, InstanceNorm, Keys, Module,
    ModuleExt, RoPE, Sequential, SinusoidalPositionalEncoding,
};

/// Deterministic values in [-1, 1).
fn vals(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

fn arr64(shape: &[usize], seed: u64) -> Array {
    let n = shape.iter().product();
    Array::from_vec(vals(n, seed), shape).unwrap()
}

fn arr32(shape: &[usize], seed: u64) -> Array {
    arr64(shape, seed).astype(Dtype::F32).unwrap()
}

fn v64(a: &Array) -> Vec<f64> {
    a.astype(Dtype::F64).unwrap().to_vec::<f64>().unwrap()
}

fn close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{i}]: {g} vs {w}"
        );
    }
}

/// Checks `grad` of `sum(f(xs) * r)` against central differences in f64, for every input.
fn fd_check(f: impl Fn(&[Array]) -> Result<Array> + Clone, xs: Vec<Array>, what: &str) {
    let out_shape = f(&xs).unwrap().shape().to_vec();
    let r = arr64(&out_shape, 99);
    let loss = {
        let f = f.clone();
        let r = r.clone();
        move |x: &[Array]| -> Result<Vec<Array>> { Ok(vec![(f(x)? * &r)?.sum(None, false)?]) }
    };
    let argnums: Vec<usize> = (0..xs.len()).collect();
    let grads = grad(loss.clone(), &argnums)(&xs).unwrap();
    let h = 1e-6;
    for (k, x) in xs.iter().enumerate() {
        let base = v64(x);
        let mut fd = Vec::with_capacity(base.len());
        for i in 0..base.len() {
            let eval = |d: f64| {
                let mut v = base.clone();
                v[i] += d;
                let mut ins = xs.clone();
                ins[k] = Array::from_vec(v, x.shape()).unwrap();
                loss(&ins).unwrap()[0].item::<f64>().unwrap()
            };
            fd.push((eval(h) - eval(-h)) / (2.0 * h));
        }
        close(&v64(&grads[k]), &fd, 1e-6, &format!("{what} d/dinput{k}"));
    }
}

// ---------------------------------------------------------------- Bilinear

fn bilinear_naive(
    x1: &[f64],
    x2: &[f64],
    w: &[f64],
    b: Option<&[f64]>,
    dims: (usize, usize, usize),
) -> Vec<f64> {
    let (i1, i2, o) = dims;
    let n = x1.len() / i1;
    let mut out = vec![0.0; n * o];
    for r in 0..n {
        for k in 0..o {
            let mut s = b.map_or(0.0, |b| b[k]);
            for j in 0..i2 {
                for i in 0..i1 {
                    s += x1[r * i1 + i] * w[(k * i2 + j) * i1 + i] * x2[r * i2 + j];
                }
            }
            out[r * o + k] = s;
        }
    }
    out
}

#[test]
fn bilinear_forward_matches_naive() {
    rmlx_core::random::seed(4);
    let l = Bilinear::new(3, 2, 4, true).unwrap();
    assert_eq!(l.weight.shape(), &[4, 2, 3]);
    assert_eq!(
        l.repr(),
        "Bilinear(input1_dims=3, input2_dims=2, output_dims=4, bias=True)"
    );
    let x1 = arr32(&[2, 3, 3], 1);
    let x2 = arr32(&[2, 3, 2], 2);
    let y = l.forward(&x1, &x2).unwrap();
    assert_eq!(y.shape(), &[2, 3, 4]);
    let want = bilinear_naive(
        &v64(&x1),
        &v64(&x2),
        &v64(&l.weight),
        Some(&v64(l.bias.as_ref().unwrap())),
        (3, 2, 4),
    );
    close(&v64(&y), &want, 1e-5, "bilinear");
    let nb = Bilinear::new(3, 2, 4, false).unwrap();
    assert_eq!(nb.parameters().flatten().len(), 1);
    let want = bilinear_naive(&v64(&x1), &v64(&x2), &v64(&nb.weight), None, (3, 2, 4));
    close(
        &v64(&nb.forward(&x1, &x2).unwrap()),
        &want,
        1e-5,
        "bilinear no bias",
    );
    // wrong feature sizes or leading shapes
    assert!(l.forward(&x2, &x1).is_err());
    assert!(l.forward(&arr32(&[2, 3], 1), &arr32(&[3, 2], 1)).is_err());
}

#[test]
fn bilinear_gradients_fd() {
    let x1 = arr64(&[2, 3], 1);
    let x2 = arr64(&[2, 2], 2);
    let w = arr64(&[2, 2, 3], 3);
    let b = arr64(&[2], 4);
    let f = |xs: &[Array]| {
        let mut l = Bilinear::new(3, 2, 2, true)?;
        l.weight = xs[2].clone();
        l.bias = Some(xs[3].clone());
        l.forward(&xs[0], &xs[1])
    };
    fd_check(f, vec![x1, x2, w, b], "bilinear");
}

// ---------------------------------------------------------------- GroupNorm

/// Naive group norm of `[b, s, c]` (spatial flattened); `group(c)` gives the feature's group.
fn group_norm_naive(
    x: &[f64],
    b: usize,
    s: usize,
    c: usize,
    groups: usize,
    group: impl Fn(usize) -> usize,
    eps: f64,
) -> Vec<f64> {
    let mut out = vec![0.0; x.len()];
    for bi in 0..b {
        for g in 0..groups {
            let idx: Vec<usize> = (0..s)
                .flat_map(|si| {
                    (0..c)
                        .filter(|&ci| group(ci) == g)
                        .map(move |ci| (bi * s + si) * c + ci)
                })
                .collect();
            let n = idx.len() as f64;
            let mean = idx.iter().map(|&i| x[i]).sum::<f64>() / n;
            let var = idx.iter().map(|&i| (x[i] - mean).powi(2)).sum::<f64>() / n;
            for &i in &idx {
                out[i] = (x[i] - mean) / (var + eps).sqrt();
            }
        }
    }
    out
}

#[test]
fn group_norm_matches_naive_both_groupings() {
    let x = arr32(&[2, 2, 3, 6], 5);
    for pt in [false, true] {
        let mut gn = GroupNorm::new(3, 6, 1e-5, true, pt).unwrap();
        // affine with non-trivial weight and bias
        gn.weight = Some(arr32(&[6], 6));
        gn.bias = Some(arr32(&[6], 7));
        let y = gn.forward(&x).unwrap();
        assert_eq!(y.shape(), x.shape());
        let g = move |c: usize| if pt { c / 2 } else { c % 3 };
        let mut want = group_norm_naive(&v64(&x), 2, 6, 6, 3, g, 1e-5);
        let (w, b) = (
            v64(gn.weight.as_ref().unwrap()),
            v64(gn.bias.as_ref().unwrap()),
        );
        for (i, v) in want.iter_mut().enumerate() {
            *v = *v * w[i % 6] + b[i % 6];
        }
        close(&v64(&y), &want, 1e-4, &format!("group_norm pt={pt}"));
    }
    // MLX's order and repr: bias before weight
    let gn = GroupNorm::new(2, 4, 1e-5, true, false).unwrap();
    let keys: Vec<String> = gn
        .parameters()
        .flatten()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, ["bias", "weight"]);
    assert_eq!(
        gn.repr(),
        "GroupNorm(2, 4, eps=1e-05, affine=True, pytorch_compatible=False)"
    );
    assert!(GroupNorm::new(2, 4, 1e-5, false, false)
        .unwrap()
        .parameters()
        .flatten()
        .is_empty());
}

#[test]
fn group_norm_errors() {
    let e = GroupNorm::new(3, 8, 1e-5, true, false).err().unwrap();
    assert_eq!(
        e.to_string(),
        "[GroupNorm] dims (8) must be divisible by num_groups (3)"
    );
    let e = GroupNorm::new(2, 8, 0.0, true, false).err().unwrap();
    assert_eq!(e.to_string(), "[GroupNorm] 'eps' must be positive, got 0");
    assert!(GroupNorm::new(0, 8, 1e-5, true, false).is_err());
    let gn = GroupNorm::new(2, 4, 1e-5, true, false).unwrap();
    assert!(gn.forward(&arr32(&[2, 3, 5], 1)).is_err());
    assert!(gn.forward(&arr32(&[4], 1)).is_err());
}

#[test]
fn group_norm_gradients_fd() {
    for pt in [false, true] {
        let f = move |xs: &[Array]| {
            let mut gn = GroupNorm::new(2, 4, 1e-5, true, pt)?;
            gn.weight = Some(xs[1].clone());
            gn.bias = Some(xs[2].clone());
            gn.forward(&xs[0])
        };
        fd_check(
            f,
            vec![arr64(&[2, 3, 4], 8), arr64(&[4], 9), arr64(&[4], 10)],
            "group_norm",
        );
    }
}

// ---------------------------------------------------------------- InstanceNorm

#[test]
fn instance_norm_matches_naive() {
    let x = arr32(&[2, 3, 2, 4], 11);
    let mut inn = InstanceNorm::new(4, 1e-5, true).unwrap();
    inn.weight = Some(arr32(&[4], 12));
    inn.bias = Some(arr32(&[4], 13));
    let y = inn.forward(&x).unwrap();
    // instance norm = group norm with one group per feature
    let mut want = group_norm_naive(&v64(&x), 2, 6, 4, 4, |c| c, 1e-5);
    let (w, b) = (
        v64(inn.weight.as_ref().unwrap()),
        v64(inn.bias.as_ref().unwrap()),
    );
    for (i, v) in want.iter_mut().enumerate() {
        *v = *v * w[i % 4] + b[i % 4];
    }
    close(&v64(&y), &want, 1e-4, "instance_norm");
    let plain = InstanceNorm::new(4, 1e-5, false).unwrap();
    assert!(plain.parameters().flatten().is_empty());
    assert_eq!(plain.repr(), "InstanceNorm(4, eps=1e-05, affine=False)");
    // 2-D: no spatial axis, every value is its own mean (MLX gives zeros)
    let z = plain.forward(&arr32(&[3, 4], 1)).unwrap();
    assert!(v64(&z).iter().all(|v| *v == 0.0));
    assert!(plain.forward(&arr32(&[3, 5], 1)).is_err());
    assert_eq!(
        InstanceNorm::new(4, -1.0, false).err().unwrap().to_string(),
        "[InstanceNorm] 'eps' must be positive, got -1"
    );
}

#[test]
fn instance_norm_gradients_fd() {
    let f = |xs: &[Array]| {
        let mut inn = InstanceNorm::new(3, 1e-5, true)?;
        inn.weight = Some(xs[1].clone());
        inn.bias = Some(xs[2].clone());
        inn.forward(&xs[0])
    };
    fd_check(
        f,
        vec![arr64(&[2, 4, 3], 14), arr64(&[3], 15), arr64(&[3], 16)],
        "instance_norm",
    );
}

// ---------------------------------------------------------------- BatchNorm

/// Per-feature mean, biased and unbiased variance of `[n, c]` data.
fn col_stats(x: &[f64], c: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let n = x.len() / c;
    let mut mean = vec![0.0; c];
    let mut var = vec![0.0; c];
    for f in 0..c {
        mean[f] = (0..n).map(|r| x[r * c + f]).sum::<f64>() / n as f64;
        var[f] = (0..n)
            .map(|r| (x[r * c + f] - mean[f]).powi(2))
            .sum::<f64>()
            / n as f64;
    }
    let unb = var.iter().map(|v| v * n as f64 / (n - 1) as f64).collect();
    (mean, var, unb)
}

#[test]
fn batch_norm_train_and_eval() {
    for shape in [vec![5usize, 3], vec![2, 4, 3], vec![2, 2, 3, 3]] {
        let mut bn = BatchNorm::new(3, 1e-5, 0.1, true, true).unwrap();
        bn.weight = Some(arr32(&[3], 20));
        bn.bias = Some(arr32(&[3], 21));
        let (w, b) = (
            v64(bn.weight.as_ref().unwrap()),
            v64(bn.bias.as_ref().unwrap()),
        );
        let mut rm = vec![0.0; 3];
        let mut rv = vec![1.0; 3];
        for step in 0..2u64 {
            let x = (arr32(&shape, 22 + step) * 2.0).unwrap();
            let xv = v64(&x);
            let y = bn.forward(&x).unwrap();
            assert_eq!(y.shape(), &shape[..]);
            let (mean, var, unb) = col_stats(&xv, 3);
            let want: Vec<f64> = xv
                .iter()
                .enumerate()
                .map(|(i, v)| (v - mean[i % 3]) / (var[i % 3] + 1e-5).sqrt() * w[i % 3] + b[i % 3])
                .collect();
            close(&v64(&y), &want, 1e-4, "batch_norm train");
            for f in 0..3 {
                rm[f] = 0.9 * rm[f] + 0.1 * mean[f];
                rv[f] = 0.9 * rv[f] + 0.1 * unb[f];
            }
            close(
                &v64(bn.running_mean.as_ref().unwrap()),
                &rm,
                1e-5,
                "running_mean",
            );
            close(
                &v64(bn.running_var.as_ref().unwrap()),
                &rv,
                1e-5,
                "running_var",
            );
        }
        // eval: the running statistics, and they no longer change
        bn.eval();
        let x = arr32(&shape, 30);
        let y = bn.forward(&x).unwrap();
        let want: Vec<f64> = v64(&x)
            .iter()
            .enumerate()
            .map(|(i, v)| (v - rm[i % 3]) / (rv[i % 3] + 1e-5).sqrt() * w[i % 3] + b[i % 3])
            .collect();
        close(&v64(&y), &want, 1e-4, "batch_norm eval");
        close(
            &v64(bn.running_mean.as_ref().unwrap()),
            &rm,
            1e-5,
            "running_mean after eval",
        );
        // through a shared reference (Forward / Sequential) eval mode works
        let seq = Sequential::new(vec![Box::new(bn.clone())]);
        close(
            &v64(&seq.forward(&x).unwrap()),
            &want,
            1e-4,
            "batch_norm in Sequential",
        );
    }
}

#[test]
fn batch_norm_without_running_stats_and_errors() {
    let mut bn = BatchNorm::new(2, 1e-5, 0.1, false, false).unwrap();
    assert!(bn.parameters().flatten().is_empty());
    assert_eq!(
        bn.repr(),
        "BatchNorm(2, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False)"
    );
    bn.eval();
    // no running stats: batch statistics even in eval mode
    let x = arr32(&[4, 2], 40);
    let (mean, var, _) = col_stats(&v64(&x), 2);
    let want: Vec<f64> = v64(&x)
        .iter()
        .enumerate()
        .map(|(i, v)| (v - mean[i % 2]) / (var[i % 2] + 1e-5).sqrt())
        .collect();
    close(
        &v64(&bn.forward(&x).unwrap()),
        &want,
        1e-4,
        "batch_norm untracked",
    );

    let mut bn = BatchNorm::new(2, 1e-5, 0.1, true, true).unwrap();
    assert_eq!(
        bn.forward(&arr32(&[2], 1)).err().unwrap().to_string(),
        "Expected input tensor to have 2, 3 or 4 dimensions, but got 1"
    );
    assert!(bn.forward(&arr32(&[1, 2, 2, 2, 2], 1)).is_err());
    assert!(bn.forward(&arr32(&[4, 3], 1)).is_err());
    // one value per channel cannot give an unbiased variance
    assert!(bn.forward(&arr32(&[1, 2], 1)).is_err());
    // training through a shared reference cannot store the running statistics
    let seq = Sequential::new(vec![Box::new(bn.clone())]);
    assert!(seq.forward(&arr32(&[4, 2], 1)).is_err());
    assert_eq!(
        BatchNorm::new(2, 0.0, 0.1, true, true)
            .err()
            .unwrap()
            .to_string(),
        "[BatchNorm] 'eps' must be positive, got 0"
    );
}

#[test]
fn batch_norm_forward_stats_in_value_and_grad() {
    let mut bn = BatchNorm::new(2, 1e-5, 0.1, true, true).unwrap();
    let x = arr32(&[4, 2], 41);
    let (outs, grads) = rmlx_nn::value_and_grad(&mut bn, |m: &BatchNorm| {
        let (y, stats) = m.forward_stats(&x)?;
        let (rm, rv) = stats.unwrap();
        Ok(vec![(y * &arr32(&[4, 2], 42))?.sum(None, false)?, rm, rv])
    })
    .unwrap();
    let names: Vec<String> = grads.flatten().into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["weight", "bias"]);
    bn.set_running_stats(outs[1].clone(), outs[2].clone())
        .unwrap();
    let (mean, _, unb) = col_stats(&v64(&x), 2);
    close(
        &v64(bn.running_mean.as_ref().unwrap()),
        &[0.1 * mean[0], 0.1 * mean[1]],
        1e-5,
        "rm",
    );
    close(
        &v64(bn.running_var.as_ref().unwrap()),
        &[0.9 + 0.1 * unb[0], 0.9 + 0.1 * unb[1]],
        1e-5,
        "rv",
    );
    assert!(bn
        .set_running_stats(arr32(&[3], 1), arr32(&[2], 1))
        .is_err());
}

#[test]
fn batch_norm_gradients_fd_train_mode() {
    let f = |xs: &[Array]| {
        let mut bn = BatchNorm::new(3, 1e-5, 0.1, true, true)?;
        bn.running_mean = Some(bn.running_mean.unwrap().astype(Dtype::F64)?);
        bn.running_var = Some(bn.running_var.unwrap().astype(Dtype::F64)?);
        bn.weight = Some(xs[1].clone());
        bn.bias = Some(xs[2].clone());
        bn.forward(&xs[0])
    };
    fd_check(
        f,
        vec![arr64(&[2, 3, 3], 43), arr64(&[3], 44), arr64(&[3], 45)],
        "batch_norm",
    );
}

fn trainable(m: &dyn Module) -> Vec<String> {
    m.trainable_parameters()
        .flatten()
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

#[test]
fn batch_norm_running_stats_stay_frozen_item_20() {
    let mut bn = BatchNorm::new(3, 1e-5, 0.1, true, true).unwrap();
    let all: Vec<String> = bn
        .parameters()
        .flatten()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(all, ["weight", "bias", "running_mean", "running_var"]);
    assert_eq!(trainable(&bn), ["weight", "bias"]);
    bn.unfreeze(Keys::All).unwrap();
    assert_eq!(trainable(&bn), ["weight", "bias"]);
    bn.unfreeze(vec!["running_mean", "running_var"]).unwrap();
    assert_eq!(trainable(&bn), ["weight", "bias"]);
    bn.unfreeze(Keys::All.shallow()).unwrap();
    assert_eq!(trainable(&bn), ["weight", "bias"]);
    bn.freeze(Keys::All).unwrap();
    assert!(trainable(&bn).is_empty());
    bn.unfreeze(Keys::All).unwrap();
    assert_eq!(trainable(&bn), ["weight", "bias"]);
    // the frozen stats are still saved with the parameters
    assert_eq!(bn.parameters().flatten().len(), 4);
    // MLX re-freezes only in the BatchNorm `unfreeze` is called on (a container's recursive
    // unfreeze leaks the stats into the trainable set there); rmlx keeps them frozen wherever
    // the unfreeze reaches.
    let mut seq = Sequential::new(vec![Box::new(
        BatchNorm::new(2, 1e-5, 0.1, true, true).unwrap(),
    )]);
    assert_eq!(trainable(&seq), ["layers.0.weight", "layers.0.bias"]);
    seq.unfreeze(Keys::All).unwrap();
    assert_eq!(trainable(&seq), ["layers.0.weight", "layers.0.bias"]);
    seq.freeze(Keys::All).unwrap();
    seq.unfreeze("running_mean").unwrap();
    assert!(trainable(&seq).is_empty());
}

// ---------------------------------------------------------------- Dropout2d / Dropout3d

fn check_channel_dropout(
    y: &[f64],
    x: &[f64],
    channels: usize,
    per_sample: usize,
    scale: f64,
) -> (usize, usize) {
    // within each (sample, channel) either every element is kept (scaled) or all are zero
    let (mut kept, mut dropped) = (0, 0);
    let samples = x.len() / (per_sample * channels);
    for s in 0..samples {
        for c in 0..channels {
            let idx: Vec<usize> = (0..per_sample)
                .map(|p| (s * per_sample + p) * channels + c)
                .collect();
            if idx.iter().all(|&i| y[i] == 0.0) {
                dropped += 1;
            } else {
                for &i in &idx {
                    assert!((y[i] - x[i] * scale).abs() < 1e-5 * (1.0 + x[i].abs()));
                }
                kept += 1;
            }
        }
    }
    (kept, dropped)
}

#[test]
fn dropout2d_3d_drop_whole_channels() {
    rmlx_core::random::seed(7);
    let d2 = Dropout2d::new(0.5).unwrap();
    let x = (arr32(&[8, 2, 3, 16], 50) + 2.0).unwrap(); // no zeros in the input
    let y = d2.forward(&x).unwrap();
    let (k, d) = check_channel_dropout(&v64(&y), &v64(&x), 16, 6, 2.0);
    assert!(k > 20 && d > 20, "kept {k} dropped {d}");
    // 3-D input: one mask over the channels
    let x3 = (arr32(&[2, 3, 64], 51) + 2.0).unwrap();
    let (k, d) = check_channel_dropout(&v64(&d2.forward(&x3).unwrap()), &v64(&x3), 64, 6, 2.0);
    assert!(k > 10 && d > 10);
    let d3 = Dropout3d::new(0.25).unwrap();
    let x5 = (arr32(&[4, 2, 2, 2, 8], 52) + 2.0).unwrap();
    let (k, d) =
        check_channel_dropout(&v64(&d3.forward(&x5).unwrap()), &v64(&x5), 8, 8, 1.0 / 0.75);
    assert_eq!(k + d, 32);
    assert!(d > 0 && k > d);
    // eval mode and p = 0: identity
    let mut e = Dropout2d::new(0.5).unwrap();
    e.eval();
    assert_eq!(v64(&e.forward(&x).unwrap()), v64(&x));
    assert_eq!(
        v64(&Dropout3d::new(0.0).unwrap().forward(&x5).unwrap()),
        v64(&x5)
    );
    // errors
    assert_eq!(
        Dropout2d::new(1.0).err().unwrap().to_string(),
        "The dropout probability 1.0 is not in [0, 1)"
    );
    assert!(Dropout3d::new(-0.1).is_err());
    assert_eq!(
        d2.forward(&arr32(&[2, 3], 1)).err().unwrap().to_string(),
        "Received input with 2 dimensions. Expected 3 or 4 dimensions."
    );
    assert_eq!(
        d3.forward(&arr32(&[2, 3, 4], 1)).err().unwrap().to_string(),
        "Received input with 3 dimensions. Expected 4 or 5 dimensions."
    );
    assert_eq!(
        Dropout2d::new(0.1).unwrap().repr(),
        "Dropout2d(p=0.09999999999999998)"
    );
    assert_eq!(Dropout3d::new(0.5).unwrap().repr(), "Dropout3d(p=0.5)");
}

// ---------------------------------------------------------------- positional encodings

#[test]
fn rope_matches_closed_form() {
    let (l, d) = (3usize, 6usize);
    let x = arr32(&[1, l, d], 60);
    let xv = v64(&x);
    for traditional in [false, true] {
        let rope = RoPE::new(4, traditional, 10000.0, 0.5);
        assert!(rope.parameters().flatten().is_empty());
        let y = v64(&rope.forward_offset(&x, 2).unwrap());
        let mut want = xv.clone();
        for p in 0..l {
            let pos = (p as f64 + 2.0) * 0.5;
            for i in 0..2 {
                let theta = pos * 10000f64.powf(-(2.0 * i as f64) / 4.0);
                let (a, b) = if traditional {
                    (2 * i, 2 * i + 1)
                } else {
                    (i, i + 2)
                };
                let (x1, x2) = (xv[p * d + a], xv[p * d + b]);
                want[p * d + a] = x1 * theta.cos() - x2 * theta.sin();
                want[p * d + b] = x1 * theta.sin() + x2 * theta.cos();
            }
        }
        close(&y, &want, 1e-5, &format!("rope traditional={traditional}"));
    }
    assert_eq!(
        RoPE::new(4, false, 10000.0, 1.0).repr(),
        "RoPE(4, traditional=False)"
    );
    assert!(RoPE::new(5, false, 10000.0, 1.0).forward(&x).is_err());
}

#[test]
fn sinusoidal_matches_closed_form() {
    let pe = SinusoidalPositionalEncoding::new(8, 1e-4, 1.0, None, false, false).unwrap();
    assert!(pe.parameters().flatten().is_empty());
    assert!(pe.trainable_parameters().flatten().is_empty());
    assert_eq!(pe.repr(), "SinusoidalPositionalEncoding()");
    let x = Array::from_slice(&[0.0f32, 1.0, 7.5], &[3]).unwrap();
    let y = pe.forward(&x).unwrap();
    assert_eq!(y.shape(), &[3, 8]);
    let sig: Vec<f64> = (0..4)
        .map(|i| ((1.0 - i as f64 / 3.0) * (1f64.ln() - 1e-4f64.ln()) + 1e-4f64.ln()).exp())
        .collect();
    // σ_i runs geometrically from max_freq (1) down to min_freq (1e-4)
    close(
        &sig,
        &[1.0, 10f64.powf(-4.0 / 3.0), 10f64.powf(-8.0 / 3.0), 1e-4],
        1e-9,
        "sigmas",
    );
    let scale = (2.0f64 / 8.0).sqrt();
    let mut want = Vec::new();
    for p in [0.0, 1.0, 7.5] {
        want.extend(sig.iter().map(|s| (p * s).sin() * scale));
        want.extend(sig.iter().map(|s| (p * s).cos() * scale));
    }
    close(&v64(&y), &want, 1e-5, "sinusoidal");
    // cos first, full turns, explicit scale
    let pe = SinusoidalPositionalEncoding::new(4, 0.5, 2.0, Some(1.0), true, true).unwrap();
    let y = v64(&pe
        .forward(&Array::from_slice(&[0.25f32], &[1]).unwrap())
        .unwrap());
    let tau = 2.0 * std::f64::consts::PI;
    let s = [2.0 * tau, 0.5 * tau];
    close(
        &y,
        &[
            (0.25 * s[0]).cos(),
            (0.25 * s[1]).cos(),
            (0.25 * s[0]).sin(),
            (0.25 * s[1]).sin(),
        ],
        1e-5,
        "cos_first",
    );
    assert!(SinusoidalPositionalEncoding::new(4, 0.0, 1.0, None, false, false).is_err());
}

#[test]
fn alibi_matches_closed_form() {
    // slopes for 8 heads: 2^-1 … 2^-8; for 6 heads: those of 4 then every other one of 8
    let s8 = ALiBi::alibi_get_slopes(8).unwrap();
    close(
        &s8,
        &(1..=8).map(|i| 2f64.powi(-i)).collect::<Vec<_>>(),
        1e-15,
        "slopes8",
    );
    let s6 = ALiBi::alibi_get_slopes(6).unwrap();
    let want6 = [0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125];
    close(&s6, &want6, 1e-15, "slopes6");
    assert!(ALiBi::alibi_get_slopes(0).is_err());
    let alibi = ALiBi::new();
    let (h, lq, lk, off) = (6usize, 2usize, 5usize, 3usize);
    let scores = arr32(&[1, h, lq, lk], 70);
    let mask = arr32(&[lq, lk], 71);
    let y = alibi.forward(&scores, off, Some(&mask)).unwrap();
    let (sv, mv) = (v64(&scores), v64(&mask));
    let mut want = vec![0.0; sv.len()];
    for hh in 0..h {
        for i in 0..lq {
            for j in 0..lk {
                let k = (hh * lq + i) * lk + j;
                let dist = (i as f64 + off as f64 - j as f64).abs();
                want[k] = sv[k] - want6[hh] * dist + mv[i * lk + j];
            }
        }
    }
    close(&v64(&y), &want, 1e-5, "alibi");
    assert_eq!(
        ALiBi::create_alibi_matrix(4, 4, 2, 0, Dtype::F16)
            .unwrap()
            .dtype(),
        Dtype::F16
    );
    assert!(alibi.forward(&arr32(&[2, 3], 1), 0, None).is_err());
    assert!(alibi.parameters().flatten().is_empty());
}

// ---------------------------------------------------------------- misc

#[test]
fn spec_builder_knows_the_new_classes() {
    let specs = [
        (
            r#"{"class": "Bilinear", "args": {"input1_dims": 2, "input2_dims": 3, "output_dims": 4}}"#,
            2,
        ),
        (
            r#"{"class": "GroupNorm", "args": {"num_groups": 2, "dims": 4}}"#,
            2,
        ),
        (
            r#"{"class": "InstanceNorm", "args": {"dims": 4, "affine": true}}"#,
            2,
        ),
        (r#"{"class": "BatchNorm", "args": {"num_features": 4}}"#, 4),
        (r#"{"class": "Dropout2d", "args": {"p": 0.2}}"#, 0),
        (r#"{"class": "Dropout3d", "args": {}}"#, 0),
        (r#"{"class": "RoPE", "args": {"dims": 8}}"#, 0),
        (r#"{"class": "ALiBi"}"#, 0),
        (
            r#"{"class": "SinusoidalPositionalEncoding", "args": {"dims": 8}}"#,
            0,
        ),
    ];
    for (spec, n) in specs {
        let v: serde_json::Value = serde_json::from_str(spec).unwrap();
        let m = support::build(&v).unwrap();
        assert_eq!(m.class_name(), v["class"].as_str().unwrap());
        assert_eq!(m.parameters().flatten().len(), n, "{spec}");
    }
}

#[test]
fn norms_on_strided_and_half_inputs() {
    // a transposed view gives the same result as its contiguous copy
    let base = arr32(&[4, 2, 6], 80);
    let view = base.transpose_axes(&[1, 0, 2]).unwrap();
    let copy = Array::from_vec(v64(&view), view.shape())
        .unwrap()
        .astype(Dtype::F32)
        .unwrap();
    let gn = GroupNorm::new(3, 6, 1e-5, true, true).unwrap();
    close(
        &v64(&gn.forward(&view).unwrap()),
        &v64(&gn.forward(&copy).unwrap()),
        1e-6,
        "group_norm view",
    );
    let mut bn = BatchNorm::new(6, 1e-5, 0.1, false, true).unwrap();
    let a = v64(&bn.clone().forward(&view).unwrap());
    close(
        &a,
        &v64(&bn.forward(&copy).unwrap()),
        1e-6,
        "batch_norm view",
    );
    // float16 in, float16 out (weights are float32 only when affine: MLX promotes)
    let h = arr32(&[2, 3, 4], 81).astype(Dtype::F16).unwrap();
    let inn = InstanceNorm::new(4, 1e-5, false).unwrap();
    assert_eq!(inn.forward(&h).unwrap().dtype(), Dtype::F16);
    let gn = GroupNorm::new(2, 4, 1e-5, false, false).unwrap();
    let y = gn.forward(&h).unwrap();
    assert_eq!(y.dtype(), Dtype::F16);
    let want = gn.forward(&h.astype(Dtype::F32).unwrap()).unwrap();
    close(&v64(&y), &v64(&want), 1e-2, "group_norm f16");
}

#[test]
fn embedding_as_linear_is_tied() {
    rmlx_core::random::seed(8);
    let e = rmlx_nn::Embedding::new(5, 3).unwrap();
    let x = arr32(&[2, 3], 90);
    let y = e.as_linear(&x).unwrap();
    assert_eq!(y.shape(), &[2, 5]);
    let (xv, w) = (v64(&x), v64(&e.weight));
    let mut want = vec![0.0; 10];
    for r in 0..2 {
        for k in 0..5 {
            want[r * 5 + k] = (0..3).map(|i| xv[r * 3 + i] * w[k * 3 + i]).sum();
        }
    }
    close(&v64(&y), &want, 1e-5, "as_linear");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// GroupNorm (both groupings) and BatchNorm over random shapes against the naive loops.
    #[test]
    fn norms_random_shapes(
        b in 1usize..4,
        spatial in proptest::collection::vec(1usize..4, 0..3),
        groups in 1usize..4,
        gs in 1usize..4,
        pt in proptest::bool::ANY,
        seed in 0u64..1000,
    ) {
        let c = groups * gs;
        let mut shape = vec![b];
        shape.extend(&spatial);
        shape.push(c);
        let s: usize = spatial.iter().product();
        let x = arr32(&shape, seed);
        let gn = GroupNorm::new(groups, c, 1e-5, false, pt).unwrap();
        let want = group_norm_naive(&v64(&x), b, s, c, groups, |f| if pt { f / gs } else { f % groups }, 1e-5);
        close(&v64(&gn.forward(&x).unwrap()), &want, 2e-3, "group_norm prop");
        if shape.len() <= 4 && b * s > 1 {
            let mut bn = BatchNorm::new(c, 1e-5, 0.1, false, true).unwrap();
            let (mean, var, _) = col_stats(&v64(&x), c);
            let want: Vec<f64> = v64(&x)
                .iter()
                .enumerate()
                .map(|(i, v)| (v - mean[i % c]) / (var[i % c] + 1e-5).sqrt())
                .collect();
            close(&v64(&bn.forward(&x).unwrap()), &want, 2e-3, "batch_norm prop");
        }
    }
}
