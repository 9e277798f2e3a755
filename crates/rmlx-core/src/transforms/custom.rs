//! User-supplied derivative rules: [`CustomFunction`] and [`custom_vjp`] (MLX's
//! `mx.custom_function` with `.vjp` / `.jvp`, and C++ `custom_vjp`).
//!
//! A custom function becomes one graph node whose inputs are the function's inputs. Evaluating it
//! runs the function on the evaluated inputs and keeps only its output (no intermediate of the
//! function stays referenced by the graph). Differentiating it calls the user's rule, or, without
//! one, differentiates the function itself by re-running it ([`checkpoint`](super::checkpoint)
//! is exactly that).
//!
//! rmlx primitives have one output, so a custom function must return exactly one array.

use std::fmt;
use std::sync::Arc;

use super::{jvp, vjp_with_argnums, vmap, zeros_like, ArrayFn};
use crate::buffer::Data;
use crate::checked::Checked;
use crate::primitives::{Primitive, Vmapped};
use crate::{bail, Array, Dtype, Result};

/// A custom reverse rule: `(primals, cotangents, outputs) -> one cotangent per primal`
/// (`cotangents` and `outputs` have one entry per output of the function).
pub type VjpFn = dyn Fn(&[Array], &[Array], &[Array]) -> Result<Vec<Array>> + Send + Sync;

/// A custom forward rule: `(primals, tangents, argnums) -> one tangent per output`, where
/// `tangents[i]` is the tangent of `primals[argnums[i]]` (the others are zero).
pub type JvpFn = dyn Fn(&[Array], &[Array], &[usize]) -> Result<Vec<Array>> + Send + Sync;

/// A custom vectorising rule (MLX's `custom_function.vmap`): `(inputs, axes) -> (outputs,
/// output axes)`, where `axes[i]` is the mapped axis of `inputs[i]` (`None`: not mapped).
pub type VmapFn = dyn Fn(&[Array], &[Option<usize>]) -> Result<Vmapped> + Send + Sync;

/// A function with optional custom derivative rules (MLX's `mx.custom_function`).
///
/// ```
/// use rmlx_core::{self as mx, Array, CustomFunction, Result};
/// // f(x) = x * x, but with a (deliberately wrong) gradient of 10 * cotangent
/// let f = CustomFunction::new(|p: &[Array]| Ok(vec![(&p[0] * &p[0])?]))
///     .with_vjp(|_primals: &[Array], cots: &[Array], _outs: &[Array]| Ok(vec![(&cots[0] * 10.0)?]));
/// let loss = move |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![f.call(p)?[0].sum(None, false)?]) };
/// let g = mx::grad(loss, &[0])(&[Array::from_slice(&[3.0f32], &[1])?])?;
/// assert_eq!(g[0].to_vec::<f32>()?, vec![10.0]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone)]
pub struct CustomFunction {
    name: &'static str,
    fun: Arc<ArrayFn>,
    vjp: Option<Arc<VjpFn>>,
    jvp: Option<Arc<JvpFn>>,
    vmap: Option<Arc<VmapFn>>,
}

impl fmt::Debug for CustomFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomFunction")
            .field("name", &self.name)
            .field("vjp", &self.vjp.is_some())
            .field("jvp", &self.jvp.is_some())
            .field("vmap", &self.vmap.is_some())
            .finish()
    }
}

impl CustomFunction {
    /// Wraps `fun` (which must return exactly one array). Without rules, it is differentiated by
    /// re-running `fun` under the transform.
    pub fn new<F>(fun: F) -> CustomFunction
    where
        F: Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
    {
        CustomFunction {
            name: "CustomTransforms",
            fun: Arc::new(fun),
            vjp: None,
            jvp: None,
            vmap: None,
        }
    }

    pub(crate) fn named(mut self, name: &'static str) -> CustomFunction {
        self.name = name;
        self
    }

    /// Sets the reverse rule (see [`VjpFn`]).
    pub fn with_vjp<V>(mut self, vjp: V) -> CustomFunction
    where
        V: Fn(&[Array], &[Array], &[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
    {
        self.vjp = Some(Arc::new(vjp));
        self
    }

    /// Sets the vectorising rule (see [`VmapFn`]), used by [`vmap`](super::vmap) instead of
    /// vmapping the function itself.
    ///
    /// ```
    /// use rmlx_core::{self as mx, Array, CustomFunction};
    /// // a rule that knows the function is elementwise: apply it to the whole batch at once
    /// let f = CustomFunction::new(|x: &[Array]| Ok(vec![x[0].exp()?]))
    ///     .with_vmap(|x: &[Array], axes: &[Option<usize>]| Ok((vec![x[0].exp()?], axes.to_vec())))
    ///     .into_fn();
    /// let x = Array::from_slice(&[0.0f32, 0.0], &[2, 1])?;
    /// let y = mx::vmap(f, &[Some(0)], &[])(&[x])?;
    /// assert_eq!(y[0].to_vec::<f32>()?, vec![1.0, 1.0]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn with_vmap<V>(mut self, vmap: V) -> CustomFunction
    where
        V: Fn(&[Array], &[Option<usize>]) -> Result<Vmapped> + Send + Sync + 'static,
    {
        self.vmap = Some(Arc::new(vmap));
        self
    }

    /// Sets the forward rule (see [`JvpFn`]).
    pub fn with_jvp<J>(mut self, jvp: J) -> CustomFunction
    where
        J: Fn(&[Array], &[Array], &[usize]) -> Result<Vec<Array>> + Send + Sync + 'static,
    {
        self.jvp = Some(Arc::new(jvp));
        self
    }

    /// Applies the function: one lazy node over `inputs`. The function is traced once here (lazily,
    /// nothing is computed) to learn the output's shape and dtype.
    pub fn call(&self, inputs: &[Array]) -> Result<Vec<Array>> {
        let outs = (self.fun)(inputs)?;
        if outs.len() != 1 {
            bail!(
                Transform,
                "[custom_function] the function must return exactly one array (rmlx primitives have one output), got {}",
                outs.len()
            );
        }
        let (shape, dtype) = (outs.at(0)?.shape().to_vec(), outs.at(0)?.dtype());
        drop(outs);
        Ok(vec![Array::from_primitive(
            shape,
            dtype,
            Arc::new(Custom(self.clone())),
            inputs.to_vec(),
        )])
    }

    /// The function as a closure (usable with the other transforms).
    pub fn into_fn(self) -> impl Fn(&[Array]) -> Result<Vec<Array>> + Clone + Send + Sync {
        move |inputs: &[Array]| self.call(inputs)
    }
}

/// `f` with the reverse rule `vjp_fn` (see [`VjpFn`]); MLX's `custom_vjp`.
pub fn custom_vjp<F, V>(
    f: F,
    vjp_fn: V,
) -> impl Fn(&[Array]) -> Result<Vec<Array>> + Clone + Send + Sync
where
    F: Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
    V: Fn(&[Array], &[Array], &[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
{
    CustomFunction::new(f).with_vjp(vjp_fn).into_fn()
}

/// The graph node of a [`CustomFunction`].
struct Custom(CustomFunction);

impl fmt::Debug for Custom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Primitive for Custom {
    fn name(&self) -> &'static str {
        self.0.name
    }

    /// Two custom functions are the same computation only when they are the same node's
    /// function: their closures cannot be compared.
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        std::ptr::addr_eq(self as *const Custom, other as *const dyn Primitive)
    }

    fn eval_cpu(&self, inputs: Vec<Data>, shape: &[usize], dtype: Dtype) -> Result<Data> {
        let arrays: Vec<Array> = inputs.into_iter().map(Array::from_data).collect();
        let outs = (self.0.fun)(&arrays)?;
        drop(arrays);
        let Some(out) = outs.into_iter().next() else {
            bail!(
                Transform,
                "[custom_function] the function returned no array"
            );
        };
        if out.shape() != shape || out.dtype() != dtype {
            bail!(
                Transform,
                "[custom_function] the function returned {:?} {} at evaluation but {:?} {} when traced",
                out.shape(),
                out.dtype(),
                shape,
                dtype
            );
        }
        out.data()
    }

    fn vjp(
        &self,
        primals: &[Array],
        cotangent: &Array,
        output: &Array,
        argnums: &[usize],
    ) -> Result<Vec<Array>> {
        match &self.0.vjp {
            Some(rule) => {
                let all = rule(
                    primals,
                    std::slice::from_ref(cotangent),
                    std::slice::from_ref(output),
                )?;
                if all.len() != primals.len() {
                    bail!(
                        Transform,
                        "[custom_function] the vjp rule returned {} cotangents for {} inputs",
                        all.len(),
                        primals.len()
                    );
                }
                argnums.iter().map(|&i| Ok(all.at(i)?.clone())).collect()
            }
            None => {
                let fun = self.0.fun.clone();
                let (_, vjps) = vjp_with_argnums(
                    move |x: &[Array]| fun(x),
                    primals,
                    std::slice::from_ref(cotangent),
                    argnums,
                )?;
                Ok(vjps)
            }
        }
    }

    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Array> {
        let outs = match &self.0.jvp {
            Some(rule) => rule(primals, tangents, argnums)?,
            None => {
                let mut full = primals.iter().map(zeros_like).collect::<Result<Vec<_>>>()?;
                for (t, &i) in tangents.iter().zip(argnums) {
                    *full.at_mut(i)? = t.clone();
                }
                let fun = self.0.fun.clone();
                jvp(move |x: &[Array]| fun(x), primals, &full)?.1
            }
        };
        outs.into_iter().next().ok_or_else(|| {
            crate::Error::Transform("[custom_function] the jvp rule returned no tangent".into())
        })
    }
    /// The user's rule when there is one; otherwise MLX's default: the function itself
    /// vmapped, its outputs' mapped axis first. As in MLX, that default is an ordinary vmapped
    /// graph: a transform of the vmapped function (`grad(vmap(f))`) differentiates the function,
    /// not the custom rules (`vmap(grad(f))` does use them).
    fn vmap(&self, inputs: &[Array], axes: &[Option<usize>]) -> Result<Vmapped> {
        if let Some(rule) = &self.0.vmap {
            return rule(inputs, axes);
        }
        let in_axes: Vec<Option<isize>> = axes.iter().map(|a| a.map(|a| a as isize)).collect();
        let fun = self.0.fun.clone();
        let outs = vmap(move |x: &[Array]| fun(x), &in_axes, &[0])(inputs)?;
        let n = outs.len();
        Ok((outs, vec![Some(0); n]))
    }
}
