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

    /// Features per example the model expects.
    pub fn input_dim(&self) -> usize {
        match self {
            ModelConfig::Stacked(c) | ModelConfig::Denoising(c) => c.input_dim,
            ModelConfig::Vae(c) => c.input_dim,
            ModelConfig::Sparse(c) => c.input_dim,
        }
    }
}
