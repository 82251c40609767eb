//! Variational autoencoder: Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
//! Architecture: fully-connected encoder to a diagonal Gaussian over the code (mean and
//! log-variance heads) and a fully-connected decoder (784-400-20 as in pytorch/examples).
//! Loss: the negative ELBO, reconstruction negative log-likelihood plus β·KL(q(z|x) || N(0, I)),
//! per example in nats.

use ae_core::init::linear;
use ae_core::{Activation, Autoencoder, Batch, Gaussian, LossParts, ReconLoss, StepContext};
use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, check_width};
use crate::mlp::Mlp;

/// The shape and objective of a VAE. The default is pytorch/examples': 784-400-20, ReLU,
/// Bernoulli likelihood, β = 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VaeConfig {
    /// Features per example.
    pub input_dim: usize,
    /// Encoder hidden widths, input side first (the decoder mirrors them).
    pub hidden: Vec<usize>,
    /// Width of the code (the latent space).
    pub code_dim: usize,
    /// Activation after every hidden layer.
    pub activation: Activation,
    /// Weight on the KL term (β-VAE; 1 is the true ELBO).
    pub beta: f64,
}

impl Default for VaeConfig {
    fn default() -> Self {
        Self { input_dim: 784, hidden: vec![400], code_dim: 20, activation: Activation::Relu, beta: 1.0 }
    }
}

impl VaeConfig {
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

/// A VAE. Parameters: `encoder.layers.<i>`, `encoder.mean`, `encoder.log_var`,
/// `decoder.layers.<i>` (each `.weight` and `.bias`).
#[derive(Debug, Clone)]
pub struct Vae {
    encoder: Mlp,
    mean: Linear,
    log_var: Linear,
    decoder: Mlp,
    input_dim: usize,
    beta: f64,
}

impl Vae {
    /// Validates `cfg`, then creates (or loads, if `vb` holds them) the parameters.
    pub fn new(cfg: &VaeConfig, vb: VarBuilder) -> std::result::Result<Self, ModelError> {
        cfg.validate()?;
        let enc: Vec<usize> = std::iter::once(cfg.input_dim).chain(cfg.hidden.iter().copied()).collect();
        let last = *cfg.hidden.last().unwrap_or(&cfg.input_dim);
        let dec: Vec<usize> = std::iter::once(cfg.code_dim)
            .chain(cfg.hidden.iter().rev().copied())
            .chain(std::iter::once(cfg.input_dim))
            .collect();
        let vbe = vb.pp("encoder");
        Ok(Self {
            encoder: Mlp::new(&enc, cfg.activation, true, vbe.clone())?,
            mean: linear(last, cfg.code_dim, vbe.pp("mean"))?,
            log_var: linear(last, cfg.code_dim, vbe.pp("log_var"))?,
            decoder: Mlp::new(&dec, cfg.activation, false, vb.pp("decoder"))?,
            input_dim: cfg.input_dim,
            beta: cfg.beta,
        })
    }

    /// The approximate posterior `q(z | xs)`.
    ///
    /// # Shapes
    /// `(batch, input_dim)` to mean and log-variance `(batch, code_dim)`.
    pub fn posterior(&self, xs: &Tensor) -> Result<Gaussian> {
        let h = self.encoder.forward(xs)?;
        Ok(Gaussian { mean: self.mean.forward(&h)?, log_var: self.log_var.forward(&h)? })
    }
}

impl Autoencoder for Vae {
    fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// The posterior mean.
    fn encode(&self, xs: &Tensor) -> Result<Tensor> {
        Ok(self.posterior(xs)?.mean)
    }

    fn decode(&self, zs: &Tensor) -> Result<Tensor> {
        self.decoder.forward(zs)
    }

    fn recon_loss(&self) -> ReconLoss {
        ReconLoss::Bce
    }

    /// One-sample estimate of the negative ELBO: `recon + β · kl_weight · KL`, with `recon` the
    /// Bernoulli negative log-likelihood of the target under the decoded sample and `kl` reported
    /// unweighted.
    fn loss(&self, batch: &Batch, ctx: &mut StepContext<'_>) -> Result<LossParts> {
        let q = self.posterior(&batch.input)?;
        let zs = q.sample(ctx.rng)?;
        let logits = self.decode(&zs)?;
        let recon = ReconLoss::Bce.per_example(&logits, &batch.target)?.mean(0)?;
        let kl = q.kl_to_standard_normal()?.mean(0)?;
        let total = (&recon + kl.affine(self.beta * ctx.kl_weight, 0.0)?)?;
        Ok(LossParts { total, recon, kl: Some(kl), sparsity: None })
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
