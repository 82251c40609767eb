//! Where a run stands, saved as `state.json` beside the weights: enough to resume exactly (the
//! random streams are pure functions of the seed and the epoch, so no generator state is needed).

use serde::{Deserialize, Serialize};

/// The version of `state.json` this build writes and reads.
pub const STATE_FORMAT: u32 = 1;

/// Progress of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainState {
    /// Format version of this file.
    pub format: u32,
    /// Optimizer steps taken.
    pub step: u64,
    /// Epochs completed.
    pub epoch: usize,
    /// Lowest validation loss so far (per example).
    pub best_val_loss: Option<f64>,
    /// Epoch (1-based) that reached it.
    pub best_epoch: Option<usize>,
    /// Epochs since the last improvement, for early stopping.
    pub epochs_since_improvement: usize,
    /// Set once training ended by early stopping (a resume then does nothing).
    pub early_stopped: bool,
}

impl Default for TrainState {
    fn default() -> Self {
        Self {
            format: STATE_FORMAT,
            step: 0,
            epoch: 0,
            best_val_loss: None,
            best_epoch: None,
            epochs_since_improvement: 0,
            early_stopped: false,
        }
    }
}
