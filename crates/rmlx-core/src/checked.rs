//! Checked element access for library code: every read or write of a slice element whose index a
//! caller's data decides goes through [`Checked`], so a wrong index is an [`Error::Index`], never a
//! panic (issue 20; the crate denies clippy's `indexing_slicing`).
//!
//! Primitives are public, with public parameters, and their methods can be called on any inputs,
//! not only the ones the op that built a node checked: their bodies therefore read inputs,
//! shapes and axes through these methods, and a primitive handed inputs its parameters do not fit
//! reports it instead of indexing out of bounds.

use std::fmt::Debug;
use std::slice::SliceIndex;

use crate::{Error, Result};

fn out_of_range(what: impl Debug, len: usize) -> Error {
    Error::Index(format!(
        "index {what:?} is out of range for {len} elements (a primitive or op was given inputs \
         that do not fit its parameters)"
    ))
}

/// `[]` that returns an [`Error`] instead of panicking.
pub(crate) trait Checked<T> {
    /// The element at `i`.
    fn at(&self, i: usize) -> Result<&T>;
    /// The element at `i`, mutably.
    fn at_mut(&mut self, i: usize) -> Result<&mut T>;
    /// The elements at `indices`, in their order (`shape.pick(&axes)`: the sizes of `axes`).
    fn pick(&self, indices: &[usize]) -> Result<Vec<T>>
    where
        T: Copy;
    /// The elements whose positions are not in `indices`, in order (`shape.omit(&axes)`: the
    /// shape with those axes removed).
    fn omit(&self, indices: &[usize]) -> Vec<T>
    where
        T: Copy;
    /// The sub-slice `range` (`a..b`, `a..`, `..b`, `a..=b`).
    fn span<R>(&self, range: R) -> Result<&[T]>
    where
        R: SliceIndex<[T], Output = [T]> + Debug + Clone;
    /// The sub-slice `range`, mutably.
    fn span_mut<R>(&mut self, range: R) -> Result<&mut [T]>
    where
        R: SliceIndex<[T], Output = [T]> + Debug + Clone;
}

impl<T> Checked<T> for [T] {
    #[inline]
    fn at(&self, i: usize) -> Result<&T> {
        let len = self.len();
        self.get(i).ok_or_else(|| out_of_range(i, len))
    }

    #[inline]
    fn at_mut(&mut self, i: usize) -> Result<&mut T> {
        let len = self.len();
        self.get_mut(i).ok_or_else(|| out_of_range(i, len))
    }

    fn pick(&self, indices: &[usize]) -> Result<Vec<T>>
    where
        T: Copy,
    {
        indices.iter().map(|&i| self.at(i).copied()).collect()
    }

    fn omit(&self, indices: &[usize]) -> Vec<T>
    where
        T: Copy,
    {
        self.iter()
            .enumerate()
            .filter(|(i, _)| !indices.contains(i))
            .map(|(_, &v)| v)
            .collect()
    }

    #[inline]
    fn span<R>(&self, range: R) -> Result<&[T]>
    where
        R: SliceIndex<[T], Output = [T]> + Debug + Clone,
    {
        let len = self.len();
        self.get(range.clone())
            .ok_or_else(|| out_of_range(range, len))
    }

    #[inline]
    fn span_mut<R>(&mut self, range: R) -> Result<&mut [T]>
    where
        R: SliceIndex<[T], Output = [T]> + Debug + Clone,
    {
        let len = self.len();
        self.get_mut(range.clone())
            .ok_or_else(|| out_of_range(range, len))
    }
}

#[cfg(test)]
mod tests {
    use super::Checked;

    #[test]
    fn in_range_reads_and_writes_out_of_range_errs() {
        let mut v = vec![1, 2, 3];
        assert_eq!(*v.at(2).unwrap(), 3);
        *v.at_mut(0).unwrap() = 7;
        assert_eq!(v.span(..2).unwrap(), &[7, 2]);
        v.span_mut(1..=2).unwrap().copy_from_slice(&[8, 9]);
        assert_eq!(v, [7, 8, 9]);
        let e = v.at(3).unwrap_err().to_string();
        assert!(e.contains("index 3 is out of range for 3 elements"), "{e}");
        assert!(v.at_mut(usize::MAX).is_err());
        let (start, end) = (2, 1);
        assert!(v.span(start..end).is_err());
        let e = v.span(1..5).unwrap_err().to_string();
        assert!(e.contains("index 1..5 is out of range"), "{e}");
        assert!(v.span_mut(4..).is_err());
        assert_eq!(v.pick(&[2, 0, 2]).unwrap(), [9, 7, 9]);
        assert!(v.pick(&[0, 3]).is_err());
        assert_eq!(v.omit(&[1, 5]), [7, 9]);
    }
}
