//! The sparse autoencoder's fused CPU step for the L1 penalty: the same loss and gradients as
//! autograd on [`SparseAe::loss`], on host memory. The encoder (ending in the ReLU code) and the
//! decoder run as two dense stacks; the decoder's backward pass hands the code's gradient back,
//! the penalty's gradient `weight / rows` is added where the code is positive (the subgradient of
//! `|z|` is taken as 0 at 0, as candle's `abs`), and the encoder's backward pass takes it from
//! there. KL and TopK codes train through autograd.

use ae_core::fused::host::HostView;
use ae_core::fused::mlp::{self, Dense};
use ae_core::fused::{self, FusedScratch, kernels};
use ae_core::{Activation, Batch, LossValues, ReconLoss, StepContext};
use candle_core::{Result, Tensor};

use crate::host::{dense, put_grads, take_grads, view};
use crate::sparse::SparseAe;
use crate::sparsity::Sparsity;

/// One fused training step, or `None` where the fused path does not apply (another sparsity,
/// an activation without a fused kernel, tensors off the CPU or not f32).
pub(crate) fn step(
    model: &SparseAe,
    batch: &Batch,
    ctx: &mut StepContext<'_>,
    scratch: &mut FusedScratch,
) -> Result<Option<LossValues>> {
    let Sparsity::L1 { weight } = model.sparsity() else { return Ok(None) };
    let Some((encoder, decoder, activation, loss)) = model.parts() else { return Ok(None) };
    if !kernels::supports(activation) {
        return Ok(None);
    }
    let (Some(x), Some(y)) = (HostView::of(&batch.input), HostView::of(&batch.target)) else { return Ok(None) };
    let Some(enc_views) = encoder.iter().map(|l| view(l)).collect::<Option<Vec<_>>>() else { return Ok(None) };
    let Some(dec_views) = decoder.iter().map(view).collect::<Option<Vec<_>>>() else { return Ok(None) };
    let n_enc = enc_views.len();
    let n_dec = dec_views.len();
    // The hidden layers use the model's activation; the code is ReLU; the decoder's last layer
    // is linear (logits).
    let enc: Vec<Dense<'_>> = enc_views
        .iter()
        .enumerate()
        .map(|(i, (w, b))| dense(w, b, Some(if i + 1 < n_enc { activation } else { Activation::Relu })))
        .collect();
    let dec: Vec<Dense<'_>> = dec_views
        .iter()
        .enumerate()
        .map(|(i, (w, b))| dense(w, b, if i + 1 < n_dec { Some(activation) } else { None }))
        .collect();

    let linears: Vec<&candle_nn::Linear> = encoder.iter().copied().chain(decoder).collect();
    let rows = batch.input.dim(0)?;
    let threads = fused::threads();
    let (ws_enc, ws_dec) = (&mut scratch.workspace, &mut scratch.second);

    mlp::forward(&enc, x.as_slice(), rows, ws_enc, threads);
    let code = mlp::layer_output(&enc, ws_enc, n_enc - 1, rows).to_vec();
    let penalty_sum: f64 = code.iter().map(|&v| f64::from(v.abs())).sum();
    if ctx.training {
        model.record_firing(&code, rows)?;
    }
    mlp::forward(&dec, &code, rows, ws_dec, threads);
    let recon = mlp::loss_into_delta(&dec, ws_dec, y.as_slice(), loss, rows);
    let mut grads = take_grads(&mut scratch.grads, &linears);
    let (enc_grads, dec_grads) = grads.split_at_mut(2 * n_enc);
    let dz =
        mlp::backward(&dec, &code, rows, ws_dec, dec_grads, threads, true).map(<[f32]>::to_vec).unwrap_or_default();

    // d(loss)/d(code pre-activation): (dz + weight/rows where the code is positive), zero where
    // the ReLU is off.
    let c = (weight / rows as f64) as f32;
    let top = mlp::top_delta(&enc, ws_enc, rows);
    for ((t, &g), &z) in top.iter_mut().zip(&dz).zip(&code) {
        *t = if z > 0.0 { g + c } else { 0.0 };
    }
    mlp::backward(&enc, x.as_slice(), rows, ws_enc, enc_grads, threads, false);
    put_grads(&mut scratch.grads, &linears, grads);
    let n = rows as f64;
    let (recon, penalty) = (recon / n, weight * penalty_sum / n);
    Ok(Some(LossValues { total: recon + penalty, recon, kl: None, sparsity: Some(penalty) }))
}

/// The code (`reconstruct` false) or the reconstruction in input space (true) of `xs` through
/// the fused host path, row-blocked across threads, or `None` where it does not apply (TopK,
/// whose mask sits inside the stack; an activation without a fused kernel; off the CPU).
pub(crate) fn inference(model: &SparseAe, xs: &Tensor, reconstruct: bool) -> Result<Option<Tensor>> {
    let code_act = match model.sparsity() {
        Sparsity::L1 { .. } => Activation::Relu,
        Sparsity::Kl { .. } => Activation::Sigmoid,
        Sparsity::TopK { .. } => return Ok(None),
    };
    let Some((encoder, decoder, activation, loss)) = model.parts() else { return Ok(None) };
    if !kernels::supports(activation) {
        return Ok(None);
    }
    let Some(x) = HostView::of(xs) else { return Ok(None) };
    let Some(enc_views) = encoder.iter().map(|l| view(l)).collect::<Option<Vec<_>>>() else { return Ok(None) };
    let Some(dec_views) = decoder.iter().map(view).collect::<Option<Vec<_>>>() else { return Ok(None) };
    let (n_enc, n_dec) = (enc_views.len(), dec_views.len());
    let output = match loss {
        ReconLoss::Bce => Some(Activation::Sigmoid),
        ReconLoss::Mse => None,
    };
    let mut layers: Vec<Dense<'_>> = enc_views
        .iter()
        .enumerate()
        .map(|(i, (w, b))| dense(w, b, Some(if i + 1 < n_enc { activation } else { code_act })))
        .collect();
    if reconstruct {
        layers.extend(
            dec_views
                .iter()
                .enumerate()
                .map(|(i, (w, b))| dense(w, b, if i + 1 < n_dec { Some(activation) } else { output })),
        );
    }
    Ok(Some(crate::host::infer(&layers, &x, xs)?))
}

#[cfg(test)]
mod tests {
    use ae_core::rng::{Purpose, stream};
    use ae_core::{Autoencoder, Params};
    use candle_core::Device;

    use super::*;
    use crate::sparse::SparseConfig;

    #[test]
    fn fused_l1_step_matches_autograd_loss_and_every_gradient() {
        for (hidden, activation) in [(vec![9], Activation::Relu), (vec![], Activation::Tanh)] {
            let params = Params::new();
            let cfg = SparseConfig {
                input_dim: 12,
                hidden: hidden.clone(),
                code_dim: 7,
                activation,
                sparsity: Sparsity::L1 { weight: 0.3 },
                ..Default::default()
            };
            let model = SparseAe::new(&cfg, params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu)).unwrap();
            let xs = ae_core::rng::uniform(&mut stream(1, Purpose::Eval, 0), (5, 12), 0.0, 1.0, &Device::Cpu).unwrap();
            let batch = Batch::plain(xs);
            let mut rng = stream(3, Purpose::Sampling, 0);
            let mut ctx = StepContext { rng: &mut rng, training: false, kl_weight: 1.0 };
            let parts = model.loss(&batch, &mut ctx).unwrap();
            let want = parts.values().unwrap();
            let want_grads = parts.total.backward().unwrap();

            let mut scratch = FusedScratch::default();
            let mut ctx = StepContext { rng: &mut rng, training: false, kl_weight: 1.0 };
            let got = step(&model, &batch, &mut ctx, &mut scratch).unwrap().unwrap();
            let close = |a: f64, b: f64| (a - b).abs() < 1e-4 * b.abs().max(1.0);
            assert!(
                close(got.total, want.total) && close(got.sparsity.unwrap(), want.sparsity.unwrap()),
                "{got:?} vs {want:?}"
            );
            for (name, var) in params.named() {
                let w = want_grads.get(var.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
                let g = scratch.grads.get(var.as_tensor()).unwrap_or_else(|| panic!("no fused gradient for {name}"));
                let g = g.to_vec().unwrap();
                for (a, b) in g.iter().zip(&w) {
                    assert!((a - b).abs() < 1e-5 + 1e-4 * b.abs(), "{hidden:?} {name}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn fused_inference_matches_encode_and_forward() {
        for (sparsity, loss) in [
            (Sparsity::L1 { weight: 0.1 }, ReconLoss::Bce),
            (Sparsity::Kl { rho: 0.1, weight: 1.0 }, ReconLoss::Mse),
            (Sparsity::TopK { k: 2 }, ReconLoss::Bce),
        ] {
            let cfg = SparseConfig {
                input_dim: 12,
                hidden: vec![9],
                code_dim: 7,
                sparsity,
                loss: loss.into(),
                ..Default::default()
            };
            let model =
                SparseAe::new(&cfg, Params::new().var_builder(stream(0, Purpose::Init, 0), &Device::Cpu)).unwrap();
            let xs = ae_core::rng::uniform(&mut stream(1, Purpose::Eval, 0), (5, 12), 0.0, 1.0, &Device::Cpu).unwrap();
            let want_code = model.encode(&xs).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let want_out = loss.to_output(&model.forward(&xs).unwrap()).unwrap();
            let want_out = want_out.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let got_code = model.embed(&xs).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let got_out = model.reconstruct(&xs).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            for (got, want) in [(got_code, want_code), (got_out, want_out)] {
                assert_eq!(got.len(), want.len());
                for (a, b) in got.iter().zip(&want) {
                    assert!((a - b).abs() < 1e-5 + 1e-5 * b.abs(), "{sparsity}: {a} vs {b}");
                }
            }
            assert_eq!(inference(&model, &xs, true).unwrap().is_some(), !matches!(sparsity, Sparsity::TopK { .. }));
        }
    }

    #[test]
    fn kl_and_topk_take_the_autograd_path() {
        for sparsity in [Sparsity::Kl { rho: 0.1, weight: 1.0 }, Sparsity::TopK { k: 2 }] {
            let cfg = SparseConfig { input_dim: 4, hidden: vec![], code_dim: 3, sparsity, ..Default::default() };
            let model =
                SparseAe::new(&cfg, Params::new().var_builder(stream(0, Purpose::Init, 0), &Device::Cpu)).unwrap();
            let batch =
                Batch::plain(candle_core::Tensor::zeros((2, 4), candle_core::DType::F32, &Device::Cpu).unwrap());
            let mut rng = stream(3, Purpose::Sampling, 0);
            let mut ctx = StepContext { rng: &mut rng, training: true, kl_weight: 1.0 };
            assert!(model.fused_step(&batch, &mut ctx, &mut FusedScratch::default()).unwrap().is_none());
        }
    }
}
