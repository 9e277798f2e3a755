//! No data lost (issue 20): a child process saving large files over an existing one (weights as
//! safetensors and npz, a module's `save_weights`, an optimizer's `save_state`, and the text an
//! example writes through `write_atomic_path`) is killed at random moments; the file must then
//! be whole, holding either the earlier contents or the new ones, never a mix or a truncation.
//! And every loader refuses a truncated file with an `Err`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rmlx::core::{self as mx, Array, Dtype};
use rmlx::nn::{Linear, ModuleExt};
use rmlx::optimizers::{load_state, save_state, Adam, Optimizer};

const SAVERS: [&str; 5] = ["safetensors", "npz", "weights", "optimizer", "text"];

fn big(seed: f32) -> Array {
    // 24 MiB: long enough to write that a kill often lands in the middle
    mx::full(&[6 << 20], seed, Dtype::F32).unwrap()
}

fn path_of(dir: &Path, saver: &str) -> PathBuf {
    dir.join(match saver {
        "safetensors" | "weights" | "optimizer" => format!("{saver}.safetensors"),
        "npz" => "arrays.npz".to_string(),
        _ => "log.txt".to_string(),
    })
}

/// Saves version `v` (1: the earlier file, small; 2: the new one, large) with `saver`.
fn save(saver: &str, path: &Path, v: u32) -> mx::Result<()> {
    let x = if v == 1 {
        mx::full(&[4], 1.0, Dtype::F32)?
    } else {
        big(2.0)
    };
    match saver {
        "safetensors" => mx::io::save_safetensors(path, [("x", &x)], None),
        "npz" => mx::io::savez(path, [("x", &x)]),
        "weights" => {
            let mut l = Linear::new(1, 1, false)?;
            l.weight = x.reshape([-1, 1])?;
            l.save_weights(path)
        }
        "optimizer" => {
            let mut opt = Adam::new(0.1);
            let p = vec![("x".to_string(), x.clone())];
            opt.apply_gradients(&p, &p)?;
            save_state(&opt, path)
        }
        _ => mx::io::write_atomic_path(path, |tmp| {
            let n = if v == 1 { 10 } else { 3_000_000 };
            let text: String = (0..n).map(|i| format!("{}\n", i * v as usize)).collect();
            std::fs::write(tmp, text).map_err(|e| mx::Error::Io {
                path: tmp.display().to_string(),
                source: e,
            })
        }),
    }
}

/// Which version the file holds (1 or 2), or an error for anything else.
fn version(saver: &str, path: &Path) -> Result<u32, String> {
    let from = |x: &Array| -> Result<u32, String> {
        let n = x.size();
        let v = x.reshape([-1]).map_err(|e| e.to_string())?;
        let first = v.take(&mx::array(0i32), None).and_then(|a| a.item::<f32>());
        match (n, first) {
            (4, Ok(1.0)) => Ok(1),
            (n, Ok(f)) if n == 6 << 20 && f == 2.0 => Ok(2),
            (n, f) => Err(format!("unexpected contents: {n} values, first {f:?}")),
        }
    };
    match saver {
        "safetensors" | "weights" => {
            let (t, _) = mx::io::load_safetensors(path).map_err(|e| e.to_string())?;
            let x = t.get("x").or_else(|| t.get("weight")).ok_or("no array")?;
            from(x)
        }
        "npz" => {
            let t = mx::io::load_npz(path).map_err(|e| e.to_string())?;
            from(t.get("x").ok_or("no array")?)
        }
        "optimizer" => {
            let mut opt = Adam::new(0.1);
            load_state(&mut opt, path).map_err(|e| e.to_string())?;
            let st = opt.state();
            let names: Vec<&String> = st.iter().map(|(k, _)| k).collect();
            let m = st
                .iter()
                .find(|(k, _)| k.starts_with("x") && k.ends_with('m'))
                .map(|(_, a)| a.clone())
                .ok_or(format!("no moment among {names:?}"))?;
            // the first moment after one step is 0.1 * gradient
            let n = m.size();
            Ok(if n == 4 {
                1
            } else if n == 6 << 20 {
                2
            } else {
                0
            })
        }
        _ => {
            let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
            let lines = text.lines().count();
            match lines {
                10 if text.starts_with("0\n1\n") => Ok(1),
                3_000_000 if text.ends_with(&format!("{}\n", 2 * 2_999_999)) => Ok(2),
                n => Err(format!("{n} lines")),
            }
        }
    }
}

/// The child: save version 2 over and over until killed.
fn child(saver: &str, path: &Path) {
    loop {
        save(saver, path, 2).unwrap();
    }
}

#[test]
fn killed_saves_leave_whole_files() {
    if let (Ok(saver), Ok(path)) = (
        std::env::var("RMLX_KILL_SAVER"),
        std::env::var("RMLX_KILL_PATH"),
    ) {
        child(&saver, Path::new(&path));
        return;
    }
    let dir = std::env::temp_dir().join(format!("rmlx-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut seen = [[0usize; 3]; SAVERS.len()];
    for (si, saver) in SAVERS.iter().enumerate() {
        let path = path_of(&dir, saver);
        for round in 0..6 {
            save(saver, &path, 1).unwrap();
            assert_eq!(version(saver, &path), Ok(1), "{saver}: the earlier file");
            let mut c = Command::new(&exe)
                .args(["killed_saves_leave_whole_files", "--exact", "--nocapture"])
                .env("RMLX_KILL_SAVER", saver)
                .env("RMLX_KILL_PATH", &path)
                .spawn()
                .unwrap();
            // a spread of moments: during start-up, the first write, later writes
            std::thread::sleep(Duration::from_millis(15 + 70 * round as u64));
            c.kill().unwrap();
            c.wait().unwrap();
            let v = version(saver, &path)
                .unwrap_or_else(|e| panic!("{saver}: the file is damaged after a kill: {e}"));
            seen[si][v as usize] += 1;
        }
    }
    println!("kills per saver (file held the earlier / the new contents):");
    for (si, saver) in SAVERS.iter().enumerate() {
        println!("  {saver}: {} / {}", seen[si][1], seen[si][2]);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn truncated_files_are_errors() {
    let dir = std::env::temp_dir().join(format!("rmlx-trunc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for saver in ["safetensors", "npz", "weights", "optimizer"] {
        let path = path_of(&dir, saver);
        save(saver, &path, 1).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        for cut in [1, bytes.len() / 2, bytes.len() - 1] {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let r = match saver {
                "npz" => mx::io::load_npz(&path).map(|_| ()),
                "optimizer" => load_state(&mut Adam::new(0.1), &path),
                "weights" => Linear::new(1, 1, false)
                    .unwrap()
                    .load_weights(path.as_path(), true)
                    .map(|_| ()),
                _ => mx::io::load_safetensors(&path).map(|_| ()),
            };
            assert!(
                r.is_err(),
                "{saver} cut to {cut} of {} bytes loaded",
                bytes.len()
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
