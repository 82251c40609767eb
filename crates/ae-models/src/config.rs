//! The model part of a run's config: one variant per kind, selected by its `kind` field.

use serde::{Deserialize, Serialize};

use crate::stacked::StackedConfig;

/// Which autoencoder to build, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ModelConfig {
    /// A fully-connected encoder and decoder.
    Stacked(StackedConfig),
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
        }
    }

    /// The default config of a kind named on the command line.
    pub fn default_for(kind: &str) -> Option<ModelConfig> {
        match kind {
            "stacked" => Some(ModelConfig::Stacked(StackedConfig::default())),
            _ => None,
        }
    }

    /// Every kind `--model` accepts.
    pub const KINDS: [&'static str; 1] = ["stacked"];

    /// Features per example the model expects.
    pub fn input_dim(&self) -> usize {
        match self {
            ModelConfig::Stacked(c) => c.input_dim,
        }
    }
}
