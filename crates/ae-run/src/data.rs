//! A run's data as every command after training sees it: the config's data, normalised with the
//! statistics `ae train` fitted and saved in the run directory (`normalization.json`), never
//! refitted on other data.

use std::path::Path;

use ae_data::{DataConfig, Dataset, Normalization};
use candle_core::Device;

use crate::error::RunError;

/// The file in a run directory holding the fitted normalisation.
pub const NORMALIZATION_FILE: &str = "normalization.json";

/// The statistics saved in run directory `dir`, if it has any.
pub fn saved_normalization(dir: &Path) -> Result<Option<Normalization>, RunError> {
    let path = dir.join(NORMALIZATION_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(RunError::File { path, reason: e.to_string() }),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| RunError::File { path, reason: format!("{e}; expected the normalization ae train saved") })
}

/// The statistics as `normalization.json` holds them.
pub fn normalization_json(n: &Normalization) -> String {
    serde_json::to_string_pretty(n).unwrap_or_default() + "\n"
}

/// Loads `cfg`'s data for the run in `dir`: normalised with its saved statistics where it has
/// them, else as `cfg` says (fitted anew on the training rows).
pub fn load_run_data(dir: &Path, cfg: &DataConfig, seed: u64, dev: &Device) -> Result<Dataset, RunError> {
    let saved = saved_normalization(dir)?;
    Ok(Dataset::load_with(cfg, seed, dev, saved.as_ref())?)
}
