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

/// Decoded rows per call of [`Autoencoder::log_importance_weights`]: bounds memory (about 25 MB of
/// logits for 784 pixels) whatever `k` is.
const IW_ROWS: usize = 8192;

/// The importance-weighted estimate of the negative log-likelihood (Burda et al., 2015), per
/// example in nats, averaged over `split`: `-log(1/k sum_k w_k)` with `k` posterior draws per
/// example, summed stably (log-sum-exp in f64) over chunks of draws so any `k` fits in memory.
/// An upper bound on `-log p(x)` that tightens as `k` grows. `None` for models without a density.
/// Draws come from the evaluation stream of `seed` (index 1), so the figure repeats.
pub fn importance_weighted_nll<M: Autoencoder + ?Sized>(
    model: &M,
    split: &Split,
    k: usize,
    seed: u64,
) -> Result<Option<f64>, TrainError> {
    if k == 0 || split.is_empty() {
        return Ok(None);
    }
    let mut rng = rng::stream(seed, Purpose::Eval, 1);
    let examples_per_call = (IW_ROWS / k).max(1);
    let draws_per_call = k.min(IW_ROWS);
    let mut total = 0.0f64;
    for batch in Loader::sequential(split, examples_per_call).epoch(0) {
        let xs = batch?.input;
        let b = xs.dim(0)?;
        // Per example: the running maximum and the sum of exp(log_w - max).
        let mut acc = vec![(f64::NEG_INFINITY, 0.0f64); b];
        let mut done = 0;
        while done < k {
            let kc = draws_per_call.min(k - done);
            let Some(log_w) = model.log_importance_weights(&xs, kc, &mut rng)? else { return Ok(None) };
            for (row, (max, sum)) in log_w.to_vec2::<f32>()?.iter().zip(acc.iter_mut()) {
                for &w in row {
                    let w = f64::from(w);
                    if w > *max {
                        *sum = *sum * (*max - w).exp() + 1.0;
                        *max = w;
                    } else {
                        *sum += (w - *max).exp();
                    }
                }
            }
            done += kc;
        }
        let ln_k = (k as f64).ln();
        total -= acc.iter().map(|(max, sum)| max + sum.ln() - ln_k).sum::<f64>();
    }
    Ok(Some(total / split.len() as f64))
}
