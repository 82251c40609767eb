//! Learning-rate schedules as pure functions of the global optimizer step, so a resumed run uses
//! exactly the rates an uninterrupted one would. Every schedule may start with a linear warm-up.

use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// A decay shape after an optional linear warm-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LrSchedule {
    /// Steps over which the rate climbs linearly from `base/warmup_steps` to `base`.
    pub warmup_steps: u64,
    /// What happens after the warm-up.
    pub decay: Decay,
}

impl Default for LrSchedule {
    fn default() -> Self {
        Self { warmup_steps: 0, decay: Decay::Constant }
    }
}

/// The decay after warm-up; steps count from the end of the warm-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Decay {
    /// The base rate throughout.
    Constant,
    /// Multiply by `gamma` every `step_size` steps (`torch.optim.lr_scheduler.StepLR`).
    Step {
        /// Steps between drops.
        step_size: u64,
        /// Factor per drop.
        gamma: f64,
    },
    /// Multiply by `gamma` every step (`ExponentialLR`).
    Exponential {
        /// Factor per step.
        gamma: f64,
    },
    /// Half a cosine from the base rate down to `min_lr` at the last step (`CosineAnnealingLR`).
    Cosine {
        /// The rate at the end.
        #[serde(default)]
        min_lr: f64,
    },
}

impl LrSchedule {
    /// The rate at 0-based `step` of `total_steps`, for base rate `base`.
    pub fn lr_at(&self, base: f64, step: u64, total_steps: u64) -> f64 {
        if step < self.warmup_steps {
            return base * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let t = step - self.warmup_steps;
        match &self.decay {
            Decay::Constant => base,
            Decay::Step { step_size, gamma } => base * gamma.powf((t / step_size.max(&1)) as f64),
            Decay::Exponential { gamma } => base * gamma.powf(t as f64),
            Decay::Cosine { min_lr } => {
                let span = total_steps.saturating_sub(self.warmup_steps).max(1) as f64;
                let progress = (t as f64 / span).min(1.0);
                min_lr + (base - min_lr) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }

    /// Refuses shapes that cannot work, naming the field.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |field: &str, value: String, expected: &str| TrainError::InvalidConfig {
            field: format!("schedule.decay.{field}"),
            value,
            expected: expected.into(),
        };
        match &self.decay {
            Decay::Constant => Ok(()),
            Decay::Step { step_size, gamma } => {
                if *step_size == 0 {
                    return Err(bad("step_size", "0".into(), "at least 1 step"));
                }
                if !(gamma.is_finite() && *gamma > 0.0 && *gamma <= 1.0) {
                    return Err(bad("gamma", gamma.to_string(), "a number in (0, 1]"));
                }
                Ok(())
            }
            Decay::Exponential { gamma } if !(gamma.is_finite() && *gamma > 0.0 && *gamma <= 1.0) => {
                Err(bad("gamma", gamma.to_string(), "a number in (0, 1]"))
            }
            Decay::Exponential { .. } => Ok(()),
            Decay::Cosine { min_lr } if !(min_lr.is_finite() && *min_lr >= 0.0) => {
                Err(bad("min_lr", min_lr.to_string(), "a finite number >= 0"))
            }
            Decay::Cosine { .. } => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    // Reference rates from PyTorch 2 (scheduler.step() once per optimizer step):
    //   opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=0.1)
    //   StepLR(opt, step_size=3, gamma=0.5)        -> lrs at steps 0..7
    //   ExponentialLR(opt, gamma=0.9)              -> lrs at steps 0..4
    //   CosineAnnealingLR(opt, T_max=10, eta_min=0.01) -> lrs at steps 0, 5, 10
    #[test]
    fn decays_match_pytorch() {
        let step = LrSchedule { warmup_steps: 0, decay: Decay::Step { step_size: 3, gamma: 0.5 } };
        let got: Vec<f64> = (0..7).map(|s| step.lr_at(0.1, s, 100)).collect();
        for (g, w) in got.iter().zip([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]) {
            assert!(close(*g, w), "{got:?}");
        }
        let exp = LrSchedule { warmup_steps: 0, decay: Decay::Exponential { gamma: 0.9 } };
        for (s, w) in [(0, 0.1), (1, 0.09), (2, 0.081), (3, 0.0729)] {
            assert!(close(exp.lr_at(0.1, s, 100), w));
        }
        let cos = LrSchedule { warmup_steps: 0, decay: Decay::Cosine { min_lr: 0.01 } };
        for (s, w) in [(0, 0.1), (5, 0.055), (10, 0.01), (12, 0.01)] {
            assert!(close(cos.lr_at(0.1, s, 10), w), "step {s}: {}", cos.lr_at(0.1, s, 10));
        }
    }

    #[test]
    fn warmup_climbs_linearly_then_hands_over() {
        let s = LrSchedule { warmup_steps: 4, decay: Decay::Cosine { min_lr: 0.0 } };
        let got: Vec<f64> = (0..5).map(|t| s.lr_at(1.0, t, 14)).collect();
        assert_eq!(got, [0.25, 0.5, 0.75, 1.0, 1.0]);
        assert!(close(s.lr_at(1.0, 9, 14), 0.5));
        assert!(close(s.lr_at(1.0, 14, 14), 0.0));
    }

    #[test]
    fn bad_shapes_are_refused() {
        let s = LrSchedule { warmup_steps: 0, decay: Decay::Step { step_size: 0, gamma: 0.5 } };
        assert_eq!(
            s.validate().unwrap_err().to_string(),
            "train.schedule.decay.step_size: 0 is invalid; expected at least 1 step"
        );
        let s = LrSchedule { warmup_steps: 0, decay: Decay::Exponential { gamma: 1.5 } };
        assert!(s.validate().unwrap_err().to_string().starts_with("train.schedule.decay.gamma: 1.5"));
    }
}
