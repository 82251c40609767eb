//! Datasets for ae: the IDX reader, the bundled `digits` set, MNIST and Fashion-MNIST from a data
//! directory, validation splits, seeded batching and the noise models of denoising autoencoders. Pixels are scaled to [0, 1] and each split is
//! held on the device as one tensor. This crate does no network I/O: `cargo xtask download` fetches
//! files.

pub mod dataset;
pub mod error;
pub mod idx;
pub mod loader;
pub mod noise;

pub use dataset::{DataConfig, Dataset, DatasetName, Split};
pub use error::DataError;
pub use loader::{EVAL_NOISE_STREAM, Loader};
pub use noise::Noise;
