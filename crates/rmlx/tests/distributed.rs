//! Two processes over MPI. Built with `--features mpi`, the test `two_processes` starts
//! `mpirun -np 2` on this test binary, whose copies then run `worker` (selected by the
//! `RMLX_DIST_WORKER` variable) and check every collective against a single-process reference.
//! Without the feature it only reports that it did nothing.

use rmlx::core::{self as mx, Array, Dtype};
use rmlx::distributed as dist;
use rmlx::nn::{self, Forward, Keys, Linear, ModuleExt};
use std::process::Command;

#[test]
fn two_processes() {
    if std::env::var("RMLX_DIST_WORKER").is_ok() {
        worker();
        return;
    }
    if !dist::is_available() {
        println!("built without the `mpi` feature: nothing to run (cargo test -p rmlx --features mpi --test distributed)");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("mpirun")
        .args([
            "--allow-run-as-root",
            "--oversubscribe",
            "-np",
            "2",
            "-x",
            "RMLX_DIST_WORKER=1",
        ])
        .arg(&exe)
        .args([
            "two_processes",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .expect("mpirun (OpenMPI's openmpi-bin) must be on PATH when rmlx is built with `mpi`");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "mpirun failed:\n{text}");
    for r in 0..2 {
        assert!(
            text.contains(&format!("rank {r} of 2: all checks passed")),
            "{text}"
        );
    }
}

fn f32s(a: &Array) -> Vec<f32> {
    a.astype(Dtype::F32).unwrap().to_vec::<f32>().unwrap()
}

fn worker() {
    let g = dist::init().unwrap();
    let (r, n) = (g.rank(), g.size());
    assert_eq!(n, 2);
    let per_rank = |k: usize| -> Vec<f32> {
        let k = k as f32 + 1.0;
        vec![k, 10.0 * k, 0.1 * k, -3.5 * k]
    };
    let x = Array::from_slice(&per_rank(r), &[2, 2]).unwrap();

    // all_sum / all_max / all_min: bit for bit the sum of the two ranks' arrays
    let want: Vec<f32> = per_rank(0)
        .iter()
        .zip(per_rank(1))
        .map(|(a, b)| a + b)
        .collect();
    assert_eq!(f32s(&dist::all_sum(&x, None).unwrap()), want);
    assert_eq!(f32s(&dist::all_max(&x, None).unwrap()), {
        per_rank(0)
            .iter()
            .zip(per_rank(1))
            .map(|(a, b)| a.max(b))
            .collect::<Vec<_>>()
    });
    assert_eq!(f32s(&dist::all_min(&x, None).unwrap()), {
        per_rank(0)
            .iter()
            .zip(per_rank(1))
            .map(|(a, b)| a.min(b))
            .collect::<Vec<_>>()
    });
    for dt in [Dtype::F16, Dtype::Bf16, Dtype::I32, Dtype::F64] {
        let s = dist::all_sum(&x.astype(dt).unwrap(), None).unwrap();
        let local: Vec<f32> = {
            let a = f32s(
                &Array::from_slice(&per_rank(0), &[4])
                    .unwrap()
                    .astype(dt)
                    .unwrap(),
            );
            let b = f32s(
                &Array::from_slice(&per_rank(1), &[4])
                    .unwrap()
                    .astype(dt)
                    .unwrap(),
            );
            let sum = Array::from_slice(
                &a.iter().zip(&b).map(|(a, b)| a + b).collect::<Vec<_>>(),
                &[2, 2],
            )
            .unwrap();
            f32s(&sum.astype(dt).unwrap())
        };
        assert_eq!(s.dtype(), dt);
        assert_eq!(f32s(&s), local, "{dt}");
    }

    // all_gather: rank order along axis 0; a scalar gathers into one row per rank
    let gathered = dist::all_gather(&x, None).unwrap();
    assert_eq!(gathered.shape(), &[4, 2]);
    assert_eq!(f32s(&gathered), [per_rank(0), per_rank(1)].concat());
    let s = dist::all_gather(&Array::scalar_as(r as f64, Dtype::I32), None).unwrap();
    assert_eq!(s.to_vec::<i32>().unwrap(), vec![0, 1]);

    // send / recv / recv_like
    if r == 0 {
        dist::send(&x, 1, None).unwrap().eval().unwrap();
        let back = dist::recv_like(&x, 1, None).unwrap();
        assert_eq!(f32s(&back), per_rank(1));
    } else {
        let got = dist::recv(&[2, 2], Dtype::F32, 0, None).unwrap();
        assert_eq!(f32s(&got), per_rank(0));
        dist::send(&x, 0, None).unwrap().eval().unwrap();
    }

    // mismatched shapes: an error on every rank, and the group still works afterwards
    let odd = mx::zeros(&[r + 1], Dtype::F32).unwrap();
    let e = dist::all_sum(&odd, None)
        .unwrap()
        .eval()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("disagree") && e.contains("rank 1 has float32 [2]"),
        "{e}"
    );
    let e = dist::all_gather(&odd, None)
        .unwrap()
        .eval()
        .unwrap_err()
        .to_string();
    assert!(e.contains("disagree"), "{e}");
    if r == 0 {
        dist::send(&odd, 1, None).unwrap().eval().unwrap();
    } else {
        let e = dist::recv(&[3], Dtype::F32, 0, None)
            .unwrap()
            .eval()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("expected float32 [3] from rank 0, which sent float32 [1]"),
            "{e}"
        );
    }
    assert_eq!(f32s(&dist::all_sum(&x, None).unwrap()), want);

    // vjp: all_sum passes the cotangent through; all_gather's is this rank's rows
    let w = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    let gx = mx::grad(
        |p: &[Array]| Ok(vec![(&dist::all_sum(&p[0], None)? * &w)?.sum(None, false)?]),
        &[0],
    )(std::slice::from_ref(&x))
    .unwrap();
    assert_eq!(f32s(&gx[0]), vec![1.0, 2.0, 3.0, 4.0]);
    let c = mx::arange(0.0, 8.0, 1.0, Dtype::F32)
        .unwrap()
        .reshape([4, 2])
        .unwrap();
    let gx = mx::grad(
        |p: &[Array]| {
            Ok(vec![
                (&dist::all_gather(&p[0], None)? * &c)?.sum(None, false)?
            ])
        },
        &[0],
    )(std::slice::from_ref(&x))
    .unwrap();
    let start = 4.0 * r as f32;
    assert_eq!(
        f32s(&gx[0]),
        (0..4).map(|i| start + i as f32).collect::<Vec<_>>()
    );

    // data parallel: each rank takes half the batch; the averaged gradients equal the gradients
    // of the whole batch in one process
    mx::random::seed(7);
    let data_x = mx::random::normal(&[8, 4], None).unwrap();
    let data_y = mx::random::normal(&[8, 3], None).unwrap();
    let mut model = Linear::new(4, 3, true).unwrap();
    let loss = |m: &Linear, x: &Array, y: &Array| -> mx::Result<Vec<Array>> {
        Ok(vec![nn::losses::mse_loss(
            &m.forward(x)?,
            y,
            nn::losses::Reduction::Mean,
        )?])
    };
    let (_, full) = nn::value_and_grad(&mut model, |m: &Linear| loss(m, &data_x, &data_y)).unwrap();
    let rows = mx::arange((4 * r) as f64, (4 * r + 4) as f64, 1.0, Dtype::I32).unwrap();
    let (lx, ly) = (
        data_x.take(&rows, Some(0)).unwrap(),
        data_y.take(&rows, Some(0)).unwrap(),
    );
    let (_, local) = nn::value_and_grad(&mut model, |m: &Linear| loss(m, &lx, &ly)).unwrap();
    for size in [nn::ALL_REDUCE_SIZE, 0] {
        let before = dist::traffic();
        let avg = nn::average_gradients(&local, None, size).unwrap();
        for ((k, a), (_, b)) in avg.flatten().into_iter().zip(full.flatten()) {
            let d = f32s(a)
                .iter()
                .zip(f32s(b))
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f32::max);
            assert!(
                d < 1e-5,
                "{k}: averaged gradient differs from the whole batch's by {d}"
            );
        }
        let sent = dist::traffic();
        let ops = sent.ops - before.ops;
        assert_eq!(sent.bytes - before.bytes, (12 + 3) * 4);
        assert_eq!(ops, if size == 0 { 2 } else { 1 }, "one message per bucket");
    }
    // only the trainable gradients travel
    model.freeze(Keys::All).unwrap();
    model.unfreeze("bias").unwrap();
    let (_, bias_only) = nn::value_and_grad(&mut model, |m: &Linear| loss(m, &lx, &ly)).unwrap();
    let before = dist::traffic();
    let avg = nn::average_gradients(&bias_only, None, nn::ALL_REDUCE_SIZE).unwrap();
    mx::eval(&avg.flatten().iter().map(|(_, a)| *a).collect::<Vec<_>>()).unwrap();
    assert_eq!(dist::traffic().bytes - before.bytes, 3 * 4);

    // split: one group per rank
    let alone = g.split(r as u32, None).unwrap();
    assert_eq!((alone.rank(), alone.size()), (0, 1));
    let pair = g.split(0, Some(1 - r)).unwrap();
    assert_eq!((pair.rank(), pair.size()), (1 - r, 2));
    assert_eq!(f32s(&dist::all_sum(&x, Some(&pair)).unwrap()), want);

    // tensor parallel: a whole Linear pair (same seed on both ranks) against its sharded form
    mx::random::seed(11);
    let l1 = Linear::new(4, 6, true).unwrap();
    let l2 = Linear::new(6, 3, true).unwrap();
    let xin = mx::random::normal(&[5, 4], None).unwrap();
    let whole = |p: &[Array]| -> mx::Result<Vec<Array>> {
        Ok(vec![l2
            .forward(&l1.forward(&p[0])?.maximum(&Array::scalar(0.0f32))?)?
            .sum(None, false)?])
    };
    let s1 = nn::AllToShardedLinear::from_linear(&l1, None).unwrap();
    let s2 = nn::ShardedToAllLinear::from_linear(&l2, None).unwrap();
    assert_eq!(s1.weight.shape(), &[3, 4]);
    assert_eq!(s2.weight.shape(), &[3, 3]);
    let sharded = |p: &[Array]| -> mx::Result<Vec<Array>> {
        Ok(vec![s2
            .forward(&s1.forward(&p[0])?.maximum(&Array::scalar(0.0f32))?)?
            .sum(None, false)?])
    };
    let (w, ws) = (
        whole(std::slice::from_ref(&xin)).unwrap(),
        sharded(std::slice::from_ref(&xin)).unwrap(),
    );
    assert!((f32s(&w[0])[0] - f32s(&ws[0])[0]).abs() < 1e-4);
    // the input's gradient: sum_gradients makes every rank see the whole one
    let gw = mx::grad(whole, &[0])(std::slice::from_ref(&xin)).unwrap();
    let gs = mx::grad(sharded, &[0])(std::slice::from_ref(&xin)).unwrap();
    for (a, b) in f32s(&gw[0]).iter().zip(f32s(&gs[0])) {
        assert!((a - b).abs() < 1e-4, "sharded input gradient {b} vs {a}");
    }
    // sum_scatter: this rank's half of the sum
    let rows = mx::arange(0.0, 8.0, 1.0, Dtype::F32)
        .unwrap()
        .reshape([4, 2])
        .unwrap();
    let part = dist::sum_scatter(&(&rows * &Array::scalar((r + 1) as f32)).unwrap(), None).unwrap();
    let want: Vec<f32> = (4 * r..4 * r + 4).map(|i| 3.0 * i as f32).collect();
    assert_eq!(f32s(&part), want);
    // clip_grad_norm_sharded: the norm over both ranks' shards
    let shard = rmlx::core::tree::Tree::Leaf(
        Array::from_slice(&[3.0f32 * (1 - r) as f32, 4.0 * r as f32], &[2]).unwrap(),
    );
    let (_, norm) = nn::clip_grad_norm_sharded(&shard, 1.0, None).unwrap();
    assert!((f32s(&norm)[0] - 5.0).abs() < 1e-5);

    // the quantized pair against the unsharded QuantizedLinear
    let q = nn::QuantizedLinear::from_linear(&Linear::new(128, 8, true).unwrap(), 64, 4).unwrap();
    let xq = mx::random::normal(&[2, 128], None).unwrap();
    let want = f32s(&q.forward(&xq).unwrap().t().unwrap());
    let qa = nn::QuantizedAllToShardedLinear::from_quantized_linear(&q, None).unwrap();
    let got = dist::all_gather(&qa.forward(&xq).unwrap().t().unwrap(), None).unwrap();
    for (a, b) in f32s(&got).iter().zip(&want) {
        assert!((a - b).abs() < 1e-4, "quantized all-to-sharded {a} vs {b}");
    }
    let qs = nn::QuantizedShardedToAllLinear::from_quantized_linear(&q, None).unwrap();
    let cols = xq.split(2usize, -1).unwrap();
    let got = f32s(&qs.forward(&cols[r]).unwrap().t().unwrap());
    for (a, b) in got.iter().zip(&want) {
        assert!((a - b).abs() < 1e-4, "quantized sharded-to-all {a} vs {b}");
    }

    // fully_shard: each rank holds half of every parameter; the output and the shards' gradients
    // equal the whole model's (the mean over the ranks' batches)
    mx::random::seed(11);
    let base = Linear::new(4, 6, true).unwrap();
    let (fx, fy) = (
        mx::random::normal(&[8, 4], None).unwrap(),
        mx::random::normal(&[8, 6], None).unwrap(),
    );
    let mut whole = base.clone();
    let (_, full) = nn::value_and_grad(&mut whole, |m: &Linear| loss(m, &fx, &fy)).unwrap();
    let mine = mx::arange((4 * r) as f64, (4 * r + 4) as f64, 1.0, Dtype::I32).unwrap();
    let (lx, ly) = (
        fx.take(&mine, Some(0)).unwrap(),
        fy.take(&mine, Some(0)).unwrap(),
    );
    let mut fsdp = nn::fully_shard(base.clone(), None, None).unwrap();
    assert_eq!(fsdp.num_sharded_params(), 2);
    assert_eq!(fsdp.module.weight.shape(), &[3, 4]);
    assert_eq!(
        fsdp.to_string().lines().next().unwrap(),
        "FullyShardedModule(num_sharded_params=2"
    );
    let want = f32s(&base.forward(&lx).unwrap());
    for (a, b) in f32s(&fsdp.forward(&lx).unwrap()).iter().zip(&want) {
        assert!((a - b).abs() < 1e-5, "fully sharded output {a} vs {b}");
    }
    let floss = |m: &nn::FullyShardedModule<Linear>| -> mx::Result<Vec<Array>> {
        Ok(vec![nn::losses::mse_loss(
            &m.forward(&lx)?,
            &ly,
            nn::losses::Reduction::Mean,
        )?])
    };
    let (_, grads) = nn::value_and_grad(&mut fsdp, floss).unwrap();
    let grads = grads.flatten();
    assert_eq!(grads.len(), 2);
    for (k, g) in grads {
        let name = k.strip_prefix("module.").unwrap();
        let whole_grad = full
            .flatten()
            .into_iter()
            .find(|(p, _)| p == name)
            .unwrap()
            .1;
        let mine = whole_grad.split(2usize, 0).unwrap().swap_remove(r);
        assert_eq!(g.shape(), mine.shape(), "{k}");
        for (a, b) in f32s(g).iter().zip(f32s(&mine)) {
            assert!((a - b).abs() < 1e-5, "{k}: sharded gradient {a} vs {b}");
        }
    }
    let half = nn::fully_shard(base.clone(), None, Some(Dtype::Bf16)).unwrap();
    assert_eq!(half.gathered().unwrap().weight.dtype(), Dtype::Bf16);
    let y = half.forward(&lx).unwrap();
    for (a, b) in f32s(&y).iter().zip(&want) {
        assert!((a - b).abs() < 5e-2, "bfloat16 compute {a} vs {b}");
    }
    let e = match nn::fully_shard(Linear::new(4, 3, true).unwrap(), None, None) {
        Ok(_) => panic!("a 3-row weight cannot be halved"),
        Err(e) => e,
    };
    assert!(
        e.to_string().contains("axis 0 must be divisible by 2"),
        "{e}"
    );

    println!("rank {r} of {n}: all checks passed");
}
