//! The model part of a run's config: one variant per kind, selected by its `kind` field.

use serde::{Deserialize, Serialize};

use ae_core::Autoencoder;
use candle_nn::VarBuilder;

use crate::ModelError;
use crate::likelihood::Likelihood;
use crate::sparse::SparseConfig;
use crate::stacked::StackedConfig;
use crate::vae::VaeConfig;

/// Which autoencoder to build, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ModelConfig {
    /// A fully-connected encoder and decoder.
    Stacked(StackedConfig),
    /// A variational autoencoder.
    Vae(VaeConfig),
    /// A denoising autoencoder: the stacked architecture, trained on inputs the data pipeline
    /// corrupts (`train.noise`) to rebuild the clean ones. The model itself is a stacked one.
    Denoising(StackedConfig),
    /// A sparse autoencoder (L1, KL or TopK).
    Sparse(SparseConfig),
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig::Stacked(StackedConfig::default())
    }
}

/// What every kind's config provides. [`ModelConfig`] goes through it, so a new kind is its own
/// file (its config implementing this, its model implementing [`Autoencoder`]) plus a variant
/// above, a row of [`PRESETS`] and an arm in each of [`ModelConfig::kind`] and
/// [`ModelConfig::as_kind`].
pub trait KindConfig {
    /// Refuses out-of-range fields, naming them.
    fn validate(&self) -> Result<(), ModelError>;
    /// `(inputs, outputs)` of every dense layer the model will have, for estimating its memory
    /// before building it.
    fn layers(&self) -> Vec<(usize, usize)>;
    /// Features per example the model expects.
    fn input_dim(&self) -> usize;
    /// The likelihood part.
    fn likelihood(&self) -> Likelihood;
    /// The model, its parameters created (or loaded) through `vb`.
    fn build(&self, vb: VarBuilder) -> Result<Box<dyn Autoencoder>, ModelError>;
}

/// A kind's name and its default config.
pub type Preset = (&'static str, fn() -> ModelConfig);

/// Every kind `--model` names, with its default config.
pub const PRESETS: [Preset; 4] = [
    ("stacked", || ModelConfig::Stacked(StackedConfig::default())),
    ("vae", || ModelConfig::Vae(VaeConfig::default())),
    ("denoising", || ModelConfig::Denoising(StackedConfig::default())),
    ("sparse", || ModelConfig::Sparse(SparseConfig::default())),
];

impl ModelConfig {
    /// The kind's name, as in `--model` and the config's `kind` field.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelConfig::Stacked(_) => "stacked",
            ModelConfig::Vae(_) => "vae",
            ModelConfig::Denoising(_) => "denoising",
            ModelConfig::Sparse(_) => "sparse",
        }
    }

    /// The kind's own config.
    pub fn as_kind(&self) -> &dyn KindConfig {
        match self {
            ModelConfig::Stacked(c) | ModelConfig::Denoising(c) => c,
            ModelConfig::Vae(c) => c,
            ModelConfig::Sparse(c) => c,
        }
    }

    /// The default config of a kind named on the command line.
    pub fn default_for(kind: &str) -> Option<ModelConfig> {
        PRESETS.iter().find(|(name, _)| *name == kind).map(|(_, make)| make())
    }

    /// Every kind `--model` accepts.
    pub fn kinds() -> Vec<&'static str> {
        PRESETS.iter().map(|(name, _)| *name).collect()
    }

    /// Refuses out-of-range fields, naming them.
    pub fn validate(&self) -> Result<(), ModelError> {
        self.as_kind().validate()
    }

    /// This config, checked: the only form [`crate::build`] takes.
    pub fn check(self) -> Result<Checked, ModelError> {
        self.validate()?;
        Ok(Checked(self))
    }

    /// `(inputs, outputs)` of every dense layer the model will have, for estimating its memory
    /// before building it.
    pub fn layers(&self) -> Vec<(usize, usize)> {
        self.as_kind().layers()
    }

    /// Features per example the model expects.
    pub fn input_dim(&self) -> usize {
        self.as_kind().input_dim()
    }

    /// The likelihood part.
    pub fn likelihood(&self) -> Likelihood {
        self.as_kind().likelihood()
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

/// Implements [`KindConfig`] for a kind's config from its inherent `validate` and `layers`, its
/// `input_dim` field, its likelihood field and its model's `new`.
macro_rules! kind_config {
    ($config:ty => $model:ty, likelihood: $field:ident) => {
        impl KindConfig for $config {
            fn validate(&self) -> Result<(), ModelError> {
                <$config>::validate(self)
            }
            fn layers(&self) -> Vec<(usize, usize)> {
                <$config>::layers(self)
            }
            fn input_dim(&self) -> usize {
                self.input_dim
            }
            fn likelihood(&self) -> Likelihood {
                self.$field
            }
            fn build(&self, vb: VarBuilder) -> Result<Box<dyn Autoencoder>, ModelError> {
                Ok(Box::new(<$model>::new(self, vb)?))
            }
        }
    };
}

kind_config!(StackedConfig => crate::StackedAe, likelihood: loss);
kind_config!(VaeConfig => crate::Vae, likelihood: likelihood);
kind_config!(SparseConfig => crate::SparseAe, likelihood: loss);

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
            ModelConfig::Stacked(stacked),
            ModelConfig::Vae(VaeConfig::default()),
            ModelConfig::Vae(VaeConfig { hidden: vec![300, 100], ..Default::default() }),
            ModelConfig::Vae(VaeConfig { decoder_hidden: Some(vec![64, 32, 16]), ..Default::default() }),
            ModelConfig::Sparse(sparse),
            ModelConfig::Sparse(SparseConfig::default()),
        ] {
            let params = Params::new();
            let checked = cfg.clone().check().unwrap();
            crate::build(&checked, params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu)).unwrap();
            let from_layers: usize = cfg.layers().iter().map(|(i, o)| i * o + o).sum();
            assert_eq!(from_layers, params.count(), "{cfg:?}");
        }
    }
}
