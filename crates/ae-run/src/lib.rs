//! Run directories as a library, so a user of the library crates can do what the `ae` binary
//! does: read and check the config a run records ([`RunConfig`]), open a trained run
//! ([`open_run`]), draw the pictures `ae train` leaves ([`pictures`], [`plot`], [`LossPlot`]), read
//! and write PNG files ([`images`]) and store images as their codes ([`aec`]). It sits above the
//! model, data and training crates and does no network I/O; the binary only parses flags and
//! prints.
//!
//! ```
//! use ae_run::RunConfig;
//!
//! // Every run records its config as JSON; a partial file names only what differs.
//! let cfg = RunConfig::parse(r#"{"format": 1, "train": {"epochs": 3}}"#, "my.json".as_ref())?;
//! cfg.validate()?;
//! assert_eq!((cfg.model.kind(), cfg.train.epochs), ("stacked", 3));
//! # Ok::<(), ae_run::RunError>(())
//! ```

pub mod aec;
pub mod config;
pub mod csv;
pub mod data;
pub mod dictionary;
pub mod error;
pub mod font;
pub mod formats;
pub mod grid;
pub mod images;
pub mod loss_plot;
pub mod onnx;
pub mod open;
pub mod pictures;
pub mod plot;

pub use config::{CONFIG_FORMAT, RunConfig, differences};
pub use data::{NORMALIZATION_FILE, load_run_data};
pub use dictionary::Dictionary;
pub use error::RunError;
pub use formats::{
    DictionaryFormat, EXPORTS, ExportFormat, ExportSource, FORMATS, Written, dictionary_format, export_format,
};
pub use loss_plot::LossPlot;
pub use open::{OpenRun, Weights, build_model, open_run};
pub use pictures::{write_column_errors, write_pictures};
