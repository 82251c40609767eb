//! `ae sample`: new images from a VAE, decoded from codes drawn from its prior with a seed.

use ae_core::rng::{self, Purpose};
use anyhow::Context;

use super::{decode_to_pixels, load_run};
use crate::args::SampleArgs;
use crate::exit::usage;
use ae_run::grid::Grid;
use ae_run::images::image_shape;

/// Runs `ae sample`.
pub fn run(a: &SampleArgs) -> anyhow::Result<()> {
    if a.n == 0 || a.n > 10_000 {
        return Err(usage(format!("--n {}: expected between 1 and 10000 images", a.n)));
    }
    let dev = a.on.device.open()?;
    let run = load_run(&a.on.run, a.on.checkpoint, &dev)?;
    let seed = a.seed.unwrap_or(run.config.train.seed);
    let mut rng = rng::stream(seed, Purpose::Sampling, 0);
    let Some(zs) = run.model.sample_prior(a.n, &mut rng)? else {
        return Err(usage(format!(
            "--run {}: the model is {}; sampling needs a model with a prior (--model vae)",
            a.on.run.display(),
            run.config.model.kind()
        )));
    };
    let out = a.out.clone().unwrap_or_else(|| a.on.run.join("samples.png"));
    let tiles = decode_to_pixels(&*run.model, &zs)?;
    Grid::new(format!("{} samples decoded from the prior (seed {seed})", a.n), image_shape(run.model.input_dim()))
        .square(tiles)
        .save(&out)
        .with_context(|| format!("--out {}", out.display()))?;
    println!("wrote {} ({} samples, seed {seed}, {} weights)", out.display(), a.n, run.weights);
    Ok(())
}
