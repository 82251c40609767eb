//! Host views of dense layers for the fused CPU paths of the models.

use ae_core::Activation;
use ae_core::fused::host::HostView;
use ae_core::fused::mlp::Dense;
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
