//! The transport under [`crate::Group`]: MPI through the `mpi` crate when the feature is on; a
//! stub otherwise, where no communicator exists and every group has size 1.

// Indexing here is into the 12-word shape records (`meta` builds `[u64; 12]`; a gathered record
// set is `12 * size` words, cut at multiples of 12, with `m[1]` clamped to the ten dims stored)
// and into buffers allocated in the same function with exactly the `n` elements of the
// contiguous input they are filled from or reduced into.
#![allow(clippy::indexing_slicing)]

use rmlx_core::buffer::Data;
use rmlx_core::Result;

/// Which reduction an all-reduce applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReduceOp {
    Sum,
    Max,
    Min,
}

/// Shape and dtype of an array as 12 integers, compared across a group before a collective:
/// `[dtype, ndim, dims…]`, dimensions past the tenth folded into the last slot.
pub(crate) fn describe(dtype: rmlx_core::Dtype, shape: &[usize]) -> [u64; 12] {
    let mut m = [0u64; 12];
    m[0] = rmlx_core::ALL_DTYPES
        .iter()
        .position(|d| *d == dtype)
        .unwrap_or(usize::MAX) as u64;
    m[1] = shape.len() as u64;
    for (i, &d) in shape.iter().enumerate() {
        // the first ten sizes in slots 2..12, the rest hashed into the last slot
        if let Some(v) = m.get_mut((2 + i).min(11)) {
            *v = if i < 10 {
                d as u64
            } else {
                v.wrapping_mul(1_000_003).wrapping_add(d as u64)
            };
        }
    }
    m
}

/// `[dtype, ndim, dims…]` back into words for an error message.
#[cfg(feature = "mpi")]
pub(crate) fn show(m: &[u64]) -> String {
    let dtype = rmlx_core::ALL_DTYPES
        .get(m[0] as usize)
        .map_or("?".to_string(), |d| d.to_string());
    let dims: Vec<String> = m[2..2 + (m[1] as usize).min(10)]
        .iter()
        .map(u64::to_string)
        .collect();
    format!("{dtype} [{}]", dims.join(", "))
}

#[cfg(feature = "mpi")]
pub(crate) use imp::Comm;

#[cfg(not(feature = "mpi"))]
pub(crate) use stub::Comm;

#[cfg(not(feature = "mpi"))]
mod stub {
    use super::*;

    /// No backend: [`Comm::world`] finds no communicator, so no `Comm` is ever made.
    pub(crate) enum Comm {}

    impl Comm {
        pub fn world() -> Result<Option<Comm>> {
            Ok(None)
        }
        pub fn rank(&self) -> usize {
            match *self {}
        }
        pub fn size(&self) -> usize {
            match *self {}
        }
        pub fn split(&self, _: u32, _: usize) -> Result<Comm> {
            match *self {}
        }
        pub fn check_same(&self, _: &str, _: &[u64; 12]) -> Result<()> {
            match *self {}
        }
        pub fn all_reduce(&self, _: Data, _: ReduceOp) -> Result<Data> {
            match *self {}
        }
        pub fn all_gather(&self, _: Data, _: &[usize]) -> Result<Data> {
            match *self {}
        }
        pub fn send(&self, _: Data, _: usize) -> Result<()> {
            match *self {}
        }
        pub fn recv(&self, _: usize, _: rmlx_core::Dtype, _: &[usize]) -> Result<Data> {
            match *self {}
        }
    }
}

#[cfg(feature = "mpi")]
mod imp {
    use super::*;
    use mpi::collective::SystemOperation;
    use mpi::environment::Universe;
    use mpi::topology::{Color, SimpleCommunicator};
    use mpi::traits::*;
    use mpi::Threading;
    use rmlx_core::buffer::Buffer;
    use rmlx_core::kernels::contiguous;
    use rmlx_core::{bf16, f16};
    use rmlx_core::{Dtype, Error};
    use std::sync::{Mutex, MutexGuard};

    /// Every MPI call holds this lock: MPI runs in `MPI_THREAD_SERIALIZED` mode (calls from any
    /// thread, never two at once), and the graph may evaluate on any of the pool's threads.
    static LOCK: Mutex<()> = Mutex::new(());
    /// The MPI environment, finalised at process exit (see [`finalize`]).
    static UNIVERSE: Mutex<Option<Universe>> = Mutex::new(None);

    const TAG_META: i32 = 1;
    const TAG_DATA: i32 = 2;

    fn lock() -> MutexGuard<'static, ()> {
        LOCK.lock().unwrap_or_else(|e| e.into_inner())
    }

    extern "C" fn finalize() {
        let _g = lock();
        // dropping the Universe calls MPI_Finalize
        drop(UNIVERSE.lock().unwrap_or_else(|e| e.into_inner()).take());
    }

    /// An MPI communicator with its rank and size.
    pub(crate) struct Comm {
        inner: SimpleCommunicator,
        rank: usize,
        size: usize,
    }

    // SAFETY: an MPI communicator handle is a process-wide value that any thread may pass to MPI;
    // MPI is initialised in serialized mode and every call below holds `LOCK`, so no two threads
    // use MPI at once.
    unsafe impl Send for Comm {}
    // SAFETY: as above: shared references only reach MPI through calls that hold `LOCK`.
    unsafe impl Sync for Comm {}

    fn mpi_err(what: &str) -> Error {
        Error::Value(format!("[distributed] {what}"))
    }

    impl Comm {
        fn wrap(inner: SimpleCommunicator) -> Comm {
            let (rank, size) = (inner.rank() as usize, inner.size() as usize);
            Comm { inner, rank, size }
        }

        pub fn world() -> Result<Option<Comm>> {
            let _g = lock();
            let (universe, threading) = mpi::initialize_with_threading(Threading::Serialized)
                .ok_or_else(|| mpi_err("MPI was initialised outside rmlx"))?;
            if matches!(threading, Threading::Single | Threading::Funneled) {
                return Err(mpi_err(
                    "the MPI library does not support MPI_THREAD_SERIALIZED",
                ));
            }
            let world = universe.world();
            *UNIVERSE.lock().unwrap_or_else(|e| e.into_inner()) = Some(universe);
            // SAFETY: registers a plain `extern "C" fn()` with the C runtime, to run at exit.
            unsafe { libc::atexit(finalize) };
            Ok(Some(Comm::wrap(world)))
        }

        pub fn rank(&self) -> usize {
            self.rank
        }

        pub fn size(&self) -> usize {
            self.size
        }

        pub fn split(&self, color: u32, key: usize) -> Result<Comm> {
            let _g = lock();
            let color = Color::with_value((color & 0x7fff_ffff) as i32);
            self.inner
                .split_by_color_with_key(color, key as i32)
                .map(Comm::wrap)
                .ok_or_else(|| mpi_err("split gave no communicator"))
        }

        /// Errs on every rank unless every rank passed the same `meta`.
        pub fn check_same(&self, op: &str, meta: &[u64; 12]) -> Result<()> {
            let mut all = vec![0u64; 12 * self.size];
            {
                let _g = lock();
                self.inner.all_gather_into(&meta[..], &mut all[..]);
            }
            let first = &all[..12];
            if let Some(r) = (1..self.size).find(|&r| &all[12 * r..12 * r + 12] != first) {
                return Err(Error::Shape(format!(
                    "[{op}] the processes disagree on the array: rank 0 has {}, rank {r} has {}",
                    show(first),
                    show(&all[12 * r..12 * r + 12])
                )));
            }
            Ok(())
        }

        pub fn all_reduce(&self, x: Data, op: ReduceOp) -> Result<Data> {
            let (dtype, shape) = (x.dtype(), x.shape().to_vec());
            let x = contiguous(x);
            let n = x.size();
            let mut out = Buffer::new(n * dtype.size());
            macro_rules! native {
                ($t:ty) => {
                    self.reduce::<$t>(&x.raw::<$t>()[..n], &mut out.as_mut_slice::<$t>()[..n], op)
                };
            }
            match dtype {
                Dtype::F32 => native!(f32),
                Dtype::F64 => native!(f64),
                Dtype::I8 => native!(i8),
                Dtype::I16 => native!(i16),
                Dtype::I32 => native!(i32),
                Dtype::I64 => native!(i64),
                Dtype::U8 => native!(u8),
                Dtype::U16 => native!(u16),
                Dtype::U32 => native!(u32),
                Dtype::U64 => native!(u64),
                Dtype::F16 | Dtype::Bf16 => {
                    // no MPI half type: reduce in f32, round once (what a half-precision add does)
                    let wide: Vec<f32> = if dtype == Dtype::F16 {
                        x.raw::<f16>()[..n].iter().map(|v| v.to_f32()).collect()
                    } else {
                        x.raw::<bf16>()[..n].iter().map(|v| v.to_f32()).collect()
                    };
                    let mut sum = vec![0f32; n];
                    self.reduce::<f32>(&wide, &mut sum, op);
                    if dtype == Dtype::F16 {
                        let o = &mut out.as_mut_slice::<f16>()[..n];
                        o.iter_mut()
                            .zip(&sum)
                            .for_each(|(o, s)| *o = f16::from_f32(*s));
                    } else {
                        let o = &mut out.as_mut_slice::<bf16>()[..n];
                        o.iter_mut()
                            .zip(&sum)
                            .for_each(|(o, s)| *o = bf16::from_f32(*s));
                    }
                }
                d => {
                    return Err(Error::Dtype(format!(
                        "[all_reduce] unsupported dtype {d} (numbers only)"
                    )))
                }
            }
            Ok(Data::new(out, dtype, &shape))
        }

        fn reduce<T: Equivalence>(&self, src: &[T], dst: &mut [T], op: ReduceOp) {
            let op = match op {
                ReduceOp::Sum => SystemOperation::sum(),
                ReduceOp::Max => SystemOperation::max(),
                ReduceOp::Min => SystemOperation::min(),
            };
            let _g = lock();
            self.inner.all_reduce_into(src, dst, op);
        }

        pub fn all_gather(&self, x: Data, out_shape: &[usize]) -> Result<Data> {
            let dtype = x.dtype();
            let x = contiguous(x);
            let bytes = x.size() * dtype.size();
            let mut out = Buffer::new(bytes * self.size);
            {
                let _g = lock();
                self.inner.all_gather_into(
                    &x.raw::<u8>()[..bytes],
                    &mut out.as_mut_slice::<u8>()[..bytes * self.size],
                );
            }
            Ok(Data::new(out, dtype, out_shape))
        }

        pub fn send(&self, x: Data, dst: usize) -> Result<()> {
            let meta = describe(x.dtype(), x.shape());
            let x = contiguous(x);
            let bytes = x.size() * x.dtype().size();
            let _g = lock();
            let p = self.inner.process_at_rank(dst as i32);
            p.send_with_tag(&meta[..], TAG_META);
            p.send_with_tag(&x.raw::<u8>()[..bytes], TAG_DATA);
            Ok(())
        }

        pub fn recv(&self, src: usize, dtype: Dtype, shape: &[usize]) -> Result<Data> {
            let want = describe(dtype, shape);
            let mut meta = [0u64; 12];
            let _g = lock();
            let p = self.inner.process_at_rank(src as i32);
            p.receive_into_with_tag(&mut meta[..], TAG_META);
            if meta != want {
                // drain the data message so the channel stays in step, then report
                let elems: u64 = meta[2..2 + (meta[1] as usize).min(10)].iter().product();
                let size = rmlx_core::ALL_DTYPES
                    .get(meta[0] as usize)
                    .map_or(1, |d| d.size());
                let mut scratch = vec![0u8; elems as usize * size];
                p.receive_into_with_tag(&mut scratch[..], TAG_DATA);
                return Err(Error::Shape(format!(
                    "[recv] expected {} from rank {src}, which sent {}",
                    show(&want),
                    show(&meta)
                )));
            }
            let n: usize = shape.iter().product();
            let mut out = Buffer::new(n * dtype.size());
            p.receive_into_with_tag(&mut out.as_mut_slice::<u8>()[..n * dtype.size()], TAG_DATA);
            Ok(Data::new(out, dtype, shape))
        }
    }
}
