//! Anomaly detection with a trained autoencoder: each example is scored by how badly the model
//! explains it, and the scores are judged by the area under the ROC curve against known labels.
//! A model trained on normal data only should explain anomalies worse.

use ae_core::Autoencoder;
use ae_core::rng::{self, Purpose};
use ae_data::{Loader, Split};

use crate::error::TrainError;

/// Posterior draws averaged into a VAE's ELBO estimate per example.
pub const ELBO_DRAWS: usize = 8;

/// What an anomaly score measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreKind {
    /// The negative ELBO in nats (models with a density: the VAE), averaged over
    /// [`ELBO_DRAWS`] posterior draws from the evaluation stream of the seed (index 2).
    NegElbo,
    /// The reconstruction loss per example under the model's own loss (BCE in nats, or the
    /// squared error summed over features).
    ReconLoss,
}

/// One anomaly score per example of `split`, in its order: higher is more anomalous.
pub fn anomaly_scores<M: Autoencoder + ?Sized>(
    model: &M,
    split: &Split,
    batch_size: usize,
    seed: u64,
) -> Result<(ScoreKind, Vec<f64>), TrainError> {
    let mut rng = rng::stream(seed, Purpose::Eval, 2);
    let mut kind = ScoreKind::ReconLoss;
    let mut scores = Vec::with_capacity(split.len());
    for batch in Loader::sequential(split, batch_size.max(1)).epoch(0) {
        let xs = batch?.input;
        if let Some(log_w) = model.log_importance_weights(&xs, ELBO_DRAWS, &mut rng)? {
            kind = ScoreKind::NegElbo;
            scores.extend(
                log_w
                    .to_vec2::<f32>()?
                    .iter()
                    .map(|row| -row.iter().map(|&w| f64::from(w)).sum::<f64>() / row.len() as f64),
            );
        } else {
            let losses = model.recon_loss().per_example(&model.forward(&xs)?, &xs)?;
            scores.extend(losses.to_vec1::<f32>()?.into_iter().map(f64::from));
        }
    }
    Ok((kind, scores))
}

/// The area under the ROC curve of `scores` for telling `positive` examples (anomalies) from the
/// rest: the probability that a random positive scores above a random negative, ties counting
/// one half (the Mann-Whitney U statistic over both counts). `None` without both kinds, or with
/// a score that is not finite.
pub fn roc_auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len().checked_sub(n_pos)?;
    if n_pos == 0 || n_neg == 0 || scores.len() != positive.len() || scores.iter().any(|s| !s.is_finite()) {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Ranks from 1, ties sharing their average rank.
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let average = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_pos += average * order[i..=j].iter().filter(|&&k| positive[k]).count() as f64;
        i = j + 1;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Some((rank_sum_pos - p * (p + 1.0) / 2.0) / (p * n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_auc_matches_hand_counted_pairs() {
        // Perfect, reversed and chance orderings.
        assert_eq!(roc_auc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]), Some(1.0));
        assert_eq!(roc_auc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]), Some(0.0));
        // Pairs (pos, neg): (0.5 vs 0.1) win, (0.5 vs 0.7) loss, (0.3 vs 0.1) win, (0.3 vs 0.7)
        // loss: 2 of 4.
        assert_eq!(roc_auc(&[0.1, 0.5, 0.3, 0.7], &[false, true, true, false]), Some(0.5));
        // A tie between a positive and a negative counts one half: (1 + 0.5) / 2.
        assert_eq!(roc_auc(&[0.2, 0.2, 0.9], &[false, true, true]), Some(0.75));
        // Three positives against three negatives with ties: 3 + 3 + (0.5 + 1 + 0.5) of 9 pairs.
        let got = roc_auc(&[0.3, 0.1, 0.35, 0.8, 0.3, 0.3], &[false, false, true, true, false, true]).unwrap();
        assert!((got - 8.0 / 9.0).abs() < 1e-12, "{got}");
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None, "no negatives");
        assert_eq!(roc_auc(&[f64::NAN, 0.2], &[true, false]), None);
    }
}
