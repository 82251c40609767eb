//! The sparse preset: a dense body and a sparse code ([`crate::bottleneck::SparseCode`]: L1, KL or
//! TopK, dead-unit tracking, the TopK auxiliary loss, unit-norm decoder directions). The code may
//! be wider than the input (an overcomplete dictionary, e.g. 784 -> 1024). This file holds the
//! preset's flat config; the model is a [`ComposedAe`].

use ae_core::Activation;
use serde::{Deserialize, Serialize};

use crate::body::{self, BodyConfig};
use crate::composed::ComposedAe;
use crate::config::ModelConfig;
use crate::error::ModelError;
use crate::likelihood::Likelihood;
use crate::sparsity::Sparsity;

/// The shape, sparsity and diagnostics of a sparse autoencoder. Default: 784-512-256-64, ReLU,
/// BCE, `l1` at the default weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SparseConfig {
    /// Features per example.
    pub input_dim: usize,
    /// Encoder hidden widths, input side first (empty: one layer to the code).
    pub hidden: Vec<usize>,
    /// Decoder hidden widths, code side first; `None` mirrors the encoder.
    pub decoder_hidden: Option<Vec<usize>>,
    /// Code width; may exceed `input_dim`.
    pub code_dim: usize,
    /// Activation after every hidden layer.
    pub activation: Activation,
    /// The likelihood, `bce` (Bernoulli) or `mse` as older configs name them, or any other
    /// (`gaussian:SIGMA`, `gaussian-learned`).
    #[serde(with = "crate::likelihood::loss_field")]
    pub loss: Likelihood,
    /// The sparsity constraint.
    pub sparsity: Sparsity,
    /// TopK only: the auxiliary loss's K over dead units (`None`: no auxiliary loss).
    pub aux_k: Option<usize>,
    /// Rescale each code unit's decoder weights (a column of `decoder.layers.0.weight`) to unit
    /// L2 norm after every optimizer step.
    pub unit_norm_decoder: bool,
    /// A unit is dead when it has not fired over this many training examples.
    pub dead_window: usize,
}

impl Default for SparseConfig {
    fn default() -> Self {
        Self {
            input_dim: 784,
            hidden: vec![512, 256],
            decoder_hidden: None,
            code_dim: 64,
            activation: Activation::Relu,
            loss: Likelihood::Bernoulli,
            sparsity: Sparsity::default(),
            aux_k: None,
            unit_norm_decoder: false,
            dead_window: 10_000,
        }
    }
}

impl SparseConfig {
    /// Decoder hidden widths, code side first: `decoder_hidden`, or the encoder's mirrored.
    pub fn decoder_widths(&self) -> Vec<usize> {
        body::decoder_widths(&self.hidden, self.decoder_hidden.as_ref())
    }

    /// The body these fields describe.
    pub fn body(&self) -> BodyConfig {
        BodyConfig::dense(self.input_dim, &self.hidden, self.decoder_widths(), self.activation)
    }

    /// `(inputs, outputs)` of every dense layer, encoder then decoder.
    pub fn layers(&self) -> Vec<(usize, usize)> {
        ModelConfig::from(self.clone()).layers()
    }

    /// Refuses bad sizes and combinations, naming the field.
    pub fn validate(&self) -> std::result::Result<(), ModelError> {
        ModelConfig::from(self.clone()).validate()
    }
}

/// A sparse autoencoder: a body and a sparse code ([`crate::bottleneck::SparseCode`]), built by
/// `SparseAe::new(&SparseConfig, vb)`. Parameters as the stacked one: the body's
/// (`encoder.layers.<i>`, `decoder.layers.<i>` for the dense body) and the code layer,
/// `encoder.layers.<n>`.
pub type SparseAe = ComposedAe;

#[cfg(test)]
mod tests {
    use super::*;
    use ae_core::rng::{Purpose, stream};
    use ae_core::{Autoencoder, Batch, Params, StepContext};
    use candle_core::Device;
    use candle_core::Tensor;

    fn model(cfg: &SparseConfig) -> (SparseAe, Params) {
        let params = Params::new();
        let m = SparseAe::new(cfg, params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu)).unwrap();
        (m, params)
    }

    fn xs() -> Tensor {
        ae_core::rng::uniform(&mut stream(1, Purpose::Eval, 0), (4, 6), 0.0, 1.0, &Device::Cpu).unwrap()
    }

    #[test]
    fn penalties_match_hand_computed_values() {
        let step = |m: &SparseAe| {
            let mut rng = stream(0, Purpose::Sampling, 0);
            let mut ctx = StepContext { rng: &mut rng, training: false, kl_weight: 1.0 };
            m.loss(&Batch::plain(xs()), &mut ctx).unwrap().values().unwrap()
        };
        let base = SparseConfig { input_dim: 6, hidden: vec![5], code_dim: 8, ..Default::default() };
        // L1: weight * mean over examples of the summed ReLU code.
        let (m, _) = model(&SparseConfig { sparsity: Sparsity::L1 { weight: 0.5 }, ..base.clone() });
        let code = m.encode(&xs()).unwrap().to_vec2::<f32>().unwrap();
        let want = 0.5 * code.iter().map(|r| r.iter().map(|v| f64::from(v.abs())).sum::<f64>()).sum::<f64>() / 4.0;
        let v = step(&m);
        assert!((v.sparsity.unwrap() - want).abs() < 1e-5 && (v.total - v.recon - want).abs() < 1e-4, "{v:?} {want}");
        // KL: weight * sum_j rho ln(rho / rho_hat_j) + (1 - rho) ln((1 - rho) / (1 - rho_hat_j)).
        let (m, _) = model(&SparseConfig { sparsity: Sparsity::Kl { rho: 0.05, weight: 2.0 }, ..base.clone() });
        let code = m.encode(&xs()).unwrap().to_vec2::<f32>().unwrap();
        let want: f64 = 2.0
            * (0..8)
                .map(|j| {
                    let r = code.iter().map(|row| f64::from(row[j])).sum::<f64>() / 4.0;
                    0.05 * (0.05 / r).ln() + 0.95 * (0.95 / (1.0 - r)).ln()
                })
                .sum::<f64>();
        let v = step(&m);
        assert!((v.sparsity.unwrap() - want).abs() < 1e-4 * want.max(1.0), "{v:?} {want}");
        assert!(code.iter().flatten().all(|v| (0.0..=1.0).contains(v)), "sigmoid code");
        // L1 weighted by decoder norms: weight * mean over examples of sum_j z_j ||d_j||, with
        // d_j column j of the decoder's first layer.
        let (m, params) = model(&SparseConfig { sparsity: Sparsity::L1DecoderNorm { weight: 0.5 }, ..base.clone() });
        let code = m.encode(&xs()).unwrap().to_vec2::<f32>().unwrap();
        let named = params.named();
        let w =
            named.iter().find(|(n, _)| n == "decoder.layers.0.weight").unwrap().1.as_tensor().to_vec2::<f32>().unwrap();
        let norm = |j: usize| w.iter().map(|row| f64::from(row[j]).powi(2)).sum::<f64>().sqrt();
        let want = 0.5
            * code.iter().map(|r| r.iter().enumerate().map(|(j, v)| f64::from(*v) * norm(j)).sum::<f64>()).sum::<f64>()
            / 4.0;
        let v = step(&m);
        assert!(want > 0.0 && (v.sparsity.unwrap() - want).abs() < 1e-5, "{v:?} {want}");
        // It trains through autograd, so its gradient reaches the decoder's weights.
        let mut rng = stream(0, Purpose::Sampling, 0);
        let mut ctx = StepContext { rng: &mut rng, training: true, kl_weight: 1.0 };
        assert!(m.fused_step(&Batch::plain(xs()), &mut ctx, &mut Default::default()).unwrap().is_none());
    }

    #[test]
    fn topk_codes_have_exactly_k_nonzero_and_gradients_reach_the_kept_units_only() {
        let cfg = SparseConfig {
            input_dim: 6,
            hidden: vec![],
            code_dim: 10,
            sparsity: Sparsity::TopK { k: 3 },
            ..Default::default()
        };
        let (m, params) = model(&cfg);
        let code = m.encode(&xs()).unwrap().to_vec2::<f32>().unwrap();
        assert!(code.iter().all(|r| r.iter().filter(|v| **v != 0.0).count() == 3), "{code:?}");
        let mut rng = stream(0, Purpose::Sampling, 0);
        let mut ctx = StepContext { rng: &mut rng, training: true, kl_weight: 1.0 };
        let grads = m.loss(&Batch::plain(xs()), &mut ctx).unwrap().total.backward().unwrap();
        let w = params.named().into_iter().find(|(n, _)| n == "encoder.layers.0.weight").unwrap().1;
        let g = grads.get(w.as_tensor()).unwrap().to_vec2::<f32>().unwrap();
        let used: Vec<bool> = (0..10).map(|j| code.iter().any(|r| r[j] != 0.0)).collect();
        for (j, row) in g.iter().enumerate() {
            assert_eq!(row.iter().any(|v| *v != 0.0), used[j], "unit {j}: gradient only where selected");
        }
    }

    #[test]
    fn dead_units_are_tracked_and_the_aux_loss_applies_to_them() {
        let cfg = SparseConfig {
            input_dim: 6,
            hidden: vec![],
            code_dim: 10,
            sparsity: Sparsity::TopK { k: 2 },
            aux_k: Some(4),
            dead_window: 4,
            ..Default::default()
        };
        let (m, _) = model(&cfg);
        assert_eq!(m.dead_fraction(), None);
        let mut rng = stream(0, Purpose::Sampling, 0);
        let mut ctx = StepContext { rng: &mut rng, training: true, kl_weight: 1.0 };
        let first = m.loss(&Batch::plain(xs()), &mut ctx).unwrap().values().unwrap();
        assert_eq!(first.sparsity, Some(0.0), "no unit is dead before a window has passed");
        let dead = m.dead_fraction().unwrap();
        assert!(dead > 0.0 && dead <= 0.8, "at most 4 x 2 of 10 units fired: {dead}");
        let second = m.loss(&Batch::plain(xs()), &mut ctx).unwrap().values().unwrap();
        assert!(second.sparsity.unwrap() > 0.0, "the aux loss acts on dead units: {second:?}");
    }

    #[test]
    fn unit_norm_decoder_columns() {
        let cfg =
            SparseConfig { input_dim: 6, hidden: vec![], code_dim: 5, unit_norm_decoder: true, ..Default::default() };
        let (m, params) = model(&cfg);
        m.after_step().unwrap();
        let w = params.named().into_iter().find(|(n, _)| n == "decoder.layers.0.weight").unwrap().1;
        let w = w.as_tensor().to_vec2::<f32>().unwrap();
        for c in 0..5 {
            let norm: f32 = w.iter().map(|r| r[c] * r[c]).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "column {c}: {norm}");
        }
    }

    #[test]
    fn a_unit_norm_decoders_gradient_loses_its_component_along_each_direction() {
        let cfg =
            SparseConfig { input_dim: 6, hidden: vec![], code_dim: 5, unit_norm_decoder: true, ..Default::default() };
        let (m, params) = model(&cfg);
        let vars = params.named();
        let w = vars.iter().find(|(n, _)| n == "decoder.layers.0.weight").unwrap().1.as_tensor().clone();
        let cols = |g: &[f32]| -> Vec<f32> {
            let d = w.to_vec2::<f32>().unwrap();
            (0..5).map(|c| (0..6).map(|r| g[r * 5 + c] * d[r][c]).sum()).collect()
        };
        // Autograd's gradient (a tensor), and the same values written by a fused step (host).
        let mut rng = stream(0, Purpose::Sampling, 0);
        let mut ctx = StepContext { rng: &mut rng, training: false, kl_weight: 1.0 };
        let store = m.loss(&Batch::plain(xs()), &mut ctx).unwrap().total.backward().unwrap();
        let before = store.get(&w).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(cols(&before).iter().any(|v| v.abs() > 1e-4), "the raw gradient has a parallel part");
        let mut tensor = ae_core::Gradients::from_autograd(&store, &vars);
        let mut host = ae_core::Gradients::default();
        host.put_host(&w, before.clone());
        for grads in [&mut tensor, &mut host] {
            m.before_step(grads).unwrap();
            let after = grads.get(&w).unwrap().to_vec().unwrap();
            assert!(cols(&after).iter().all(|v| v.abs() < 1e-5), "{:?}", cols(&after));
            // What is left is the original less its parallel part: a step orthogonal to it.
            let moved: f32 = after.iter().zip(&before).map(|(a, b)| (a - b).abs()).sum();
            assert!(moved > 0.0);
        }
        let (t, h) = (tensor.get(&w).unwrap().to_vec().unwrap(), host.get(&w).unwrap().to_vec().unwrap());
        assert!(t.iter().zip(&h).all(|(a, b)| (a - b).abs() < 1e-6), "both paths agree");
    }

    #[test]
    fn bad_configs_name_the_field() {
        let bad = [
            (
                SparseConfig { code_dim: 8, sparsity: Sparsity::TopK { k: 9 }, ..Default::default() },
                "model.sparsity: topk:9 is invalid; expected K at most code_dim = 8",
            ),
            (
                SparseConfig { aux_k: Some(4), ..Default::default() },
                "model.aux_k: 4 is invalid; expected no auxiliary K unless sparsity is topk:K",
            ),
            (
                SparseConfig { sparsity: Sparsity::TopK { k: 2 }, aux_k: Some(0), ..Default::default() },
                "model.aux_k: 0 is invalid",
            ),
        ];
        for (cfg, want) in bad {
            let err = SparseAe::new(&cfg, Params::new().var_builder(stream(0, Purpose::Init, 0), &Device::Cpu))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(want), "{err}");
        }
    }
}
