//! save_weights / load_weights through safetensors and npz files.

use rmlx_core::Array;
use rmlx_nn::{Linear, ModuleExt};

fn values(m: &Linear) -> Vec<Vec<f32>> {
    m.parameters()
        .flatten()
        .into_iter()
        .map(|(_, a)| a.to_vec::<f32>().unwrap())
        .collect()
}

#[test]
fn save_load_round_trip_both_formats() {
    let dir = std::env::temp_dir().join(format!("rmlx_weights_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for ext in ["safetensors", "npz"] {
        let a = Linear::new(4, 3, true).unwrap();
        let path = dir.join(format!("w.{ext}"));
        a.save_weights(&path).unwrap();
        let mut b = Linear::new(4, 3, true).unwrap();
        assert_ne!(values(&a), values(&b), "fresh layers differ before loading");
        b.load_weights(path.as_path(), true).unwrap();
        assert_eq!(values(&a), values(&b), "{ext}");
    }
    // strict load of a file with a wrong shape names the parameter; nothing changes
    let small = Linear::new(2, 3, true).unwrap();
    let path = dir.join("small.safetensors");
    small.save_weights(&path).unwrap();
    let mut c = Linear::new(4, 3, true).unwrap();
    let before = values(&c);
    let err = c
        .load_weights(path.as_path(), true)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("weight"), "{err}");
    assert_eq!(values(&c), before);
    // a corrupt file is an error naming the file
    let bad = dir.join("bad.safetensors");
    std::fs::write(&bad, b"not a safetensors file").unwrap();
    let err = c
        .load_weights(bad.as_path(), true)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("bad.safetensors"), "{err}");
    // unsupported extension
    assert!(c.save_weights(dir.join("w.bin")).is_err());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn loads_mlx_written_linear() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../rmlx-core/tests/data/oracle"
    );
    let (tensors, _) =
        rmlx_core::io::load_safetensors(format!("{dir}/linear.safetensors")).unwrap();
    let pairs: Vec<(String, Array)> = tensors
        .into_iter()
        .filter_map(|(k, v)| k.strip_prefix("param.").map(|n| (n.to_string(), v)))
        .collect();
    let (w, b) = (
        &pairs.iter().find(|(k, _)| k == "weight").unwrap().1,
        &pairs.iter().find(|(k, _)| k == "bias").unwrap().1,
    );
    let mut l = Linear::new(w.shape()[1], w.shape()[0], true).unwrap();
    l.load_weights(pairs.clone(), true).unwrap();
    assert_eq!(
        l.weight.to_vec::<f32>().unwrap(),
        w.to_vec::<f32>().unwrap()
    );
    assert_eq!(
        l.bias.as_ref().unwrap().to_vec::<f32>().unwrap(),
        b.to_vec::<f32>().unwrap()
    );
}
