//! The VAE's fused CPU step: the same loss and gradients as autograd on [`Vae::loss`] for the
//! Bernoulli likelihood, on host memory. The encoder with its two heads merged into one layer
//! (mean rows, then log-variance rows) and the decoder run as two dense stacks; between them the
//! reparameterised sample, the analytic KL and their gradients are computed row by row, and the
//! decoder's backward pass hands the gradient of the code back to the encoder.

use ae_core::fused::host::HostView;
use ae_core::fused::mlp::{self, Dense};
use ae_core::fused::{self, FusedScratch, kernels};
use ae_core::{Activation, Batch, LossValues, ReconLoss, StepContext};
use candle_core::{Device, Result};
use candle_nn::Linear;

use crate::host::{dense, put_grads, take_grads, view};
use crate::likelihood::Likelihood;
use crate::vae::Vae;

/// One fused training step, or `None` where the fused path does not apply (another likelihood,
/// an activation without a fused kernel, tensors off the CPU or not f32).
pub(crate) fn step(
    vae: &Vae,
    batch: &Batch,
    ctx: &mut StepContext<'_>,
    scratch: &mut FusedScratch,
) -> Result<Option<LossValues>> {
    let Some(stacks) = vae.body.dense() else { return Ok(None) };
    if vae.likelihood != Likelihood::Bernoulli || !kernels::supports(stacks.activation) {
        return Ok(None);
    }
    let (Some(x), Some(y)) = (HostView::of(&batch.input), HostView::of(&batch.target)) else { return Ok(None) };
    let Some(enc_views) = stacks.encoder.iter().map(view).collect::<Option<Vec<_>>>() else { return Ok(None) };
    let Some(dec_views) = stacks.decoder.iter().map(view).collect::<Option<Vec<_>>>() else { return Ok(None) };
    let (Some(mean), Some(log_var)) = (view(&vae.mean), view(&vae.log_var)) else { return Ok(None) };

    let (rows, d) = (batch.input.dim(0)?, vae.code_dim);
    let hidden = mean.0.as_slice().len() / d;
    let head_w = [mean.0.as_slice(), log_var.0.as_slice()].concat();
    let head_b = [mean.1.as_slice(), log_var.1.as_slice()].concat();
    let act = Some(stacks.activation);
    let mut enc: Vec<Dense<'_>> = enc_views.iter().map(|(w, b)| dense(w, b, act)).collect();
    enc.push(Dense { weight: &head_w, bias: &head_b, in_dim: hidden, out_dim: 2 * d, activation: None });
    let n_dec = dec_views.len();
    let dec: Vec<Dense<'_>> =
        dec_views.iter().enumerate().map(|(i, (w, b))| dense(w, b, if i + 1 < n_dec { act } else { None })).collect();

    let threads = fused::threads();
    let (ws_enc, ws_dec) = (&mut scratch.workspace, &mut scratch.second);

    // Encoder, then z = mean + exp(log_var / 2) * eps with the draws `Gaussian::sample` makes.
    mlp::forward(&enc, x.as_slice(), rows, ws_enc, threads);
    let heads = mlp::layer_output(&enc, ws_enc, enc.len() - 1, rows).to_vec();
    let eps = ae_core::rng::normal(ctx.rng, (rows, d), 0.0, 1.0, &Device::Cpu)?.flatten_all()?.to_vec1::<f32>()?;
    let mut z = vec![0f32; rows * d];
    let mut kl = 0f64;
    for i in 0..rows {
        let (m, lv) = (&heads[i * 2 * d..i * 2 * d + d], &heads[i * 2 * d + d..(i + 1) * 2 * d]);
        for j in 0..d {
            z[i * d + j] = m[j] + (0.5 * lv[j]).exp() * eps[i * d + j];
            kl += -0.5 * f64::from(1.0 + lv[j] - m[j] * m[j] - lv[j].exp());
        }
    }

    // Decoder and the Bernoulli loss, backward to the code.
    mlp::forward(&dec, &z, rows, ws_dec, threads);
    let recon = mlp::loss_into_delta(&dec, ws_dec, y.as_slice(), ReconLoss::Bce, rows);
    // Gradient buffers in the stacks' order: the encoder's layers, the merged head (built fresh:
    // no parameter is the merged head), the decoder's layers.
    let (enc_layers, dec_layers): (Vec<&Linear>, Vec<&Linear>) =
        (stacks.encoder.iter().collect(), stacks.decoder.iter().collect());
    let n_enc = 2 * enc.len();
    let mut grads = take_grads(&mut scratch.grads, &enc_layers);
    grads.extend([Vec::new(), Vec::new()]);
    grads.extend(take_grads(&mut scratch.grads, &dec_layers));
    let (enc_grads, dec_grads) = grads.split_at_mut(n_enc);
    let dz = mlp::backward(&dec, &z, rows, ws_dec, dec_grads, threads, true).map(<[f32]>::to_vec).unwrap_or_default();

    // d(loss)/d(mean) = dz + c mean, d(loss)/d(log_var) = dz eps exp(log_var / 2) / 2 + c (exp(log_var) - 1) / 2
    // with c = beta * kl_weight / rows, the KL term's weight in the batch mean.
    let c = (vae.beta * ctx.kl_weight / rows as f64) as f32;
    let top = mlp::top_delta(&enc, ws_enc, rows);
    for i in 0..rows {
        for j in 0..d {
            let (m, lv, e, g) = (heads[i * 2 * d + j], heads[i * 2 * d + d + j], eps[i * d + j], dz[i * d + j]);
            top[i * 2 * d + j] = g + c * m;
            top[i * 2 * d + d + j] = g * e * 0.5 * (0.5 * lv).exp() + c * 0.5 * (lv.exp() - 1.0);
        }
    }
    mlp::backward(&enc, x.as_slice(), rows, ws_enc, enc_grads, threads, false);

    // Hand the buffers back to their parameters, splitting the merged head.
    let (head_gw, head_gb) = (std::mem::take(&mut enc_grads[n_enc - 2]), std::mem::take(&mut enc_grads[n_enc - 1]));
    let (gw_mean, gw_lv) = head_gw.split_at(d * hidden);
    let (gb_mean, gb_lv) = head_gb.split_at(d);
    let dec_grads = grads.split_off(n_enc);
    grads.truncate(n_enc - 2);
    put_grads(&mut scratch.grads, &enc_layers, grads);
    put_grads(&mut scratch.grads, &dec_layers, dec_grads);
    put_grads(&mut scratch.grads, &[&vae.mean], vec![gw_mean.to_vec(), gb_mean.to_vec()]);
    put_grads(&mut scratch.grads, &[&vae.log_var], vec![gw_lv.to_vec(), gb_lv.to_vec()]);
    let n = rows as f64;
    let (recon, kl) = (recon / n, kl / n);
    Ok(Some(LossValues { total: recon + vae.beta * ctx.kl_weight * kl, recon, kl: Some(kl), sparsity: None }))
}

/// Which part of the VAE an inference pass runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pass {
    /// Inputs to posterior means.
    Encode,
    /// Codes to outputs in data space (sigmoid of the logits for Bernoulli).
    Decode,
    /// Inputs to the outputs decoded from their posterior means.
    Reconstruct,
}

/// An inference pass on the fused host path (no gradients), or `None` where it does not apply.
/// With `map_output` the decoder's outputs go through the likelihood's output map (a sigmoid for
/// Bernoulli logits); without, they are returned raw.
pub(crate) fn inference(
    vae: &Vae,
    xs: &candle_core::Tensor,
    pass: Pass,
    map_output: bool,
) -> Result<Option<candle_core::Tensor>> {
    let Some(stacks) = vae.body.dense() else { return Ok(None) };
    if !kernels::supports(stacks.activation) {
        return Ok(None);
    }
    let Some(x) = HostView::of(xs) else { return Ok(None) };
    let Some(enc_views) = stacks.encoder.iter().map(view).collect::<Option<Vec<_>>>() else { return Ok(None) };
    let Some(dec_views) = stacks.decoder.iter().map(view).collect::<Option<Vec<_>>>() else { return Ok(None) };
    let Some(mean) = view(&vae.mean) else { return Ok(None) };
    let act = Some(stacks.activation);
    let n_dec = dec_views.len();
    let output = match vae.likelihood {
        Likelihood::Bernoulli if map_output => Some(Activation::Sigmoid),
        _ => None,
    };
    let mut layers: Vec<Dense<'_>> = Vec::new();
    if pass != Pass::Decode {
        layers.extend(enc_views.iter().map(|(w, b)| dense(w, b, act)));
        layers.push(dense(&mean.0, &mean.1, None));
    }
    if pass != Pass::Encode {
        layers.extend(
            dec_views.iter().enumerate().map(|(i, (w, b))| dense(w, b, if i + 1 < n_dec { act } else { output })),
        );
    }
    Ok(Some(crate::host::infer(&layers, &x, xs)?))
}

/// `log p(x_{i / k} | z_i)` for the Bernoulli likelihood, one value per row of `zs`, with the
/// decoder and the per-row loss on the fused host path (the importance-weighted bound decodes
/// thousands of codes per image); `None` where the path does not apply.
pub(crate) fn bernoulli_log_likelihood(
    vae: &Vae,
    zs: &candle_core::Tensor,
    xs: &candle_core::Tensor,
    k: usize,
) -> Result<Option<candle_core::Tensor>> {
    if vae.likelihood != Likelihood::Bernoulli {
        return Ok(None);
    }
    let (Some(logits), Some(x)) = (inference(vae, zs, Pass::Decode, false)?, HostView::of(xs)) else {
        return Ok(None);
    };
    let Some(logits_view) = HostView::of(&logits) else { return Ok(None) };
    let n = xs.dim(1)?;
    let x = x.as_slice();
    let nll = kernels::row_losses(ReconLoss::Bce, logits_view.as_slice(), n, |i| &x[(i / k) * n..(i / k + 1) * n]);
    let log_px: Vec<f32> = nll.into_iter().map(|v| -v as f32).collect();
    let rows = log_px.len();
    Ok(Some(candle_core::Tensor::from_vec(log_px, rows, zs.device())?))
}

#[cfg(test)]
mod tests {
    use ae_core::rng::{Purpose, stream};
    use ae_core::{Autoencoder, Params};

    use super::*;
    use crate::vae::VaeConfig;

    #[test]
    fn fused_step_matches_autograd_loss_and_every_gradient() {
        // The decoder mirrors the encoder, or has its own shape.
        for (activation, decoder_hidden) in
            [(Activation::Relu, None), (Activation::Tanh, None), (Activation::Relu, Some(vec![5, 8, 4]))]
        {
            let params = Params::new();
            let cfg = VaeConfig {
                input_dim: 12,
                hidden: vec![9, 7],
                code_dim: 3,
                decoder_hidden,
                beta: 2.0,
                activation,
                ..Default::default()
            };
            let vae = Vae::new(&cfg, params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu)).unwrap();
            let xs = ae_core::rng::uniform(&mut stream(1, Purpose::Eval, 0), (5, 12), 0.0, 1.0, &Device::Cpu).unwrap();
            let batch = Batch::plain(xs);

            let mut rng = stream(3, Purpose::Sampling, 0);
            let mut ctx = StepContext { rng: &mut rng, training: true, kl_weight: 0.5 };
            let parts = vae.loss(&batch, &mut ctx).unwrap();
            let want = parts.values().unwrap();
            let want_grads = parts.total.backward().unwrap();

            let mut scratch = FusedScratch::default();
            for round in 0..2 {
                let mut rng = stream(3, Purpose::Sampling, 0);
                let mut ctx = StepContext { rng: &mut rng, training: true, kl_weight: 0.5 };
                let got = step(&vae, &batch, &mut ctx, &mut scratch).unwrap().unwrap();
                let close = |a: f64, b: f64| (a - b).abs() < 1e-4 * b.abs().max(1.0);
                assert!(close(got.total, want.total), "{activation} round {round}: {got:?} vs {want:?}");
                assert!(
                    close(got.recon, want.recon) && close(got.kl.unwrap(), want.kl.unwrap()),
                    "{got:?} vs {want:?}"
                );
                for (name, var) in params.named() {
                    let w = want_grads.get(var.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
                    let g =
                        scratch.grads.get(var.as_tensor()).unwrap_or_else(|| panic!("no fused gradient for {name}"));
                    let g = g.to_vec().unwrap();
                    assert_eq!(g.len(), w.len(), "{name}");
                    for (a, b) in g.iter().zip(&w) {
                        assert!((a - b).abs() < 1e-5 + 1e-4 * b.abs(), "{activation} {name}: {a} vs {b}");
                    }
                }
            }
        }
    }

    #[test]
    fn inference_passes_match_the_candle_modules() {
        let params = Params::new();
        let cfg = VaeConfig { input_dim: 12, hidden: vec![9], code_dim: 3, ..Default::default() };
        let vae = Vae::new(&cfg, params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu)).unwrap();
        let xs = ae_core::rng::uniform(&mut stream(1, Purpose::Eval, 0), (6, 12), 0.0, 1.0, &Device::Cpu).unwrap();
        let flat = |t: candle_core::Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let mean = vae.encode(&xs).unwrap();
        let logits = vae.decode(&mean).unwrap();
        let want = [
            (Pass::Encode, true, &xs, flat(mean.clone())),
            (Pass::Decode, false, &mean, flat(logits.clone())),
            (Pass::Reconstruct, true, &xs, flat(candle_nn::ops::sigmoid(&logits).unwrap())),
        ];
        for (pass, map, input, want) in want {
            let got = flat(inference(&vae, input, pass, map).unwrap().unwrap());
            assert_eq!(got.len(), want.len(), "{pass:?}");
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-5, "{pass:?}: {g} vs {w}");
            }
        }
        assert_eq!(flat(vae.embed(&xs).unwrap()), flat(inference(&vae, &xs, Pass::Encode, true).unwrap().unwrap()));
    }

    #[test]
    fn other_likelihoods_take_the_autograd_path() {
        let params = Params::new();
        let cfg = VaeConfig {
            input_dim: 4,
            hidden: vec![3],
            code_dim: 2,
            likelihood: Likelihood::GaussianLearned,
            ..Default::default()
        };
        let vae = Vae::new(&cfg, params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu)).unwrap();
        let batch = Batch::plain(candle_core::Tensor::zeros((2, 4), candle_core::DType::F32, &Device::Cpu).unwrap());
        let mut rng = stream(3, Purpose::Sampling, 0);
        let mut ctx = StepContext { rng: &mut rng, training: true, kl_weight: 1.0 };
        assert!(vae.fused_step(&batch, &mut ctx, &mut FusedScratch::default()).unwrap().is_none());
    }
}
