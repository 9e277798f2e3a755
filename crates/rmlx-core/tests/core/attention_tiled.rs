//! The tiled attention kernels (online softmax forward, FlashAttention-2 backward) against the
//! attention written with ops (`softmax(scale * q k^T + mask) v`), over sequences that span
//! several query and key tiles, every mask kind, strided inputs and f64.

use crate::gauss::Rng;
use crate::vmap_rules::{assert_close, rand};
use rmlx_core::fast::{scaled_dot_product_attention, SdpaMask};
use rmlx_core::graph::count_primitives;
use rmlx_core::{self as mx, Array, Dtype, Result};

#[derive(Clone, Copy)]
enum Mask {
    None,
    Causal,
    Additive,
    Keep,
    /// An additive mask whose keys are not contiguous (a transposed `[1, 1, Lk, Lq]` array).
    AdditiveStrided,
    /// A keep mask whose keys are not contiguous.
    KeepStrided,
}

/// The mask array of a case (additive: `[1, 1, Lq, Lk]` broadcast; keep: random bool with
/// every row keeping its first key).
fn mask_array(kind: Mask, lq: usize, lk: usize, r: &mut Rng) -> Option<Array> {
    match kind {
        Mask::Additive => Some(rand(r, &[1, 1, lq, lk])),
        Mask::AdditiveStrided => Some(rand(r, &[1, 1, lk, lq]).swapaxes(2, 3).unwrap()),
        Mask::Keep => {
            let keep: Vec<u8> = (0..lq * lk)
                .map(|i| (i % lk == 0 || r.vec(1)[0] > 0.0) as u8)
                .collect();
            let keep = Array::from_slice(&keep, &[1, 1, lq, lk]).unwrap();
            Some(keep.astype(Dtype::Bool).unwrap())
        }
        Mask::KeepStrided => {
            // stored key-major: element (j, i) keeps key j for query i
            let keep: Vec<u8> = (0..lk * lq)
                .map(|e| (e / lq == 0 || r.vec(1)[0] > 0.0) as u8)
                .collect();
            let keep = Array::from_slice(&keep, &[1, 1, lk, lq]).unwrap();
            Some(keep.astype(Dtype::Bool).unwrap().swapaxes(2, 3).unwrap())
        }
        _ => None,
    }
}

/// The attention with ops, the probabilities materialised.
fn reference(
    q: &Array,
    k: &Array,
    v: &Array,
    scale: f64,
    kind: Mask,
    m: Option<&Array>,
) -> Result<Array> {
    let (lq, lk) = (q.shape()[2], k.shape()[2]);
    let mut s = (&q.matmul(&k.swapaxes(-1, -2)?)? * scale)?;
    match (kind, m) {
        (Mask::Additive | Mask::AdditiveStrided, Some(m)) => s = (&s + m)?,
        (Mask::Keep | Mask::KeepStrided, Some(m)) => {
            s = mx::where_(m, &s, &Array::scalar_as(f64::NEG_INFINITY, s.dtype()))?
        }
        (Mask::Causal, _) => {
            let i = mx::arange(0.0, lq as f64, 1.0, Dtype::I32)?.reshape([lq, 1])?;
            let j = mx::arange(0.0, lk as f64, 1.0, Dtype::I32)?.reshape([1, lk])?;
            let keep = j.less_equal(&(&i + (lk as f64 - lq as f64))?)?;
            s = mx::where_(&keep, &s, &Array::scalar_as(f64::NEG_INFINITY, s.dtype()))?;
        }
        _ => {}
    }
    mx::softmax(&s, -1, false)?.matmul(v)
}

fn fused(
    q: &Array,
    k: &Array,
    v: &Array,
    scale: f64,
    kind: Mask,
    m: Option<&Array>,
) -> Result<Array> {
    let mask = match (kind, m) {
        (Mask::Causal, _) => SdpaMask::Causal,
        (_, Some(m)) => SdpaMask::Array(m),
        _ => SdpaMask::None,
    };
    scaled_dot_product_attention(q, k, v, scale, mask)
}

/// Output and the gradients of `sum(out * w)` in q, k, v: fused against reference.
fn check(name: &str, dims: [usize; 6], kind: Mask, dtype: Dtype, tol: f64) {
    let [b, h, lq, lk, d, dv] = dims;
    let mut r = Rng(lq as u64 * 31 + lk as u64);
    let cast = |x: Array| x.astype(dtype).unwrap();
    let q = cast(rand(&mut r, &[b, h, lq, d]));
    let k = cast(rand(&mut r, &[b, h, lk, d]));
    let v = cast(rand(&mut r, &[b, h, lk, dv]));
    let w = cast(rand(&mut r, &[b, h, lq, dv]));
    let m =
        mask_array(kind, lq, lk, &mut r)
            .map(|m| if m.dtype() == Dtype::Bool { m } else { cast(m) });
    let scale = 1.0 / (d as f64).sqrt();
    let out = fused(&q, &k, &v, scale, kind, m.as_ref()).unwrap();
    let want = reference(&q, &k, &v, scale, kind, m.as_ref()).unwrap();
    assert_close(&format!("{name}: out"), &out, &want, tol);
    let mf = m.clone();
    let loss_f = |p: &[Array]| -> Result<Vec<Array>> {
        let o = fused(&p[0], &p[1], &p[2], scale, kind, mf.as_ref())?;
        Ok(vec![(&o * &p[3])?.sum(None, false)?])
    };
    let mr = m.clone();
    let loss_r = |p: &[Array]| -> Result<Vec<Array>> {
        let o = reference(&p[0], &p[1], &p[2], scale, kind, mr.as_ref())?;
        Ok(vec![(&o * &p[3])?.sum(None, false)?])
    };
    let args = [q, k, v, w];
    let g = mx::grad(loss_f, &[0, 1, 2])(&args).unwrap();
    // the tiled backward, not the probabilities, computes them
    let refs: Vec<&Array> = g.iter().collect();
    assert!(
        count_primitives(&refs, "SdpaVjp") >= 1,
        "{name}: tiled vjp used"
    );
    assert_eq!(
        count_primitives(&refs, "SdpaProbs"),
        0,
        "{name}: no probabilities"
    );
    let gw = mx::grad(loss_r, &[0, 1, 2])(&args).unwrap();
    for (i, (a, b)) in g.iter().zip(&gw).enumerate() {
        assert_close(&format!("{name}: d{}", ["q", "k", "v"][i]), a, b, tol);
    }
}

#[test]
fn tiled_attention_matches_the_composed_one_across_tiles_and_masks() {
    // 150 queries = 3 query tiles, 300 keys = 3 key tiles (the last partial)
    check(
        "plain",
        [1, 2, 150, 300, 16, 8],
        Mask::None,
        Dtype::F32,
        2e-5,
    );
    check(
        "causal square",
        [2, 1, 130, 130, 8, 8],
        Mask::Causal,
        Dtype::F32,
        2e-5,
    );
    // Lq < Lk: query i sees keys up to i + Lk - Lq; tiles past the diagonal are skipped
    check(
        "causal offset",
        [1, 1, 70, 260, 8, 4],
        Mask::Causal,
        Dtype::F32,
        2e-5,
    );
    check(
        "additive",
        [1, 2, 65, 129, 4, 4],
        Mask::Additive,
        Dtype::F32,
        2e-5,
    );
    check("keep", [1, 1, 100, 140, 8, 8], Mask::Keep, Dtype::F32, 2e-5);
    // masks whose rows are not contiguous along the keys
    check(
        "additive, strided",
        [1, 2, 65, 129, 4, 4],
        Mask::AdditiveStrided,
        Dtype::F32,
        2e-5,
    );
    check(
        "keep, strided",
        [1, 1, 100, 140, 8, 8],
        Mask::KeepStrided,
        Dtype::F32,
        2e-5,
    );
    check(
        "f64",
        [1, 1, 80, 200, 8, 8],
        Mask::Causal,
        Dtype::F64,
        1e-10,
    );
    check("f16", [1, 1, 70, 130, 8, 8], Mask::None, Dtype::F16, 2e-2);
    // every query tile's keys in one key tile: the backward reuses its first pass's scores
    check(
        "one key tile",
        [2, 2, 150, 100, 8, 8],
        Mask::None,
        Dtype::F32,
        2e-5,
    );
    check(
        "one key tile, additive",
        [1, 1, 30, 50, 4, 4],
        Mask::Additive,
        Dtype::F32,
        2e-5,
    );
}

#[test]
fn strided_inputs_and_more_queries_than_keys() {
    // [B, L, H, D] arrays viewed as [B, H, L, D] (a transposed layout, as MultiHeadAttention
    // makes), with Lq > Lk under a causal mask: the first queries see no key, giving NaN rows
    let mut r = Rng(77);
    let q = rand(&mut r, &[1, 140, 2, 8]).swapaxes(1, 2).unwrap();
    let k = rand(&mut r, &[1, 130, 2, 8]).swapaxes(1, 2).unwrap();
    let v = rand(&mut r, &[1, 130, 2, 8]).swapaxes(1, 2).unwrap();
    let out = fused(&q, &k, &v, 0.3, Mask::None, None).unwrap();
    let want = reference(&q, &k, &v, 0.3, Mask::None, None).unwrap();
    assert_close("strided", &out, &want, 2e-5);
    let c = fused(&q, &k, &v, 0.3, Mask::Causal, None).unwrap();
    let cw = reference(&q, &k, &v, 0.3, Mask::Causal, None).unwrap();
    assert_close("causal Lq > Lk", &c, &cw, 2e-5);
    let first = c.to_vec::<f32>().unwrap();
    assert!(
        first[0].is_nan(),
        "a query that sees no key is NaN, as softmax of all -inf"
    );
}

#[test]
fn the_mask_gradient_still_takes_the_materialised_path() {
    let mut r = Rng(5);
    let (q, k, v) = (
        rand(&mut r, &[1, 1, 20, 4]),
        rand(&mut r, &[1, 1, 30, 4]),
        rand(&mut r, &[1, 1, 30, 4]),
    );
    let m = rand(&mut r, &[1, 1, 20, 30]);
    let f = |p: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![scaled_dot_product_attention(
            &p[0],
            &p[1],
            &p[2],
            0.5,
            SdpaMask::Array(&p[3]),
        )?
        .sum(None, false)?])
    };
    let g = mx::grad(f, &[3])(&[q.clone(), k.clone(), v.clone(), m.clone()]).unwrap();
    let fr = |p: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![reference(
            &p[0],
            &p[1],
            &p[2],
            0.5,
            Mask::Additive,
            Some(&p[3]),
        )?
        .sum(None, false)?])
    };
    let gr = mx::grad(fr, &[3])(&[q, k, v, m]).unwrap();
    assert_close("d mask", &g[0], &gr[0], 2e-5);
}
