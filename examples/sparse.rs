//! Train a sparse autoencoder through the library crates alone and look at its code.
//!
//! `cargo run --release --example sparse` trains 784-512-256-64 with the default L1 penalty on the
//! bundled digits for three epochs, then prints the code's mean activation, active units per
//! example and the fraction of variance its reconstructions leave unexplained, and a linear probe's
//! accuracy on the codes.

use ae::core::Autoencoder;
use ae::core::Params;
use ae::core::rng::{Purpose, stream};
use ae::data::{DataConfig, Dataset};
use ae::models::{SparseAe, SparseConfig};
use ae::train::probe::linear_probe;
use ae::train::{Fit, TrainConfig, code_activity};
use candle_core::Device;

fn main() -> anyhow::Result<()> {
    let dev = Device::Cpu;
    let train_cfg = TrainConfig { epochs: 3, ..Default::default() };
    let data = Dataset::load(&DataConfig::default(), train_cfg.seed, &dev)?;

    let params = Params::new();
    let vb = params.var_builder(stream(train_cfg.seed, Purpose::Init, 0), &dev);
    let cfg = SparseConfig::default();
    let model = SparseAe::new(&cfg, vb)?;

    // No run directory: the best epoch's weights (lowest validation loss) stay in the model.
    Fit::new(&model, &params, &data.train).validation(data.val.as_ref()).config(&train_cfg).restore_best(true).run()?;

    let threshold = model.active_threshold().unwrap_or(0.0);
    let activity = code_activity(&model, &data.test, 500, threshold)?;
    println!(
        "{}: mean activation {:.4}, {:.1} active units per example, fvu {:.4}",
        cfg.sparsity, activity.mean_activation, activity.l0, activity.fvu
    );
    let (train_codes, test_codes) = (model.embed(&data.train.images)?, model.embed(&data.test.images)?);
    let (train_labels, test_labels) = (data.train.require_labels("probe")?, data.test.require_labels("probe")?);
    let accuracy = linear_probe((&train_codes, train_labels), (&test_codes, test_labels), data.classes.len(), 10, 0)?;
    println!("linear probe on the codes: test accuracy {accuracy:.4}");
    Ok(())
}
