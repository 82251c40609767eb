//! The one error type of `ae-models`.

/// Errors raised while building a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A config field is outside its allowed range.
    #[error("model.{field}: {value} is invalid; expected {expected}")]
    InvalidConfig {
        /// The field, as written in config files (`hidden[1]`).
        field: String,
        /// The offending value.
        value: String,
        /// What is allowed.
        expected: String,
    },
    /// Creating a parameter failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// Checks a layer width: at least 1, and small enough that a weight matrix stays addressable.
pub(crate) fn check_width(field: String, value: usize) -> Result<(), ModelError> {
    const MAX_WIDTH: usize = 1 << 16;
    if value == 0 || value > MAX_WIDTH {
        return Err(ModelError::InvalidConfig {
            field,
            value: value.to_string(),
            expected: format!("a width from 1 to {MAX_WIDTH}"),
        });
    }
    Ok(())
}
