//! Evaluation: a model's loss terms over a whole split, per example.

use ae_core::rng::{self, Purpose};
use ae_core::{Autoencoder, LossValues, StepContext};
use ae_data::{Loader, Split};

use crate::error::TrainError;

/// The mean loss terms of `model` over `split`, per example, in batches of `batch_size`.
/// Randomness inside the model (VAE sampling) draws from the evaluation stream of `seed`.
pub fn evaluate<M: Autoencoder + ?Sized>(
    model: &M,
    split: &Split,
    batch_size: usize,
    seed: u64,
) -> Result<LossValues, TrainError> {
    let mut rng = rng::stream(seed, Purpose::Eval, 0);
    let mut sum = LossValues::default();
    for batch in Loader::sequential(split, batch_size).epoch(0) {
        let batch = batch?;
        let n = batch.input.dim(0)? as f64;
        let mut ctx = StepContext { rng: &mut rng, training: false, kl_weight: 1.0 };
        let parts = model.loss(&batch, &mut ctx)?;
        sum.add_weighted(&parts.values()?, n);
    }
    Ok(sum.scaled(split.len().max(1) as f64))
}
