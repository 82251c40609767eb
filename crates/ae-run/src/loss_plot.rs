//! `loss.png`: the training and validation loss per epoch, with each loss part, redrawn after
//! every epoch from `metrics.jsonl` (so a resumed run's picture covers the whole run).

use std::path::PathBuf;

use ae_train::{EpochEnd, Observer, RunDir, TrainError};

use crate::plot::{Labels, save_lines};

/// Redraws `loss.png` in the run directory after every epoch.
pub struct LossPlot {
    metrics: PathBuf,
    out: PathBuf,
    failure: Option<String>,
}

impl LossPlot {
    /// The picture of `run`.
    pub fn new(run: &RunDir) -> Self {
        Self { metrics: run.file("metrics.jsonl"), out: run.file("loss.png"), failure: None }
    }

    /// Why the last drawing failed, if it did (the observer does not stop training for it).
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Draws the picture from the metrics rows written so far.
    pub fn draw(&self) -> Result<(), crate::RunError> {
        let text = std::fs::read_to_string(&self.metrics)
            .map_err(|e| crate::RunError::file(&self.metrics, format!("cannot read: {e}")))?;
        let rows: Vec<serde_json::Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        let epochs: Vec<f64> = rows.iter().map(|r| r["epoch"].as_f64().unwrap_or(f64::NAN)).collect();
        let column = |split: &str, part: &str| -> Vec<f64> {
            rows.iter().map(|r| r[split][part].as_f64().unwrap_or(f64::NAN)).collect()
        };
        let mut series: Vec<(&str, Vec<f64>)> = Vec::new();
        let mut add = |name: &'static str, split: &str, part: &str| {
            let values = column(split, part);
            // A part shown only where it exists and is not zero throughout.
            if values.iter().any(|v| v.is_finite() && *v != 0.0) {
                series.push((name, values));
            }
        };
        add("train", "train", "total");
        add("validation", "val", "total");
        add("train recon", "train", "recon");
        add("train kl", "train", "kl");
        add("train sparsity", "train", "sparsity");
        let (train, recon) = (column("train", "total"), column("train", "recon"));
        if train == recon {
            series.retain(|(name, _)| *name != "train recon");
        }
        let labels = Labels { title: "Loss per epoch", x: "epoch", y: "loss per example" };
        save_lines(&self.out, &epochs, &series, &labels, true)
    }
}

impl Observer for LossPlot {
    /// Runs after [`ae_train::metrics::MetricsFiles`] (observers run in the order given), so the
    /// epoch's row is on disk. A picture that cannot be drawn is not worth stopping training for.
    fn on_epoch_end(&mut self, _epoch: &EpochEnd) -> Result<(), TrainError> {
        self.failure = self.draw().err().map(|e| format!("{}: {e}", self.out.display()));
        Ok(())
    }
}
