//! A stack of fully-connected layers with one activation between them, the building block of the
//! encoders and decoders. Layers are a `Vec<Linear>` (not a boxed `Sequential`) so parameter names
//! stay `<prefix>.layers.<i>.weight`, a stable file format.

use ae_core::Activation;
use ae_core::init::linear;
use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};

/// Fully-connected layers `widths[0] -> widths[1] -> ... -> widths[n]`.
#[derive(Debug, Clone)]
pub struct Mlp {
    layers: Vec<Linear>,
    activation: Activation,
    activate_last: bool,
}

impl Mlp {
    /// Layers through `widths`, the activation after each but the last unless `activate_last`.
    pub fn new(widths: &[usize], activation: Activation, activate_last: bool, vb: VarBuilder) -> Result<Self> {
        let vb = vb.pp("layers");
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| linear(w[0], w[1], vb.pp(i.to_string())))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { layers, activation, activate_last })
    }

    /// The layers, first to last.
    pub fn layers(&self) -> &[Linear] {
        &self.layers
    }
}

impl Module for Mlp {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let last = self.layers.len().saturating_sub(1);
        let mut xs = xs.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            xs = layer.forward(&xs)?;
            if i < last || self.activate_last {
                xs = self.activation.apply(&xs)?;
            }
        }
        Ok(xs)
    }
}
