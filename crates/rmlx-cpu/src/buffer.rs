//! Reference-counted, 64-byte aligned element storage with a size-bucketed cache of freed buffers,
//! and the strided [`Data`] view arrays hold.
//!
//! A training step allocates the same sizes every time; handing freed buffers back to the next
//! allocation of the same size saves the page faults a fresh allocation costs (MLX's allocator does
//! the same). [`memory`] reports active, peak and cached bytes, as `mx.get_active_memory()` etc.

// Indexing here: a buffer's blocks always hold at least its `bytes` (they are allocated for it),
// so the byte and element views cut within them; `collect_contiguous` reads offsets of a layout
// that `Data::new` accepted only inside its buffer.
#![allow(clippy::indexing_slicing)]

use bytemuck::{Pod, Zeroable};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub use crate::layout::contiguous_strides;
use crate::layout::Layout;
use crate::Dtype;

/// One 64-byte, 64-byte aligned block: the unit buffers are made of.
#[derive(Copy, Clone, Pod, Zeroable)]
#[repr(C, align(64))]
struct Block([u8; 64]);

const BLOCK: usize = 64;

/// Raw element storage. Its length in bytes is fixed; the dtype is the array's business.
pub struct Buffer {
    blocks: Vec<Block>,
    bytes: usize,
}

static ACTIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static CACHE_LIMIT: AtomicUsize = AtomicUsize::new(1 << 30);

struct Cache {
    free: HashMap<usize, Vec<Vec<Block>>>,
    bytes: usize,
}

static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

/// Buffers below this size are not worth caching (the system allocator is fast for them).
const MIN_CACHED_BYTES: usize = 16 * 1024;

impl Buffer {
    /// A zero-filled buffer of `bytes` bytes; reuses a cached buffer of the same block count when
    /// one is free (its contents are then arbitrary but initialised).
    pub fn new(bytes: usize) -> Buffer {
        let n_blocks = bytes.div_ceil(BLOCK);
        let blocks = take_cached(n_blocks).unwrap_or_else(|| {
            // over MLX's memory limit (a guideline): give the cache back before allocating
            if ACTIVE.load(Ordering::Relaxed) + n_blocks * BLOCK > memory::get_memory_limit() {
                memory::clear_cache();
            }
            // zeroed pages straight from the allocator (no second pass writing zeros)
            bytemuck::allocation::try_zeroed_vec(n_blocks)
                .unwrap_or_else(|()| vec![Block::zeroed(); n_blocks])
        });
        let active = ACTIVE.fetch_add(n_blocks * BLOCK, Ordering::Relaxed) + n_blocks * BLOCK;
        PEAK.fetch_max(active, Ordering::Relaxed);
        Buffer { blocks, bytes }
    }

    /// A buffer holding a copy of `data`.
    pub fn from_slice<T: Pod>(data: &[T]) -> Buffer {
        let mut b = Buffer::new(std::mem::size_of_val(data));
        b.as_mut_slice::<T>().copy_from_slice(data);
        b
    }

    /// Length in bytes.
    pub fn len_bytes(&self) -> usize {
        self.bytes
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice(&self.blocks)[..self.bytes]
    }

    /// The bytes, mutably.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        let n = self.bytes;
        &mut bytemuck::cast_slice_mut(&mut self.blocks)[..n]
    }

    /// The elements as `T` (the whole buffer; `bytes` must be a multiple of `size_of::<T>()`).
    pub fn as_slice<T: Pod>(&self) -> &[T] {
        let n = self.bytes / std::mem::size_of::<T>();
        &bytemuck::cast_slice(&self.blocks)[..n]
    }

    /// The elements as `T`, mutably.
    pub fn as_mut_slice<T: Pod>(&mut self) -> &mut [T] {
        let n = self.bytes / std::mem::size_of::<T>();
        &mut bytemuck::cast_slice_mut(&mut self.blocks)[..n]
    }
}

fn take_cached(n_blocks: usize) -> Option<Vec<Block>> {
    if n_blocks * BLOCK < MIN_CACHED_BYTES {
        return None;
    }
    let mut guard = CACHE.lock().ok()?;
    let cache = guard.as_mut()?;
    let v = cache.free.get_mut(&n_blocks)?.pop()?;
    cache.bytes -= n_blocks * BLOCK;
    Some(v)
}

impl Drop for Buffer {
    fn drop(&mut self) {
        let n_blocks = self.blocks.len();
        let bytes = n_blocks * BLOCK;
        ACTIVE.fetch_sub(bytes, Ordering::Relaxed);
        if bytes < MIN_CACHED_BYTES {
            return;
        }
        let Ok(mut guard) = CACHE.lock() else { return };
        let cache = guard.get_or_insert_with(|| Cache {
            free: HashMap::new(),
            bytes: 0,
        });
        let under_limit =
            ACTIVE.load(Ordering::Relaxed) + cache.bytes + bytes <= memory::get_memory_limit();
        if under_limit && cache.bytes + bytes <= CACHE_LIMIT.load(Ordering::Relaxed) {
            cache.bytes += bytes;
            let blocks = std::mem::take(&mut self.blocks);
            cache.free.entry(n_blocks).or_default().push(blocks);
        }
    }
}

/// Memory statistics and the buffer cache, as MLX's `mx.get_active_memory()` family.
pub mod memory {
    use super::*;

    /// Bytes held by live buffers (arrays and their views share one).
    pub fn active_memory() -> usize {
        ACTIVE.load(Ordering::Relaxed)
    }

    /// The largest [`active_memory`] seen since start or the last [`reset_peak_memory`].
    pub fn peak_memory() -> usize {
        PEAK.load(Ordering::Relaxed)
    }

    /// Sets the peak to the current active bytes.
    pub fn reset_peak_memory() {
        PEAK.store(active_memory(), Ordering::Relaxed);
    }

    /// Bytes held by freed buffers kept for reuse.
    pub fn cache_memory() -> usize {
        CACHE
            .lock()
            .ok()
            .and_then(|c| c.as_ref().map(|c| c.bytes))
            .unwrap_or(0)
    }

    /// Frees every cached buffer.
    pub fn clear_cache() {
        if let Ok(mut c) = CACHE.lock() {
            *c = None;
        }
    }

    static MEMORY_LIMIT: AtomicUsize = AtomicUsize::new(0);
    static WIRED_LIMIT: AtomicUsize = AtomicUsize::new(0);

    /// The machine's memory (`MemTotal` of `/proc/meminfo`), or `usize::MAX` where unknown.
    fn system_memory() -> usize {
        static TOTAL: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        *TOTAL.get_or_init(|| {
            std::fs::read_to_string("/proc/meminfo")
                .ok()
                .and_then(|s| {
                    let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
                    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
                    kb.checked_mul(1024)
                })
                .unwrap_or(usize::MAX)
        })
    }

    /// The memory limit in bytes (MLX's `mx.get_memory_limit`): by default the machine's memory.
    /// As in MLX it is a guideline: above it, freed buffers are not cached and the cache is
    /// emptied before a new buffer is allocated.
    pub fn get_memory_limit() -> usize {
        match MEMORY_LIMIT.load(Ordering::Relaxed) {
            0 => system_memory(),
            l => l,
        }
    }

    /// Sets the memory limit (see [`get_memory_limit`]; 0 restores the default) and returns
    /// the previous one (`mx.set_memory_limit`).
    pub fn set_memory_limit(bytes: usize) -> usize {
        let old = get_memory_limit();
        MEMORY_LIMIT.store(bytes, Ordering::Relaxed);
        if active_memory() + cache_memory() > get_memory_limit() {
            clear_cache();
        }
        old
    }

    /// Sets the wired limit and returns the previous one (`mx.set_wired_limit`). Wired memory
    /// is a macOS GPU notion: the value is kept and has no effect on the CPU.
    pub fn set_wired_limit(bytes: usize) -> usize {
        WIRED_LIMIT.swap(bytes, Ordering::Relaxed)
    }

    /// Sets the most bytes the cache keeps (default 1 GiB) and returns the previous limit.
    pub fn set_cache_limit(bytes: usize) -> usize {
        let old = CACHE_LIMIT.swap(bytes, Ordering::Relaxed);
        if bytes < cache_memory() {
            clear_cache();
        }
        old
    }
}

/// Where an array's elements live: a shared buffer plus a strided layout over it.
///
/// Views (transpose, broadcast, slice…) share the buffer and differ in `strides`/`offset`. Strides
/// and offset count elements, not bytes; a stride of 0 repeats an element (broadcast).
#[derive(Clone)]
pub struct Data {
    /// The storage (shared by views).
    pub(crate) buf: Arc<Buffer>,
    /// Element type of the storage.
    pub(crate) dtype: Dtype,
    /// Extent of each axis.
    pub(crate) shape: Vec<usize>,
    /// Step in elements along each axis.
    pub(crate) strides: Vec<isize>,
    /// Index of element `[0, 0, …]` in the buffer.
    pub(crate) offset: usize,
}

impl Data {
    /// The bytes the allocator holds for this buffer (whole blocks), and an identity shared by
    /// every view of it.
    pub fn buffer_allocation(&self) -> (usize, usize) {
        (
            self.buf.blocks.len() * BLOCK,
            Arc::as_ptr(&self.buf) as *const u8 as usize,
        )
    }
}

impl Data {
    /// A row-contiguous array over a fresh buffer.
    pub fn new(buf: Buffer, dtype: Dtype, shape: &[usize]) -> Data {
        Data {
            buf: Arc::new(buf),
            dtype,
            shape: shape.to_vec(),
            strides: contiguous_strides(shape),
            offset: 0,
        }
    }

    /// Element type of the storage.
    pub fn dtype(&self) -> Dtype {
        self.dtype
    }

    /// Extent of each axis.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Step in elements along each axis (0 repeats an element: broadcast).
    pub fn strides(&self) -> &[isize] {
        &self.strides
    }

    /// Index of element `[0, 0, …]` in the buffer, in elements.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// True when `self` and `other` are views of one buffer (no copy between them).
    pub fn shares_buffer(&self, other: &Data) -> bool {
        Arc::ptr_eq(&self.buf, &other.buf)
    }

    /// The contiguous elements' bytes (`None` when the layout is not row-contiguous).
    pub fn contiguous_bytes(&self) -> Option<&[u8]> {
        if !self.is_contiguous() {
            return None;
        }
        let w = self.dtype.size();
        self.buf
            .bytes()
            .get(self.offset * w..(self.offset + self.size()) * w)
    }

    /// Number of elements.
    pub fn size(&self) -> usize {
        self.shape.iter().product()
    }

    /// The layout (shape, strides, offset) of these elements.
    pub fn layout(&self) -> Layout {
        Layout::new(self.shape.clone(), self.strides.clone(), self.offset)
    }

    /// The same buffer seen through `layout`, after checking that every element it reaches lies
    /// inside the buffer (so no kernel can read out of bounds through it).
    pub fn with_layout(self, layout: Layout) -> crate::Result<Data> {
        let elems = self.buf.len_bytes() / self.dtype.size();
        if layout.strides().len() != layout.ndim() {
            crate::bail!(
                Shape,
                "layout: {} strides for {} axes",
                layout.strides().len(),
                layout.ndim()
            );
        }
        if layout.size() > 0 {
            match layout.span() {
                Some((_, hi)) if hi < elems => {}
                _ => crate::bail!(
                    Shape,
                    "layout: shape {:?} with strides {:?} from offset {} reaches outside a buffer of {elems} elements",
                    layout.shape(),
                    layout.strides(),
                    layout.offset()
                ),
            }
        }
        let (shape, strides, offset) = layout.into_parts();
        Ok(Data {
            shape,
            strides,
            offset,
            ..self
        })
    }

    /// True when the elements are laid out row-major without gaps from `offset`.
    pub fn is_contiguous(&self) -> bool {
        crate::layout::row_contiguous(&self.shape, &self.strides)
    }

    /// The contiguous elements as a slice (`None` when the layout is not row-contiguous).
    pub fn contiguous_slice<T: Pod>(&self) -> Option<&[T]> {
        if !self.is_contiguous() {
            return None;
        }
        let all = self.buf.as_slice::<T>();
        all.get(self.offset..self.offset + self.size())
    }

    /// The whole underlying buffer as `T`.
    pub fn raw<T: Pod>(&self) -> &[T] {
        self.buf.as_slice::<T>()
    }

    /// Takes the buffer for reuse as the output of an elementwise op: succeeds when this is the
    /// only reference, the layout is contiguous from offset 0 and exactly `bytes` long.
    pub fn try_donate(&mut self, bytes: usize) -> Option<Buffer> {
        if self.offset != 0 || !self.is_contiguous() || self.size() * self.dtype.size() != bytes {
            return None;
        }
        if self.buf.len_bytes() != bytes {
            return None;
        }
        let placeholder = Arc::new(Buffer {
            blocks: Vec::new(),
            bytes: 0,
        });
        let arc = std::mem::replace(&mut self.buf, placeholder);
        match Arc::try_unwrap(arc) {
            Ok(b) => Some(b),
            Err(arc) => {
                self.buf = arc;
                None
            }
        }
    }
}

/// Copies the elements of a strided `Data` into a row-major `Vec`.
pub fn collect_contiguous<T: Pod>(data: &Data) -> Vec<T> {
    if let Some(s) = data.contiguous_slice::<T>() {
        return s.to_vec();
    }
    let raw = data.raw::<T>();
    let mut out = Vec::with_capacity(data.size());
    crate::backend::cpu::strided::for_each_offset(&data.shape, &data.strides, data.offset, |o| {
        out.push(raw[o])
    });
    out
}
