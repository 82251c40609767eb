//! Build, train, evaluate and sample a variational autoencoder through the library crates alone.
//!
//! `cargo run --release --example vae` trains pytorch/examples' 784-400-20 VAE on the bundled
//! digits for three epochs, prints the test negative ELBO and its importance-weighted tightening
//! (in nats per example), and decodes a few codes drawn from the prior.

use ae::core::rng::{Purpose, stream};
use ae::core::{Autoencoder, Params};
use ae::data::{DataConfig, Dataset};
use ae::models::{Vae, VaeConfig};
use ae::train::{Fit, TrainConfig, evaluate, importance_weighted_nll};
use candle_core::Device;

fn main() -> anyhow::Result<()> {
    let dev = Device::Cpu;
    let train_cfg = TrainConfig { epochs: 3, ..Default::default() };
    let data = Dataset::load(&DataConfig::default(), train_cfg.seed, &dev)?;

    let params = Params::new();
    let vb = params.var_builder(stream(train_cfg.seed, Purpose::Init, 0), &dev);
    let model = Vae::new(&VaeConfig::default(), vb)?;

    // No run directory: the best epoch's weights (lowest validation loss) stay in the model.
    Fit::new(&model, &params, &data.train).validation(data.val.as_ref()).config(&train_cfg).restore_best(true).run()?;

    let test = evaluate(&model, &data.test, train_cfg.batch_size, train_cfg.seed)?;
    let kl = test.kl.unwrap_or_default();
    let nll = importance_weighted_nll(&model, &data.test, 100, train_cfg.seed)?.unwrap_or(f64::NAN);
    println!(
        "test neg_elbo {:.2} nats (recon {:.2} + kl {kl:.2}); nll_iw (K = 100) {nll:.2}",
        test.recon + kl,
        test.recon
    );

    // New digits: codes from the prior through the decoder, as pixel values in [0, 1].
    let zs = model.sample_prior(4, &mut stream(7, Purpose::Sampling, 0))?.expect("a VAE has a prior");
    let pixels = model.recon_loss().to_output(&model.decode(&zs)?)?;
    println!("sampled {:?} pixels, mean grey level {:.3}", pixels.dims(), pixels.mean_all()?.to_scalar::<f32>()?);
    Ok(())
}
