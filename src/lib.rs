//! ae: autoencoders in Rust on candle. This umbrella crate re-exports the layers so one
//! dependency gives the whole toolkit; it also hosts the `ae` binary, the examples and the
//! end-to-end tests.

pub use ae_core as core;
pub use ae_data as data;
pub use ae_models as models;
pub use ae_run as run;
pub use ae_train as train;
