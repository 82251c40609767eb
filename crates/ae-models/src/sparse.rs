//! Sparse autoencoder: a stacked encoder and decoder whose code is kept sparse by an L1 or KL
//! penalty or by TopK selection ([`Sparsity`]). The code may be wider than the input (an
//! overcomplete dictionary, e.g. 784 -> 1024). For TopK it also tracks which units fired over the
//! last `dead_window` training examples (running statistics of the model, like batch norm's) and
//! can add Gao et al.'s auxiliary loss that makes dead units explain the residual; and it can keep
//! the decoder's code-facing columns at unit norm after every step.

use std::sync::Mutex;

use ae_core::fused::host::update_in_place;
use ae_core::init::linear;
use ae_core::{Activation, Autoencoder, Batch, LossParts, ReconLoss, StepContext};
use candle_core::{D, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use crate::body::{self, Body, BodyConfig};
use crate::error::{ModelError, check_width};
use crate::likelihood::Likelihood;
use crate::sparsity::{Sparsity, topk_mask};

/// Weight of the auxiliary loss (Gao et al. use 1/32).
const AUX_WEIGHT: f64 = 1.0 / 32.0;

/// The shape, sparsity and diagnostics of a sparse autoencoder. Default: 784-512-256-64, ReLU,
/// BCE, `l1` at the default weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SparseConfig {
    /// Features per example.
    pub input_dim: usize,
    /// Encoder hidden widths, input side first (empty: one layer to the code).
    pub hidden: Vec<usize>,
    /// Decoder hidden widths, code side first; `None` mirrors the encoder.
    pub decoder_hidden: Option<Vec<usize>>,
    /// Code width; may exceed `input_dim`.
    pub code_dim: usize,
    /// Activation after every hidden layer.
    pub activation: Activation,
    /// The likelihood, `bce` (Bernoulli) or `mse` as older configs name them, or any other
    /// (`gaussian:SIGMA`, `gaussian-learned`).
    #[serde(with = "crate::likelihood::loss_field")]
    pub loss: Likelihood,
    /// The sparsity constraint.
    pub sparsity: Sparsity,
    /// TopK only: the auxiliary loss's K over dead units (`None`: no auxiliary loss).
    pub aux_k: Option<usize>,
    /// Rescale each code unit's decoder weights (a column of `decoder.layers.0.weight`) to unit
    /// L2 norm after every optimizer step.
    pub unit_norm_decoder: bool,
    /// A unit is dead when it has not fired over this many training examples.
    pub dead_window: usize,
}

impl Default for SparseConfig {
    fn default() -> Self {
        Self {
            input_dim: 784,
            hidden: vec![512, 256],
            decoder_hidden: None,
            code_dim: 64,
            activation: Activation::Relu,
            loss: Likelihood::Bernoulli,
            sparsity: Sparsity::default(),
            aux_k: None,
            unit_norm_decoder: false,
            dead_window: 10_000,
        }
    }
}

impl SparseConfig {
    /// Decoder hidden widths, code side first: `decoder_hidden`, or the encoder's mirrored.
    pub fn decoder_widths(&self) -> Vec<usize> {
        body::decoder_widths(&self.hidden, self.decoder_hidden.as_ref())
    }

    /// The body these fields describe.
    pub fn body(&self) -> BodyConfig {
        BodyConfig::dense(self.input_dim, &self.hidden, self.decoder_widths(), self.activation)
    }

    /// `(inputs, outputs)` of every dense layer, encoder then decoder.
    pub fn layers(&self) -> Vec<(usize, usize)> {
        let widths: Vec<usize> = std::iter::once(self.input_dim)
            .chain(self.hidden.iter().copied())
            .chain([self.code_dim])
            .chain(self.decoder_widths())
            .chain([self.input_dim])
            .collect();
        widths.windows(2).map(|w| (w[0], w[1])).collect()
    }

    /// Refuses bad sizes and combinations, naming the field.
    pub fn validate(&self) -> std::result::Result<(), ModelError> {
        let invalid = |field: &str, value: String, expected: &str| {
            Err(ModelError::InvalidConfig { field: field.into(), value, expected: expected.into() })
        };
        check_width("input_dim".into(), self.input_dim)?;
        check_width("code_dim".into(), self.code_dim)?;
        for (i, &w) in self.hidden.iter().enumerate() {
            check_width(format!("hidden[{i}]"), w)?;
        }
        for (i, &w) in self.decoder_hidden.iter().flatten().enumerate() {
            check_width(format!("decoder_hidden[{i}]"), w)?;
        }
        if let Sparsity::TopK { k } = self.sparsity
            && k > self.code_dim
        {
            return invalid("sparsity", self.sparsity.to_string(), &format!("K at most code_dim = {}", self.code_dim));
        }
        match (self.aux_k, self.sparsity) {
            (Some(a), s) if !matches!(s, Sparsity::TopK { .. }) => {
                invalid("aux_k", a.to_string(), "no auxiliary K unless sparsity is topk:K")
            }
            (Some(a), _) if a == 0 || a > self.code_dim => {
                invalid("aux_k", a.to_string(), &format!("from 1 to code_dim = {}", self.code_dim))
            }
            _ if self.dead_window == 0 => invalid("dead_window", "0".into(), "at least 1 example"),
            _ => Ok(()),
        }
    }
}

/// When each code unit last fired, in training examples seen.
#[derive(Debug, Default)]
struct FiringTracker {
    seen: u64,
    last_fired: Vec<Option<u64>>,
}

/// A sparse autoencoder: a body and a sparse code. Parameters as the stacked one: the body's
/// (`encoder.layers.<i>`, `decoder.layers.<i>` for the dense body) and the code layer,
/// `encoder.layers.<n>`.
#[derive(Debug)]
pub struct SparseAe {
    body: Box<dyn Body>,
    code: Linear,
    log_sigma: Option<Tensor>,
    cfg: SparseConfig,
    tracker: Mutex<FiringTracker>,
}

impl SparseAe {
    /// Validates `cfg`, then creates (or loads) the parameters.
    pub fn new(cfg: &SparseConfig, vb: VarBuilder) -> std::result::Result<Self, ModelError> {
        cfg.validate()?;
        let (body, code) = body::build(&cfg.body(), cfg.code_dim, vb.clone(), |site| {
            linear(site.features, cfg.code_dim, site.vb.pp("layers").pp(site.next_layer))
        })?;
        let log_sigma = cfg.loss.build_scale(vb.pp("decoder"))?;
        Ok(Self {
            body,
            code,
            log_sigma,
            tracker: Mutex::new(FiringTracker { seen: 0, last_fired: vec![None; cfg.code_dim] }),
            cfg: cfg.clone(),
        })
    }

    /// The code before the sparsity map.
    fn pre_code(&self, xs: &Tensor) -> Result<Tensor> {
        self.code.forward(&self.body.encode(xs)?)
    }

    /// The code from its pre-activation: ReLU (L1), sigmoid (KL) or the TopK mask.
    fn sparsify(&self, pre: &Tensor) -> Result<Tensor> {
        match self.cfg.sparsity {
            Sparsity::L1 { .. } => pre.relu(),
            Sparsity::Kl { .. } => candle_nn::ops::sigmoid(pre),
            Sparsity::TopK { k } => mask_top(pre, k, None),
        }
    }

    /// Whether a code value counts as active: above 0 for ReLU and TopK codes, above 1/2 for
    /// the sigmoid codes of the KL penalty.
    fn threshold(&self) -> f32 {
        if matches!(self.cfg.sparsity, Sparsity::Kl { .. }) { 0.5 } else { 0.0 }
    }

    /// The share of code units that did not fire over the last `dead_window` training examples
    /// (units never seen firing count once `dead_window` examples have been seen); `None` before
    /// any training in this process.
    pub fn dead_fraction(&self) -> Option<f64> {
        let t = self.tracker.lock().ok()?;
        if t.seen == 0 {
            return None;
        }
        Some(self.dead_units(&t).len() as f64 / self.cfg.code_dim.max(1) as f64)
    }

    fn dead_units(&self, t: &FiringTracker) -> Vec<usize> {
        let window = self.cfg.dead_window as u64;
        t.last_fired
            .iter()
            .enumerate()
            .filter(|(_, last)| match last {
                Some(at) => t.seen - at >= window,
                None => t.seen >= window,
            })
            .map(|(j, _)| j)
            .collect()
    }

    /// Records which units fired in a training batch.
    fn track(&self, code: &Tensor) -> Result<()> {
        let rows = code.dim(0)?;
        self.record_firing(&code.flatten_all()?.to_vec1::<f32>()?, rows)
    }

    /// Records which units fired in a training batch given as host values, `rows x code_dim`.
    pub(crate) fn record_firing(&self, code: &[f32], rows: usize) -> Result<()> {
        let threshold = self.threshold();
        if let Ok(mut t) = self.tracker.lock() {
            t.seen += rows as u64;
            let now = t.seen;
            for row in code.chunks(self.cfg.code_dim.max(1)) {
                for (j, &v) in row.iter().enumerate() {
                    if v > threshold {
                        t.last_fired[j] = Some(now);
                    }
                }
            }
        }
        Ok(())
    }

    /// The encoder's dense layers ending in the code layer, the decoder's, the hidden activation
    /// and the reconstruction loss, for the fused step; `None` for a body with other layers.
    pub(crate) fn parts(&self) -> Option<(Vec<&Linear>, &[Linear], Activation, ReconLoss)> {
        let d = self.body.dense()?;
        let loss = self.cfg.loss.fused_loss()?;
        Some((d.encoder.iter().chain([&self.code]).collect(), d.decoder, d.activation, loss))
    }

    /// `-log p(target | logits)` per example under the model's likelihood.
    fn nll(&self, logits: &Tensor, target: &Tensor) -> Result<Tensor> {
        self.cfg.loss.nll_per_example(logits, target, self.log_sigma.as_ref())
    }

    /// Gao et al.'s auxiliary loss: the `aux_k` largest pre-activations among dead units,
    /// through the decoder's change from the zero code, are added to the (detached) logits of
    /// the live code, and the sum is scored with the model's own reconstruction loss, averaged
    /// over the batch. Under MSE this is Gao's `|residual - change|^2`; under BCE the dead units
    /// correct the logits, where a squared residual in pixel space barely moved them (measured:
    /// dead fraction 0.91 with or without it).
    fn aux_loss(&self, pre: &Tensor, logits: &Tensor, target: &Tensor, aux_k: usize) -> Result<Option<Tensor>> {
        let dead = match self.tracker.lock() {
            Ok(t) => self.dead_units(&t),
            Err(_) => return Ok(None),
        };
        if dead.is_empty() {
            return Ok(None);
        }
        let z_aux = mask_top(pre, aux_k.min(dead.len()), Some(&dead))?;
        let zero = Tensor::zeros((1, self.cfg.code_dim), pre.dtype(), pre.device())?;
        let change = self.body.decode(&z_aux)?.broadcast_sub(&self.body.decode(&zero)?)?;
        let with_dead = (logits.detach() + change)?;
        Ok(Some(self.nll(&with_dead, target)?.mean(0)?))
    }

    /// Rescales every code unit's direction (a column of `decoder.layers.0.weight` in the dense
    /// body) to unit L2 norm, in place.
    pub fn normalise_decoder(&self) -> Result<()> {
        let Some(w) = self.body.code_directions() else {
            candle_core::bail!("unit_norm_decoder: this body has no code directions to normalise")
        };
        let (rows, cols) = w.dims2()?;
        let done = update_in_place(w, |v| {
            for c in 0..cols {
                let norm = (0..rows).map(|r| v[r * cols + c] * v[r * cols + c]).sum::<f32>().sqrt();
                if norm > 0.0 {
                    for r in 0..rows {
                        v[r * cols + c] /= norm;
                    }
                }
            }
        })?;
        if !done {
            // Off the CPU: the same with tensor ops.
            let norms = w.sqr()?.sum_keepdim(0)?.sqrt()?.clamp(1e-12, f64::MAX)?;
            let scaled = w.broadcast_div(&norms)?;
            candle_core::Var::from_tensor(w)?.set(&scaled)?;
        }
        Ok(())
    }

    /// The sparsity spec.
    pub fn sparsity(&self) -> Sparsity {
        self.cfg.sparsity
    }
}

/// `pre` with all but the `k` largest entries of each row zeroed (among `only` when given).
fn mask_top(pre: &Tensor, k: usize, only: Option<&[usize]>) -> Result<Tensor> {
    let (rows, width) = pre.dims2()?;
    let mut values = pre.detach().to_vec2::<f32>()?.concat();
    if let Some(only) = only {
        let mut allowed = vec![false; width];
        for &j in only {
            allowed[j] = true;
        }
        for row in values.chunks_mut(width) {
            for (v, ok) in row.iter_mut().zip(&allowed) {
                if !ok {
                    *v = f32::NAN;
                }
            }
        }
    }
    let mask = Tensor::from_vec(topk_mask(&values, width, k), (rows, width), pre.device())?.to_dtype(pre.dtype())?;
    pre * mask
}

impl Autoencoder for SparseAe {
    fn input_dim(&self) -> usize {
        self.cfg.input_dim
    }

    fn code_dim(&self) -> usize {
        self.cfg.code_dim
    }

    fn encode(&self, xs: &Tensor) -> Result<Tensor> {
        ae_core::input::expect_rows(xs, self.input_dim(), "encoder input")?;
        self.sparsify(&self.pre_code(xs)?)
    }

    fn decode(&self, zs: &Tensor) -> Result<Tensor> {
        ae_core::input::expect_rows(zs, self.code_dim(), "decoder input (codes)")?;
        self.body.decode(zs)
    }

    fn recon_loss(&self) -> ReconLoss {
        self.cfg.loss.output_map()
    }

    /// Reconstruction plus the sparsity term: the L1 or KL penalty, or for TopK the auxiliary
    /// loss (weighted 1/32) when `aux_k` is set and some units are dead.
    fn loss(&self, batch: &Batch, ctx: &mut StepContext<'_>) -> Result<LossParts> {
        ae_core::input::expect_batch(batch, self.input_dim())?;
        let pre = self.pre_code(&batch.input)?;
        let code = self.sparsify(&pre)?;
        let logits = self.decode(&code)?;
        let recon = self.nll(&logits, &batch.target)?.mean(0)?;
        let penalty = match self.cfg.sparsity {
            Sparsity::L1 { weight } => Some(code.abs()?.sum(1)?.mean(0)?.affine(weight, 0.0)?),
            Sparsity::Kl { rho, weight } => {
                let rho_hat = code.mean(0)?.clamp(1e-6, 1.0 - 1e-6)?;
                let a = rho_hat.recip()?.affine(rho, 0.0)?.log()?.affine(rho, 0.0)?;
                let b = rho_hat.affine(-1.0, 1.0)?.recip()?.affine(1.0 - rho, 0.0)?.log()?.affine(1.0 - rho, 0.0)?;
                Some((a + b)?.sum(D::Minus1)?.affine(weight, 0.0)?)
            }
            Sparsity::TopK { .. } => match self.cfg.aux_k {
                Some(aux_k) if ctx.training => self
                    .aux_loss(&pre, &logits, &batch.target, aux_k)?
                    .map(|l| l.affine(AUX_WEIGHT, 0.0))
                    .transpose()?,
                _ => None,
            },
        };
        // Dead units are judged on the batches before this one, then this batch is recorded.
        if ctx.training {
            self.track(&code)?;
        }
        let total = match &penalty {
            Some(p) => (&recon + p)?,
            None => recon.clone(),
        };
        let sparsity = Some(penalty.unwrap_or(recon.zeros_like()?));
        Ok(LossParts { total, recon, kl: None, sparsity })
    }

    /// The fused CPU step (`sparse_fused.rs`) for the L1 penalty.
    fn fused_step(
        &self,
        batch: &Batch,
        ctx: &mut StepContext<'_>,
        scratch: &mut ae_core::fused::FusedScratch,
    ) -> Result<Option<ae_core::LossValues>> {
        ae_core::input::expect_batch(batch, self.input_dim())?;
        crate::sparse_fused::step(self, batch, ctx, scratch)
    }

    /// The fused forward for L1 and KL codes (`sparse_fused.rs`); TopK through `encode`.
    fn embed(&self, xs: &Tensor) -> Result<Tensor> {
        ae_core::input::expect_rows(xs, self.input_dim(), "encoder input")?;
        match crate::sparse_fused::inference(self, xs, false)? {
            Some(zs) => Ok(zs),
            None => Ok(self.encode(xs)?.detach()),
        }
    }

    fn reconstruct(&self, xs: &Tensor) -> Result<Tensor> {
        ae_core::input::expect_rows(xs, self.input_dim(), "encoder input")?;
        match crate::sparse_fused::inference(self, xs, true)? {
            Some(out) => Ok(out),
            None => self.recon_loss().to_output(&self.forward(xs)?.detach()),
        }
    }

    fn after_step(&self) -> Result<()> {
        if self.cfg.unit_norm_decoder { self.normalise_decoder() } else { Ok(()) }
    }

    fn active_threshold(&self) -> Option<f32> {
        Some(self.threshold())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ae_core::Params;
    use ae_core::rng::{Purpose, stream};
    use candle_core::Device;

    fn model(cfg: &SparseConfig) -> (SparseAe, Params) {
        let params = Params::new();
        let m = SparseAe::new(cfg, params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu)).unwrap();
        (m, params)
    }

    fn xs() -> Tensor {
        ae_core::rng::uniform(&mut stream(1, Purpose::Eval, 0), (4, 6), 0.0, 1.0, &Device::Cpu).unwrap()
    }

    #[test]
    fn penalties_match_hand_computed_values() {
        let step = |m: &SparseAe| {
            let mut rng = stream(0, Purpose::Sampling, 0);
            let mut ctx = StepContext { rng: &mut rng, training: false, kl_weight: 1.0 };
            m.loss(&Batch::plain(xs()), &mut ctx).unwrap().values().unwrap()
        };
        let base = SparseConfig { input_dim: 6, hidden: vec![5], code_dim: 8, ..Default::default() };
        // L1: weight * mean over examples of the summed ReLU code.
        let (m, _) = model(&SparseConfig { sparsity: Sparsity::L1 { weight: 0.5 }, ..base.clone() });
        let code = m.encode(&xs()).unwrap().to_vec2::<f32>().unwrap();
        let want = 0.5 * code.iter().map(|r| r.iter().map(|v| f64::from(v.abs())).sum::<f64>()).sum::<f64>() / 4.0;
        let v = step(&m);
        assert!((v.sparsity.unwrap() - want).abs() < 1e-5 && (v.total - v.recon - want).abs() < 1e-4, "{v:?} {want}");
        // KL: weight * sum_j rho ln(rho / rho_hat_j) + (1 - rho) ln((1 - rho) / (1 - rho_hat_j)).
        let (m, _) = model(&SparseConfig { sparsity: Sparsity::Kl { rho: 0.05, weight: 2.0 }, ..base.clone() });
        let code = m.encode(&xs()).unwrap().to_vec2::<f32>().unwrap();
        let want: f64 = 2.0
            * (0..8)
                .map(|j| {
                    let r = code.iter().map(|row| f64::from(row[j])).sum::<f64>() / 4.0;
                    0.05 * (0.05 / r).ln() + 0.95 * (0.95 / (1.0 - r)).ln()
                })
                .sum::<f64>();
        let v = step(&m);
        assert!((v.sparsity.unwrap() - want).abs() < 1e-4 * want.max(1.0), "{v:?} {want}");
        assert!(code.iter().flatten().all(|v| (0.0..=1.0).contains(v)), "sigmoid code");
    }

    #[test]
    fn topk_codes_have_exactly_k_nonzero_and_gradients_reach_the_kept_units_only() {
        let cfg = SparseConfig {
            input_dim: 6,
            hidden: vec![],
            code_dim: 10,
            sparsity: Sparsity::TopK { k: 3 },
            ..Default::default()
        };
        let (m, params) = model(&cfg);
        let code = m.encode(&xs()).unwrap().to_vec2::<f32>().unwrap();
        assert!(code.iter().all(|r| r.iter().filter(|v| **v != 0.0).count() == 3), "{code:?}");
        let mut rng = stream(0, Purpose::Sampling, 0);
        let mut ctx = StepContext { rng: &mut rng, training: true, kl_weight: 1.0 };
        let grads = m.loss(&Batch::plain(xs()), &mut ctx).unwrap().total.backward().unwrap();
        let w = params.named().into_iter().find(|(n, _)| n == "encoder.layers.0.weight").unwrap().1;
        let g = grads.get(w.as_tensor()).unwrap().to_vec2::<f32>().unwrap();
        let used: Vec<bool> = (0..10).map(|j| code.iter().any(|r| r[j] != 0.0)).collect();
        for (j, row) in g.iter().enumerate() {
            assert_eq!(row.iter().any(|v| *v != 0.0), used[j], "unit {j}: gradient only where selected");
        }
    }

    #[test]
    fn dead_units_are_tracked_and_the_aux_loss_applies_to_them() {
        let cfg = SparseConfig {
            input_dim: 6,
            hidden: vec![],
            code_dim: 10,
            sparsity: Sparsity::TopK { k: 2 },
            aux_k: Some(4),
            dead_window: 4,
            ..Default::default()
        };
        let (m, _) = model(&cfg);
        assert_eq!(m.dead_fraction(), None);
        let mut rng = stream(0, Purpose::Sampling, 0);
        let mut ctx = StepContext { rng: &mut rng, training: true, kl_weight: 1.0 };
        let first = m.loss(&Batch::plain(xs()), &mut ctx).unwrap().values().unwrap();
        assert_eq!(first.sparsity, Some(0.0), "no unit is dead before a window has passed");
        let dead = m.dead_fraction().unwrap();
        assert!(dead > 0.0 && dead <= 0.8, "at most 4 x 2 of 10 units fired: {dead}");
        let second = m.loss(&Batch::plain(xs()), &mut ctx).unwrap().values().unwrap();
        assert!(second.sparsity.unwrap() > 0.0, "the aux loss acts on dead units: {second:?}");
    }

    #[test]
    fn unit_norm_decoder_columns() {
        let cfg =
            SparseConfig { input_dim: 6, hidden: vec![], code_dim: 5, unit_norm_decoder: true, ..Default::default() };
        let (m, params) = model(&cfg);
        m.after_step().unwrap();
        let w = params.named().into_iter().find(|(n, _)| n == "decoder.layers.0.weight").unwrap().1;
        let w = w.as_tensor().to_vec2::<f32>().unwrap();
        for c in 0..5 {
            let norm: f32 = w.iter().map(|r| r[c] * r[c]).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "column {c}: {norm}");
        }
    }

    #[test]
    fn bad_configs_name_the_field() {
        let bad = [
            (
                SparseConfig { code_dim: 8, sparsity: Sparsity::TopK { k: 9 }, ..Default::default() },
                "model.sparsity: topk:9 is invalid; expected K at most code_dim = 8",
            ),
            (
                SparseConfig { aux_k: Some(4), ..Default::default() },
                "model.aux_k: 4 is invalid; expected no auxiliary K unless sparsity is topk:K",
            ),
            (
                SparseConfig { sparsity: Sparsity::TopK { k: 2 }, aux_k: Some(0), ..Default::default() },
                "model.aux_k: 0 is invalid",
            ),
        ];
        for (cfg, want) in bad {
            let err = SparseAe::new(&cfg, Params::new().var_builder(stream(0, Purpose::Init, 0), &Device::Cpu))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(want), "{err}");
        }
    }
}
