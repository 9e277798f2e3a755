//! IO: round trips for every dtype and for views in all three formats, MLX-written oracle files,
//! and bad input (missing, truncated, corrupt, oversized headers, wrong magic) giving errors that
//! name the file, never panics.
// Tests favour plain `&[x.clone()]` argument lists and inline fn-pointer tables over helpers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rmlx_core::{bf16, f16, io, Array, Dtype, Error};

/// A fresh scratch directory for one test, removed again when the test ends (pass or fail).
struct TmpDir(PathBuf);

impl std::ops::Deref for TmpDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tmp_dir(name: &str) -> TmpDir {
    let d = std::env::temp_dir().join(format!("rmlx-io-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    TmpDir(d)
}

/// One small array of every dtype, with distinctive values (negative, fractional, extremes).
fn every_dtype() -> Vec<(String, Array)> {
    let s = &[2, 3];
    vec![
        (
            "bool",
            Array::from_bools(&[true, false, true, true, false, false], s).unwrap(),
        ),
        (
            "u8",
            Array::from_slice(&[0u8, 1, 2, 127, 128, 255], s).unwrap(),
        ),
        (
            "u16",
            Array::from_slice(&[0u16, 1, 300, 40000, 65535, 7], s).unwrap(),
        ),
        (
            "u32",
            Array::from_slice(&[0u32, 1, 70000, u32::MAX, 5, 6], s).unwrap(),
        ),
        (
            "u64",
            Array::from_slice(&[0u64, 1, u64::MAX, 1 << 40, 5, 6], s).unwrap(),
        ),
        (
            "i8",
            Array::from_slice(&[-128i8, -1, 0, 1, 127, 3], s).unwrap(),
        ),
        (
            "i16",
            Array::from_slice(&[-32768i16, -1, 0, 1, 32767, 3], s).unwrap(),
        ),
        (
            "i32",
            Array::from_slice(&[i32::MIN, -1, 0, 1, i32::MAX, 3], s).unwrap(),
        ),
        (
            "i64",
            Array::from_slice(&[i64::MIN, -1, 0, 1, i64::MAX, 3], s).unwrap(),
        ),
        (
            "f16",
            Array::from_slice(
                &[-1.5f32, 0.0, 65504.0, 1e-4, 3.140625, -0.0].map(f16::from_f32),
                s,
            )
            .unwrap(),
        ),
        (
            "bf16",
            Array::from_slice(
                &[-1.5f32, 0.0, 3.0e38, 1e-4, 3.140625, -2.0].map(bf16::from_f32),
                s,
            )
            .unwrap(),
        ),
        (
            "f32",
            Array::from_slice(&[-1.5f32, 0.1, f32::MAX, f32::MIN_POSITIVE, 3.5, -0.0], s).unwrap(),
        ),
        (
            "f64",
            Array::from_slice(&[-1.5f64, 0.1, f64::MAX, 1e-300, 3.5, -0.0], s).unwrap(),
        ),
    ]
    .into_iter()
    .map(|(n, a)| (n.to_string(), a))
    .collect()
}

/// The raw element bytes, row-major, of an array (via a u8 view of each storage type).
fn raw(a: &Array) -> Vec<u8> {
    match a.dtype() {
        Dtype::Bool => a
            .to_vec::<bool>()
            .unwrap()
            .into_iter()
            .map(|b| b as u8)
            .collect(),
        Dtype::U8 => a.to_vec::<u8>().unwrap(),
        Dtype::I8 => a.to_vec::<i8>().unwrap().iter().map(|&v| v as u8).collect(),
        Dtype::U16 => bytes_of(&a.to_vec::<u16>().unwrap()),
        Dtype::I16 => bytes_of(&a.to_vec::<i16>().unwrap()),
        Dtype::U32 => bytes_of(&a.to_vec::<u32>().unwrap()),
        Dtype::I32 => bytes_of(&a.to_vec::<i32>().unwrap()),
        Dtype::U64 => bytes_of(&a.to_vec::<u64>().unwrap()),
        Dtype::I64 => bytes_of(&a.to_vec::<i64>().unwrap()),
        Dtype::F16 => bytes_of(&a.to_vec::<f16>().unwrap()),
        Dtype::Bf16 => bytes_of(&a.to_vec::<bf16>().unwrap()),
        Dtype::F32 => bytes_of(&a.to_vec::<f32>().unwrap()),
        Dtype::F64 => bytes_of(&a.to_vec::<f64>().unwrap()),
        Dtype::C64 => bytes_of(&a.to_vec::<rmlx_core::Complex32>().unwrap()),
    }
}

fn bytes_of<T: bytemuck::Pod>(v: &[T]) -> Vec<u8> {
    bytemuck::cast_slice(v).to_vec()
}

fn assert_same(got: &Array, want: &Array, what: &str) {
    assert_eq!(got.dtype(), want.dtype(), "{what}");
    assert_eq!(got.shape(), want.shape(), "{what}");
    assert_eq!(raw(got), raw(want), "{what}");
}

fn no_temp_files(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        assert!(!name.ends_with(".tmp"), "left a temporary file {name}");
    }
}

#[test]
fn safetensors_round_trip_every_dtype_with_metadata() {
    let dir = tmp_dir("st-all");
    let arrays = every_dtype();
    let path = dir.join("all.safetensors");
    let meta: HashMap<String, String> = [("format".to_string(), "mlx".to_string())].into();
    io::save_safetensors(
        &path,
        arrays.iter().map(|(n, a)| (n.as_str(), a)),
        Some(&meta),
    )
    .unwrap();
    let (loaded, m) = io::load_safetensors(&path).unwrap();
    assert_eq!(m, meta);
    assert_eq!(loaded.len(), arrays.len());
    for (n, a) in &arrays {
        assert_same(&loaded[n.as_str()], a, n);
    }
    no_temp_files(&dir);
}

#[test]
fn npy_round_trip_every_dtype() {
    let dir = tmp_dir("npy-all");
    for (n, a) in every_dtype() {
        let path = dir.join(format!("{n}.npy"));
        io::save(&path, &a).unwrap();
        assert_same(&io::load(&path).unwrap(), &a, &n);
    }
    // bfloat16 is written with MLX's descr '<V2'.
    let bytes = std::fs::read(dir.join("bf16.npy")).unwrap();
    assert!(String::from_utf8_lossy(&bytes[..128]).contains("'descr': '<V2'"));
    let bytes = std::fs::read(dir.join("bool.npy")).unwrap();
    assert!(String::from_utf8_lossy(&bytes[..128]).contains("'descr': '|b1'"));
    no_temp_files(&dir);
}

#[test]
fn npz_round_trip_every_dtype_stored_and_compressed() {
    let dir = tmp_dir("npz-all");
    let arrays = every_dtype();
    for (file, compressed) in [("plain.npz", false), ("small.npz", true)] {
        let path = dir.join(file);
        let it = arrays.iter().map(|(n, a)| (n.clone(), a.clone()));
        if compressed {
            io::savez_compressed(&path, it).unwrap();
        } else {
            io::savez(&path, it).unwrap();
        }
        let loaded = io::load_npz(&path).unwrap();
        let names: Vec<&String> = loaded.keys().collect();
        let want: Vec<&String> = arrays.iter().map(|(n, _)| n).collect();
        assert_eq!(names, want, "archive order is save order");
        for (n, a) in &arrays {
            assert_same(&loaded[n.as_str()], a, n);
        }
    }
    no_temp_files(&dir);
}

#[test]
fn views_are_written_row_major() {
    let dir = tmp_dir("views");
    let a = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    let t = a.t().unwrap(); // [[1, 4], [2, 5], [3, 6]]
    let b = Array::from_slice(&[7i32, 8], &[2])
        .unwrap()
        .broadcast_to(&[3, 2])
        .unwrap();
    let want_t = vec![1.0f32, 4.0, 2.0, 5.0, 3.0, 6.0];

    io::save(dir.join("t.npy"), &t).unwrap();
    let l = io::load(dir.join("t.npy")).unwrap();
    assert_eq!(
        (l.shape(), l.to_vec::<f32>().unwrap()),
        (&[3usize, 2][..], want_t.clone())
    );

    io::save_safetensors(dir.join("v.safetensors"), [("t", &t), ("b", &b)], None).unwrap();
    let (m, _) = io::load_safetensors(dir.join("v.safetensors")).unwrap();
    assert_eq!(m["t"].to_vec::<f32>().unwrap(), want_t);
    assert_eq!(m["b"].to_vec::<i32>().unwrap(), vec![7, 8, 7, 8, 7, 8]);

    io::savez(dir.join("v.npz"), [("t", &t), ("b", &b)]).unwrap();
    let m = io::load_npz(dir.join("v.npz")).unwrap();
    assert_eq!(m["t"].to_vec::<f32>().unwrap(), want_t);
    assert_eq!(m["b"].shape(), &[3, 2]);
}

#[test]
fn scalars_and_empty_arrays_round_trip() {
    let dir = tmp_dir("edge");
    let s = Array::scalar(2.5f32);
    let e = Array::from_slice::<f32>(&[], &[0]).unwrap();
    let e2 = Array::from_slice::<i64>(&[], &[2, 0]).unwrap();
    for (n, a) in [("s", &s), ("e", &e), ("e2", &e2)] {
        io::save(dir.join(format!("{n}.npy")), a).unwrap();
        assert_same(&io::load(dir.join(format!("{n}.npy"))).unwrap(), a, n);
    }
    io::save_safetensors(
        dir.join("x.safetensors"),
        [("s", &s), ("e", &e), ("e2", &e2)],
        None,
    )
    .unwrap();
    let (m, meta) = io::load_safetensors(dir.join("x.safetensors")).unwrap();
    assert!(meta.is_empty());
    assert_same(&m["s"], &s, "s");
    assert_same(&m["e2"], &e2, "e2");
    io::savez(dir.join("x.npz"), [("s", &s), ("e2", &e2)]).unwrap();
    assert_same(&io::load_npz(dir.join("x.npz")).unwrap()["s"], &s, "npz s");
}

#[test]
fn extensions_are_appended_as_mlx_does() {
    let dir = tmp_dir("ext");
    let a = Array::from_slice(&[1u8, 2], &[2]).unwrap();
    io::save(dir.join("plain"), &a).unwrap();
    assert!(dir.join("plain.npy").exists());
    io::savez(dir.join("arch"), [("a", &a)]).unwrap();
    assert!(dir.join("arch.npz").exists());
    io::save_safetensors(dir.join("w"), [("a", &a)], None).unwrap();
    assert!(dir.join("w.safetensors").exists());
}

fn oracle(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/oracle")
        .join(name)
}

#[test]
fn loads_mlx_written_oracle_files() {
    let (m, meta) = io::load_safetensors(oracle("linear.safetensors")).unwrap();
    assert_eq!(meta["format"], "mlx-oracle");
    assert_eq!(meta["mlx_version"], "0.32.4");
    assert_eq!(meta["case"], "linear");
    assert_eq!(m.len(), 15);
    let x = &m["input.x"];
    assert_eq!((x.shape(), x.dtype()), (&[4usize, 16][..], Dtype::F32));
    assert_eq!(
        x.to_vec::<f32>().unwrap()[..3],
        [-0.654_910_8_f32, 1.603_371_3, -1.669_700_3]
    );
    let loss = &m["loss"];
    assert_eq!(loss.shape(), &[] as &[usize]);
    assert_eq!(loss.item::<f32>().unwrap(), 1.230_61);
    assert_eq!(m["grad.weight"].shape(), &[8, 16]);
    // Keys come back in file order (the oracle writes them sorted).
    let keys: Vec<&String> = m.keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);

    let (m, meta) = io::load_safetensors(oracle("core_ops.safetensors")).unwrap();
    assert_eq!(meta["case"], "core_ops");
    assert_eq!(m.len(), 308);
    let c = &m["where_broadcast.input.condition"];
    assert_eq!((c.shape(), c.dtype()), (&[3usize, 4][..], Dtype::Bool));
    assert_eq!(
        c.to_vec::<bool>().unwrap()[..6],
        [false, true, true, true, true, true]
    );
    let i = &m["take_flat.input.indices"];
    assert_eq!(i.dtype(), Dtype::I32);
    assert_eq!(i.to_vec::<i32>().unwrap(), vec![11, 0, 5, 5]);

    // Re-saving an MLX file and loading it again gives the same tensors and metadata.
    let dir = tmp_dir("resave");
    let (m, meta) = io::load_safetensors(oracle("linear.safetensors")).unwrap();
    io::save_safetensors(dir.join("again.safetensors"), &m, Some(&meta)).unwrap();
    let (m2, meta2) = io::load_safetensors(dir.join("again.safetensors")).unwrap();
    assert_eq!(meta2, meta);
    for (k, v) in &m {
        assert_same(&m2[k], v, k);
    }
}

// ---------------------------------------------------------------- bad input

fn assert_format_err<T>(r: rmlx_core::Result<T>, file: &Path, what: &str) {
    match r.map(|_| ()) {
        Err(Error::Format { path, message }) => {
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            assert!(
                path.contains(&name),
                "{what}: error names {path}, not {name}"
            );
            assert!(!message.is_empty());
        }
        Err(other) => panic!("{what}: expected Error::Format, got {other:?}"),
        Ok(()) => panic!("{what}: expected Error::Format, got Ok"),
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn missing_files_are_io_errors_with_the_path() {
    let dir = tmp_dir("missing");
    let p = dir.join("nope.safetensors");
    for r in [
        io::load_safetensors(&p).map(|_| ()),
        io::load(&p).map(|_| ()),
        io::load_npz(&p).map(|_| ()),
    ] {
        match r {
            Err(Error::Io { path, source }) => {
                assert!(path.contains("nope.safetensors"));
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("expected Error::Io, got {other:?}"),
        }
    }
}

fn safetensors_bytes(header: &str, data: &[u8]) -> Vec<u8> {
    let mut b = (header.len() as u64).to_le_bytes().to_vec();
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(data);
    b
}

#[test]
fn bad_safetensors_files() {
    let dir = tmp_dir("bad-st");
    let a = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[4]).unwrap();
    let good = dir.join("good.safetensors");
    io::save_safetensors(&good, [("a", &a)], None).unwrap();
    let bytes = std::fs::read(&good).unwrap();

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty.safetensors", vec![]),
        ("short.safetensors", vec![1, 2, 3]),
        ("truncated.safetensors", bytes[..bytes.len() - 5].to_vec()),
        ("header_cut.safetensors", bytes[..20].to_vec()),
        ("huge_header.safetensors", {
            let mut b = 200_000_000u64.to_le_bytes().to_vec();
            b.extend_from_slice(b"{}");
            b
        }),
        ("header_past_end.safetensors", {
            let mut b = 5000u64.to_le_bytes().to_vec();
            b.extend_from_slice(b"{\"a\": 1}");
            b
        }),
        ("max_len.safetensors", u64::MAX.to_le_bytes().to_vec()),
        (
            "garbage_json.safetensors",
            safetensors_bytes("{not json!", &[]),
        ),
        (
            "bad_offsets.safetensors",
            safetensors_bytes(
                r#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,12]}}"#,
                &[0; 16],
            ),
        ),
        (
            "shape_mismatch.safetensors",
            safetensors_bytes(
                r#"{"a":{"dtype":"F32","shape":[5],"data_offsets":[0,16]}}"#,
                &[0; 16],
            ),
        ),
        (
            "unsupported.safetensors",
            safetensors_bytes(
                r#"{"a":{"dtype":"F8_E5M2","shape":[2],"data_offsets":[0,2]}}"#,
                &[0; 2],
            ),
        ),
        (
            "npy_magic.safetensors",
            b"\x93NUMPY\x01\x00garbage".to_vec(),
        ),
    ];
    for (name, b) in cases {
        let p = write(&dir, name, &b);
        assert_format_err(io::load_safetensors(&p), &p, name);
    }
    // MLX loads F8_E4M3 as raw uint8.
    let p = write(
        &dir,
        "f8.safetensors",
        &safetensors_bytes(
            r#"{"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}"#,
            &[7, 9],
        ),
    );
    let (m, _) = io::load_safetensors(&p).unwrap();
    assert_eq!(m["a"].dtype(), Dtype::U8);
    assert_eq!(m["a"].to_vec::<u8>().unwrap(), vec![7, 9]);
}

fn npy_bytes(major: u8, header: &str, data: &[u8]) -> Vec<u8> {
    let mut b = b"\x93NUMPY".to_vec();
    b.push(major);
    b.push(0);
    if major == 1 {
        b.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        b.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(data);
    b
}

#[test]
fn npy_headers_written_by_others() {
    let dir = tmp_dir("npy-others");
    // numpy 1-d style with `(3,)`, MLX style with a trailing `, )`, v2, fortran order, big-endian.
    let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let p = write(
        &dir,
        "mlx.npy",
        &npy_bytes(
            1,
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, )}   \n",
            &data,
        ),
    );
    let a = io::load(&p).unwrap();
    assert_eq!(
        (a.shape(), a.to_vec::<f32>().unwrap()),
        (&[2usize, 3][..], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    );
    let p = write(
        &dir,
        "v2.npy",
        &npy_bytes(
            2,
            "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (6,)}\n",
            &data,
        ),
    );
    assert_eq!(io::load(&p).unwrap().shape(), &[6]);
    let p = write(
        &dir,
        "f.npy",
        &npy_bytes(
            1,
            "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n",
            &data,
        ),
    );
    let a = io::load(&p).unwrap();
    assert_eq!(
        a.to_vec::<f32>().unwrap(),
        vec![1.0, 3.0, 5.0, 2.0, 4.0, 6.0]
    );
    let be: Vec<u8> = [1i32, -2].iter().flat_map(|v| v.to_be_bytes()).collect();
    let p = write(
        &dir,
        "be.npy",
        &npy_bytes(
            1,
            "{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }\n",
            &be,
        ),
    );
    assert_eq!(io::load(&p).unwrap().to_vec::<i32>().unwrap(), vec![1, -2]);
}

#[test]
fn bad_npy_files() {
    let dir = tmp_dir("bad-npy");
    let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n";
    let eight = [0u8; 8];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty.npy", vec![]),
        ("magic.npy", b"PK\x03\x04 definitely not npy".to_vec()),
        ("short.npy", b"\x93NUMPY\x01".to_vec()),
        ("version.npy", npy_bytes(9, h, &eight)),
        ("header_past_end.npy", {
            let mut b = npy_bytes(1, h, &eight);
            b[8] = 0xff;
            b[9] = 0xff;
            b.truncate(40);
            b
        }),
        ("huge_header.npy", {
            let mut b = b"\x93NUMPY\x02\x00".to_vec();
            b.extend_from_slice(&200_000_000u32.to_le_bytes());
            b.extend_from_slice(b"{}");
            b
        }),
        ("truncated_data.npy", npy_bytes(1, h, &eight[..5])),
        ("extra_data.npy", npy_bytes(1, h, &[0u8; 12])),
        (
            "bad_descr.npy",
            npy_bytes(
                1,
                "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }\n",
                &eight,
            ),
        ),
        (
            "bad_dict.npy",
            npy_bytes(
                1,
                "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,)}\n",
                &eight,
            ),
        ),
        (
            "no_shape.npy",
            npy_bytes(1, "{'descr': '<f4', 'fortran_order': False}\n", &eight),
        ),
        ("unclosed.npy", npy_bytes(1, "{'descr': '<f4", &[])),
        (
            "overflow.npy",
            npy_bytes(
                1,
                "{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551615, 4), }\n",
                &eight,
            ),
        ),
        (
            "bad_int.npy",
            npy_bytes(
                1,
                "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }\n",
                &eight,
            ),
        ),
    ];
    for (name, b) in cases {
        let p = write(&dir, name, &b);
        assert_format_err(io::load(&p), &p, name);
    }
}

#[test]
fn bad_npz_files() {
    let dir = tmp_dir("bad-npz");
    let a = Array::from_slice(&[1.0f32; 64], &[64]).unwrap();
    let good = dir.join("good.npz");
    io::savez_compressed(&good, [("a", &a)]).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let mut flipped = bytes.clone();
    // Corrupt the compressed stream (after the local header and name).
    for b in flipped.iter_mut().skip(40).take(20) {
        *b ^= 0x5a;
    }
    // A well-formed zip whose member is not an npy file.
    let mut not_npy = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut not_npy);
        z.start_file("x.npy", zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut z, b"hello").unwrap();
        z.finish().unwrap();
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty.npz", vec![]),
        ("magic.npz", b"\x93NUMPY\x01\x00 not a zip at all".to_vec()),
        ("truncated.npz", bytes[..bytes.len() / 2].to_vec()),
        ("flipped.npz", flipped),
        ("member.npz", not_npy.into_inner()),
    ];
    for (name, b) in cases {
        let p = write(&dir, name, &b);
        assert_format_err(io::load_npz(&p), &p, name);
    }
}

#[test]
fn failed_saves_leave_the_earlier_file_intact() {
    let dir = tmp_dir("atomic");
    let a = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
    let st = dir.join("w.safetensors");
    io::save_safetensors(&st, [("a", &a)], None).unwrap();
    // Duplicate names are rejected before anything is written.
    assert!(matches!(
        io::save_safetensors(&st, [("a", &a), ("a", &a)], None),
        Err(Error::Key(_))
    ));
    assert!(matches!(
        io::savez(dir.join("x.npz"), [("a", &a), ("a", &a)]),
        Err(Error::Key(_))
    ));
    assert!(!dir.join("x.npz").exists());
    // A destination that cannot be replaced (a non-empty directory) fails at the rename.
    let blocked = dir.join("blocked.npy");
    std::fs::create_dir_all(blocked.join("inner")).unwrap();
    assert!(matches!(io::save(&blocked, &a), Err(Error::Io { .. })));
    assert!(blocked.join("inner").is_dir());
    // The earlier file still loads with its old contents; no temporary files remain.
    let (m, _) = io::load_safetensors(&st).unwrap();
    assert_eq!(m["a"].to_vec::<f32>().unwrap(), vec![1.0, 2.0]);
    no_temp_files(&dir);
    // Overwriting works and replaces the contents.
    let b = Array::from_slice(&[3i32], &[1]).unwrap();
    io::save_safetensors(&st, [("b", &b)], None).unwrap();
    let (m, _) = io::load_safetensors(&st).unwrap();
    assert_eq!(m.keys().collect::<Vec<_>>(), vec!["b"]);
}

/// An .npy with a zero dimension beside huge ones (zero bytes of data, but strides no machine
/// can address) is a format error, not a panic (issue 20).
#[test]
fn npy_with_huge_zero_size_dims_is_an_error() {
    let dir = tmp_dir("npy-huge");
    let p = write(
        &dir,
        "huge.npy",
        &npy_bytes(
            1,
            "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4611686018427387904, 4611686018427387904), }\n",
            &[],
        ),
    );
    let e = io::load(&p).unwrap_err();
    assert!(e.to_string().contains("too large"), "{e}");
    // a plain empty array still loads
    let p = write(
        &dir,
        "empty.npy",
        &npy_bytes(
            1,
            "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }\n",
            &[],
        ),
    );
    assert_eq!(io::load(&p).unwrap().shape(), &[0, 3]);
}
