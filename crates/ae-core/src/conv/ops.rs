//! The convolution and transposed convolution as candle custom ops on the CPU, forward and
//! backward, each a patch transform ([`super::patches`]) and a matrix product
//! ([`crate::fused::gemm`], OpenBLAS where the build found it) per chunk of images. Against
//! candle's own CPU kernels this skips the transposes candle's backward pass makes, computes the
//! transposed convolution as a GEMM instead of a direct loop, and skips the input's gradient
//! where nothing upstream needs it (the first layer).
//!
//! The batch is cut into one slice of images per thread and each slice runs serially, chunk by
//! chunk (`CHUNK_VALUES`), with single-threaded products: on the CPU this keeps the matrix
//! library's own threads (which spin between calls) from competing with rayon's, and needs no
//! reduction but the weight gradient's.
//! The activation that follows a layer is applied in the same pass, and its derivative taken
//! from the output in the backward one.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;

use super::patches::{Geometry, col2im, from_channel_major, im2col, to_channel_major};
use crate::Activation;
use crate::fused::gemm::{Operand, matmul};
use crate::fused::host::HostView;
use crate::fused::kernels;
use std::cell::RefCell;

/// `Conv2d` with PyTorch's layouts: input `(B, C, H, W)`, weight `(O, C, k, k)`, bias `(O)`,
/// then `activation` where given.
#[derive(Debug, Clone, Copy)]
pub struct Conv2dOp {
    /// Step between kernel positions.
    pub stride: usize,
    /// Zeros on every side.
    pub padding: usize,
    /// Applied to the output; one whose derivative follows from its output ([`kernels::supports`]).
    pub activation: Option<Activation>,
}

/// `ConvTranspose2d` with PyTorch's layouts: input `(B, Cin, h, w)`, weight `(Cin, Cout, k, k)`,
/// bias `(Cout)`, output `(B, Cout, out.0, out.1)`, then `activation` where given. The output
/// size is given instead of an output padding, so rows and columns may take different ones.
#[derive(Debug, Clone, Copy)]
pub struct ConvTranspose2dOp {
    /// The forward convolution's stride (the upsampling factor).
    pub stride: usize,
    /// The forward convolution's padding.
    pub padding: usize,
    /// Output height and width.
    pub out: (usize, usize),
    /// Applied to the output, as for [`Conv2dOp`].
    pub activation: Option<Activation>,
}

impl Conv2dOp {
    fn geometry(&self, x: &[usize], w: &[usize]) -> Result<Geometry> {
        let [_, c, h, wd] = dims4(x, "conv2d input")?;
        let [_, wc, k, k2] = dims4(w, "conv2d weight")?;
        if wc != c || k != k2 {
            bail!("conv2d: a weight of shape {w:?} does not fit an input of {c} channels (expected (out, {c}, k, k))");
        }
        Geometry::new(c, (h, wd), k, self.stride, self.padding).ok_or_else(|| {
            candle_core::Error::Msg(format!(
                "conv2d: a {h}x{wd} map padded by {} is smaller than the {k}x{k} kernel",
                self.padding
            ))
        })
    }
}

impl ConvTranspose2dOp {
    /// The geometry of the forward convolution this op is the adjoint of: from the output image
    /// back to the input's positions.
    fn geometry(&self, x: &[usize], w: &[usize]) -> Result<Geometry> {
        let [_, c, h, wd] = dims4(x, "conv_transpose2d input")?;
        let [wc, cout, k, k2] = dims4(w, "conv_transpose2d weight")?;
        if wc != c || k != k2 {
            bail!(
                "conv_transpose2d: a weight of shape {w:?} does not fit an input of {c} channels (expected ({c}, out, k, k))"
            );
        }
        match Geometry::new(cout, self.out, k, self.stride, self.padding) {
            Some(g) if (g.out_h, g.out_w) == (h, wd) => Ok(g),
            _ => bail!(
                "conv_transpose2d: a {h}x{wd} map cannot grow to {}x{} with kernel {k}, stride {} and padding {}",
                self.out.0,
                self.out.1,
                self.stride,
                self.padding
            ),
        }
    }
}

impl CustomOp3 for Conv2dOp {
    fn name(&self) -> &'static str {
        "ae-conv2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = self.geometry(l1.dims(), l2.dims())?;
        let (x, w, b) = (slice(s1, l1)?, slice(s2, l2)?, slice(s3, l3)?);
        let (batch, o, p, l) = (l1.dims()[0], l2.dims()[0], g.patch_len(), g.positions());
        check_len(b, o, "conv2d bias")?;
        let mut out = vec![0.0; batch * o * l];
        let per = slice_len(batch);
        let cb = chunk_len(p * l, per);
        out.par_chunks_mut(per * o * l).zip(x.par_chunks(per * g.image_len())).for_each(|(out, x)| {
            with_scratch(p * cb * l, o * cb * l, |patches, ys| {
                for (out, x) in out.chunks_mut(cb * o * l).zip(x.chunks(cb * g.image_len())) {
                    let nb = x.len() / g.image_len();
                    let (patches, ys) = (&mut patches[..p * nb * l], &mut ys[..o * nb * l]);
                    im2col(x, &g, nb, patches);
                    matmul(ys, op(w, o, p, false), op(patches, p, nb * l, false), false, 1);
                    from_channel_major(ys, nb, o, l, Some(b), out);
                    activate(out, self.activation);
                }
            });
        });
        Ok((CpuStorage::F32(out), Shape::from((batch, o, g.out_h, g.out_w))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let g = self.geometry(x.dims(), w.dims())?;
        let (o, p, l) = (w.dims()[0], g.patch_len(), g.positions());
        let ws = w.contiguous()?;
        let wv = view(&ws)?;
        let wv = wv.as_slice();
        let slices = Slices { activation: self.activation, out_image: o * l, in_image: g.image_len() };
        let cb = chunk_len(p * l, slice_len(x.dims()[0]));
        let (gx, gw, gb) = slices.backward(x, res, grad, (o * p, o), |delta, x, gx| {
            let mut gw = vec![0.0; o * p];
            let mut gb = vec![0.0; o];
            let mut gx = gx.map(|gx| gx.chunks_mut(cb * g.image_len()));
            with_scratch(p * cb * l, o * cb * l, |patches, dcm| {
                for (i, (delta, x)) in delta.chunks(cb * o * l).zip(x.chunks(cb * g.image_len())).enumerate() {
                    let nb = x.len() / g.image_len();
                    let (patches, dcm) = (&mut patches[..p * nb * l], &mut dcm[..o * nb * l]);
                    to_channel_major(delta, nb, o, l, dcm);
                    add(&mut gb, &row_sums(dcm, nb * l));
                    im2col(x, &g, nb, patches);
                    matmul(&mut gw, op(dcm, o, nb * l, false), op(patches, p, nb * l, true), i > 0, 1);
                    if let Some(gx) = gx.as_mut().and_then(Iterator::next) {
                        matmul(patches, op(wv, o, p, true), op(dcm, o, nb * l, false), false, 1);
                        col2im(patches, &g, nb, None, gx);
                    }
                }
            });
            (gw, gb)
        })?;
        Ok((gx, Some(Tensor::from_vec(gw, w.shape(), w.device())?), Some(Tensor::from_vec(gb, o, w.device())?)))
    }
}

impl CustomOp3 for ConvTranspose2dOp {
    fn name(&self) -> &'static str {
        "ae-conv-transpose2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = self.geometry(l1.dims(), l2.dims())?;
        let (x, w, b) = (slice(s1, l1)?, slice(s2, l2)?, slice(s3, l3)?);
        let (batch, cin, p, l) = (l1.dims()[0], l1.dims()[1], g.patch_len(), g.positions());
        check_len(b, g.channels, "conv_transpose2d bias")?;
        let mut out = vec![0.0; batch * g.image_len()];
        let per = slice_len(batch);
        let cb = chunk_len(p * l, per);
        out.par_chunks_mut(per * g.image_len()).zip(x.par_chunks(per * cin * l)).for_each(|(out, x)| {
            with_scratch(p * cb * l, cin * cb * l, |patches, xc| {
                for (out, x) in out.chunks_mut(cb * g.image_len()).zip(x.chunks(cb * cin * l)) {
                    let nb = x.len() / (cin * l);
                    let (patches, xc) = (&mut patches[..p * nb * l], &mut xc[..cin * nb * l]);
                    to_channel_major(x, nb, cin, l, xc);
                    matmul(patches, op(w, cin, p, true), op(xc, cin, nb * l, false), false, 1);
                    col2im(patches, &g, nb, Some(b), out);
                    activate(out, self.activation);
                }
            });
        });
        Ok((CpuStorage::F32(out), Shape::from((batch, g.channels, g.height, g.width))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let g = self.geometry(x.dims(), w.dims())?;
        let (cin, p, l) = (x.dims()[1], g.patch_len(), g.positions());
        let ws = w.contiguous()?;
        let wv = view(&ws)?;
        let wv = wv.as_slice();
        let slices = Slices { activation: self.activation, out_image: g.image_len(), in_image: cin * l };
        let cb = chunk_len(p * l, slice_len(x.dims()[0]));
        let (gx, gw, gb) = slices.backward(x, res, grad, (cin * p, g.channels), |delta, x, gx| {
            let gb = channel_sums(delta, g.channels, g.height * g.width);
            let mut gw = vec![0.0; cin * p];
            let mut gx = gx.map(|gx| gx.chunks_mut(cb * cin * l));
            with_scratch(p * cb * l, cin * cb * l, |patches, xc| {
                for (i, (delta, x)) in delta.chunks(cb * g.image_len()).zip(x.chunks(cb * cin * l)).enumerate() {
                    let nb = x.len() / (cin * l);
                    let (patches, xc) = (&mut patches[..p * nb * l], &mut xc[..cin * nb * l]);
                    im2col(delta, &g, nb, patches);
                    to_channel_major(x, nb, cin, l, xc);
                    matmul(&mut gw, op(xc, cin, nb * l, false), op(patches, p, nb * l, true), i > 0, 1);
                    if let Some(gx) = gx.as_mut().and_then(Iterator::next) {
                        matmul(xc, op(wv, cin, p, false), op(patches, p, nb * l, false), false, 1);
                        from_channel_major(xc, nb, cin, l, None, gx);
                    }
                }
            });
            (gw, gb)
        })?;
        Ok((
            gx,
            Some(Tensor::from_vec(gw, w.shape(), w.device())?),
            Some(Tensor::from_vec(gb, g.channels, w.device())?),
        ))
    }
}

/// How a backward pass cuts its batch: values per image of the output and of the input.
struct Slices {
    activation: Option<Activation>,
    out_image: usize,
    in_image: usize,
}

/// A slice's weight and bias gradients.
type Partial = (Vec<f32>, Vec<f32>);

impl Slices {
    /// Runs `slice` on each thread's slice of the batch, with the output gradient times the
    /// activation's derivative, the input, and the input gradient's slice where one is wanted;
    /// returns the input gradient and the summed weight (`sizes.0` values) and bias (`sizes.1`)
    /// gradients.
    fn backward(
        &self,
        x: &Tensor,
        res: &Tensor,
        grad: &Tensor,
        sizes: (usize, usize),
        slice: impl Fn(&[f32], &[f32], Option<&mut [f32]>) -> Partial + Sync,
    ) -> Result<(Option<Tensor>, Vec<f32>, Vec<f32>)> {
        let batch = x.dims().first().copied().unwrap_or(0);
        let (xs, gys, ys) = (x.contiguous()?, grad.contiguous()?, res.contiguous()?);
        let (xv, gv, yv) = (view(&xs)?, view(&gys)?, view(&ys)?);
        let want_gx = x.track_op();
        let mut gx = vec![0.0; if want_gx { x.elem_count() } else { 0 }];
        let per = slice_len(batch);
        let (out, input) = (per * self.out_image.max(1), per * self.in_image.max(1));
        let partials: Vec<Partial> = gv
            .as_slice()
            .par_chunks(out)
            .zip(yv.as_slice().par_chunks(out))
            .zip(xv.as_slice().par_chunks(input))
            .zip(slices(&mut gx, want_gx, input, batch.div_ceil(per)))
            .map(|(((gy, y), x), gx)| {
                DELTA.with(|delta| {
                    let mut delta = delta.borrow_mut();
                    delta.clear();
                    delta.extend_from_slice(gy);
                    backprop(&mut delta, y, self.activation);
                    slice(&delta, x, gx)
                })
            })
            .collect();
        let (gw, gb) = sum_partials(partials, sizes.0, sizes.1);
        let gx = if want_gx { Some(Tensor::from_vec(gx, x.shape(), x.device())?) } else { None };
        Ok((gx, gw, gb))
    }
}

/// The input gradient's slices, one per slice of the batch, or none for each where it is not
/// wanted.
fn slices(gx: &mut [f32], wanted: bool, len: usize, count: usize) -> Vec<Option<&mut [f32]>> {
    if wanted { gx.chunks_mut(len).map(Some).collect() } else { (0..count).map(|_| None).collect() }
}

/// Patch-matrix values per chunk: 1 MiB, the L2 cache of the cores measured, so that a chunk's
/// patches stay there from the patch transform to the product that reads them (and back, for
/// `col2im`). Tests use tiny chunks, so that their small batches run through several.
const CHUNK_VALUES: usize = if cfg!(test) { 100 } else { 256 * 1024 };

/// Images per chunk of a thread's slice (`per` images) when each image makes `patch_values`
/// patch-matrix values: as many as fit [`CHUNK_VALUES`], at least one.
fn chunk_len(patch_values: usize, per: usize) -> usize {
    (CHUNK_VALUES / patch_values.max(1)).clamp(1, per.max(1))
}

/// `acc += xs`, element by element.
fn add(acc: &mut [f32], xs: &[f32]) {
    acc.iter_mut().zip(xs).for_each(|(a, x)| *a += x);
}

/// Images per thread's slice of a batch.
fn slice_len(batch: usize) -> usize {
    batch.div_ceil(rayon::current_num_threads().max(1)).max(1)
}

thread_local! {
    /// Each thread's two work buffers, kept between calls so that a training step does not
    /// fault in fresh pages for its patch matrices.
    static SCRATCH: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    /// Each thread's output gradient times the activation's derivative, kept for the same reason.
    static DELTA: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on this thread's buffers of `a` and `b` values (contents unspecified: every user
/// overwrites them whole).
fn with_scratch(a: usize, b: usize, f: impl FnOnce(&mut [f32], &mut [f32])) {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        let (x, y) = &mut *s;
        if x.len() < a {
            x.resize(a, 0.0);
        }
        if y.len() < b {
            y.resize(b, 0.0);
        }
        f(&mut x[..a], &mut y[..b]);
    });
}

fn activate(xs: &mut [f32], act: Option<Activation>) {
    if let Some(act) = act {
        kernels::activate_vectorised(xs, act);
    }
}

fn backprop(delta: &mut [f32], ys: &[f32], act: Option<Activation>) {
    if let Some(act) = act {
        kernels::backprop_activation(delta, ys, act);
    }
}

/// Sums the threads' weight and bias gradients.
fn sum_partials(partials: Vec<Partial>, nw: usize, nb: usize) -> (Vec<f32>, Vec<f32>) {
    let mut gw = vec![0.0; nw];
    let mut gb = vec![0.0; nb];
    for (w, b) in partials {
        add(&mut gw, &w);
        add(&mut gb, &b);
    }
    (gw, gb)
}

fn op(data: &[f32], rows: usize, cols: usize, transposed: bool) -> Operand<'_> {
    Operand { data, rows, cols, transposed }
}

fn dims4(d: &[usize], what: &str) -> Result<[usize; 4]> {
    <[usize; 4]>::try_from(d)
        .map_err(|_| candle_core::Error::Msg(format!("{what}: expected 4 dimensions, got shape {d:?}")))
}

fn check_len(v: &[f32], want: usize, what: &str) -> Result<()> {
    if v.len() != want {
        bail!("{what}: {} values, expected {want}", v.len());
    }
    Ok(())
}

/// The values of a contiguous f32 storage (the public wrappers make every argument contiguous).
fn slice<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else { bail!("ae's CPU convolution takes f32 tensors, got {:?}", s.dtype()) };
    match l.contiguous_offsets() {
        Some((start, end)) if end <= v.len() => Ok(&v[start..end]),
        _ => bail!("ae's CPU convolution takes contiguous tensors"),
    }
}

fn view(t: &Tensor) -> Result<HostView<'_>> {
    HostView::of(t)
        .ok_or_else(|| candle_core::Error::Msg("ae's CPU convolution takes contiguous f32 CPU tensors".into()))
}

/// Sums of each `n`-long row, accumulated in f64.
fn row_sums(xs: &[f32], n: usize) -> Vec<f32> {
    xs.chunks(n.max(1)).map(|r| r.iter().map(|&v| f64::from(v)).sum::<f64>() as f32).collect()
}

/// Sums per channel of a `(B, C, plane)` batch.
fn channel_sums(xs: &[f32], channels: usize, plane: usize) -> Vec<f32> {
    let mut sums = vec![0f64; channels];
    for image in xs.chunks(channels * plane.max(1)) {
        for (s, map) in sums.iter_mut().zip(image.chunks(plane.max(1))) {
            *s += map.iter().map(|&v| f64::from(v)).sum::<f64>();
        }
    }
    sums.into_iter().map(|s| s as f32).collect()
}
