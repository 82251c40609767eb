//! Train and score a denoising autoencoder through the library crates alone.
//!
//! `cargo run --release --example denoising` trains 784-512-256-64 on the bundled digits for three
//! epochs with Gaussian noise (sigma 0.5) corrupting every training batch, then prints the PSNR of
//! the noisy test digits and of their reconstructions.

use ae::core::Params;
use ae::core::rng::{Purpose, stream};
use ae::data::{DataConfig, Dataset, Noise};
use ae::models::{StackedAe, StackedConfig};
use ae::train::{Fit, TrainConfig, denoising_scores};
use candle_core::Device;

fn main() -> anyhow::Result<()> {
    let dev = Device::Cpu;
    // The noise lives in the data pipeline: the model only sees (corrupted input, clean target).
    let noise = Noise::Gaussian { sigma: 0.5 };
    let train_cfg = TrainConfig { epochs: 3, noise: Some(noise), ..Default::default() };
    let data = Dataset::load(&DataConfig::default(), train_cfg.seed, &dev)?;

    let params = Params::new();
    let vb = params.var_builder(stream(train_cfg.seed, Purpose::Init, 0), &dev);
    let model = StackedAe::new(&StackedConfig::default(), vb)?;

    // No run directory: the best epoch's weights (lowest validation loss) stay in the model.
    Fit::new(&model, &params, &data.train).validation(data.val.as_ref()).config(&train_cfg).restore_best(true).run()?;

    let s = denoising_scores(&model, &data.test, 500, train_cfg.seed, noise)?;
    println!("test digits under {noise}: noisy {:.2} dB, denoised {:.2} dB PSNR", s.psnr_noisy, s.psnr_denoised);
    Ok(())
}
