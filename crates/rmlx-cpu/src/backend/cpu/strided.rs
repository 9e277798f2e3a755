//! Walking strided layouts: dimension collapsing and offset iteration for one or two operands.

/// Merges adjacent axes that are contiguous with each other in every operand (and drops size-1
/// axes), so a strided walk has as few loop levels as possible. Returns the collapsed shape and,
/// for each operand, its collapsed strides.
pub fn collapse(shape: &[usize], strides: &[&[isize]]) -> (Vec<usize>, Vec<Vec<isize>>) {
    let mut out_shape: Vec<usize> = Vec::with_capacity(shape.len());
    let mut out_strides: Vec<Vec<isize>> = vec![Vec::with_capacity(shape.len()); strides.len()];
    for (ax, &d) in shape.iter().enumerate() {
        if d == 1 {
            continue;
        }
        let mergeable = !out_shape.is_empty()
            && strides.iter().enumerate().all(|(k, s)| {
                out_strides[k]
                    .last()
                    .is_some_and(|&prev| prev == s[ax] * d as isize)
            });
        if mergeable {
            let last = out_shape.len() - 1;
            out_shape[last] *= d;
            for (k, s) in strides.iter().enumerate() {
                if let Some(last) = out_strides[k].last_mut() {
                    *last = s[ax];
                }
            }
        } else {
            out_shape.push(d);
            for (k, s) in strides.iter().enumerate() {
                out_strides[k].push(s[ax]);
            }
        }
    }
    (out_shape, out_strides)
}

/// Calls `f(offset)` for every element of a strided layout, in row-major order.
pub fn for_each_offset(
    shape: &[usize],
    strides: &[isize],
    offset: usize,
    mut f: impl FnMut(usize),
) {
    if shape.contains(&0) {
        return;
    }
    let (shape, strides) = collapse(shape, &[strides]);
    let s = &strides[0];
    let nd = shape.len();
    if nd == 0 {
        f(offset);
        return;
    }
    let inner = shape[nd - 1];
    let inner_stride = s[nd - 1];
    let mut idx = vec![0usize; nd];
    let mut base = offset as isize;
    loop {
        let mut o = base;
        for _ in 0..inner {
            f(o as usize);
            o += inner_stride;
        }
        // advance the outer counter
        let mut ax = nd - 1;
        loop {
            if ax == 0 {
                return;
            }
            ax -= 1;
            idx[ax] += 1;
            base += s[ax];
            if idx[ax] < shape[ax] {
                break;
            }
            base -= s[ax] * shape[ax] as isize;
            idx[ax] = 0;
        }
    }
}

/// Calls `f(offset_a, offset_b)` for every element of two same-shaped strided layouts, in
/// row-major order.
pub fn for_each_offset2(
    shape: &[usize],
    (sa, oa): (&[isize], usize),
    (sb, ob): (&[isize], usize),
    mut f: impl FnMut(usize, usize),
) {
    if shape.contains(&0) {
        return;
    }
    let (shape, strides) = collapse(shape, &[sa, sb]);
    let (sa, sb) = (&strides[0], &strides[1]);
    let nd = shape.len();
    if nd == 0 {
        f(oa, ob);
        return;
    }
    let inner = shape[nd - 1];
    let (ia, ib) = (sa[nd - 1], sb[nd - 1]);
    let mut idx = vec![0usize; nd];
    let (mut ba, mut bb) = (oa as isize, ob as isize);
    loop {
        let (mut a, mut b) = (ba, bb);
        for _ in 0..inner {
            f(a as usize, b as usize);
            a += ia;
            b += ib;
        }
        let mut ax = nd - 1;
        loop {
            if ax == 0 {
                return;
            }
            ax -= 1;
            idx[ax] += 1;
            ba += sa[ax];
            bb += sb[ax];
            if idx[ax] < shape[ax] {
                break;
            }
            ba -= sa[ax] * shape[ax] as isize;
            bb -= sb[ax] * shape[ax] as isize;
            idx[ax] = 0;
        }
    }
}

/// The offset of the element at row-major position `linear` in a strided layout.
pub fn offset_of(linear: usize, shape: &[usize], strides: &[isize], offset: usize) -> usize {
    let mut rem = linear;
    let mut o = offset as isize;
    for ax in (0..shape.len()).rev() {
        let d = shape[ax];
        if d == 0 {
            return offset;
        }
        o += (rem % d) as isize * strides[ax];
        rem /= d;
    }
    o as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::contiguous_strides;

    #[test]
    fn walks_transposed_layout() {
        // a 2x3 row-major buffer viewed as its 3x2 transpose
        let mut seen = vec![];
        for_each_offset(&[3, 2], &[1, 3], 0, |o| seen.push(o));
        assert_eq!(seen, vec![0, 3, 1, 4, 2, 5]);
        for (k, &o) in seen.iter().enumerate() {
            assert_eq!(offset_of(k, &[3, 2], &[1, 3], 0), o);
        }
    }

    #[test]
    fn collapses_contiguous_axes() {
        let s = contiguous_strides(&[2, 3, 4]);
        let (shape, st) = collapse(&[2, 3, 4], &[&s]);
        assert_eq!(shape, vec![24]);
        assert_eq!(st[0], vec![1]);
    }

    #[test]
    fn broadcast_and_negative_strides() {
        let mut seen = vec![];
        for_each_offset2(&[2, 3], (&[0, 1], 0), (&[3, -1], 2), |a, b| {
            seen.push((a, b))
        });
        assert_eq!(seen, vec![(0, 2), (1, 1), (2, 0), (0, 5), (1, 4), (2, 3)]);
    }
}
