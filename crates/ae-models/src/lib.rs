//! The kinds of autoencoder. Each lives in its own module, is built from a checked config and a
//! `VarBuilder`, and implements [`ae_core::Autoencoder`]; models know nothing of data or training.

pub mod config;
pub mod error;
mod host;
pub mod likelihood;
pub mod mlp;
pub mod sparse;
mod sparse_fused;
pub mod sparsity;
pub mod stacked;
pub mod vae;
mod vae_fused;

pub use config::ModelConfig;
pub use error::ModelError;
pub use likelihood::Likelihood;
pub use sparse::{SparseAe, SparseConfig};
pub use sparsity::Sparsity;
pub use stacked::{StackedAe, StackedConfig};
pub use vae::{Vae, VaeConfig};

use ae_core::Autoencoder;
use candle_nn::VarBuilder;

/// Builds the model a config describes, after validating the config.
pub fn build(cfg: &ModelConfig, vb: VarBuilder) -> Result<Box<dyn Autoencoder>, ModelError> {
    match cfg {
        ModelConfig::Stacked(c) | ModelConfig::Denoising(c) => Ok(Box::new(StackedAe::new(c, vb)?)),
        ModelConfig::Vae(c) => Ok(Box::new(Vae::new(c, vb)?)),
        ModelConfig::Sparse(c) => Ok(Box::new(SparseAe::new(c, vb)?)),
    }
}
