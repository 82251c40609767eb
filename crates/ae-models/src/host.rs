//! Host views of dense layers for the fused CPU paths of the models.

use ae_core::fused::host::HostView;
use ae_core::fused::mlp::Dense;
use ae_core::{Activation, Gradients};
use candle_core::{Result, Tensor};
use candle_nn::Linear;

/// Read views of a layer's weight and bias, or `None` off the CPU or for another dtype.
pub(crate) fn view(l: &Linear) -> Option<(HostView<'_>, HostView<'_>)> {
    Some((HostView::of(l.weight())?, HostView::of(l.bias()?)?))
}

/// The fused path's description of a layer from its views, with `activation` after it.
pub(crate) fn dense<'a>(w: &'a HostView<'_>, b: &'a HostView<'_>, activation: Option<Activation>) -> Dense<'a> {
    let (out_dim, in_dim) = (b.as_slice().len(), w.as_slice().len() / b.as_slice().len().max(1));
    Dense { weight: w.as_slice(), bias: b.as_slice(), in_dim, out_dim, activation }
}

/// `layers` run on `xs` (whose host values are `x`) for inference through the fused forward pass,
/// row-blocked across threads, as a tensor on `xs`'s device.
pub(crate) fn infer(layers: &[Dense<'_>], x: &HostView<'_>, xs: &Tensor) -> Result<Tensor> {
    let rows = xs.dim(0)?;
    let out = ae_core::fused::mlp::forward_rows_parallel(layers, x.as_slice(), rows, ae_core::fused::threads());
    let width = layers.last().map_or(0, |l| l.out_dim);
    Tensor::from_vec(out, (rows, width), xs.device())
}

/// The gradient buffers of `layers` (weight, then bias, of each) taken out of `grads` for a fused
/// step to overwrite; [`put_grads`] gives them back as the step's gradients.
pub(crate) fn take_grads(grads: &mut Gradients, layers: &[&Linear]) -> Vec<Vec<f32>> {
    layers.iter().flat_map(|l| params(l)).map(|p| grads.take_host(p)).collect()
}

/// Records `bufs` (as [`take_grads`] ordered them) as the gradients of `layers`.
pub(crate) fn put_grads(grads: &mut Gradients, layers: &[&Linear], bufs: Vec<Vec<f32>>) {
    for (p, g) in layers.iter().flat_map(|l| params(l)).zip(bufs) {
        grads.put_host(p, g);
    }
}

/// A layer's weight and bias tensors (the parameters themselves, so their ids key gradients).
fn params(l: &Linear) -> impl Iterator<Item = &Tensor> {
    std::iter::once(l.weight()).chain(l.bias())
}
