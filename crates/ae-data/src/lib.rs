//! Datasets for ae: the IDX reader, the bundled `digits` set, MNIST and Fashion-MNIST from a data
//! directory, validation splits, seeded batching and the noise models of denoising autoencoders. Pixels are scaled to [0, 1] and each split is
//! held on the device as one tensor. This crate does no network I/O: `cargo xtask download` fetches
//! files.

//!
//! ```
//! use ae_data::{DataConfig, Dataset};
//!
//! // The bundled digits, no files needed: 100 training images (10% of them carved out for
//! // validation) and 10 test images, 784 pixels each.
//! let cfg = DataConfig { train_limit: Some(100), test_limit: Some(10), ..Default::default() };
//! let data = Dataset::load(&cfg, 0, &ae_core::candle::Device::Cpu)?;
//! assert_eq!((data.train.len(), data.test.len(), data.train.features()), (90, 10, 784));
//! # Ok::<(), ae_data::error::DataError>(())
//! ```

pub mod dataset;
pub mod error;
pub mod idx;
pub mod loader;
pub mod noise;

pub use dataset::{DataConfig, Dataset, DatasetName, Split};
pub use error::DataError;
pub use loader::{EVAL_NOISE_STREAM, Loader};
pub use noise::Noise;
