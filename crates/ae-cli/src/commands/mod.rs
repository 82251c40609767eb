//! One module per subcommand.

mod anomaly;
mod compress;
mod compression;
mod denoise;
mod encode;
mod eval;
mod interpolate;
mod pictures;
mod probe;
mod runs;
mod sample;
mod throughput;
mod train;

use std::path::Path;

use ae_core::rng::{self, Purpose};
use ae_core::{Autoencoder, Params};
use ae_data::Dataset;
use ae_models::ModelConfig;
use candle_core::Device;

use crate::args::{CheckpointChoice, Cli, Command};
use crate::config::RunConfig;
use ae_train::RunDir;

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
    }
}

/// A trained run opened for use: its config, its model with the chosen weights loaded.
pub(crate) struct LoadedRun {
    /// The run's resolved config.
    pub cfg: RunConfig,
    /// The model, weights loaded.
    pub model: Box<dyn Autoencoder>,
    /// Which weights: "best" or "last".
    pub weights: &'static str,
    /// The `step` recorded in the checkpoint, if any.
    pub step: Option<u64>,
    /// The weights file loaded.
    pub weights_file: std::path::PathBuf,
}

/// Opens the run directory `dir` (made by `ae train`) on `dev` with the `choice` weights
/// (best falls back to last when the run kept no best).
pub(crate) fn load_run(dir: &Path, choice: CheckpointChoice, dev: &Device) -> anyhow::Result<LoadedRun> {
    let run = RunDir::new(dir);
    if !run.config().is_file() {
        return Err(crate::exit::usage(format!(
            "--run {}: no config.json there; expected a run directory made by `ae train`",
            dir.display()
        )));
    }
    let cfg = RunConfig::load(&run.config())?;
    let (model, params) = build_model(&cfg.model, cfg.train.seed, dev)?;
    let (weights, path) = match choice {
        CheckpointChoice::Best if run.best().is_file() => ("best", run.best()),
        _ => ("last", run.model()),
    };
    let meta = params.load(&path)?;
    let step = meta.get("step").and_then(|s| s.parse::<u64>().ok());
    Ok(LoadedRun { cfg, model, weights, step, weights_file: path })
}

/// Decoded codes as pixel values in input space.
pub(crate) fn decode_to_pixels(model: &dyn Autoencoder, zs: &candle_core::Tensor) -> anyhow::Result<Vec<Vec<f32>>> {
    Ok(model.decode_output(zs)?.to_vec2::<f32>()?)
}

/// Builds the model `cfg` describes with parameters seeded from `seed` on `dev`.
pub(crate) fn build_model(
    cfg: &ModelConfig,
    seed: u64,
    dev: &Device,
) -> anyhow::Result<(Box<dyn Autoencoder>, Params)> {
    let params = Params::new();
    let model = ae_models::build(cfg, params.var_builder(rng::stream(seed, Purpose::Init, 0), dev))?;
    Ok((model, params))
}

/// Refuses a dataset whose images are not the size the model takes.
pub(crate) fn check_input_size(model: &dyn Autoencoder, data: &Dataset) -> anyhow::Result<()> {
    let features = data.test.features();
    if features != model.input_dim() {
        return Err(crate::exit::usage(format!(
            "{}: images have {features} pixels ({}x{}) but the model takes model.input_dim = {}",
            data.name,
            data.image_shape.0,
            data.image_shape.1,
            model.input_dim()
        )));
    }
    Ok(())
}

/// For models with a sparse code: `mean_activation`, `l0` and `fvu` on `test`, and
/// `dead_fraction` over the last `dead_window` training examples, as JSON fields.
pub(crate) fn sparse_report(
    model: &dyn Autoencoder,
    cfg: &RunConfig,
    data: &Dataset,
) -> anyhow::Result<Option<serde_json::Map<String, serde_json::Value>>> {
    let (Some(threshold), ModelConfig::Sparse(sc)) = (model.active_threshold(), &cfg.model) else { return Ok(None) };
    let bs = cfg.train.batch_size.max(256);
    let activity = ae_train::code_activity(model, &data.test, bs, threshold)?;
    let window = data.train.tail(sc.dead_window)?;
    let dead = ae_train::dead_fraction(model, &window, bs, threshold)?;
    let mut out = serde_json::Map::new();
    out.insert("mean_activation".into(), serde_json::json!(activity.mean_activation));
    out.insert("l0".into(), serde_json::json!(activity.l0));
    out.insert("fvu".into(), serde_json::json!(activity.fvu));
    out.insert("dead_fraction".into(), serde_json::json!(dead));
    out.insert("dead_window".into(), serde_json::json!(window.len()));
    out.insert("sparsity_spec".into(), serde_json::json!(sc.sparsity.to_string()));
    Ok(Some(out))
}

/// The codes of every example of `split`, in batches, without gradients.
pub(crate) fn embed_split(model: &dyn Autoencoder, split: &ae_data::Split) -> anyhow::Result<candle_core::Tensor> {
    let mut parts = Vec::new();
    for start in (0..split.len()).step_by(1000) {
        let n = 1000.min(split.len() - start);
        parts.push(model.embed(&split.images.narrow(0, start, n)?)?);
    }
    Ok(candle_core::Tensor::cat(&parts, 0)?)
}
