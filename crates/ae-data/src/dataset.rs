//! Named datasets: the bundled `digits` and MNIST and Fashion-MNIST from a data directory, split
//! into train, optional validation (carved from train with the seed) and test, each held on the
//! device as one `(n, 784)` f32 tensor with pixels in [0, 1].

use std::path::{Path, PathBuf};

use ae_core::rng::{self, Purpose};
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::DataError;
use crate::idx::{self, IMAGES_MAGIC, IdxArray, LABELS_MAGIC};

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

/// The data part of a run's config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// Which dataset.
    pub dataset: DatasetName,
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
    pub train_class: Option<u8>,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            dataset: DatasetName::Digits,
            data_dir: None,
            val_fraction: 0.1,
            train_limit: None,
            test_limit: None,
            train_class: None,
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
        if let Some(c) = self.train_class
            && c > 9
        {
            return Err(DataError::InvalidConfig {
                field: "train_class",
                value: c.to_string(),
                expected: "a class from 0 to 9".into(),
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
}

/// Examples of one split.
#[derive(Debug, Clone)]
pub struct Split {
    /// `(n, features)` f32 in [0, 1], on the run's device.
    pub images: Tensor,
    /// One class per example.
    pub labels: Vec<u8>,
}

impl Split {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the split holds no example.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Features per example.
    pub fn features(&self) -> usize {
        self.images.dims().get(1).copied().unwrap_or(0)
    }

    /// The first `n` examples (all if fewer).
    pub fn head(&self, n: usize) -> Result<Split, DataError> {
        let n = n.min(self.len());
        Ok(Split { images: self.images.narrow(0, 0, n)?, labels: self.labels[..n].to_vec() })
    }

    /// The last `n` examples (all of them if there are fewer).
    pub fn tail(&self, n: usize) -> Result<Split, DataError> {
        let n = n.min(self.len());
        let start = self.len() - n;
        Ok(Split { images: self.images.narrow(0, start, n)?, labels: self.labels[start..].to_vec() })
    }

    /// The examples of class `c`, in their order.
    pub fn only_class(&self, c: u8) -> Result<Split, DataError> {
        let idx: Vec<u32> = (0..self.len() as u32).filter(|&i| self.labels[i as usize] == c).collect();
        self.select(&idx)
    }

    fn select(&self, idx: &[u32]) -> Result<Split, DataError> {
        let t = Tensor::from_slice(idx, idx.len(), self.images.device())?;
        Ok(Split {
            images: self.images.index_select(&t, 0)?,
            labels: idx.iter().map(|&i| self.labels[i as usize]).collect(),
        })
    }
}

/// A loaded dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Which one.
    pub name: DatasetName,
    /// Image height and width.
    pub image_shape: (usize, usize),
    /// Training examples (validation removed).
    pub train: Split,
    /// Validation examples, when `val_fraction > 0`.
    pub val: Option<Split>,
    /// Test examples.
    pub test: Split,
}

const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

const DIGITS_IMAGES: &[u8] = include_bytes!("../data/digits/t10k-images-idx3-ubyte.gz");
const DIGITS_LABELS: &[u8] = include_bytes!("../data/digits/t10k-labels-idx1-ubyte.gz");
/// How many of the bundled digits train; the rest test.
pub const DIGITS_TRAIN: usize = 9000;

impl Dataset {
    /// Loads the dataset `cfg` names onto `dev`, carving validation out of training with `seed`.
    pub fn load(cfg: &DataConfig, seed: u64, dev: &Device) -> Result<Dataset, DataError> {
        cfg.validate()?;
        let (train, test) = match cfg.dataset {
            DatasetName::Digits => {
                let src = Path::new("digits (bundled MNIST t10k)");
                let all = split_from(
                    idx::read(DIGITS_IMAGES, src, IMAGES_MAGIC)?,
                    src,
                    idx::read(DIGITS_LABELS, src, LABELS_MAGIC)?,
                    src,
                    dev,
                )?;
                let test = Split {
                    images: all.images.narrow(0, DIGITS_TRAIN, all.len() - DIGITS_TRAIN)?,
                    labels: all.labels[DIGITS_TRAIN..].to_vec(),
                };
                (all.head(DIGITS_TRAIN)?, test)
            }
            DatasetName::Mnist | DatasetName::FashionMnist => {
                let dir = cfg.dir();
                let files = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS]
                    .map(|name| idx::find(&dir, name).ok_or(name));
                if let Some(Err(missing)) = files.iter().find(|f| f.is_err()) {
                    return Err(missing_files(cfg.dataset, &dir, missing));
                }
                let [Ok(tri), Ok(trl), Ok(tei), Ok(tel)] = files else { unreachable!("every file was found above") };
                let train = split_from(
                    idx::read_file(&tri, IMAGES_MAGIC)?,
                    &tri,
                    idx::read_file(&trl, LABELS_MAGIC)?,
                    &trl,
                    dev,
                )?;
                let test = split_from(
                    idx::read_file(&tei, IMAGES_MAGIC)?,
                    &tei,
                    idx::read_file(&tel, LABELS_MAGIC)?,
                    &tel,
                    dev,
                )?;
                (train, test)
            }
        };
        let train = match cfg.train_class {
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
        let (train, val) = carve_validation(train, cfg.val_fraction, seed)?;
        Ok(Dataset { name: cfg.dataset, image_shape: (28, 28), train, val, test })
    }
}

fn missing_files(dataset: DatasetName, dir: &Path, missing: &str) -> DataError {
    DataError::MissingFiles {
        dataset: dataset.name(),
        dir: dir.to_path_buf(),
        missing: format!("{missing}[.gz]"),
        expected: format!("{TRAIN_IMAGES}, {TRAIN_LABELS}, {TEST_IMAGES}, {TEST_LABELS} (each raw or .gz)"),
        extra: match dataset {
            DatasetName::FashionMnist => {
                " (or, on Debian, `apt-get install dataset-fashion-mnist` and --data-dir /usr/share/datasets/fashion-mnist)"
            }
            _ => "",
        },
    }
}

/// Checks an image file against its label file and scales pixels to [0, 1] on `dev`.
fn split_from(
    images: IdxArray,
    ipath: &Path,
    labels: IdxArray,
    lpath: &Path,
    dev: &Device,
) -> Result<Split, DataError> {
    let (n, rows, cols) = (images.dims[0], images.dims[1], images.dims[2]);
    if (rows, cols) != (28, 28) {
        return Err(DataError::ImageSize {
            path: ipath.to_path_buf(),
            rows,
            cols,
            expected_rows: 28,
            expected_cols: 28,
        });
    }
    if labels.dims[0] != n {
        return Err(DataError::CountMismatch {
            images: ipath.to_path_buf(),
            n_images: n,
            labels: lpath.to_path_buf(),
            n_labels: labels.dims[0],
        });
    }
    if let Some((index, &label)) = labels.data.iter().enumerate().find(|(_, l)| **l > 9) {
        return Err(DataError::LabelOutOfRange { path: lpath.to_path_buf(), label, index, max: 9 });
    }
    let pixels: Vec<f32> = images.data.iter().map(|&p| f32::from(p) / 255.0).collect();
    Ok(Split { images: Tensor::from_vec(pixels, (n, rows * cols), dev)?, labels: labels.data })
}

/// Moves a seeded random `fraction` of `train` into a validation split (both keep file order).
fn carve_validation(train: Split, fraction: f64, seed: u64) -> Result<(Split, Option<Split>), DataError> {
    let n_val = (train.len() as f64 * fraction).round() as usize;
    if n_val == 0 {
        return Ok((train, None));
    }
    let order = rng::permutation(&mut rng::stream(seed, Purpose::Split, 0), train.len());
    let mut val_idx = order[..n_val].to_vec();
    let mut train_idx = order[n_val..].to_vec();
    val_idx.sort_unstable();
    train_idx.sort_unstable();
    Ok((train.select(&train_idx)?, Some(train.select(&val_idx)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_bundled_and_split_9000_1000() {
        let cfg = DataConfig { val_fraction: 0.0, ..Default::default() };
        let d = Dataset::load(&cfg, 0, &Device::Cpu).unwrap();
        assert_eq!((d.train.len(), d.test.len()), (9000, 1000));
        assert!(d.val.is_none());
        assert_eq!(d.train.images.dims(), [9000, 784]);
        // The first MNIST test digit is a 7, the last a 6.
        assert_eq!((d.train.labels[0], d.test.labels[999]), (7, 6));
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
        let cfg = DataConfig { train_class: Some(3), ..Default::default() };
        let d = Dataset::load(&cfg, 0, &Device::Cpu).unwrap();
        let val = d.val.as_ref().unwrap();
        assert!(d.train.labels.iter().chain(&val.labels).all(|&l| l == 3));
        // The bundled digits hold 9,000 training digits, about a tenth of them threes.
        assert!((800..1000).contains(&(d.train.len() + val.len())), "{}", d.train.len() + val.len());
        assert_eq!(d.test.len(), 1000);
        assert!((0..10).all(|c| d.test.labels.contains(&c)));
    }

    #[test]
    fn bad_settings_are_refused() {
        for (cfg, want) in [
            (DataConfig { val_fraction: 0.7, ..Default::default() }, "data.val_fraction: 0.7 is invalid"),
            (DataConfig { val_fraction: f64::NAN, ..Default::default() }, "data.val_fraction: NaN is invalid"),
            (DataConfig { train_limit: Some(0), ..Default::default() }, "data.train_limit: 0 is invalid"),
            (
                DataConfig { train_class: Some(10), ..Default::default() },
                "data.train_class: 10 is invalid; expected a class from 0 to 9",
            ),
        ] {
            let err = Dataset::load(&cfg, 0, &Device::Cpu).unwrap_err().to_string();
            assert!(err.starts_with(want), "{err}");
        }
    }
}
