//! `Factor`: the dense factorisations of `linalg` (MLX's `QRF`, `SVD`, `Inverse`, `Cholesky`,
//! `Eigh` and `LUF` primitives), one primitive with the factorisation as its parameter. Each
//! works on the last two axes and batches over the others; the kernels are faer's
//! (`rmlx-cpu`'s `backend::cpu::linalg`). As in MLX they have no vjp or jvp; their vmap rule
//! moves the mapped axis in front of the batch axes.

use std::sync::Arc;

use super::{batching, Primitive, Vmapped};
use crate::backend::cpu::convert::cast;
use crate::backend::cpu::linalg as k;
use crate::buffer::{collect_contiguous, Buffer, Data};
use crate::checked::Checked;
use crate::{bail, Array, Dtype, Result};

/// Which factorisation a [`Factor`] node computes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Factorization {
    /// Reduced QR: outputs `Q` (`[.., m, k]`) and `R` (`[.., k, n]`).
    Qr,
    /// SVD: `U`, `S`, `Vᵀ` (full matrices), or only `S` without `compute_uv`.
    Svd {
        /// Compute `U` and `Vᵀ` as well as the singular values.
        compute_uv: bool,
    },
    /// Inverse of a square matrix, or of a triangular one (`tri`) read from its `upper` or lower
    /// triangle.
    Inverse {
        /// The input is triangular.
        tri: bool,
        /// Which triangle a triangular input is read from.
        upper: bool,
    },
    /// Cholesky factor, lower (`A = L Lᵀ`) or `upper` (`A = Uᵀ U`).
    Cholesky {
        /// Return the upper factor (read from the upper triangle).
        upper: bool,
    },
    /// Symmetric eigendecomposition: eigenvalues (ascending) and, with `vectors`, eigenvectors.
    Eigh {
        /// Read the lower triangle (MLX's `UPLO="L"`), else the upper one.
        lower: bool,
        /// Compute the eigenvectors as well.
        vectors: bool,
    },
    /// LU with partial pivoting: packed `LU`, getrf's pivots and MLX's row indices.
    Lu,
    /// General eigendecomposition: complex64 eigenvalues and, with `vectors`, eigenvectors.
    Eig {
        /// Compute the eigenvectors as well.
        vectors: bool,
    },
}

/// A factorisation of the last two axes of its one input (see [`Factorization`]).
#[derive(Debug, Clone)]
pub struct Factor(pub Factorization);

impl Factor {
    /// The outputs' shapes and dtypes for an input of `shape` and `dtype`.
    pub fn outputs(&self, shape: &[usize], dtype: Dtype) -> Result<Vec<(Vec<usize>, Dtype)>> {
        let [lead @ .., m, n] = shape else {
            bail!(
                Shape,
                "{}: expects an input of at least 2 dimensions, got shape {shape:?}",
                self.name()
            );
        };
        let (m, n) = (*m, *n);
        let k = m.min(n);
        let with = |last2: &[usize]| {
            let mut s = lead.to_vec();
            s.extend_from_slice(last2);
            s
        };
        Ok(match self.0 {
            Factorization::Qr => vec![(with(&[m, k]), dtype), (with(&[k, n]), dtype)],
            Factorization::Svd { compute_uv: true } => vec![
                (with(&[m, m]), dtype),
                (with(&[k]), dtype),
                (with(&[n, n]), dtype),
            ],
            Factorization::Svd { compute_uv: false } => vec![(with(&[k]), dtype)],
            Factorization::Inverse { .. } | Factorization::Cholesky { .. } => {
                vec![(shape.to_vec(), dtype)]
            }
            Factorization::Eigh { vectors, .. } => {
                let mut out = vec![(with(&[n]), dtype)];
                if vectors {
                    out.push((shape.to_vec(), dtype));
                }
                out
            }
            Factorization::Eig { vectors } => {
                let mut out = vec![(with(&[n]), Dtype::C64)];
                if vectors {
                    out.push((shape.to_vec(), Dtype::C64));
                }
                out
            }
            Factorization::Lu => vec![
                (shape.to_vec(), dtype),
                (with(&[k]), Dtype::U32),
                (with(&[m]), Dtype::U32),
            ],
        })
    }

    /// Builds the node(s) for `x` (already checked: float32/float64, at least 2-D, square where
    /// the factorisation needs it).
    pub fn apply(self, x: &Array) -> Result<Vec<Array>> {
        let outs = self.outputs(x.shape(), x.dtype())?;
        Ok(Array::from_primitive_multi(
            outs,
            Arc::new(self),
            vec![x.clone()],
        ))
    }

    /// Runs the f64 kernel on `x` (float32 is widened, and float outputs rounded back).
    fn run(&self, x: &Data, outputs: &[(Vec<usize>, Dtype)]) -> Result<Vec<Data>> {
        let shape = x.shape();
        let nd = shape.len();
        let (m, n) = (*shape.at(nd - 2)?, *shape.at(nd - 1)?);
        let batch: usize = shape.span(..nd - 2)?.iter().product();
        let a = collect_contiguous::<f64>(&cast(x.clone(), Dtype::F64)?);
        let vecs: Vec<Vec<f64>> = match self.0 {
            Factorization::Qr => {
                let (q, r) = k::qr(&a, batch, m, n);
                vec![q, r]
            }
            Factorization::Svd { compute_uv } => {
                let (u, s, vt) = k::svd(&a, batch, m, n, compute_uv)?;
                if compute_uv {
                    vec![u, s, vt]
                } else {
                    vec![s]
                }
            }
            Factorization::Inverse { tri: false, .. } => vec![k::inverse(&a, batch, n)?],
            Factorization::Inverse { tri: true, upper } => {
                vec![k::tri_inverse(&a, batch, n, upper)?]
            }
            Factorization::Cholesky { upper } => vec![k::cholesky(&a, batch, n, upper)?],
            Factorization::Eigh { lower, vectors } => {
                let (w, v) = k::eigh(&a, batch, n, lower, vectors)?;
                if vectors {
                    vec![w, v]
                } else {
                    vec![w]
                }
            }
            Factorization::Eig { vectors } => {
                let (w, v) = k::eig(&a, batch, n, vectors)?;
                let data = |v: &[crate::Complex32], i: usize| {
                    Ok(Data::new(
                        Buffer::from_slice(v),
                        Dtype::C64,
                        &outputs.at(i)?.0,
                    ))
                };
                let mut out = vec![data(&w, 0)?];
                if vectors {
                    out.push(data(&v, 1)?);
                }
                return Ok(out);
            }
            Factorization::Lu => {
                let (lu, piv, rows) = k::lu_factor(&a, batch, m, n);
                let data = |v: &[u32], i: usize| -> Result<Data> {
                    Ok(Data::new(
                        Buffer::from_slice(v),
                        Dtype::U32,
                        &outputs.at(i)?.0,
                    ))
                };
                return Ok(vec![
                    float(&lu, outputs.at(0)?)?,
                    data(&piv, 1)?,
                    data(&rows, 2)?,
                ]);
            }
        };
        if vecs.len() != outputs.len() {
            bail!(
                Value,
                "{}: {} outputs computed for {} nodes",
                self.name(),
                vecs.len(),
                outputs.len()
            );
        }
        vecs.iter().zip(outputs).map(|(v, o)| float(v, o)).collect()
    }
}

/// f64 kernel output as the node's output of `shape` and float `dtype`.
fn float(v: &[f64], (shape, dtype): &(Vec<usize>, Dtype)) -> Result<Data> {
    let d = Data::new(Buffer::from_slice(v), Dtype::F64, shape);
    if *dtype == Dtype::F64 {
        Ok(d)
    } else {
        cast(d, *dtype)
    }
}

impl Primitive for Factor {
    fn name(&self) -> &'static str {
        match self.0 {
            Factorization::Qr => "QRF",
            Factorization::Svd { .. } => "SVD",
            Factorization::Inverse { .. } => "Inverse",
            Factorization::Cholesky { .. } => "Cholesky",
            Factorization::Eigh { .. } => "Eigh",
            Factorization::Lu => "LUF",
            Factorization::Eig { .. } => "Eig",
        }
    }

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let mut out = self.eval_cpu_multi(inputs, &[(shape.to_vec(), dtype)])?;
        match out.pop() {
            Some(d) if out.is_empty() => Ok(d),
            _ => bail!(
                Value,
                "{}: has several outputs (evaluated through eval_cpu_multi)",
                self.name()
            ),
        }
    }

    fn eval_cpu_multi(
        &self,
        inputs: Vec<Data>,
        outputs: &[(Vec<usize>, Dtype)],
    ) -> Result<Vec<Data>> {
        let [x] = super::take_inputs(self.name(), inputs)?;
        if x.shape().len() < 2 {
            bail!(
                Shape,
                "{}: expects at least 2 dimensions, got shape {:?}",
                self.name(),
                x.shape()
            );
        }
        match x.dtype() {
            Dtype::F32 | Dtype::F64 => self.run(&x, outputs),
            d => bail!(
                Dtype,
                "{}: arrays must have type float32 or float64, got {d}",
                self.name()
            ),
        }
    }

    fn output_shapes(&self, inputs: &[Array]) -> Result<Vec<Vec<usize>>> {
        match inputs {
            [x] if x.ndim() >= 2 => Ok(self
                .outputs(x.shape(), x.dtype())?
                .into_iter()
                .map(|(s, _)| s)
                .collect()),
            _ => bail!(
                Shape,
                "{}: expects one input of at least 2 dimensions",
                self.name()
            ),
        }
    }

    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        let (x, ax) = batching::single(self.name(), inputs, axes)?;
        let x = batching::move_axis(&x, ax, 0)?;
        Ok(batching::outputs_at(self.clone().apply(&x)?, 0))
    }
}
