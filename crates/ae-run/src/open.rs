//! Opening a run directory made by `ae train` (or by [`ae_train::fit`] with a [`RunDir`]): its
//! config, the model it describes and the chosen weights, ready to embed, reconstruct or sample.

use std::path::{Path, PathBuf};

use ae_core::rng::{self, Purpose};
use ae_core::{Autoencoder, Params};
use ae_models::ModelConfig;
use ae_train::RunDir;
use candle_core::Device;

use crate::config::RunConfig;
use crate::error::RunError;

/// Which weights to load from a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Weights {
    /// `best.safetensors`, the lowest validation loss (falls back to last when the run kept none).
    #[default]
    Best,
    /// `model.safetensors`, the last checkpoint.
    Last,
}

/// A trained run opened for use.
pub struct OpenRun {
    /// The run's recorded config.
    pub config: RunConfig,
    /// The model, with the chosen weights loaded.
    pub model: Box<dyn Autoencoder>,
    /// The model's parameters (the model reads them: loading other weights here changes it).
    pub params: Params,
    /// Which weights were loaded: best, or last when asked for or when the run kept no best.
    pub weights: Weights,
    /// The training step recorded in the weights file, if any.
    pub step: Option<u64>,
    /// The weights file loaded.
    pub weights_file: PathBuf,
}

impl std::fmt::Debug for OpenRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenRun")
            .field("kind", &self.config.model.kind())
            .field("weights", &self.weights)
            .field("step", &self.step)
            .field("weights_file", &self.weights_file)
            .finish()
    }
}

/// Opens the run directory `dir` on `dev` with the `weights` asked for.
///
/// ```no_run
/// use ae_core::Autoencoder;
/// use ae_run::{Weights, open_run};
///
/// let run = open_run("runs/stacked-digits".as_ref(), Weights::Best, &ae_core::candle::Device::Cpu)?;
/// let xs = ae_core::candle::Tensor::zeros((1, run.model.input_dim()), ae_core::candle::DType::F32, &ae_core::candle::Device::Cpu)?;
/// let code = run.model.embed(&xs)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn open_run(dir: &Path, weights: Weights, dev: &Device) -> Result<OpenRun, RunError> {
    let run = RunDir::new(dir);
    if !run.config().is_file() {
        return Err(RunError::NotARun { path: dir.to_path_buf() });
    }
    let config = RunConfig::load(&run.config())?;
    let (model, params) = build_model(&config.model, config.train.seed, dev)?;
    let (weights, weights_file) = match weights {
        Weights::Best if run.best().is_file() => (Weights::Best, run.best()),
        _ => (Weights::Last, run.model()),
    };
    let meta = params.load(&weights_file)?;
    let step = meta.get("step").and_then(|s| s.parse::<u64>().ok());
    Ok(OpenRun { config, model, params, weights, step, weights_file })
}

/// Builds the model `cfg` describes with parameters initialised from `seed` on `dev`, exactly as
/// a run with that seed starts.
pub fn build_model(cfg: &ModelConfig, seed: u64, dev: &Device) -> Result<(Box<dyn Autoencoder>, Params), RunError> {
    let params = Params::new();
    let checked = cfg.clone().check()?;
    let model = ae_models::build(&checked, params.var_builder(rng::stream(seed, Purpose::Init, 0), dev))?;
    Ok((model, params))
}

impl Weights {
    /// `"best"` or `"last"`, as reports print it.
    pub fn name(self) -> &'static str {
        match self {
            Weights::Best => "best",
            Weights::Last => "last",
        }
    }
}

impl std::fmt::Display for Weights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
