//! [`Layout`]: where the elements of a strided view live in its buffer (shape, strides, offset),
//! and the view operations on it — broadcast, transpose, reshape without copying, slice —
//! so the primitives and kernels share one implementation of each.

// Indexing here: `broadcast_to` reads `shape[pad + i]` with `pad = len - ndim` and `i < ndim`;
// `transpose` indexes by a permutation it has checked (each entry below `ndim`, none repeated);
// `contiguous_strides` and `reshape_strides` walk indices bounded by their loops, the latter's
// inner products reading `get(..)?` so an index past the end returns `None`.
#![allow(clippy::indexing_slicing)]

use crate::backend::cpu::strided::offset_of;

/// Shape, strides (in elements; 0 repeats an element, negative walks backwards) and the offset of
/// element `[0, 0, …]`.
///
/// ```
/// use rmlx_cpu::layout::Layout;
/// let l = Layout::contiguous(&[2, 3]);
/// assert_eq!(l.strides(), &[3, 1]);
/// let t = l.transpose(&[1, 0]).unwrap();
/// assert_eq!((t.shape(), t.strides()), (&[3, 2][..], &[1, 3][..]));
/// assert!(!t.is_contiguous());
/// let b = Layout::contiguous(&[3]).broadcast_to(&[2, 3]).unwrap();
/// assert_eq!(b.strides(), &[0, 1]);
/// let s = l.slice(&[1, 2], &[1, -1], &[1, 3]);
/// assert_eq!((s.offset(), s.strides()), (5, &[3, -1][..]));
/// assert_eq!(l.reshape(&[3, 2]).unwrap().strides(), &[2, 1]);
/// assert!(t.reshape(&[6]).is_none()); // a transposed view cannot be flattened without a copy
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    shape: Vec<usize>,
    strides: Vec<isize>,
    offset: usize,
}

impl Layout {
    /// A layout from its parts (nothing is checked here; [`crate::buffer::Data::with_layout`]
    /// checks it against a buffer).
    pub fn new(shape: Vec<usize>, strides: Vec<isize>, offset: usize) -> Layout {
        Layout {
            shape,
            strides,
            offset,
        }
    }

    /// Row-major and gapless from offset 0.
    pub fn contiguous(shape: &[usize]) -> Layout {
        Layout::new(shape.to_vec(), contiguous_strides(shape), 0)
    }

    /// The extent of each axis.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The step of each axis, in elements.
    pub fn strides(&self) -> &[isize] {
        &self.strides
    }

    /// The position of element `[0, 0, …]` in the buffer.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Number of axes.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    pub fn size(&self) -> usize {
        self.shape.iter().product()
    }

    /// The parts.
    pub fn into_parts(self) -> (Vec<usize>, Vec<isize>, usize) {
        (self.shape, self.strides, self.offset)
    }

    /// True when the elements are laid out row-major without gaps from the offset (size-0 and
    /// size-1 axes do not matter).
    pub fn is_contiguous(&self) -> bool {
        row_contiguous(&self.shape, &self.strides)
    }

    /// The lowest and highest buffer positions the layout reaches (`None` when it has no
    /// element, or reaches below position 0).
    pub fn span(&self) -> Option<(usize, usize)> {
        if self.shape.contains(&0) {
            return None;
        }
        let (mut lo, mut hi) = (self.offset as i128, self.offset as i128);
        for (&d, &s) in self.shape.iter().zip(&self.strides) {
            let reach = (d as i128 - 1) * s as i128;
            if reach < 0 {
                lo += reach;
            } else {
                hi += reach;
            }
        }
        (lo >= 0 && hi <= usize::MAX as i128).then_some((lo as usize, hi as usize))
    }

    /// The buffer position of the element at row-major position `linear`.
    pub fn offset_of(&self, linear: usize) -> usize {
        offset_of(linear, &self.shape, &self.strides, self.offset)
    }

    /// Broadcast to `shape` (numpy's rules: new leading axes and size-1 axes get stride 0), or
    /// `None` when the shapes are incompatible.
    pub fn broadcast_to(&self, shape: &[usize]) -> Option<Layout> {
        let pad = shape.len().checked_sub(self.ndim())?;
        let mut strides = vec![0isize; shape.len()];
        for (i, (&d, &s)) in self.shape.iter().zip(&self.strides).enumerate() {
            strides[pad + i] = match (d, shape[pad + i]) {
                (d, t) if d == t => s,
                (1, _) => 0,
                _ => return None,
            };
        }
        Some(Layout::new(shape.to_vec(), strides, self.offset))
    }

    /// Output axis `i` is input axis `perm[i]`; `None` unless `perm` is a permutation of the axes.
    pub fn transpose(&self, perm: &[usize]) -> Option<Layout> {
        let mut seen = vec![false; self.ndim()];
        for &p in perm {
            if p >= seen.len() || std::mem::replace(&mut seen[p], true) {
                return None;
            }
        }
        if perm.len() != self.ndim() {
            return None;
        }
        Some(Layout::new(
            perm.iter().map(|&p| self.shape[p]).collect(),
            perm.iter().map(|&p| self.strides[p]).collect(),
            self.offset,
        ))
    }

    /// The same elements in row-major order as `shape`, as a view, or `None` when that needs a
    /// copy (axes merged or split that are not contiguous with each other) or the sizes differ.
    pub fn reshape(&self, shape: &[usize]) -> Option<Layout> {
        if shape.iter().product::<usize>() != self.size() {
            return None;
        }
        let strides = reshape_strides(&self.shape, &self.strides, shape)?;
        Some(Layout::new(shape.to_vec(), strides, self.offset))
    }

    /// Axis `i` from `starts[i]` in steps of `steps[i]` (negative allowed), keeping `shape[i]`
    /// elements. Each start must be in range for an axis that keeps any element.
    pub fn slice(&self, starts: &[usize], steps: &[isize], shape: &[usize]) -> Layout {
        let mut offset = self.offset as isize;
        if !shape.contains(&0) {
            for (&st, &s) in starts.iter().zip(&self.strides) {
                offset += st as isize * s;
            }
        }
        Layout::new(
            shape.to_vec(),
            self.strides
                .iter()
                .zip(steps)
                .map(|(&s, &k)| s * k)
                .collect(),
            offset.max(0) as usize,
        )
    }
}

/// True when `(shape, strides)` is row-major without gaps (size-0 and size-1 axes do not matter).
pub(crate) fn row_contiguous(shape: &[usize], strides: &[isize]) -> bool {
    if shape.contains(&0) {
        return true;
    }
    let mut expected = 1isize;
    for (&d, &s) in shape.iter().zip(strides).rev() {
        if d != 1 && s != expected {
            return false;
        }
        expected *= d as isize;
    }
    true
}

/// Row-major strides (in elements) for `shape`.
pub fn contiguous_strides(shape: &[usize]) -> Vec<isize> {
    let mut strides = vec![0isize; shape.len()];
    let mut acc = 1isize;
    for i in (0..shape.len()).rev() {
        strides[i] = acc;
        acc *= shape[i].max(1) as isize;
    }
    strides
}

/// Strides that view a layout `(old_shape, old_strides)` as `new_shape` (same size, row-major
/// order) without copying, or `None` when the old axes being merged or split are not contiguous
/// with each other (numpy's no-copy reshape test).
pub fn reshape_strides(
    old_shape: &[usize],
    old_strides: &[isize],
    new_shape: &[usize],
) -> Option<Vec<isize>> {
    if new_shape.contains(&0) || old_shape.contains(&0) {
        return Some(contiguous_strides(new_shape));
    }
    let (os, ost): (Vec<usize>, Vec<isize>) = old_shape
        .iter()
        .zip(old_strides)
        .filter(|(&d, _)| d != 1)
        .map(|(&d, &s)| (d, s))
        .unzip();
    let mut out = vec![0isize; new_shape.len()];
    let (mut ni, mut oi) = (0usize, 0usize);
    while ni < new_shape.len() && oi < os.len() {
        if new_shape[ni] == 1 {
            ni += 1;
            continue;
        }
        let (mut np, mut op) = (new_shape[ni], os[oi]);
        let (mut nj, mut oj) = (ni + 1, oi + 1);
        while np != op {
            if np < op {
                np *= *new_shape.get(nj)?;
                nj += 1;
            } else {
                op *= *os.get(oj)?;
                oj += 1;
            }
        }
        for k in oi..oj - 1 {
            if ost[k] != os[k + 1] as isize * ost[k + 1] {
                return None;
            }
        }
        out[nj - 1] = ost[oj - 1];
        for k in (ni + 1..nj).rev() {
            out[k - 1] = out[k] * new_shape[k] as isize;
        }
        ni = nj;
        oi = oj;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every buffer position a layout visits, in row-major order (naive loops).
    fn positions(l: &Layout) -> Vec<usize> {
        (0..l.size()).map(|i| l.offset_of(i)).collect()
    }

    #[test]
    fn views_visit_the_positions_of_a_naive_index_walk() {
        let base = Layout::contiguous(&[2, 3, 4]);
        // transpose: element [i, j, k] of the view is [k, i, j] of the base
        let t = base.transpose(&[2, 0, 1]).unwrap();
        let mut want = vec![];
        for k in 0..4 {
            for i in 0..2 {
                for j in 0..3 {
                    want.push(i * 12 + j * 4 + k);
                }
            }
        }
        assert_eq!(positions(&t), want);
        // reshape of a contiguous layout is a view; of the transpose it is not
        assert_eq!(
            positions(&base.reshape(&[6, 4]).unwrap()),
            (0..24).collect::<Vec<_>>()
        );
        assert!(t.reshape(&[24]).is_none());
        assert_eq!(
            positions(&t.reshape(&[4, 2, 3]).unwrap()),
            positions(&t),
            "a reshape that keeps the axes is a view"
        );
        assert!(base.reshape(&[5, 5]).is_none());
        // slice with a negative step
        let s = base.slice(&[1, 2, 0], &[1, -2, 3], &[1, 2, 2]);
        assert_eq!(positions(&s), vec![20, 23, 12, 15]);
        assert_eq!(s.span(), Some((12, 23)));
        // broadcast
        let b = Layout::contiguous(&[3, 1])
            .broadcast_to(&[2, 3, 4])
            .unwrap();
        assert_eq!(b.strides(), &[0, 1, 0]);
        assert!(Layout::contiguous(&[3]).broadcast_to(&[4]).is_none());
        assert!(Layout::contiguous(&[2, 3]).broadcast_to(&[3]).is_none());
    }

    #[test]
    fn bad_permutations_and_empty_spans() {
        let l = Layout::contiguous(&[2, 3]);
        assert!(l.transpose(&[0, 0]).is_none());
        assert!(l.transpose(&[0]).is_none());
        assert!(l.transpose(&[0, 2]).is_none());
        assert_eq!(Layout::contiguous(&[2, 0]).span(), None);
        assert!(Layout::contiguous(&[2, 0]).is_contiguous());
        assert_eq!(Layout::new(vec![3], vec![-1], 1).span(), None);
    }

    #[test]
    fn data_accepts_only_layouts_inside_its_buffer() {
        use crate::buffer::{Buffer, Data};
        use crate::Dtype;
        let d = Data::new(Buffer::from_slice(&[0f32; 6]), Dtype::F32, &[6]);
        let ok = d
            .clone()
            .with_layout(Layout::new(vec![3, 2], vec![1, 3], 0))
            .unwrap();
        assert_eq!(
            (ok.shape.as_slice(), ok.strides.as_slice()),
            (&[3, 2][..], &[1, 3][..])
        );
        assert!(d
            .clone()
            .with_layout(Layout::new(vec![3, 3], vec![3, 1], 0))
            .is_err());
        assert!(d
            .clone()
            .with_layout(Layout::new(vec![2], vec![-1], 0))
            .is_err());
        assert!(d
            .clone()
            .with_layout(Layout::new(vec![2], vec![1, 1], 0))
            .is_err());
        assert!(d
            .with_layout(Layout::new(vec![0, 9], vec![9, 1], 100))
            .is_ok());
    }
}
