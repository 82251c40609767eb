//! The fused CPU executor over parts: one training step and one inference pass for any
//! [`ComposedAe`] whose body is dense, whose bottleneck has host kernels ([`HostCode`]) and whose
//! likelihood has a host loss. It computes what autograd computes on [`ComposedAe`]'s loss (the
//! tests compare the loss and every gradient) and writes the same [`ae_core::Gradients`], keyed by
//! the parameter tensors.
//!
//! A step: the body's encoder and the bottleneck's head run as one dense stack; the bottleneck
//! turns the head's output into the code (a draw, a selection) and its terms; the decoder runs as
//! a second stack and the likelihood writes the loss and its gradient; the decoder's backward pass
//! hands the code's gradient to the bottleneck, which gives the gradient at its head, and the
//! encoder's backward pass takes it from there.

use ae_core::fused::host::HostView;
use ae_core::fused::mlp::{self, Dense};
use ae_core::fused::{self, FusedScratch, kernels};
use ae_core::{Activation, Batch, LossValues, StepContext};
use candle_core::{Result, Tensor};
use candle_nn::Linear;

use crate::body::DenseStacks;
use crate::bottleneck::{HostGrad, HostHead, HostOut};
use crate::composed::ComposedAe;
use crate::host::{dense, infer as run_rows, put_grads, take_grads, view};
use crate::likelihood::Likelihood;

/// Which part of the model an inference pass runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pass {
    /// Inputs to codes.
    Encode,
    /// Codes to decoder outputs.
    Decode,
    /// Inputs to the outputs decoded from their codes.
    Reconstruct,
}

/// The dense body's stacks where every activation has a fused kernel.
fn stacks(model: &ComposedAe) -> Option<DenseStacks<'_>> {
    model.body.dense().filter(|s| kernels::supports(s.activation))
}

/// The decoder's layers: the body's activation after all but the last, `last` after it.
fn decoder_layers<'a>(
    views: &'a [(HostView<'_>, HostView<'_>)],
    act: Activation,
    last: Option<Activation>,
) -> Vec<Dense<'a>> {
    let n = views.len();
    views.iter().enumerate().map(|(i, (w, b))| dense(w, b, if i + 1 < n { Some(act) } else { last })).collect()
}

/// The head as a dense layer reading `in_dim` features.
fn head_layer<'a>(head: &'a HostHead<'_>) -> Dense<'a> {
    let (w, b) = (head.weights.weight(), head.weights.bias());
    Dense { weight: w, bias: b, in_dim: w.len() / b.len().max(1), out_dim: b.len(), activation: head.activation }
}

/// Views of every layer, or `None` where one is off the CPU or not f32.
fn views(layers: &[Linear]) -> Option<Vec<(HostView<'_>, HostView<'_>)>> {
    layers.iter().map(view).collect()
}

/// One fused training step, or `Ok(None)` where a part has no kernel for it (another body, an
/// activation without a fused kernel, a likelihood without a host loss, a bottleneck config that
/// trains through autograd, tensors off the CPU or not f32).
pub(crate) fn train_step(
    model: &ComposedAe,
    batch: &Batch,
    ctx: &mut StepContext<'_>,
    scratch: &mut FusedScratch,
) -> Result<Option<LossValues>> {
    let Some(stacks) = stacks(model) else { return Ok(None) };
    let Some(loss) = model.likelihood.host_loss() else { return Ok(None) };
    let Some(code) = model.bottleneck.host() else { return Ok(None) };
    let Some(head) = code.train_head() else { return Ok(None) };
    if head.activation.is_some_and(|a| !kernels::supports(a)) {
        return Ok(None);
    }
    let (Some(x), Some(y)) = (HostView::of(&batch.input), HostView::of(&batch.target)) else { return Ok(None) };
    let (Some(enc_views), Some(dec_views)) = (views(stacks.encoder), views(stacks.decoder)) else { return Ok(None) };
    let act = Some(stacks.activation);
    let mut enc: Vec<Dense<'_>> = enc_views.iter().map(|(w, b)| dense(w, b, act)).collect();
    enc.push(head_layer(&head));
    let dec = decoder_layers(&dec_views, stacks.activation, None);

    let rows = batch.input.dim(0)?;
    let threads = fused::threads();
    let ws_enc = &mut scratch.workspace;

    // Encoder and head, then the code and the bottleneck's terms.
    mlp::forward(&enc, x.as_slice(), rows, ws_enc, threads);
    let mut bufs = std::mem::take(&mut scratch.code);
    bufs.head_out.clear();
    bufs.head_out.extend_from_slice(mlp::layer_output(&enc, ws_enc, enc.len() - 1, rows));
    let terms = code.forward(&bufs.head_out, rows, ctx, HostOut { code: &mut bufs.code, saved: &mut bufs.saved });
    let result = terms.and_then(|terms| {
        finish_step(
            Finish { enc: &enc, dec: &dec, x: x.as_slice(), y: y.as_slice(), rows },
            terms,
            code,
            &stacks,
            &loss,
            ctx,
            scratch,
            &mut bufs,
        )
    });
    scratch.code = bufs;
    result
}

/// The layers and batch of a step, for the part after the code.
struct Finish<'a> {
    enc: &'a [Dense<'a>],
    dec: &'a [Dense<'a>],
    x: &'a [f32],
    y: &'a [f32],
    rows: usize,
}

/// A training step from the code on: the decoder, the likelihood and both backward passes.
#[allow(clippy::too_many_arguments)]
fn finish_step(
    f: Finish<'_>,
    terms: crate::bottleneck::HostTerms,
    code: &dyn crate::bottleneck::HostCode,
    stacks: &DenseStacks<'_>,
    loss: &crate::likelihood::HostLoss,
    ctx: &mut StepContext<'_>,
    scratch: &mut FusedScratch,
    bufs: &mut ae_core::fused::CodeBuffers,
) -> Result<Option<LossValues>> {
    let Finish { enc, dec, x, y, rows } = f;
    let threads = fused::threads();
    let (head_out, z, saved) = (&bufs.head_out, &bufs.code, &bufs.saved);

    if sparse_pays(enc, dec, code.finishes_code(), z) {
        let step = SparseStep { enc, dec, x, target: y, z, head_out, saved, rows };
        let spare = Spare { dz: &mut bufs.dz, table: &mut bufs.table, grad_t: &mut bufs.grad_t };
        let recon = sparse_step(&step, loss, code, stacks.decoder, ctx.kl_weight, scratch, spare) / rows as f64;
        let total = recon + terms.sparsity.unwrap_or(0.0);
        return Ok(Some(LossValues { total, recon, kl: terms.kl, sparsity: terms.sparsity }));
    }

    // Decoder and the likelihood, backward to the code.
    let (ws_enc, ws_dec) = (&mut scratch.workspace, &mut scratch.second);
    mlp::forward(dec, z, rows, ws_dec, threads);
    let recon = loss.into_delta(dec, ws_dec, y, rows);
    let (enc_layers, dec_layers): (Vec<&Linear>, Vec<&Linear>) =
        (stacks.encoder.iter().collect(), stacks.decoder.iter().collect());
    let mut enc_grads = take_grads(&mut scratch.grads, &enc_layers);
    enc_grads.extend(code.take_grads(&mut scratch.grads));
    let mut dec_grads = take_grads(&mut scratch.grads, &dec_layers);
    let dz =
        mlp::backward(dec, z, rows, ws_dec, &mut dec_grads, threads, true).map(<[f32]>::to_vec).unwrap_or_default();

    // The bottleneck's gradient at its head, then the encoder's backward pass.
    let top = mlp::top_delta(enc, ws_enc, rows);
    let grad = HostGrad { head_out, code: z, saved, dz: &dz, rows, kl_weight: ctx.kl_weight };
    code.backward(grad, top);
    mlp::backward(enc, x, rows, ws_enc, &mut enc_grads, threads, false);

    let head_bias = enc_grads.pop().unwrap_or_default();
    let head_weight = enc_grads.pop().unwrap_or_default();
    put_grads(&mut scratch.grads, &enc_layers, enc_grads);
    code.put_grads(&mut scratch.grads, head_weight, head_bias);
    put_grads(&mut scratch.grads, &dec_layers, dec_grads);

    let recon = recon / rows as f64;
    let kl_term = terms.kl.map_or(0.0, |kl| terms.kl_scale * ctx.kl_weight * kl);
    let total = recon + kl_term + terms.sparsity.unwrap_or(0.0);
    Ok(Some(LossValues { total, recon, kl: terms.kl, sparsity: terms.sparsity }))
}

/// Whether the step of a one-layer TopK code (the head is the whole encoder, one decoder layer)
/// runs on sparse products: where at most one latent in eight is active, the indexing costs less
/// than the dense work it saves.
fn sparse_pays(enc: &[Dense<'_>], dec: &[Dense<'_>], selects: bool, z: &[f32]) -> bool {
    selects && enc.len() == 1 && dec.len() == 1 && z.iter().filter(|&&v| v != 0.0).count() * 8 <= z.len()
}

/// Buffers the sparse step reuses from step to step: the code's gradient, the decoder weight's
/// transpose and its gradient's (each `code_dim x d` floats, 16 MiB at 8,192 x 512).
struct Spare<'a> {
    dz: &'a mut Vec<f32>,
    table: &'a mut Vec<f32>,
    grad_t: &'a mut Vec<f32>,
}

/// What the sparse step reads: the layers, the batch, the code and what the bottleneck saved.
struct SparseStep<'a> {
    enc: &'a [Dense<'a>],
    dec: &'a [Dense<'a>],
    x: &'a [f32],
    target: &'a [f32],
    z: &'a [f32],
    head_out: &'a [f32],
    saved: &'a [f32],
    rows: usize,
}

/// The rest of a training step after the code, with [`ae_core::fused::sparse`]'s products: the
/// decoder's output from the active latents only, the likelihood's gradient, the decoder's
/// weight gradient and the code's gradient at the active latents, the bottleneck's backward, and
/// the encoder's weight gradient from the active latents' columns. The same numbers as the dense
/// path (a test compares them), in `k x d` work per row where that is `n x d`. Returns the
/// reconstruction loss summed over the batch.
fn sparse_step(
    s: &SparseStep<'_>,
    loss: &crate::likelihood::HostLoss,
    code: &dyn crate::bottleneck::HostCode,
    dec_layers: &[Linear],
    kl_weight: f64,
    scratch: &mut FusedScratch,
    bufs: Spare<'_>,
) -> f64 {
    use ae_core::fused::sparse;
    let (enc, dec, rows) = (&s.enc[0], &s.dec[0], s.rows);
    let (d_out, width) = (dec.out_dim, dec.in_dim);
    let codes = sparse::SparseRows::of(s.z, width);
    let columns = codes.columns();
    // The decoder's weight is (d_out, width); its transpose has one row per latent.
    let table = bufs.table;
    table.resize(width * d_out, 0.0);
    sparse::transpose_into(table, dec.weight, d_out, width);
    let (ws_enc, ws_dec) = (&mut scratch.workspace, &mut scratch.second);
    sparse::forward(mlp::output_mut(s.dec, ws_dec, rows), &codes, table, dec.bias);
    let recon = loss.into_delta(s.dec, ws_dec, s.target, rows);
    let delta = mlp::top_delta(s.dec, ws_dec, rows);

    let dec_refs: Vec<&Linear> = dec_layers.iter().collect();
    let mut dec_grads = take_grads(&mut scratch.grads, &dec_refs);
    let grad_t = bufs.grad_t;
    grad_t.resize(width * d_out, 0.0);
    let mut unused_bias = vec![0f32; width];
    sparse::column_grads(grad_t, &mut unused_bias, &columns, &codes.value, delta);
    dec_grads[0].resize(d_out * width, 0.0);
    sparse::transpose_into(&mut dec_grads[0], grad_t, width, d_out);
    dec_grads[1].resize(d_out, 0.0);
    kernels::sum_rows(&mut dec_grads[1], delta, rows);

    // The code's gradient, nonzero only where the code is active (the selection's mask).
    let active = sparse::dots(&codes, delta, table);
    let top_values = if code.gradient_is_masked() {
        // The bottleneck's backward would pass `active` through unchanged at these latents.
        active
    } else {
        let dz = bufs.dz;
        dz.clear();
        dz.resize(rows * width, 0.0);
        for r in 0..rows {
            for p in codes.starts[r]..codes.starts[r + 1] {
                dz[r * width + codes.index[p] as usize] = active[p];
            }
        }
        let top = mlp::top_delta(s.enc, ws_enc, rows);
        code.backward(HostGrad { head_out: s.head_out, code: s.z, saved: s.saved, dz, rows, kl_weight }, top);
        codes.gather(top)
    };
    let [mut enc_w, mut enc_b] = code.take_grads(&mut scratch.grads);
    enc_w.resize(width * enc.in_dim, 0.0);
    enc_b.resize(width, 0.0);
    sparse::column_grads(&mut enc_w, &mut enc_b, &columns, &top_values, s.x);
    code.put_grads(&mut scratch.grads, enc_w, enc_b);
    put_grads(&mut scratch.grads, &dec_refs, dec_grads);
    recon
}

/// An inference pass (no gradients) on the fused host path, row-blocked across threads, or
/// `None` where it does not apply. With `map_output` the decoder's outputs go through the
/// likelihood's output map (a sigmoid for Bernoulli logits); without, they are returned raw.
pub(crate) fn infer(model: &ComposedAe, xs: &Tensor, pass: Pass, map_output: bool) -> Result<Option<Tensor>> {
    let Some(stacks) = stacks(model) else { return Ok(None) };
    let Some(code) = model.bottleneck.host() else { return Ok(None) };
    let Some(head) = code.infer_head() else { return Ok(None) };
    if head.activation.is_some_and(|a| !kernels::supports(a)) {
        return Ok(None);
    }
    let (Some(x), Some(enc_views), Some(dec_views)) = (HostView::of(xs), views(stacks.encoder), views(stacks.decoder))
    else {
        return Ok(None);
    };
    let act = Some(stacks.activation);
    let output = match model.likelihood {
        Likelihood::Bernoulli if map_output => Some(Activation::Sigmoid),
        _ => None,
    };
    let mut encoder: Vec<Dense<'_>> = enc_views.iter().map(|(w, b)| dense(w, b, act)).collect();
    encoder.push(head_layer(&head));
    let decoder = decoder_layers(&dec_views, stacks.activation, output);
    match pass {
        Pass::Decode => Ok(Some(run_rows(&decoder, &x, xs)?)),
        Pass::Encode | Pass::Reconstruct if !code.finishes_code() => {
            let layers = if pass == Pass::Encode { encoder } else { [encoder, decoder].concat() };
            Ok(Some(run_rows(&layers, &x, xs)?))
        }
        _ => {
            // The code needs a step on the host between the stacks (TopK selection).
            let rows = xs.dim(0)?;
            let width = code_width(&encoder);
            let mut codes = fused::mlp::forward_rows_parallel(&encoder, x.as_slice(), rows, fused::threads());
            code.finish_code(&mut codes, rows);
            let codes = Tensor::from_vec(codes, (rows, width), xs.device())?;
            if pass == Pass::Encode {
                return Ok(Some(codes));
            }
            let Some(z) = HostView::of(&codes) else { return Ok(None) };
            Ok(Some(run_rows(&decoder, &z, &codes)?))
        }
    }
}

/// The width of a stack's output.
fn code_width(layers: &[Dense<'_>]) -> usize {
    layers.last().map_or(0, |l| l.out_dim)
}

/// `log p(x_{i / k} | z_i)` per row of `zs` with the decoder and the per-row loss on the fused
/// host path (the importance-weighted bound decodes thousands of codes per image); `None` where
/// it does not apply (a likelihood without a host loss among them).
pub(crate) fn log_likelihood(model: &ComposedAe, zs: &Tensor, xs: &Tensor, k: usize) -> Result<Option<Tensor>> {
    let Some(loss) = model.likelihood.host_loss() else { return Ok(None) };
    let (Some(logits), Some(x)) = (infer(model, zs, Pass::Decode, false)?, HostView::of(xs)) else {
        return Ok(None);
    };
    let Some(logits_view) = HostView::of(&logits) else { return Ok(None) };
    let n = xs.dim(1)?;
    let x = x.as_slice();
    let nll = loss.row_losses(logits_view.as_slice(), n, |i| &x[(i / k) * n..(i / k + 1) * n]);
    let log_px: Vec<f32> = nll.into_iter().map(|v| -v as f32).collect();
    let rows = log_px.len();
    Ok(Some(Tensor::from_vec(log_px, rows, zs.device())?))
}

#[cfg(test)]
mod tests {
    use ae_core::rng::{Purpose, stream};
    use ae_core::{Autoencoder, Params};
    use candle_core::Device;

    use super::*;
    use crate::config::{BottleneckSpec, DenseSpec, GaussianSpec, ModelConfig, PlainSpec, SparseSpec};
    use crate::sparsity::Sparsity;

    /// Every bottleneck the executor has kernels for, with the knobs that change its kernels.
    fn bottlenecks() -> Vec<BottleneckSpec> {
        let sparse = |sparsity| BottleneckSpec::Sparse(SparseSpec { code_dim: 7, sparsity, ..Default::default() });
        vec![
            BottleneckSpec::Plain(PlainSpec { code_dim: 7, code_activation: None }),
            BottleneckSpec::Plain(PlainSpec { code_dim: 7, code_activation: Some(Activation::Tanh) }),
            sparse(Sparsity::L1 { weight: 0.3 }),
            sparse(Sparsity::Kl { rho: 0.1, weight: 2.0 }),
            sparse(Sparsity::TopK { k: 3 }),
            BottleneckSpec::Gaussian(GaussianSpec { code_dim: 7, beta: 2.0 }),
        ]
    }

    fn config(
        bottleneck: BottleneckSpec,
        likelihood: Likelihood,
        activation: Activation,
        hidden: Vec<usize>,
    ) -> ModelConfig {
        let body = DenseSpec { input_dim: 12, hidden, decoder_hidden: Some(vec![5, 8]), activation };
        ModelConfig { preset: None, body: crate::config::BodySpec::Dense(body), bottleneck, likelihood }
    }

    fn model(cfg: &ModelConfig) -> (ComposedAe, Params) {
        let params = Params::new();
        let checked = cfg.clone().check().unwrap();
        let m = ComposedAe::build(&checked, params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu)).unwrap();
        (m, params)
    }

    #[test]
    fn fused_step_matches_autograd_for_every_bottleneck_and_likelihood() {
        let likelihoods = [Likelihood::Bernoulli, Likelihood::SquaredError, Likelihood::Gaussian { sigma: 0.5 }];
        for bottleneck in bottlenecks() {
            for likelihood in likelihoods {
                for (activation, hidden) in [(Activation::Relu, vec![9, 6]), (Activation::Tanh, vec![])] {
                    let cfg = config(bottleneck.clone(), likelihood, activation, hidden);
                    let (m, params) = model(&cfg);
                    let xs = ae_core::rng::uniform(&mut stream(1, Purpose::Eval, 0), (5, 12), 0.0, 1.0, &Device::Cpu)
                        .unwrap();
                    let batch = Batch::plain(xs);
                    // Training is off so the sparse code's firing statistics stay as they were.
                    let mut rng = stream(3, Purpose::Sampling, 0);
                    let mut ctx = StepContext { rng: &mut rng, training: false, kl_weight: 0.5 };
                    let parts = m.loss(&batch, &mut ctx).unwrap();
                    let want = parts.values().unwrap();
                    let want_grads = parts.total.backward().unwrap();
                    let mut scratch = FusedScratch::default();
                    for round in 0..2 {
                        let label = format!("{} {likelihood} {activation} round {round}", bottleneck.kind());
                        let mut rng = stream(3, Purpose::Sampling, 0);
                        let mut ctx = StepContext { rng: &mut rng, training: false, kl_weight: 0.5 };
                        let got = train_step(&m, &batch, &mut ctx, &mut scratch).unwrap();
                        let got = got.unwrap_or_else(|| panic!("{label}: no fused step"));
                        let close = |a: f64, b: f64| (a - b).abs() < 1e-4 * b.abs().max(1.0);
                        assert!(
                            close(got.total, want.total) && close(got.recon, want.recon),
                            "{label}: {got:?} vs {want:?}"
                        );
                        assert_eq!(got.kl.is_some(), want.kl.is_some(), "{label}");
                        assert!(close(got.kl.unwrap_or(0.0), want.kl.unwrap_or(0.0)), "{label}: {got:?} vs {want:?}");
                        assert!(
                            close(got.sparsity.unwrap_or(0.0), want.sparsity.unwrap_or(0.0)),
                            "{label}: {got:?} vs {want:?}"
                        );
                        for (name, var) in params.named() {
                            let w = want_grads.get(var.as_tensor()).unwrap().flatten_all().unwrap();
                            let w = w.to_vec1::<f32>().unwrap();
                            let g = scratch.grads.get(var.as_tensor()).unwrap_or_else(|| panic!("{label}: no {name}"));
                            let g = g.to_vec().unwrap();
                            assert_eq!(g.len(), w.len(), "{label} {name}");
                            for (a, b) in g.iter().zip(&w) {
                                assert!((a - b).abs() < 1e-5 + 1e-4 * b.abs(), "{label} {name}: {a} vs {b}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_sparse_step_of_a_one_layer_topk_code_matches_autograd() {
        for likelihood in [Likelihood::SquaredError, Likelihood::Bernoulli] {
            let bottleneck = BottleneckSpec::Sparse(SparseSpec {
                code_dim: 64,
                sparsity: Sparsity::TopK { k: 3 },
                ..Default::default()
            });
            let body = DenseSpec { input_dim: 12, hidden: vec![], decoder_hidden: None, activation: Activation::Relu };
            let cfg = ModelConfig { preset: None, body: crate::config::BodySpec::Dense(body), bottleneck, likelihood };
            let (m, params) = model(&cfg);
            let xs = ae_core::rng::uniform(&mut stream(1, Purpose::Eval, 0), (9, 12), 0.0, 1.0, &Device::Cpu).unwrap();
            let batch = Batch::plain(xs.clone());
            let mut rng = stream(3, Purpose::Sampling, 0);
            let mut ctx = StepContext { rng: &mut rng, training: false, kl_weight: 1.0 };
            let parts = m.loss(&batch, &mut ctx).unwrap();
            let want = parts.values().unwrap();
            let want_grads = parts.total.backward().unwrap();
            // The sparse path is the one taken: at most 3 of 64 latents are active.
            let z = m.encode(&xs).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let stacks = stacks(&m).unwrap();
            let views: Vec<_> = views(stacks.decoder).unwrap();
            let dec = decoder_layers(&views, stacks.activation, None);
            let head = m.bottleneck.host().unwrap().train_head().unwrap();
            assert!(sparse_pays(&[head_layer(&head)], &dec, true, &z), "{likelihood}");
            let mut scratch = FusedScratch::default();
            let got = train_step(&m, &batch, &mut ctx, &mut scratch).unwrap().unwrap();
            assert!(
                (got.total - want.total).abs() < 1e-4 * want.total.abs().max(1.0),
                "{likelihood}: {got:?} vs {want:?}"
            );
            for (name, var) in params.named() {
                let w = want_grads.get(var.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
                let g = scratch.grads.get(var.as_tensor()).unwrap().to_vec().unwrap();
                assert_eq!(g.len(), w.len(), "{likelihood} {name}");
                for (a, b) in g.iter().zip(&w) {
                    assert!((a - b).abs() < 1e-5 + 1e-4 * b.abs(), "{likelihood} {name}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn inference_passes_match_the_candle_modules() {
        for bottleneck in bottlenecks() {
            for likelihood in [Likelihood::Bernoulli, Likelihood::SquaredError] {
                let (m, _) = model(&config(bottleneck.clone(), likelihood, Activation::Relu, vec![9]));
                let xs =
                    ae_core::rng::uniform(&mut stream(1, Purpose::Eval, 0), (6, 12), 0.0, 1.0, &Device::Cpu).unwrap();
                let flat = |t: Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                let codes = m.encode(&xs).unwrap();
                let logits = m.decode(&codes).unwrap();
                let outputs = m.recon_loss().to_output(&logits).unwrap();
                let cases = [
                    (Pass::Encode, true, &xs, flat(codes.clone())),
                    (Pass::Decode, false, &codes, flat(logits)),
                    (Pass::Decode, true, &codes, flat(outputs.clone())),
                    (Pass::Reconstruct, true, &xs, flat(outputs)),
                ];
                for (pass, map, input, want) in cases {
                    let label = format!("{} {likelihood} {pass:?}", bottleneck.kind());
                    let got = flat(infer(&m, input, pass, map).unwrap().unwrap_or_else(|| panic!("{label}: none")));
                    assert_eq!(got.len(), want.len(), "{label}");
                    for (g, w) in got.iter().zip(&want) {
                        assert!((g - w).abs() < 1e-5 + 1e-5 * w.abs(), "{label}: {g} vs {w}");
                    }
                }
                assert_eq!(flat(m.embed(&xs).unwrap()), flat(infer(&m, &xs, Pass::Encode, true).unwrap().unwrap()));
            }
        }
    }

    #[test]
    fn parts_without_kernels_take_the_autograd_path() {
        let topk_aux = BottleneckSpec::Sparse(SparseSpec {
            code_dim: 7,
            sparsity: Sparsity::TopK { k: 2 },
            aux_k: Some(3),
            ..Default::default()
        });
        let plain = BottleneckSpec::Plain(PlainSpec { code_dim: 7, code_activation: None });
        for (bottleneck, likelihood, activation) in [
            (topk_aux, Likelihood::Bernoulli, Activation::Relu),
            (plain.clone(), Likelihood::GaussianLearned, Activation::Relu),
            (plain, Likelihood::Bernoulli, Activation::Gelu),
        ] {
            let (m, _) = model(&config(bottleneck, likelihood, activation, vec![9]));
            let batch = Batch::plain(Tensor::zeros((2, 12), candle_core::DType::F32, &Device::Cpu).unwrap());
            let mut rng = stream(3, Purpose::Sampling, 0);
            let mut ctx = StepContext { rng: &mut rng, training: true, kl_weight: 1.0 };
            assert!(m.fused_step(&batch, &mut ctx, &mut FusedScratch::default()).unwrap().is_none());
            // and training through autograd works
            assert!(m.loss(&batch, &mut ctx).unwrap().values().unwrap().is_finite());
        }
    }
}
