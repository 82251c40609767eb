//! Sparsity constraints on a code: an L1 penalty on ReLU activations (the Keras tutorial's
//! activity regulariser), Ng's KL penalty towards a target mean activation of sigmoid units, or
//! TopK (Gao et al., 2024): keep the K largest activations of each example and zero the rest.
//! Written in configs and on the command line as `l1[:WEIGHT]`, `kl:RHO:WEIGHT` and `topk:K`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The default L1 weight, per unit of summed activation per example. Our reconstruction loss is
/// summed over the 784 pixels (about 100 nats per digit); the Keras tutorial's 1e-5 on a loss
/// averaged over pixels corresponds to 0.008 here, which barely moves the code; this default was
/// chosen on `digits` (docs/sparse.md) to halve the mean activation for under 10% more
/// reconstruction loss.
pub const DEFAULT_L1_WEIGHT: f64 = 0.1;

/// A sparsity constraint.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Sparsity {
    /// `weight * sum_j |z_j|` per example, on ReLU code units.
    L1 {
        /// Penalty weight.
        weight: f64,
    },
    /// `weight * sum_j KL(rho || rho_hat_j)` per batch, with `rho_hat_j` unit j's mean activation
    /// over the batch, on sigmoid code units.
    Kl {
        /// Target mean activation, in (0, 1).
        rho: f64,
        /// Penalty weight.
        weight: f64,
    },
    /// `weight * sum_j z_j ||d_j||` per example on ReLU units, `d_j` unit j's decoder direction
    /// (Anthropic's April 2024 recipe): the penalty cannot be dodged by shrinking the code and
    /// growing the decoder, so the decoder needs no norm constraint.
    L1DecoderNorm {
        /// Penalty weight.
        weight: f64,
    },
    /// Keep the `k` largest code values of each example (ties to the lower index), zero the rest.
    TopK {
        /// Active units per example.
        k: usize,
    },
}

/// What `--sparsity` accepts, for messages.
pub const SPARSITY_SPECS: &str =
    "l1[:WEIGHT], l1dec:WEIGHT, kl:RHO:WEIGHT (RHO in (0, 1)) or topk:K (WEIGHT >= 0, K >= 1)";

impl Default for Sparsity {
    fn default() -> Self {
        Sparsity::L1 { weight: DEFAULT_L1_WEIGHT }
    }
}

impl fmt::Display for Sparsity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sparsity::L1 { weight } => write!(f, "l1:{weight}"),
            Sparsity::L1DecoderNorm { weight } => write!(f, "l1dec:{weight}"),
            Sparsity::Kl { rho, weight } => write!(f, "kl:{rho}:{weight}"),
            Sparsity::TopK { k } => write!(f, "topk:{k}"),
        }
    }
}

impl FromStr for Sparsity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let num = |v: &str, what: &str| -> Result<f64, String> {
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| format!("{s:?}: {what} {v:?} is not a finite number; expected {SPARSITY_SPECS}"))
        };
        let weight = |v: &str| -> Result<f64, String> {
            let w = num(v, "the weight")?;
            if w < 0.0 {
                return Err(format!("{s:?}: the weight {v} is negative; expected {SPARSITY_SPECS}"));
            }
            Ok(w)
        };
        match parts.as_slice() {
            ["l1"] => Ok(Sparsity::default()),
            ["l1", w] => Ok(Sparsity::L1 { weight: weight(w)? }),
            ["l1dec", w] => Ok(Sparsity::L1DecoderNorm { weight: weight(w)? }),
            ["kl", rho, w] => {
                let r = num(rho, "rho")?;
                if !(r > 0.0 && r < 1.0) {
                    return Err(format!("{s:?}: rho {rho} is outside (0, 1); expected {SPARSITY_SPECS}"));
                }
                Ok(Sparsity::Kl { rho: r, weight: weight(w)? })
            }
            ["topk", k] => match k.parse::<usize>() {
                Ok(k) if k >= 1 => Ok(Sparsity::TopK { k }),
                _ => Err(format!("{s:?}: K {k:?} is not a whole number >= 1; expected {SPARSITY_SPECS}")),
            },
            _ => Err(format!("unknown sparsity {s:?}; expected {SPARSITY_SPECS}")),
        }
    }
}

ae_core::string_spec!(Sparsity);

/// The TopK mask of a row-major `(rows, width)` buffer: 1 for the `k` largest values of each row
/// that are also positive (ties go to the lower index, NaN counts as smallest), 0 elsewhere. The
/// kept values pass through a ReLU, as in Gao et al.'s TopK, SAELens and sparsify, so a code never
/// holds a negative activation and an exported dictionary decodes the same there. The selection
/// is a partial sort, linear in `width`: a full sort of 16,384 latents per row cost more than the
/// encoder's product.
pub fn topk_mask(values: &[f32], width: usize, k: usize) -> Vec<f32> {
    let mut mask = Vec::new();
    topk_mask_into(values, width, k, &mut mask);
    mask
}

/// [`topk_mask`] into `mask`, reusing its memory.
pub fn topk_mask_into(values: &[f32], width: usize, k: usize, mask: &mut Vec<f32>) {
    use rayon::prelude::*;
    let width = width.max(1);
    mask.clear();
    mask.resize(values.len(), 0.0);
    // Rows in parallel (a batch of 4,096 rows of 8,192 latents took a quarter of a TopK step on
    // one thread), each with its own index buffer.
    values.par_chunks(width).zip(mask.par_chunks_mut(width)).for_each_init(
        || Vec::with_capacity(width),
        |keys: &mut Vec<f32>, (row, out)| {
            let k = k.min(row.len());
            if k == 0 {
                return;
            }
            // The k-th largest key, by selection on a copy of the row's keys; then every key
            // above it, and as many equal to it as are left, in index order (ties to the lower
            // index).
            let key = |v: f32| if v.is_nan() { f32::NEG_INFINITY } else { v };
            keys.clear();
            keys.extend(row.iter().map(|&v| key(v)));
            let (_, kth, _) = keys.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
            let kth = *kth;
            let above = row.iter().filter(|&&v| key(v).total_cmp(&kth).is_gt()).count();
            let mut ties = k - above;
            for (o, &v) in out.iter_mut().zip(row) {
                let keep = match key(v).total_cmp(&kth) {
                    std::cmp::Ordering::Greater => true,
                    std::cmp::Ordering::Equal if ties > 0 => {
                        ties -= 1;
                        true
                    }
                    _ => false,
                };
                if keep && v > 0.0 {
                    *o = 1.0;
                }
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip_and_bad_ones_name_the_problem() {
        assert_eq!("l1".parse::<Sparsity>().unwrap(), Sparsity::L1 { weight: DEFAULT_L1_WEIGHT });
        for s in ["l1:0.5", "l1:0", "l1dec:5", "kl:0.05:3", "topk:32"] {
            assert_eq!(s.parse::<Sparsity>().unwrap().to_string(), s);
        }
        for (bad, want) in [
            ("kl:0:1", "rho 0 is outside (0, 1)"),
            ("kl:1.5:1", "rho 1.5 is outside (0, 1)"),
            ("l1:-1", "the weight -1 is negative"),
            ("kl:0.05:-2", "the weight -2 is negative"),
            ("topk:0", "K \"0\" is not a whole number >= 1"),
            ("topk:x", "K \"x\" is not a whole number >= 1"),
            ("l1:nan", "the weight \"nan\" is not a finite number"),
            ("l2:1", "unknown sparsity \"l2:1\""),
        ] {
            let err = bad.parse::<Sparsity>().unwrap_err();
            assert!(err.contains(want) && err.contains("expected l1[:WEIGHT]"), "{bad}: {err}");
        }
    }

    #[test]
    fn topk_keeps_exactly_k_per_row_with_ties_to_the_lower_index() {
        let v = [0.5, 0.9, 0.5, -1.0, /* row 2 */ 1.0, 1.0, 1.0, f32::NAN];
        let m = topk_mask(&v, 4, 2);
        assert_eq!(m, [1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
        assert!(m.chunks(4).all(|r| r.iter().sum::<f32>() == 2.0));
    }

    #[test]
    fn topk_drops_selected_values_that_are_not_positive() {
        let v = [-0.5, -0.2, -1.0, /* row 2 */ 0.3, 0.0, -2.0];
        assert_eq!(topk_mask(&v, 3, 2), [0.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(topk_mask(&v, 3, 9), [0.0, 0.0, 0.0, 1.0, 0.0, 0.0], "k above the width keeps every positive value");
    }

    #[test]
    fn partial_selection_matches_a_full_sort() {
        let mut rng = ae_core::rng::stream(3, ae_core::rng::Purpose::Eval, 0);
        let drawn = ae_core::rng::normal(&mut rng, 50 * 97, 0.0, 1.0, &candle_core::Device::Cpu).unwrap();
        let drawn: Vec<f32> = drawn.to_vec1().unwrap();
        // Every seventh value the same, so ties are exercised.
        let values: Vec<f32> = drawn.iter().enumerate().map(|(i, &v)| if i % 7 == 0 { 0.25 } else { v }).collect();
        for k in [1, 5, 32, 96] {
            let fast = topk_mask(&values, 97, k);
            for (row, got) in values.chunks(97).zip(fast.chunks(97)) {
                let mut order: Vec<usize> = (0..97).collect();
                order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
                let mut want = vec![0f32; 97];
                order.iter().take(k).filter(|&&i| row[i] > 0.0).for_each(|&i| want[i] = 1.0);
                assert_eq!(got, &want[..], "k {k}");
            }
        }
    }
}
