//! Named datasets and the data part of a run's config: the bundled `digits`, and MNIST and
//! Fashion-MNIST from a data directory, each read by its [`DataSource`] and split into train,
//! optional validation (carved from train with the seed) and test.

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::classes::ClassRef;
use crate::error::DataError;
use crate::file_source::DataFiles;
use crate::idx_source::{BundledDigits, IdxFolder};
use crate::image_folder::ImageSize;
use crate::loader::RowSource;
use crate::normalize::{Normalization, Normalize, fill_missing};
use crate::shape::SampleShape;
use crate::source::{DataSource, Examples};
use crate::split::{Split, carve_indices};
use crate::stream::{MAX_STREAMED_HOLDOUT, StreamedRows, holdout_fraction};
use crate::table::{Missing, TableOptions};

/// The test fraction carved from `path` when no `test_path` is given.
pub const DEFAULT_TEST_FRACTION: f64 = 0.2;

/// The datasets ae knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetName {
    /// The 10,000 MNIST test digits, bundled: the first 9,000 train, the last 1,000 test.
    #[default]
    Digits,
    /// MNIST: 60,000 training and 10,000 test digits.
    Mnist,
    /// Fashion-MNIST: 60,000 training and 10,000 test images of clothing.
    FashionMnist,
}

impl DatasetName {
    /// Every dataset.
    pub const ALL: [DatasetName; 3] = [DatasetName::Digits, DatasetName::Mnist, DatasetName::FashionMnist];

    /// The name used in configs, on the command line and as the data directory's name.
    pub fn name(self) -> &'static str {
        match self {
            DatasetName::Digits => "digits",
            DatasetName::Mnist => "mnist",
            DatasetName::FashionMnist => "fashion-mnist",
        }
    }

    /// The data directory used when none is given: `data/<name>`.
    pub fn default_dir(self) -> PathBuf {
        Path::new("data").join(self.name())
    }

    /// Class names, for legends.
    pub fn class_names(self) -> [&'static str; 10] {
        match self {
            DatasetName::Digits | DatasetName::Mnist => ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
            DatasetName::FashionMnist => [
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ],
        }
    }
}

impl std::str::FromStr for DatasetName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        DatasetName::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| format!("unknown dataset {s:?}; expected one of digits, mnist, fashion-mnist"))
    }
}

impl std::fmt::Display for DatasetName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The data part of a run's config: a named dataset, or the user's own files (`path`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// Which dataset (unused when `path` is set).
    pub dataset: DatasetName,
    /// The user's own data: a table, an array file, a folder of array shards or of images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// The test data for `path`; without it a test split is carved from `path`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_path: Option<PathBuf>,
    /// Fraction of `path` carved out for testing when there is no `test_path` [default 0.2].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_fraction: Option<f64>,
    /// How a table is read.
    #[serde(skip_serializing_if = "TableOptions::is_default")]
    pub table: TableOptions,
    /// The array to read from an `.npz` or `.safetensors` file holding several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tensor: Option<String>,
    /// Arrays: stream the training rows from disk (`true`), hold them in memory (`false`), or
    /// stream when the files exceed [`crate::stream::STREAM_ABOVE`] (absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Images: 1 (grey) or 3 (colour); the folder's own when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<usize>,
    /// Images: crop about the centre to this aspect ratio and resize; refuse mixed sizes when
    /// absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_size: Option<ImageSize>,
    /// The normalisation fitted on the training rows; the source's own when absent (standard for
    /// tables, none for images and arrays).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalize: Option<Normalize>,
    /// Where its files are; `data/<name>` when absent. Unused for `digits`.
    pub data_dir: Option<PathBuf>,
    /// Fraction of the training split held out for validation (early stopping, `best`).
    pub val_fraction: f64,
    /// Use only the first N training examples (before the validation split).
    pub train_limit: Option<usize>,
    /// Use only the first N test examples.
    pub test_limit: Option<usize>,
    /// Train and validate on this class alone (the one-class protocol of anomaly detection: the
    /// model learns what "normal" looks like); the test split keeps every class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_class: Option<ClassRef>,
    /// The shape of one example, recorded by `ae train` from the data it read, so later commands
    /// read new images (`denoise`, `compress`) as training did; not needed in a config you write.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<SampleShape>,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            dataset: DatasetName::Digits,
            data_dir: None,
            path: None,
            test_path: None,
            test_fraction: None,
            table: TableOptions::default(),
            tensor: None,
            stream: None,
            channels: None,
            image_size: None,
            normalize: None,
            val_fraction: 0.1,
            train_limit: None,
            test_limit: None,
            train_class: None,
            sample: None,
        }
    }
}

impl DataConfig {
    /// Refuses out-of-range settings, naming the field.
    pub fn validate(&self) -> Result<(), DataError> {
        if !(self.val_fraction.is_finite() && (0.0..0.5).contains(&self.val_fraction)) {
            return Err(DataError::InvalidConfig {
                field: "val_fraction",
                value: self.val_fraction.to_string(),
                expected: "a number in [0, 0.5)".into(),
            });
        }
        if let Some(f) = self.test_fraction
            && !(f.is_finite() && f > 0.0 && f < 1.0)
        {
            return Err(DataError::InvalidConfig {
                field: "test_fraction",
                value: f.to_string(),
                expected: "a number in (0, 1)".into(),
            });
        }
        if let Some(c) = self.channels
            && c != 1
            && c != 3
        {
            return Err(DataError::InvalidConfig {
                field: "channels",
                value: c.to_string(),
                expected: "1 or 3".into(),
            });
        }
        for (field, v) in [("train_limit", self.train_limit), ("test_limit", self.test_limit)] {
            if v == Some(0) {
                return Err(DataError::InvalidConfig { field, value: "0".into(), expected: "at least 1".into() });
            }
        }
        Ok(())
    }

    /// The directory the dataset's files are read from.
    pub fn dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| self.dataset.default_dir())
    }

    /// The data as reports name it: the dataset's name, or the file's path.
    pub fn name(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => self.dataset.name().to_string(),
        }
    }

    /// Where the examples come from: the one place a data source is chosen (`seed` carves a
    /// test split from data that has none).
    pub fn source(&self, seed: u64) -> Box<dyn DataSource> {
        if let Some(path) = &self.path {
            return Box::new(DataFiles {
                path: path.clone(),
                test_path: self.test_path.clone(),
                test_fraction: self.test_fraction.unwrap_or(DEFAULT_TEST_FRACTION),
                seed,
                cfg: self.clone(),
            });
        }
        match self.dataset {
            DatasetName::Digits => Box::new(BundledDigits),
            DatasetName::Mnist | DatasetName::FashionMnist => {
                Box::new(IdxFolder { dataset: self.dataset, dir: self.dir() })
            }
        }
    }
}

/// A loaded dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// What it is, for messages: a dataset's name or the data's path.
    pub name: String,
    /// What one example is.
    pub shape: SampleShape,
    /// Class names, indexed by label; empty when the examples have no labels.
    pub classes: Vec<String>,
    /// Training examples (validation removed).
    pub train: Split,
    /// Validation examples, when `val_fraction > 0`.
    pub val: Option<Split>,
    /// Test examples.
    pub test: Split,
    /// The features' names (a table's columns), empty where they have none.
    pub feature_names: Vec<String>,
    /// The statistics every split was normalised with; `None` when values are as read.
    pub normalization: Option<Normalization>,
    /// The class training was restricted to (`train_class`, resolved).
    pub train_class: Option<u32>,
    /// What each test example is called (a file path, a table line); empty where examples are
    /// known by their index.
    pub test_names: Vec<String>,
    /// The training rows when they stream from disk; `train` then holds only the last
    /// [`crate::stream::MAX_STREAMED_HOLDOUT`] of them, for reports.
    pub train_stream: Option<StreamedRows>,
}

impl Dataset {
    /// Loads the dataset `cfg` names onto `dev`, carving validation out of training with `seed`
    /// and fitting the normalisation on the training rows.
    pub fn load(cfg: &DataConfig, seed: u64, dev: &Device) -> Result<Dataset, DataError> {
        Self::load_with(cfg, seed, dev, None)
    }

    /// As [`load`](Self::load), normalising with `fitted` (a run's saved statistics) instead of
    /// fitting anew, so later commands see what training saw.
    pub fn load_with(
        cfg: &DataConfig,
        seed: u64,
        dev: &Device,
        fitted: Option<&Normalization>,
    ) -> Result<Dataset, DataError> {
        cfg.validate()?;
        let examples = cfg.source(seed).load(dev)?;
        if let Some(stream) = examples.train_stream.clone() {
            return Self::streamed(cfg, seed, fitted, examples, stream);
        }
        let Examples { shape, classes, train, test, feature_names, normalize, mut test_names, .. } = examples;
        let train_class = match &cfg.train_class {
            None => None,
            Some(c) => Some(c.resolve(&classes).ok_or_else(|| DataError::InvalidConfig {
                field: "train_class",
                value: c.to_string(),
                expected: ClassRef::expected(&classes),
            })?),
        };
        let train = match train_class {
            Some(c) => train.only_class(c)?,
            None => train,
        };
        let train = match cfg.train_limit {
            Some(n) => train.head(n)?,
            None => train,
        };
        let test = match cfg.test_limit {
            Some(n) => test.head(n)?,
            None => test,
        };
        test_names.truncate(test.len());
        let (train, val) = train.carve(cfg.val_fraction, seed)?;
        // `--missing mean`: the training rows' means fill missing cells everywhere, unless the
        // run saved its own.
        let fill = match fitted {
            Some(n) if !n.fill.is_empty() => n.fill.clone(),
            _ if cfg.table.missing == Missing::Mean => Normalization::fill_of(&train, &feature_names)?,
            _ => Vec::new(),
        };
        let normalization = match fitted {
            Some(n) => Some(Normalization { fill, ..n.clone() }),
            None => match cfg.normalize.unwrap_or(normalize) {
                Normalize::None if fill.is_empty() => None,
                kind => {
                    let filled = Split::new(fill_missing(&train.images, &fill)?, train.labels.clone())?;
                    Some(Normalization { fill, ..Normalization::fit(kind, &filled)? })
                }
            },
        };
        let (train, val, test) = match &normalization {
            Some(n) => (n.apply(train)?, val.map(|v| n.apply(v)).transpose()?, n.apply(test)?),
            None => (train, val, test),
        };
        Ok(Dataset {
            name: cfg.name(),
            shape,
            classes,
            train,
            val,
            test,
            feature_names,
            normalization,
            train_class,
            test_names,
            train_stream: None,
        })
    }

    /// The rest of [`load_with`](Self::load_with) for training rows that stream: limits, a
    /// validation carve of at most [`crate::stream::MAX_STREAMED_HOLDOUT`] rows read into memory,
    /// and normalisation fitted in one pass over the files and applied as rows are read.
    fn streamed(
        cfg: &DataConfig,
        seed: u64,
        fitted: Option<&Normalization>,
        examples: Examples,
        stream: StreamedRows,
    ) -> Result<Dataset, DataError> {
        if let Some(c) = &cfg.train_class {
            return Err(DataError::InvalidConfig {
                field: "train_class",
                value: c.to_string(),
                expected: "no class: streamed arrays have no labels".into(),
            });
        }
        let stream = match cfg.train_limit {
            Some(n) if n < stream.len() => stream.subset(&(0..n as u32).collect::<Vec<_>>()),
            _ => stream,
        };
        let test = match cfg.test_limit {
            Some(n) => examples.test.head(n)?,
            None => examples.test,
        };
        let mut test_names = examples.test_names;
        test_names.truncate(test.len());
        let n = stream.len();
        let (kept, carved) = carve_indices(n, holdout_fraction(n, cfg.val_fraction), seed, 0);
        let normalization = match fitted {
            Some(f) => Some(f.clone()),
            None => match cfg.normalize.unwrap_or(examples.normalize) {
                Normalize::None => None,
                kind => Some(stream.subset(&kept).fit(kind)?),
            },
        };
        let stream = stream.normalized(normalization.clone());
        let d = stream.features();
        let dev = stream.device().clone();
        let val = if carved.is_empty() {
            None
        } else {
            Some(Split::new(Tensor::from_vec(stream.read(&carved)?, (carved.len(), d), &dev)?, None)?)
        };
        let train_stream = if carved.is_empty() { stream } else { stream.subset(&kept) };
        let window: Vec<u32> =
            (train_stream.len().saturating_sub(MAX_STREAMED_HOLDOUT) as u32..train_stream.len() as u32).collect();
        let train = Split::new(Tensor::from_vec(train_stream.read(&window)?, (window.len(), d), &dev)?, None)?;
        let test = match &normalization {
            Some(n) => n.apply(test)?,
            None => test,
        };
        Ok(Dataset {
            name: cfg.name(),
            shape: examples.shape,
            classes: Vec::new(),
            train,
            val,
            test,
            feature_names: Vec::new(),
            normalization,
            train_class: None,
            test_names,
            train_stream: Some(train_stream),
        })
    }

    /// Every training row: streamed from disk, or the in-memory split.
    pub fn training_rows(&self) -> &dyn RowSource {
        match &self.train_stream {
            Some(s) => s,
            None => &self.train,
        }
    }

    /// What test example `i` is called: its name where the data gives one, else its index.
    pub fn test_name(&self, i: usize) -> String {
        self.test_names.get(i).cloned().unwrap_or_else(|| i.to_string())
    }

    /// The name of class `label`, or the label itself where the data names no classes.
    pub fn class_name(&self, label: u32) -> String {
        self.classes.get(label as usize).cloned().unwrap_or_else(|| label.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Tensor;

    #[test]
    fn digits_are_bundled_and_split_9000_1000() {
        let cfg = DataConfig { val_fraction: 0.0, ..Default::default() };
        let d = Dataset::load(&cfg, 0, &Device::Cpu).unwrap();
        assert_eq!((d.train.len(), d.test.len()), (9000, 1000));
        assert!(d.val.is_none());
        assert_eq!(d.train.images.dims(), [9000, 784]);
        // The first MNIST test digit is a 7, the last a 6.
        let (train, test) = (d.train.labels.as_ref().unwrap(), d.test.labels.as_ref().unwrap());
        assert_eq!((train[0], test[999]), (7, 6));
        assert_eq!(d.shape, SampleShape::grey(28, 28));
        assert_eq!(d.classes.len(), 10);
        let px = d.test.images.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let (lo, hi) = px.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &p| (lo.min(p), hi.max(p)));
        assert_eq!((lo, hi), (0.0, 1.0));
    }

    #[test]
    fn validation_is_carved_with_the_seed() {
        let cfg = DataConfig { val_fraction: 0.1, train_limit: Some(1000), ..Default::default() };
        let a = Dataset::load(&cfg, 1, &Device::Cpu).unwrap();
        let b = Dataset::load(&cfg, 1, &Device::Cpu).unwrap();
        let c = Dataset::load(&cfg, 2, &Device::Cpu).unwrap();
        let (va, vb, vc) = (a.val.unwrap(), b.val.unwrap(), c.val.unwrap());
        assert_eq!((a.train.len(), va.len()), (900, 100));
        assert_eq!(va.labels, vb.labels);
        let sum = |s: &Split| s.images.sum_all().unwrap().to_scalar::<f32>().unwrap();
        assert_eq!(sum(&va), sum(&vb));
        assert_ne!(sum(&va), sum(&vc));
        assert!((sum(&va) + sum(&a.train) - sum(&c.train) - sum(&vc)).abs() < 1.0, "a partition of the same 1000");
    }

    #[test]
    fn missing_files_list_names_and_remedies() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = DataConfig {
            dataset: DatasetName::FashionMnist,
            data_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        let err = Dataset::load(&cfg, 0, &Device::Cpu).unwrap_err().to_string();
        for want in [
            "fashion-mnist: train-images-idx3-ubyte[.gz] not found in",
            "t10k-labels-idx1-ubyte",
            "cargo xtask download fashion-mnist",
            "dataset-fashion-mnist",
            "--data-dir",
        ] {
            assert!(err.contains(want), "{want:?} missing from {err}");
        }
    }

    #[test]
    fn one_class_training_keeps_every_test_class() {
        let cfg = DataConfig { train_class: Some(ClassRef::Name("3".into())), ..Default::default() };
        let d = Dataset::load(&cfg, 0, &Device::Cpu).unwrap();
        let val = d.val.as_ref().unwrap();
        let (train, val_labels) = (d.train.labels.as_ref().unwrap(), val.labels.as_ref().unwrap());
        assert!(train.iter().chain(val_labels).all(|&l| l == 3));
        // The bundled digits hold 9,000 training digits, about a tenth of them threes.
        assert!((800..1000).contains(&(d.train.len() + val.len())), "{}", d.train.len() + val.len());
        assert_eq!(d.test.len(), 1000);
        assert!((0..10).all(|c| d.test.labels.as_ref().unwrap().contains(&c)));
    }

    #[test]
    fn in_memory_examples_split_with_or_without_labels() {
        let rows = Tensor::from_vec((0..40).map(|i| i as f32).collect::<Vec<_>>(), (20, 2), &Device::Cpu).unwrap();
        let unlabelled = Split::new(rows.clone(), None).unwrap();
        let (train, val) = unlabelled.carve(0.25, 3).unwrap();
        let val = val.unwrap();
        assert_eq!((train.len(), val.len(), train.labels.is_none()), (15, 5, true));
        let err = train.only_class(0).unwrap_err().to_string();
        assert_eq!(err, "choosing one class needs labels, and these examples have none");
        let err = Split::new(rows.narrow(0, 0, 4).unwrap(), Some(vec![0])).unwrap_err().to_string();
        assert_eq!(err, "Split::new: 1 labels for 4 rows; expected one label per row");
        let labelled = Split::new(rows, Some((0..20).map(|i| i % 4).collect())).unwrap();
        let threes = labelled.only_class(3).unwrap();
        assert_eq!(threes.labels.as_deref(), Some(&[3u32; 5][..]));
        assert_eq!(threes.images.to_vec2::<f32>().unwrap()[0], [6.0, 7.0]);
    }

    #[test]
    fn bad_settings_are_refused() {
        for (cfg, want) in [
            (DataConfig { val_fraction: 0.7, ..Default::default() }, "data.val_fraction: 0.7 is invalid"),
            (DataConfig { val_fraction: f64::NAN, ..Default::default() }, "data.val_fraction: NaN is invalid"),
            (DataConfig { train_limit: Some(0), ..Default::default() }, "data.train_limit: 0 is invalid"),
            (
                DataConfig { train_class: Some(ClassRef::Index(10)), ..Default::default() },
                "data.train_class: 10 is invalid; expected a class from 0 to 9",
            ),
        ] {
            let err = Dataset::load(&cfg, 0, &Device::Cpu).unwrap_err().to_string();
            assert!(err.starts_with(want), "{err}");
        }
    }
}
