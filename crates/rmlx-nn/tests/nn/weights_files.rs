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

#[test]
fn truncated_and_corrupt_files_name_the_file_and_change_nothing() {
    let dir = std::env::temp_dir().join(format!("rmlx_weights_bad_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = Linear::new(4, 3, true).unwrap();
    for ext in ["safetensors", "npz"] {
        let good = dir.join(format!("good.{ext}"));
        a.save_weights(&good).unwrap();
        let bytes = std::fs::read(&good).unwrap();
        // cut in the middle, and flipped bytes in the header
        let cut = dir.join(format!("cut.{ext}"));
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let mut flipped = bytes.clone();
        for b in flipped.iter_mut().take(12) {
            *b ^= 0x5a;
        }
        let garbled = dir.join(format!("garbled.{ext}"));
        std::fs::write(&garbled, &flipped).unwrap();
        for path in [&cut, &garbled] {
            let mut b = Linear::new(4, 3, true).unwrap();
            let before = values(&b);
            let err = b
                .load_weights(path.as_path(), true)
                .err()
                .unwrap_or_else(|| panic!("{} loaded", path.display()))
                .to_string();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            assert!(err.contains(&name), "{name}: {err}");
            assert_eq!(
                values(&b),
                before,
                "{name}: a failed load changed the model"
            );
        }
        // a missing file
        let err = Linear::new(4, 3, true)
            .unwrap()
            .load_weights(dir.join(format!("missing.{ext}")).as_path(), true)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("missing"), "{err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn failed_save_leaves_the_earlier_file_intact() {
    let dir = std::env::temp_dir().join(format!("rmlx_weights_keep_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for ext in ["safetensors", "npz"] {
        let path = dir.join(format!("w.{ext}"));
        let good = Linear::new(4, 3, true).unwrap();
        good.save_weights(&path).unwrap();
        let before = std::fs::read(&path).unwrap();
        // a parameter whose evaluation fails (an out-of-range gather) makes the save fail
        let mut broken = Linear::new(4, 3, true).unwrap();
        let idx = Array::from_slice(&[0i32, 1, 99], &[3]).unwrap();
        broken.weight = rmlx_core::take(&broken.weight.clone(), &idx, Some(0)).unwrap();
        assert!(broken.save_weights(&path).is_err(), "{ext}: save succeeded");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "{ext}: earlier file changed"
        );
        // and no temporary file is left beside it
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n != "w.safetensors" && n != "w.npz")
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A weight name with a huge list index is ignored by a non-strict load (and named by a strict
/// one) without building a list of placeholders up to that index (issue 20: this allocated
/// 9.6 GB).
#[test]
fn huge_list_indices_are_ignored_not_allocated() {
    use rmlx_nn::{Module, Sequential};
    let mut model = Sequential::new(vec![
        Box::new(Linear::new(2, 2, true).unwrap()) as Box<dyn Module>
    ]);
    let w = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    let pairs = vec![
        ("layers.1000000000.weight".to_string(), w.clone()),
        ("layers.0.weight".to_string(), w.clone()),
    ];
    model.load_weights(pairs.clone(), false).unwrap();
    let l = model
        .module_at("layers.0")
        .unwrap()
        .as_any()
        .downcast_ref::<Linear>()
        .unwrap();
    assert_eq!(l.weight.to_vec::<f32>().unwrap(), vec![1.0, 2.0, 3.0, 4.0]);
    let Err(e) = model.load_weights(pairs, true) else {
        panic!("a strict load of an unknown name must fail");
    };
    assert!(e.to_string().contains("layers.1000000000.weight"), "{e}");
}
