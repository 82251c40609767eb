//! The run directory and its checkpoints. Every file is written atomically (temporary file in the
//! same directory, fsync, rename, fsync of the directory), so a crash leaves either the old file or
//! the new one. A checkpoint is `model.safetensors`, `optimizer.safetensors` and `state.json`,
//! written in that order; each weight file records its step, and loading checks they agree.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use ae_core::Params;

use crate::error::TrainError;
use crate::optim::Adam;
use crate::state::{STATE_FORMAT, TrainState};

/// The files of one run.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

/// Every file ae writes into a run directory (removed by `--overwrite`).
pub const RUN_FILES: [&str; 8] = [
    "config.json",
    "model.safetensors",
    "optimizer.safetensors",
    "state.json",
    "best.safetensors",
    "metrics.jsonl",
    "metrics.csv",
    "reconstructions.png",
];

impl RunDir {
    /// The run directory at `root` (not created yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// A file in it.
    pub fn file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The resolved run config.
    pub fn config(&self) -> PathBuf {
        self.file("config.json")
    }
    /// The latest weights.
    pub fn model(&self) -> PathBuf {
        self.file("model.safetensors")
    }
    /// The weights with the lowest validation loss.
    pub fn best(&self) -> PathBuf {
        self.file("best.safetensors")
    }
    /// The optimizer's moments.
    pub fn optimizer(&self) -> PathBuf {
        self.file("optimizer.safetensors")
    }
    /// The progress record.
    pub fn state(&self) -> PathBuf {
        self.file("state.json")
    }

    /// True when the directory does not exist or holds nothing.
    pub fn is_empty(&self) -> Result<bool, TrainError> {
        match std::fs::read_dir(&self.root) {
            Ok(mut entries) => Ok(entries.next().is_none()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
            Err(source) => Err(TrainError::Io { path: self.root.clone(), source }),
        }
    }

    /// Creates the directory.
    pub fn create(&self) -> Result<(), TrainError> {
        std::fs::create_dir_all(&self.root).map_err(TrainError::io(&self.root))
    }

    /// Removes the files a previous run left (for `--overwrite`); other files stay.
    pub fn clear(&self) -> Result<(), TrainError> {
        for name in RUN_FILES {
            let path = self.file(name);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(TrainError::Io { path, source }),
            }
        }
        Ok(())
    }

    /// Saves the latest weights, the optimizer and then the state.
    pub fn save_checkpoint(&self, params: &Params, optim: &Adam, state: &TrainState) -> Result<(), TrainError> {
        let meta = step_metadata(state.step);
        atomic_write(&self.model(), &params.to_safetensors(&meta)?)?;
        atomic_write(&self.optimizer(), &optim.to_safetensors()?)?;
        let json = serde_json::to_vec_pretty(state)
            .map_err(|e| TrainError::BadCheckpoint { path: self.state(), reason: e.to_string() })?;
        atomic_write(&self.state(), &json)
    }

    /// Saves the best weights so far.
    pub fn save_best(&self, params: &Params, state: &TrainState) -> Result<(), TrainError> {
        atomic_write(&self.best(), &params.to_safetensors(&step_metadata(state.step))?)
    }

    /// Reads `state.json`.
    pub fn load_state(&self) -> Result<TrainState, TrainError> {
        let path = self.state();
        let bytes = std::fs::read(&path).map_err(TrainError::io(&path))?;
        let state: TrainState = serde_json::from_slice(&bytes).map_err(|e| TrainError::BadCheckpoint {
            path: path.clone(),
            reason: format!("not a valid state file: {e}"),
        })?;
        if state.format != STATE_FORMAT {
            return Err(TrainError::BadCheckpoint {
                path,
                reason: format!("state format {} is not one this build reads (expected {STATE_FORMAT})", state.format),
            });
        }
        Ok(state)
    }

    /// Restores weights and optimizer from the latest checkpoint and returns its state, after
    /// checking that all three files belong to the same step.
    pub fn load_checkpoint(&self, params: &Params, optim: &mut Adam) -> Result<TrainState, TrainError> {
        let state = self.load_state()?;
        let vars = params.named();
        for (path, meta) in
            [(self.model(), params.load(&self.model())?), (self.optimizer(), optim.load(&self.optimizer(), &vars)?)]
        {
            let step = meta.get("step").and_then(|s| s.parse::<u64>().ok());
            if step != Some(state.step) {
                return Err(TrainError::BadCheckpoint {
                    path,
                    reason: format!("holds step {step:?} but state.json says step {}", state.step),
                });
            }
        }
        Ok(state)
    }
}

/// Weight-file metadata: the step alone (one key keeps the file's bytes deterministic, since
/// safetensors writes metadata in hash order).
fn step_metadata(step: u64) -> HashMap<String, String> {
    HashMap::from([("step".to_string(), step.to_string())])
}

/// Writes `bytes` to `path` so that readers see the old file or the whole new one, never a part.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir).map_err(TrainError::io(dir))?;
    tmp.write_all(bytes).map_err(TrainError::io(path))?;
    tmp.as_file().sync_all().map_err(TrainError::io(path))?;
    tmp.persist(path).map_err(|e| TrainError::Io { path: path.to_path_buf(), source: e.error })?;
    // The rename is durable only once the directory entry is.
    if let Ok(d) = std::fs::File::open(dir) {
        d.sync_all().map_err(TrainError::io(dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_files_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        atomic_write(&path, b"first").unwrap();
        atomic_write(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["f.bin"]);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        atomic_write(&path, b"good").unwrap();
        let err = atomic_write(&dir.path().join("missing-dir").join("f.bin"), b"x").unwrap_err();
        assert!(err.to_string().contains("missing-dir"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"good");
    }

    #[test]
    fn state_of_another_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let state = TrainState { format: 99, ..Default::default() };
        std::fs::write(run.state(), serde_json::to_vec(&state).unwrap()).unwrap();
        let err = run.load_state().unwrap_err().to_string();
        assert!(err.ends_with("state format 99 is not one this build reads (expected 1)"), "{err}");
    }
}
