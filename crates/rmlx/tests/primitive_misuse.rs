//! Primitives handed inputs their parameters do not fit (issue 20).
//!
//! `Primitive` is a public trait and every primitive a node holds is reachable through
//! `Array::primitive`, so a caller can run its `eval_cpu`, `vjp`, `jvp`, `vmap` and
//! `output_shapes` on any inputs, or build a node with `Array::from_primitive` around inputs the
//! op that made the primitive never checked. This test collects the primitives of a large
//! forward and backward graph (every op family, their gradients, a compiled function) and runs
//! each of those entry points on a panel of misfit inputs: none, too few, too many, 0-d, the
//! wrong rank, the wrong dtype, size-0 axes. Every call must come back as a value or an `Err`;
//! none may panic.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use rmlx::core::buffer::Data;
use rmlx::core::primitives::Primitive;
use rmlx::core::{self as mx, Array, Dtype, SliceArg};

/// Arrays whose graphs hold (nearly) every primitive of the core.
fn graphs() -> mx::Result<Vec<Array>> {
    let key = mx::random::key(7);
    let x = mx::random::normal(&[2, 3, 4], Some(&key))?;
    let w = mx::random::uniform(&[4, 4], Some(&key))?;
    let sq = mx::random::normal(&[4, 4], Some(&key))?;
    let spd = (&sq.matmul(&mx::transpose(&sq, None)?)? + &mx::eye(4, None, 0, Dtype::F32)?)?;
    let idx = Array::from_slice(&[0i32, 2, 1], &[3])?;
    let q = mx::random::normal(&[1, 2, 3, 4], Some(&key))?;
    let mut out = vec![
        mx::random::randint(0, 9, &[5], Dtype::I32, Some(&key))?,
        mx::random::bernoulli(0.3, Some(&[5]), Some(&key))?,
        mx::random::truncated_normal(-1.0, 1.0, Some(&[5]), Dtype::F32, Some(&key))?,
        mx::random::split(&key, 3)?,
    ];
    let (qr_q, qr_r) = mx::linalg::qr(&sq)?;
    let (eh_w, eh_v) = mx::linalg::eigh(&spd, "L")?;
    let (e_w, e_v) = mx::linalg::eig(&sq)?;
    let (lu_p, lu_l, lu_u) = mx::linalg::lu(&sq)?;
    out.extend([qr_q, qr_r, eh_w, eh_v, e_w, e_v, lu_p, lu_l, lu_u]);
    out.extend(mx::linalg::svd(&sq, true)?);
    out.push(mx::linalg::inv(&sq)?);
    out.push(mx::linalg::cholesky(&spd, false)?);
    let (wq, scales, biases) = mx::quantize(&mx::random::normal(&[8, 64], Some(&key))?, 64, 4)?;
    let xq = mx::random::normal(&[2, 64], Some(&key))?;
    out.push(mx::quantized_matmul(
        &xq, &wq, &scales, &biases, true, 64, 4,
    )?);
    out.push(mx::dequantize(&wq, &scales, &biases, 64, 4)?);
    let (dq, dr) = mx::divmod(&x, &(&x + 3.0)?)?;
    out.extend([dq, dr]);
    out.extend(mx::split(&x, 2, -1)?);
    out.push(mx::fft::rfft(&x, None, -1, Default::default())?);
    out.push(mx::fft::irfft(
        &mx::fft::fft(&x.astype(Dtype::C64)?, None, 1, Default::default())?,
        None,
        -1,
        Default::default(),
    )?);
    out.push(mx::sort(&x, -1)?);
    out.push(mx::argsort(&x, 1)?);
    out.push(mx::topk(&x, 2, -1)?);
    out.push(mx::partition(&x, 1, -1)?);
    out.push(mx::argmax(&x, vec![1isize], false)?);
    out.push(mx::cummax(&x, Some(1), false, true)?);
    out.push(mx::take(&x, &idx, Some(1))?);
    out.push(mx::slice(&x, &[SliceArg::new(Some(0), Some(2), 1)])?);
    out.push(mx::conv1d(
        &mx::transpose(&x, None)?.reshape([4, 3, 2])?,
        &mx::ones(&[5, 2, 2], Dtype::F32)?,
        1,
        0,
        1,
        1,
    )?);
    out.push(mx::hadamard_transform(&x, None)?);

    // The loss touches most differentiable ops, so its vjp graph holds the backward primitives.
    let loss = |p: &[Array]| -> mx::Result<Vec<Array>> {
        let (x, w, q) = (&p[0], &p[1], &p[2]);
        let h = mx::fast::layer_norm(
            &x.matmul(w)?,
            Some(&w.sum(vec![0isize], false)?),
            None,
            1e-5,
        )?;
        let h = mx::fast::rms_norm(&h.exp()?.log1p()?, None, 1e-5)?;
        let h =
            (&mx::softmax(&h, vec![-1isize], false)? * &mx::logsumexp(&h, vec![-1isize], true)?)?;
        let h = (&mx::cumsum(&h, Some(1), false, true)?
            + &mx::take_along_axis(&h, &mx::argsort(&h, -1)?, -1)?)?;
        let h = mx::concatenate(&[h.clone(), mx::maximum(&h, &h.sin()?)?], 0)?;
        let h = mx::pad(&h, &[(0, 0), (1, 1), (0, 0)], 0.0)?;
        let r = mx::fast::rope(q, 4, false, 10000.0, 1.0, 0)?;
        let a = mx::fast::scaled_dot_product_attention(&r, q, q, 0.5, mx::fast::SdpaMask::Causal)?;
        let s = mx::where_(&mx::greater(&h, &Array::scalar(0.0f32))?, &h, &h.square()?)?;
        Ok(vec![
            (&(&s.sum(None, false)? + &a.sum(None, false)?)? + &mx::max(&h, None, false)?)?,
        ])
    };
    let (_, grads) = mx::vjp(
        loss,
        &[x.clone(), w.clone(), q.clone()],
        &[Array::scalar(1.0f32)],
    )?;
    out.extend(grads);
    let compiled = mx::compile(|p: &[Array]| Ok(vec![(&(&p[0] * 2.0)? + 1.0)?.exp()?]));
    out.extend(compiled.call(&[x])?);
    Ok(out)
}

/// Every primitive in the graphs below `roots`, one per name.
fn primitives(roots: &[Array]) -> BTreeMap<&'static str, Arc<dyn Primitive>> {
    let mut seen = std::collections::HashSet::new();
    let mut stack: Vec<Array> = roots.to_vec();
    let mut found = BTreeMap::new();
    while let Some(a) = stack.pop() {
        if !seen.insert(a.id()) {
            continue;
        }
        if let Some(p) = a.primitive() {
            found.entry(p.name()).or_insert(p);
        }
        stack.extend(a.inputs());
    }
    found
}

/// Input lists that fit no primitive's expectations in one way or another.
fn misfit_inputs() -> mx::Result<Vec<Vec<Array>>> {
    let f = |shape: &[usize]| mx::ones(shape, Dtype::F32);
    let i = |shape: &[usize]| mx::ones(shape, Dtype::I32);
    Ok(vec![
        vec![],
        vec![Array::scalar(1.0f32)],
        vec![f(&[3])?],
        vec![f(&[0, 2])?, f(&[0])?],
        vec![f(&[2, 3])?, i(&[2])?],
        vec![i(&[2, 2, 2])?, i(&[2, 2, 2])?, i(&[2, 2, 2])?],
        vec![f(&[1])?, f(&[1])?, f(&[1])?, f(&[1])?],
        (0..7)
            .map(|_| f(&[2, 1, 3, 1]))
            .collect::<mx::Result<_>>()?,
        vec![
            mx::ones(&[2, 3], Dtype::U8)?,
            mx::ones(&[2, 3], Dtype::F64)?,
        ],
        vec![
            mx::ones(&[4, 4], Dtype::F64)?,
            mx::ones(&[4, 4], Dtype::U8)?,
            mx::ones(&[4, 4], Dtype::Bf16)?,
        ],
    ])
}

fn data_of(inputs: &[Array]) -> mx::Result<Vec<Data>> {
    inputs.iter().map(Array::data).collect()
}

#[derive(Default)]
struct Tally {
    ok: usize,
    err: usize,
    panics: Vec<String>,
}

impl Tally {
    fn run<T>(&mut self, what: String, call: impl FnOnce() -> mx::Result<T>) {
        match catch_unwind(AssertUnwindSafe(call)) {
            Ok(Ok(_)) => self.ok += 1,
            Ok(Err(_)) => self.err += 1,
            Err(_) => self.panics.push(what),
        }
    }
}

#[test]
fn primitives_given_misfit_inputs_err_instead_of_panicking() -> mx::Result<()> {
    let prims = primitives(&graphs()?);
    assert!(
        prims.len() >= 60,
        "only {} primitives collected: {:?}",
        prims.len(),
        prims.keys()
    );
    let panels = misfit_inputs()?;
    let shapes: [&[usize]; 3] = [&[], &[7], &[2, 3, 4]];
    let mut tally = Tally::default();
    let hook = std::panic::take_hook();
    if std::env::var_os("RMLX_MISUSE_VERBOSE").is_some() {
        std::panic::set_hook(Box::new(|info| eprintln!("PANIC {info}")));
    } else {
        std::panic::set_hook(Box::new(|_| {}));
    }
    for (name, p) in &prims {
        for (k, inputs) in panels.iter().enumerate() {
            let data = data_of(inputs)?;
            for shape in shapes {
                for dtype in [Dtype::F32, Dtype::I32, Dtype::F64] {
                    let d = data.clone();
                    tally.run(
                        format!("{name}.eval_cpu(panel {k}, {shape:?}, {dtype})"),
                        || p.eval_cpu(d, shape, dtype),
                    );
                    let d = data.clone();
                    let outs = vec![(shape.to_vec(), dtype); 3];
                    tally.run(
                        format!("{name}.eval_cpu_multi(panel {k}, {shape:?})"),
                        || p.eval_cpu_multi(d, &outs),
                    );
                }
                let node =
                    Array::from_primitive(shape.to_vec(), Dtype::F32, p.clone(), inputs.clone());
                tally.run(
                    format!("eval of a {name} node (panel {k}, {shape:?})"),
                    || node.eval(),
                );
            }
            let cot = mx::ones(&[2, 3], Dtype::F32)?;
            for argnums in [&[0usize][..], &[0, 1, 2, 3, 4, 5, 6, 9]] {
                tally.run(format!("{name}.vjp(panel {k}, {argnums:?})"), || {
                    p.vjp(inputs, &cot, &cot, argnums)
                });
                tally.run(format!("{name}.vjp_multi(panel {k}, {argnums:?})"), || {
                    p.vjp_multi(
                        inputs,
                        &[cot.clone(), cot.clone()],
                        &[cot.clone(), cot.clone()],
                        argnums,
                    )
                });
                tally.run(format!("{name}.jvp(panel {k}, {argnums:?})"), || {
                    p.jvp(inputs, inputs, argnums)
                });
                tally.run(format!("{name}.jvp_multi(panel {k}, {argnums:?})"), || {
                    p.jvp_multi(inputs, std::slice::from_ref(&cot), argnums)
                });
            }
            for axes in [
                vec![Some(0); inputs.len()],
                vec![Some(5); inputs.len()],
                vec![None; inputs.len()],
                vec![Some(0)],
            ] {
                tally.run(format!("{name}.vmap(panel {k}, {axes:?})"), || {
                    p.vmap(inputs, &axes)
                });
            }
            tally.run(format!("{name}.output_shapes(panel {k})"), || {
                p.output_shapes(inputs)
            });
        }
    }
    std::panic::set_hook(hook);
    println!(
        "primitive misuse: {} primitives, {} calls: {} values, {} errors, {} panics",
        prims.len(),
        tally.ok + tally.err + tally.panics.len(),
        tally.ok,
        tally.err,
        tally.panics.len()
    );
    let kinds: std::collections::BTreeSet<&str> = tally
        .panics
        .iter()
        .filter_map(|p| p.split('(').next())
        .collect();
    assert!(
        tally.panics.is_empty(),
        "{} panics in {} calls: {kinds:#?}",
        tally.panics.len(),
        kinds.len()
    );
    Ok(())
}
