//! The one training loop through the library crates: determinism by seed, early stopping, and a
//! stop at the first non-finite loss that keeps the last good checkpoint byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ae::core::rng::{Purpose, stream};
use ae::core::{Autoencoder, Batch, LossParts, Params, ReconLoss, StepContext};
use ae::data::{DataConfig, Dataset};
use ae::models::{StackedAe, StackedConfig};
use ae::train::{EarlyStopping, Fit, RunDir, StopReason, TrainConfig, TrainError};
use candle_core::{Device, Result, Tensor};

fn data() -> Dataset {
    let cfg = DataConfig { train_limit: Some(600), test_limit: Some(100), val_fraction: 0.2, ..Default::default() };
    Dataset::load(&cfg, 0, &Device::Cpu).unwrap()
}

fn small() -> StackedConfig {
    StackedConfig { hidden: vec![32], code_dim: 8, ..Default::default() }
}

/// Trains a small model and returns its per-epoch training losses.
fn losses(seed: u64, epochs: usize) -> Vec<f64> {
    let d = data();
    let params = Params::new();
    let model = StackedAe::new(&small(), params.var_builder(stream(seed, Purpose::Init, 0), &Device::Cpu)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = TrainConfig { epochs, batch_size: 64, seed, ..Default::default() };
    let mut metrics = ae::train::metrics::MetricsFiles::new(&RunDir::new(tmp.path()));
    let run = RunDir::new(tmp.path());
    Fit::new(&model, &params, &d.train)
        .validation(d.val.as_ref())
        .config(&cfg)
        .run_dir(&run)
        .observer(&mut metrics)
        .run()
        .unwrap();
    std::fs::read_to_string(tmp.path().join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["train"]["total"].as_f64().unwrap())
        .collect()
}

#[test]
fn same_seed_same_losses_other_seed_other_losses() {
    let a = losses(3, 3);
    assert_eq!(a.len(), 3);
    assert_eq!(a, losses(3, 3));
    let b = losses(4, 3);
    assert!(a.iter().zip(&b).all(|(x, y)| x != y), "{a:?} vs {b:?}");
}

/// A stacked autoencoder whose loss turns NaN from a given training call on.
struct Poisoned {
    inner: StackedAe,
    after: usize,
    calls: std::cell::Cell<usize>,
}

impl Autoencoder for Poisoned {
    fn input_dim(&self) -> usize {
        self.inner.input_dim()
    }
    fn code_dim(&self) -> usize {
        self.inner.code_dim()
    }
    fn encode(&self, xs: &Tensor) -> Result<Tensor> {
        self.inner.encode(xs)
    }
    fn decode(&self, zs: &Tensor) -> Result<Tensor> {
        self.inner.decode(zs)
    }
    fn recon_loss(&self) -> ReconLoss {
        self.inner.recon_loss()
    }
    fn loss(&self, batch: &Batch, ctx: &mut StepContext<'_>) -> Result<LossParts> {
        let parts = self.inner.loss(batch, ctx)?;
        if !ctx.training {
            return Ok(parts);
        }
        self.calls.set(self.calls.get() + 1);
        if self.calls.get() > self.after {
            return Ok(LossParts::recon_only((parts.recon * f64::NAN)?));
        }
        Ok(parts)
    }
}

#[test]
fn a_non_finite_loss_stops_training_and_keeps_the_good_checkpoint() {
    let d = data();
    let params = Params::new();
    let inner = StackedAe::new(&small(), params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu)).unwrap();
    // 480 training examples in batches of 64: 8 steps per epoch; poison the 3rd step of epoch 2.
    let model = Poisoned { inner, after: 10, calls: Default::default() };
    let tmp = tempfile::tempdir().unwrap();
    let run = RunDir::new(tmp.path());
    let cfg = TrainConfig { epochs: 3, batch_size: 64, ..Default::default() };
    let err =
        Fit::new(&model, &params, &d.train).validation(d.val.as_ref()).config(&cfg).run_dir(&run).run().unwrap_err();
    assert!(matches!(err, TrainError::NonFiniteLoss { step: 10, epoch: 2, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("at step 10 (epoch 2)") && msg.contains("--lr") && msg.contains("--clip-grad-norm"), "{msg}");
    let state = run.load_state().unwrap();
    assert_eq!((state.epoch, state.step), (1, 8), "the checkpoint is still epoch 1's");
    // The saved weights are epoch 1's: loading them gives a finite, trained model again.
    let saved = std::fs::read(run.model()).unwrap();
    let fresh = Params::new();
    let again = StackedAe::new(&small(), fresh.var_builder(stream(9, Purpose::Init, 0), &Device::Cpu)).unwrap();
    fresh.load(&run.model()).unwrap();
    assert!(again.reconstruct(&d.test.images).unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap().is_finite());
    assert_eq!(std::fs::read(run.model()).unwrap(), saved);
}

/// A learning rate so high that validation loss bounces, so early stopping with patience 1 must
/// trigger and the best epoch is not the last.
fn bouncing() -> TrainConfig {
    let mut cfg = TrainConfig {
        epochs: 30,
        batch_size: 64,
        early_stopping: Some(EarlyStopping { patience: 1, min_delta: 0.0 }),
        ..Default::default()
    };
    cfg.optimizer.adam_mut().lr = 0.05;
    cfg
}

#[test]
fn early_stopping_ends_a_run_that_stops_improving() {
    let d = data();
    let params = Params::new();
    let model = StackedAe::new(&small(), params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let run = RunDir::new(tmp.path());
    let cfg = bouncing();
    let report =
        Fit::new(&model, &params, &d.train).validation(d.val.as_ref()).config(&cfg).run_dir(&run).run().unwrap();
    assert_eq!(report.stop, StopReason::EarlyStopped);
    assert!(report.state.epoch < 30);
    assert_eq!(report.state.epochs_since_improvement, 1);
    assert!(report.state.best_epoch.unwrap() < report.state.epoch);
    // Resuming an early-stopped run trains no further.
    let again = Fit::new(&model, &params, &d.train)
        .validation(d.val.as_ref())
        .config(&cfg)
        .run_dir(&run)
        .resume(true)
        .run()
        .unwrap();
    assert_eq!((again.stop, again.state.step), (StopReason::EarlyStopped, report.state.step));
}

/// Trains with the fused step or with autograd from the same start, returning per-epoch losses
/// and the final weights.
fn train_both_ways(fused: bool, cfg: StackedConfig) -> (Vec<f64>, Vec<f32>) {
    let d = data();
    let params = Params::new();
    let model = StackedAe::new(&cfg, params.var_builder(stream(5, Purpose::Init, 0), &Device::Cpu)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let run = RunDir::new(tmp.path());
    let mut metrics = ae::train::metrics::MetricsFiles::new(&run);
    let train =
        TrainConfig { epochs: 3, batch_size: 50, seed: 5, fused, clip_grad_norm: Some(50.0), ..Default::default() };
    Fit::new(&model, &params, &d.train)
        .validation(d.val.as_ref())
        .config(&train)
        .run_dir(&run)
        .observer(&mut metrics)
        .run()
        .unwrap();
    let losses = std::fs::read_to_string(tmp.path().join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["train"]["total"].as_f64().unwrap())
        .collect();
    let weights = params.named().iter().flat_map(|(_, v)| v.flatten_all().unwrap().to_vec1::<f32>().unwrap()).collect();
    (losses, weights)
}

#[test]
fn the_fused_step_trains_like_autograd() {
    for act in [ae::core::Activation::Relu, ae::core::Activation::Tanh] {
        for loss in [ReconLoss::Bce, ReconLoss::Mse] {
            let cfg = StackedConfig {
                hidden: vec![48, 24],
                code_dim: 6,
                activation: act,
                loss: loss.into(),
                ..Default::default()
            };
            let (fused_losses, fused_w) = train_both_ways(true, cfg.clone());
            let (plain_losses, plain_w) = train_both_ways(false, cfg);
            for (a, b) in fused_losses.iter().zip(&plain_losses) {
                assert!((a - b).abs() <= 1e-4 * b.abs(), "{act} {loss:?}: {fused_losses:?} vs {plain_losses:?}");
            }
            let max_diff = fused_w.iter().zip(&plain_w).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(max_diff < 1e-3, "{act} {loss:?}: weights differ by up to {max_diff}");
        }
    }
}

#[test]
fn without_a_run_directory_nothing_is_written_and_the_best_weights_can_be_restored() {
    let d = data();
    let params = Params::new();
    let model = StackedAe::new(&small(), params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu)).unwrap();
    // Validation loss bounces, so the best epoch is not the last.
    let cfg = bouncing();
    let cwd_before: Vec<_> = std::fs::read_dir(".").unwrap().map(|e| e.unwrap().file_name()).collect();
    let val = d.val.as_ref().unwrap();
    let last = Fit::new(&model, &params, &d.train).validation(Some(val)).config(&cfg).run().unwrap();
    let last_loss = ae::train::evaluate(&model, val, 64, 0).unwrap().total;
    assert_eq!(last.weights_epoch, last.state.epoch, "without restore_best the last weights stay");

    let params = Params::new();
    let model = StackedAe::new(&small(), params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu)).unwrap();
    let best = Fit::new(&model, &params, &d.train).validation(Some(val)).config(&cfg).restore_best(true).run().unwrap();
    let best_epoch = best.state.best_epoch.unwrap();
    assert!(best_epoch < best.state.epoch, "the bouncing run's best epoch is {best_epoch}, not the last");
    assert_eq!(best.weights_epoch, best_epoch);
    let restored = ae::train::evaluate(&model, val, 64, 0).unwrap().total;
    assert!(
        (restored - best.state.best_val_loss.unwrap()).abs() < 1e-4,
        "{restored} vs {:?}",
        best.state.best_val_loss
    );
    assert!(restored < last_loss, "best {restored} should beat last {last_loss}");
    let cwd_after: Vec<_> = std::fs::read_dir(".").unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(cwd_before, cwd_after, "no files appear without a run directory");

    let err = Fit::new(&model, &params, &d.train).config(&cfg).resume(true).run().unwrap_err();
    assert!(err.to_string().contains("a run directory to resume from"), "{err}");
}
