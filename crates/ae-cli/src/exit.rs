//! Exit codes and how errors map to them: 2 when the user must change the command or config,
//! 1 when data or the run itself failed, 130 when a signal stopped training.

use ae_core::CoreError;
use ae_data::DataError;
use ae_models::ModelError;
use ae_run::RunError;
use ae_train::TrainError;

/// Success.
pub const OK: i32 = 0;
/// A data or runtime failure.
pub const RUNTIME: i32 = 1;
/// A usage or configuration error.
pub const USAGE: i32 = 2;
/// Training stopped by Ctrl-C (SIGINT) or SIGTERM after saving its checkpoint (128 + SIGINT).
pub const INTERRUPTED: i32 = 130;

/// Training was stopped by a signal; the message says where and how to continue.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Interrupted(pub String);

/// An error in what the user asked for (flags, config files, run directories).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Builds a usage error from a message.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// The exit code for `err`, judged by the first typed cause in its chain.
pub fn code_for(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if cause.is::<Interrupted>() {
            return INTERRUPTED;
        }
        if cause.is::<UsageError>() {
            return USAGE;
        }
        if let Some(e) = cause.downcast_ref::<RunError>() {
            return if e.is_usage() { USAGE } else { RUNTIME };
        }
        if let Some(e) = cause.downcast_ref::<ModelError>() {
            return if matches!(e, ModelError::InvalidConfig { .. }) { USAGE } else { RUNTIME };
        }
        if let Some(e) = cause.downcast_ref::<TrainError>() {
            return if matches!(e, TrainError::InvalidConfig { .. }) { USAGE } else { RUNTIME };
        }
        if let Some(e) = cause.downcast_ref::<DataError>() {
            return if matches!(e, DataError::InvalidConfig { .. }) { USAGE } else { RUNTIME };
        }
        if let Some(e) = cause.downcast_ref::<CoreError>() {
            return if matches!(e, CoreError::BadDevice { .. } | CoreError::CudaNotBuilt { .. }) {
                USAGE
            } else {
                RUNTIME
            };
        }
    }
    RUNTIME
}

/// The error and its causes on one line, without repeating a cause its parent already quotes.
pub fn render(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}
