//! `metrics.jsonl` and `metrics.csv`: one row per epoch, the same numbers in both. On resume, rows
//! beyond the checkpoint's epoch (written before a crash cut the checkpoint short) are dropped, so
//! each epoch appears once.

use std::io::Write;
use std::path::PathBuf;

use crate::checkpoint::{RunDir, atomic_write};
use crate::error::TrainError;
use crate::observer::{EpochEnd, Observer, TrainStart};

/// The CSV columns, in order. Losses are per example; empty cells mean "not applicable".
pub const CSV_COLUMNS: [&str; 13] = [
    "epoch",
    "step",
    "lr",
    "train_loss",
    "train_recon",
    "train_kl",
    "train_sparsity",
    "val_loss",
    "val_recon",
    "val_kl",
    "val_sparsity",
    "seconds",
    "examples_per_second",
];

/// Appends epoch rows to the run's metrics files.
pub struct MetricsFiles {
    jsonl: PathBuf,
    csv: PathBuf,
}

impl MetricsFiles {
    /// The files of `run`; they are rewritten when training starts, keeping the rows of the
    /// epochs the checkpoint it starts from has completed (none for a fresh run).
    pub fn new(run: &RunDir) -> Self {
        Self { jsonl: run.file("metrics.jsonl"), csv: run.file("metrics.csv") }
    }

    /// Keeps the rows of epochs up to `keep_epochs` and drops the rest.
    fn keep(&self, keep_epochs: usize) -> Result<(), TrainError> {
        let kept = |path: &PathBuf, header: bool| -> Result<String, TrainError> {
            let text = match ae_core::bounded::read_text_bounded(path, ae_core::bounded::LOG_LIMIT) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(source) => {
                    return Err(TrainError::Io { path: path.clone(), source });
                }
            };
            let mut out = String::new();
            if header {
                out.push_str(&CSV_COLUMNS.join(","));
                out.push('\n');
            }
            for (i, line) in text.lines().enumerate() {
                if header && i == 0 {
                    continue;
                }
                let epoch = if header {
                    line.split(',').next().and_then(|e| e.parse::<usize>().ok())
                } else {
                    serde_json::from_str::<serde_json::Value>(line)
                        .ok()
                        .and_then(|v| v["epoch"].as_u64())
                        .map(|e| e as usize)
                };
                if epoch.is_some_and(|e| e <= keep_epochs) {
                    out.push_str(line);
                    out.push('\n');
                }
            }
            Ok(out)
        };
        atomic_write(&self.jsonl, kept(&self.jsonl, false)?.as_bytes())?;
        atomic_write(&self.csv, kept(&self.csv, true)?.as_bytes())
    }

    fn append(path: &PathBuf, line: &str) -> Result<(), TrainError> {
        let mut f = std::fs::OpenOptions::new().append(true).open(path).map_err(TrainError::io(path))?;
        writeln!(f, "{line}").map_err(TrainError::io(path))?;
        f.sync_data().map_err(TrainError::io(path))
    }
}

fn cell(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_default()
}

impl Observer for MetricsFiles {
    fn on_train_start(&mut self, start: &TrainStart) -> Result<(), TrainError> {
        self.keep(start.start_epoch)
    }

    fn on_epoch_end(&mut self, e: &EpochEnd) -> Result<(), TrainError> {
        let json = serde_json::to_string(e)
            .map_err(|err| TrainError::BadCheckpoint { path: self.jsonl.clone(), reason: err.to_string() })?;
        Self::append(&self.jsonl, &json)?;
        let v = e.val.as_ref();
        let row = [
            e.epoch.to_string(),
            e.step.to_string(),
            format!("{}", e.lr),
            format!("{}", e.train.total),
            format!("{}", e.train.recon),
            cell(e.train.kl),
            cell(e.train.sparsity),
            cell(v.map(|v| v.total)),
            cell(v.map(|v| v.recon)),
            cell(v.and_then(|v| v.kl)),
            cell(v.and_then(|v| v.sparsity)),
            format!("{:.3}", e.seconds),
            format!("{:.1}", e.examples_per_second),
        ];
        Self::append(&self.csv, &row.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ae_core::LossValues;

    fn epoch(n: usize) -> EpochEnd {
        EpochEnd {
            epoch: n,
            step: 10 * n as u64,
            lr: 1e-3,
            train: LossValues { total: 1.5, recon: 1.5, kl: None, sparsity: None },
            val: Some(LossValues { total: 2.0, recon: 2.0, kl: None, sparsity: None }),
            seconds: 1.0,
            examples_per_second: 100.0,
            improved: true,
        }
    }

    #[test]
    fn rows_match_and_resume_drops_rows_past_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let start = |epoch| TrainStart {
            start_epoch: epoch,
            epochs: 3,
            steps_per_epoch: 10,
            train_examples: 100,
            parameters: 1,
            resumed_step: None,
            skipped_checkpoints: Vec::new(),
        };
        let mut m = MetricsFiles::new(&run);
        m.on_train_start(&start(0)).unwrap();
        for n in 1..=3 {
            m.on_epoch_end(&epoch(n)).unwrap();
        }
        let csv = std::fs::read_to_string(run.file("metrics.csv")).unwrap();
        assert_eq!(csv.lines().count(), 4);
        assert_eq!(csv.lines().nth(1).unwrap(), "1,10,0.001,1.5,1.5,,,2,2,,,1.000,100.0");
        let first: serde_json::Value =
            serde_json::from_str(std::fs::read_to_string(run.file("metrics.jsonl")).unwrap().lines().next().unwrap())
                .unwrap();
        assert_eq!((first["epoch"].as_u64(), first["train"]["recon"].as_f64()), (Some(1), Some(1.5)));
        MetricsFiles::new(&run).on_train_start(&start(2)).unwrap();
        let csv = std::fs::read_to_string(run.file("metrics.csv")).unwrap();
        let jsonl = std::fs::read_to_string(run.file("metrics.jsonl")).unwrap();
        assert_eq!((csv.lines().count(), jsonl.lines().count()), (3, 2));
    }
}
