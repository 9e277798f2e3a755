//! Optimizer state: lazy creation from the gradients, extension for parameters unfrozen later
//! (MLX_SEMANTICS 82, fixed), nothing for frozen parameters, bit-exact resume from a saved state,
//! MultiOptimizer, gradient clipping, and bad input.

use rmlx_core::Array;
use rmlx_optimizers::*;

fn a(v: &[f32], shape: &[usize]) -> Array {
    Array::from_slice(v, shape).unwrap()
}

fn named(pairs: &[(&str, &Array)]) -> Vec<(String, Array)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), (*v).clone()))
        .collect()
}

fn bits(x: &Array) -> Vec<u32> {
    x.to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|v| v.to_bits())
        .collect()
}

fn keys(opt: &dyn Optimizer) -> Vec<String> {
    opt.state().into_iter().map(|(k, _)| k).collect()
}

fn model() -> Vec<(String, Array)> {
    named(&[
        (
            "layers.0.weight",
            &a(&[0.1, -0.2, 0.3, 0.4, -0.5, 0.6], &[2, 3]),
        ),
        ("layers.0.bias", &a(&[0.01, -0.02], &[2])),
        ("layers.2.weight", &a(&[1.0, 2.0, -1.0, 0.5], &[2, 2])),
        ("layers.2.bias", &a(&[0.3, 0.1], &[2])),
    ])
}

fn grads_for(params: &[(String, Array)], which: &[&str], scale: f64) -> Vec<(String, Array)> {
    params
        .iter()
        .filter(|(k, _)| which.contains(&k.as_str()))
        .map(|(k, p)| (k.clone(), ((p * scale).unwrap() + 0.05).unwrap()))
        .collect()
}

fn merge(params: &mut [(String, Array)], updated: Vec<(String, Array)>) {
    for (k, v) in updated {
        let slot = params.iter_mut().find(|(n, _)| *n == k).unwrap();
        slot.1 = v;
    }
}

#[test]
fn state_follows_gradients_adam_layout() {
    // MLX_SEMANTICS 81: state created from the grads tree; frozen parameters get nothing.
    let params = model();
    let grads = grads_for(&params, &["layers.2.weight", "layers.2.bias"], 1.0);
    let mut opt = Adam::new(0.01);
    let out = opt.apply_gradients(&grads, &params).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(
        keys(&opt),
        [
            "step",
            "learning_rate",
            "layers.2.weight.m",
            "layers.2.weight.v",
            "layers.2.bias.m",
            "layers.2.bias.v"
        ]
    );
    let st = opt.state();
    assert_eq!(st[0].1.dtype(), rmlx_core::Dtype::U64);
    assert_eq!(st[0].1.item::<u64>().unwrap(), 1);
    assert_eq!(st[1].1.item::<f32>().unwrap(), 0.01);
}

#[test]
fn frozen_parameters_untouched_and_stateless() {
    let mut params = model();
    let before = params.clone();
    let trainable = ["layers.0.bias", "layers.2.bias"];
    let mut opt = Adam::new(0.1);
    for _ in 0..2 {
        let g = grads_for(&params, &trainable, 1.0);
        let up = opt.apply_gradients(&g, &params).unwrap();
        merge(&mut params, up);
    }
    for ((k, p), (_, p0)) in params.iter().zip(&before) {
        if trainable.contains(&k.as_str()) {
            assert_ne!(bits(p), bits(p0), "{k} should move");
        } else {
            assert_eq!(
                p.id(),
                p0.id(),
                "{k}: a frozen parameter keeps its identity"
            );
        }
    }
    // Memory: only bias-sized state (2 biases x 2 floats x {m, v}) plus step and lr.
    let bias_bytes = 2 * 2 * 2 * 4;
    assert_eq!(opt.state_nbytes(), bias_bytes + 8 + 4);
}

#[test]
fn state_extends_when_parameters_are_unfrozen() {
    // MLX raises KeyError here (item 82); rmlx extends the state and keeps the old entries.
    let mut params = model();
    let mut opt = SGD::with_options(
        0.1,
        SGDOptions {
            momentum: 0.9,
            ..Default::default()
        },
    )
    .unwrap();
    let g1 = grads_for(&params, &["layers.2.bias"], 1.0);
    let up = opt.apply_gradients(&g1, &params).unwrap();
    merge(&mut params, up);
    let v_before = opt.state()[2].1.clone();
    let g2 = grads_for(&params, &["layers.2.bias", "layers.0.weight"], 1.0);
    let up = opt.apply_gradients(&g2, &params).unwrap();
    assert_eq!(up.len(), 2);
    assert_eq!(opt.step(), 2);
    assert_eq!(
        keys(&opt),
        [
            "step",
            "learning_rate",
            "layers.2.bias.v",
            "layers.0.weight.v"
        ],
        "new paths are appended after the existing ones"
    );
    // The bias momentum continued from step 1: v2 = 0.9 v1 + g2.
    let v_after = opt.state()[2].1.to_vec::<f32>().unwrap();
    let v1 = v_before.to_vec::<f32>().unwrap();
    let by_name = |n: &str| {
        g2.iter()
            .find(|(k, _)| k == n)
            .unwrap()
            .1
            .to_vec::<f32>()
            .unwrap()
    };
    let g = by_name("layers.2.bias");
    for i in 0..2 {
        assert!((v_after[i] - (0.9 * v1[i] + g[i])).abs() < 1e-6);
    }
    // The new weight's momentum starts from zero: v = g (MLX test_sgd).
    let vw = opt.state()[3].1.to_vec::<f32>().unwrap();
    assert_eq!(vw, by_name("layers.0.weight"));
}

#[test]
fn explicit_init_creates_zero_state() {
    let params = model();
    let mut opt = SGD::new(0.1);
    opt.init(&params).unwrap();
    let st = opt.state();
    assert_eq!(st.len(), 2 + 4);
    for (k, v) in &st[2..] {
        assert!(k.ends_with(".v"));
        assert!(v.to_vec::<f32>().unwrap().iter().all(|&x| x == 0.0));
    }
    assert_eq!(opt.step(), 0);
}

fn run(opt: &mut dyn Optimizer, params: &mut [(String, Array)], steps: usize, seed: f64) {
    let names = ["layers.0.weight", "layers.0.bias", "layers.2.weight"];
    for i in 0..steps {
        let g = grads_for(params, &names, seed + i as f64 * 0.37);
        let up = opt.apply_gradients(&g, params).unwrap();
        merge(params, up);
    }
}

#[test]
fn resume_from_state_is_bit_exact() {
    let cases: Vec<(&str, Vec<(&str, HParam)>)> = vec![
        ("Adam", vec![("bias_correction", HParam::Bool(true))]),
        ("AdamW", vec![]),
        (
            "SGD",
            vec![
                ("momentum", HParam::Num(0.9)),
                ("nesterov", HParam::Bool(true)),
            ],
        ),
        ("RMSprop", vec![]),
        ("AdaDelta", vec![]),
        ("Adamax", vec![]),
        ("Lion", vec![]),
        ("Adafactor", vec![("beta_1", HParam::Num(0.9))]),
        ("Muon", vec![]),
    ];
    for (name, extra) in cases {
        let mut args = vec![(
            "learning_rate",
            HParam::Schedule(cosine_decay(0.05, 10, 0.0).unwrap()),
        )];
        args.extend(extra);
        let build = || optimizer_from_name(name, &args).unwrap();
        // Uninterrupted: 3 steps.
        let mut p_full = model();
        let mut full = build();
        run(full.as_mut(), &mut p_full, 2, 0.5);
        // Save the state (evaluated, copied out as plain data) and the parameters.
        let saved: Vec<(String, Vec<f32>, Vec<usize>, rmlx_core::Dtype)> = full
            .state()
            .into_iter()
            .map(|(k, v)| {
                let d = v.dtype();
                let data = v
                    .astype(rmlx_core::Dtype::F32)
                    .unwrap()
                    .to_vec::<f32>()
                    .unwrap();
                (k, data, v.shape().to_vec(), d)
            })
            .collect();
        let mut p_resumed = p_full.clone();
        run(full.as_mut(), &mut p_full, 1, 0.5 + 2.0 * 0.37);
        // Resume in a fresh optimizer.
        let mut fresh = build();
        let loaded: Vec<(String, Array)> = saved
            .iter()
            .map(|(k, v, s, d)| (k.clone(), a(v, s).astype(*d).unwrap()))
            .collect();
        fresh.set_state(&loaded).unwrap();
        assert_eq!(fresh.step(), 2, "{name}");
        run(fresh.as_mut(), &mut p_resumed, 1, 0.5 + 2.0 * 0.37);
        for ((k, x), (_, y)) in p_full.iter().zip(&p_resumed) {
            assert_eq!(bits(x), bits(y), "{name}: {k} differs after resume");
        }
        assert_eq!(
            full.learning_rate().to_bits(),
            fresh.learning_rate().to_bits()
        );
    }
}

#[test]
fn set_state_rejects_bad_states() {
    let mut opt = Adam::new(0.1);
    let e = opt.set_state(&named(&[("learning_rate", &a(&[0.1], &[]))]));
    assert!(e.unwrap_err().to_string().contains("no 'step'"));
    let e = opt.set_state(&named(&[("step", &a(&[1.0], &[]))]));
    assert!(e.is_err());
    let e = opt.set_state(&[
        ("step".to_string(), Array::scalar(1u64)),
        ("weird".to_string(), a(&[1.0], &[1])),
    ]);
    assert!(e.is_err());
}

#[test]
fn bad_gradients_are_errors_and_change_nothing() {
    let params = model();
    let mut opt = Adam::new(0.1);
    let g = named(&[("foo", &a(&[1.0], &[1]))]);
    let e = opt.apply_gradients(&g, &params).err().unwrap();
    assert!(matches!(e, rmlx_core::Error::Key(_)));
    assert!(e.to_string().contains("'foo'"), "{e}");
    let g = named(&[("layers.0.bias", &a(&[1.0, 2.0, 3.0], &[3]))]);
    let e = opt.apply_gradients(&g, &params).err().unwrap();
    assert!(matches!(e, rmlx_core::Error::Shape(_)), "{e}");
    let g = named(&[
        ("layers.0.bias", &a(&[1.0, 2.0], &[2])),
        ("layers.0.bias", &a(&[1.0, 2.0], &[2])),
    ]);
    let e = opt.apply_gradients(&g, &params).err().unwrap();
    assert!(e.to_string().contains("two gradients"), "{e}");
    assert_eq!(opt.step(), 0);
    assert_eq!(keys(&opt), ["step", "learning_rate"]);
}

#[test]
fn validation_messages() {
    let err = |r: rmlx_core::Result<Box<dyn Optimizer>>| match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    };
    let lr = || ("learning_rate", HParam::Num(0.1));
    assert_eq!(
        err(optimizer_from_name(
            "Adam",
            &[lr(), ("betas", HParam::List(vec![1.0, 0.999]))]
        )),
        "Adam beta1 should be in [0, 1), 1.0 was provided instead"
    );
    assert_eq!(
        err(optimizer_from_name(
            "AdamW",
            &[lr(), ("betas", HParam::List(vec![0.9, -0.5]))]
        )),
        "Adam beta2 should be in [0, 1), -0.5 was provided instead"
    );
    for name in ["RMSprop", "Adagrad", "AdaDelta"] {
        assert_eq!(
            err(optimizer_from_name(
                name,
                &[lr(), ("eps", HParam::Num(0.0))]
            )),
            format!("{name} epsilon should be >0, 0.0 was provided instead")
        );
        assert!(err(optimizer_from_name(
            name,
            &[lr(), ("eps", HParam::Num(-1e-8))]
        ))
        .contains("-1e-08"));
    }
    assert_eq!(
        err(optimizer_from_name(
            "RMSprop",
            &[lr(), ("alpha", HParam::Num(-0.1))]
        )),
        "RMSprop alpha should be >=0, -0.1 was provided instead"
    );
    assert_eq!(
        err(optimizer_from_name(
            "SGD",
            &[lr(), ("nesterov", HParam::Bool(true))]
        )),
        "Nesterov momentum requires a momentum and zero dampening."
    );
    assert_eq!(
        err(optimizer_from_name(
            "SGD",
            &[
                lr(),
                ("nesterov", HParam::Bool(true)),
                ("momentum", HParam::Num(0.9)),
                ("dampening", HParam::Num(0.1))
            ]
        )),
        "Nesterov momentum requires a momentum and zero dampening."
    );
    assert!(err(optimizer_from_name("Adam", &[])).contains("learning_rate"));
    assert!(err(optimizer_from_name("Nope", &[lr()])).contains("Nope"));
    assert!(err(optimizer_from_name(
        "Adafactor",
        &[("relative_step", HParam::Bool(false))]
    ))
    .contains("learning_rate"));
}

#[test]
fn multi_optimizer_splits_by_filter() {
    // MLX test_multi_optimizer: weights (ndim > 1) to Adam, biases to SGD.
    let mut params = model();
    let mut opt = MultiOptimizer::new(
        vec![Box::new(Adam::new(0.01)), Box::new(SGD::new(0.1))],
        vec![Box::new(|_p: &str, g: &Array| g.ndim() > 1)],
    )
    .unwrap();
    let names = [
        "layers.0.weight",
        "layers.0.bias",
        "layers.2.weight",
        "layers.2.bias",
    ];
    let g = grads_for(&params, &names, 1.0);
    let up = opt.apply_gradients(&g, &params).unwrap();
    let order: Vec<&str> = up.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(order, names);
    // SGD on biases: p - 0.1 g.
    let b = params[1].1.to_vec::<f32>().unwrap();
    let gb = g[1].1.to_vec::<f32>().unwrap();
    let got = up[1].1.to_vec::<f32>().unwrap();
    for i in 0..2 {
        assert!((got[i] - (b[i] - 0.1 * gb[i])).abs() < 1e-7);
    }
    merge(&mut params, up);
    let k = keys(&opt);
    assert!(k.contains(&"states.0.layers.0.weight.m".to_string()));
    assert!(k.contains(&"states.1.layers.2.bias.v".to_string()));
    assert!(!k
        .iter()
        .any(|k| k.starts_with("states.0.") && k.contains("bias")));
    assert!(!k
        .iter()
        .any(|k| k.starts_with("states.1.") && k.contains("weight")));
    // State round trip.
    let st = opt.state();
    let mut other = MultiOptimizer::new(
        vec![Box::new(Adam::new(0.01)), Box::new(SGD::new(0.1))],
        vec![Box::new(|_p: &str, g: &Array| g.ndim() > 1)],
    )
    .unwrap();
    other.set_state(&st).unwrap();
    assert_eq!(other.step(), 1);
    let g = grads_for(&params, &names, 0.3);
    let x = opt.apply_gradients(&g, &params).unwrap();
    let y = other.apply_gradients(&g, &params).unwrap();
    for ((k, p), (_, q)) in x.iter().zip(&y) {
        assert_eq!(bits(p), bits(q), "{k}");
    }
    // Filter count.
    let e = MultiOptimizer::new(
        vec![Box::new(SGD::new(0.1))],
        vec![Box::new(|_: &str, _: &Array| true)],
    );
    assert_eq!(
        e.err().unwrap().to_string(),
        "Given 1 filters but 0 needed."
    );
    let e = MultiOptimizer::new(
        vec![Box::new(SGD::new(0.1)), Box::new(SGD::new(0.1))],
        vec![],
    );
    assert_eq!(
        e.err().unwrap().to_string(),
        "Given 0 filters but 1 needed."
    );
    let e = other.set_state(&named(&[("states.7.step", &a(&[1.0], &[]))]));
    assert_eq!(e.unwrap_err().to_string(), "Invalid state provided");
}

#[test]
fn clip_grad_norm_behaviour() {
    let g = named(&[("a", &a(&[3.0, 0.0], &[2])), ("b", &a(&[4.0], &[1]))]);
    // Below the maximum: unchanged, bit for bit.
    let (c, n) = clip_grad_norm(&g, 10.0).unwrap();
    assert_eq!(n.item::<f32>().unwrap(), 5.0);
    for ((_, x), (_, y)) in c.iter().zip(&g) {
        assert_eq!(bits(x), bits(y));
    }
    // Above: rescaled by max/(norm + 1e-6); the new norm equals the maximum.
    let (c, n) = clip_grad_norm(&g, 1.0).unwrap();
    assert_eq!(n.item::<f32>().unwrap(), 5.0);
    let s = 1.0 / (5.0 + 1e-6);
    assert!((c[0].1.to_vec::<f32>().unwrap()[0] as f64 - 3.0 * s).abs() < 1e-7);
    assert!((c[1].1.to_vec::<f32>().unwrap()[0] as f64 - 4.0 * s).abs() < 1e-7);
    let (_, n2) = clip_grad_norm(&c, 100.0).unwrap();
    assert!((n2.item::<f32>().unwrap() - 1.0).abs() < 1e-6);
    // fp16 gradients stay fp16; the norm is computed in float32.
    let h: Vec<(String, Array)> = g
        .iter()
        .map(|(k, v)| (k.clone(), v.astype(rmlx_core::Dtype::F16).unwrap()))
        .collect();
    let (c, n) = clip_grad_norm(&h, 1.0).unwrap();
    assert_eq!(c[0].1.dtype(), rmlx_core::Dtype::F16);
    assert_eq!(n.dtype(), rmlx_core::Dtype::F32);
    // Negative maximum.
    let e = clip_grad_norm(&g, -1.0).err().unwrap();
    assert!(matches!(e, rmlx_core::Error::Value(_)));
    // No gradients at all.
    let (c, n) = clip_grad_norm(&[], 1.0).unwrap();
    assert!(c.is_empty());
    assert_eq!(n.item::<f32>().unwrap(), 0.0);
}

fn tmp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "rmlx_optim_{}_{name}.safetensors",
        std::process::id()
    ))
}

#[test]
fn save_load_file_resumes_bit_exact() {
    for name in ["Adam", "SGD", "Adafactor", "Muon", "Lion"] {
        let args = [
            (
                "learning_rate",
                HParam::Schedule(linear_schedule(0.0, 0.1, 3).unwrap()),
            ),
            ("momentum", HParam::Num(0.9)),
        ];
        let args: Vec<(&str, HParam)> = args
            .into_iter()
            .filter(|(k, _)| *k == "learning_rate" || name == "SGD" || name == "Muon")
            .collect();
        let build = || optimizer_from_name(name, &args).unwrap();
        // fp16 parameters: the state keeps fp16 through the file.
        let mut p_full: Vec<(String, Array)> = model()
            .into_iter()
            .map(|(k, v)| (k, v.astype(rmlx_core::Dtype::F16).unwrap()))
            .collect();
        let mut full = build();
        run(full.as_mut(), &mut p_full, 2, 0.25);
        let file = tmp(name);
        save_state(full.as_ref(), &file).unwrap();
        let mut p_resumed = p_full.clone();
        run(full.as_mut(), &mut p_full, 2, 0.25 + 2.0 * 0.37);
        let mut fresh = build();
        load_state(fresh.as_mut(), &file).unwrap();
        std::fs::remove_file(&file).ok();
        let k1: Vec<String> = full.state().into_iter().map(|(k, _)| k).collect();
        let k2: Vec<String> = fresh.state().into_iter().map(|(k, _)| k).collect();
        assert_eq!(k1, k2, "{name}: key order survives the file");
        run(fresh.as_mut(), &mut p_resumed, 2, 0.25 + 2.0 * 0.37);
        for ((k, x), (_, y)) in p_full.iter().zip(&p_resumed) {
            assert_eq!(x.dtype(), rmlx_core::Dtype::F16);
            let bx = x.astype(rmlx_core::Dtype::F32).unwrap();
            let by = y.astype(rmlx_core::Dtype::F32).unwrap();
            assert_eq!(
                bits(&bx),
                bits(&by),
                "{name}: {k} differs after file resume"
            );
        }
        assert_eq!(fresh.step(), 4);
    }
}

#[test]
fn load_state_bad_files() {
    let mut opt = Adam::new(0.1);
    let missing = tmp("does_not_exist");
    assert!(matches!(
        load_state(&mut opt, &missing).err().unwrap(),
        rmlx_core::Error::Io { .. }
    ));
    let junk = tmp("junk");
    std::fs::write(&junk, b"not a safetensors file").unwrap();
    let e = load_state(&mut opt, &junk).err().unwrap();
    std::fs::remove_file(&junk).ok();
    assert!(matches!(e, rmlx_core::Error::Format { .. }), "{e}");
}

/// `save_state` writes a temporary file and renames it: a save that fails leaves the earlier
/// file whole and no temporary file behind.
#[test]
fn save_state_is_atomic() {
    let dir = std::env::temp_dir().join(format!("rmlx_state_atomic_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("opt.safetensors");
    let mut opt = Adam::new(0.01);
    let params = model();
    opt.apply_gradients(&params, &params).unwrap();
    save_state(&opt, &file).unwrap();
    // a save replaces the file by renaming a new one over it, never writes into it: the old
    // file stays whole until the new one is complete (on Unix, a new inode)
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let ino = std::fs::metadata(&file).unwrap().ino();
        save_state(&opt, &file).unwrap();
        assert_ne!(
            std::fs::metadata(&file).unwrap().ino(),
            ino,
            "saved in place"
        );
    }
    let before = std::fs::read(&file).unwrap();
    // a destination that cannot be replaced (a folder): the save fails, nothing is left over
    let sub = dir.join("taken");
    std::fs::create_dir_all(&sub).unwrap();
    assert!(save_state(&opt, &sub).is_err());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    assert_eq!(std::fs::read(&file).unwrap(), before);
    let mut resumed = Adam::new(0.01);
    load_state(&mut resumed, &file).unwrap();
    assert_eq!(resumed.step(), opt.step());
    assert_eq!(keys(&resumed), keys(&opt));
    std::fs::remove_dir_all(&dir).ok();
}
