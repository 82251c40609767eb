//! The model section of format-1 configs, which named a kind with flat fields (`{"kind":
//! "stacked", "hidden": [...], "code_dim": 64, "loss": "bce", ...}`): read only, then upgraded to
//! the parts of [`ModelConfig`].

use serde::Deserialize;

use crate::config::ModelConfig;
use crate::sparse::SparseConfig;
use crate::stacked::StackedConfig;
use crate::vae::VaeConfig;

/// A format-1 model section.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ModelConfigV1 {
    /// A fully-connected encoder and decoder.
    Stacked(StackedConfig),
    /// A variational autoencoder.
    Vae(VaeConfig),
    /// The stacked model trained on corrupted inputs.
    Denoising(StackedConfig),
    /// A sparse autoencoder.
    Sparse(SparseConfig),
}

impl From<ModelConfigV1> for ModelConfig {
    fn from(old: ModelConfigV1) -> Self {
        match old {
            ModelConfigV1::Stacked(c) => c.into(),
            ModelConfigV1::Vae(c) => c.into(),
            ModelConfigV1::Denoising(c) => ModelConfig { preset: Some("denoising".into()), ..c.into() },
            ModelConfigV1::Sparse(c) => c.into(),
        }
    }
}
