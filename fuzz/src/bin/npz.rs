//! `load_npz` on arbitrary bytes.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let p = rmlx_fuzz::scratch(data, "npz");
        if let Ok(arrays) = rmlx_core::io::load_npz(&p) {
            for a in arrays.values() {
                let _ = a.eval();
            }
        }
    });
}
