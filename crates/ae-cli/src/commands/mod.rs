//! One module per subcommand.

mod eval;
mod throughput;
mod train;

use std::path::Path;

use ae_core::rng::{self, Purpose};
use ae_core::{Autoencoder, Params};
use ae_data::{Dataset, Split};
use ae_models::ModelConfig;
use anyhow::Context;
use candle_core::Device;

use crate::args::{Cli, Command};

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(a) => train::run(&a),
        Command::Eval(a) => eval::run(&a),
        Command::Throughput(a) => throughput::run(&a),
    }
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

/// Writes `reconstructions.png` for the first 32 examples of `split`.
pub(crate) fn write_reconstructions(
    model: &dyn Autoencoder,
    split: &Split,
    shape: (usize, usize),
    path: &Path,
) -> anyhow::Result<()> {
    let xs = split.head(32)?.images;
    let ys = model.reconstruct(&xs)?;
    crate::images::save_reconstructions(path, &xs, &ys, shape)
        .with_context(|| format!("{}: cannot write", path.display()))
}
