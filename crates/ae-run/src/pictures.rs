//! The pictures `ae train` leaves in a run directory: reconstructions for every model, clean /
//! corrupted / denoised rows for denoising ones, samples from the prior for generative ones, and
//! for 2-D codes the test codes by label and (with a prior) the decoded manifold.

use ae_core::Autoencoder;
use ae_core::gaussian::standard_normal_quantile;
use ae_core::rng::{self, Purpose};
use ae_data::{EVAL_NOISE_STREAM, Loader, Noise, Split};
use ae_train::RunDir;
use candle_core::Tensor;

use crate::RunError;
use crate::grid::{Grid, MARK_DEAD};
use crate::plot::save_scatter;

/// Tiles per side of `manifold.png`.
const MANIFOLD_SIDE: usize = 20;

/// Writes the pictures for `model` into `run`, returning each file written and what it shows;
/// `classes` name the labels in legends.
pub fn write_pictures(
    model: &dyn Autoencoder,
    test: &Split,
    classes: &[String],
    shape: (usize, usize),
    run: &RunDir,
    seed: u64,
    noise: Option<Noise>,
) -> Result<Vec<(&'static str, &'static str)>, RunError> {
    let mut written = Vec::new();
    let save = |name: &str, result: Result<(), RunError>| {
        result.map_err(|e| RunError::Picture { path: run.file(name), source: Box::new(e) })
    };

    let xs = test.head(32)?.images;
    save(
        "reconstructions.png",
        crate::grid::reconstructions(&xs, &model.reconstruct(&xs)?, shape)?.save(&run.file("reconstructions.png")),
    )?;
    written.push(("reconstructions.png", "test originals over their reconstructions"));

    if let Some(noise) = noise {
        let head = test.head(8)?;
        let batch = Loader::sequential(&head, 8).with_noise(Some(noise), seed, EVAL_NOISE_STREAM).epoch(0).next();
        if let Some(batch) = batch {
            let batch = batch?;
            let grid = Grid::new(format!("Denoising {noise}: 8 test images"), shape)
                .row("clean", batch.target.to_vec2::<f32>()?)
                .row("noisy", batch.input.to_vec2::<f32>()?)
                .row("denoised", model.reconstruct(&batch.input)?.to_vec2::<f32>()?);
            save("denoised.png", grid.save(&run.file("denoised.png")))?;
            written.push(("denoised.png", "test images: clean, corrupted, denoised"));
        }
    }

    if let Some(threshold) = model.active_threshold() {
        let rows = test.head(DENSITY_ROWS.min(test.len()))?;
        let freq = ae_train::firing_frequencies(model, &rows, 1000, threshold)?;
        let features = save_features(model, &run.file("features.png"), shape, &freq, rows.len(), test.images.device());
        save("features.png", features)?;
        written.push(("features.png", "each code unit's decoder weights as a tile, most often firing first"));
        save("feature_density.png", save_feature_density(&freq, &run.file("feature_density.png")))?;
        written.push(("feature_density.png", "log10 of each code unit's firing frequency on the test split"));
    }

    // The same draws as `ae sample` with the run's seed.
    let prior = model.sample_prior(64, &mut rng::stream(seed, Purpose::Sampling, 0))?;
    if let Some(zs) = &prior {
        let grid = Grid::new(format!("{} samples decoded from the prior (seed {seed})", zs.dim(0)?), shape)
            .square(model.decode_output(zs)?.to_vec2::<f32>()?);
        save("samples.png", grid.save(&run.file("samples.png")))?;
        written.push(("samples.png", "64 images decoded from the prior"));
    }

    let codes = model.embed(&test.images)?;
    if codes.dim(1)? == 2 {
        let points: Vec<(f32, f32)> = codes.to_vec2::<f32>()?.into_iter().map(|c| (c[0], c[1])).collect();
        save("latent.png", save_scatter(&run.file("latent.png"), &points, test.labels.as_deref(), classes))?;
        written.push(("latent.png", "test codes coloured by label"));
        if prior.is_some() {
            let manifold = save_manifold(model, &run.file("manifold.png"), shape, test.images.device());
            save("manifold.png", manifold)?;
            written.push(("manifold.png", "codes on a grid over the prior's quantiles, decoded"));
        }
    }
    Ok(written)
}

/// Test rows the feature density counts over, at most.
const DENSITY_ROWS: usize = 10_000;

/// The feature-density histogram every SAE paper shows: log10 of each code unit's firing
/// frequency `freq` over the first `DENSITY_ROWS` (10,000) test rows, with the units that never
/// fired there counted in the legend (they have no logarithm).
fn save_feature_density(freq: &[f64], path: &std::path::Path) -> Result<(), RunError> {
    let live: Vec<f64> = freq.iter().filter(|&&f| f > 0.0).map(|f| f.log10()).collect();
    let dead = vec![f64::NEG_INFINITY; freq.len() - live.len()];
    let labels = crate::plot::Labels {
        title: "Feature density: how often each code unit fires",
        x: "log10 firing frequency",
        y: "code units",
    };
    crate::plot::save_histogram(path, &[("fired", &live), ("never fired", &dead)], &labels)
}

/// Test rows the per-column error averages over, at most.
const COLUMN_ERROR_ROWS: usize = 10_000;

/// For rows of features (tables, arrays): each column's mean squared reconstruction error over
/// the first `COLUMN_ERROR_ROWS` (10,000) test rows, in the units the model sees (after the run's
/// normalisation: for `standard`, a column's error is a fraction of its variance), as
/// `column_errors.csv` (`column,mse`) and a bar chart, `column_errors.png`, named by
/// `names` (or the column's index where there are none).
pub fn write_column_errors(
    model: &dyn Autoencoder,
    test: &Split,
    names: &[String],
    run: &RunDir,
) -> Result<Vec<(&'static str, &'static str)>, RunError> {
    if test.is_empty() {
        return Ok(Vec::new());
    }
    let xs = test.head(COLUMN_ERROR_ROWS)?.images;
    let errors: Vec<f32> = model.reconstruct(&xs)?.sub(&xs)?.sqr()?.mean(0)?.to_vec1()?;
    let name = |j: usize| names.get(j).cloned().unwrap_or_else(|| j.to_string());
    let bars: Vec<(String, f64)> = errors.iter().enumerate().map(|(j, &e)| (name(j), f64::from(e))).collect();
    let csv: String = std::iter::once("column,mse\n".to_string())
        .chain(bars.iter().map(|(n, e)| format!("{},{e}\n", crate::csv::field(n))))
        .collect();
    ae_train::checkpoint::atomic_write(&run.file("column_errors.csv"), csv.as_bytes())?;
    let png = run.file("column_errors.png");
    crate::plot::save_bars(&png, &bars, "Mean squared reconstruction error per column")
        .map_err(|e| RunError::Picture { path: png.clone(), source: Box::new(e) })?;
    Ok(vec![("column_errors.png", "each column's test reconstruction error (also column_errors.csv)")])
}

/// Decodes a `MANIFOLD_SIDE`² grid of 2-D codes at the standard normal's quantiles
/// `(i + 1/2) / side`: first code across the columns, second up the rows.
fn save_manifold(
    model: &dyn Autoencoder,
    path: &std::path::Path,
    shape: (usize, usize),
    dev: &candle_core::Device,
) -> Result<(), RunError> {
    let q: Vec<f32> =
        (0..MANIFOLD_SIDE).map(|i| standard_normal_quantile((i as f64 + 0.5) / MANIFOLD_SIDE as f64) as f32).collect();
    let mut grid = Vec::with_capacity(MANIFOLD_SIDE * MANIFOLD_SIDE * 2);
    for row in 0..MANIFOLD_SIDE {
        for &z1 in &q {
            grid.extend([z1, q[MANIFOLD_SIDE - 1 - row]]);
        }
    }
    let zs = Tensor::from_vec(grid, (MANIFOLD_SIDE * MANIFOLD_SIDE, 2), dev)?;
    let tiles = model.decode_output(&zs)?.to_vec2::<f32>()?;
    let tiles = tiles.into_iter().map(|t| (t, None)).collect();
    let title = format!("Decoded codes on a {MANIFOLD_SIDE}x{MANIFOLD_SIDE} grid of the prior's quantiles");
    let note = "code 1 grows to the right, code 2 upwards";
    Grid::new(title, shape).zoom(1).note(note).rows_of(MANIFOLD_SIDE, tiles).save(path)
}

/// Each code unit's feature: `decode(e_j) - decode(0)` in logit space (for a one-layer decoder,
/// exactly column j of its weight), scaled to [0, 1] per tile, in a square grid (first 1,024 units),
/// sorted by firing frequency `freq` (over `rows` test rows), most often first; units that never
/// fired there are framed in red, last.
fn save_features(
    model: &dyn Autoencoder,
    path: &std::path::Path,
    shape: (usize, usize),
    freq: &[f64],
    rows: usize,
    dev: &candle_core::Device,
) -> Result<(), RunError> {
    let width = model.embed(&Tensor::zeros((1, model.input_dim()), candle_core::DType::F32, dev)?)?.dim(1)?;
    let units = width.min(1024);
    let eye = Tensor::eye(width, candle_core::DType::F32, dev)?.narrow(0, 0, units)?;
    let zero = Tensor::zeros((1, width), candle_core::DType::F32, dev)?;
    let tiles = model.decode(&eye)?.broadcast_sub(&model.decode(&zero)?)?.to_vec2::<f32>()?;
    let scaled: Vec<Vec<f32>> = tiles
        .into_iter()
        .map(|t| {
            let (lo, hi) = t.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            let span = if hi > lo { hi - lo } else { 1.0 };
            t.iter().map(|v| (v - lo) / span).collect()
        })
        .collect();
    let rate = |j: usize| freq.get(j).copied().unwrap_or(0.0);
    let mut order: Vec<usize> = (0..scaled.len()).collect();
    // Most often firing first; ties (the dead, at 0) in unit order.
    order.sort_by(|&a, &b| rate(b).total_cmp(&rate(a)).then(a.cmp(&b)));
    let dead = order.iter().filter(|&&j| rate(j) == 0.0).count();
    // Dead units' tiles faded to grey, so their noise does not draw the eye.
    let faded = |t: &[f32]| t.iter().map(|v| 0.35 + 0.3 * v).collect::<Vec<f32>>();
    let tiles: Vec<(Vec<f32>, Option<[u8; 3]>)> = order
        .iter()
        .map(|&j| if rate(j) == 0.0 { (faded(&scaled[j]), Some(MARK_DEAD)) } else { (scaled[j].clone(), None) })
        .collect();
    let title = format!("Decoder features of {} code units, most often firing first", tiles.len());
    let note = format!("framed in red and faded: {dead} units that never fired on {rows} test rows");
    let cols = (tiles.len() as f64).sqrt().ceil().max(1.0) as usize;
    let zoom = if tiles.len() > 100 { 1 } else { 2 };
    Grid::new(title, shape).zoom(zoom).note(note).rows_of(cols, tiles).save(path)
}
