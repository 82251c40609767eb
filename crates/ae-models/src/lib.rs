//! Autoencoders built from parts: a body ([`body`]), a bottleneck ([`bottleneck`]) and a
//! likelihood ([`likelihood`]), put together as one [`ComposedAe`] from a checked config and a
//! `VarBuilder`; it implements [`ae_core::Autoencoder`]. The presets (stacked, denoising, sparse,
//! VAE) are sets of parts, with flat configs of their own; models know nothing of data or
//! training.

//!
//! ```
//! use ae_core::candle::{DType, Device, Tensor};
//! use ae_core::rng::{Purpose, stream};
//! use ae_core::{Autoencoder, Params};
//! use ae_models::{StackedAe, StackedConfig};
//!
//! // A 20-16-4 stacked autoencoder with seeded weights: codes and reconstructions of 3 rows.
//! let params = Params::new();
//! let cfg = StackedConfig { input_dim: 20, hidden: vec![16], code_dim: 4, ..Default::default() };
//! let model = StackedAe::new(&cfg, params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu))?;
//! let xs = Tensor::zeros((3, 20), DType::F32, &Device::Cpu)?;
//! assert_eq!(model.embed(&xs)?.dims(), &[3, 4]);
//! assert_eq!(model.reconstruct(&xs)?.dims(), &[3, 20]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod body;
pub mod bottleneck;
pub mod composed;
pub mod config;
pub mod config_v1;
pub mod conv;
pub mod error;
mod executor;
mod host;
pub mod likelihood;
pub mod mlp;
pub mod sparse;
pub mod sparsity;
pub mod stacked;
pub mod vae;

pub use body::{Body, BodyConfig, DenseBody, DenseBodyConfig};
pub use bottleneck::{Bottleneck, GaussianCode, HostCode, PlainCode, SparseCode};
pub use composed::ComposedAe;
pub use config::{BodySpec, BottleneckSpec, Checked, DenseSpec, GaussianSpec, ModelConfig, PlainSpec, SparseSpec};
pub use config_v1::ModelConfigV1;
pub use conv::{ConvBody, ConvSpec, Norm, Upsample};
pub use error::ModelError;
pub use likelihood::{HostLoss, Likelihood};
pub use sparse::{SparseAe, SparseConfig};
pub use sparsity::Sparsity;
pub use stacked::{StackedAe, StackedConfig};
pub use vae::{Vae, VaeConfig};

use ae_core::Autoencoder;
use candle_nn::VarBuilder;

/// Builds the model a checked config describes (see [`ModelConfig::check`]).
pub fn build(cfg: &Checked, vb: VarBuilder) -> Result<Box<dyn Autoencoder>, ModelError> {
    Ok(Box::new(ComposedAe::build(cfg, vb)?))
}
