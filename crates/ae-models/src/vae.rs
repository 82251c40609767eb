//! Variational autoencoder: Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
//! Architecture: fully-connected encoder to a diagonal Gaussian over the code (mean and
//! log-variance heads) and a fully-connected decoder (784-400-20 as in pytorch/examples).
//! Loss: the negative ELBO, reconstruction negative log-likelihood plus β·KL(q(z|x) || N(0, I)),
//! per example in nats.

use ae_core::gaussian::standard_normal_log_density;
use ae_core::init::linear;
use ae_core::{Activation, Autoencoder, Batch, Gaussian, LossParts, ReconLoss, SeededRng, StepContext};
use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use crate::body::{self, Body, BodyConfig};
use crate::error::{ModelError, check_width};
use crate::likelihood::Likelihood;
use crate::vae_fused::Pass;

/// The shape and objective of a VAE. The default is pytorch/examples': 784-400-20, ReLU,
/// Bernoulli likelihood, β = 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VaeConfig {
    /// Features per example.
    pub input_dim: usize,
    /// Encoder hidden widths, input side first.
    pub hidden: Vec<usize>,
    /// Width of the code (the latent space).
    pub code_dim: usize,
    /// Decoder hidden widths, code side first; `None` mirrors the encoder.
    pub decoder_hidden: Option<Vec<usize>>,
    /// Activation after every hidden layer.
    pub activation: Activation,
    /// Weight on the KL term (β-VAE; 1 is the true ELBO).
    pub beta: f64,
    /// The decoder likelihood `p(x | z)`.
    pub likelihood: Likelihood,
}

impl Default for VaeConfig {
    fn default() -> Self {
        Self {
            input_dim: 784,
            hidden: vec![400],
            code_dim: 20,
            decoder_hidden: None,
            activation: Activation::Relu,
            beta: 1.0,
            likelihood: Likelihood::Bernoulli,
        }
    }
}

impl VaeConfig {
    /// Decoder hidden widths, code side first: `decoder_hidden`, or the encoder's mirrored.
    pub fn decoder_widths(&self) -> Vec<usize> {
        body::decoder_widths(&self.hidden, self.decoder_hidden.as_ref())
    }

    /// The body these fields describe.
    pub fn body(&self) -> BodyConfig {
        BodyConfig::dense(self.input_dim, &self.hidden, self.decoder_widths(), self.activation)
    }

    /// `(inputs, outputs)` of every dense layer: the encoder, its mean and log-variance heads, the
    /// decoder.
    pub fn layers(&self) -> Vec<(usize, usize)> {
        let enc: Vec<usize> = std::iter::once(self.input_dim).chain(self.hidden.iter().copied()).collect();
        let last = *enc.last().unwrap_or(&self.input_dim);
        let dec: Vec<usize> =
            std::iter::once(self.code_dim).chain(self.decoder_widths()).chain([self.input_dim]).collect();
        let pairs = |w: &[usize]| w.windows(2).map(|w| (w[0], w[1])).collect::<Vec<_>>();
        [pairs(&enc), vec![(last, self.code_dim); 2], pairs(&dec)].concat()
    }

    /// Refuses sizes of zero or beyond reason and non-finite or negative β, naming the field.
    pub fn validate(&self) -> std::result::Result<(), ModelError> {
        check_width("input_dim".into(), self.input_dim)?;
        check_width("code_dim".into(), self.code_dim)?;
        if self.hidden.is_empty() {
            return Err(ModelError::InvalidConfig {
                field: "hidden".into(),
                value: "[]".into(),
                expected: "at least one hidden layer".into(),
            });
        }
        for (i, &w) in self.hidden.iter().enumerate() {
            check_width(format!("hidden[{i}]"), w)?;
        }
        for (i, &w) in self.decoder_hidden.iter().flatten().enumerate() {
            check_width(format!("decoder_hidden[{i}]"), w)?;
        }
        if !(self.beta.is_finite() && self.beta >= 0.0) {
            return Err(ModelError::InvalidConfig {
                field: "beta".into(),
                value: self.beta.to_string(),
                expected: "a finite number >= 0".into(),
            });
        }
        Ok(())
    }
}

/// A VAE: a body and a Gaussian code. Parameters: the body's (`encoder.layers.<i>` and
/// `decoder.layers.<i>` for the dense body), `encoder.mean`, `encoder.log_var` (each `.weight`
/// and `.bias`), and `decoder.log_sigma` (shape `(1,)`, initialised to 0) with the learned
/// Gaussian likelihood.
#[derive(Debug)]
pub struct Vae {
    pub(crate) body: Box<dyn Body>,
    pub(crate) mean: Linear,
    pub(crate) log_var: Linear,
    pub(crate) code_dim: usize,
    pub(crate) beta: f64,
    pub(crate) likelihood: Likelihood,
    log_sigma: Option<Tensor>,
}

impl Vae {
    /// Validates `cfg`, then creates (or loads, if `vb` holds them) the parameters.
    pub fn new(cfg: &VaeConfig, vb: VarBuilder) -> std::result::Result<Self, ModelError> {
        cfg.validate()?;
        let (body, (mean, log_var)) = body::build(&cfg.body(), cfg.code_dim, vb.clone(), |site| {
            Ok((
                linear(site.features, cfg.code_dim, site.vb.pp("mean"))?,
                linear(site.features, cfg.code_dim, site.vb.pp("log_var"))?,
            ))
        })?;
        Ok(Self {
            body,
            mean,
            log_var,
            code_dim: cfg.code_dim,
            beta: cfg.beta,
            likelihood: cfg.likelihood,
            log_sigma: cfg.likelihood.build_scale(vb.pp("decoder"))?,
        })
    }

    /// The approximate posterior `q(z | xs)`.
    ///
    /// # Shapes
    /// `(batch, input_dim)` to mean and log-variance `(batch, code_dim)`.
    pub fn posterior(&self, xs: &Tensor) -> Result<Gaussian> {
        let h = self.body.encode(xs)?;
        Ok(Gaussian { mean: self.mean.forward(&h)?, log_var: self.log_var.forward(&h)? })
    }

    /// Decoder logits without gradients, on the fused host path where it applies.
    fn decode_logits_fast(&self, zs: &Tensor) -> Result<Tensor> {
        match crate::vae_fused::inference(self, zs, Pass::Decode, false)? {
            Some(out) => Ok(out),
            None => Ok(self.decode(zs)?.detach()),
        }
    }

    /// `-log p(targets | decoder outputs)` per example, in nats, under the configured likelihood.
    pub fn recon_nll(&self, outs: &Tensor, targets: &Tensor) -> Result<Tensor> {
        self.likelihood.nll_per_example(outs, targets, self.log_sigma.as_ref())
    }
}

impl Autoencoder for Vae {
    fn input_dim(&self) -> usize {
        self.body.input_dim()
    }

    fn code_dim(&self) -> usize {
        self.code_dim
    }

    /// The posterior mean.
    fn encode(&self, xs: &Tensor) -> Result<Tensor> {
        ae_core::input::expect_rows(xs, self.input_dim(), "encoder input")?;
        Ok(self.posterior(xs)?.mean)
    }

    fn decode(&self, zs: &Tensor) -> Result<Tensor> {
        ae_core::input::expect_rows(zs, self.code_dim(), "decoder input (codes)")?;
        self.body.decode(zs)
    }

    /// Maps decoder outputs to data: sigmoid for Bernoulli logits, identity for Gaussian means.
    fn recon_loss(&self) -> ReconLoss {
        self.likelihood.output_map()
    }

    /// One-sample estimate of the negative ELBO: `recon + β · kl_weight · KL`, with `recon` the
    /// negative log-likelihood of the target under the decoded sample and `kl` reported
    /// unweighted.
    fn loss(&self, batch: &Batch, ctx: &mut StepContext<'_>) -> Result<LossParts> {
        ae_core::input::expect_batch(batch, self.input_dim())?;
        let q = self.posterior(&batch.input)?;
        let zs = q.sample(ctx.rng)?;
        let logits = self.decode(&zs)?;
        let recon = self.recon_nll(&logits, &batch.target)?.mean(0)?;
        let kl = q.kl_to_standard_normal()?.mean(0)?;
        let total = (&recon + kl.affine(self.beta * ctx.kl_weight, 0.0)?)?;
        Ok(LossParts { total, recon, kl: Some(kl), sparsity: None })
    }

    /// The fused CPU step (`vae_fused.rs`) for the Bernoulli likelihood.
    fn fused_step(
        &self,
        batch: &Batch,
        ctx: &mut StepContext<'_>,
        scratch: &mut ae_core::fused::FusedScratch,
    ) -> Result<Option<ae_core::LossValues>> {
        ae_core::input::expect_batch(batch, self.input_dim())?;
        crate::vae_fused::step(self, batch, ctx, scratch)
    }

    fn embed(&self, xs: &Tensor) -> Result<Tensor> {
        ae_core::input::expect_rows(xs, self.input_dim(), "encoder input")?;
        match crate::vae_fused::inference(self, xs, Pass::Encode, true)? {
            Some(codes) => Ok(codes),
            None => Ok(self.encode(xs)?.detach()),
        }
    }

    fn reconstruct(&self, xs: &Tensor) -> Result<Tensor> {
        ae_core::input::expect_rows(xs, self.input_dim(), "encoder input")?;
        match crate::vae_fused::inference(self, xs, Pass::Reconstruct, true)? {
            Some(out) => Ok(out),
            None => self.recon_loss().to_output(&self.forward(xs)?.detach()),
        }
    }

    /// Through the fused decoder where it applies.
    fn decode_output(&self, zs: &Tensor) -> Result<Tensor> {
        ae_core::input::expect_rows(zs, self.code_dim, "decoder input (codes)")?;
        self.recon_loss().to_output(&self.decode_logits_fast(zs)?)
    }

    fn sample_prior(&self, n: usize, rng: &mut SeededRng) -> Result<Option<Tensor>> {
        let dev = self.mean.weight().device();
        Ok(Some(ae_core::rng::normal(rng, (n, self.code_dim), 0.0, 1.0, dev)?))
    }

    /// Draws `z = mean + σ ε` with `ε` of shape `(batch, k, code_dim)` from `rng` (for `k = 1`
    /// the same numbers [`Gaussian::sample`] draws), then `log p(x | z) + log p(z) - log q(z | x)`.
    fn log_importance_weights(&self, xs: &Tensor, k: usize, rng: &mut SeededRng) -> Result<Option<Tensor>> {
        ae_core::input::expect_rows(xs, self.input_dim(), "encoder input")?;
        if !self.likelihood.is_density() {
            return Ok(None);
        }
        let q = self.posterior(xs)?;
        let (b, d) = q.mean.dims2()?;
        let eps = ae_core::rng::normal(rng, (b, k, d), 0.0, 1.0, xs.device())?;
        let spread = |t: &Tensor| t.unsqueeze(1)?.broadcast_as((b, k, d))?.reshape((b * k, d));
        let q = Gaussian { mean: spread(&q.mean)?, log_var: spread(&q.log_var)? };
        let zs = (&q.mean + (q.log_var.affine(0.5, 0.0)?.exp()? * eps.reshape((b * k, d))?)?)?;
        let log_px = match crate::vae_fused::bernoulli_log_likelihood(self, &zs, xs, k)? {
            Some(log_px) => log_px,
            None => {
                let n = self.input_dim();
                let target = xs.unsqueeze(1)?.broadcast_as((b, k, n))?.reshape((b * k, n))?;
                self.recon_nll(&self.decode_logits_fast(&zs)?, &target)?.neg()?
            }
        };
        let log_w = ((log_px + standard_normal_log_density(&zs)?)? - q.log_density(&zs)?)?;
        Ok(Some(log_w.reshape((b, k))?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ae_core::Params;
    use ae_core::rng::{Purpose, stream};
    use candle_core::Device;

    #[test]
    fn parameter_names_and_shapes_are_pinned() {
        let params = Params::new();
        Vae::new(&VaeConfig::default(), params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu)).unwrap();
        let names: Vec<(String, Vec<usize>)> =
            params.named().into_iter().map(|(n, v)| (n, v.dims().to_vec())).collect();
        let want = [
            ("decoder.layers.0.bias", vec![400]),
            ("decoder.layers.0.weight", vec![400, 20]),
            ("decoder.layers.1.bias", vec![784]),
            ("decoder.layers.1.weight", vec![784, 400]),
            ("encoder.layers.0.bias", vec![400]),
            ("encoder.layers.0.weight", vec![400, 784]),
            ("encoder.log_var.bias", vec![20]),
            ("encoder.log_var.weight", vec![20, 400]),
            ("encoder.mean.bias", vec![20]),
            ("encoder.mean.weight", vec![20, 400]),
        ];
        let want: Vec<(String, Vec<usize>)> = want.into_iter().map(|(n, s)| (n.to_string(), s)).collect();
        assert_eq!(names, want);
    }

    #[test]
    fn loss_is_recon_plus_weighted_kl_and_repeats_with_the_seed() {
        let params = Params::new();
        let cfg = VaeConfig { input_dim: 12, hidden: vec![8], code_dim: 3, beta: 2.0, ..Default::default() };
        let vae = Vae::new(&cfg, params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu)).unwrap();
        let xs = ae_core::rng::uniform(&mut stream(1, Purpose::Eval, 0), (5, 12), 0.0, 1.0, &Device::Cpu).unwrap();
        let batch = Batch::plain(xs.clone());
        let run = |seed, kl_weight| {
            let mut rng = stream(seed, Purpose::Sampling, 0);
            let mut ctx = StepContext { rng: &mut rng, training: true, kl_weight };
            vae.loss(&batch, &mut ctx).unwrap().values().unwrap()
        };
        let a = run(7, 0.5);
        assert_eq!(a, run(7, 0.5));
        assert_ne!(a.recon, run(8, 0.5).recon, "another draw, another reconstruction term");
        let kl = a.kl.unwrap();
        assert!(kl > 0.0);
        assert!((a.total - (a.recon + 2.0 * 0.5 * kl)).abs() < 1e-4, "{a:?}");
        assert_eq!(vae.encode(&xs).unwrap().dims(), [5, 3]);
        assert_eq!(vae.reconstruct(&xs).unwrap().dims(), [5, 12]);
    }

    #[test]
    fn one_importance_sample_is_the_single_draw_elbo() {
        let params = Params::new();
        let cfg = VaeConfig { input_dim: 12, hidden: vec![8], code_dim: 3, ..Default::default() };
        let vae = Vae::new(&cfg, params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu)).unwrap();
        let xs = ae_core::rng::uniform(&mut stream(1, Purpose::Eval, 0), (5, 12), 0.0, 1.0, &Device::Cpu).unwrap();
        let log_w = vae.log_importance_weights(&xs, 1, &mut stream(4, Purpose::Eval, 1)).unwrap().unwrap();
        assert_eq!(log_w.dims(), [5, 1]);
        // By hand on the same draw: log p(x|z) + log p(z) - log q(z|x).
        let q = vae.posterior(&xs).unwrap();
        let zs = q.sample(&mut stream(4, Purpose::Eval, 1)).unwrap();
        let log_px = ReconLoss::Bce.per_example(&vae.decode(&zs).unwrap(), &xs).unwrap().neg().unwrap();
        let want = ((log_px + standard_normal_log_density(&zs).unwrap()).unwrap() - q.log_density(&zs).unwrap())
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let got = log_w.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-4, "{got:?} vs {want:?}");
        }
        // More draws: one column per draw, each finite, the first draws continuing the stream.
        let many = vae.log_importance_weights(&xs, 7, &mut stream(4, Purpose::Eval, 1)).unwrap().unwrap();
        assert_eq!(many.dims(), [5, 7]);
        assert!(many.flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().all(|v| v.is_finite()));
        let prior = vae.sample_prior(6, &mut stream(5, Purpose::Sampling, 0)).unwrap().unwrap();
        assert_eq!(prior.dims(), [6, 3]);
    }

    #[test]
    fn invalid_configs_name_the_field() {
        let bad = [
            (
                VaeConfig { beta: f64::NAN, ..Default::default() },
                "model.beta: NaN is invalid; expected a finite number >= 0",
            ),
            (
                VaeConfig { hidden: vec![], ..Default::default() },
                "model.hidden: [] is invalid; expected at least one hidden layer",
            ),
            (VaeConfig { code_dim: 0, ..Default::default() }, "model.code_dim: 0 is invalid"),
        ];
        for (cfg, want) in bad {
            let err = Vae::new(&cfg, Params::new().var_builder(stream(0, Purpose::Init, 0), &Device::Cpu))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(want), "{err}");
        }
    }
}
