//! `load` (.npy) on arbitrary bytes.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let p = rmlx_fuzz::scratch(data, "npy");
        if let Ok(a) = rmlx_core::io::load(&p) {
            let _ = a.eval();
        }
    });
}
