//! The user's own data (`--data PATH`): a file or folder read by the first [`RowReader`] that
//! accepts it, with a test split from `--test-data` or carved with the seed. A new format is one
//! file implementing [`RowReader`] and one line in [`READERS`].

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};

use crate::array::ArrayReader;
use crate::classes::classes_of;
use crate::dataset::DataConfig;
use crate::error::DataError;
use crate::image_folder::ImageFolderReader;
use crate::loader::RowSource;
use crate::normalize::Normalize;
use crate::shape::SampleShape;
use crate::source::{DataSource, Examples};
use crate::split::{Split, carve_indices};
use crate::stream::{StreamedRows, holdout_fraction, streams};
use crate::table::read_table;

/// What a reader makes of one file or folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    /// What one row is.
    pub shape: SampleShape,
    /// Row-major values, `n x shape.features()`.
    pub values: Vec<f32>,
    /// Each row's label value or class name, where the data has labels.
    pub labels: Option<Vec<String>>,
    /// The features' names (a table's columns), empty where they have none.
    pub feature_names: Vec<String>,
    /// What each row is called in reports: a file path, or a line of a table.
    pub row_names: Vec<String>,
    /// The normalisation these rows get when the config names none.
    pub normalize: Normalize,
    /// Names for labels 0, 1, ... where the file gives them (scikit-learn's count line).
    pub class_names: Vec<String>,
}

impl Rows {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.row_names.len()
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.row_names.is_empty()
    }
}

/// A reader of one kind of file.
pub trait RowReader: Sync {
    /// Whether `path` is this reader's kind (by extension, or a folder's contents).
    fn accepts(&self, path: &Path) -> bool;

    /// Reads every row, checking the file as untrusted input.
    fn read(&self, path: &Path, cfg: &DataConfig) -> Result<Rows, DataError>;
}

/// Tables: `.csv`, `.tsv`, `.txt`.
#[derive(Debug, Clone, Copy)]
pub struct TableReader;

impl RowReader for TableReader {
    fn accepts(&self, path: &Path) -> bool {
        has_extension(path, &["csv", "tsv", "txt"])
    }

    fn read(&self, path: &Path, cfg: &DataConfig) -> Result<Rows, DataError> {
        let t = read_table(path, &cfg.table)?;
        Ok(Rows {
            shape: SampleShape::Features(t.feature_names.len()),
            values: t.values,
            labels: t.labels,
            feature_names: t.feature_names,
            row_names: t.lines.iter().map(|l| format!("line {l}")).collect(),
            normalize: Normalize::Standard,
            class_names: t.class_names,
        })
    }
}

/// Every reader, tried in order.
pub const READERS: &[&dyn RowReader] = &[&TableReader, &ArrayReader, &ImageFolderReader];

/// True when `path`'s extension is one of `exts` (any case).
pub fn has_extension(path: &Path, exts: &[&str]) -> bool {
    path.is_file()
        && path.extension().and_then(|e| e.to_str()).is_some_and(|e| exts.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// Reads `path` with the first reader that accepts it.
pub fn read_rows(path: &Path, cfg: &DataConfig) -> Result<Rows, DataError> {
    let meta = std::fs::metadata(path).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
    let reader = READERS.iter().find(|r| r.accepts(path)).ok_or_else(|| DataError::File {
        path: path.to_path_buf(),
        why: format!(
            "{} of an unsupported kind; expected a table (.csv, .tsv, .txt), an array (.npy, .npz, .safetensors, or a folder of them) or a folder of images (.png, .jpg)",
            if meta.is_dir() { "a folder" } else { "a file" }
        ),
    })?;
    let rows = reader.read(path, cfg)?;
    if rows.is_empty() {
        return Err(DataError::File { path: path.to_path_buf(), why: "no rows; expected at least one example".into() });
    }
    Ok(rows)
}

/// The user's data: `path` for training (and test, carved with the seed, unless `test_path`).
#[derive(Debug, Clone)]
pub struct DataFiles {
    /// The training data.
    pub path: PathBuf,
    /// The test data, when given.
    pub test_path: Option<PathBuf>,
    /// The fraction of `path` carved out as test when there is no `test_path`.
    pub test_fraction: f64,
    /// The run's seed, for that carve.
    pub seed: u64,
    /// The options readers follow.
    pub cfg: DataConfig,
}

impl DataSource for DataFiles {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn load(&self, dev: &Device) -> Result<Examples, DataError> {
        if streams(&self.path, self.cfg.stream) {
            return self.load_streamed(dev);
        }
        let train = read_rows(&self.path, &self.cfg)?;
        let test = self.test_path.as_deref().map(|p| read_rows(p, &self.cfg)).transpose()?;
        if let (Some(t), Some(p)) = (&test, &self.test_path)
            && t.shape != train.shape
        {
            return Err(DataError::File {
                path: p.clone(),
                why: format!("{}; expected {} as {} holds", t.shape, train.shape, self.path.display()),
            });
        }
        // One class list over both files, so a label means the same class in each.
        let (train_labels, test_labels) = match (&train.labels, test.as_ref().and_then(|t| t.labels.as_ref())) {
            (Some(a), Some(b)) => {
                let all: Vec<&str> = a.iter().chain(b).map(String::as_str).collect();
                let (classes, idx) = classes_of(&all);
                (Some((classes.clone(), idx[..a.len()].to_vec())), Some((classes, idx[a.len()..].to_vec())))
            }
            (a, b) => (a.as_ref().map(|a| classes_of(a)), b.map(|b| classes_of(b))),
        };
        let mut classes = train_labels.as_ref().map(|(c, _)| c.clone()).unwrap_or_default();
        // Labels 0..k named by the file keep those names (`benign` for scikit-learn's 1).
        let numbered: Vec<String> = (0..classes.len()).map(|i| i.to_string()).collect();
        if !classes.is_empty() && classes == numbered && train.class_names.len() == classes.len() {
            classes = train.class_names.clone();
        }
        let split = |rows: &Rows, labels: Option<(Vec<String>, Vec<u32>)>| -> Result<Split, DataError> {
            let values = Tensor::from_slice(&rows.values, (rows.len(), rows.shape.features()), dev)?;
            Split::new(values, labels.map(|(_, l)| l))
        };
        let (train_split, test_split, test_names) = match &test {
            // Test labels without training labels have no classes to index.
            Some(t) => {
                let test_labels = test_labels.filter(|_| train_labels.is_some());
                (split(&train, train_labels)?, split(t, test_labels)?, t.row_names.clone())
            }
            None => {
                let n = train.len();
                let (kept, carved) = self.carve_test(n, self.test_fraction)?;
                let all = split(&train, train_labels)?;
                let names = carved.iter().map(|&i| train.row_names[i as usize].clone()).collect();
                (all.select(&kept)?, all.select(&carved)?, names)
            }
        };
        Ok(Examples {
            shape: train.shape,
            classes,
            train: train_split,
            test: test_split,
            feature_names: train.feature_names,
            normalize: train.normalize,
            test_names,
            train_stream: None,
        })
    }
}

impl DataFiles {
    /// The rows kept for training and those carved for testing (`fraction` of `n`, stream 1 of
    /// the seed's split streams); an error when no row would be carved.
    fn carve_test(&self, n: usize, fraction: f64) -> Result<(Vec<u32>, Vec<u32>), DataError> {
        let (kept, carved) = carve_indices(n, fraction, self.seed, 1);
        if carved.is_empty() {
            return Err(DataError::InvalidConfig {
                field: "test_fraction",
                value: self.test_fraction.to_string(),
                expected: format!("a fraction that leaves at least one of the {n} rows for testing, or --test-data"),
            });
        }
        Ok((kept, carved))
    }

    /// Training rows streamed from the array files; the test split (`test_path`, or at most
    /// [`crate::stream::MAX_STREAMED_HOLDOUT`] rows carved with the seed) in memory.
    fn load_streamed(&self, dev: &Device) -> Result<Examples, DataError> {
        let rows = StreamedRows::open(&StreamedRows::files_of(&self.path), self.cfg.tensor.as_deref(), dev)?;
        let shape = crate::array::Array { n: 0, row_shape: rows.row_shape().to_vec(), values: Vec::new() }
            .into_rows(&self.path)
            .shape;
        let d = shape.features();
        let (train, test, test_names) = match &self.test_path {
            Some(p) => {
                let t = read_rows(p, &self.cfg)?;
                if t.shape != shape {
                    return Err(DataError::File {
                        path: p.clone(),
                        why: format!("{}; expected {shape} as {} holds", t.shape, self.path.display()),
                    });
                }
                let test = Split::new(Tensor::from_slice(&t.values, (t.len(), d), dev)?, None)?;
                (rows, test, t.row_names)
            }
            None => {
                let n = rows.len();
                let (kept, carved) = self.carve_test(n, holdout_fraction(n, self.test_fraction))?;
                let test = Split::new(Tensor::from_vec(rows.read(&carved)?, (carved.len(), d), dev)?, None)?;
                let names = carved.iter().map(|i| format!("{}[{i}]", self.path.display())).collect();
                (rows.subset(&kept), test, names)
            }
        };
        Ok(Examples {
            shape,
            classes: Vec::new(),
            train: Split::new(Tensor::zeros((0, d), candle_core::DType::F32, dev)?, None)?,
            test,
            feature_names: Vec::new(),
            normalize: Normalize::None,
            test_names,
            train_stream: Some(train),
        })
    }
}
