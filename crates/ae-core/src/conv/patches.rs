//! Moving between images and their patch matrices, the two linear maps a convolution is made of.
//!
//! A batch of `B` images `(B, C, H, W)` and a square kernel give a *patch matrix* of
//! `C·k·k` rows and `B·L` columns (`L` kernel positions per image): column `(b, oy, ox)` holds
//! the patch under the kernel at that position, zero where it overhangs the padded border. A
//! convolution is then one matrix product `W (O, C·k·k) · patches`, and a transposed convolution
//! its adjoint: `col2im` sums patch matrices back into images and is the transpose of `im2col`.
//! Laying the batch along the columns makes every product one large GEMM per thread.

/// A convolution's geometry: a `channels x height x width` image read by a square kernel moved
/// by `stride` over it padded with `padding` zeros on every side, giving `out_h x out_w` positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Channels of the image.
    pub channels: usize,
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
    /// Kernel side.
    pub kernel: usize,
    /// Step between kernel positions.
    pub stride: usize,
    /// Zeros added on every side.
    pub padding: usize,
    /// Kernel positions down.
    pub out_h: usize,
    /// Kernel positions across.
    pub out_w: usize,
}

impl Geometry {
    /// The geometry of a `kernel x kernel` convolution over a `channels x height x width` image;
    /// `None` when the padded image is smaller than the kernel or the stride or kernel is 0.
    pub fn new(
        channels: usize,
        (height, width): (usize, usize),
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Option<Self> {
        if kernel == 0 || stride == 0 || height + 2 * padding < kernel || width + 2 * padding < kernel {
            return None;
        }
        let out_h = (height + 2 * padding - kernel) / stride + 1;
        let out_w = (width + 2 * padding - kernel) / stride + 1;
        Some(Self { channels, height, width, kernel, stride, padding, out_h, out_w })
    }

    /// Rows of the patch matrix: `channels · kernel²`.
    pub fn patch_len(&self) -> usize {
        self.channels * self.kernel * self.kernel
    }

    /// Kernel positions per image.
    pub fn positions(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Values per image.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The positions `o` (of `outs`) at which kernel offset `k` reads inside a side of `side`
    /// pixels, and the pixel the first of them reads: `lo..hi`, `o * stride + k - padding`.
    fn span(&self, k: usize, outs: usize, side: usize) -> (usize, usize, usize) {
        let s = self.stride;
        let lo = self.padding.saturating_sub(k).div_ceil(s).min(outs);
        let hi = (side + self.padding).checked_sub(k).map_or(0, |reach| reach.div_ceil(s)).min(outs);
        let first = (lo * s + k).saturating_sub(self.padding);
        (lo, hi.max(lo), first)
    }
}

/// Writes the patch matrix of `batch` images (`images`, `(B, C, H, W)` row-major) into
/// `patches` (`C·k·k` rows of `B·L`). Serial: callers split the batch across threads.
///
/// # Panics
/// If a slice's length does not match the geometry: a programming error, never a user input.
pub fn im2col(images: &[f32], g: &Geometry, batch: usize, patches: &mut [f32]) {
    let (k, l, image, plane) = (g.kernel, g.positions(), g.image_len(), g.height * g.width);
    assert_eq!(images.len(), batch * image, "im2col: images do not match the geometry");
    assert_eq!(patches.len(), g.patch_len() * batch * l, "im2col: patches do not match the geometry");
    if l == 0 || batch == 0 {
        return;
    }
    for (row, out) in patches.chunks_mut(batch * l).enumerate() {
        let (c, ky, kx) = (row / (k * k), row / k % k, row % k);
        let (ylo, yhi, y0) = g.span(ky, g.out_h, g.height);
        let (xlo, xhi, x0) = g.span(kx, g.out_w, g.width);
        for (b, out) in out.chunks_mut(l).enumerate() {
            let plane = &images[b * image + c * plane..][..plane];
            for (oy, out) in out.chunks_mut(g.out_w).enumerate() {
                if oy < ylo || oy >= yhi {
                    out.fill(0.0);
                    continue;
                }
                let line = &plane[(y0 + (oy - ylo) * g.stride) * g.width..][..g.width];
                out[..xlo].fill(0.0);
                out[xhi..].fill(0.0);
                let inside = &mut out[xlo..xhi];
                gather(inside, &line[x0..], g.stride);
            }
        }
    }
}

/// Sums a patch matrix (`C·k·k` rows of `B·L`) back into `batch` images, the transpose of
/// [`im2col`]. Each image channel starts at its entry of `start` (a bias), or at zero. Serial.
///
/// # Panics
/// If a slice's length does not match the geometry: a programming error, never a user input.
pub fn col2im(patches: &[f32], g: &Geometry, batch: usize, start: Option<&[f32]>, images: &mut [f32]) {
    let (k, l, plane) = (g.kernel, g.positions(), g.height * g.width);
    assert_eq!(images.len(), batch * g.image_len(), "col2im: images do not match the geometry");
    assert_eq!(patches.len(), g.patch_len() * batch * l, "col2im: patches do not match the geometry");
    if let Some(s) = start {
        assert_eq!(s.len(), g.channels, "col2im: one starting value per channel");
    }
    if g.image_len() == 0 {
        return;
    }
    for (b, image) in images.chunks_mut(g.image_len()).enumerate() {
        for (c, out) in image.chunks_mut(plane).enumerate() {
            out.fill(start.map_or(0.0, |s| s[c]));
            for ky in 0..k {
                let (ylo, yhi, y0) = g.span(ky, g.out_h, g.height);
                for kx in 0..k {
                    let (xlo, xhi, x0) = g.span(kx, g.out_w, g.width);
                    if xlo == xhi {
                        continue;
                    }
                    let row = &patches[((c * k + ky) * k + kx) * batch * l + b * l..][..l];
                    for oy in ylo..yhi {
                        let src = &row[oy * g.out_w + xlo..oy * g.out_w + xhi];
                        let line = &mut out[(y0 + (oy - ylo) * g.stride) * g.width..][..g.width];
                        scatter_add(&mut line[x0..], src, g.stride);
                    }
                }
            }
        }
    }
}

/// `dst[i] = src[i * stride]`. Strides 1 and 2 (the conv body's) have their own loops: a
/// stride known at compile time needs no division to count the elements, which in the generic
/// `step_by` loop cost more than the copy on rows as short as a 7x7 map's.
fn gather(dst: &mut [f32], src: &[f32], stride: usize) {
    match stride {
        1 => dst.iter_mut().zip(src).for_each(|(d, &s)| *d = s),
        2 => dst.iter_mut().zip(src.chunks(2)).for_each(|(d, s)| *d = s[0]),
        _ => dst.iter_mut().zip(src.iter().step_by(stride)).for_each(|(d, &s)| *d = s),
    }
}

/// `dst[i * stride] += src[i]`, the adjoint of [`gather`], with the same special cases.
fn scatter_add(dst: &mut [f32], src: &[f32], stride: usize) {
    match stride {
        1 => dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s),
        2 => dst.chunks_mut(2).zip(src).for_each(|(d, &s)| d[0] += s),
        _ => dst.iter_mut().step_by(stride).zip(src).for_each(|(d, &s)| *d += s),
    }
}

/// `(B, C, L)` to `(C, B·L)`: channels outermost, so a batch's maps form one matrix's rows.
pub fn to_channel_major(xs: &[f32], batch: usize, channels: usize, l: usize, out: &mut [f32]) {
    assert_eq!(xs.len(), batch * channels * l, "to_channel_major: length does not match the shape");
    assert_eq!(out.len(), xs.len(), "to_channel_major: output length differs");
    if l == 0 || batch == 0 {
        return;
    }
    for (c, row) in out.chunks_mut(batch * l).enumerate() {
        for (b, dst) in row.chunks_mut(l).enumerate() {
            dst.copy_from_slice(&xs[(b * channels + c) * l..][..l]);
        }
    }
}

/// `(C, B·L)` back to `(B, C, L)`, adding `bias[c]` to channel `c` where given.
pub fn from_channel_major(xs: &[f32], batch: usize, channels: usize, l: usize, bias: Option<&[f32]>, out: &mut [f32]) {
    assert_eq!(xs.len(), batch * channels * l, "from_channel_major: length does not match the shape");
    assert_eq!(out.len(), xs.len(), "from_channel_major: output length differs");
    if l == 0 || channels == 0 {
        return;
    }
    for (b, image) in out.chunks_mut(channels * l).enumerate() {
        for (c, dst) in image.chunks_mut(l).enumerate() {
            let src = &xs[(c * batch + b) * l..][..l];
            match bias {
                Some(bias) => dst.iter_mut().zip(src).for_each(|(d, s)| *d = s + bias[c]),
                None => dst.copy_from_slice(src),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> Vec<f32> {
        (0..n).map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0).collect()
    }

    #[test]
    fn col2im_is_the_transpose_of_im2col() {
        // <im2col(x), p> == <x, col2im(p)> for every geometry: the two are adjoint.
        for (c, h, w, k, s, p) in [(1, 5, 7, 3, 1, 0), (3, 6, 5, 3, 2, 1), (2, 7, 7, 2, 2, 0), (2, 4, 9, 5, 3, 2)] {
            let g = Geometry::new(c, (h, w), k, s, p).unwrap();
            let batch = 3;
            let x = data(batch * g.image_len());
            let q: Vec<f32> = data(g.patch_len() * batch * g.positions()).iter().map(|v| v * 0.7 + 0.1).collect();
            let mut cols = vec![f32::NAN; q.len()];
            im2col(&x, &g, batch, &mut cols);
            let mut back = vec![f32::NAN; x.len()];
            col2im(&q, &g, batch, None, &mut back);
            let lhs: f64 = cols.iter().zip(&q).map(|(a, b)| f64::from(a * b)).sum();
            let rhs: f64 = x.iter().zip(&back).map(|(a, b)| f64::from(a * b)).sum();
            assert!((lhs - rhs).abs() < 1e-3 * lhs.abs().max(1.0), "{g:?}: {lhs} vs {rhs}");
        }
    }

    #[test]
    fn patches_hold_the_pixels_under_the_kernel_and_zeros_past_the_border() {
        // One 1x3x3 image 1..9, a 2x2 kernel, stride 1, padding 1: 4x4 positions.
        let g = Geometry::new(1, (3, 3), 2, 1, 1).unwrap();
        assert_eq!((g.out_h, g.out_w, g.patch_len()), (4, 4, 4));
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let mut cols = vec![0.0; 16 * 4];
        im2col(&x, &g, 1, &mut cols);
        // Row (ky 1, kx 1) is the pixel at the position itself: rows 0..3 and columns 0..3.
        assert_eq!(&cols[3 * 16..3 * 16 + 4], &[1.0, 2.0, 3.0, 0.0]);
        // Row (ky 0, kx 0) at position (0, 0) overhangs the corner.
        assert_eq!(cols[0], 0.0);
        assert_eq!(cols[5], 1.0);
    }

    #[test]
    fn channel_major_round_trips_and_adds_the_bias() {
        let (b, c, l) = (3, 4, 5);
        let x = data(b * c * l);
        let mut cm = vec![0.0; x.len()];
        to_channel_major(&x, b, c, l, &mut cm);
        assert_eq!(cm[l], x[c * l], "row 0 holds channel 0 of every image");
        let mut back = vec![0.0; x.len()];
        from_channel_major(&cm, b, c, l, Some(&[1.0, 2.0, 3.0, 4.0]), &mut back);
        for (i, (got, want)) in back.iter().zip(&x).enumerate() {
            assert_eq!(*got, want + (i / l % c + 1) as f32);
        }
    }

    #[test]
    fn a_kernel_larger_than_the_padded_image_has_no_geometry() {
        assert_eq!(Geometry::new(1, (2, 2), 5, 1, 1), None);
        assert!(Geometry::new(1, (3, 3), 5, 1, 1).is_some());
        assert_eq!(Geometry::new(1, (3, 3), 3, 0, 1), None);
    }
}
