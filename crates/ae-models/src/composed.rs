//! The one autoencoder: a body, a bottleneck between its encoder and decoder, and a likelihood
//! for the decoder's output. Every preset (stacked, denoising, sparse, VAE) is one of these; any
//! body works with any bottleneck and any likelihood. Training goes through the fused CPU
//! executor (`executor.rs`) where every part has its kernels, and through autograd otherwise.

use ae_core::gaussian::standard_normal_log_density;
use ae_core::graph::{Graph, Op, Part};
use ae_core::{Autoencoder, Batch, Gaussian, LossParts, LossValues, ReconLoss, SeededRng, StepContext};
use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

use crate::body::{self, Body};
use crate::bottleneck::{Bottleneck, DecoderView};
use crate::config::{Checked, ModelConfig};
use crate::error::ModelError;
use crate::executor::{self, Pass};
use crate::likelihood::Likelihood;

/// An autoencoder built from parts. Parameters: the body's (`encoder.layers.<i>`,
/// `decoder.layers.<i>` for the dense body), the bottleneck's head under `encoder.` (a plain or
/// sparse code `encoder.layers.<n>`, a Gaussian one `encoder.mean` and `encoder.log_var`), and
/// the learned Gaussian likelihood's `decoder.log_sigma`.
///
/// ```
/// use ae_core::candle::{DType, Device, Tensor};
/// use ae_core::rng::{Purpose, stream};
/// use ae_core::{Autoencoder, Params};
/// use ae_models::{BodySpec, BottleneckSpec, ComposedAe, DenseSpec, GaussianSpec, Likelihood, ModelConfig};
///
/// // A VAE with a Gaussian decoder of fixed scale and a decoder wider than its encoder.
/// let cfg = ModelConfig {
///     preset: None,
///     body: BodySpec::Dense(DenseSpec { input_dim: 12, hidden: vec![8], decoder_hidden: Some(vec![16]), ..Default::default() }),
///     bottleneck: BottleneckSpec::Gaussian(GaussianSpec { code_dim: 2, beta: 1.0 }),
///     likelihood: Likelihood::Gaussian { sigma: 0.1 },
/// };
/// let params = Params::new();
/// let model = ComposedAe::new(&cfg, params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu))?;
/// let z = model.sample_prior(16, &mut stream(0, Purpose::Sampling, 0))?.expect("a Gaussian code has a prior");
/// assert_eq!(model.decode_output(&z)?.dims(), &[16, 12]);
/// let xs = Tensor::zeros((3, 12), DType::F32, &Device::Cpu)?;
/// assert!(model.posterior(&xs)?.is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ComposedAe {
    pub(crate) body: Box<dyn Body>,
    pub(crate) bottleneck: Box<dyn Bottleneck>,
    pub(crate) likelihood: Likelihood,
    pub(crate) log_sigma: Option<Tensor>,
}

impl ComposedAe {
    /// Checks `cfg` (any preset's flat config, or a [`ModelConfig`]), then creates (or loads, if
    /// `vb` holds them) the parameters.
    pub fn new<C: Clone + Into<ModelConfig>>(cfg: &C, vb: VarBuilder) -> std::result::Result<Self, ModelError> {
        Self::build(&cfg.clone().into().check()?, vb)
    }

    /// Builds the model a checked config describes: the encoder, the bottleneck's head, the
    /// decoder, the likelihood's scale, in that order (seeded initialisation depends on it).
    pub fn build(cfg: &Checked, vb: VarBuilder) -> std::result::Result<Self, ModelError> {
        let code_dim = cfg.bottleneck.code_dim();
        let (body, bottleneck) =
            body::build(&cfg.body_config(), code_dim, vb.clone(), |site| cfg.bottleneck.build(site))?;
        let log_sigma = cfg.likelihood.build_scale(vb.pp("decoder"))?;
        Ok(Self { body, bottleneck, likelihood: cfg.likelihood, log_sigma })
    }

    /// The bottleneck part.
    pub fn bottleneck(&self) -> &dyn Bottleneck {
        self.bottleneck.as_ref()
    }

    /// The body part.
    pub fn body(&self) -> &dyn Body {
        self.body.as_ref()
    }

    /// The likelihood part.
    pub fn likelihood(&self) -> Likelihood {
        self.likelihood
    }

    /// The approximate posterior `q(z | xs)`, for bottlenecks that have one (Gaussian codes).
    ///
    /// # Shapes
    /// `(batch, input_dim)` to mean and log-variance `(batch, code_dim)`.
    pub fn posterior(&self, xs: &Tensor) -> Result<Option<Gaussian>> {
        ae_core::input::expect_rows(xs, self.input_dim(), "encoder input")?;
        self.bottleneck.posterior(&self.body.encode(xs)?)
    }

    /// `-log p(targets | decoder outputs)` per example, in nats, under the model's likelihood.
    pub fn recon_nll(&self, outs: &Tensor, targets: &Tensor) -> Result<Tensor> {
        self.likelihood.nll_per_example(outs, targets, self.log_sigma.as_ref())
    }

    /// The share of code units that have not fired lately, for codes that track it (sparse
    /// codes); `None` otherwise or before any training in this process.
    pub fn dead_fraction(&self) -> Option<f64> {
        self.bottleneck.dead_fraction()
    }

    /// Decoder logits without gradients, on the fused path where it applies.
    fn decode_logits_fast(&self, zs: &Tensor) -> Result<Tensor> {
        match executor::infer(self, zs, Pass::Decode, false)? {
            Some(out) => Ok(out),
            None => Ok(self.decode(zs)?.detach()),
        }
    }

    /// `log p(x_{i / k} | z_i)` per row of `zs`, each code decoding the example it was drawn
    /// for.
    fn log_likelihood_of_draws(&self, zs: &Tensor, xs: &Tensor, k: usize) -> Result<Tensor> {
        if let Some(log_px) = executor::log_likelihood(self, zs, xs, k)? {
            return Ok(log_px);
        }
        let (b, n) = xs.dims2()?;
        let target = xs.unsqueeze(1)?.broadcast_as((b, k, n))?.reshape((b * k, n))?;
        self.recon_nll(&self.decode_logits_fast(zs)?, &target)?.neg()
    }
}

impl Autoencoder for ComposedAe {
    fn input_dim(&self) -> usize {
        self.body.input_dim()
    }

    fn code_dim(&self) -> usize {
        self.bottleneck.code_dim()
    }

    /// The bottleneck's deterministic code (a Gaussian's mean).
    fn encode(&self, xs: &Tensor) -> Result<Tensor> {
        ae_core::input::expect_rows(xs, self.input_dim(), "encoder input")?;
        self.bottleneck.encode(&self.body.encode(xs)?)
    }

    fn decode(&self, zs: &Tensor) -> Result<Tensor> {
        ae_core::input::expect_rows(zs, self.code_dim(), "decoder input (codes)")?;
        self.body.decode(zs)
    }

    /// Maps decoder outputs to data: sigmoid for Bernoulli logits, identity for Gaussian means.
    fn recon_loss(&self) -> ReconLoss {
        self.likelihood.output_map()
    }

    /// The reconstruction negative log-likelihood of the target under the decoded (drawn) code,
    /// plus the bottleneck's terms: `β · kl_weight · KL` (reported unweighted) and its weighted
    /// sparsity penalty.
    fn loss(&self, batch: &Batch, ctx: &mut StepContext<'_>) -> Result<LossParts> {
        ae_core::input::expect_batch(batch, self.input_dim())?;
        let drawn = self.bottleneck.draw(&self.body.encode(&batch.input)?, ctx)?;
        let logits = self.body.decode(&drawn.code)?;
        let recon = self.recon_nll(&logits, &batch.target)?.mean(0)?;
        let nll = |out: &Tensor, target: &Tensor| self.recon_nll(out, target);
        let view = DecoderView { body: self.body.as_ref(), logits: &logits, target: &batch.target, nll: &nll };
        let terms = self.bottleneck.terms(&drawn, &view, ctx)?;
        let mut total = recon.clone();
        if let Some(kl) = &terms.kl {
            total = (total + kl.affine(terms.kl_scale * ctx.kl_weight, 0.0)?)?;
        }
        if let Some(s) = &terms.sparsity {
            total = (total + s)?;
        }
        Ok(LossParts { total, recon, kl: terms.kl, sparsity: terms.sparsity })
    }

    /// The fused executor's step, where the body, bottleneck and likelihood all have kernels.
    fn fused_step(
        &self,
        batch: &Batch,
        ctx: &mut StepContext<'_>,
        scratch: &mut ae_core::fused::FusedScratch,
    ) -> Result<Option<LossValues>> {
        ae_core::input::expect_batch(batch, self.input_dim())?;
        executor::train_step(self, batch, ctx, scratch)
    }

    fn sample_prior(&self, n: usize, rng: &mut SeededRng) -> Result<Option<Tensor>> {
        let device = self.body.device();
        self.bottleneck.sample_prior(n, rng, &device)
    }

    /// Draws `z = mean + σ ε` with `ε` of shape `(batch, k, code_dim)` from `rng` (for `k = 1`
    /// the same numbers [`Gaussian::sample`] draws), then `log p(x | z) + log p(z) - log q(z | x)`;
    /// `None` without a posterior or a normalised likelihood.
    fn log_importance_weights(&self, xs: &Tensor, k: usize, rng: &mut SeededRng) -> Result<Option<Tensor>> {
        ae_core::input::expect_rows(xs, self.input_dim(), "encoder input")?;
        if !self.likelihood.is_density() {
            return Ok(None);
        }
        let Some(q) = self.posterior(xs)? else { return Ok(None) };
        let (b, d) = q.mean.dims2()?;
        let eps = ae_core::rng::normal(rng, (b, k, d), 0.0, 1.0, xs.device())?;
        let spread = |t: &Tensor| t.unsqueeze(1)?.broadcast_as((b, k, d))?.reshape((b * k, d));
        let q = Gaussian { mean: spread(&q.mean)?, log_var: spread(&q.log_var)? };
        let zs = (&q.mean + (q.log_var.affine(0.5, 0.0)?.exp()? * eps.reshape((b * k, d))?)?)?;
        let log_px = self.log_likelihood_of_draws(&zs, xs, k)?;
        let log_w = ((log_px + standard_normal_log_density(&zs)?)? - q.log_density(&zs)?)?;
        Ok(Some(log_w.reshape((b, k))?))
    }

    fn before_step(&self, grads: &mut ae_core::Gradients) -> Result<()> {
        self.bottleneck.before_step(self.body.as_ref(), grads)
    }

    fn after_step(&self) -> Result<()> {
        self.bottleneck.after_step(self.body.as_ref())
    }

    fn active_threshold(&self) -> Option<f32> {
        self.bottleneck.active_threshold()
    }

    fn embed(&self, xs: &Tensor) -> Result<Tensor> {
        ae_core::input::expect_rows(xs, self.input_dim(), "encoder input")?;
        match executor::infer(self, xs, Pass::Encode, true)? {
            Some(codes) => Ok(codes),
            None => Ok(self.encode(xs)?.detach()),
        }
    }

    fn reconstruct(&self, xs: &Tensor) -> Result<Tensor> {
        ae_core::input::expect_rows(xs, self.input_dim(), "encoder input")?;
        match executor::infer(self, xs, Pass::Reconstruct, true)? {
            Some(out) => Ok(out),
            None => self.recon_loss().to_output(&self.forward(xs)?.detach()),
        }
    }

    /// The body's and bottleneck's graphs: inputs of the body's input shape, a Gaussian code
    /// decoded from its mean, Bernoulli logits through a sigmoid, as `reconstruct`,
    /// `embed` and `decode_output` compute them.
    fn export_graph(&self, part: Part, g: &mut Graph) -> Result<bool> {
        let shape = self.body.input_shape();
        let code = [self.code_dim()];
        let encoded = |g: &mut Graph| -> Result<Option<String>> {
            let x = g.input("input", &shape);
            self.body.export_encoder(g, &x)
        };
        let decoded = |g: &mut Graph, z: &str| -> Result<Option<String>> {
            let Some(logits) = self.body.export_decoder(g, z)? else { return Ok(None) };
            Ok(Some(match self.likelihood.output_map() {
                ReconLoss::Bce => g.node(Op::Activation(ae_core::Activation::Sigmoid), &[&logits]),
                ReconLoss::Mse => logits,
            }))
        };
        match part {
            Part::Autoencoder => {
                let Some(h) = encoded(g)? else { return Ok(false) };
                let Some(z) = self.bottleneck.export_code(g, &h)? else { return Ok(false) };
                let Some(out) = decoded(g, &z)? else { return Ok(false) };
                g.output(&out, "reconstruction", &shape);
            }
            Part::Encoder => {
                let Some(h) = encoded(g)? else { return Ok(false) };
                if let Some((mean, log_var)) = self.bottleneck.export_posterior(g, &h)? {
                    g.output(&mean, "mean", &code);
                    g.output(&log_var, "log_var", &code);
                } else {
                    let Some(z) = self.bottleneck.export_code(g, &h)? else { return Ok(false) };
                    g.output(&z, "code", &code);
                }
            }
            Part::Decoder => {
                let z = g.input("code", &code);
                let Some(out) = decoded(g, &z)? else { return Ok(false) };
                g.output(&out, "reconstruction", &shape);
            }
        }
        Ok(true)
    }

    fn decode_output(&self, zs: &Tensor) -> Result<Tensor> {
        ae_core::input::expect_rows(zs, self.code_dim(), "decoder input (codes)")?;
        match executor::infer(self, zs, Pass::Decode, true)? {
            Some(out) => Ok(out),
            None => self.recon_loss().to_output(&self.decode(zs)?.detach()),
        }
    }
}
