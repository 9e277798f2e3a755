//! Writes the seed corpus (`corpus/<target>/`): small valid files of every format, made with
//! rmlx's own savers. `cargo run --release --bin make_seeds` (no AFL needed).
use rmlx_core::{self as mx, Array};
use rmlx_nn::{Linear, ModuleExt};
use rmlx_optimizers::{save_state, Adam, Optimizer};

fn main() -> mx::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for t in ["safetensors", "npy", "npz", "optimizer_state", "nn_weights"] {
        std::fs::create_dir_all(root.join(t)).expect("corpus dir");
    }
    let a = Array::from_slice(&[1.0f32, -2.0, 3.5, 0.25], &[2, 2])?;
    let b = Array::from_slice(&[7i32, 8, 9], &[3])?;
    let h = a.astype(mx::Dtype::F16)?;
    mx::io::save_safetensors(
        root.join("safetensors/two.safetensors"),
        [("a", &a), ("b", &b)],
        None,
    )?;
    mx::io::save_safetensors(root.join("safetensors/half.safetensors"), [("h", &h)], None)?;
    mx::io::save(root.join("npy/f32.npy"), &a)?;
    mx::io::save(root.join("npy/i32.npy"), &b)?;
    mx::io::save(root.join("npy/scalar.npy"), &mx::array(2.5f64))?;
    mx::io::savez(root.join("npz/two.npz"), [("a", &a), ("b", &b)])?;
    mx::io::savez_compressed(root.join("npz/compressed.npz"), [("a", &a)])?;
    let mut m = Linear::new(3, 2, true)?;
    m.save_weights(root.join("nn_weights/linear.safetensors"))?;
    let (_, g) = rmlx_nn::value_and_grad(&mut m, |l: &Linear| {
        Ok(vec![l
            .forward(&mx::ones(&[1, 3], mx::Dtype::F32)?)?
            .sum(None, false)?])
    })?;
    let mut opt = Adam::new(1e-3);
    opt.update(&mut m, &g)?;
    save_state(&opt, root.join("optimizer_state/adam.safetensors"))?;
    Ok(())
}
