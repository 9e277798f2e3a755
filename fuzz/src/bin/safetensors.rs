//! `load_safetensors` on arbitrary bytes: an `Ok` or an `Err`, never a crash, a hang or an
//! allocation the input does not justify.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let p = rmlx_fuzz::scratch(data, "safetensors");
        if let Ok((arrays, _)) = rmlx_core::io::load_safetensors(&p) {
            for a in arrays.values() {
                let _ = a.eval();
            }
        }
    });
}
