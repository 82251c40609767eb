//! The model part of a run's config: the preset it came from and its parts (a body, a
//! bottleneck, a likelihood). Each part has its own config; the kind of model is the bottleneck's.
//! Configs of the first format, which named a kind with flat fields, are read through
//! [`crate::config_v1::ModelConfigV1`] and upgraded.

use serde::{Deserialize, Serialize};

use ae_core::Activation;

use crate::ModelError;
use crate::body::{self, BodyConfig, HeadSite};
use crate::bottleneck::{Bottleneck, GaussianCode, PlainCode, SparseCode};
use crate::conv::ConvSpec;
use crate::error::check_width;
use crate::likelihood::Likelihood;
use crate::sparse::SparseConfig;
use crate::sparsity::Sparsity;
use crate::stacked::StackedConfig;
use crate::vae::VaeConfig;

/// Which autoencoder to build, and how: a body, a bottleneck and a likelihood.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// The preset the parts came from (`--model`), which names the run in reports; where a
    /// hand-written config leaves it out, the bottleneck's usual preset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// The encoder and decoder networks.
    pub body: BodySpec,
    /// The code between them; it decides the kind of model.
    pub bottleneck: BottleneckSpec,
    /// `p(x | z)` for the decoder's output.
    pub likelihood: Likelihood,
}

/// The body part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BodySpec {
    /// Fully-connected layers.
    Dense(DenseSpec),
    /// Stages of strided convolutions (`--body conv`).
    Conv(ConvSpec),
}

/// A fully-connected body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DenseSpec {
    /// Features per example (784 for 28x28 images).
    pub input_dim: usize,
    /// Encoder hidden widths, input side first.
    pub hidden: Vec<usize>,
    /// Decoder hidden widths, code side first; `None` mirrors the encoder.
    pub decoder_hidden: Option<Vec<usize>>,
    /// Activation after every hidden layer.
    pub activation: Activation,
}

/// The bottleneck part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BottleneckSpec {
    /// A deterministic code (the stacked and denoising presets).
    Plain(PlainSpec),
    /// A sparse code: L1, KL or TopK (the sparse preset).
    Sparse(SparseSpec),
    /// A diagonal Gaussian code with reparameterised sampling and its KL to N(0, I) (the VAE).
    Gaussian(GaussianSpec),
}

/// A plain code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlainSpec {
    /// Code width.
    pub code_dim: usize,
    /// Activation on the code; `None` leaves it linear.
    pub code_activation: Option<Activation>,
}

/// A sparse code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SparseSpec {
    /// Code width; may exceed the input's.
    pub code_dim: usize,
    /// The sparsity constraint.
    pub sparsity: Sparsity,
    /// TopK only: the auxiliary loss's K over dead units.
    pub aux_k: Option<usize>,
    /// Keep each code unit's decoder direction at unit L2 norm after every step.
    pub unit_norm_decoder: bool,
    /// A unit is dead when it has not fired over this many training examples.
    pub dead_window: usize,
}

/// A Gaussian code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GaussianSpec {
    /// Width of the latent space.
    pub code_dim: usize,
    /// Weight on the KL term (β-VAE; 1 is the true ELBO).
    pub beta: f64,
}

impl Default for BodySpec {
    fn default() -> Self {
        BodySpec::Dense(DenseSpec::default())
    }
}

impl Default for DenseSpec {
    fn default() -> Self {
        let s = StackedConfig::default();
        DenseSpec {
            input_dim: s.input_dim,
            hidden: s.hidden,
            decoder_hidden: s.decoder_hidden,
            activation: s.activation,
        }
    }
}

impl Default for BottleneckSpec {
    fn default() -> Self {
        BottleneckSpec::Plain(PlainSpec::default())
    }
}

impl Default for PlainSpec {
    fn default() -> Self {
        let s = StackedConfig::default();
        PlainSpec { code_dim: s.code_dim, code_activation: s.code_activation }
    }
}

impl Default for SparseSpec {
    fn default() -> Self {
        let s = SparseConfig::default();
        SparseSpec {
            code_dim: s.code_dim,
            sparsity: s.sparsity,
            aux_k: s.aux_k,
            unit_norm_decoder: s.unit_norm_decoder,
            dead_window: s.dead_window,
        }
    }
}

impl Default for GaussianSpec {
    fn default() -> Self {
        let v = VaeConfig::default();
        GaussianSpec { code_dim: v.code_dim, beta: v.beta }
    }
}

impl BottleneckSpec {
    /// The part's name, as in the config's `kind` field.
    pub fn kind(&self) -> &'static str {
        match self {
            BottleneckSpec::Plain(_) => "plain",
            BottleneckSpec::Sparse(_) => "sparse",
            BottleneckSpec::Gaussian(_) => "gaussian",
        }
    }

    /// Code width.
    pub fn code_dim(&self) -> usize {
        match self {
            BottleneckSpec::Plain(b) => b.code_dim,
            BottleneckSpec::Sparse(b) => b.code_dim,
            BottleneckSpec::Gaussian(b) => b.code_dim,
        }
    }

    /// Code width, to set.
    pub fn code_dim_mut(&mut self) -> &mut usize {
        match self {
            BottleneckSpec::Plain(b) => &mut b.code_dim,
            BottleneckSpec::Sparse(b) => &mut b.code_dim,
            BottleneckSpec::Gaussian(b) => &mut b.code_dim,
        }
    }

    /// Refuses out-of-range fields, naming them.
    pub fn validate(&self) -> Result<(), ModelError> {
        check_width("code_dim".into(), self.code_dim())?;
        match self {
            BottleneckSpec::Plain(_) => Ok(()),
            BottleneckSpec::Sparse(b) => b.validate(),
            BottleneckSpec::Gaussian(b) => b.validate(),
        }
    }

    /// `(inputs, outputs)` of the head's dense layers on `features` body features.
    pub fn layers(&self, features: usize) -> Vec<(usize, usize)> {
        let heads = if matches!(self, BottleneckSpec::Gaussian(_)) { 2 } else { 1 };
        vec![(features, self.code_dim()); heads]
    }

    /// The bottleneck, its head created (or loaded) at the body's `site`.
    pub fn build(&self, site: HeadSite<'_>) -> candle_core::Result<Box<dyn Bottleneck>> {
        Ok(match self {
            BottleneckSpec::Plain(b) => Box::new(PlainCode::build(b, site)?),
            BottleneckSpec::Sparse(b) => Box::new(SparseCode::build(b, site)?),
            BottleneckSpec::Gaussian(b) => Box::new(GaussianCode::build(b, site)?),
        })
    }
}

impl DenseSpec {
    /// Decoder hidden widths, code side first: `decoder_hidden`, or the encoder's mirrored.
    pub fn decoder_widths(&self) -> Vec<usize> {
        body::decoder_widths(&self.hidden, self.decoder_hidden.as_ref())
    }

    /// Features per example the encoder hands the bottleneck.
    pub fn features(&self) -> usize {
        self.hidden.last().copied().unwrap_or(self.input_dim)
    }

    /// Refuses sizes of zero or beyond reason, naming the field.
    pub fn validate(&self) -> Result<(), ModelError> {
        check_width("input_dim".into(), self.input_dim)?;
        for (field, widths) in [("hidden", &self.hidden), ("decoder_hidden", &self.decoder_widths())] {
            for (i, &w) in widths.iter().enumerate() {
                check_width(format!("{field}[{i}]"), w)?;
            }
            if widths.len() > MAX_LAYERS {
                return Err(ModelError::InvalidConfig {
                    field: field.into(),
                    value: format!("{} layers", widths.len()),
                    expected: format!("at most {MAX_LAYERS} hidden layers"),
                });
            }
        }
        Ok(())
    }
}

/// The most hidden layers a dense encoder or decoder may have.
const MAX_LAYERS: usize = 64;

impl SparseSpec {
    /// Refuses bad combinations, naming the field.
    pub fn validate(&self) -> Result<(), ModelError> {
        let invalid = |field: &str, value: String, expected: &str| {
            Err(ModelError::InvalidConfig { field: field.into(), value, expected: expected.into() })
        };
        if let Sparsity::TopK { k } = self.sparsity
            && k > self.code_dim
        {
            return invalid("sparsity", self.sparsity.to_string(), &format!("K at most code_dim = {}", self.code_dim));
        }
        match (self.aux_k, self.sparsity) {
            (Some(a), s) if !matches!(s, Sparsity::TopK { .. }) => {
                invalid("aux_k", a.to_string(), "no auxiliary K unless sparsity is topk:K")
            }
            (Some(a), _) if a == 0 || a > self.code_dim => {
                invalid("aux_k", a.to_string(), &format!("from 1 to code_dim = {}", self.code_dim))
            }
            _ if self.dead_window == 0 => invalid("dead_window", "0".into(), "at least 1 example"),
            _ => Ok(()),
        }
    }
}

impl GaussianSpec {
    /// Refuses a non-finite or negative β.
    pub fn validate(&self) -> Result<(), ModelError> {
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

/// A preset's name and its parts.
pub type Preset = (&'static str, fn() -> ModelConfig);

/// Every preset `--model` names.
pub const PRESETS: [Preset; 4] = [
    ("stacked", || StackedConfig::default().into()),
    ("vae", || VaeConfig::default().into()),
    ("denoising", || ModelConfig { preset: Some("denoising".into()), ..StackedConfig::default().into() }),
    ("sparse", || SparseConfig::default().into()),
];

impl Default for ModelConfig {
    fn default() -> Self {
        StackedConfig::default().into()
    }
}

impl ModelConfig {
    /// The preset's name, as in `--model` and reports.
    pub fn kind(&self) -> &str {
        match (&self.preset, &self.bottleneck) {
            (Some(p), _) => p,
            (None, BottleneckSpec::Plain(_)) => "stacked",
            (None, BottleneckSpec::Sparse(_)) => "sparse",
            (None, BottleneckSpec::Gaussian(_)) => "vae",
        }
    }

    /// The dense body's fields, where the body is dense.
    pub fn dense(&self) -> Option<&DenseSpec> {
        match &self.body {
            BodySpec::Dense(d) => Some(d),
            BodySpec::Conv(_) => None,
        }
    }

    /// The body part as [`crate::body::build`] takes it.
    pub fn body_config(&self) -> BodyConfig {
        match &self.body {
            BodySpec::Dense(d) => BodyConfig::dense(d.input_dim, &d.hidden, d.decoder_widths(), d.activation),
            BodySpec::Conv(c) => BodyConfig::Conv(c.clone()),
        }
    }

    /// The default parts of a preset named on the command line.
    pub fn default_for(preset: &str) -> Option<ModelConfig> {
        PRESETS.iter().find(|(name, _)| *name == preset).map(|(_, make)| make())
    }

    /// Every preset `--model` accepts.
    pub fn kinds() -> Vec<&'static str> {
        PRESETS.iter().map(|(name, _)| *name).collect()
    }

    /// Refuses out-of-range fields, naming them: each part checks its own.
    pub fn validate(&self) -> Result<(), ModelError> {
        self.body.validate()?;
        self.bottleneck.validate()
    }

    /// This config, checked: the only form [`crate::build`] takes.
    pub fn check(self) -> Result<Checked, ModelError> {
        self.validate()?;
        Ok(Checked(self))
    }

    /// `(inputs, outputs)` of every dense layer the model will have (encoder, the bottleneck's
    /// head, decoder); a convolutional body's dense layers are the head and the decoder's first.
    pub fn layers(&self) -> Vec<(usize, usize)> {
        let pairs = |w: &[usize]| w.windows(2).map(|w| (w[0], w[1])).collect::<Vec<_>>();
        let code = self.bottleneck.code_dim();
        match &self.body {
            BodySpec::Dense(d) => {
                let enc: Vec<usize> = std::iter::once(d.input_dim).chain(d.hidden.iter().copied()).collect();
                let dec: Vec<usize> = std::iter::once(code).chain(d.decoder_widths()).chain([d.input_dim]).collect();
                [pairs(&enc), self.bottleneck.layers(d.features()), pairs(&dec)].concat()
            }
            BodySpec::Conv(c) => {
                let features = c.stages().map(|s| c.features(&s)).unwrap_or(0);
                [self.bottleneck.layers(features), vec![(code, features)]].concat()
            }
        }
    }

    /// `(parameters, outputs per example)` of every layer, for estimating the memory training
    /// takes before building the model.
    pub fn layer_sizes(&self) -> Vec<(u128, u128)> {
        let dense = |&(i, o): &(usize, usize)| (i as u128 * o as u128 + o as u128, o as u128);
        match &self.body {
            BodySpec::Dense(_) => self.layers().iter().map(dense).collect(),
            BodySpec::Conv(c) => {
                let features = c.stages().map(|s| c.features(&s)).unwrap_or(0);
                let head = self.bottleneck.layers(features);
                [c.layer_sizes(self.bottleneck.code_dim()), head.iter().map(dense).collect()].concat()
            }
        }
    }

    /// Features per example the model expects.
    pub fn input_dim(&self) -> usize {
        match &self.body {
            BodySpec::Dense(d) => d.input_dim,
            BodySpec::Conv(c) => c.input_dim(),
        }
    }
}

impl BodySpec {
    /// The part's name, as in the config's `kind` field and `--body`.
    pub fn kind(&self) -> &'static str {
        match self {
            BodySpec::Dense(_) => "dense",
            BodySpec::Conv(_) => "conv",
        }
    }

    /// Refuses out-of-range fields, naming them.
    pub fn validate(&self) -> Result<(), ModelError> {
        match self {
            BodySpec::Dense(d) => d.validate(),
            BodySpec::Conv(c) => c.validate(),
        }
    }

    /// Sets the shape of one example, `(channels, height, width)`, as the data has it.
    pub fn set_input(&mut self, channels: usize, height: usize, width: usize) {
        match self {
            BodySpec::Dense(d) => d.input_dim = channels * height * width,
            BodySpec::Conv(c) => c.input = [channels, height, width],
        }
    }
}

/// A [`ModelConfig`] that passed [`ModelConfig::check`], as linfa's `ParamGuard` has it: checked
/// once, where it is made, so what builds a model never sees an unchecked one.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked(ModelConfig);

impl std::ops::Deref for Checked {
    type Target = ModelConfig;
    fn deref(&self) -> &ModelConfig {
        &self.0
    }
}

/// The dense body of a kind's flat config (each has the four fields).
macro_rules! dense_body {
    ($c:ident) => {
        BodySpec::Dense(DenseSpec {
            input_dim: $c.input_dim,
            hidden: $c.hidden,
            decoder_hidden: $c.decoder_hidden,
            activation: $c.activation,
        })
    };
}

impl From<StackedConfig> for ModelConfig {
    fn from(c: StackedConfig) -> Self {
        ModelConfig {
            preset: Some("stacked".into()),
            body: dense_body!(c),
            bottleneck: BottleneckSpec::Plain(PlainSpec { code_dim: c.code_dim, code_activation: c.code_activation }),
            likelihood: c.loss,
        }
    }
}

impl From<VaeConfig> for ModelConfig {
    fn from(c: VaeConfig) -> Self {
        ModelConfig {
            preset: Some("vae".into()),
            body: dense_body!(c),
            bottleneck: BottleneckSpec::Gaussian(GaussianSpec { code_dim: c.code_dim, beta: c.beta }),
            likelihood: c.likelihood,
        }
    }
}

impl From<SparseConfig> for ModelConfig {
    fn from(c: SparseConfig) -> Self {
        ModelConfig {
            preset: Some("sparse".into()),
            body: dense_body!(c),
            bottleneck: BottleneckSpec::Sparse(SparseSpec {
                code_dim: c.code_dim,
                sparsity: c.sparsity,
                aux_k: c.aux_k,
                unit_norm_decoder: c.unit_norm_decoder,
                dead_window: c.dead_window,
            }),
            likelihood: c.loss,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ae_core::Params;
    use ae_core::rng::{Purpose, stream};
    use candle_core::Device;

    #[test]
    fn layers_count_every_parameter_the_model_builds() {
        let stacked = StackedConfig { decoder_hidden: Some(vec![7, 9]), ..Default::default() };
        let sparse = SparseConfig { hidden: vec![32], ..Default::default() };
        for cfg in [
            ModelConfig::from(stacked),
            VaeConfig::default().into(),
            VaeConfig { hidden: vec![300, 100], ..Default::default() }.into(),
            VaeConfig { decoder_hidden: Some(vec![64, 32, 16]), ..Default::default() }.into(),
            sparse.into(),
            SparseConfig { decoder_hidden: Some(vec![16, 8]), ..Default::default() }.into(),
            SparseConfig::default().into(),
        ] {
            let params = Params::new();
            let checked = cfg.clone().check().unwrap();
            crate::build(&checked, params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu)).unwrap();
            let from_layers: usize = cfg.layers().iter().map(|(i, o)| i * o + o).sum();
            assert_eq!(from_layers, params.count(), "{cfg:?}");
        }
    }
}
