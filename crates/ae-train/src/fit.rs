//! The training loop: the only one in ae. Every kind of autoencoder trains through it: the model
//! supplies the loss of a batch, this loop owns batching, the optimizer, the schedule, clipping,
//! validation, early stopping, checkpoints and observers.
//!
//! A run can stop after any step (an observer asks) and resume exactly: the epoch's batch order is
//! a pure function of the seed and the epoch, so a resume re-draws it and skips the batches already
//! done; weights, moments and the step come from the checkpoint.

use std::time::Instant;

use ae_core::fused::FusedScratch;
use ae_core::rng::{self, Purpose};
use ae_core::{Autoencoder, LossValues, Params, StepContext};
use ae_data::{Loader, Split};

use crate::checkpoint::RunDir;
use crate::clip::{clip_fused_grad_norm, clip_grad_norm};
use crate::config::TrainConfig;
use crate::error::TrainError;
use crate::eval::{check_split, evaluate_with_noise};
use crate::observer::{EpochEnd, Observer, StepEnd, TrainStart};
use crate::optim::{Adam, Grads};
use crate::state::TrainState;

/// The examples a run trains and validates on.
#[derive(Debug, Clone, Copy)]
pub struct FitData<'a> {
    /// Training examples.
    pub train: &'a Split,
    /// Validation examples, for `best` and early stopping.
    pub val: Option<&'a Split>,
}

/// Why training ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Every epoch ran.
    Completed,
    /// Validation loss stopped improving.
    EarlyStopped,
    /// An observer asked to stop; the checkpoint holds the last step.
    Interrupted,
}

/// The outcome of [`fit`].
#[derive(Debug, Clone)]
pub struct FitReport {
    /// Where the run stands now (also in `state.json`).
    pub state: TrainState,
    /// Why it ended.
    pub stop: StopReason,
    /// The last epoch's summary, if an epoch finished in this call.
    pub last_epoch: Option<EpochEnd>,
}

/// Trains `model`, whose parameters are `params`, on `data` as `cfg` says, checkpointing into
/// `run` after every epoch. With `resume`, weights, optimizer and progress are first restored
/// from `run`'s newest checkpoint that loads; a fresh run first writes a checkpoint of its initial
/// state, so a run killed at any moment can resume. The loss and the updated parameters are
/// checked every step: a non-finite value stops training before anything is written, so the
/// last good checkpoint stays.
pub fn fit<M: Autoencoder + ?Sized>(
    model: &M,
    params: &Params,
    data: FitData<'_>,
    cfg: &TrainConfig,
    run: &RunDir,
    resume: bool,
    observer: &mut dyn Observer,
) -> Result<FitReport, TrainError> {
    cfg.validate()?;
    check_split(model, data.train, "training")?;
    if let Some(val) = data.val {
        check_split(model, val, "validation")?;
    }
    let vars = params.named();
    let mut optim = Adam::new(cfg.optimizer.clone());
    let (mut state, skipped_checkpoints) = if resume {
        let r = run.load_checkpoint(params, &mut optim)?;
        (r.state, r.skipped)
    } else {
        // A checkpoint from the start, so that a run killed at any moment has one to resume.
        let state = TrainState::default();
        run.save_checkpoint(params, &optim, &state)?;
        (state, Vec::new())
    };
    let loader = Loader::shuffled(data.train, cfg.batch_size, cfg.seed).with_noise(cfg.noise, cfg.seed, 0);
    let steps_per_epoch = loader.len() as u64;
    if steps_per_epoch == 0 {
        return Err(TrainError::InvalidConfig {
            field: "data".into(),
            value: "0 training examples".into(),
            expected: "at least one training example".into(),
        });
    }
    // A state that claims more progress than the run can have made (edited by hand, or from
    // another run) is refused rather than trusted: its epoch must be within the run's epochs and
    // its step within the steps those epochs hold.
    let step_ceiling = steps_per_epoch * (state.epoch as u64 + 1);
    if state.epoch > cfg.epochs || state.step > step_ceiling || state.step < steps_per_epoch * state.epoch as u64 {
        return Err(TrainError::BadCheckpoint {
            path: run.state(),
            reason: format!(
                "epoch {} at step {} does not fit this run ({} epochs of {steps_per_epoch} steps); the state file was \
                 edited or comes from another run",
                state.epoch, state.step, cfg.epochs
            ),
        });
    }
    let total_steps = steps_per_epoch * cfg.epochs as u64;
    let base_lr = cfg.optimizer.adam().lr;
    observer.on_train_start(&TrainStart {
        start_epoch: state.epoch,
        epochs: cfg.epochs,
        steps_per_epoch: steps_per_epoch as usize,
        train_examples: data.train.len(),
        parameters: params.count(),
        resumed_step: resume.then_some(state.step),
        skipped_checkpoints,
    })?;

    let mut scratch = FusedScratch::default();
    let mut last_epoch = None;
    let mut stop = StopReason::Completed;
    if state.early_stopped {
        stop = StopReason::EarlyStopped;
    }
    while state.epoch < cfg.epochs && stop == StopReason::Completed {
        let epoch = state.epoch;
        let started = Instant::now();
        let done_in_epoch = state.step.saturating_sub(epoch as u64 * steps_per_epoch) as usize;
        let mut sampling = rng::stream(cfg.seed, Purpose::Sampling, epoch as u64);
        let mut sum = LossValues::default();
        let mut seen = 0usize;
        let mut lr = base_lr;
        for (i, batch) in loader.epoch(epoch as u64).enumerate().skip(done_in_epoch) {
            let batch = batch?;
            lr = cfg.schedule.lr_at(base_lr, state.step, total_steps);
            let mut ctx = StepContext { rng: &mut sampling, training: true, kl_weight: cfg.kl_weight_at(state.step) };
            // The model's fused step where it has one, else candle's autograd on its loss.
            let fused = if cfg.fused { model.fused_step(&batch, &mut ctx, &mut scratch)? } else { None };
            let (values, mut store) = match fused {
                Some(values) => (values, None),
                None => {
                    let parts = model.loss(&batch, &mut ctx)?;
                    let values = parts.values()?;
                    let grads = if values.is_finite() { Some(parts.total.backward()?) } else { None };
                    (values, grads)
                }
            };
            if !values.is_finite() {
                return Err(TrainError::NonFiniteLoss { step: state.step, epoch: epoch + 1, value: values.total });
            }
            if let Some(max_norm) = cfg.clip_grad_norm {
                let norm = match store.as_mut() {
                    Some(grads) => clip_grad_norm(&vars, grads, max_norm)?,
                    None => clip_fused_grad_norm(&mut scratch, max_norm),
                };
                if !norm.is_finite() {
                    return Err(TrainError::NonFiniteGradient { step: state.step, epoch: epoch + 1, value: norm });
                }
            }
            let grads = match &store {
                Some(grads) => Grads::Autograd(grads),
                None => Grads::Fused(&scratch),
            };
            if !optim.step(&vars, grads, lr)? {
                // Caught before anything is saved: the last checkpoint stays as it was.
                return Err(TrainError::NonFiniteGradient { step: state.step, epoch: epoch + 1, value: f64::NAN });
            }
            model.after_step()?;
            state.step += 1;
            let n = batch.input.dim(0)?;
            sum.add_weighted(&values, n as f64);
            seen += n;
            observer.on_step(&StepEnd { epoch: epoch + 1, step: state.step, step_in_epoch: i + 1, loss: values, lr });
            if observer.should_stop() && (i + 1) < steps_per_epoch as usize {
                run.save_checkpoint(params, &optim, &state)?;
                stop = StopReason::Interrupted;
                break;
            }
        }
        if stop == StopReason::Interrupted {
            break;
        }
        let val = data.val.map(|v| evaluate_with_noise(model, v, cfg.batch_size, cfg.seed, cfg.noise)).transpose()?;
        state.epoch += 1;
        let improved = update_best(&mut state, val.as_ref(), cfg);
        if improved {
            run.save_best(params, &state)?;
        }
        let patience_spent =
            cfg.early_stopping.as_ref().is_some_and(|es| state.epochs_since_improvement >= es.patience);
        if !improved && val.is_some() && patience_spent {
            state.early_stopped = true;
            stop = StopReason::EarlyStopped;
        }
        let seconds = started.elapsed().as_secs_f64();
        let summary = EpochEnd {
            epoch: state.epoch,
            step: state.step,
            lr,
            train: sum.scaled(seen.max(1) as f64),
            val,
            seconds,
            examples_per_second: seen as f64 / seconds.max(1e-9),
            improved,
        };
        observer.on_epoch_end(&summary)?;
        run.save_checkpoint(params, &optim, &state)?;
        last_epoch = Some(summary);
        if observer.should_stop() && state.epoch < cfg.epochs {
            stop = StopReason::Interrupted;
        }
    }
    observer.on_train_end();
    Ok(FitReport { state, stop, last_epoch })
}

/// Records a new best validation loss; returns whether this epoch improved on it. Without a
/// validation split every epoch counts as the best, so `best.safetensors` is the latest.
fn update_best(state: &mut TrainState, val: Option<&LossValues>, cfg: &TrainConfig) -> bool {
    let Some(val) = val else {
        state.best_epoch = Some(state.epoch);
        return true;
    };
    let min_delta = cfg.early_stopping.as_ref().map_or(0.0, |e| e.min_delta);
    let improved = state.best_val_loss.is_none_or(|best| val.total < best - min_delta);
    if improved {
        state.best_val_loss = Some(val.total);
        state.best_epoch = Some(state.epoch);
        state.epochs_since_improvement = 0;
    } else {
        state.epochs_since_improvement += 1;
    }
    improved
}
