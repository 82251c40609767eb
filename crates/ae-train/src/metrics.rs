//! `metrics.jsonl` and `metrics.csv`: one row per epoch, the same numbers in both. On resume, rows
//! beyond the checkpoint's epoch (written before a crash cut the checkpoint short) are dropped, so
//! each epoch appears once.

use std::io::Write;
use std::path::{Path, PathBuf};

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
        let read = |path: &PathBuf| match ae_core::bounded::read_text_bounded(path, ae_core::bounded::LOG_LIMIT) {
            Ok(t) => Ok(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(source) => Err(TrainError::Io { path: path.clone(), source }),
        };
        // Both read and checked before either is rewritten.
        let jsonl = kept_rows(&read(&self.jsonl)?, &self.jsonl, false, keep_epochs)?;
        let csv = kept_rows(&read(&self.csv)?, &self.csv, true, keep_epochs)?;
        atomic_write(&self.jsonl, jsonl.as_bytes())?;
        atomic_write(&self.csv, csv.as_bytes())
    }

    fn append(path: &PathBuf, line: &str) -> Result<(), TrainError> {
        let mut f = std::fs::OpenOptions::new().append(true).open(path).map_err(TrainError::io(path))?;
        writeln!(f, "{line}").map_err(TrainError::io(path))?;
        f.sync_data().map_err(TrainError::io(path))
    }
}

/// The rows of a metrics file's `text` (`path` names it in errors; `csv` for metrics.csv, whose
/// header is rewritten) for epochs up to `keep_epochs`, as resume rewrites them. A last line
/// without its newline is an append a kill cut short and is dropped; any other line that is not a
/// row is refused, so history is never lost without a word. (The fuzz target `metrics` feeds it
/// arbitrary text.)
pub fn kept_rows(text: &str, path: &Path, csv: bool, keep_epochs: usize) -> Result<String, TrainError> {
    let mut out = String::new();
    if csv {
        out.push_str(&CSV_COLUMNS.join(","));
        out.push('\n');
    }
    let whole = if text.ends_with('\n') { text } else { &text[..text.rfind('\n').map_or(0, |i| i + 1)] };
    for (i, line) in whole.lines().enumerate() {
        if (csv && i == 0) || line.trim().is_empty() {
            continue;
        }
        let epoch = if csv {
            line.split(',').next().and_then(|e| e.parse::<usize>().ok())
        } else {
            serde_json::from_str::<serde_json::Value>(line).ok().and_then(|v| v["epoch"].as_u64()).map(|e| e as usize)
        };
        let Some(epoch) = epoch else {
            return Err(TrainError::BadCheckpoint {
                path: path.to_path_buf(),
                reason: format!(
                    "line {} is not a metrics row ({:?}); fix or remove it and resume again (nothing was changed)",
                    i + 1,
                    line.chars().take(40).collect::<String>()
                ),
            });
        };
        if epoch <= keep_epochs {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
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

        // An append a kill cut short (no newline) is dropped; a garbage row is refused, naming
        // its line, and nothing is rewritten.
        let mut cut = jsonl.clone();
        cut.push_str("{\"epoch\": 3, \"tr");
        std::fs::write(run.file("metrics.jsonl"), &cut).unwrap();
        MetricsFiles::new(&run).on_train_start(&start(2)).unwrap();
        assert_eq!(std::fs::read_to_string(run.file("metrics.jsonl")).unwrap(), jsonl);
        let garbage = format!("{}\n%%%garbage%%%\n{}\n", jsonl.lines().next().unwrap(), jsonl.lines().nth(1).unwrap());
        std::fs::write(run.file("metrics.jsonl"), &garbage).unwrap();
        let err = MetricsFiles::new(&run).on_train_start(&start(2)).unwrap_err().to_string();
        assert!(err.ends_with("metrics.jsonl: line 2 is not a metrics row (\"%%%garbage%%%\"); fix or remove it and resume again (nothing was changed)"), "{err}");
        assert_eq!(std::fs::read_to_string(run.file("metrics.jsonl")).unwrap(), garbage);
    }
}
