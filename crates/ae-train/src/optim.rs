//! Adam and AdamW with the update of `torch.optim.Adam`/`AdamW`, and state keyed by parameter
//! name so it can be saved and restored (candle-nn's `AdamW` hides its moments, which makes exact
//! resumes impossible).
//!
//! On the CPU the moments live in host vectors and each parameter is updated in place in one
//! pass (no tensor is allocated); on other devices the update is composed from tensor ops. Tests
//! check both against PyTorch.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use ae_core::fused::host::{HostView, update_in_place};
use ae_core::params::{read_safetensors, tensors_to_safetensors};
use ae_core::{GradRef, Gradients};
use candle_core::{Device, Tensor, Var};

use crate::config::OptimizerConfig;
use crate::error::TrainError;

/// First and second moments of one parameter.
#[derive(Debug, Clone)]
enum Moments {
    /// On the host, for CPU parameters updated in place.
    Host { m: Vec<f32>, v: Vec<f32> },
    /// As tensors on the parameter's device.
    Device { m: Tensor, v: Tensor },
}

/// Adam or AdamW over named parameters.
#[derive(Debug, Clone)]
pub struct Adam {
    cfg: OptimizerConfig,
    moments: BTreeMap<String, Moments>,
    step: u64,
    /// Compose the update from tensor ops even on the CPU (the reference path, for tests).
    force_tensor_ops: bool,
}

/// The scalars of one update.
#[derive(Debug, Clone, Copy)]
struct Coefficients {
    beta1: f32,
    beta2: f32,
    /// `1 - beta1` and `1 - beta2`, taken in f64 (in f32, `1 - 0.999` is off by 1.3e-5).
    one_minus_beta1: f32,
    one_minus_beta2: f32,
    eps: f32,
    step_size: f32,
    sqrt_bias2: f32,
    l2: f32,
    decay: f32,
}

impl Adam {
    /// A fresh optimizer (no moments, step 0).
    pub fn new(cfg: OptimizerConfig) -> Self {
        Self { cfg, moments: BTreeMap::new(), step: 0, force_tensor_ops: false }
    }

    /// The same optimizer composing its update from tensor ops on every device.
    pub fn with_tensor_ops(mut self) -> Self {
        self.force_tensor_ops = true;
        self
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// One update of every parameter that has a gradient, at learning rate `lr`. Parameters
    /// without a gradient are left alone, as PyTorch skips parameters whose `.grad` is `None`.
    /// Returns whether every parameter updated on the host is still finite: a NaN or infinite
    /// gradient makes its parameter NaN in the same step, so this is the gradient check, paid for
    /// inside the update loop. (Parameters updated with tensor ops, off the CPU, are not checked.)
    pub fn step(&mut self, vars: &[(String, Var)], grads: &Gradients, lr: f64) -> candle_core::Result<bool> {
        let mut finite = true;
        let c = self.cfg.adam().clone();
        let decoupled = self.cfg.decoupled();
        self.step += 1;
        let t = self.step as i32;
        let bias1 = 1.0 - c.beta1.powi(t);
        let bias2 = 1.0 - c.beta2.powi(t);
        let k = Coefficients {
            beta1: c.beta1 as f32,
            beta2: c.beta2 as f32,
            one_minus_beta1: (1.0 - c.beta1) as f32,
            one_minus_beta2: (1.0 - c.beta2) as f32,
            eps: c.eps as f32,
            step_size: (lr / bias1) as f32,
            sqrt_bias2: bias2.sqrt() as f32,
            l2: if decoupled { 0.0 } else { c.weight_decay as f32 },
            decay: if decoupled { (1.0 - lr * c.weight_decay) as f32 } else { 1.0 },
        };
        for (name, var) in vars {
            let (grad_tensor, host_grad) = match grads.get(var.as_tensor()) {
                Some(GradRef::Host(g)) => (None, Some(HostGrad::Slice(g))),
                Some(GradRef::Tensor(t)) => (Some(t), HostView::of(t).map(HostGrad::View)),
                None => (None, None),
            };
            if let (Some(g), false) = (&host_grad, self.force_tensor_ops) {
                let n = var.elem_count();
                let g = g.as_slice();
                if g.len() != n {
                    candle_core::bail!("gradient of {name} has {} values for {n} parameters", g.len());
                }
                let moments = self
                    .moments
                    .entry(name.clone())
                    .or_insert_with(|| Moments::Host { m: vec![0.0; n], v: vec![0.0; n] });
                if let Moments::Host { m, v } = moments
                    && update_in_place(var.as_tensor(), |p| finite &= adam_update(p, g, m, v, k))?
                {
                    continue;
                }
            }
            let g = match (grad_tensor, &host_grad) {
                (Some(t), _) => t.clone(),
                (None, Some(h)) => Tensor::from_slice(h.as_slice(), var.shape(), var.device())?,
                (None, None) => continue,
            };
            self.tensor_step(name, var, &g, k)?;
        }
        Ok(finite)
    }

    /// The update composed from tensor ops (any device).
    fn tensor_step(&mut self, name: &str, var: &Var, g: &Tensor, k: Coefficients) -> candle_core::Result<()> {
        let p = var.as_tensor();
        let g = if k.l2 != 0.0 { (g + p.affine(f64::from(k.l2), 0.0)?)? } else { g.clone() };
        let (m, v) = match self.moments.remove(name) {
            Some(Moments::Device { m, v }) => (m, v),
            Some(Moments::Host { m, v }) => {
                (Tensor::from_vec(m, p.shape(), p.device())?, Tensor::from_vec(v, p.shape(), p.device())?)
            }
            None => (g.zeros_like()?, g.zeros_like()?),
        };
        let (b1, b2) = (f64::from(k.beta1), f64::from(k.beta2));
        let m = (m.affine(b1, 0.0)? + g.affine(f64::from(k.one_minus_beta1), 0.0)?)?;
        let v = (v.affine(b2, 0.0)? + g.sqr()?.affine(f64::from(k.one_minus_beta2), 0.0)?)?;
        let p = if k.decay != 1.0 { p.affine(f64::from(k.decay), 0.0)? } else { p.clone() };
        let denom = v.sqrt()?.affine(1.0 / f64::from(k.sqrt_bias2), f64::from(k.eps))?;
        let update = (m.div(&denom)?).affine(f64::from(k.step_size), 0.0)?;
        var.set(&(p - update)?)?;
        self.moments.insert(name.to_string(), Moments::Device { m, v });
        Ok(())
    }

    /// The state as a safetensors file image: tensors `m.<name>` and `v.<name>`, and the step as
    /// the only metadata key (safetensors writes metadata in hash order, so one key keeps the
    /// file's bytes deterministic).
    pub fn to_safetensors(&self) -> Result<Vec<u8>, TrainError> {
        let mut named = Vec::with_capacity(2 * self.moments.len());
        for (name, s) in &self.moments {
            let (m, v) = match s {
                Moments::Device { m, v } => (m.clone(), v.clone()),
                Moments::Host { m, v } => {
                    (Tensor::from_slice(m, m.len(), &Device::Cpu)?, Tensor::from_slice(v, v.len(), &Device::Cpu)?)
                }
            };
            named.push((format!("m.{name}"), m));
            named.push((format!("v.{name}"), v));
        }
        let metadata = HashMap::from([("step".to_string(), self.step.to_string())]);
        Ok(tensors_to_safetensors(&named, &metadata)?)
    }

    /// Restores the state saved by [`Adam::to_safetensors`] for these parameters; refuses files
    /// whose names or element counts do not match them. Returns the file's metadata.
    pub fn load(&mut self, path: &Path, vars: &[(String, Var)]) -> Result<HashMap<String, String>, TrainError> {
        let bad = |reason: String| TrainError::BadCheckpoint { path: path.to_path_buf(), reason };
        // Before the first step (the checkpoint written when a run starts) there are no moments.
        let untouched = saved_step(path).is_ok_and(|s| s == 0);
        let expected: BTreeMap<String, Vec<usize>> = vars
            .iter()
            .filter(|_| !untouched)
            .flat_map(|(n, v)| [(format!("m.{n}"), vec![v.elem_count()]), (format!("v.{n}"), vec![v.elem_count()])])
            .collect();
        let (mut tensors, metadata) = read_safetensors(path, &expected, None)?;
        if untouched {
            self.moments = BTreeMap::new();
            self.step = 0;
            return Ok(metadata);
        }
        let step = metadata
            .get("step")
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| bad("missing or malformed step metadata".into()))?;
        let mut moments = BTreeMap::new();
        for (name, var) in vars {
            let m = tensors.remove(&format!("m.{name}")).ok_or_else(|| bad(format!("no m.{name}")))?;
            let v = tensors.remove(&format!("v.{name}")).ok_or_else(|| bad(format!("no v.{name}")))?;
            let state = if var.device().is_cpu() {
                Moments::Host { m: m.to_vec1::<f32>()?, v: v.to_vec1::<f32>()? }
            } else {
                Moments::Device {
                    m: m.reshape(var.shape())?.to_device(var.device())?,
                    v: v.reshape(var.shape())?.to_device(var.device())?,
                }
            };
            moments.insert(name.clone(), state);
        }
        self.moments = moments;
        self.step = step;
        Ok(metadata)
    }
}

/// The step recorded in a safetensors file's metadata, read from its header alone: every save
/// and resume asks this of six files, and reading whole weight files for it cost a pass over every
/// checkpoint each epoch. The file's length is still checked against what its header declares,
/// as safetensors does when it loads, so a truncated file is caught here too.
pub(crate) fn saved_step(path: &Path) -> Result<u64, String> {
    use std::io::Read;
    let invalid = |why: &str| format!("not a valid safetensors file ({why})");
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut n = [0u8; 8];
    file.read_exact(&mut n).map_err(|_| invalid("shorter than the 8-byte header length"))?;
    let n = u64::from_le_bytes(n);
    // safetensors' own cap on a header (100 MB).
    if n > 100_000_000 || n.saturating_add(8) > len {
        return Err(invalid("the header length runs past the file"));
    }
    let mut header = vec![0u8; n as usize];
    file.read_exact(&mut header).map_err(|e| invalid(&e.to_string()))?;
    let header: serde_json::Value = serde_json::from_slice(&header).map_err(|e| invalid(&e.to_string()))?;
    let entries = header.as_object().ok_or_else(|| invalid("the header is not a JSON object"))?;
    let mut end = 0u64;
    for (name, entry) in entries.iter().filter(|(k, _)| k.as_str() != "__metadata__") {
        let stop =
            entry["data_offsets"][1].as_u64().ok_or_else(|| invalid(&format!("tensor {name} has no data offsets")))?;
        end = end.max(stop);
    }
    if 8 + n + end != len {
        return Err(invalid(&format!("{len} bytes where the header declares {}", 8 + n + end)));
    }
    header["__metadata__"]["step"]
        .as_str()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| "records no step".to_string())
}

/// A gradient readable as a host slice.
enum HostGrad<'a> {
    Slice(&'a [f32]),
    View(HostView<'a>),
}

impl HostGrad<'_> {
    fn as_slice(&self) -> &[f32] {
        match self {
            HostGrad::Slice(s) => s,
            HostGrad::View(v) => v.as_slice(),
        }
    }
}

/// Elements per parallel chunk of the update: large enough that scheduling costs nothing.
const CHUNK: usize = 1 << 15;

/// One Adam update of `p` in place, element by element, in the order of operations of
/// `torch.optim.Adam`'s CPU kernels (`lerp_` for the first moment, division by
/// `sqrt(bias_correction2)`), so the two agree to the last bits. Chunks run on rayon's pool (the
/// `RAYON_NUM_THREADS` candle uses too).
fn adam_update(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: Coefficients) -> bool {
    use rayon::prelude::*;
    if p.len() <= CHUNK {
        return adam_chunk(p, g, m, v, k);
    }
    p.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .zip(m.par_chunks_mut(CHUNK))
        .zip(v.par_chunks_mut(CHUNK))
        .map(|(((p, g), m), v)| adam_chunk(p, g, m, v, k))
        .reduce(|| true, |a, b| a & b)
}

/// Updates one chunk; returns whether every updated value is finite (an all-ones exponent marks
/// NaN and infinity; OR-ing integer flags keeps the loop branch-free and vectorisable).
fn adam_chunk(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: Coefficients) -> bool {
    let mut non_finite = 0u32;
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        let g = g + k.l2 * *p;
        *m = flush_subnormal(*m + k.one_minus_beta1 * (g - *m));
        *v = flush_subnormal(*v * k.beta2 + k.one_minus_beta2 * g * g);
        let denom = v.sqrt() / k.sqrt_bias2 + k.eps;
        *p = *p * k.decay - k.step_size * (*m / denom);
        non_finite |= u32::from(p.to_bits() & 0x7f80_0000 == 0x7f80_0000);
    }
    non_finite == 0
}

/// Zero for magnitudes below `f32::MIN_POSITIVE`. A parameter whose gradient stays zero (a dead
/// ReLU unit) has its first moment multiplied by 0.9 every step: after about 700 steps it is
/// subnormal, and since 0.9 times the smallest subnormal rounds back to itself it stays there.
/// Arithmetic on subnormals is about a hundred times slower on x86, which made every epoch slower
/// than the last; flushing them changes no value above 1.2e-38. (Integer masking keeps the loop
/// branch-free, so it vectorises.)
#[inline]
fn flush_subnormal(x: f32) -> f32 {
    // NaN is kept, not flushed: a NaN gradient must surface, not vanish.
    let keep = u32::from(x.is_nan() | (x.abs() >= f32::MIN_POSITIVE)).wrapping_neg();
    f32::from_bits(x.to_bits() & keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AdamConfig;

    /// Three steps on `sum((p - target_t)^2)` with `target_t = [[1, 0], [0, 1]] * (t + 1)`.
    fn run(opt: Adam) -> Vec<f32> {
        let mut opt = opt;
        let p = Var::from_tensor(&Tensor::new(&[[0.5f32, -1.0], [2.0, 0.1]], &Device::Cpu).unwrap()).unwrap();
        let vars = vec![("p".to_string(), p.clone())];
        for t in 0..3 {
            let target = (Tensor::new(&[[1f32, 0.0], [0.0, 1.0]], &Device::Cpu).unwrap() * (t + 1) as f64).unwrap();
            let loss = (p.as_tensor() - target).unwrap().sqr().unwrap().sum_all().unwrap();
            opt.step(&vars, &Gradients::from_autograd(&loss.backward().unwrap(), &vars), 0.1).unwrap();
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
    fn matches_pytorch_adam_and_adamw_on_both_paths() {
        let adam = |wd| AdamConfig { lr: 0.1, weight_decay: wd, ..Default::default() };
        let cases = [
            (OptimizerConfig::Adam(adam(0.0)), [0.78507507f32, -0.70158631, 1.70062339, 0.39230490]),
            (OptimizerConfig::Adam(adam(0.1)), [0.78445250, -0.70158631, 1.70062339, 0.39230418]),
            (OptimizerConfig::AdamW(adam(0.1)), [0.76722944, -0.67510128, 1.64436865, 0.38636413]),
        ];
        for (cfg, want) in cases {
            for opt in [Adam::new(cfg.clone()), Adam::new(cfg.clone()).with_tensor_ops()] {
                let tensor_ops = opt.force_tensor_ops;
                let got = run(opt);
                for (g, w) in got.iter().zip(want) {
                    assert!((g - w).abs() < 2e-6, "{cfg:?} (tensor ops: {tensor_ops}): got {got:?}, want {want:?}");
                }
            }
        }
    }

    /// Adam's default betas and eps, no weight decay, with the given step size and
    /// `sqrt(bias_correction2)`.
    fn adam_coefficients(step_size: f32, sqrt_bias2: f32) -> Coefficients {
        Coefficients {
            beta1: 0.9,
            beta2: 0.999,
            one_minus_beta1: 0.1,
            one_minus_beta2: 0.001,
            eps: 1e-8,
            step_size,
            sqrt_bias2,
            l2: 0.0,
            decay: 1.0,
        }
    }

    #[test]
    fn moments_of_parameters_without_gradient_reach_zero_not_subnormals() {
        let k = adam_coefficients(1e-3, 1.0);
        let (mut p, mut m, mut v) = ([0.5f32], [1e-3f32], [1e-6f32]);
        for _ in 0..2000 {
            adam_update(&mut p, &[0.0], &mut m, &mut v, k);
            assert!(m[0] == 0.0 || m[0].is_normal(), "m = {:e}", m[0]);
            assert!(v[0] == 0.0 || v[0].is_normal(), "v = {:e}", v[0]);
        }
        assert_eq!(m[0], 0.0);
        assert_eq!(flush_subnormal(-1e-39), 0.0);
        assert_eq!(flush_subnormal(-2e-38), -2e-38);
    }

    #[test]
    fn a_large_parameter_is_updated_like_a_small_one() {
        // Above CHUNK elements the update runs in parallel chunks; each element must still get
        // exactly the sequential result.
        let k = adam_coefficients(1e-2, 0.05);
        let n = 3 * CHUNK + 17;
        let g: Vec<f32> = (0..n).map(|i| ((i % 97) as f32 - 48.0) * 0.01).collect();
        let (mut p1, mut m1, mut v1) = (vec![0.3f32; n], vec![0.0f32; n], vec![0.0f32; n]);
        adam_update(&mut p1, &g, &mut m1, &mut v1, k);
        let (mut p2, mut m2, mut v2) = (vec![0.3f32; n], vec![0.0f32; n], vec![0.0f32; n]);
        for i in 0..n {
            adam_chunk(&mut p2[i..=i], &g[i..=i], &mut m2[i..=i], &mut v2[i..=i], k);
        }
        assert!(p1 == p2 && m1 == m2 && v1 == v2);
    }

    #[test]
    fn fused_gradients_update_like_autograd_ones() {
        let p = Var::from_tensor(&Tensor::new(&[1f32, -2.0, 3.0], &Device::Cpu).unwrap()).unwrap();
        let q = Var::from_tensor(&Tensor::new(&[1f32, -2.0, 3.0], &Device::Cpu).unwrap()).unwrap();
        let grads = p.as_tensor().sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let mut host = Gradients::default();
        host.put_host(q.as_tensor(), vec![2.0, -4.0, 6.0]);
        let mut a = Adam::new(OptimizerConfig::default());
        let mut b = Adam::new(OptimizerConfig::default());
        a.step(&[("w".into(), p.clone())], &Gradients::from_autograd(&grads, &[("w".into(), p.clone())]), 0.01)
            .unwrap();
        b.step(&[("w".into(), q.clone())], &host, 0.01).unwrap();
        assert_eq!(p.as_tensor().to_vec1::<f32>().unwrap(), q.as_tensor().to_vec1::<f32>().unwrap());
    }

    #[test]
    fn state_round_trips_through_safetensors() {
        let p = Var::from_tensor(&Tensor::new(&[1f32, 2.0, 3.0], &Device::Cpu).unwrap()).unwrap();
        let vars = vec![("w".to_string(), p.clone())];
        let mut a = Adam::new(OptimizerConfig::default());
        let grads = p.as_tensor().sqr().unwrap().sum_all().unwrap().backward().unwrap();
        a.step(&vars, &Gradients::from_autograd(&grads, &vars), 0.01).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("opt.safetensors");
        std::fs::write(&path, a.to_safetensors().unwrap()).unwrap();
        let mut b = Adam::new(OptimizerConfig::default());
        b.load(&path, &vars).unwrap();
        assert_eq!(b.steps(), 1);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b.to_safetensors().unwrap(),
            "loading then saving gives the same bytes"
        );
        let other = vec![("x".to_string(), p)];
        let err = Adam::new(OptimizerConfig::default()).load(&path, &other).unwrap_err().to_string();
        assert!(err.contains("missing [m.x, v.x], unexpected [m.w, v.w]"), "{err}");

        // The step comes from the header alone; a file cut short or grown is still refused.
        assert_eq!(saved_step(&path), Ok(1));
        let bytes = std::fs::read(&path).unwrap();
        for bad in [&bytes[..bytes.len() - 1], &[&bytes[..], b"x"].concat()[..], &bytes[..5], &bytes[..20]] {
            std::fs::write(&path, bad).unwrap();
            let err = saved_step(&path).unwrap_err();
            assert!(err.starts_with("not a valid safetensors file ("), "{err}");
        }
    }

    #[test]
    fn a_non_finite_gradient_is_reported_by_the_update() {
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let p = Var::from_tensor(&Tensor::new(&[1f32, 2.0, 3.0], &Device::Cpu).unwrap()).unwrap();
            let vars = vec![("p".to_string(), p.clone())];
            let mut opt = Adam::new(Default::default());
            let good = (p.as_tensor() * 2.0).unwrap().sum_all().unwrap().backward().unwrap();
            assert!(opt.step(&vars, &Gradients::from_autograd(&good, &vars), 0.1).unwrap(), "finite gradients pass");
            let scale = Tensor::new(&[1f32, bad, 1.0], &Device::Cpu).unwrap();
            let grads = (p.as_tensor() * scale).unwrap().sum_all().unwrap().backward().unwrap();
            assert!(!opt.step(&vars, &Gradients::from_autograd(&grads, &vars), 0.1).unwrap(), "gradient {bad} caught");
        }
    }
}
