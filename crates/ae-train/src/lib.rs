//! Training for every kind of autoencoder: [`fit()`] is the one loop, generic over
//! [`ae_core::Autoencoder`]; around it sit our own Adam/AdamW (whose state is saved, for exact
//! resumes), learning-rate schedules as pure functions of the step, global-norm clipping, early
//! stopping, atomic checkpoints and observers for progress and metrics files. This crate prints
//! nothing: the binary picks the observers.

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

pub use anomaly::{ScoreKind, anomaly_scores, roc_auc};
pub use checkpoint::RunDir;
pub use config::{EarlyStopping, OptimizerConfig, TrainConfig};
pub use error::TrainError;
pub use eval::{
    CodeActivity, DenoisingScores, code_activity, dead_fraction, denoising_scores, evaluate, evaluate_with_noise,
    importance_weighted_nll, psnr,
};
pub use fit::{FitData, FitReport, StopReason, fit};
pub use observer::{EpochEnd, Observer, Silent, StepEnd, TrainStart};
pub use optim::Adam;
pub use probe::linear_probe;
pub use schedule::{Decay, LrSchedule};
pub use state::TrainState;
