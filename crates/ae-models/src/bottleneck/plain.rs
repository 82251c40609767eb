//! A plain code: one linear layer from the body's features, optionally followed by an
//! activation (the stacked and denoising presets). Parameter: `encoder.layers.<n>` after the
//! encoder's `n` hidden layers.

use ae_core::fused::kernels;
use ae_core::init::linear;
use ae_core::{Activation, Gradients, StepContext};
use candle_core::{Module, Result, Tensor};
use candle_nn::Linear;

use super::{Bottleneck, HeadWeights, HostCode, HostGrad, HostHead, HostOut, HostTerms, put_layer, take_layer};
use crate::body::HeadSite;
use crate::config::PlainSpec;

/// A deterministic code.
#[derive(Debug)]
pub struct PlainCode {
    code: Linear,
    /// The layer's parameter prefix, `encoder.layers.<n>`.
    name: String,
    activation: Option<Activation>,
    code_dim: usize,
}

impl PlainCode {
    /// Creates (or loads) the code layer at `site`.
    pub fn build(spec: &PlainSpec, site: HeadSite<'_>) -> Result<Self> {
        let code = linear(site.features, spec.code_dim, site.vb.pp("layers").pp(site.next_layer))?;
        let name = format!("encoder.layers.{}", site.next_layer);
        Ok(Self { code, name, activation: spec.code_activation, code_dim: spec.code_dim })
    }
}

impl Bottleneck for PlainCode {
    fn code_dim(&self) -> usize {
        self.code_dim
    }

    fn encode(&self, h: &Tensor) -> Result<Tensor> {
        let zs = self.code.forward(h)?;
        match self.activation {
            Some(act) => act.apply(&zs),
            None => Ok(zs),
        }
    }

    fn host(&self) -> Option<&dyn HostCode> {
        Some(self)
    }

    fn export_code(&self, g: &mut ae_core::graph::Graph, h: &str) -> Result<Option<String>> {
        let pre = g.linear(&self.name, &self.code, h)?;
        Ok(Some(g.activate(self.activation, &pre)))
    }
}

impl HostCode for PlainCode {
    fn train_head(&self) -> Option<HostHead<'_>> {
        self.infer_head()
    }

    fn infer_head(&self) -> Option<HostHead<'_>> {
        if self.activation.is_some_and(|a| !kernels::supports(a)) {
            return None;
        }
        Some(HostHead { weights: HeadWeights::of(&self.code)?, activation: self.activation })
    }

    fn forward(
        &self,
        head_out: &[f32],
        _rows: usize,
        _ctx: &mut StepContext<'_>,
        out: HostOut<'_>,
    ) -> Result<HostTerms> {
        out.code.clear();
        out.code.extend_from_slice(head_out);
        Ok(HostTerms::default())
    }

    fn backward(&self, step: HostGrad<'_>, top: &mut [f32]) {
        top.copy_from_slice(step.dz);
        if let Some(act) = self.activation {
            kernels::backprop_activation(top, step.head_out, act);
        }
    }

    fn take_grads(&self, grads: &mut Gradients) -> [Vec<f32>; 2] {
        take_layer(grads, &self.code)
    }

    fn put_grads(&self, grads: &mut Gradients, weight: Vec<f32>, bias: Vec<f32>) {
        put_layer(grads, &self.code, weight, bias);
    }
}
