//! The stacked preset ("sandwich" autoencoder: Hinton & Salakhutdinov, "Reducing the
//! dimensionality of data with neural networks", Science 2006, trained end to end by
//! backpropagation as Keras and PyTorch tutorials do): a dense body, encoder input -> hidden... ->
//! code and decoder code -> hidden... -> input, mirrored by default, and a plain code; BCE from
//! logits (inputs in [0, 1]) or any other likelihood. This file holds the preset's flat config, as
//! format-1 run configs and library users write it; the model is a [`ComposedAe`].

use ae_core::Activation;
use serde::{Deserialize, Serialize};

use crate::body::{self, BodyConfig};
use crate::composed::ComposedAe;
use crate::config::ModelConfig;
use crate::error::ModelError;
use crate::likelihood::Likelihood;

/// The shape and loss of a stacked autoencoder. The default is 784-512-256-64, ReLU, BCE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StackedConfig {
    /// Features per example (784 for 28x28 images).
    pub input_dim: usize,
    /// Encoder hidden widths, input side first.
    pub hidden: Vec<usize>,
    /// Code width.
    pub code_dim: usize,
    /// Decoder hidden widths, code side first; `None` mirrors the encoder.
    pub decoder_hidden: Option<Vec<usize>>,
    /// Activation after every hidden layer.
    pub activation: Activation,
    /// Activation on the code itself; `None` leaves the code linear.
    pub code_activation: Option<Activation>,
    /// The likelihood, `bce` (Bernoulli) or `mse` as older configs name them, or any other
    /// (`gaussian:SIGMA`, `gaussian-learned`).
    #[serde(with = "crate::likelihood::loss_field")]
    pub loss: Likelihood,
}

impl Default for StackedConfig {
    fn default() -> Self {
        Self {
            input_dim: 784,
            hidden: vec![512, 256],
            code_dim: 64,
            decoder_hidden: None,
            activation: Activation::Relu,
            code_activation: None,
            loss: Likelihood::Bernoulli,
        }
    }
}

impl StackedConfig {
    /// `(inputs, outputs)` of every dense layer, encoder then decoder: what the parameters and
    /// activations will take before any is allocated.
    pub fn layers(&self) -> Vec<(usize, usize)> {
        ModelConfig::from(self.clone()).layers()
    }

    /// Decoder hidden widths, code side first.
    pub fn decoder_widths(&self) -> Vec<usize> {
        body::decoder_widths(&self.hidden, self.decoder_hidden.as_ref())
    }

    /// The body these fields describe.
    pub fn body(&self) -> BodyConfig {
        BodyConfig::dense(self.input_dim, &self.hidden, self.decoder_widths(), self.activation)
    }

    /// Refuses sizes of zero or beyond reason, naming the field (each part checks its own).
    pub fn validate(&self) -> std::result::Result<(), ModelError> {
        ModelConfig::from(self.clone()).validate()
    }
}

/// A stacked autoencoder: a body and a plain code ([`crate::bottleneck::PlainCode`]), built by
/// `StackedAe::new(&StackedConfig, vb)`. Parameters: the body's (`encoder.layers.<i>` and
/// `decoder.layers.<i>` for the dense body, each `.weight` and `.bias`) and the code layer,
/// `encoder.layers.<n>` after the encoder's `n` hidden layers.
pub type StackedAe = ComposedAe;

#[cfg(test)]
mod tests {
    use super::*;
    use ae_core::Params;
    use ae_core::rng::{Purpose, stream};
    use ae_core::{Autoencoder, ReconLoss};
    use candle_core::{Device, Tensor};

    fn model(cfg: &StackedConfig, params: &Params) -> std::result::Result<StackedAe, ModelError> {
        StackedAe::new(cfg, params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu))
    }

    #[test]
    fn shapes_follow_the_config() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let params = Params::new();
        let cfg = StackedConfig { input_dim: 20, hidden: vec![16, 8], code_dim: 3, ..Default::default() };
        let ae = model(&cfg, &params)?;
        let xs = Tensor::zeros((5, 20), candle_core::DType::F32, &Device::Cpu)?;
        assert_eq!(ae.encode(&xs)?.dims(), [5, 3]);
        assert_eq!(ae.forward(&xs)?.dims(), [5, 20]);
        let out = ae.reconstruct(&xs)?.flatten_all()?.to_vec1::<f32>()?;
        assert!(out.iter().all(|v| (0.0..=1.0).contains(v)), "BCE outputs are sigmoids");
        Ok(())
    }

    #[test]
    fn fused_inference_matches_candle() -> std::result::Result<(), Box<dyn std::error::Error>> {
        for (act, loss) in
            [(Activation::Relu, ReconLoss::Bce), (Activation::Tanh, ReconLoss::Mse), (Activation::Gelu, ReconLoss::Bce)]
        {
            let params = Params::new();
            let cfg = StackedConfig {
                input_dim: 30,
                hidden: vec![20, 10],
                code_dim: 4,
                activation: act,
                loss: loss.into(),
                ..Default::default()
            };
            let ae = model(&cfg, &params)?;
            let xs = ae_core::rng::uniform(&mut stream(9, Purpose::Eval, 0), (7, 30), 0.0, 1.0, &Device::Cpu)?;
            let pairs = [
                (ae.embed(&xs)?, ae.encode(&xs)?),
                (ae.reconstruct(&xs)?, loss.to_output(&ae.decode(&ae.encode(&xs)?)?)?),
            ];
            for (fast, reference) in pairs {
                assert_eq!(fast.dims(), reference.dims());
                let diff = (fast - reference)?.abs()?.max_all()?.to_scalar::<f32>()?;
                assert!(diff < 1e-5, "{act} {loss:?}: differs by {diff}");
            }
        }
        Ok(())
    }

    #[test]
    fn parameter_names_are_pinned() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let params = Params::new();
        model(&StackedConfig::default(), &params)?;
        let names: Vec<(String, Vec<usize>)> =
            params.named().into_iter().map(|(n, v)| (n, v.dims().to_vec())).collect();
        let want = [
            ("decoder.layers.0.bias", vec![256]),
            ("decoder.layers.0.weight", vec![256, 64]),
            ("decoder.layers.1.bias", vec![512]),
            ("decoder.layers.1.weight", vec![512, 256]),
            ("decoder.layers.2.bias", vec![784]),
            ("decoder.layers.2.weight", vec![784, 512]),
            ("encoder.layers.0.bias", vec![512]),
            ("encoder.layers.0.weight", vec![512, 784]),
            ("encoder.layers.1.bias", vec![256]),
            ("encoder.layers.1.weight", vec![256, 512]),
            ("encoder.layers.2.bias", vec![64]),
            ("encoder.layers.2.weight", vec![64, 256]),
        ];
        let want: Vec<(String, Vec<usize>)> = want.into_iter().map(|(n, s)| (n.to_string(), s)).collect();
        assert_eq!(names, want);
        Ok(())
    }

    #[test]
    fn explicit_decoder_shape_is_honoured() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let params = Params::new();
        let cfg = StackedConfig {
            input_dim: 10,
            hidden: vec![8],
            code_dim: 2,
            decoder_hidden: Some(vec![4, 6]),
            ..Default::default()
        };
        model(&cfg, &params)?;
        let dec: Vec<Vec<usize>> = params
            .named()
            .into_iter()
            .filter(|(n, _)| n.starts_with("decoder") && n.ends_with("weight"))
            .map(|(_, v)| v.dims().to_vec())
            .collect();
        assert_eq!(dec, [vec![4, 2], vec![6, 4], vec![10, 6]]);
        Ok(())
    }

    #[test]
    fn invalid_configs_name_the_field() {
        let cases = [
            (StackedConfig { code_dim: 0, ..Default::default() }, "model.code_dim: 0"),
            (StackedConfig { hidden: vec![512, 0], ..Default::default() }, "model.hidden[1]: 0"),
            (
                StackedConfig { decoder_hidden: Some(vec![1 << 20]), ..Default::default() },
                "model.decoder_hidden[0]: 1048576",
            ),
            (StackedConfig { input_dim: 0, ..Default::default() }, "model.input_dim: 0"),
        ];
        for (cfg, want) in cases {
            let err = model(&cfg, &Params::new()).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.starts_with(want) && err.contains("expected a width from 1 to 65536"), "{err}");
        }
    }

    #[test]
    fn config_json_rejects_unknown_fields() {
        // Format 2, the parts:
        let err = serde_json::from_str::<crate::ModelConfig>(r#"{"body":{"kind":"dense","hiden":[3]}}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("unknown field `hiden`"), "{err}");
        let ok: crate::ModelConfig = serde_json::from_str(r#"{"bottleneck":{"kind":"plain","code_dim":2}}"#).unwrap();
        assert_eq!(
            (ok.input_dim(), ok.bottleneck.code_dim(), ok.dense().unwrap().hidden.clone()),
            (784, 2, vec![512, 256])
        );
        // and format 1, a kind with flat fields:
        let err = serde_json::from_str::<crate::ModelConfigV1>(r#"{"kind":"stacked","hiden":[3]}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("unknown field `hiden`"), "{err}");
        let old: crate::ModelConfigV1 = serde_json::from_str(r#"{"kind":"stacked","code_dim":2}"#).unwrap();
        assert_eq!(crate::ModelConfig::from(old), ok);
    }
}
