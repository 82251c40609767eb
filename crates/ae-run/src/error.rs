//! Why a run directory, a config file or a picture could not be used. Each variant says whether
//! the user must change what they asked for ([`RunError::is_usage`]), which the binary turns
//! into its exit code.

use std::path::PathBuf;

use ae_core::CoreError;
use ae_data::DataError;
use ae_models::ModelError;
use ae_train::TrainError;

/// An error of this crate; the message names the file and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A config file that is not a valid ae config.
    #[error("{}: {reason}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong and what was expected.
        reason: String,
    },
    /// A folder that is not a run directory made by `ae train`.
    #[error("{}: no config.json there; expected a run directory made by `ae train`", path.display())]
    NotARun {
        /// The folder.
        path: PathBuf,
    },
    /// A config whose parts disagree (for example the denoising preset without a noise).
    #[error("{field}: {reason}")]
    Inconsistent {
        /// The config field, as a JSON path.
        field: &'static str,
        /// What is wrong and what was expected.
        reason: String,
    },
    /// An image or `.aec` file that cannot be read or written as asked.
    #[error("{}: {reason}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong and what was expected.
        reason: String,
    },
    /// A picture that could not be drawn; the cause says why.
    #[error("{}: {source}", path.display())]
    Picture {
        /// The picture's file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<RunError>,
    },
    /// From the tensor layer.
    #[error(transparent)]
    Core(Box<CoreError>),
    /// From building a model.
    #[error(transparent)]
    Model(Box<ModelError>),
    /// From loading data.
    #[error(transparent)]
    Data(Box<DataError>),
    /// From training, checkpoints and atomic writes.
    #[error(transparent)]
    Train(Box<TrainError>),
    /// From candle.
    #[error(transparent)]
    Candle(Box<candle_core::Error>),
}

impl RunError {
    /// True when the user must change the command or config (the binary exits 2), false when
    /// data or the run itself failed (exit 1).
    pub fn is_usage(&self) -> bool {
        match self {
            RunError::Config { .. } | RunError::NotARun { .. } | RunError::Inconsistent { .. } => true,
            RunError::File { .. } | RunError::Candle(_) => false,
            RunError::Picture { source, .. } => source.is_usage(),
            RunError::Core(e) => matches!(**e, CoreError::BadDevice { .. } | CoreError::CudaNotBuilt { .. }),
            RunError::Model(e) => matches!(**e, ModelError::InvalidConfig { .. }),
            RunError::Data(e) => matches!(**e, DataError::InvalidConfig { .. }),
            RunError::Train(e) => matches!(**e, TrainError::InvalidConfig { .. }),
        }
    }

    /// A [`RunError::File`] about `path`.
    pub fn file(path: impl Into<PathBuf>, reason: impl Into<String>) -> RunError {
        RunError::File { path: path.into(), reason: reason.into() }
    }
}

/// Wraps the lower layers' errors, boxed so a `Result<_, RunError>` stays small.
macro_rules! boxed_from {
    ($($variant:ident($ty:ty)),*) => {$(
        impl From<$ty> for RunError {
            fn from(e: $ty) -> Self {
                RunError::$variant(Box::new(e))
            }
        }
    )*};
}

boxed_from!(Core(CoreError), Model(ModelError), Data(DataError), Train(TrainError), Candle(candle_core::Error));
