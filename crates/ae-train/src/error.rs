//! The one error type of `ae-train`.

use std::path::PathBuf;

/// Errors raised while training, evaluating or checkpointing.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A training setting is out of range.
    #[error("train.{field}: {value} is invalid; expected {expected}")]
    InvalidConfig {
        /// The field, as in config files.
        field: String,
        /// The offending value.
        value: String,
        /// What is allowed.
        expected: String,
    },
    /// The loss became NaN or infinite; nothing was saved over the last good checkpoint.
    #[error(
        "non-finite loss {value} at step {step} (epoch {epoch}); training stopped and the last good checkpoint was kept. Try a lower --lr or --clip-grad-norm"
    )]
    NonFiniteLoss {
        /// Global step (0-based) of the bad batch.
        step: u64,
        /// Epoch (1-based) of the bad batch.
        epoch: usize,
        /// The value seen.
        value: f64,
    },
    /// The gradient norm became NaN or infinite.
    #[error(
        "non-finite gradient norm {value} at step {step} (epoch {epoch}); training stopped and the last good checkpoint was kept. Try a lower --lr or --clip-grad-norm"
    )]
    NonFiniteGradient {
        /// Global step (0-based).
        step: u64,
        /// Epoch (1-based).
        epoch: usize,
        /// The norm seen.
        value: f64,
    },
    /// The examples do not fit the model: checked before the first batch, since the fused CPU
    /// paths read raw rows and would otherwise misread them.
    #[error(
        "the {split} examples are {dtype:?} of shape {shape:?}, but the model takes f32 rows of {expected} features"
    )]
    DataShape {
        /// Which split: train, validation or test.
        split: &'static str,
        /// The model's input width.
        expected: usize,
        /// The split's shape.
        shape: Vec<usize>,
        /// The split's dtype.
        dtype: ae_core::candle::DType,
    },
    /// A checkpoint file is missing, unreadable or inconsistent.
    #[error("{path}: {reason}")]
    BadCheckpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing a run file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Loading or saving parameters failed.
    #[error(transparent)]
    Core(#[from] ae_core::CoreError),
    /// Reading data failed.
    #[error(transparent)]
    Data(#[from] ae_data::DataError),
    /// A tensor operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

impl TrainError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> TrainError {
        let path = path.into();
        move |source| TrainError::Io { path, source }
    }
}
