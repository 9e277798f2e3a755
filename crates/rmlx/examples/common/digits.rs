//! What the digits examples share (`mlp`, `per_example_grads`): the handwritten digits shipped in
//! `examples/data/digits.csv.gz`, a deterministic shuffle, minibatches, and the MLP.

use rmlx::core::{self as mx, Array, Dtype};
use rmlx::nn::{Linear, Module, ModuleState};
use std::io::Read;
use std::path::PathBuf;

/// `Linear → ReLU → Linear → ReLU → Linear`.
#[derive(Module)]
#[module(crate = "rmlx::nn")]
pub struct Mlp {
    pub layers: Vec<Linear>,
    state: ModuleState,
}

impl Mlp {
    pub fn new(sizes: &[usize]) -> mx::Result<Mlp> {
        let layers = sizes
            .windows(2)
            .map(|w| Linear::new(w[0], w[1], true))
            .collect::<mx::Result<_>>()?;
        Ok(Mlp {
            layers,
            state: ModuleState::default(),
        })
    }

    pub fn forward(&self, x: &Array) -> mx::Result<Array> {
        let zero = Array::scalar(0.0f32);
        let mut h = x.clone();
        for (i, l) in self.layers.iter().enumerate() {
            h = l.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = h.maximum(&zero)?;
            }
        }
        Ok(h)
    }
}

/// Images (64 pixels scaled to [0, 1] each) and labels.
pub struct Digits {
    pub x: Vec<f32>,
    pub y: Vec<i32>,
}

/// Reads the gzipped CSV (64 pixel values 0..16, then the label, per line).
pub fn load(path: &PathBuf) -> Result<Digits, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot decompress {}: {e}", path.display()))?;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let vals: Vec<f32> = line
            .split(',')
            .map(|v| v.trim().parse::<f32>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
        if vals.len() != 65 {
            return Err(format!(
                "{}:{}: expected 65 values (64 pixels and a label), got {}",
                path.display(),
                n + 1,
                vals.len()
            ));
        }
        let label = vals[64];
        if !(0.0..=9.0).contains(&label) || label.fract() != 0.0 {
            return Err(format!("{}:{}: bad label {label}", path.display(), n + 1));
        }
        x.extend(vals[..64].iter().map(|v| v / 16.0));
        y.push(label as i32);
    }
    if y.is_empty() {
        return Err(format!("{}: no images", path.display()));
    }
    Ok(Digits { x, y })
}

/// A small deterministic generator for the shuffles (xorshift64*).
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, (self.next() % (i as u64 + 1)) as usize);
        }
    }
}

/// The images and labels at `idx`.
pub fn batch(d: &Digits, idx: &[usize]) -> mx::Result<(Array, Array)> {
    let mut x = Vec::with_capacity(idx.len() * 64);
    for &i in idx {
        x.extend_from_slice(&d.x[i * 64..(i + 1) * 64]);
    }
    let y: Vec<i32> = idx.iter().map(|&i| d.y[i]).collect();
    Ok((
        Array::from_vec(x, &[idx.len(), 64])?,
        Array::from_vec(y, &[idx.len()])?,
    ))
}

/// The share of the images at `idx` the model labels right.
pub fn accuracy(model: &Mlp, d: &Digits, idx: &[usize]) -> mx::Result<f64> {
    let (x, y) = batch(d, idx)?;
    let pred = model.forward(&x)?.argmax(-1, false)?.astype(Dtype::I32)?;
    let hits = pred
        .equal(&y)?
        .astype(Dtype::F32)?
        .sum(None, false)?
        .item::<f32>()?;
    Ok(f64::from(hits) / idx.len() as f64)
}
