//! Build, train and evaluate a stacked autoencoder through the library crates alone.
//!
//! `cargo run --release --example stacked` trains 784-512-256-64 on the bundled digits for three
//! epochs into a temporary run directory and prints the test reconstruction loss per pixel.

use ae::core::rng::{Purpose, stream};
use ae::core::{Autoencoder, Params};
use ae::data::{DataConfig, Dataset};
use ae::models::{StackedAe, StackedConfig};
use ae::train::metrics::MetricsFiles;
use ae::train::{Fit, RunDir, TrainConfig, evaluate};
use candle_core::Device;

fn main() -> anyhow::Result<()> {
    let dev = Device::Cpu;
    let train_cfg = TrainConfig { epochs: 3, ..Default::default() };
    let data = Dataset::load(&DataConfig::default(), train_cfg.seed, &dev)?;

    let params = Params::new();
    let vb = params.var_builder(stream(train_cfg.seed, Purpose::Init, 0), &dev);
    let model = StackedAe::new(&StackedConfig::default(), vb)?;

    let dir = std::env::temp_dir().join(format!("ae-example-stacked-{}", std::process::id()));
    let run = RunDir::new(&dir);
    run.create()?;
    let mut metrics = MetricsFiles::new(&run);
    // Checkpoints and metrics files in the run directory; the best epoch's weights back in the
    // model at the end.
    let report = Fit::new(&model, &params, &data.train)
        .validation(data.val.as_ref())
        .config(&train_cfg)
        .run_dir(&run)
        .observer(&mut metrics)
        .restore_best(true)
        .run()?;

    let test = evaluate(&model, &data.test, train_cfg.batch_size, train_cfg.seed)?;
    println!(
        "{} parameters, {} steps: test recon per pixel {:.4} with epoch {}'s weights (run files in {})",
        params.count(),
        report.state.step,
        test.recon / model.input_dim() as f64,
        report.weights_epoch,
        dir.display()
    );
    Ok(())
}
