//! What the training loop tells the outside world. Libraries print nothing: the binary picks
//! observers (a progress bar, per-epoch lines, metrics files) and can ask the loop to stop.

use ae_core::LossValues;

use crate::error::TrainError;

/// Training is about to start (or resume).
#[derive(Debug, Clone)]
pub struct TrainStart {
    /// Epochs already completed (0 for a fresh run).
    pub start_epoch: usize,
    /// Epochs in all.
    pub epochs: usize,
    /// Optimizer steps per epoch.
    pub steps_per_epoch: usize,
    /// Training examples per epoch.
    pub train_examples: usize,
    /// Scalar parameters in the model.
    pub parameters: usize,
    /// On resume, the step of the checkpoint training continues from.
    pub resumed_step: Option<u64>,
    /// On resume, newer checkpoint files that were passed over, each with the reason.
    pub skipped_checkpoints: Vec<String>,
}

/// One optimizer step finished.
#[derive(Debug, Clone)]
pub struct StepEnd {
    /// Epoch (1-based) the step belongs to.
    pub epoch: usize,
    /// Global step count after this step.
    pub step: u64,
    /// Steps done in this epoch.
    pub step_in_epoch: usize,
    /// The batch's loss terms.
    pub loss: LossValues,
    /// The learning rate used.
    pub lr: f64,
}

/// One epoch finished and was checkpointed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EpochEnd {
    /// Epoch (1-based).
    pub epoch: usize,
    /// Global step count.
    pub step: u64,
    /// Learning rate at the last step.
    pub lr: f64,
    /// Mean training loss terms over the epoch, per example.
    pub train: LossValues,
    /// Validation loss terms, per example.
    pub val: Option<LossValues>,
    /// Wall-clock seconds of the epoch (training and validation).
    pub seconds: f64,
    /// Training examples per second.
    pub examples_per_second: f64,
    /// Whether validation loss reached a new best (and `best.safetensors` was written).
    pub improved: bool,
}

/// Receives training events. Every method has a default that does nothing.
pub trait Observer {
    /// Before the first step.
    fn on_train_start(&mut self, _start: &TrainStart) -> Result<(), TrainError> {
        Ok(())
    }
    /// After every optimizer step.
    fn on_step(&mut self, _step: &StepEnd) {}
    /// After every epoch, before its checkpoint is written.
    fn on_epoch_end(&mut self, _epoch: &EpochEnd) -> Result<(), TrainError> {
        Ok(())
    }
    /// After the last epoch (or an early stop).
    fn on_train_end(&mut self) {}
    /// Polled after every step; `true` ends training at the next checkpoint boundary.
    fn should_stop(&self) -> bool {
        false
    }
}

impl Observer for Vec<Box<dyn Observer + '_>> {
    fn on_train_start(&mut self, start: &TrainStart) -> Result<(), TrainError> {
        self.iter_mut().try_for_each(|o| o.on_train_start(start))
    }
    fn on_step(&mut self, step: &StepEnd) {
        self.iter_mut().for_each(|o| o.on_step(step));
    }
    fn on_epoch_end(&mut self, epoch: &EpochEnd) -> Result<(), TrainError> {
        self.iter_mut().try_for_each(|o| o.on_epoch_end(epoch))
    }
    fn on_train_end(&mut self) {
        self.iter_mut().for_each(|o| o.on_train_end());
    }
    fn should_stop(&self) -> bool {
        self.iter().any(|o| o.should_stop())
    }
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Observer for Silent {}
