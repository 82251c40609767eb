//! Adam and AdamW with the exact update of `torch.optim.Adam`/`AdamW`, and state keyed by
//! parameter name so it can be saved and restored (candle-nn's `AdamW` hides its moments, which
//! makes exact resumes impossible).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use ae_core::params::{read_safetensors, tensors_to_safetensors};
use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};

use crate::config::OptimizerConfig;
use crate::error::TrainError;

/// First and second moments of one parameter.
#[derive(Debug, Clone)]
struct Moments {
    m: Tensor,
    v: Tensor,
}

/// Adam or AdamW over named parameters.
#[derive(Debug, Clone)]
pub struct Adam {
    cfg: OptimizerConfig,
    moments: BTreeMap<String, Moments>,
    step: u64,
}

impl Adam {
    /// A fresh optimizer (no moments, step 0).
    pub fn new(cfg: OptimizerConfig) -> Self {
        Self {
            cfg,
            moments: BTreeMap::new(),
            step: 0,
        }
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// One update of every parameter that has a gradient, at learning rate `lr`. Parameters
    /// without a gradient are left alone, as PyTorch skips parameters whose `.grad` is `None`.
    pub fn step(
        &mut self,
        vars: &[(String, Var)],
        grads: &GradStore,
        lr: f64,
    ) -> candle_core::Result<()> {
        let c = self.cfg.adam().clone();
        let decoupled = self.cfg.decoupled();
        self.step += 1;
        let t = self.step as i32;
        let bias1 = 1.0 - c.beta1.powi(t);
        let bias2 = 1.0 - c.beta2.powi(t);
        let step_size = lr / bias1;
        for (name, var) in vars {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            let p = var.as_tensor();
            let g = if !decoupled && c.weight_decay != 0.0 {
                (g + p.affine(c.weight_decay, 0.0)?)?
            } else {
                g.clone()
            };
            let state = match self.moments.remove(name) {
                Some(s) => s,
                None => Moments {
                    m: g.zeros_like()?,
                    v: g.zeros_like()?,
                },
            };
            let m = (state.m.affine(c.beta1, 0.0)? + g.affine(1.0 - c.beta1, 0.0)?)?;
            let v = (state.v.affine(c.beta2, 0.0)? + g.sqr()?.affine(1.0 - c.beta2, 0.0)?)?;
            let p = if decoupled && c.weight_decay != 0.0 {
                p.affine(1.0 - lr * c.weight_decay, 0.0)?
            } else {
                p.clone()
            };
            let denom = v.sqrt()?.affine(1.0 / bias2.sqrt(), c.eps)?;
            let update = (m.div(&denom)?).affine(step_size, 0.0)?;
            var.set(&(p - update)?)?;
            self.moments.insert(name.clone(), Moments { m, v });
        }
        Ok(())
    }

    /// The state as a safetensors file image: tensors `m.<name>` and `v.<name>`, and the step as
    /// the only metadata key (safetensors writes metadata in hash order, so one key keeps the
    /// file's bytes deterministic).
    pub fn to_safetensors(&self) -> Result<Vec<u8>, TrainError> {
        let mut named = Vec::with_capacity(2 * self.moments.len());
        for (name, s) in &self.moments {
            named.push((format!("m.{name}"), s.m.clone()));
            named.push((format!("v.{name}"), s.v.clone()));
        }
        let metadata = HashMap::from([("step".to_string(), self.step.to_string())]);
        Ok(tensors_to_safetensors(&named, &metadata)?)
    }

    /// Restores the state saved by [`Adam::to_safetensors`] for these parameters; refuses files
    /// whose names or shapes do not match them. Returns the file's metadata.
    pub fn load(
        &mut self,
        path: &Path,
        vars: &[(String, Var)],
    ) -> Result<HashMap<String, String>, TrainError> {
        let bad = |reason: String| TrainError::BadCheckpoint {
            path: path.to_path_buf(),
            reason,
        };
        let expected: BTreeMap<String, Vec<usize>> = vars
            .iter()
            .flat_map(|(n, v)| {
                [
                    (format!("m.{n}"), v.dims().to_vec()),
                    (format!("v.{n}"), v.dims().to_vec()),
                ]
            })
            .collect();
        let dev = vars.first().map(|(_, v)| v.device().clone());
        let (mut tensors, metadata) = read_safetensors(path, &expected, dev.as_ref())?;
        let step = metadata
            .get("step")
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| bad("missing or malformed step metadata".into()))?;
        let mut moments = BTreeMap::new();
        for (name, _) in vars {
            let m = tensors
                .remove(&format!("m.{name}"))
                .ok_or_else(|| bad(format!("no m.{name}")))?;
            let v = tensors
                .remove(&format!("v.{name}"))
                .ok_or_else(|| bad(format!("no v.{name}")))?;
            moments.insert(name.clone(), Moments { m, v });
        }
        self.moments = moments;
        self.step = step;
        Ok(metadata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AdamConfig;
    use candle_core::Device;

    /// Three steps on `sum((p - target_t)^2)` with `target_t = [[1, 0], [0, 1]] * (t + 1)`.
    fn run(cfg: OptimizerConfig) -> Vec<f32> {
        let p =
            Var::from_tensor(&Tensor::new(&[[0.5f32, -1.0], [2.0, 0.1]], &Device::Cpu).unwrap())
                .unwrap();
        let vars = vec![("p".to_string(), p.clone())];
        let mut opt = Adam::new(cfg);
        for t in 0..3 {
            let target = (Tensor::new(&[[1f32, 0.0], [0.0, 1.0]], &Device::Cpu).unwrap()
                * (t + 1) as f64)
                .unwrap();
            let loss = (p.as_tensor() - target)
                .unwrap()
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap();
            opt.step(&vars, &loss.backward().unwrap(), 0.1).unwrap();
        }
        p.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

    // Reference values from PyTorch 2:
    //   p = torch.tensor([[0.5, -1.0], [2.0, 0.1]], requires_grad=True)
    //   opt = cls([p], lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
    //   for t in range(3):
    //       opt.zero_grad(); target = torch.tensor([[1., 0.], [0., 1.]]) * (t + 1)
    //       ((p - target) ** 2).sum().backward(); opt.step()
    #[test]
    fn matches_pytorch_adam_and_adamw() {
        let adam = |wd| AdamConfig {
            lr: 0.1,
            weight_decay: wd,
            ..Default::default()
        };
        let cases = [
            (
                OptimizerConfig::Adam(adam(0.0)),
                [0.78507507f32, -0.70158631, 1.70062339, 0.39230490],
            ),
            (
                OptimizerConfig::Adam(adam(0.1)),
                [0.78445250, -0.70158631, 1.70062339, 0.39230418],
            ),
            (
                OptimizerConfig::AdamW(adam(0.1)),
                [0.76722944, -0.67510128, 1.64436865, 0.38636413],
            ),
        ];
        for (cfg, want) in cases {
            let got = run(cfg.clone());
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 2e-6, "{cfg:?}: got {got:?}, want {want:?}");
            }
        }
    }

    #[test]
    fn state_round_trips_through_safetensors() {
        let p = Var::from_tensor(&Tensor::new(&[1f32, 2.0, 3.0], &Device::Cpu).unwrap()).unwrap();
        let vars = vec![("w".to_string(), p.clone())];
        let mut a = Adam::new(OptimizerConfig::default());
        let grads = p
            .as_tensor()
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        a.step(&vars, &grads, 0.01).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("opt.safetensors");
        std::fs::write(&path, a.to_safetensors().unwrap()).unwrap();
        let mut b = Adam::new(OptimizerConfig::default());
        b.load(&path, &vars).unwrap();
        assert_eq!(b.steps(), 1);
        let (ma, mb) = (&a.moments["w"], &b.moments["w"]);
        assert_eq!(
            ma.m.to_vec1::<f32>().unwrap(),
            mb.m.to_vec1::<f32>().unwrap()
        );
        assert_eq!(
            ma.v.to_vec1::<f32>().unwrap(),
            mb.v.to_vec1::<f32>().unwrap()
        );
        let other = vec![("x".to_string(), p)];
        let err = Adam::new(OptimizerConfig::default())
            .load(&path, &other)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("missing [m.x, v.x], unexpected [m.w, v.w]"),
            "{err}"
        );
    }
}
