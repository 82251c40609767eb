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
    /// Keep the `k` largest code values of each example (ties to the lower index), zero the rest.
    TopK {
        /// Active units per example.
        k: usize,
    },
}

/// What `--sparsity` accepts, for messages.
pub const SPARSITY_SPECS: &str = "l1[:WEIGHT], kl:RHO:WEIGHT (RHO in (0, 1)) or topk:K (WEIGHT >= 0, K >= 1)";

impl Default for Sparsity {
    fn default() -> Self {
        Sparsity::L1 { weight: DEFAULT_L1_WEIGHT }
    }
}

impl fmt::Display for Sparsity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sparsity::L1 { weight } => write!(f, "l1:{weight}"),
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
/// (ties go to the lower index, NaN counts as smallest), 0 elsewhere.
pub fn topk_mask(values: &[f32], width: usize, k: usize) -> Vec<f32> {
    let mut mask = vec![0f32; values.len()];
    let mut order: Vec<usize> = Vec::with_capacity(width);
    for (row, out) in values.chunks(width.max(1)).zip(mask.chunks_mut(width.max(1))) {
        order.clear();
        order.extend(0..row.len());
        let key = |i: usize| if row[i].is_nan() { f32::NEG_INFINITY } else { row[i] };
        order.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
        for &i in order.iter().take(k) {
            out[i] = 1.0;
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip_and_bad_ones_name_the_problem() {
        assert_eq!("l1".parse::<Sparsity>().unwrap(), Sparsity::L1 { weight: DEFAULT_L1_WEIGHT });
        for s in ["l1:0.5", "l1:0", "kl:0.05:3", "topk:32"] {
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
}
