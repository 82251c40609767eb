//! The likelihood part of every model, `p(x | z)` for the decoder's output: Bernoulli on logits
//! for data in [0, 1], the squared error, or a Gaussian around the decoder output with a fixed or
//! a learned scale. Any kind takes any of them. Written in configs and on the command line as
//! `bernoulli` (or `bce`), `mse`, `gaussian:SIGMA` or `gaussian-learned`.

use std::fmt;
use std::str::FromStr;

use ae_core::ReconLoss;
use ae_core::fused::kernels;
use ae_core::fused::mlp::{self, Dense, Workspace};
use candle_core::{Result, Tensor};
use serde::{Deserialize, Serialize};

/// `log(2π) / 2`.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// A decoder likelihood.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(try_from = "String", into = "String")]
pub enum Likelihood {
    /// Independent Bernoulli pixels with logits from the decoder (pytorch/examples). For grey
    /// levels in (0, 1) this is the usual convention, not a true density of continuous data.
    #[default]
    Bernoulli,
    /// The squared error summed over features: a Gaussian of fixed scale up to constants, in
    /// squared data units. Not a normalised density, so it has no `nll_iw`.
    SquaredError,
    /// Independent Gaussians around the decoder output with this standard deviation.
    Gaussian {
        /// Standard deviation, in data units.
        sigma: f64,
    },
    /// Independent Gaussians around the decoder output with one standard deviation shared by all
    /// pixels and learned with the model (parameter `decoder.log_sigma`).
    GaussianLearned,
}

impl Likelihood {
    /// How decoder outputs map to data: through a sigmoid for Bernoulli logits, as they are for
    /// Gaussian means.
    pub fn output_map(self) -> ReconLoss {
        match self {
            Likelihood::Bernoulli => ReconLoss::Bce,
            _ => ReconLoss::Mse,
        }
    }

    /// The likelihood's kernels on the fused CPU path, where it has them (Bernoulli, the squared
    /// error, a Gaussian of fixed scale); `None` (the learned scale) trains through autograd.
    pub fn host_loss(self) -> Option<HostLoss> {
        match self {
            Likelihood::Bernoulli => Some(HostLoss { loss: ReconLoss::Bce, weight: 1.0, per_feature: 0.0 }),
            Likelihood::SquaredError => Some(HostLoss { loss: ReconLoss::Mse, weight: 1.0, per_feature: 0.0 }),
            Likelihood::Gaussian { sigma } => Some(HostLoss {
                loss: ReconLoss::Mse,
                weight: 0.5 / (sigma * sigma),
                per_feature: sigma.ln() + HALF_LN_2PI,
            }),
            Likelihood::GaussianLearned => None,
        }
    }

    /// Whether `nll_per_example` is a normalised negative log-density (for `nll_iw`).
    pub fn is_density(self) -> bool {
        self != Likelihood::SquaredError
    }

    /// The likelihood's own parameter, `decoder.log_sigma` (shape `(1,)`, initialised to 0) for
    /// the learned Gaussian, created through `decoder` (the `decoder.` builder); none otherwise.
    pub fn build_scale(self, decoder: candle_nn::VarBuilder) -> Result<Option<Tensor>> {
        match self {
            Likelihood::GaussianLearned => {
                Ok(Some(decoder.get_with_hints(1, "log_sigma", candle_nn::Init::Const(0.0))?))
            }
            _ => Ok(None),
        }
    }

    /// `-log p(target | out)` per example, in nats; `log_sigma` is the learned scale's
    /// parameter (shape `(1,)`), used by [`Likelihood::GaussianLearned`] only.
    pub fn nll_per_example(self, out: &Tensor, target: &Tensor, log_sigma: Option<&Tensor>) -> Result<Tensor> {
        let n = out.dim(1)? as f64;
        let squares = || (out - target)?.sqr()?.sum(1);
        match (self, log_sigma) {
            (Likelihood::Bernoulli, _) => ReconLoss::Bce.per_example(out, target),
            (Likelihood::SquaredError, _) => ReconLoss::Mse.per_example(out, target),
            (Likelihood::Gaussian { sigma }, _) => {
                squares()?.affine(0.5 / (sigma * sigma), n * (sigma.ln() + HALF_LN_2PI))
            }
            (Likelihood::GaussianLearned, Some(ls)) => {
                let inv_var_half = ls.affine(-2.0, 0.0)?.exp()?.affine(0.5, 0.0)?;
                let scaled = squares()?.broadcast_mul(&inv_var_half)?;
                scaled.broadcast_add(&ls.affine(n, n * HALF_LN_2PI)?)
            }
            (Likelihood::GaussianLearned, None) => {
                candle_core::bail!("gaussian-learned likelihood without its decoder.log_sigma parameter")
            }
        }
    }
}

/// A likelihood's negative log-likelihood as the fused kernels compute it: `weight` times a
/// [`ReconLoss`] summed over features, plus `per_feature` for each feature (a Gaussian's
/// normalising constant).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostLoss {
    loss: ReconLoss,
    weight: f64,
    per_feature: f64,
}

impl HostLoss {
    /// The negative log-likelihood of the last forward pass of `layers` (logits) against
    /// `target`, summed over the batch, with `d(mean nll)/d(logits)` written as the delta the
    /// backward pass starts from.
    pub fn into_delta(&self, layers: &[Dense<'_>], ws: &mut Workspace, target: &[f32], rows: usize) -> f64 {
        let features = layers.last().map_or(0, |l| l.out_dim);
        let sum = if self.weight == 1.0 {
            mlp::loss_into_delta(layers, ws, target, self.loss, rows)
        } else {
            self.weight * mlp::weighted_loss_into_delta(layers, ws, target, self.loss, rows, self.weight as f32)
        };
        sum + self.per_feature * (rows * features) as f64
    }

    /// The negative log-likelihood of each row of `logits` (`width` values a row) against the row
    /// `target(i)`, without gradients.
    pub fn row_losses<'t>(&self, logits: &[f32], width: usize, target: impl Fn(usize) -> &'t [f32] + Sync) -> Vec<f64> {
        let rows = kernels::row_losses(self.loss, logits, width, target);
        rows.into_iter().map(|v| self.weight * v + self.per_feature * width as f64).collect()
    }
}

impl fmt::Display for Likelihood {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Likelihood::Bernoulli => write!(f, "bernoulli"),
            Likelihood::SquaredError => write!(f, "mse"),
            Likelihood::Gaussian { sigma } => write!(f, "gaussian:{sigma}"),
            Likelihood::GaussianLearned => write!(f, "gaussian-learned"),
        }
    }
}

impl FromStr for Likelihood {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let expected =
            "expected bernoulli (or bce), mse, gaussian:SIGMA (SIGMA a finite number > 0) or gaussian-learned";
        match s.split_once(':') {
            None if s == "bernoulli" || s == "bce" => Ok(Likelihood::Bernoulli),
            None if s == "mse" => Ok(Likelihood::SquaredError),
            None if s == "gaussian-learned" => Ok(Likelihood::GaussianLearned),
            Some(("gaussian", v)) => match v.parse::<f64>() {
                Ok(sigma) if sigma.is_finite() && sigma > 0.0 => Ok(Likelihood::Gaussian { sigma }),
                _ => Err(format!("{s:?}: the scale {v:?} is not a finite number > 0; {expected}")),
            },
            _ => Err(format!("unknown likelihood {s:?}; {expected}")),
        }
    }
}

ae_core::string_spec!(Likelihood);

impl From<ReconLoss> for Likelihood {
    fn from(loss: ReconLoss) -> Self {
        match loss {
            ReconLoss::Bce => Likelihood::Bernoulli,
            ReconLoss::Mse => Likelihood::SquaredError,
        }
    }
}

/// The `loss` field of the stacked and sparse configs, which older configs spell `bce` and
/// `mse`: written that way for those two, so their files read as before, and read as any
/// likelihood.
pub mod loss_field {
    use super::Likelihood;

    /// Writes `bce` for Bernoulli, the likelihood's own spelling otherwise.
    pub fn serialize<S: serde::Serializer>(l: &Likelihood, s: S) -> Result<S::Ok, S::Error> {
        match l {
            Likelihood::Bernoulli => s.serialize_str("bce"),
            other => s.serialize_str(&other.to_string()),
        }
    }

    /// Reads any likelihood spec.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Likelihood, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn specs_round_trip_and_bad_ones_say_what_is_expected() {
        for s in ["bernoulli", "mse", "gaussian:0.1", "gaussian-learned"] {
            assert_eq!(s.parse::<Likelihood>().unwrap().to_string(), s);
        }
        assert_eq!("bce".parse::<Likelihood>().unwrap(), Likelihood::Bernoulli);
        for (bad, want) in [
            ("gaussian:0", "not a finite number > 0"),
            ("gaussian:-1", "not a finite number > 0"),
            ("gaussian:nan", "not a finite number > 0"),
            ("poisson", "unknown likelihood \"poisson\""),
        ] {
            let err = bad.parse::<Likelihood>().unwrap_err();
            assert!(err.contains(want) && err.contains("expected bernoulli"), "{bad}: {err}");
        }
    }

    #[test]
    fn gaussian_nll_matches_pytorch() {
        // torch.distributions.Normal(mu, sigma).log_prob(x).sum(1).neg()
        let mu = Tensor::new(&[[0.1f32, 0.5, 0.9], [0.0, 1.0, 0.3]], &Device::Cpu).unwrap();
        let x = Tensor::new(&[[0.0f32, 0.6, 1.0], [0.2, 0.7, 0.3]], &Device::Cpu).unwrap();
        let fixed =
            Likelihood::Gaussian { sigma: 0.5 }.nll_per_example(&mu, &x, None).unwrap().to_vec1::<f32>().unwrap();
        let want = [0.737_373_948, 0.937_373_996];
        for (g, w) in fixed.iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "{fixed:?}");
        }
        // A learned log-scale of ln 0.5 gives the same numbers, and gradients reach it.
        let ls = candle_core::Var::new(&[0.5f32.ln()], &Device::Cpu).unwrap();
        let learned = Likelihood::GaussianLearned.nll_per_example(&mu, &x, Some(ls.as_tensor())).unwrap();
        for (g, w) in learned.to_vec1::<f32>().unwrap().iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "{learned}");
        }
        let grads = learned.sum_all().unwrap().backward().unwrap();
        assert!(grads.get(ls.as_tensor()).is_some());
        assert!(Likelihood::GaussianLearned.nll_per_example(&mu, &x, None).is_err());
    }
}
