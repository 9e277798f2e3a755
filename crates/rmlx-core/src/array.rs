//! The [`Array`] handle: shape and dtype known at once, data after evaluation.

use std::sync::{Arc, Mutex, OnceLock};

use crate::buffer::{collect_contiguous, Buffer, Data};
use crate::checked::Checked;
use crate::dtype::{ScalarValue, ToVecElement};
use crate::graph::{self, Node, Siblings};
use crate::primitives::Primitive;
use crate::{bail, Dtype, Element, Error, Result};

/// An n-dimensional array, MLX style: a cheap, shareable handle to a lazily computed value.
///
/// Building ops only records a graph node; [`Array::eval`] (or reading the data with
/// [`Array::to_vec`] / [`Array::item`]) computes it.
///
/// ```
/// use rmlx_core::{Array, Dtype};
/// let a = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
/// assert_eq!(a.shape(), &[2, 2]);
/// assert_eq!(a.dtype(), Dtype::F32);
/// assert_eq!(a.to_vec::<f32>()?, vec![1.0, 2.0, 3.0, 4.0]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Array(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) shape: Vec<usize>,
    pub(crate) dtype: Dtype,
    /// Set on the tracer copies a transform makes of its primals, and on everything computed
    /// from them. While a transform is running, evaluation keeps a tracer's graph.
    pub(crate) tracer: bool,
    pub(crate) node: Mutex<Option<Node>>,
    pub(crate) data: OnceLock<Data>,
}

impl Array {
    /// An evaluated array over existing data.
    pub fn from_data(data: Data) -> Array {
        Array(Arc::new(Inner {
            shape: data.shape().to_vec(),
            dtype: data.dtype(),
            tracer: false,
            node: Mutex::new(None),
            data: OnceLock::from(data),
        }))
    }

    /// A lazy array: the output of `primitive` applied to `inputs`, with the given (already
    /// inferred) shape and dtype. This is how every op builds its node.
    pub fn from_primitive(
        shape: Vec<usize>,
        dtype: Dtype,
        primitive: Arc<dyn Primitive>,
        inputs: Vec<Array>,
    ) -> Array {
        let tracer = inputs.iter().any(|a| a.0.tracer);
        Array(Arc::new(Inner {
            shape,
            dtype,
            tracer,
            node: Mutex::new(Some(Node::new(primitive, inputs))),
            data: OnceLock::new(),
        }))
    }

    /// The outputs of one node of a primitive with several outputs (MLX's siblings, e.g. the
    /// quotient and remainder of `divmod`), with their (already inferred) shapes and dtypes.
    /// Evaluating one evaluates all of them; transforms treat them as one node.
    pub fn from_primitive_multi(
        outputs: Vec<(Vec<usize>, Dtype)>,
        primitive: Arc<dyn Primitive>,
        inputs: Vec<Array>,
    ) -> Vec<Array> {
        if let [(shape, dtype)] = outputs.as_slice() {
            return vec![Array::from_primitive(
                shape.clone(),
                *dtype,
                primitive,
                inputs,
            )];
        }
        let tracer = inputs.iter().any(|a| a.0.tracer);
        let siblings = Arc::new(Siblings::new(outputs.clone()));
        let arrays: Vec<Array> = outputs
            .into_iter()
            .enumerate()
            .map(|(k, (shape, dtype))| {
                Array(Arc::new(Inner {
                    shape,
                    dtype,
                    tracer,
                    node: Mutex::new(Some(Node {
                        primitive: primitive.clone(),
                        inputs: inputs.clone(),
                        siblings: Some((siblings.clone(), k)),
                    })),
                    data: OnceLock::new(),
                }))
            })
            .collect();
        let _ = siblings
            .arrays
            .set(arrays.iter().map(|a| Arc::downgrade(&a.0)).collect());
        arrays
    }

    /// The other outputs of this array's node that are still alive (MLX's `array.siblings()`),
    /// empty for a single-output primitive or once the array is evaluated.
    pub fn siblings(&self) -> Vec<Array> {
        let Some((s, position)) = self.sibling_group() else {
            return Vec::new();
        };
        (0..s.outputs.len())
            .filter(|&k| k != position)
            .filter_map(|k| s.get(k))
            .collect()
    }

    pub(crate) fn with_tracer_flag(shape: Vec<usize>, dtype: Dtype, node: Node) -> Array {
        Array(Arc::new(Inner {
            shape,
            dtype,
            tracer: true,
            node: Mutex::new(Some(node)),
            data: OnceLock::new(),
        }))
    }

    /// A row-major array copied from `data` with the given shape.
    pub fn from_slice<T: Element>(data: &[T], shape: &[usize]) -> Result<Array> {
        check_len("from_slice", data.len(), shape)?;
        Ok(Self::from_data(Data::new(
            Buffer::from_slice(data),
            T::DTYPE,
            shape,
        )))
    }

    /// A row-major array taking `data` (copied into an aligned buffer) with the given shape.
    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Result<Array> {
        Self::from_slice(&data, shape)
    }

    /// A bool array from Rust booleans.
    pub fn from_bools(data: &[bool], shape: &[usize]) -> Result<Array> {
        check_len("from_bools", data.len(), shape)?;
        let bytes: Vec<u8> = data.iter().map(|&b| b as u8).collect();
        Ok(Self::from_data(Data::new(
            Buffer::from_slice(&bytes),
            Dtype::Bool,
            shape,
        )))
    }

    /// A 0-d array holding `value`.
    pub fn scalar<T: Element>(value: T) -> Array {
        Self::from_data(Data::new(Buffer::from_slice(&[value]), T::DTYPE, &[]))
    }

    /// A 0-d array holding `value` as `dtype` (converted with `as` semantics; bool: non-zero).
    pub fn scalar_as(value: f64, dtype: Dtype) -> Array {
        let mut buf = Buffer::new(dtype.size());
        if dtype == Dtype::Bool {
            if let Some(x) = buf.as_mut_slice::<u8>().first_mut() {
                *x = (value != 0.0) as u8;
            }
        } else {
            crate::dispatch_all!(dtype, T => if let Some(x) = buf.as_mut_slice::<T>().first_mut() {
                *x = <T as Element>::from_f64(value);
            });
        }
        Self::from_data(Data::new(buf, dtype, &[]))
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.0.shape
    }

    /// The element type.
    pub fn dtype(&self) -> Dtype {
        self.0.dtype
    }

    /// Number of axes.
    pub fn ndim(&self) -> usize {
        self.0.shape.len()
    }

    /// Number of elements.
    pub fn size(&self) -> usize {
        self.0.shape.iter().product()
    }

    /// Bytes the elements take (`size * dtype.size()`).
    pub fn nbytes(&self) -> usize {
        self.size() * self.dtype().size()
    }

    /// The extent of `axis` (negative counts from the end).
    pub fn dim(&self, axis: isize) -> Result<usize> {
        let ax = crate::ops::normalize_axis("dim", axis, self.ndim())?;
        Ok(*self.0.shape.at(ax)?)
    }

    /// A stable identity for this node (the same for clones of the handle).
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }

    /// True once the data is computed.
    pub fn is_evaluated(&self) -> bool {
        self.0.data.get().is_some()
    }

    /// The primitive that computes this array, `None` for constants and evaluated (detached)
    /// arrays.
    pub fn primitive_name(&self) -> Option<&'static str> {
        self.node().map(|n| n.primitive.name())
    }

    /// The primitive that computes this array (MLX's `array.primitive()`), `None` for constants
    /// and evaluated (detached) arrays.
    pub fn primitive(&self) -> Option<Arc<dyn Primitive>> {
        self.node().map(|n| n.primitive)
    }

    /// The outputs of this array's multi-output node and its position among them, without
    /// cloning the node's inputs.
    pub(crate) fn sibling_group(&self) -> Option<(Arc<Siblings>, usize)> {
        self.0
            .node
            .lock()
            .ok()
            .and_then(|g| g.as_ref().and_then(|n| n.siblings.clone()))
    }

    pub(crate) fn node(&self) -> Option<Node> {
        self.0.node.lock().ok().and_then(|g| g.clone())
    }

    /// The node's inputs (empty for constants and detached arrays).
    pub fn inputs(&self) -> Vec<Array> {
        self.node().map(|n| n.inputs).unwrap_or_default()
    }

    /// Computes this array (and everything it depends on).
    pub fn eval(&self) -> Result<()> {
        graph::eval(&[self])
    }

    /// Evaluates and returns the strided data.
    pub fn data(&self) -> Result<Data> {
        self.eval()?;
        self.0
            .data
            .get()
            .cloned()
            .ok_or_else(|| Error::Value("eval: array has no data after evaluation".into()))
    }

    /// Evaluates and copies the elements out in row-major order, converting to `T`.
    ///
    /// ```
    /// use rmlx_core::Array;
    /// let a = Array::from_slice(&[1i32, 2, 3], &[3])?;
    /// assert_eq!(a.to_vec::<f32>()?, vec![1.0, 2.0, 3.0]);
    /// # Ok::<(), rmlx_core::Error>(())
    /// ```
    pub fn to_vec<T: ToVecElement>(&self) -> Result<Vec<T>> {
        let arr = if self.dtype() == T::STORAGE_DTYPE {
            self.clone()
        } else {
            self.astype(T::STORAGE_DTYPE)?
        };
        let data = arr.data()?;
        Ok(T::from_storage(collect_contiguous::<T::Storage>(&data)))
    }

    /// The single element of a size-1 array, converted to `T`.
    pub fn item<T: ToVecElement>(&self) -> Result<T> {
        if self.size() != 1 {
            bail!(
                Value,
                "item: can only convert an array of size 1 to a scalar, got shape {:?}",
                self.shape()
            );
        }
        Ok(self.to_vec::<T>()?.remove(0))
    }
}

fn check_len(op: &str, len: usize, shape: &[usize]) -> Result<()> {
    let n: usize = shape.iter().product();
    if n != len {
        bail!(
            Shape,
            "{op}: {len} elements do not fill shape {shape:?} ({n} elements)"
        );
    }
    Ok(())
}

/// A 0-d array: `array(1.0f32)`, `array(3i32)`, `array(true)`.
///
/// ```
/// use rmlx_core::{array, Dtype};
/// assert_eq!(array(1.5f32).dtype(), Dtype::F32);
/// assert_eq!(array(true).dtype(), Dtype::Bool);
/// ```
pub fn array<T: IntoScalar>(value: T) -> Array {
    value.into_scalar()
}

/// Values [`array`] accepts.
pub trait IntoScalar {
    /// Makes the 0-d array.
    fn into_scalar(self) -> Array;
}

impl<T: ScalarValue> IntoScalar for T {
    fn into_scalar(self) -> Array {
        let (buf, dtype) = self.into_buffer();
        Array::from_data(Data::new(buf, dtype, &[]))
    }
}

impl Drop for Inner {
    /// Drops long chains without recursion: the inputs of a node this handle owns alone are
    /// detached into a work list first, so a 100,000-node graph cannot overflow the stack.
    fn drop(&mut self) {
        let Some(node) = self.node.get_mut().ok().and_then(|n| n.take()) else {
            return;
        };
        let mut stack = node.inputs;
        while let Some(a) = stack.pop() {
            if let Ok(mut inner) = Arc::try_unwrap(a.0) {
                if let Some(n) = inner.node.get_mut().ok().and_then(|n| n.take()) {
                    stack.extend(n.inputs);
                }
            }
        }
    }
}
