//! Datasets for ae: the [`DataSource`] seam and its IDX sources (the bundled `digits` set, MNIST
//! and Fashion-MNIST from a data directory), examples that know their [`SampleShape`] and may have
//! labels of any number of classes, in-memory splits ([`Split::new`], [`Split::carve`]), seeded
//! batching and the noise models of denoising autoencoders. Pixels are scaled to [0, 1] and each
//! split is held on the device as one tensor. This crate does no network I/O: `cargo xtask
//! download` fetches files.

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
pub mod idx_source;
pub mod loader;
pub mod noise;
pub mod shape;
pub mod source;
pub mod split;

pub use dataset::{DataConfig, Dataset, DatasetName};
pub use error::DataError;
pub use idx_source::{BundledDigits, DIGITS_TRAIN, IdxFolder};
pub use loader::{EVAL_NOISE_STREAM, Loader};
pub use noise::Noise;
pub use shape::SampleShape;
pub use source::{DataSource, Examples};
pub use split::Split;
