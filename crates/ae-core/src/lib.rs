//! The bottom layer of ae: the [`Autoencoder`] trait, batches and loss parts, numerically stable
//! reconstruction losses, activations, seeded random streams, seeded parameter initialisation and
//! device selection. Every other crate builds on these; this crate knows nothing of data or training.
//!
//! ```
//! use ae_core::ReconLoss;
//! use ae_core::candle::{Device, Tensor};
//!
//! // Binary cross-entropy from logits, summed over features: one value per example, in nats.
//! let logits = Tensor::new(&[[0.0f32, 0.0], [20.0, -20.0]], &Device::Cpu)?;
//! let targets = Tensor::new(&[[1.0f32, 0.0], [1.0, 0.0]], &Device::Cpu)?;
//! let nats = ReconLoss::Bce.per_example(&logits, &targets)?.to_vec1::<f32>()?;
//! assert!((nats[0] - 2.0 * std::f32::consts::LN_2).abs() < 1e-6 && nats[1] < 1e-8);
//! # Ok::<(), ae_core::candle::Error>(())
//! ```

pub mod activation;
pub mod autoencoder;
pub mod bounded;
pub mod conv;
pub mod device;
pub mod error;
pub mod fused;
pub mod gaussian;
pub mod grads;
pub mod graph;
pub mod init;
pub mod input;
pub mod loss;
pub mod params;
pub mod rng;

pub use activation::Activation;
pub use autoencoder::{Autoencoder, Batch, LossParts, LossValues, StepContext};
pub use device::DeviceSpec;
pub use error::CoreError;
pub use gaussian::Gaussian;
pub use grads::{GradRef, Gradients};
pub use loss::ReconLoss;
pub use params::Params;
pub use rng::{Purpose, SeededRng};

/// Re-exported so downstream crates name one candle.
pub use candle_core as candle;
pub use candle_nn;

/// Implements `TryFrom<String>` (through `FromStr` with `Err = String`) and `From<T> for String`
/// (through `Display`) for a spec type, so serde can read and write it as its command-line string
/// with `#[serde(try_from = "String", into = "String")]`: `--noise gaussian:0.5` and
/// `"noise": "gaussian:0.5"` then parse, validate and print the same way.
#[macro_export]
macro_rules! string_spec {
    ($t:ty) => {
        impl ::std::convert::TryFrom<::std::string::String> for $t {
            type Error = ::std::string::String;

            fn try_from(s: ::std::string::String) -> ::std::result::Result<Self, ::std::string::String> {
                s.parse()
            }
        }

        impl ::std::convert::From<$t> for ::std::string::String {
            fn from(v: $t) -> ::std::string::String {
                ::std::string::ToString::to_string(&v)
            }
        }
    };
}
