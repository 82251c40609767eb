//! Host views of dense layers for the fused CPU paths of the models.

use ae_core::Activation;
use ae_core::fused::host::HostView;
use ae_core::fused::mlp::Dense;
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
