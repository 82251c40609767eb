//! The training part of a run's config. Defaults are the published ones: Adam 1e-3 with betas
//! 0.9/0.999, batch 128, 10 epochs.

use ae_data::Noise;
use serde::{Deserialize, Serialize};

use crate::error::TrainError;
use crate::schedule::LrSchedule;

/// How to train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Passes over the training split.
    pub epochs: usize,
    /// Examples per optimizer step.
    pub batch_size: usize,
    /// The run seed; every random stream derives from it.
    pub seed: u64,
    /// The optimizer and its base learning rate.
    pub optimizer: OptimizerConfig,
    /// How the learning rate moves with the step.
    pub schedule: LrSchedule,
    /// Rescale gradients whose global L2 norm exceeds this.
    pub clip_grad_norm: Option<f64>,
    /// Stop when validation loss stops improving.
    pub early_stopping: Option<EarlyStopping>,
    /// Steps over which the KL weight (for variational models) ramps linearly from 0 to 1; 0 means
    /// full weight from the first step.
    pub kl_warmup_steps: u64,
    /// Use the model's fused CPU step where it has one; `false` differentiates with candle's
    /// autograd everywhere (the reference path; same numbers, slower).
    pub fused: bool,
    /// Corrupt each batch's input with this noise and train to rebuild the clean target
    /// (denoising autoencoders); validation batches are corrupted too, with fixed draws.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise: Option<Noise>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 128,
            seed: 0,
            optimizer: OptimizerConfig::default(),
            schedule: LrSchedule::default(),
            clip_grad_norm: None,
            early_stopping: None,
            kl_warmup_steps: 0,
            fused: true,
            noise: None,
        }
    }
}

/// Adam (L2 penalty added to the gradient, as `torch.optim.Adam`) or AdamW (decoupled weight
/// decay, as `torch.optim.AdamW`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// `torch.optim.Adam`.
    Adam(AdamConfig),
    /// `torch.optim.AdamW`.
    #[serde(rename = "adamw")]
    AdamW(AdamConfig),
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        OptimizerConfig::Adam(AdamConfig::default())
    }
}

impl OptimizerConfig {
    /// The hyperparameters.
    pub fn adam(&self) -> &AdamConfig {
        match self {
            OptimizerConfig::Adam(c) | OptimizerConfig::AdamW(c) => c,
        }
    }

    /// The hyperparameters, to change.
    pub fn adam_mut(&mut self) -> &mut AdamConfig {
        match self {
            OptimizerConfig::Adam(c) | OptimizerConfig::AdamW(c) => c,
        }
    }

    /// True for AdamW.
    pub fn decoupled(&self) -> bool {
        matches!(self, OptimizerConfig::AdamW(_))
    }
}

/// Adam's hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamConfig {
    /// Base learning rate.
    pub lr: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// L2 penalty (Adam) or decoupled decay (AdamW).
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 }
    }
}

/// Stop after `patience` epochs without the validation loss improving by more than `min_delta`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EarlyStopping {
    /// Epochs to wait for an improvement.
    pub patience: usize,
    /// Smallest decrease that counts as one.
    pub min_delta: f64,
}

impl Default for EarlyStopping {
    fn default() -> Self {
        Self { patience: 5, min_delta: 0.0 }
    }
}

fn invalid(field: &str, value: impl ToString, expected: &str) -> TrainError {
    TrainError::InvalidConfig { field: field.into(), value: value.to_string(), expected: expected.into() }
}

/// Checks `v` is finite and within `[lo, hi)` (or `(lo, hi)` when `open_lo`).
fn check_range(field: &str, v: f64, lo: f64, hi: f64, open_lo: bool, expected: &str) -> Result<(), TrainError> {
    let ok = v.is_finite() && (if open_lo { v > lo } else { v >= lo }) && v < hi;
    if ok { Ok(()) } else { Err(invalid(field, v, expected)) }
}

impl TrainConfig {
    /// The KL weight at 0-based `step`: `(step + 1) / kl_warmup_steps` during the warm-up, then 1.
    /// A weight schedule of the trainer, a pure function of the step like the learning rate.
    pub fn kl_weight_at(&self, step: u64) -> f64 {
        if step >= self.kl_warmup_steps { 1.0 } else { (step + 1) as f64 / self.kl_warmup_steps as f64 }
    }

    /// Refuses values outside their ranges, naming the field as config files spell it.
    pub fn validate(&self) -> Result<(), TrainError> {
        if self.epochs == 0 || self.epochs > 1_000_000 {
            return Err(invalid("epochs", self.epochs, "1 to 1000000"));
        }
        if self.batch_size == 0 || self.batch_size > 1 << 20 {
            return Err(invalid("batch_size", self.batch_size, "1 to 1048576"));
        }
        let a = self.optimizer.adam();
        check_range("optimizer.lr", a.lr, 0.0, 10.0, true, "a finite number in (0, 10)")?;
        check_range("optimizer.beta1", a.beta1, 0.0, 1.0, false, "a number in [0, 1)")?;
        check_range("optimizer.beta2", a.beta2, 0.0, 1.0, false, "a number in [0, 1)")?;
        check_range("optimizer.eps", a.eps, 0.0, 1.0, true, "a number in (0, 1)")?;
        check_range("optimizer.weight_decay", a.weight_decay, 0.0, 1.0, false, "a number in [0, 1)")?;
        if let Some(c) = self.clip_grad_norm {
            check_range("clip_grad_norm", c, 0.0, f64::MAX, true, "a positive finite number")?;
        }
        if let Some(es) = &self.early_stopping {
            if es.patience == 0 {
                return Err(invalid("early_stopping.patience", 0, "at least 1 epoch"));
            }
            check_range("early_stopping.min_delta", es.min_delta, 0.0, f64::MAX, false, "a finite number >= 0")?;
        }
        self.schedule.validate()?;
        // A cosine "minimum" above the base rate would make the rate climb instead of decay.
        if let crate::schedule::Decay::Cosine { min_lr } = self.schedule.decay
            && min_lr > a.lr
        {
            return Err(invalid(
                "schedule.decay.min_lr",
                min_lr,
                &format!("at most train.optimizer.lr = {} (the cosine decays from the rate to min_lr)", a.lr),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_published_ones() {
        let c = TrainConfig::default();
        assert_eq!((c.epochs, c.batch_size), (10, 128));
        assert_eq!(
            c.optimizer,
            OptimizerConfig::Adam(AdamConfig { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 })
        );
        c.validate().unwrap();
    }

    #[test]
    fn a_cosine_minimum_above_the_rate_is_refused() {
        let mut c = TrainConfig::default();
        c.schedule.decay = crate::schedule::Decay::Cosine { min_lr: 5.0 };
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "train.schedule.decay.min_lr: 5 is invalid; expected at most train.optimizer.lr = 0.001 (the cosine decays from the rate to min_lr)"
        );
        c.schedule.decay = crate::schedule::Decay::Cosine { min_lr: 1e-3 };
        c.validate().unwrap();
    }

    #[test]
    fn out_of_range_values_name_the_field() {
        let mut c = TrainConfig::default();
        c.optimizer.adam_mut().lr = f64::NAN;
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "train.optimizer.lr: NaN is invalid; expected a finite number in (0, 10)"
        );
        let c = TrainConfig { batch_size: 0, ..Default::default() };
        assert_eq!(c.validate().unwrap_err().to_string(), "train.batch_size: 0 is invalid; expected 1 to 1048576");
        let c = TrainConfig { clip_grad_norm: Some(-1.0), ..Default::default() };
        assert!(c.validate().unwrap_err().to_string().starts_with("train.clip_grad_norm: -1 is invalid"));
        let mut c = TrainConfig::default();
        c.optimizer.adam_mut().beta2 = 1.0;
        assert!(c.validate().unwrap_err().to_string().starts_with("train.optimizer.beta2: 1 is invalid"));
    }

    #[test]
    fn kl_weight_warms_up_linearly() {
        let c = TrainConfig { kl_warmup_steps: 4, ..Default::default() };
        let w: Vec<f64> = (0..6).map(|s| c.kl_weight_at(s)).collect();
        assert_eq!(w, [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]);
        assert_eq!(TrainConfig::default().kl_weight_at(0), 1.0);
    }

    #[test]
    fn json_is_strict() {
        let err = serde_json::from_str::<TrainConfig>(r#"{"epoch": 3}"#).unwrap_err().to_string();
        assert!(err.contains("unknown field `epoch`"), "{err}");
        let c: TrainConfig = serde_json::from_str(r#"{"optimizer": {"kind": "adamw", "lr": 0.01}}"#).unwrap();
        assert!(c.optimizer.decoupled());
        assert_eq!(c.optimizer.adam().beta2, 0.999);
    }
}
