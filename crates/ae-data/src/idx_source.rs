//! The IDX sources: the bundled `digits` and MNIST-format folders (MNIST, Fashion-MNIST), each
//! four IDX files of 28x28 grey images and their labels 0-9.

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};

use crate::dataset::DatasetName;
use crate::error::DataError;
use crate::idx::{self, IMAGES_MAGIC, IdxArray, LABELS_MAGIC};
use crate::normalize::Normalize;
use crate::shape::SampleShape;
use crate::source::{DataSource, Examples};
use crate::split::Split;

const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

const DIGITS_IMAGES: &[u8] = include_bytes!("../data/digits/t10k-images-idx3-ubyte.gz");
const DIGITS_LABELS: &[u8] = include_bytes!("../data/digits/t10k-labels-idx1-ubyte.gz");
/// How many of the bundled digits train; the rest test.
pub const DIGITS_TRAIN: usize = 9000;

/// The 10,000 MNIST test digits compiled into the crate: the first 9,000 train, the last 1,000
/// test.
#[derive(Debug, Clone, Copy, Default)]
pub struct BundledDigits;

impl DataSource for BundledDigits {
    fn describe(&self) -> String {
        DatasetName::Digits.name().into()
    }

    fn load(&self, dev: &Device) -> Result<Examples, DataError> {
        let src = Path::new("digits (bundled MNIST t10k)");
        let all = split_from(
            idx::read(DIGITS_IMAGES, src, IMAGES_MAGIC)?,
            src,
            idx::read(DIGITS_LABELS, src, LABELS_MAGIC)?,
            src,
            dev,
        )?;
        let test = all.tail(all.len() - DIGITS_TRAIN)?;
        Ok(examples(DatasetName::Digits, all.head(DIGITS_TRAIN)?, test))
    }
}

/// A folder of the four MNIST-format IDX files (each raw or gzipped) of a named dataset.
#[derive(Debug, Clone)]
pub struct IdxFolder {
    /// Which dataset the files are (for class names and messages).
    pub dataset: DatasetName,
    /// The folder.
    pub dir: PathBuf,
}

impl DataSource for IdxFolder {
    fn describe(&self) -> String {
        format!("{} ({})", self.dataset.name(), self.dir.display())
    }

    fn load(&self, dev: &Device) -> Result<Examples, DataError> {
        let files =
            [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS].map(|name| idx::find(&self.dir, name).ok_or(name));
        if let Some(Err(missing)) = files.iter().find(|f| f.is_err()) {
            return Err(missing_files(self.dataset, &self.dir, missing));
        }
        let [Ok(tri), Ok(trl), Ok(tei), Ok(tel)] = files else { unreachable!("every file was found above") };
        let train =
            split_from(idx::read_file(&tri, IMAGES_MAGIC)?, &tri, idx::read_file(&trl, LABELS_MAGIC)?, &trl, dev)?;
        let test =
            split_from(idx::read_file(&tei, IMAGES_MAGIC)?, &tei, idx::read_file(&tel, LABELS_MAGIC)?, &tel, dev)?;
        Ok(examples(self.dataset, train, test))
    }
}

fn examples(dataset: DatasetName, train: Split, test: Split) -> Examples {
    let classes = dataset.class_names().iter().map(|c| c.to_string()).collect();
    Examples {
        shape: SampleShape::grey(28, 28),
        classes,
        train,
        test,
        feature_names: Vec::new(),
        normalize: Normalize::None,
        test_names: Vec::new(),
        train_stream: None,
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
    let labels = labels.data.iter().map(|&l| u32::from(l)).collect();
    Ok(Split { images: Tensor::from_vec(pixels, (n, rows * cols), dev)?, labels: Some(labels) })
}
