//! `load_state` of an Adam optimizer from arbitrary bytes (a safetensors file of its state).
use rmlx_optimizers::{load_state, Adam};
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let p = rmlx_fuzz::scratch(data, "safetensors");
        let mut opt = Adam::new(1e-3);
        let _ = load_state(&mut opt, &p);
    });
}
