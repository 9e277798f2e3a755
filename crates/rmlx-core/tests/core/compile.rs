//! `compile`: compiled and uncompiled functions agree (bit for bit where the fused kernel runs
//! the same f32 functions), the cache traces once per signature, CSE and fusion show in the
//! node counts, and compiled functions compose with grad, jvp and vmap.

use crate::gauss::Rng;
use crate::vmap_rules::{assert_close, rand};
use rmlx_core::graph::count_primitives;
use rmlx_core::{self as mx, Array, Dtype, Result};

/// `gelu_approx(x * w + b)` with the cube written as products (bit-exact when fused).
fn gelu_affine(p: &[Array]) -> Result<Vec<Array>> {
    let (x, w, b) = (&p[0], &p[1], &p[2]);
    let h = (&(x * w)? + b)?;
    let cube = (&(&h * &h)? * &h)?;
    let inner = ((&h + &(cube * 0.044715)?)? * 0.797_884_560_802_865_4)?;
    Ok(vec![((&h * 0.5)? * &(inner.tanh()? + 1.0)?)?])
}

fn bits(a: &Array) -> Vec<u32> {
    a.to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|v| v.to_bits())
        .collect()
}

#[test]
fn a_fused_chain_is_one_node_and_bit_identical() {
    let mut r = Rng(3);
    // rows long enough for several tiles, enough rows for several parallel chunks
    let args = vec![
        rand(&mut r, &[70, 600]),
        rand(&mut r, &[600]),
        rand(&mut r, &[1, 600]),
    ];
    let plain = gelu_affine(&args).unwrap();
    let c = mx::compile(gelu_affine);
    let got = c.call(&args).unwrap();
    assert_eq!(count_primitives(&[&got[0]], "Compiled"), 1);
    assert_eq!(count_primitives(&[&got[0]], "Tanh"), 0);
    assert!(count_primitives(&[&plain[0]], "Tanh") == 1);
    // the kernel runs it as one superinstruction: the gelu of x * w + b, in registers
    let program = format!("{:?}", got[0].primitive().unwrap());
    assert!(program.contains("instrs: [Instr { step: MulAddActivation(GeluTanh)"));
    assert_eq!(program.matches("Instr {").count(), 1, "{program}");
    assert_eq!(bits(&got[0]), bits(&plain[0]));
    // a transposed (strided) x goes through the same trace
    let xt = rand(&mut r, &[600, 70]).t().unwrap();
    let again = c
        .call(&[xt.clone(), args[1].clone(), args[2].clone()])
        .unwrap();
    let want = gelu_affine(&[xt, args[1].clone(), args[2].clone()]).unwrap();
    assert_eq!(bits(&again[0]), bits(&want[0]));
    assert_eq!(c.stats(), mx::CompileStats { traces: 1, hits: 1 });
}

#[test]
fn the_power_of_a_small_integer_is_fused_within_an_ulp() {
    let f = |p: &[Array]| -> Result<Vec<Array>> {
        let x = &p[0];
        Ok(vec![(mx::power(x, &mx::array(3.0f32))? + x)?.sigmoid()?])
    };
    let x = rand(&mut Rng(5), &[1000]);
    let c = mx::compile(f);
    let got = c.call(&[x.clone()]).unwrap();
    assert_eq!(count_primitives(&[&got[0]], "Power"), 0);
    assert_close("power 3", &got[0], &f(&[x]).unwrap()[0], 1e-6);
}

#[test]
fn selects_comparisons_casts_and_half_precision_agree_with_the_unfused_kernels() {
    let f = |p: &[Array]| -> Result<Vec<Array>> {
        let x = &p[0];
        let leaky = mx::where_(&x.greater(&mx::array(0.0f32))?, x, &(x * 0.1)?)?;
        let h = (leaky.astype(Dtype::F16)? * 3.0)?; // f16 steps round each result
        let back = (h.exp()?.astype(Dtype::F32)? - 1.0)?;
        let mask = mx::isnan(x)?.logical_not()?;
        Ok(vec![back, mask])
    };
    let mut vals = rand(&mut Rng(9), &[2000]).to_vec::<f32>().unwrap();
    vals[7] = f32::NAN;
    vals[8] = f32::INFINITY;
    let x = Array::from_slice(&vals, &[40, 50]).unwrap();
    let c = mx::compile(f);
    let got = c.call(&[x.clone()]).unwrap();
    let want = f(&[x]).unwrap();
    assert!(count_primitives(&[&got[0], &got[1]], "Compiled") >= 1);
    assert_eq!(count_primitives(&[&got[0]], "Exp"), 0);
    let (g, w) = (
        got[0].to_vec::<f32>().unwrap(),
        want[0].to_vec::<f32>().unwrap(),
    );
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!(
            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            "{i}: {a} vs {b}"
        );
    }
    assert_eq!(
        got[1].to_vec::<bool>().unwrap(),
        want[1].to_vec::<bool>().unwrap()
    );
}

#[test]
fn an_intermediate_that_is_also_returned_becomes_a_second_output() {
    let f = |p: &[Array]| -> Result<Vec<Array>> {
        let a = (&p[0] * 2.0)?.exp()?;
        Ok(vec![(&a + 1.0)?.log()?, a])
    };
    let x = rand(&mut Rng(1), &[300]);
    let got = mx::compile(f).call(&[x.clone()]).unwrap();
    let want = f(&[x]).unwrap();
    // one node with two outputs (each output array counts)
    assert_eq!(count_primitives(&[&got[0], &got[1]], "Compiled"), 2);
    assert_eq!(got[0].siblings().len(), 1);
    assert_eq!(bits(&got[0]), bits(&want[0]));
    assert_eq!(bits(&got[1]), bits(&want[1]));
}

#[test]
fn common_subexpressions_and_equal_scalars_are_merged() {
    let f = |p: &[Array]| -> Result<Vec<Array>> {
        let x = &p[0];
        // two exp nodes of x, two multiplies by two different (equal) scalar constants
        let e = (&x.exp()? + &x.exp()?)?;
        let m = (&(x * 2.0)? + &(x * 2.0)?)?;
        Ok(vec![x.matmul(&e)?, m.matmul(x)?])
    };
    let x = rand(&mut Rng(2), &[4, 4]);
    let plain = f(&[x.clone()]).unwrap();
    let plain_refs: Vec<&Array> = plain.iter().collect();
    assert_eq!(count_primitives(&plain_refs, "Exp"), 2);
    assert_eq!(count_primitives(&plain_refs, "Multiply"), 2);
    let got = mx::compile(f).without_fusion().call(&[x]).unwrap();
    let refs: Vec<&Array> = got.iter().collect();
    assert_eq!(count_primitives(&refs, "Exp"), 1);
    assert_eq!(count_primitives(&refs, "Multiply"), 1);
    for (g, w) in got.iter().zip(&plain) {
        assert_eq!(bits(g), bits(w));
    }
}

#[test]
fn the_cache_traces_once_per_signature() {
    let f = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![(&p[0] * &p[0])?.sum(None, false)?]) };
    let c = mx::compile(f);
    let a = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
    let b = Array::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
    assert_eq!(c.call(&[a.clone()]).unwrap()[0].item::<f32>().unwrap(), 5.0);
    assert_eq!(c.call(&[a.clone()]).unwrap()[0].item::<f32>().unwrap(), 5.0);
    assert_eq!(
        c.call(&[b.clone()]).unwrap()[0].item::<f32>().unwrap(),
        14.0
    );
    assert_eq!(
        c.call(&[a.astype(Dtype::F16).unwrap()]).unwrap()[0].dtype(),
        Dtype::F16
    );
    assert_eq!(c.call(&[a.clone()]).unwrap()[0].item::<f32>().unwrap(), 5.0);
    assert_eq!(c.stats(), mx::CompileStats { traces: 3, hits: 2 });
    c.clear_cache();
    c.call(&[a.clone()]).unwrap();
    assert_eq!(c.stats().traces, 4);

    // shapeless: one trace for every length
    let s = mx::compile(f).shapeless(true);
    assert_eq!(s.call(&[a]).unwrap()[0].item::<f32>().unwrap(), 5.0);
    assert_eq!(s.call(&[b]).unwrap()[0].item::<f32>().unwrap(), 14.0);
    assert_eq!(s.stats(), mx::CompileStats { traces: 1, hits: 1 });
}

#[test]
fn evaluating_an_input_while_traced_is_an_error_naming_compile() {
    let f = |p: &[Array]| -> Result<Vec<Array>> {
        let v = p[0].sum(None, false)?.item::<f32>()?;
        Ok(vec![(&p[0] * v as f64)?])
    };
    let e = mx::compile(f).call(&[mx::array(1.0f32)]).unwrap_err();
    assert!(e.to_string().contains("[compile]"), "{e}");
}

#[test]
fn compiled_functions_compose_with_grad_jvp_and_vmap() {
    let mut r = Rng(4);
    let args = vec![
        rand(&mut r, &[6, 8]),
        rand(&mut r, &[8]),
        rand(&mut r, &[8]),
    ];
    let loss =
        |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![gelu_affine(p)?[0].sum(None, false)?]) };
    let want = mx::grad(loss, &[0, 1, 2])(&args).unwrap();
    // compile of grad: the backward pass is traced and fused too
    let cg = mx::compile(mx::grad(loss, &[0, 1, 2]));
    let got = cg.call(&args).unwrap();
    for (k, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_close(&format!("compile(grad) {k}"), g, w, 1e-6);
    }
    // grad of compile: the fused node differentiates as the chain it replaced
    let c = mx::compile(loss);
    let through = |p: &[Array]| c.call(p);
    let got = mx::grad(through, &[0, 1, 2])(&args).unwrap();
    for (k, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_close(&format!("grad(compile) {k}"), g, w, 1e-6);
    }
    // jvp of compile
    let fused = mx::compile(gelu_affine);
    let tangents = vec![
        rand(&mut r, &[6, 8]),
        rand(&mut r, &[8]),
        rand(&mut r, &[8]),
    ];
    let (_, jt) = mx::jvp(|p: &[Array]| fused.call(p), &args, &tangents).unwrap();
    let (_, jw) = mx::jvp(gelu_affine, &args, &tangents).unwrap();
    assert_close("jvp(compile)", &jt[0], &jw[0], 1e-6);
    // vmap of compile, mapping x's rows only
    let v = mx::vmap(|p: &[Array]| fused.call(p), &[Some(0), None, None], &[])(&args).unwrap();
    assert_close(
        "vmap(compile)",
        &v[0],
        &gelu_affine(&args).unwrap()[0],
        1e-6,
    );
}

#[test]
fn compile_with_state_updates_the_state_and_replays() {
    // a tiny SGD on least squares, the parameters as state
    let step = mx::compile_with_state(|w: &mut Vec<Array>, d: &[Array]| -> Result<Vec<Array>> {
        let loss = |p: &[Array]| -> Result<Vec<Array>> {
            let e = (&d[0].matmul(&p[0])? - &d[1])?;
            Ok(vec![(&e * &e)?.mean(None, false)?])
        };
        let (l, g) = mx::value_and_grad(loss, &[0])(&w[..])?;
        w[0] = (&w[0] - &(&g[0] * 0.1)?)?;
        Ok(l)
    });
    let mut r = Rng(8);
    let x = rand(&mut r, &[16, 3]);
    let y = rand(&mut r, &[16, 1]);
    let mut w = vec![mx::zeros(&[3, 1], Dtype::F32).unwrap()];
    let mut w_plain = w.clone();
    for _ in 0..5 {
        let l = step.call(&mut w, &[x.clone(), y.clone()]).unwrap();
        let e = (&x.matmul(&w_plain[0]).unwrap() - &y).unwrap();
        let lp = (&e * &e).unwrap().mean(None, false).unwrap();
        let g = mx::grad(
            |p: &[Array]| {
                let e = (&x.matmul(&p[0])? - &y)?;
                Ok(vec![(&e * &e)?.mean(None, false)?])
            },
            &[0],
        )(&w_plain)
        .unwrap();
        w_plain[0] = (&w_plain[0] - &(&g[0] * 0.1).unwrap()).unwrap();
        assert_close("loss", &l[0], &lp, 1e-6);
        assert_close("w", &w[0], &w_plain[0], 1e-6);
    }
    assert_eq!(step.stats(), mx::CompileStats { traces: 1, hits: 4 });

    // a failing step leaves the state as it was
    let bad = mx::compile_with_state(|s: &mut Vec<Array>, _: &[Array]| -> Result<Vec<Array>> {
        s[0] = (&s[0] + 1.0)?;
        Err(mx::Error::Value("stop".into()))
    });
    let before = w[0].to_vec::<f32>().unwrap();
    assert!(bad.call(&mut w, &[]).is_err());
    assert_eq!(w[0].to_vec::<f32>().unwrap(), before);
}
