//! The bottleneck part: what sits between the body's encoder features and its decoder. A plain
//! code, a sparse code (L1, KL or TopK) and a Gaussian code (reparameterised sampling and its KL)
//! are each one file here implementing [`Bottleneck`]; [`crate::ComposedAe`] puts any of them
//! between any body and any likelihood. Each owns its head layers (created at the body's
//! [`crate::body::HeadSite`], so parameter names stay as they were), its loss terms, and, through
//! [`HostCode`], its part of the fused CPU step.

pub mod gaussian;
pub mod plain;
pub mod sparse;

use ae_core::fused::host::HostView;
use ae_core::graph::Graph;
use ae_core::{Activation, Gaussian, Gradients, SeededRng, StepContext};
use candle_core::{Device, Result, Tensor};
use candle_nn::Linear;

use crate::body::Body;

pub use gaussian::GaussianCode;
pub use plain::PlainCode;
pub use sparse::SparseCode;

/// A code drawn for a training step through autograd.
#[derive(Debug, Clone)]
pub struct Drawn {
    /// What the decoder reads, `(batch, code_dim)`.
    pub code: Tensor,
    /// The head's output before the code's nonlinearity or selection (a sparse code's
    /// pre-activation), `(batch, code_dim)`.
    pub pre: Tensor,
    /// The approximate posterior the code was drawn from (Gaussian codes).
    pub posterior: Option<Gaussian>,
}

/// The terms a bottleneck adds to the reconstruction loss, each a scalar per example.
#[derive(Debug, Clone, Default)]
pub struct Terms {
    /// KL divergence to the prior, unweighted; the total adds it times `kl_scale` and the
    /// trainer's warm-up weight.
    pub kl: Option<Tensor>,
    /// The KL term's own weight (β).
    pub kl_scale: f64,
    /// A penalty already weighted (sparsity).
    pub sparsity: Option<Tensor>,
}

/// What [`Bottleneck::terms`] may use of the decoder: a penalty that runs codes through it (the
/// TopK auxiliary loss) and scores them with the model's likelihood.
pub struct DecoderView<'a> {
    /// The body, whose decoder maps codes to logits.
    pub body: &'a dyn Body,
    /// The decoder's logits for the drawn code.
    pub logits: &'a Tensor,
    /// The targets of the batch.
    pub target: &'a Tensor,
    /// `-log p(target | logits)` per example under the model's likelihood.
    pub nll: &'a dyn Fn(&Tensor, &Tensor) -> Result<Tensor>,
}

/// A bottleneck: maps the body's encoder features to a code, with the loss terms that code
/// brings.
pub trait Bottleneck: std::fmt::Debug + Send + Sync {
    /// Code units per example.
    fn code_dim(&self) -> usize;

    /// The code of features `h` for inference: deterministic (a Gaussian's mean).
    fn encode(&self, h: &Tensor) -> Result<Tensor>;

    /// The code of `h` for a training step (drawn from the posterior where there is one).
    fn draw(&self, h: &Tensor, _ctx: &mut StepContext<'_>) -> Result<Drawn> {
        let code = self.encode(h)?;
        Ok(Drawn { pre: code.clone(), code, posterior: None })
    }

    /// The terms the code adds to the loss. Called once per step after decoding, so it may also
    /// record running statistics of training codes.
    fn terms(&self, _drawn: &Drawn, _decoder: &DecoderView<'_>, _ctx: &StepContext<'_>) -> Result<Terms> {
        Ok(Terms::default())
    }

    /// The approximate posterior `q(z | h)`, for bottlenecks that have one.
    fn posterior(&self, _h: &Tensor) -> Result<Option<Gaussian>> {
        Ok(None)
    }

    /// `n` codes from the prior, for bottlenecks that have one.
    fn sample_prior(&self, _n: usize, _rng: &mut SeededRng, _device: &Device) -> Result<Option<Tensor>> {
        Ok(None)
    }

    /// The value above which a code unit counts as active, for codes meant to be sparse.
    fn active_threshold(&self) -> Option<f32> {
        None
    }

    /// The share of code units that have not fired lately, for codes that track it.
    fn dead_fraction(&self) -> Option<f64> {
        None
    }

    /// Constraints on the step's gradients before the optimizer uses them.
    fn before_step(&self, _body: &dyn Body, _grads: &mut ae_core::Gradients) -> Result<()> {
        Ok(())
    }

    /// Constraints after every optimizer step (a sparse code keeping its decoder directions at
    /// unit norm).
    fn after_step(&self, _body: &dyn Body) -> Result<()> {
        Ok(())
    }

    /// The bottleneck's kernels on the fused CPU path; `None` (the default) trains through
    /// autograd and infers through candle.
    fn host(&self) -> Option<&dyn HostCode> {
        None
    }

    /// Writes [`Bottleneck::encode`] into `g` on features `h`; `Ok(None)` (the default) where
    /// the bottleneck cannot describe itself.
    fn export_code(&self, _g: &mut Graph, _h: &str) -> Result<Option<String>> {
        Ok(None)
    }

    /// Writes [`Bottleneck::posterior`]'s mean and log-variance into `g`, for bottlenecks that
    /// have one.
    fn export_posterior(&self, _g: &mut Graph, _h: &str) -> Result<Option<(String, String)>> {
        Ok(None)
    }
}

/// A head layer's weights on the host: views of the parameters, or a merged copy (the Gaussian's
/// mean and log-variance rows as one layer).
pub enum HeadWeights<'a> {
    /// The parameters themselves.
    View(HostView<'a>, HostView<'a>),
    /// Weight and bias built for this step.
    Merged(Vec<f32>, Vec<f32>),
}

impl HeadWeights<'_> {
    /// Views `layer`'s weight and bias, or `None` off the CPU or for another dtype.
    pub fn of(layer: &Linear) -> Option<HeadWeights<'_>> {
        crate::host::view(layer).map(|(w, b)| HeadWeights::View(w, b))
    }

    /// `(out, in)` row-major weight.
    pub fn weight(&self) -> &[f32] {
        match self {
            HeadWeights::View(w, _) => w.as_slice(),
            HeadWeights::Merged(w, _) => w,
        }
    }

    /// `(out,)` bias.
    pub fn bias(&self) -> &[f32] {
        match self {
            HeadWeights::View(_, b) => b.as_slice(),
            HeadWeights::Merged(_, b) => b,
        }
    }
}

/// The head as the fused path runs it: one dense layer on the body's features and the
/// activation after it.
pub struct HostHead<'a> {
    /// Its weights.
    pub weights: HeadWeights<'a>,
    /// The activation after it (the code's nonlinearity where it is one).
    pub activation: Option<Activation>,
}

/// Loss terms of a fused step, per example (means over the batch).
#[derive(Debug, Clone, Copy, Default)]
pub struct HostTerms {
    /// KL to the prior, unweighted.
    pub kl: Option<f64>,
    /// Its weight (β).
    pub kl_scale: f64,
    /// A weighted penalty.
    pub sparsity: Option<f64>,
}

/// Where [`HostCode::forward`] writes: the code, and what backward will need.
pub struct HostOut<'a> {
    /// `rows x code_dim`, resized by the bottleneck.
    pub code: &'a mut Vec<f32>,
    /// Kept for [`HostCode::backward`].
    pub saved: &'a mut Vec<f32>,
}

/// What [`HostCode::backward`] reads.
#[derive(Clone, Copy)]
pub struct HostGrad<'a> {
    /// The training head's output, after its activation.
    pub head_out: &'a [f32],
    /// The code forward wrote.
    pub code: &'a [f32],
    /// What forward saved.
    pub saved: &'a [f32],
    /// `d(mean loss)/d(code)` from the decoder.
    pub dz: &'a [f32],
    /// Examples in the batch.
    pub rows: usize,
    /// The trainer's weight on the KL term (warm-up).
    pub kl_weight: f64,
}

/// A bottleneck's part of the fused CPU step and of fused inference. The executor runs the
/// body's encoder and this head as one dense stack, hands the head's output to [`HostCode::forward`]
/// for the code, runs the decoder and the likelihood, and hands the code's gradient to
/// [`HostCode::backward`] for the gradient at the head's pre-activation.
pub trait HostCode {
    /// The head for a training step, or `None` where this config trains through autograd.
    fn train_head(&self) -> Option<HostHead<'_>>;

    /// The head for inference: the layer whose output (after its activation) is the code, or,
    /// where [`HostCode::finish_code`] applies, its pre-activation.
    fn infer_head(&self) -> Option<HostHead<'_>>;

    /// Whether inference must pass the head's output through [`HostCode::finish_code`] (TopK
    /// selection) before it is the code.
    fn finishes_code(&self) -> bool {
        false
    }

    /// Turns the inference head's output into the code, in place, `rows x code_dim`.
    fn finish_code(&self, _head_out: &mut [f32], _rows: usize) {}

    /// Whether [`HostCode::backward`] only passes `dz` through where the code is nonzero (TopK
    /// with its ReLU): the sparse step then takes the gradient at the active latents as it is,
    /// without the dense `rows x code_dim` passes.
    fn gradient_is_masked(&self) -> bool {
        false
    }

    /// The code from the training head's output (`rows` rows), written into `code`, and the
    /// terms it adds; `saved` keeps what [`HostCode::backward`] needs (a Gaussian's noise, a
    /// TopK mask). Records training statistics when `ctx.training`.
    fn forward(&self, head_out: &[f32], rows: usize, ctx: &mut StepContext<'_>, out: HostOut<'_>) -> Result<HostTerms>;

    /// `d(loss)/d(head pre-activation)` into `top`, from `dz = d(mean recon)/d(code)` and what
    /// [`HostCode::forward`] saw and saved; the bottleneck adds its own terms' gradients.
    fn backward(&self, step: HostGrad<'_>, top: &mut [f32]);

    /// The parameters the training head's weight and bias gradients belong to: taken out of
    /// `grads` before the step (to reuse their buffers) and given back after.
    fn take_grads(&self, grads: &mut Gradients) -> [Vec<f32>; 2];

    /// Records the training head's weight and bias gradients as its parameters'.
    fn put_grads(&self, grads: &mut Gradients, weight: Vec<f32>, bias: Vec<f32>);
}

/// The weight and bias gradients of a one-layer head, taken out of `grads`.
pub(crate) fn take_layer(grads: &mut Gradients, layer: &Linear) -> [Vec<f32>; 2] {
    let mut bufs = crate::host::take_grads(grads, &[layer]).into_iter();
    [bufs.next().unwrap_or_default(), bufs.next().unwrap_or_default()]
}

/// Records a one-layer head's gradients.
pub(crate) fn put_layer(grads: &mut Gradients, layer: &Linear, weight: Vec<f32>, bias: Vec<f32>) {
    crate::host::put_grads(grads, &[layer], vec![weight, bias]);
}
