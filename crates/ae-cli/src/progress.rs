//! Progress output: a bar with loss and ETA on a terminal, one line per epoch elsewhere (logs,
//! CI), both on stderr so stdout stays for results.

use std::io::IsTerminal;

use ae_train::{EpochEnd, Observer, StepEnd, TrainError, TrainStart};
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::ProgressMode;

/// Formats one epoch's summary line.
pub fn epoch_line(e: &EpochEnd, epochs: usize, input_dim: usize) -> String {
    let mut line = format!(
        "epoch {}/{epochs}  train loss {:.4} (recon/pixel {:.5})",
        e.epoch,
        e.train.total,
        e.train.recon / input_dim as f64
    );
    if let Some(v) = &e.val {
        line.push_str(&format!(
            "  val loss {:.4} (recon/pixel {:.5}){}",
            v.total,
            v.recon / input_dim as f64,
            if e.improved { " *" } else { "" }
        ));
    }
    line.push_str(&format!("  lr {:.2e}  {:.1} s  {:.0} ex/s", e.lr, e.seconds, e.examples_per_second));
    line
}

/// Shows training progress on stderr.
pub struct Progress {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
    epochs: usize,
    input_dim: usize,
}

impl Progress {
    /// Picks a bar or lines for `mode`; `Auto` uses a bar only when stderr is a terminal.
    pub fn new(mode: ProgressMode, input_dim: usize) -> Self {
        let mode = match mode {
            ProgressMode::Auto if std::io::stderr().is_terminal() => ProgressMode::Bar,
            ProgressMode::Auto => ProgressMode::Lines,
            m => m,
        };
        Self { mode, bar: None, epochs: 0, input_dim }
    }
}

impl Observer for Progress {
    fn on_train_start(&mut self, s: &TrainStart) -> Result<(), TrainError> {
        self.epochs = s.epochs;
        // Said whatever the mode: which checkpoint a resume continues from matters.
        for why in &s.skipped_checkpoints {
            eprintln!("skipped checkpoint: {why}");
        }
        if let Some(step) = s.resumed_step {
            eprintln!("resuming from the checkpoint of step {step} (epoch {} done)", s.start_epoch);
        }
        if self.mode == ProgressMode::Bar {
            let total = (s.epochs * s.steps_per_epoch) as u64;
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30.cyan/blue} {pos}/{len} steps  {msg}  [{elapsed_precise} < {eta_precise}]",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_position((s.start_epoch * s.steps_per_epoch) as u64);
            bar.reset_eta();
            self.bar = Some(bar);
        }
        Ok(())
    }

    fn on_step(&mut self, s: &StepEnd) {
        if let Some(bar) = &self.bar {
            bar.set_position(s.step);
            if s.step_in_epoch % 10 == 1 {
                bar.set_message(format!("epoch {}/{}  loss {:.4}", s.epoch, self.epochs, s.loss.total));
            }
        }
    }

    fn on_epoch_end(&mut self, e: &EpochEnd) -> Result<(), TrainError> {
        let line = epoch_line(e, self.epochs, self.input_dim);
        match (&self.bar, self.mode) {
            (Some(bar), _) => bar.println(line),
            (None, ProgressMode::Lines) => eprintln!("{line}"),
            _ => {}
        }
        Ok(())
    }

    fn on_train_end(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// `loss.png`, redrawn after every epoch by [`ae_run::LossPlot`]; a picture that cannot be drawn
/// is a warning on stderr, not a reason to stop training.
pub struct LossPicture(ae_run::LossPlot);

impl LossPicture {
    /// The picture of `run`.
    pub fn new(run: &ae_train::RunDir) -> Self {
        Self(ae_run::LossPlot::new(run))
    }
}

impl Observer for LossPicture {
    fn on_epoch_end(&mut self, epoch: &EpochEnd) -> Result<(), ae_train::TrainError> {
        self.0.on_epoch_end(epoch)?;
        if let Some(why) = self.0.failure() {
            eprintln!("warning: {why}");
        }
        Ok(())
    }
}
