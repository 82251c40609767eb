//! New examples read as the run's training data was, for `denoise` and `compress`: images
//! converted and resized only where training did so, rows through the run's table and array
//! options, both normalised with the statistics `ae train` saved; and the model's outputs turned
//! back into the data's own units before they are written.

use std::path::{Path, PathBuf};

use ae_data::SampleShape;
use ae_run::OpenRun;
use ae_run::data::saved_normalization;
use ae_run::images::image_shape;
use candle_core::{Device, Tensor};

use crate::data_flags::DataFlags;
use crate::exit::usage;

/// The shape of one example the run was trained on: as `ae train` recorded it, or for runs
/// older than that record, square grey images of the model's width.
pub(crate) fn run_sample(run: &OpenRun) -> SampleShape {
    run.config.data.sample.unwrap_or_else(|| {
        let (h, w) = image_shape(run.model.input_dim());
        SampleShape::grey(h, w)
    })
}

/// Image `files` as rows the model of run `dir` takes, normalised as its training data were.
pub(crate) fn read_images(run: &OpenRun, dir: &Path, files: &[PathBuf], dev: &Device) -> anyhow::Result<Tensor> {
    let sample = run_sample(run);
    let data = &run.config.data;
    let values =
        ae_data::image_folder::read_images_as(files, sample, data.channels.is_some(), data.image_size.is_some())?;
    normalize(dir, Tensor::from_vec(values, (files.len(), sample.features()), dev)?)
}

/// Rows normalised with run `dir`'s saved statistics (unchanged when it saved none); missing
/// cells are filled with the saved training means, or refused when the run saved none.
pub(crate) fn normalize(dir: &Path, rows: Tensor) -> anyhow::Result<Tensor> {
    Ok(match saved_normalization(dir)? {
        Some(n) => n.apply_rows(&rows)?,
        None => ae_data::normalize::fill_missing(&rows, &[])?,
    })
}

/// The model's outputs back in the data's own units (undoing [`normalize`]), one row each.
pub(crate) fn denormalize(dir: &Path, rows: &Tensor) -> anyhow::Result<Vec<Vec<f32>>> {
    let rows = match saved_normalization(dir)? {
        Some(n) => n.invert(rows)?,
        None => rows.clone(),
    };
    Ok(rows.to_vec2::<f32>()?)
}

/// Every example of `--data`, as [`read_data`] reads it.
pub(crate) struct Every {
    /// The examples as the model takes them, normalised.
    pub rows: Tensor,
    /// Each example's name: an image's path below the folder (`/`-separated, where a command
    /// writes it), or a row's (`line 12`, `data.npy[3]`).
    pub names: Vec<String>,
    /// A table's column names.
    pub columns: Vec<String>,
}

/// Every example of `--data` for `command` (which reads them all, so flags that split or stream
/// are refused), read with the run's reading options (the flags given override them), checked
/// against the run's example shape and normalised as training was.
pub(crate) fn read_data(
    flags: &DataFlags,
    command: &str,
    run: &OpenRun,
    dir: &Path,
    dev: &Device,
) -> anyhow::Result<Every> {
    for (given, flag) in [
        (flags.test_data.is_some(), "--test-data"),
        (flags.test_fraction.is_some(), "--test-fraction"),
        (flags.stream.is_some(), "--stream"),
    ] {
        if given {
            return Err(usage(format!(
                "{flag}: {command} reads every example of --data; expected no split or streaming"
            )));
        }
    }
    let mut cfg = run.config.data.clone();
    flags.apply(&mut cfg);
    let path = cfg.path.clone().unwrap_or_default();
    let rows = ae_data::file_source::read_rows(&path, &cfg)?;
    let sample = run_sample(run);
    if rows.shape != sample {
        return Err(usage(format!(
            "--data {}: {}; expected {sample}, what the model was trained on",
            path.display(),
            rows.shape
        )));
    }
    let names: Vec<String> = match rows.shape {
        SampleShape::Image { .. } => rows.row_names.iter().map(|n| relative(n, &path)).collect(),
        SampleShape::Features(_) => rows.row_names.clone(),
    };
    let xs = Tensor::from_vec(rows.values, (names.len(), sample.features()), dev)?;
    Ok(Every { rows: normalize(dir, xs)?, names, columns: rows.feature_names })
}

/// An image's path below the folder it was read from, `/`-separated.
fn relative(file: &str, root: &Path) -> String {
    let file = Path::new(file);
    let rel = file.strip_prefix(root).unwrap_or(file);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}
