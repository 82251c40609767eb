//! The seam every kind of data comes in through: a [`DataSource`] reads its examples, their
//! shape and their class names; [`crate::Dataset::load`] then applies what every run does to any
//! source (one-class training, limits, the validation carve). A new kind of data is one new
//! file implementing the trait plus one line in [`crate::DataConfig::source`].

use candle_core::Device;

use crate::error::DataError;
use crate::normalize::Normalize;
use crate::shape::SampleShape;
use crate::split::Split;

/// Every example a source holds, split into train and test as the source defines them.
#[derive(Debug, Clone)]
pub struct Examples {
    /// What one example is.
    pub shape: SampleShape,
    /// Class names, indexed by label; empty when the examples have no labels.
    pub classes: Vec<String>,
    /// Training examples.
    pub train: Split,
    /// Test examples.
    pub test: Split,
    /// The features' names (a table's columns), empty where they have none.
    pub feature_names: Vec<String>,
    /// The normalisation these examples get when the config names none.
    pub normalize: Normalize,
    /// What each test example is called in reports (a file path, a table line); empty where
    /// examples are known by their index.
    pub test_names: Vec<String>,
    /// Training rows streamed from disk instead of held in `train` (which is then empty).
    pub train_stream: Option<crate::stream::StreamedRows>,
}

/// Where examples come from.
pub trait DataSource {
    /// The source as messages and reports name it (a dataset's name, a folder).
    fn describe(&self) -> String;

    /// Reads every example onto `dev`, checking the files as untrusted input.
    fn load(&self, dev: &Device) -> Result<Examples, DataError>;
}
