//! The one error type of `ae-data`.

use std::path::PathBuf;

/// Errors raised while reading or preparing data. Each names the file, what was found and what
/// was expected.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The first four bytes are not the IDX magic this file must have.
    #[error("{path}: bad IDX magic 0x{found:08x}; expected 0x{expected:08x} ({what})")]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic for this kind of file.
        expected: u32,
        /// The magic found.
        found: u32,
        /// What kind of file was expected.
        what: &'static str,
    },
    /// The file ends before its header or payload does.
    #[error("{path}: truncated: the header declares {expected} payload bytes but only {found} follow")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header declares.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// The header ends early.
    #[error("{path}: truncated IDX header: {found} bytes, expected {expected}")]
    TruncatedHeader {
        /// The file.
        path: PathBuf,
        /// Header bytes needed.
        expected: u64,
        /// Header bytes present.
        found: u64,
    },
    /// Bytes follow the payload.
    #[error("{path}: {extra} trailing bytes after the {expected} payload bytes the header declares")]
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// Bytes the header declares.
        expected: u64,
        /// How many extra bytes there are (at least).
        extra: u64,
    },
    /// The header declares a payload too large to be a real dataset; refused before allocating.
    #[error("{path}: header declares dimensions {dims:?} ({what}), over the limit of {limit} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The declared dimensions.
        dims: Vec<u32>,
        /// The size it implies, or "overflow".
        what: String,
        /// The limit.
        limit: u64,
    },
    /// The gzip stream is corrupt.
    #[error("{path}: corrupt gzip stream: {source}")]
    Gzip {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Images are not the size this dataset holds.
    #[error("{path}: images are {rows}x{cols}; expected {expected_rows}x{expected_cols}")]
    ImageSize {
        /// The file.
        path: PathBuf,
        /// Rows found.
        rows: usize,
        /// Columns found.
        cols: usize,
        /// Rows expected.
        expected_rows: usize,
        /// Columns expected.
        expected_cols: usize,
    },
    /// Image and label files disagree on the number of examples.
    #[error("{images} holds {n_images} images but {labels} holds {n_labels} labels")]
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// Images found.
        n_images: usize,
        /// The label file.
        labels: PathBuf,
        /// Labels found.
        n_labels: usize,
    },
    /// A label is outside the dataset's classes.
    #[error("{path}: label {label} at index {index} is out of range; expected 0 to {max}")]
    LabelOutOfRange {
        /// The label file.
        path: PathBuf,
        /// The label.
        label: u8,
        /// Its position.
        index: usize,
        /// The largest valid label.
        max: u8,
    },
    /// A dataset's files are not in the data directory.
    #[error(
        "{dataset}: {missing} not found in {dir}; expected {expected} there. Get them with `cargo xtask download {dataset}`{extra}, or pass --data-dir DIR pointing at a copy"
    )]
    MissingFiles {
        /// The dataset.
        dataset: &'static str,
        /// The directory searched.
        dir: PathBuf,
        /// The first file missing.
        missing: String,
        /// Every file the dataset needs.
        expected: String,
        /// Other ways to get the files.
        extra: &'static str,
    },
    /// A data setting is out of range.
    #[error("data.{field}: {value} is invalid; expected {expected}")]
    InvalidConfig {
        /// The field.
        field: &'static str,
        /// The offending value.
        value: String,
        /// What is allowed.
        expected: String,
    },
    /// Examples built in memory whose parts disagree (rows and labels of different counts, a
    /// tensor that is not one row per example).
    #[error("{what}: {found}; expected {expected}")]
    Shape {
        /// What was being built.
        what: &'static str,
        /// What was found.
        found: String,
        /// What was expected.
        expected: String,
    },
    /// An operation that needs labels, on examples that have none.
    #[error("{what} needs labels, and these examples have none")]
    NoLabels {
        /// The operation.
        what: &'static str,
    },
    /// A table that cannot be read as rows of numbers.
    #[error("{}{}: {why}", path.display(), line.map(|l| format!(": line {l}")).unwrap_or_default())]
    Table {
        /// The file.
        path: PathBuf,
        /// The 1-based line, where one line is at fault.
        line: Option<usize>,
        /// What is wrong and what was expected.
        why: String,
    },
    /// A column named by an option that the table does not have.
    #[error("{}: {what} {column}: no such column; expected {expected}", path.display())]
    Column {
        /// The file.
        path: PathBuf,
        /// The option that named it.
        what: String,
        /// The name or index given.
        column: String,
        /// The columns there are.
        expected: String,
    },
    /// An array file (`.npy`, `.npz`, `.safetensors`) or image that cannot be read.
    #[error("{}: {why}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong and what was expected.
        why: String,
    },
    /// Saved normalisation statistics that do not fit the data.
    #[error("normalization: {why}")]
    Normalization {
        /// What is wrong.
        why: String,
    },
    /// A tensor operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}
