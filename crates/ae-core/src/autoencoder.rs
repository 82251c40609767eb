//! The one trait every kind of autoencoder implements, and the values that cross it.

use candle_core::{Result, Tensor};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::fused::FusedScratch;
use crate::loss::ReconLoss;

/// One mini-batch as the data pipeline yields it. A denoising model gets a corrupted `input` and
/// the clean `target`; every other model gets the same tensor twice. Models never learn which.
#[derive(Debug, Clone)]
pub struct Batch {
    /// What the encoder sees, `(batch, features)`.
    pub input: Tensor,
    /// What the decoder must rebuild, `(batch, features)`.
    pub target: Tensor,
}

impl Batch {
    /// A batch whose target is its input.
    pub fn plain(xs: Tensor) -> Self {
        Self { input: xs.clone(), target: xs }
    }
}

/// What a model may need from the trainer to compute its loss.
pub struct StepContext<'a> {
    /// The model's own random stream (VAE sampling), seeded from the run seed.
    pub rng: &'a mut ChaCha8Rng,
    /// True while training, false while evaluating.
    pub training: bool,
    /// Weight on the KL term (β, possibly warmed up by a schedule); 1 where unused.
    pub kl_weight: f64,
}

/// A model's loss, split into its terms. Every tensor is a scalar: the mean over the batch of a
/// per-example quantity (see [`crate::loss`] for the reduction).
#[derive(Debug, Clone)]
pub struct LossParts {
    /// What the optimizer minimises.
    pub total: Tensor,
    /// Reconstruction term, per example.
    pub recon: Tensor,
    /// KL divergence to the prior (variational models), per example, unweighted.
    pub kl: Option<Tensor>,
    /// Sparsity penalty (sparse models), per example, weighted.
    pub sparsity: Option<Tensor>,
}

impl LossParts {
    /// A loss that is reconstruction only.
    pub fn recon_only(recon: Tensor) -> Self {
        Self { total: recon.clone(), recon, kl: None, sparsity: None }
    }

    /// Copies the terms to the host.
    pub fn values(&self) -> Result<LossValues> {
        let scalar = |t: &Tensor| -> Result<f64> { t.to_dtype(candle_core::DType::F64)?.to_scalar() };
        Ok(LossValues {
            total: scalar(&self.total)?,
            recon: scalar(&self.recon)?,
            kl: self.kl.as_ref().map(scalar).transpose()?,
            sparsity: self.sparsity.as_ref().map(scalar).transpose()?,
        })
    }
}

/// [`LossParts`] on the host, as logged and reported: per example, in the loss's own units
/// (nats for BCE, squared pixel units for MSE).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LossValues {
    /// The minimised loss.
    pub total: f64,
    /// The reconstruction term.
    pub recon: f64,
    /// The KL term, where the model has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kl: Option<f64>,
    /// The sparsity term, where the model has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sparsity: Option<f64>,
}

impl LossValues {
    /// True when every term is finite.
    pub fn is_finite(&self) -> bool {
        self.total.is_finite()
            && self.recon.is_finite()
            && self.kl.is_none_or(f64::is_finite)
            && self.sparsity.is_none_or(f64::is_finite)
    }

    /// Adds `other` weighted by `w` (for running means over batches of unequal size).
    pub fn add_weighted(&mut self, other: &LossValues, w: f64) {
        self.total += w * other.total;
        self.recon += w * other.recon;
        self.kl = other.kl.map(|k| self.kl.unwrap_or(0.0) + w * k);
        self.sparsity = other.sparsity.map(|s| self.sparsity.unwrap_or(0.0) + w * s);
    }

    /// Divides every term by `n`.
    pub fn scaled(&self, n: f64) -> LossValues {
        LossValues {
            total: self.total / n,
            recon: self.recon / n,
            kl: self.kl.map(|k| k / n),
            sparsity: self.sparsity.map(|s| s / n),
        }
    }
}

/// An autoencoder: an encoder to a code and a decoder back to input space, trained by minimising
/// [`Autoencoder::loss`].
pub trait Autoencoder {
    /// Input features per example (784 for 28x28 images).
    fn input_dim(&self) -> usize;

    /// Code units per example: the width `decode` takes.
    fn code_dim(&self) -> usize;

    /// The code of each input.
    ///
    /// # Shapes
    /// `(batch, input_dim)` to `(batch, code_dim)`. Variational models return the mean.
    fn encode(&self, xs: &Tensor) -> Result<Tensor>;

    /// Decoder logits in input space; see [`Autoencoder::recon_loss`] for how to read them.
    ///
    /// # Shapes
    /// `(batch, code_dim)` to `(batch, input_dim)`.
    fn decode(&self, zs: &Tensor) -> Result<Tensor>;

    /// The loss comparing decoder logits with targets; also maps logits to outputs.
    fn recon_loss(&self) -> ReconLoss;

    /// The training objective on one batch, split into its terms.
    fn loss(&self, batch: &Batch, ctx: &mut StepContext<'_>) -> Result<LossParts>;

    /// A fused training step on the CPU, where the model has one: the loss of `batch` and the
    /// gradient of its total with respect to every parameter, written into `scratch.grads` (the
    /// [`crate::Gradients`] autograd's are recorded into too, keyed by the parameter tensors)
    /// without candle's autograd. `Ok(None)` where this model, config or device has none; the
    /// trainer then differentiates [`Autoencoder::loss`]. Both must compute the same numbers.
    fn fused_step(
        &self,
        _batch: &Batch,
        _ctx: &mut StepContext<'_>,
        _scratch: &mut FusedScratch,
    ) -> Result<Option<LossValues>> {
        Ok(None)
    }

    /// `n` codes drawn from the model's prior, for generation: `Ok(None)` for models without
    /// one (only variational models have a prior to sample).
    ///
    /// # Shapes
    /// `(n, code_dim)`.
    fn sample_prior(&self, _n: usize, _rng: &mut ChaCha8Rng) -> Result<Option<Tensor>> {
        Ok(None)
    }

    /// The log importance weights of Burda et al. (2015), `log p(x, z_k) - log q(z_k | x)`, for
    /// `k` fresh draws `z_k ~ q(z | x)` per example, in nats: `Ok(None)` for models without a
    /// density. Their log-mean-exp over draws bounds `log p(x)` from below and tightens with `k`;
    /// with `k = 1` it is the single-sample ELBO with the KL term estimated on the same draw.
    ///
    /// # Shapes
    /// `(batch, input_dim)` to `(batch, k)`.
    fn log_importance_weights(&self, _xs: &Tensor, _k: usize, _rng: &mut ChaCha8Rng) -> Result<Option<Tensor>> {
        Ok(None)
    }

    /// Called by the trainer with the step's gradients before the optimizer uses them, for
    /// constraints on the update (a unit-norm decoder's gradients made orthogonal to its
    /// directions, as Gao et al. do). Default: nothing.
    fn before_step(&self, _grads: &mut crate::Gradients) -> Result<()> {
        Ok(())
    }

    /// Called by the trainer after every optimizer step, for constraints on the parameters (a
    /// sparse model keeping decoder columns at unit norm). Default: nothing.
    fn after_step(&self) -> Result<()> {
        Ok(())
    }

    /// For models whose code is meant to be sparse: the value above which a code unit counts as
    /// active (for `l0` and dead units). `None` (the default) for dense codes.
    fn active_threshold(&self) -> Option<f32> {
        None
    }

    /// Decoder logits for inputs: `decode(encode(xs))`.
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        self.decode(&self.encode(xs)?)
    }

    /// Reconstructions in input space (pixel values for images), for inference: no gradient
    /// flows through the result, so models may compute it by a faster path.
    fn reconstruct(&self, xs: &Tensor) -> Result<Tensor> {
        self.recon_loss().to_output(&self.forward(xs)?.detach())
    }

    /// Outputs in input space (pixel values for images) decoded from codes `zs`, for generation
    /// and decompression: [`Autoencoder::decode`]'s logits through the model's output map
    /// (sigmoid for BCE, identity for MSE), without gradients.
    ///
    /// # Shapes
    /// `(batch, code_dim)` to `(batch, input_dim)`.
    fn decode_output(&self, zs: &Tensor) -> Result<Tensor> {
        self.recon_loss().to_output(&self.decode(zs)?.detach())
    }

    /// The codes of `xs` for inference (export, retrieval, probes): [`Autoencoder::encode`]
    /// without gradients, which models may compute by a faster path.
    ///
    /// # Shapes
    /// `(batch, input_dim)` to `(batch, code_dim)`.
    fn embed(&self, xs: &Tensor) -> Result<Tensor> {
        Ok(self.encode(xs)?.detach())
    }

    /// Writes the inference computation of `part` into `g`, inputs and outputs declared, for
    /// exporters (ONNX); `Ok(false)` (the default) where the model cannot describe it.
    fn export_graph(&self, _part: crate::graph::Part, _g: &mut crate::graph::Graph) -> Result<bool> {
        Ok(false)
    }
}

impl<T: Autoencoder + ?Sized> Autoencoder for Box<T> {
    fn input_dim(&self) -> usize {
        (**self).input_dim()
    }
    fn code_dim(&self) -> usize {
        (**self).code_dim()
    }
    fn encode(&self, xs: &Tensor) -> Result<Tensor> {
        (**self).encode(xs)
    }
    fn decode(&self, zs: &Tensor) -> Result<Tensor> {
        (**self).decode(zs)
    }
    fn recon_loss(&self) -> ReconLoss {
        (**self).recon_loss()
    }
    fn loss(&self, batch: &Batch, ctx: &mut StepContext<'_>) -> Result<LossParts> {
        (**self).loss(batch, ctx)
    }
    fn fused_step(
        &self,
        batch: &Batch,
        ctx: &mut StepContext<'_>,
        scratch: &mut FusedScratch,
    ) -> Result<Option<LossValues>> {
        (**self).fused_step(batch, ctx, scratch)
    }
    fn sample_prior(&self, n: usize, rng: &mut ChaCha8Rng) -> Result<Option<Tensor>> {
        (**self).sample_prior(n, rng)
    }
    fn before_step(&self, grads: &mut crate::Gradients) -> Result<()> {
        (**self).before_step(grads)
    }
    fn after_step(&self) -> Result<()> {
        (**self).after_step()
    }
    fn active_threshold(&self) -> Option<f32> {
        (**self).active_threshold()
    }
    fn log_importance_weights(&self, xs: &Tensor, k: usize, rng: &mut ChaCha8Rng) -> Result<Option<Tensor>> {
        (**self).log_importance_weights(xs, k, rng)
    }
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        (**self).forward(xs)
    }
    fn reconstruct(&self, xs: &Tensor) -> Result<Tensor> {
        (**self).reconstruct(xs)
    }
    fn embed(&self, xs: &Tensor) -> Result<Tensor> {
        (**self).embed(xs)
    }
    fn decode_output(&self, zs: &Tensor) -> Result<Tensor> {
        (**self).decode_output(zs)
    }
    fn export_graph(&self, part: crate::graph::Part, g: &mut crate::graph::Graph) -> Result<bool> {
        (**self).export_graph(part, g)
    }
}

#[cfg(test)]
mod tests {
    /// The method names between `start` and the end of its block in this file.
    fn methods(source: &str, start: &str) -> std::collections::BTreeSet<String> {
        let body = &source[source.find(start).expect("the block exists")..];
        let body = &body[..body.find("\n}\n").expect("the block ends")];
        body.split("fn ").skip(1).map(|rest| rest.split(['(', '<']).next().unwrap_or("").to_string()).collect()
    }

    #[test]
    fn box_forwards_every_method_of_the_trait() {
        // A defaulted method left out of the Box impl would silently take the default on every
        // boxed model (the binary's models are all boxed).
        let source = include_str!("autoencoder.rs");
        let trait_methods = methods(source, "pub trait Autoencoder {");
        let forwarded = methods(source, "impl<T: Autoencoder + ?Sized> Autoencoder for Box<T> {");
        assert!(trait_methods.len() >= 14, "{trait_methods:?}");
        assert_eq!(trait_methods, forwarded, "Box<T> must forward every method of Autoencoder");
    }
}
