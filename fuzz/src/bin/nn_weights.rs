//! `load_weights` of a small model from arbitrary bytes, strict and not.
use rmlx_nn::{Linear, ModuleExt};
fn main() {
    // one initialised model, cloned per input (cloning shares the evaluated parameters)
    let base = Linear::new(3, 2, true).expect("a small Linear");
    let _ = base.weight.eval();
    afl::fuzz!(|data: &[u8]| {
        let p = rmlx_fuzz::scratch(data, "safetensors");
        for strict in [true, false] {
            let mut m = base.clone();
            let _ = m.load_weights(p.as_path(), strict);
        }
    });
}
