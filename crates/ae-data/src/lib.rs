//! Datasets for ae: the [`DataSource`] seam and its sources (the bundled `digits` set, MNIST
//! and Fashion-MNIST from a data directory, and the user's own tables, arrays and image folders
//! through [`DataFiles`]), normalisation fitted on the training rows, examples that know their [`SampleShape`] and may have
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

pub mod array;
pub mod classes;
pub mod dataset;
pub mod error;
pub mod file_source;
pub mod idx;
pub mod idx_source;
pub mod image_folder;
pub mod loader;
pub mod mapped;
pub mod noise;
pub mod normalize;
pub mod shape;
pub mod source;
pub mod split;
pub mod stream;
pub mod table;

pub use classes::ClassRef;
pub use dataset::{DEFAULT_TEST_FRACTION, DataConfig, Dataset, DatasetName};
pub use error::DataError;
pub use file_source::{DataFiles, RowReader, Rows};
pub use idx_source::{BundledDigits, DIGITS_TRAIN, IdxFolder};
pub use image_folder::ImageSize;
pub use loader::{EVAL_NOISE_STREAM, Loader, RowSource};
pub use noise::Noise;
pub use normalize::{Normalization, Normalize};
pub use shape::SampleShape;
pub use source::{DataSource, Examples};
pub use split::Split;
pub use stream::StreamedRows;
pub use table::{Missing, TableOptions};
