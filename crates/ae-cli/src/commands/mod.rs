//! One module per subcommand.

mod anomaly;
mod compress;
mod compression;
mod denoise;
mod encode;
mod eval;
mod export;
mod import;
mod inputs;
mod interpolate;
mod probe;
mod runs;
mod sample;
mod throughput;
mod train;

use std::path::Path;

use ae_core::Autoencoder;
use ae_data::Dataset;
use ae_models::BottleneckSpec;
use ae_run::{OpenRun, RunConfig};
use candle_core::Device;

use crate::args::{Cli, Command, Weights};

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(a) => train::run(&a),
        Command::Eval(a) => eval::run(&a),
        Command::Throughput(a) => throughput::run(&a),
        Command::Sample(a) => sample::run(&a),
        Command::Interpolate(a) => interpolate::run(&a),
        Command::Denoise(a) => denoise::run(&a),
        Command::Encode(a) => encode::run(&a),
        Command::Probe(a) => probe::run(&a),
        Command::Runs(a) => runs::run(&a),
        Command::Anomaly(a) => anomaly::run(&a),
        Command::Compress(a) => compress::compress(&a),
        Command::Decompress(a) => compress::decompress(&a),
        Command::Export(a) => export::run(&a),
        Command::Import(a) => import::run(&a),
    }
}

/// Opens `--run DIR` (made by `ae train`) on `dev` with the `choice` weights (best falls back to
/// last when the run kept no best).
pub(crate) fn load_run(dir: &Path, choice: Weights, dev: &Device) -> anyhow::Result<OpenRun> {
    match ae_run::open_run(dir, choice, dev) {
        Err(e @ ae_run::RunError::NotARun { .. }) => Err(crate::exit::usage(format!("--run {e}"))),
        other => Ok(other?),
    }
}

/// Decoded codes as pixel values in input space.
pub(crate) fn decode_to_pixels(model: &dyn Autoencoder, zs: &candle_core::Tensor) -> anyhow::Result<Vec<Vec<f32>>> {
    Ok(model.decode_output(zs)?.to_vec2::<f32>()?)
}

/// The `.png` files in folder `dir`, sorted; an error naming the folder when it has none.
pub(crate) fn png_files(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("--input {}: cannot list: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")))
        .collect();
    files.sort();
    if files.is_empty() {
        anyhow::bail!("--input {}: no .png files in this folder", dir.display());
    }
    Ok(files)
}

/// Refuses a dataset whose examples are not the size the model takes.
pub(crate) fn check_input_size(model: &dyn Autoencoder, data: &Dataset) -> anyhow::Result<()> {
    let features = data.shape.features();
    if features != model.input_dim() {
        return Err(crate::exit::usage(format!(
            "{}: {} ({features} values each) but the model takes model.input_dim = {}",
            data.name,
            data.shape,
            model.input_dim()
        )));
    }
    Ok(())
}

/// For models with a sparse code: `mean_activation`, `l0`, `fvu`, `explained_variance` and
/// `nmse` on `test`, and `dead_fraction` over the last `dead_window` training examples, as JSON
/// fields.
pub(crate) fn sparse_report(
    model: &dyn Autoencoder,
    cfg: &RunConfig,
    data: &Dataset,
) -> anyhow::Result<Option<serde_json::Map<String, serde_json::Value>>> {
    let (Some(threshold), BottleneckSpec::Sparse(sc)) = (model.active_threshold(), &cfg.model.bottleneck) else {
        return Ok(None);
    };
    let bs = cfg.train.batch_size.max(256);
    let activity = ae_train::code_activity(model, &data.test, bs, threshold)?;
    let window = data.train.tail(sc.dead_window)?;
    let dead = ae_train::dead_fraction(model, &window, bs, threshold)?;
    let mut out = serde_json::Map::new();
    out.insert("mean_activation".into(), serde_json::json!(activity.mean_activation));
    out.insert("l0".into(), serde_json::json!(activity.l0));
    out.insert("fvu".into(), serde_json::json!(activity.fvu));
    out.insert("explained_variance".into(), serde_json::json!(activity.explained_variance()));
    out.insert("nmse".into(), serde_json::json!(activity.nmse));
    out.insert("dead_fraction".into(), serde_json::json!(dead));
    out.insert("dead_window".into(), serde_json::json!(window.len()));
    out.insert("sparsity_spec".into(), serde_json::json!(sc.sparsity.to_string()));
    Ok(Some(out))
}

/// The codes of every example of `split` (in memory or streamed), in batches, without
/// gradients.
pub(crate) fn embed_split(
    model: &dyn Autoencoder,
    split: &dyn ae_data::RowSource,
) -> anyhow::Result<candle_core::Tensor> {
    let mut parts = Vec::new();
    for start in (0..split.len()).step_by(1000) {
        let n = 1000.min(split.len() - start);
        parts.push(model.embed(&split.range(start, n)?)?);
    }
    Ok(candle_core::Tensor::cat(&parts, 0)?)
}
