//! The training loop: the only one in ae, set up with [`Fit`]. Every kind of autoencoder trains
//! through it: the model
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
use ae_data::{Loader, RowSource, Split};

use crate::checkpoint::RunDir;
use crate::clip::clip_grad_norm;
use crate::config::TrainConfig;
use crate::error::TrainError;
use crate::eval::{check_split, evaluate_with_noise};
use crate::observer::{EpochEnd, Observer, StepEnd, TrainStart};
use crate::optim::Adam;
use crate::state::TrainState;

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

/// The outcome of [`Fit::run`].
#[derive(Debug, Clone)]
pub struct FitReport {
    /// Where the run stands now (also in `state.json` when there is a run directory).
    pub state: TrainState,
    /// Why it ended.
    pub stop: StopReason,
    /// The last epoch's summary, if an epoch finished in this call.
    pub last_epoch: Option<EpochEnd>,
    /// The epoch whose weights the model holds now: the best one with
    /// [`Fit::restore_best`] (when some epoch was kept as best), else the last one.
    pub weights_epoch: usize,
}

/// Training set up step by step, then [`run`](Fit::run): the model and its parameters, the
/// training examples, and optionally a validation split, a config, a run directory to checkpoint
/// into (and resume from), an observer, and whether to leave the best weights in the model.
///
/// ```
/// use ae_core::candle::{Device, Tensor};
/// use ae_core::rng::{Purpose, stream};
/// use ae_core::Params;
/// use ae_data::Split;
/// use ae_models::{StackedAe, StackedConfig};
/// use ae_train::{Fit, TrainConfig};
///
/// // A 6-4-2 autoencoder on 64 unlabelled rows held in memory, with no run directory.
/// let rows: Vec<f32> = (0..64 * 6).map(|i| ((i * 7) % 10) as f32 / 10.0).collect();
/// let split = Split::new(Tensor::from_vec(rows, (64, 6), &Device::Cpu)?, None)?;
/// let (train, val) = split.carve(0.25, 0)?;
/// let params = Params::new();
/// let cfg = StackedConfig { input_dim: 6, hidden: vec![4], code_dim: 2, ..Default::default() };
/// let model = StackedAe::new(&cfg, params.var_builder(stream(0, Purpose::Init, 0), &Device::Cpu))?;
/// let train_cfg = TrainConfig { epochs: 3, batch_size: 16, ..Default::default() };
/// let report = Fit::new(&model, &params, &train).validation(val.as_ref()).config(&train_cfg).restore_best(true).run()?;
/// assert_eq!(report.state.epoch, 3);
/// assert_eq!(Some(report.weights_epoch), report.state.best_epoch);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Fit<'a, M: Autoencoder + ?Sized> {
    model: &'a M,
    params: &'a Params,
    train: &'a dyn RowSource,
    val: Option<&'a Split>,
    cfg: TrainConfig,
    run: Option<&'a RunDir>,
    resume: bool,
    restore_best: bool,
    observer: Option<&'a mut dyn Observer>,
}

impl<'a, M: Autoencoder + ?Sized> Fit<'a, M> {
    /// Trains `model`, whose parameters are `params`, on `train`, with the default
    /// [`TrainConfig`], no validation, no run directory and no observer.
    pub fn new(model: &'a M, params: &'a Params, train: &'a dyn RowSource) -> Self {
        Self {
            model,
            params,
            train,
            val: None,
            cfg: TrainConfig::default(),
            run: None,
            resume: false,
            restore_best: false,
            observer: None,
        }
    }

    /// Validates on `val` after every epoch (for the best weights and early stopping).
    pub fn validation(mut self, val: Option<&'a Split>) -> Self {
        self.val = val;
        self
    }

    /// Trains as `cfg` says.
    pub fn config(mut self, cfg: &TrainConfig) -> Self {
        self.cfg = cfg.clone();
        self
    }

    /// Checkpoints into `run` after every epoch (a fresh run first writes its initial state, so
    /// a run killed at any moment can resume) and keeps `best.safetensors` there.
    pub fn run_dir(mut self, run: &'a RunDir) -> Self {
        self.run = Some(run);
        self
    }

    /// First restores weights, optimizer and progress from the run directory's newest checkpoint
    /// that loads (needs [`run_dir`](Fit::run_dir)).
    pub fn resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Leaves the weights of the epoch with the lowest validation loss in the model when training
    /// ends (without validation, the last epoch's), instead of the last step's.
    pub fn restore_best(mut self, restore: bool) -> Self {
        self.restore_best = restore;
        self
    }

    /// Tells `observer` about the start, every step and every epoch, and asks it whether to stop.
    pub fn observer(mut self, observer: &'a mut dyn Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Trains. The loss and the updated parameters are checked every step: a non-finite value
    /// stops training before anything is written, so the last good checkpoint stays.
    pub fn run(self) -> Result<FitReport, TrainError> {
        let mut silent = crate::observer::Silent;
        let observer = match self.observer {
            Some(o) => o,
            None => &mut silent,
        };
        if self.resume && self.run.is_none() {
            return Err(TrainError::InvalidConfig {
                field: "resume".into(),
                value: "true".into(),
                expected: "a run directory to resume from (Fit::run_dir)".into(),
            });
        }
        let mut best = BestWeights::new(self.restore_best, self.run);
        let mut report = fit_loop(
            self.model,
            self.params,
            (self.train, self.val),
            &self.cfg,
            self.run,
            self.resume,
            observer,
            &mut best,
        )?;
        if self.restore_best && report.stop != StopReason::Interrupted && best.restore(self.params)? {
            report.weights_epoch = report.state.best_epoch.unwrap_or(report.state.epoch);
        }
        Ok(report)
    }
}

/// Where the best epoch's weights are kept: in the run directory's `best.safetensors`, and in
/// memory too when they are to be restored.
struct BestWeights<'a> {
    keep_in_memory: bool,
    run: Option<&'a RunDir>,
    copy: Option<Vec<(candle_core::Var, candle_core::Tensor)>>,
}

impl<'a> BestWeights<'a> {
    fn new(keep_in_memory: bool, run: Option<&'a RunDir>) -> Self {
        Self { keep_in_memory, run, copy: None }
    }

    fn save(&mut self, params: &Params, state: &TrainState) -> Result<(), TrainError> {
        if let Some(run) = self.run {
            run.save_best(params, state)?;
        }
        if self.keep_in_memory {
            let copy = params.named().into_iter().map(|(_, v)| Ok((v.clone(), v.as_tensor().copy()?)));
            self.copy = Some(copy.collect::<candle_core::Result<_>>()?);
        }
        Ok(())
    }

    /// Puts the best weights back; false when none were kept (no epoch finished).
    fn restore(&self, params: &Params) -> Result<bool, TrainError> {
        if let Some(copy) = &self.copy {
            for (var, value) in copy {
                var.set(value)?;
            }
            return Ok(true);
        }
        match self.run {
            // Kept by an earlier call of a resumed run.
            Some(run) if run.best().is_file() => {
                params.load(&run.best())?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// The loop itself. `run`, when given, receives a checkpoint after every epoch (and one of the
/// initial state of a fresh run); `best` receives the weights of every epoch that improves.
#[allow(clippy::too_many_arguments)]
fn fit_loop<M: Autoencoder + ?Sized>(
    model: &M,
    params: &Params,
    (train, val_split): (&dyn RowSource, Option<&Split>),
    cfg: &TrainConfig,
    run: Option<&RunDir>,
    resume: bool,
    observer: &mut dyn Observer,
    best: &mut BestWeights<'_>,
) -> Result<FitReport, TrainError> {
    cfg.validate()?;
    if train.features() != model.input_dim() {
        return Err(TrainError::DataShape {
            split: "training",
            expected: model.input_dim(),
            shape: vec![train.len(), train.features()],
            dtype: candle_core::DType::F32,
        });
    }
    if let Some(val) = val_split {
        check_split(model, val, "validation")?;
    }
    let vars = params.named();
    let mut optim = Adam::new(cfg.optimizer.clone());
    let checkpoint = |optim: &Adam, state: &TrainState| match run {
        Some(run) => run.save_checkpoint(params, optim, state),
        None => Ok(()),
    };
    let (mut state, skipped_checkpoints) = match run {
        Some(run) if resume => {
            let r = run.load_checkpoint(params, &mut optim)?;
            (r.state, r.skipped)
        }
        _ => {
            // A checkpoint from the start, so that a run killed at any moment has one to resume.
            let state = TrainState::default();
            checkpoint(&optim, &state)?;
            (state, Vec::new())
        }
    };
    let loader = Loader::shuffled(train, cfg.batch_size, cfg.seed).with_noise(cfg.noise, cfg.seed, 0);
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
            path: run.map(RunDir::state).unwrap_or_default(),
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
        train_examples: train.len(),
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
            // The model's fused step where it has one, else candle's autograd on its loss; either
            // way the step's gradients end up in `scratch.grads`.
            scratch.grads.begin_step();
            let fused = if cfg.fused { model.fused_step(&batch, &mut ctx, &mut scratch)? } else { None };
            let values = match fused {
                Some(values) => values,
                None => {
                    let parts = model.loss(&batch, &mut ctx)?;
                    let values = parts.values()?;
                    if values.is_finite() {
                        scratch.grads.set_from_autograd(&parts.total.backward()?, &vars);
                    }
                    values
                }
            };
            if !values.is_finite() {
                return Err(TrainError::NonFiniteLoss { step: state.step, epoch: epoch + 1, value: values.total });
            }
            model.before_step(&mut scratch.grads)?;
            if let Some(max_norm) = cfg.clip_grad_norm {
                let norm = clip_grad_norm(&vars, &mut scratch.grads, max_norm)?;
                if !norm.is_finite() {
                    return Err(TrainError::NonFiniteGradient { step: state.step, epoch: epoch + 1, value: norm });
                }
            }
            if !optim.step(&vars, &scratch.grads, lr)? {
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
                checkpoint(&optim, &state)?;
                stop = StopReason::Interrupted;
                break;
            }
        }
        if stop == StopReason::Interrupted {
            break;
        }
        let val = val_split.map(|v| evaluate_with_noise(model, v, cfg.batch_size, cfg.seed, cfg.noise)).transpose()?;
        state.epoch += 1;
        let improved = update_best(&mut state, val.as_ref(), cfg);
        if improved {
            best.save(params, &state)?;
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
        checkpoint(&optim, &state)?;
        last_epoch = Some(summary);
        if observer.should_stop() && state.epoch < cfg.epochs {
            stop = StopReason::Interrupted;
        }
    }
    observer.on_train_end();
    let weights_epoch = state.epoch;
    Ok(FitReport { state, stop, last_epoch, weights_epoch })
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
