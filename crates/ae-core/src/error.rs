//! The one error type of `ae-core`.

use std::path::PathBuf;

/// Errors raised by `ae-core`.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A tensor operation failed inside candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// `--device` was given something other than `cpu`, `cuda` or `cuda:N`.
    #[error("--device: unknown device {spec:?}; expected cpu, cuda or cuda:N")]
    BadDevice {
        /// What the user wrote.
        spec: String,
    },
    /// CUDA was asked for in a build without the `cuda` feature.
    #[error(
        "--device {spec}: this build of ae has no CUDA support; rebuild with `--features cuda` (needs nvcc) or use --device cpu"
    )]
    CudaNotBuilt {
        /// What the user wrote.
        spec: String,
    },
    /// A CUDA build could not open the device (no driver, no GPU, or no such ordinal).
    #[error(
        "--device {spec}: cannot open the CUDA device: {reason}; nvidia-smi -L lists this machine's GPUs, or use --device cpu"
    )]
    CudaUnavailable {
        /// What the user wrote.
        spec: String,
        /// What the CUDA driver said.
        reason: String,
    },
    /// A parameter file does not match the model it is loaded into.
    #[error("{path}: {reason}")]
    BadParams {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, naming tensors, shapes and dtypes.
        reason: String,
    },
    /// Reading or writing a parameter file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Shorthand for results in this crate.
pub type Result<T> = std::result::Result<T, CoreError>;
