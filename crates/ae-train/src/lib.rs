//! Training for every kind of autoencoder: [`Fit`] sets up the one loop, generic over
//! [`ae_core::Autoencoder`]; around it sit our own Adam/AdamW (whose state is saved, for exact
//! resumes), learning-rate schedules as pure functions of the step, global-norm clipping, early
//! stopping, atomic checkpoints and observers for progress and metrics files. This crate prints
//! nothing: the binary picks the observers.
//!
//! ```
//! use ae_train::{Decay, LrSchedule, roc_auc};
//!
//! // Schedules are pure functions of the step: a cosine from 1e-3 down to 1e-4 over 100 steps.
//! let cosine = LrSchedule { warmup_steps: 0, decay: Decay::Cosine { min_lr: 1e-4 } };
//! assert_eq!((cosine.lr_at(1e-3, 0, 100), cosine.lr_at(1e-3, 100, 100)), (1e-3, 1e-4));
//! // Anomaly scores against which examples are anomalies: ROC AUC.
//! assert_eq!(roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]), Some(0.75));
//! ```

pub mod anomaly;
pub mod checkpoint;
pub mod clip;
pub mod config;
pub mod error;
pub mod eval;
pub mod fit;
pub mod metrics;
pub mod observer;
pub mod optim;
pub mod probe;
pub mod schedule;
pub mod state;
pub mod tensorboard;

pub use anomaly::{ScoreKind, anomaly_scores, roc_auc};
pub use checkpoint::RunDir;
pub use config::{EarlyStopping, OptimizerConfig, TrainConfig};
pub use error::TrainError;
pub use eval::{
    CodeActivity, DenoisingScores, code_activity, dead_fraction, denoising_scores, evaluate, evaluate_with_noise,
    firing_frequencies, importance_weighted_nll, psnr,
};
pub use fit::{Fit, FitReport, StopReason};
pub use observer::{EpochEnd, Observer, Silent, StepEnd, TrainStart};
pub use optim::Adam;
pub use probe::linear_probe;
pub use schedule::{Decay, LrSchedule};
pub use state::TrainState;
pub use tensorboard::TensorBoard;
