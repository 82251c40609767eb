//! A sparse code: one linear layer from the body's features, kept sparse by an L1 penalty on
//! ReLU units, Ng's KL penalty on sigmoid units, or TopK selection ([`Sparsity`]). The code may
//! be wider than the input (an overcomplete dictionary). It tracks which units fired over the last
//! `dead_window` training examples (running statistics, like batch norm's), can add Gao et al.'s
//! auxiliary loss that makes dead TopK units explain the residual, and can keep the decoder's
//! code-facing directions at unit norm. Parameter: `encoder.layers.<n>`, as the plain code's.

use std::sync::Mutex;

use ae_core::fused::host::update_in_place;
use ae_core::init::linear;
use ae_core::{Activation, Gradients, StepContext};
use candle_core::{D, Module, Result, Tensor};
use candle_nn::Linear;

use super::{
    Bottleneck, DecoderView, Drawn, HeadWeights, HostCode, HostGrad, HostHead, HostOut, HostTerms, Terms, put_layer,
    take_layer,
};
use crate::body::{Body, HeadSite};
use crate::config::SparseSpec;
use crate::sparsity::{Sparsity, topk_mask, topk_mask_into};

/// Weight of the auxiliary loss (Gao et al. use 1/32).
const AUX_WEIGHT: f64 = 1.0 / 32.0;

/// Bounds on a KL code's mean activation, as the autograd loss clamps it.
const RHO_HAT_MIN: f32 = 1e-6;

/// When each code unit last fired, in training examples seen.
#[derive(Debug, Default)]
struct FiringTracker {
    seen: u64,
    last_fired: Vec<Option<u64>>,
}

/// A sparse code.
#[derive(Debug)]
pub struct SparseCode {
    code: Linear,
    /// The layer's parameter prefix, `encoder.layers.<n>`.
    name: String,
    spec: SparseSpec,
    tracker: Mutex<FiringTracker>,
}

impl SparseCode {
    /// Creates (or loads) the code layer at `site`.
    pub fn build(spec: &SparseSpec, site: HeadSite<'_>) -> Result<Self> {
        let code = linear(site.features, spec.code_dim, site.vb.pp("layers").pp(site.next_layer))?;
        let tracker = FiringTracker { seen: 0, last_fired: vec![None; spec.code_dim] };
        let name = format!("encoder.layers.{}", site.next_layer);
        Ok(Self { code, name, spec: spec.clone(), tracker: Mutex::new(tracker) })
    }

    /// The sparsity constraint.
    pub fn sparsity(&self) -> Sparsity {
        self.spec.sparsity
    }

    /// The code from its pre-activation: ReLU (L1), sigmoid (KL) or the TopK mask.
    fn sparsify(&self, pre: &Tensor) -> Result<Tensor> {
        match self.spec.sparsity {
            Sparsity::L1 { .. } | Sparsity::L1DecoderNorm { .. } => pre.relu(),
            Sparsity::Kl { .. } => candle_nn::ops::sigmoid(pre),
            Sparsity::TopK { k } => mask_top(pre, k, None),
        }
    }

    /// Whether a code value counts as active: above 0 for ReLU and TopK codes, above 1/2 for
    /// the sigmoid codes of the KL penalty.
    fn threshold(&self) -> f32 {
        if matches!(self.spec.sparsity, Sparsity::Kl { .. }) { 0.5 } else { 0.0 }
    }

    fn dead_units(&self, t: &FiringTracker) -> Vec<usize> {
        let window = self.spec.dead_window as u64;
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

    /// Records which units fired in a training batch given as host values, `rows x code_dim`.
    fn record_firing(&self, code: &[f32], rows: usize) {
        let threshold = self.threshold();
        if let Ok(mut t) = self.tracker.lock() {
            t.seen += rows as u64;
            let now = t.seen;
            for row in code.chunks(self.spec.code_dim.max(1)) {
                for (j, &v) in row.iter().enumerate() {
                    if v > threshold {
                        t.last_fired[j] = Some(now);
                    }
                }
            }
        }
    }

    /// Gao et al.'s auxiliary loss: the `aux_k` largest pre-activations among dead units,
    /// through the decoder's change from the zero code, are added to the (detached) logits of
    /// the live code, and the sum is scored with the model's own likelihood, averaged over the
    /// batch. Under MSE this is Gao's `|residual - change|^2`; under BCE the dead units correct
    /// the logits, where a squared residual in pixel space barely moved them (measured: dead
    /// fraction 0.91 with or without it).
    fn aux_loss(&self, pre: &Tensor, decoder: &DecoderView<'_>, aux_k: usize) -> Result<Option<Tensor>> {
        let dead = match self.tracker.lock() {
            Ok(t) => self.dead_units(&t),
            Err(_) => return Ok(None),
        };
        if dead.is_empty() {
            return Ok(None);
        }
        let z_aux = mask_top(pre, aux_k.min(dead.len()), Some(&dead))?;
        let zero = Tensor::zeros((1, self.spec.code_dim), pre.dtype(), pre.device())?;
        let change = decoder.body.decode(&z_aux)?.broadcast_sub(&decoder.body.decode(&zero)?)?;
        let with_dead = (decoder.logits.detach() + change)?;
        Ok(Some((decoder.nll)(&with_dead, decoder.target)?.mean(0)?))
    }

    /// Rescales every code unit's direction in `body`'s decoder (a column of
    /// `decoder.layers.0.weight` in the dense body) to unit L2 norm, in place.
    pub fn normalise_decoder(&self, body: &dyn Body) -> Result<()> {
        let Some(w) = body.code_directions() else {
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
}

/// Each column c of the row-major `(rows, cols)` gradient `g` minus its projection on column c of
/// `dirs`: `g_c - (g_c · d_c / d_c · d_c) d_c`.
fn remove_parallel(g: &mut [f32], dirs: &[f32], rows: usize, cols: usize) {
    let mut dot = vec![0f64; cols];
    let mut sq = vec![0f64; cols];
    for (gr, dr) in g.chunks_exact(cols).zip(dirs.chunks_exact(cols)).take(rows) {
        for c in 0..cols {
            dot[c] += f64::from(gr[c]) * f64::from(dr[c]);
            sq[c] += f64::from(dr[c]) * f64::from(dr[c]);
        }
    }
    let along: Vec<f32> = dot.iter().zip(&sq).map(|(&d, &s)| if s > 0.0 { (d / s) as f32 } else { 0.0 }).collect();
    for (gr, dr) in g.chunks_exact_mut(cols).zip(dirs.chunks_exact(cols)) {
        for c in 0..cols {
            gr[c] -= along[c] * dr[c];
        }
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

impl Bottleneck for SparseCode {
    fn code_dim(&self) -> usize {
        self.spec.code_dim
    }

    fn encode(&self, h: &Tensor) -> Result<Tensor> {
        self.sparsify(&self.code.forward(h)?)
    }

    fn draw(&self, h: &Tensor, _ctx: &mut StepContext<'_>) -> Result<Drawn> {
        let pre = self.code.forward(h)?;
        Ok(Drawn { code: self.sparsify(&pre)?, pre, posterior: None })
    }

    /// The L1 or KL penalty, or for TopK the auxiliary loss (weighted 1/32) when `aux_k` is set
    /// and some units are dead; zero where there is none. Dead units are judged on the batches
    /// before this one, then this batch is recorded.
    fn terms(&self, drawn: &Drawn, decoder: &DecoderView<'_>, ctx: &StepContext<'_>) -> Result<Terms> {
        let code = &drawn.code;
        let penalty = match self.spec.sparsity {
            Sparsity::L1 { weight } => Some(code.abs()?.sum(1)?.mean(0)?.affine(weight, 0.0)?),
            Sparsity::L1DecoderNorm { weight } => {
                let Some(w) = decoder.body.code_directions() else {
                    candle_core::bail!("l1dec: this body has no code directions to weight the penalty by")
                };
                let norms = w.sqr()?.sum_keepdim(0)?.sqrt()?;
                Some(code.abs()?.broadcast_mul(&norms)?.sum(1)?.mean(0)?.affine(weight, 0.0)?)
            }
            Sparsity::Kl { rho, weight } => {
                let rho_hat = code.mean(0)?.clamp(f64::from(RHO_HAT_MIN), 1.0 - f64::from(RHO_HAT_MIN))?;
                let a = rho_hat.recip()?.affine(rho, 0.0)?.log()?.affine(rho, 0.0)?;
                let b = rho_hat.affine(-1.0, 1.0)?.recip()?.affine(1.0 - rho, 0.0)?.log()?.affine(1.0 - rho, 0.0)?;
                Some((a + b)?.sum(D::Minus1)?.affine(weight, 0.0)?)
            }
            Sparsity::TopK { .. } => match self.spec.aux_k {
                Some(aux_k) if ctx.training => {
                    self.aux_loss(&drawn.pre, decoder, aux_k)?.map(|l| l.affine(AUX_WEIGHT, 0.0)).transpose()?
                }
                _ => None,
            },
        };
        if ctx.training {
            let rows = code.dim(0)?;
            self.record_firing(&code.flatten_all()?.to_vec1::<f32>()?, rows);
        }
        let sparsity = match penalty {
            Some(p) => p,
            None => Tensor::zeros((), code.dtype(), code.device())?,
        };
        Ok(Terms { kl: None, kl_scale: 0.0, sparsity: Some(sparsity) })
    }

    fn active_threshold(&self) -> Option<f32> {
        Some(self.threshold())
    }

    /// The share of code units that did not fire over the last `dead_window` training examples
    /// (units never seen firing count once `dead_window` examples have been seen); `None` before
    /// any training in this process.
    fn dead_fraction(&self) -> Option<f64> {
        let t = self.tracker.lock().ok()?;
        if t.seen == 0 {
            return None;
        }
        Some(self.dead_units(&t).len() as f64 / self.spec.code_dim.max(1) as f64)
    }

    /// With a unit-norm decoder, removes from each direction's gradient its component along the
    /// direction (Gao et al.): the step then moves along the unit sphere, which the
    /// renormalisation after it would otherwise partly undo.
    fn before_step(&self, body: &dyn Body, grads: &mut ae_core::Gradients) -> Result<()> {
        if !self.spec.unit_norm_decoder {
            return Ok(());
        }
        let Some(w) = body.code_directions() else { return Ok(()) };
        match grads.get(w) {
            Some(ae_core::GradRef::Host(_)) => {
                let (rows, cols) = w.dims2()?;
                let dirs = w.flatten_all()?.to_vec1::<f32>()?;
                let mut g = grads.take_host(w);
                remove_parallel(&mut g, &dirs, rows, cols);
                grads.put_host(w, g);
            }
            Some(ae_core::GradRef::Tensor(g)) => {
                let along =
                    (g * w)?.sum_keepdim(0)?.broadcast_div(&w.sqr()?.sum_keepdim(0)?.clamp(1e-30, f64::MAX)?)?;
                let g = (g - w.broadcast_mul(&along)?)?;
                grads.put_tensor(w, g);
            }
            None => {}
        }
        Ok(())
    }

    fn after_step(&self, body: &dyn Body) -> Result<()> {
        if self.spec.unit_norm_decoder { self.normalise_decoder(body) } else { Ok(()) }
    }

    fn host(&self) -> Option<&dyn HostCode> {
        Some(self)
    }

    fn export_code(&self, g: &mut ae_core::graph::Graph, h: &str) -> Result<Option<String>> {
        use ae_core::graph::Op;
        let pre = g.linear(&self.name, &self.code, h)?;
        Ok(Some(match self.spec.sparsity {
            Sparsity::L1 { .. } | Sparsity::L1DecoderNorm { .. } => g.node(Op::Activation(Activation::Relu), &[&pre]),
            Sparsity::Kl { .. } => g.node(Op::Activation(Activation::Sigmoid), &[&pre]),
            Sparsity::TopK { k } => g.node(Op::TopKRelu { k: k.min(self.spec.code_dim) }, &[&pre]),
        }))
    }
}

/// On the fused path the code's nonlinearity is the head's activation (ReLU, sigmoid), or none
/// for TopK, whose selection runs on the head's output.
impl HostCode for SparseCode {
    /// `None` with the TopK auxiliary loss, which decodes the dead units' codes through autograd,
    /// and with the decoder-norm L1 penalty, whose gradient reaches the decoder's weights.
    fn train_head(&self) -> Option<HostHead<'_>> {
        if self.spec.aux_k.is_some() || matches!(self.spec.sparsity, Sparsity::L1DecoderNorm { .. }) {
            return None;
        }
        self.infer_head()
    }

    fn infer_head(&self) -> Option<HostHead<'_>> {
        let activation = match self.spec.sparsity {
            Sparsity::L1 { .. } | Sparsity::L1DecoderNorm { .. } => Some(Activation::Relu),
            Sparsity::Kl { .. } => Some(Activation::Sigmoid),
            Sparsity::TopK { .. } => None,
        };
        Some(HostHead { weights: HeadWeights::of(&self.code)?, activation })
    }

    fn finishes_code(&self) -> bool {
        matches!(self.spec.sparsity, Sparsity::TopK { .. })
    }

    /// TopK's backward is `dz` through its mask, which is 1 exactly where the code is nonzero.
    fn gradient_is_masked(&self) -> bool {
        matches!(self.spec.sparsity, Sparsity::TopK { .. })
    }

    fn finish_code(&self, head_out: &mut [f32], _rows: usize) {
        if let Sparsity::TopK { k } = self.spec.sparsity {
            let mask = topk_mask(head_out, self.spec.code_dim, k);
            head_out.iter_mut().zip(mask).for_each(|(v, m)| *v *= m);
        }
    }

    /// The code and its penalty: `weight · Σ|z|` per example for L1; for KL, `weight · Σ_j
    /// KL(ρ || ρ̂_j)` over the batch's mean activations `ρ̂` (saved); for TopK the selection
    /// (its mask saved).
    fn forward(&self, head_out: &[f32], rows: usize, ctx: &mut StepContext<'_>, out: HostOut<'_>) -> Result<HostTerms> {
        let width = self.spec.code_dim;
        out.code.clear();
        if !matches!(self.spec.sparsity, Sparsity::TopK { .. }) {
            out.code.extend_from_slice(head_out);
        }
        let penalty = match self.spec.sparsity {
            Sparsity::L1 { weight } => weight * out.code.iter().map(|&v| f64::from(v.abs())).sum::<f64>() / rows as f64,
            // Its penalty needs the decoder's weights: the training head is None, so the
            // executor never gets here; refuse rather than report a wrong penalty.
            Sparsity::L1DecoderNorm { .. } => candle_core::bail!("l1dec trains through autograd, not the host step"),
            Sparsity::Kl { rho, weight } => {
                let rho_hat = column_means(out.code, width, rows);
                let total: f64 = rho_hat
                    .iter()
                    .map(|&r| {
                        let r = f64::from(r.clamp(RHO_HAT_MIN, 1.0 - RHO_HAT_MIN));
                        rho * (rho / r).ln() + (1.0 - rho) * ((1.0 - rho) / (1.0 - r)).ln()
                    })
                    .sum();
                *out.saved = rho_hat;
                weight * total
            }
            Sparsity::TopK { k } => {
                topk_mask_into(head_out, width, k, out.saved);
                // The masked copy in one pass over the batch's `rows x code_dim` values.
                out.code.extend(head_out.iter().zip(out.saved.iter()).map(|(v, m)| v * m));
                0.0
            }
        };
        if ctx.training {
            self.record_firing(out.code, rows);
        }
        Ok(HostTerms { kl: None, kl_scale: 0.0, sparsity: Some(penalty) })
    }

    /// L1: `dz + weight / rows` where the code is positive, zero where the ReLU is off (the
    /// subgradient of `|z|` taken as 0 at 0, as candle's `abs`). KL: `(dz + weight (-ρ/ρ̂ +
    /// (1-ρ)/(1-ρ̂)) / rows) z (1 - z)`, no penalty gradient where `ρ̂` is clamped. TopK: `dz`
    /// through the mask.
    fn backward(&self, s: HostGrad<'_>, top: &mut [f32]) {
        let width = self.spec.code_dim;
        match self.spec.sparsity {
            Sparsity::L1DecoderNorm { .. } => {
                for ((t, &g), &z) in top.iter_mut().zip(s.dz).zip(s.code) {
                    *t = if z > 0.0 { g } else { 0.0 };
                }
            }
            Sparsity::L1 { weight } => {
                let c = (weight / s.rows as f64) as f32;
                for ((t, &g), &z) in top.iter_mut().zip(s.dz).zip(s.code) {
                    *t = if z > 0.0 { g + c } else { 0.0 };
                }
            }
            Sparsity::Kl { rho, weight } => {
                let per_unit: Vec<f32> = s
                    .saved
                    .iter()
                    .map(|&r| {
                        if !(RHO_HAT_MIN..=1.0 - RHO_HAT_MIN).contains(&r) {
                            return 0.0;
                        }
                        let r = f64::from(r);
                        (weight * (-rho / r + (1.0 - rho) / (1.0 - r)) / s.rows as f64) as f32
                    })
                    .collect();
                for (i, ((t, &g), &z)) in top.iter_mut().zip(s.dz).zip(s.code).enumerate() {
                    *t = (g + per_unit[i % width]) * z * (1.0 - z);
                }
            }
            Sparsity::TopK { .. } => {
                for ((t, &g), &m) in top.iter_mut().zip(s.dz).zip(s.saved) {
                    *t = g * m;
                }
            }
        }
    }

    fn take_grads(&self, grads: &mut Gradients) -> [Vec<f32>; 2] {
        take_layer(grads, &self.code)
    }

    fn put_grads(&self, grads: &mut Gradients, weight: Vec<f32>, bias: Vec<f32>) {
        put_layer(grads, &self.code, weight, bias);
    }
}

/// The mean of each column of a row-major `(rows, width)` buffer.
fn column_means(values: &[f32], width: usize, rows: usize) -> Vec<f32> {
    let mut sums = vec![0f64; width];
    for row in values.chunks(width.max(1)) {
        for (s, &v) in sums.iter_mut().zip(row) {
            *s += f64::from(v);
        }
    }
    sums.into_iter().map(|s| (s / rows.max(1) as f64) as f32).collect()
}
