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
