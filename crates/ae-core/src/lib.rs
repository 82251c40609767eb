//! The bottom layer of ae: the [`Autoencoder`] trait, batches and loss parts, numerically stable
//! reconstruction losses, activations, seeded random streams, seeded parameter initialisation and
//! device selection. Every other crate builds on these; this crate knows nothing of data or training.

pub mod activation;
pub mod autoencoder;
pub mod device;
pub mod error;
pub mod fused;
pub mod gaussian;
pub mod init;
pub mod loss;
pub mod params;
pub mod rng;

pub use activation::Activation;
pub use autoencoder::{Autoencoder, Batch, LossParts, LossValues, StepContext};
pub use device::DeviceSpec;
pub use error::CoreError;
pub use gaussian::Gaussian;
pub use loss::ReconLoss;
pub use params::Params;
pub use rng::{Purpose, SeededRng};

/// Re-exported so downstream crates name one candle.
pub use candle_core as candle;
pub use candle_nn;
