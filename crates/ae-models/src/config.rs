//! The model part of a run's config: one variant per kind, selected by its `kind` field.

use serde::{Deserialize, Serialize};

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

impl ModelConfig {
    /// The kind's name, as in `--model`.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelConfig::Stacked(_) => "stacked",
            ModelConfig::Vae(_) => "vae",
            ModelConfig::Denoising(_) => "denoising",
            ModelConfig::Sparse(_) => "sparse",
        }
    }

    /// The default config of a kind named on the command line.
    pub fn default_for(kind: &str) -> Option<ModelConfig> {
        match kind {
            "stacked" => Some(ModelConfig::Stacked(StackedConfig::default())),
            "vae" => Some(ModelConfig::Vae(VaeConfig::default())),
            "denoising" => Some(ModelConfig::Denoising(StackedConfig::default())),
            "sparse" => Some(ModelConfig::Sparse(SparseConfig::default())),
            _ => None,
        }
    }

    /// Every kind `--model` accepts.
    pub const KINDS: [&'static str; 4] = ["stacked", "vae", "denoising", "sparse"];

    /// Refuses out-of-range fields, naming them.
    pub fn validate(&self) -> Result<(), crate::ModelError> {
        match self {
            ModelConfig::Stacked(c) | ModelConfig::Denoising(c) => c.validate(),
            ModelConfig::Vae(c) => c.validate(),
            ModelConfig::Sparse(c) => c.validate(),
        }
    }

    /// `(inputs, outputs)` of every dense layer the model will have, for estimating its memory
    /// before building it.
    pub fn layers(&self) -> Vec<(usize, usize)> {
        match self {
            ModelConfig::Stacked(c) | ModelConfig::Denoising(c) => c.layers(),
            ModelConfig::Vae(c) => c.layers(),
            ModelConfig::Sparse(c) => c.layers(),
        }
    }

    /// Features per example the model expects.
    pub fn input_dim(&self) -> usize {
        match self {
            ModelConfig::Stacked(c) | ModelConfig::Denoising(c) => c.input_dim,
            ModelConfig::Vae(c) => c.input_dim,
            ModelConfig::Sparse(c) => c.input_dim,
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
            ModelConfig::Stacked(stacked),
            ModelConfig::Vae(VaeConfig::default()),
            ModelConfig::Vae(VaeConfig { hidden: vec![300, 100], ..Default::default() }),
            ModelConfig::Vae(VaeConfig { decoder_hidden: Some(vec![64, 32, 16]), ..Default::default() }),
            ModelConfig::Sparse(sparse),
            ModelConfig::Sparse(SparseConfig::default()),
        ] {
            let params = Params::new();
            crate::build(&cfg, params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu)).unwrap();
            let from_layers: usize = cfg.layers().iter().map(|(i, o)| i * o + o).sum();
            assert_eq!(from_layers, params.count(), "{cfg:?}");
        }
    }
}
