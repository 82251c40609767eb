//! The VAE preset: Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014. A dense body
//! (784-400-20 as in pytorch/examples) and a Gaussian code (mean and log-variance heads); the loss
//! is the negative ELBO, reconstruction negative log-likelihood plus β·KL(q(z|x) || N(0, I)), per
//! example in nats. This file holds the preset's flat config; the model is a [`ComposedAe`].

use ae_core::Activation;
use serde::{Deserialize, Serialize};

use crate::body::{self, BodyConfig};
use crate::composed::ComposedAe;
use crate::config::ModelConfig;
use crate::error::ModelError;
use crate::likelihood::Likelihood;

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
        ModelConfig::from(self.clone()).layers()
    }

    /// Refuses sizes of zero or beyond reason and non-finite or negative β, naming the field.
    pub fn validate(&self) -> std::result::Result<(), ModelError> {
        ModelConfig::from(self.clone()).validate()
    }
}

/// A VAE: a body and a Gaussian code ([`crate::bottleneck::GaussianCode`]), built by
/// `Vae::new(&VaeConfig, vb)`. Parameters: the body's (`encoder.layers.<i>` and
/// `decoder.layers.<i>` for the dense body), `encoder.mean`, `encoder.log_var` (each `.weight`
/// and `.bias`), and `decoder.log_sigma` (shape `(1,)`, initialised to 0) with the learned
/// Gaussian likelihood.
pub type Vae = ComposedAe;

#[cfg(test)]
mod tests {
    use super::*;
    use ae_core::gaussian::standard_normal_log_density;
    use ae_core::rng::{Purpose, stream};
    use ae_core::{Autoencoder, Batch, Params, ReconLoss, StepContext};
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
        let q = vae.posterior(&xs).unwrap().unwrap();
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
