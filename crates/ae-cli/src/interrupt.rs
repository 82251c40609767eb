//! Ctrl-C during training: the first SIGINT (or SIGTERM) asks the training loop to stop after
//! the step it is in, write its checkpoint and exit 130; a second one exits at once (the files on
//! disk are whole either way, since every write is atomic).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ae_train::Observer;

/// Set once the user asked training to stop.
#[derive(Debug, Clone)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// Installs the handlers; where the platform refuses them, Ctrl-C keeps its default action.
    pub fn install() -> Self {
        let flag = Arc::new(AtomicBool::new(false));
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // Order matters: the conditional exit sees the flag as it was before this signal.
            let _ = signal_hook::flag::register_conditional_shutdown(signal, crate::exit::INTERRUPTED, flag.clone());
            let _ = signal_hook::flag::register(signal, flag.clone());
        }
        Self(flag)
    }

    /// Whether a stop was asked for.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl Observer for Interrupt {
    fn should_stop(&self) -> bool {
        self.requested()
    }
}
