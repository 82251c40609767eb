//! Evaluation: a model's loss terms over a whole split, per example.

use ae_core::rng::{self, Purpose};
use ae_core::{Autoencoder, LossValues, StepContext};
use ae_data::{EVAL_NOISE_STREAM, Loader, Noise, Split};

use crate::error::TrainError;

/// The mean loss terms of `model` over `split`, per example, in batches of `batch_size`.
/// Randomness inside the model (VAE sampling) draws from the evaluation stream of `seed`.
pub fn evaluate<M: Autoencoder + ?Sized>(
    model: &M,
    split: &Split,
    batch_size: usize,
    seed: u64,
) -> Result<LossValues, TrainError> {
    evaluate_with_noise(model, split, batch_size, seed, None)
}

/// Refuses a split whose rows are not f32 of the model's input width (the check every model entry
/// point makes, [`ae_core::input::expect_rows`]), as a typed error naming the split.
pub fn check_split<M: Autoencoder + ?Sized>(model: &M, split: &Split, name: &'static str) -> Result<(), TrainError> {
    let xs = &split.images;
    ae_core::input::expect_rows(xs, model.input_dim(), "examples").map_err(|_| TrainError::DataShape {
        split: name,
        expected: model.input_dim(),
        shape: xs.dims().to_vec(),
        dtype: xs.dtype(),
    })
}

/// [`evaluate`] with each input corrupted by `noise` (fixed draws from the evaluation noise
/// streams of `seed`) and scored against the clean target: a denoising model's objective.
pub fn evaluate_with_noise<M: Autoencoder + ?Sized>(
    model: &M,
    split: &Split,
    batch_size: usize,
    seed: u64,
    noise: Option<Noise>,
) -> Result<LossValues, TrainError> {
    check_split(model, split, "evaluation")?;
    let mut rng = rng::stream(seed, Purpose::Eval, 0);
    let mut sum = LossValues::default();
    for batch in Loader::sequential(split, batch_size).with_noise(noise, seed, EVAL_NOISE_STREAM).epoch(0) {
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

/// How well a model cleans noisy images: the clean test images against their corrupted copies
/// and against the model's reconstructions of those copies. MSEs are per pixel, averaged over
/// images; PSNRs are `10 log10(1 / MSE)` per image in dB (pixels in [0, 1]), averaged over images,
/// with the MSE floored at 1e-10 (100 dB) so a perfect image stays finite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DenoisingScores {
    /// Mean squared error of the corrupted inputs.
    pub mse_noisy: f64,
    /// Mean squared error of the reconstructions.
    pub mse_denoised: f64,
    /// PSNR of the corrupted inputs, dB.
    pub psnr_noisy: f64,
    /// PSNR of the reconstructions, dB.
    pub psnr_denoised: f64,
}

/// PSNR in dB of one image with per-pixel mean squared error `mse` (pixels in [0, 1]).
pub fn psnr(mse: f64) -> f64 {
    -10.0 * mse.max(1e-10).log10()
}

/// [`DenoisingScores`] of `model` on `split` corrupted by `noise`, with the fixed evaluation
/// draws of `seed` (the same noisy images for every model scored with that seed).
pub fn denoising_scores<M: Autoencoder + ?Sized>(
    model: &M,
    split: &Split,
    batch_size: usize,
    seed: u64,
    noise: Noise,
) -> Result<DenoisingScores, TrainError> {
    let mut sums = [0f64; 4];
    for batch in Loader::sequential(split, batch_size).with_noise(Some(noise), seed, EVAL_NOISE_STREAM).epoch(0) {
        let batch = batch?;
        let denoised = model.reconstruct(&batch.input)?.to_vec2::<f32>()?;
        let (noisy, clean) = (batch.input.to_vec2::<f32>()?, batch.target.to_vec2::<f32>()?);
        for ((c, n), d) in clean.iter().zip(&noisy).zip(&denoised) {
            let mse =
                |a: &[f32]| c.iter().zip(a).map(|(x, y)| f64::from(x - y).powi(2)).sum::<f64>() / c.len().max(1) as f64;
            let (mn, md) = (mse(n), mse(d));
            for (s, v) in sums.iter_mut().zip([mn, md, psnr(mn), psnr(md)]) {
                *s += v;
            }
        }
    }
    let n = split.len().max(1) as f64;
    Ok(DenoisingScores {
        mse_noisy: sums[0] / n,
        mse_denoised: sums[1] / n,
        psnr_noisy: sums[2] / n,
        psnr_denoised: sums[3] / n,
    })
}

/// How sparse a model's code is and how much of the data it explains.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodeActivity {
    /// Mean code value over units and examples.
    pub mean_activation: f64,
    /// Average number of active units per example.
    pub l0: f64,
    /// Fraction of variance unexplained by the reconstructions.
    pub fvu: f64,
    /// OpenAI's normalised MSE: squared error over the inputs' squared norm, uncentred.
    pub nmse: f64,
}

impl CodeActivity {
    /// The share of the variance the reconstructions explain, `1 - fvu`.
    pub fn explained_variance(&self) -> f64 {
        1.0 - self.fvu
    }
}

/// Mean activation and `l0` of `model`'s code on `split` (a unit is active on an example when its
/// value exceeds `threshold`), the fraction of variance unexplained of its reconstructions
/// (`sum (x - x_hat)^2 / sum (x - mean_x)^2`, `mean_x` the per-feature mean over the split) and
/// their normalised MSE (`sum (x - x_hat)^2 / sum x^2`).
pub fn code_activity<M: Autoencoder + ?Sized>(
    model: &M,
    split: &Split,
    batch_size: usize,
    threshold: f32,
) -> Result<CodeActivity, TrainError> {
    let n = split.len().max(1) as f64;
    let features = split.features();
    let mut mean_x = vec![0f64; features];
    for batch in Loader::sequential(split, batch_size).epoch(0) {
        for row in batch?.target.to_vec2::<f32>()? {
            for (m, v) in mean_x.iter_mut().zip(row) {
                *m += f64::from(v) / n;
            }
        }
    }
    let (mut act_sum, mut active, mut err, mut var, mut norm) = (0f64, 0f64, 0f64, 0f64, 0f64);
    let mut code_width = 1;
    for batch in Loader::sequential(split, batch_size).epoch(0) {
        let batch = batch?;
        let codes = model.embed(&batch.input)?.to_vec2::<f32>()?;
        for code in &codes {
            code_width = code.len().max(1);
            act_sum += code.iter().map(|&v| f64::from(v)).sum::<f64>();
            active += code.iter().filter(|&&v| v > threshold).count() as f64;
        }
        let recon = model.reconstruct(&batch.input)?.to_vec2::<f32>()?;
        for (x, y) in batch.target.to_vec2::<f32>()?.iter().zip(&recon) {
            for ((xv, yv), m) in x.iter().zip(y).zip(&mean_x) {
                err += f64::from(xv - yv).powi(2);
                var += (f64::from(*xv) - m).powi(2);
                norm += f64::from(*xv).powi(2);
            }
        }
    }
    Ok(CodeActivity {
        mean_activation: act_sum / (n * code_width as f64),
        l0: active / n,
        fvu: if var > 0.0 { err / var } else { f64::NAN },
        nmse: if norm > 0.0 { err / norm } else { f64::NAN },
    })
}

/// The share of code units that never fire (value above `threshold`) on `split`.
pub fn dead_fraction<M: Autoencoder + ?Sized>(
    model: &M,
    split: &Split,
    batch_size: usize,
    threshold: f32,
) -> Result<f64, TrainError> {
    let freq = firing_frequencies(model, split, batch_size, threshold)?;
    Ok(freq.iter().filter(|&&f| f == 0.0).count() as f64 / freq.len().max(1) as f64)
}

/// For each code unit, the share of `split`'s examples on which it fires (value above
/// `threshold`): the feature density SAE papers plot as a histogram of its log10.
pub fn firing_frequencies<M: Autoencoder + ?Sized>(
    model: &M,
    split: &Split,
    batch_size: usize,
    threshold: f32,
) -> Result<Vec<f64>, TrainError> {
    let mut fired: Vec<u64> = Vec::new();
    for batch in Loader::sequential(split, batch_size).epoch(0) {
        for code in model.embed(&batch?.input)?.to_vec2::<f32>()? {
            fired.resize(code.len(), 0);
            for (f, v) in fired.iter_mut().zip(code) {
                *f += u64::from(v > threshold);
            }
        }
    }
    let n = split.len().max(1) as f64;
    Ok(fired.into_iter().map(|c| c as f64 / n).collect())
}

#[cfg(test)]
mod tests {
    use ae_core::{Batch, LossParts, ReconLoss};
    use candle_core::{Device, Result, Tensor};

    use super::*;

    /// Codes are the inputs; reconstructions are the inputs halved.
    struct Halving;

    impl Autoencoder for Halving {
        fn input_dim(&self) -> usize {
            2
        }
        fn code_dim(&self) -> usize {
            2
        }
        fn encode(&self, xs: &Tensor) -> Result<Tensor> {
            Ok(xs.clone())
        }
        fn decode(&self, zs: &Tensor) -> Result<Tensor> {
            zs * 0.5
        }
        fn recon_loss(&self) -> ReconLoss {
            ReconLoss::Mse
        }
        fn loss(&self, batch: &Batch, _ctx: &mut StepContext<'_>) -> Result<LossParts> {
            Ok(LossParts::recon_only(self.reconstruct(&batch.input)?.sum_all()?))
        }
    }

    #[test]
    fn code_activity_matches_a_hand_computation() {
        // Rows (1, 0), (3, 2): per-feature means (2, 1); errors are the halves, (0.5, 0), (1.5, 1).
        let rows = Tensor::new(&[[1f32, 0.0], [3.0, 2.0]], &Device::Cpu).unwrap();
        let split = Split::new(rows, None).unwrap();
        let a = code_activity(&Halving, &split, 1, 0.5).unwrap();
        let err = 0.25 + 0.0 + 2.25 + 1.0;
        assert!((a.fvu - err / (1.0 + 1.0 + 1.0 + 1.0)).abs() < 1e-12, "{a:?}");
        assert!((a.nmse - err / (1.0 + 0.0 + 9.0 + 4.0)).abs() < 1e-12, "{a:?}");
        assert!((a.explained_variance() - (1.0 - a.fvu)).abs() < 1e-15);
        assert_eq!(a.l0, 1.5, "codes above 0.5: one in the first row, two in the second");
        assert_eq!(a.mean_activation, 1.5);
        // Rows [1, 0] and [3, 2]: unit 0 fires on both, unit 1 on one.
        assert_eq!(firing_frequencies(&Halving, &split, 1, 0.5).unwrap(), [1.0, 0.5]);
        assert_eq!(dead_fraction(&Halving, &split, 2, 2.5).unwrap(), 0.5, "above 2.5 only unit 0 fires (3)");
    }
}
