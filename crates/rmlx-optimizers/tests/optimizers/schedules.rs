//! Schedules against MLX_SEMANTICS §3.5's verified values and MLX's docstring examples, and how
//! an optimizer evaluates them (item 81).

use rmlx_optimizers::*;

fn close(got: f32, want: f64, what: &str) {
    assert!(
        (got as f64 - want).abs() <= 1e-6 + 1e-6 * want.abs(),
        "{what}: got {got}, want {want}"
    );
}

#[test]
fn verified_values() {
    let c = cosine_decay(0.1, 10, 0.0).unwrap();
    for (s, v) in [(0, 0.1), (5, 0.05), (10, 0.0), (20, 0.0)] {
        close(c.at(s), v, &format!("cosine_decay(0.1, 10) at {s}"));
    }
    let l = linear_schedule(0.0, 1.0, 10).unwrap();
    for (s, v) in [(0, 0.0), (5, 0.5), (10, 1.0), (20, 1.0)] {
        close(l.at(s), v, &format!("linear_schedule(0, 1, 10) at {s}"));
    }
    let d = step_decay(1.0, 0.5, 2).unwrap();
    for (s, v) in [(0, 1.0), (1, 1.0), (2, 0.5), (3, 0.5), (4, 0.25)] {
        close(d.at(s), v, &format!("step_decay(1, 0.5, 2) at {s}"));
    }
    let j = join_schedules(
        vec![
            linear_schedule(0.0, 1.0, 2).unwrap(),
            cosine_decay(1.0, 4, 0.0).unwrap(),
        ],
        vec![2],
    )
    .unwrap();
    let want = [0.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 0.0];
    for (s, &v) in want.iter().enumerate() {
        let got = j.at(s as u64) as f64;
        assert!((got - v).abs() < 1e-4, "join at {s}: got {got}, want {v}");
    }
}

#[test]
fn cosine_decay_end_value() {
    let c = cosine_decay(0.1, 10, 0.01).unwrap();
    close(c.at(0), 0.1, "start");
    close(c.at(5), 0.055, "middle");
    close(c.at(10), 0.01, "end");
    close(c.at(100), 0.01, "after");
}

#[test]
fn exponential_decay_values() {
    let e = exponential_decay(0.1, 0.9);
    for s in 0..20u64 {
        close(e.at(s), 0.1 * 0.9f64.powi(s as i32), &format!("step {s}"));
    }
}

fn run_updates(opt: &mut dyn Optimizer, n: usize) {
    for _ in 0..n {
        opt.apply_gradients(&[], &[]).unwrap();
    }
}

#[test]
fn mlx_docstring_examples() {
    // optimizer.update({}, {}) n times, then optimizer.learning_rate.
    let mut o = SGD::new(exponential_decay(0.1, 0.9));
    close(o.learning_rate(), 0.1, "exponential before");
    run_updates(&mut o, 5);
    close(o.learning_rate(), 0.06561, "exponential after 5");

    let mut o = SGD::new(step_decay(0.1, 0.9, 10).unwrap());
    run_updates(&mut o, 21);
    close(o.learning_rate(), 0.081, "step_decay after 21");

    let mut o = SGD::new(cosine_decay(0.1, 1000, 0.0).unwrap());
    run_updates(&mut o, 5);
    close(o.learning_rate(), 0.0999961, "cosine after 5");

    let warmup = linear_schedule(0.0, 0.1, 10).unwrap();
    let cosine = cosine_decay(0.1, 200, 0.0).unwrap();
    let mut o = Adam::new(join_schedules(vec![warmup, cosine], vec![10]).unwrap());
    close(o.learning_rate(), 0.0, "join before");
    run_updates(&mut o, 12);
    close(o.learning_rate(), 0.0999938, "join after 12");

    let mut o = Adam::new(linear_schedule(0.0, 0.1, 100).unwrap());
    run_updates(&mut o, 101);
    close(o.learning_rate(), 0.1, "linear after 101");
}

#[test]
fn schedule_uses_step_before_increment() {
    // MLX_SEMANTICS 81: after 3 updates with cosine_decay(0.1, 10), lr = sched(2), step = 3.
    let mut o = Adam::new(cosine_decay(0.1, 10, 0.0).unwrap());
    run_updates(&mut o, 3);
    assert_eq!(o.step(), 3);
    close(o.learning_rate(), 0.0904508, "lr after 3");
}

#[test]
fn scheduled_lr_drives_the_update() {
    // step_decay(1, 0.5, 1): updates use lr 1, 0.5, 0.25 with SGD on a constant gradient 1.
    let mut o = SGD::new(step_decay(1.0, 0.5, 1).unwrap());
    let mut p = vec![(
        "w".to_string(),
        rmlx_core::Array::from_slice(&[0.0f32], &[1]).unwrap(),
    )];
    let g = vec![(
        "w".to_string(),
        rmlx_core::Array::from_slice(&[1.0f32], &[1]).unwrap(),
    )];
    let mut seen = Vec::new();
    for _ in 0..3 {
        p = o.apply_gradients(&g, &p).unwrap();
        seen.push(p[0].1.item::<f32>().unwrap());
    }
    assert_eq!(seen, vec![-1.0, -1.5, -1.75]);
}

#[test]
fn custom_schedule_and_set_learning_rate() {
    let mut o = SGD::new(Schedule::custom(|s| 1.0 / (s as f32 + 1.0)));
    run_updates(&mut o, 4);
    close(o.learning_rate(), 0.25, "custom at 3");
    o.set_learning_rate(LearningRate::Constant(0.5));
    run_updates(&mut o, 1);
    close(o.learning_rate(), 0.5, "constant after set");
}

#[test]
fn bad_arguments() {
    let msg = |r: rmlx_core::Result<Schedule>| r.unwrap_err().to_string();
    assert_eq!(
        msg(step_decay(1.0, 0.5, 0)),
        "step_size must be greater than 0, but got 0."
    );
    assert_eq!(
        msg(cosine_decay(1.0, 0, 0.0)),
        "decay_steps must be greater than 0, but got 0."
    );
    assert_eq!(
        msg(linear_schedule(0.0, 1.0, -3)),
        "steps must be greater than 0, but got -3."
    );
    let c = || cosine_decay(1.0, 4, 0.0).unwrap();
    assert_eq!(
        msg(join_schedules(vec![c(), c()], vec![])),
        "Received 0 boundaries but expected 1."
    );
    assert_eq!(
        msg(join_schedules(vec![], vec![])),
        "Must provide at least 1 schedule to join."
    );
    assert!(Schedule::from_name("nope", &[]).is_err());
    assert!(Schedule::from_name("cosine_decay", &[("init", 0.1)]).is_err());
    assert!(Schedule::from_name("cosine_decay", &[("init", 0.1), ("decay_steps", 2.5)]).is_err());
}

#[test]
fn from_name_matches_constructors() {
    let a = Schedule::from_name(
        "cosine_decay",
        &[("init", 0.1), ("decay_steps", 10.0), ("end", 0.01)],
    )
    .unwrap();
    let b = cosine_decay(0.1, 10, 0.01).unwrap();
    let l = Schedule::from_name(
        "linear_schedule",
        &[("init", 0.0), ("end", 1.0), ("steps", 4.0)],
    )
    .unwrap();
    for s in 0..12 {
        assert_eq!(a.at(s).to_bits(), b.at(s).to_bits());
        close(l.at(s), (s.min(4) as f64) / 4.0, "linear");
    }
}
