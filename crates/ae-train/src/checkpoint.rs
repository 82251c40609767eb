//! The run directory and its checkpoints. Every file is written atomically (temporary file in the
//! same directory, fsync, rename, fsync of the directory), so a crash leaves either the old file or
//! the new one. A checkpoint is `model.safetensors`, `optimizer.safetensors` and `state.json`, each
//! recording its step. Before a file is replaced, the one it replaces is kept as its `.prev`
//! twin (a hard link, so the current name never goes missing), so whatever moment a process is
//! killed at, some step has all three files among the current and previous ones; resuming picks
//! the newest step whose three files load.

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

/// The file `ae train` holds an advisory lock on while it writes the run (never removed, so two
/// processes always lock the same file).
pub const LOCK_FILE: &str = ".lock";

/// The prefix of the temporary files the atomic writer renames into place; one left behind by a
/// kill is removed by the next writer that holds the run's lock.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Every file ae writes into a run directory, by any command: the one list `--overwrite` removes.
/// (A test checks that every `run.file("...")` in the sources names one of these.)
pub const RUN_FILES: [&str; 26] = [
    "config.json",
    "model.safetensors",
    "optimizer.safetensors",
    "state.json",
    "model.prev.safetensors",
    "optimizer.prev.safetensors",
    "state.prev.json",
    "best.safetensors",
    "metrics.jsonl",
    "metrics.csv",
    "reconstructions.png",
    "loss.png",
    "samples.png",
    "latent.png",
    "manifold.png",
    "denoised.png",
    "features.png",
    "feature_density.png",
    "sweep.csv",
    "sweep.png",
    "interp.png",
    "normalization.json",
    "scores.csv",
    "scores.png",
    "column_errors.png",
    "column_errors.csv",
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

    /// True when the directory does not exist or holds nothing but the lock file and temporary
    /// files a kill left.
    pub fn is_empty(&self) -> Result<bool, TrainError> {
        let ours = |name: &std::ffi::OsStr| {
            let name = name.to_string_lossy();
            name == LOCK_FILE || name.starts_with(TEMP_PREFIX)
        };
        match std::fs::read_dir(&self.root) {
            Ok(mut entries) => Ok(entries.all(|e| e.is_ok_and(|e| ours(&e.file_name())))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
            Err(source) => Err(TrainError::Io { path: self.root.clone(), source }),
        }
    }

    /// Creates the directory.
    pub fn create(&self) -> Result<(), TrainError> {
        std::fs::create_dir_all(&self.root).map_err(TrainError::io(&self.root))
    }

    /// Removes the temporary files an earlier writer left when it was killed mid-write. Only for
    /// the holder of the run's lock: another writer's temporaries would be in use.
    pub fn remove_temporaries(&self) -> Result<usize, TrainError> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(source) => return Err(TrainError::Io { path: self.root.clone(), source }),
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) && entry.path().is_file() {
                std::fs::remove_file(entry.path()).map_err(TrainError::io(entry.path()))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Removes the files a previous run left (for `--overwrite`), its TensorBoard event files
    /// among them; other files stay.
    pub fn clear(&self) -> Result<(), TrainError> {
        let events =
            crate::tensorboard::TensorBoard::event_files(&self.root.join(crate::tensorboard::TENSORBOARD_DIR))?;
        for path in RUN_FILES.iter().map(|name| self.file(name)).chain(events) {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(TrainError::Io { path, source }),
            }
        }
        Ok(())
    }

    /// Saves the latest weights, the optimizer and then the state, each file's previous version
    /// kept as its `.prev` twin. When a kill cut the last save short, the twins that still hold
    /// the newest complete step are left in place.
    pub fn save_checkpoint(&self, params: &Params, optim: &Adam, state: &TrainState) -> Result<(), TrainError> {
        self.save_first_files(params, optim, state, 3)
    }

    /// [`Self::save_checkpoint`] stopped after `files` of its three files, as a kill would.
    fn save_first_files(
        &self,
        params: &Params,
        optim: &Adam,
        state: &TrainState,
        files: usize,
    ) -> Result<(), TrainError> {
        let on_disk = OnDisk::read(self);
        let keep = on_disk.complete_steps().first().copied();
        let meta = step_metadata(state.step);
        let json = serde_json::to_vec_pretty(state)
            .map_err(|e| TrainError::BadCheckpoint { path: self.state(), reason: e.to_string() })?;
        let all = [
            (Role::Model, params.to_safetensors(&meta)?),
            (Role::Optimizer, optim.to_safetensors()?),
            (Role::State, json),
        ];
        for (role, bytes) in all.into_iter().take(files) {
            self.replace_keeping(role, &bytes, on_disk.step(role, false), on_disk.step(role, true), keep)?;
        }
        Ok(())
    }

    /// Writes `bytes` as `role`'s current file (which records `current_step`); the file it
    /// replaces becomes the `.prev` twin, unless the twin (`prev_step`) holds step `keep` and the
    /// current file does not.
    fn replace_keeping(
        &self,
        role: Role,
        bytes: &[u8],
        current_step: Option<u64>,
        prev_step: Option<u64>,
        keep: Option<u64>,
    ) -> Result<(), TrainError> {
        let (current, prev) = (self.file(role.current()), self.file(role.prev()));
        let tmp = write_temporary(&current, bytes)?;
        if current_step.is_some() && (current_step == keep || prev_step != keep) {
            keep_as(&current, &prev)?;
        }
        persist(tmp, &current)
    }

    /// Saves the best weights so far.
    pub fn save_best(&self, params: &Params, state: &TrainState) -> Result<(), TrainError> {
        atomic_write(&self.best(), &params.to_safetensors(&step_metadata(state.step))?)
    }

    /// Reads `state.json`.
    pub fn load_state(&self) -> Result<TrainState, TrainError> {
        read_state(&self.state())
    }

    /// Restores weights and optimizer from the newest checkpoint whose three files load and
    /// agree on the step, and returns its state with the newer ones it skipped and why.
    pub fn load_checkpoint(&self, params: &Params, optim: &mut Adam) -> Result<Resumed, TrainError> {
        let vars = params.named();
        let on_disk = OnDisk::read(self);
        let mut skipped = Vec::new();
        // Files that exist but cannot even say their step.
        for role in ROLES {
            for prev in [false, true] {
                let name = if prev { role.prev() } else { role.current() };
                if let (true, Err(why)) = (self.file(name).exists(), &on_disk.steps[role as usize][usize::from(prev)]) {
                    skipped.push(format!("{name}: {why}"));
                }
            }
        }
        for step in on_disk.complete_steps() {
            let pick = |role: Role| -> PathBuf {
                if on_disk.step(role, false) == Some(step) { self.file(role.current()) } else { self.file(role.prev()) }
            };
            let mut attempt = || -> Result<TrainState, TrainError> {
                let state = read_state(&pick(Role::State))?;
                params.load(&pick(Role::Model))?;
                optim.load(&pick(Role::Optimizer), &vars)?;
                Ok(state)
            };
            match attempt() {
                Ok(state) => {
                    // Newer files of a save that a crash cut short: say which files the save
                    // reached and which it did not.
                    let mut newer: Vec<u64> =
                        ROLES.iter().filter_map(|&r| on_disk.step(r, false)).filter(|&s| s > step).collect();
                    newer.sort_unstable();
                    newer.dedup();
                    for n in newer {
                        if skipped.iter().any(|s: &String| s.starts_with(&format!("step {n}:"))) {
                            continue;
                        }
                        let (has, lacks): (Vec<Role>, Vec<Role>) =
                            ROLES.iter().partition(|&&r| on_disk.step(r, false) == Some(n));
                        let names =
                            |roles: &[Role]| roles.iter().map(|r| r.current()).collect::<Vec<_>>().join(" and ");
                        skipped.push(format!(
                            "the save of step {n} was cut short: {} {} it, {} not",
                            names(&has),
                            if has.len() == 1 { "holds" } else { "hold" },
                            names(&lacks),
                        ));
                    }
                    return Ok(Resumed { state, skipped });
                }
                Err(e) => skipped.push(format!("step {step}: {e}")),
            }
        }
        let recorded: Vec<String> = ROLES
            .iter()
            .flat_map(|&r| [(r.current(), on_disk.step(r, false)), (r.prev(), on_disk.step(r, true))])
            .filter_map(|(name, step)| step.map(|s| format!("{name} step {s}")))
            .collect();
        let why = match (skipped.is_empty(), recorded.is_empty()) {
            (false, _) => skipped.join("; "),
            (true, true) => "no checkpoint files".to_string(),
            (true, false) => format!("no step is held by all three files: {}", recorded.join(", ")),
        };
        Err(TrainError::BadCheckpoint {
            path: self.root.clone(),
            reason: format!("no checkpoint to resume from loads ({why})"),
        })
    }
}

/// The step each checkpoint file on disk records (or why it cannot say), read once per save or
/// load: `steps[role][0]` for the current file, `[1]` for its `.prev` twin.
struct OnDisk {
    steps: [[Result<u64, String>; 2]; 3],
}

impl OnDisk {
    fn read(run: &RunDir) -> Self {
        let of = |role: Role, name: &str| role.step_of(&run.file(name));
        Self { steps: ROLES.map(|role| [of(role, role.current()), of(role, role.prev())]) }
    }

    /// The step `role`'s current (or, with `prev`, previous) file records, if it can say.
    fn step(&self, role: Role, prev: bool) -> Option<u64> {
        self.steps[role as usize][usize::from(prev)].as_ref().ok().copied()
    }

    /// The steps, newest first, for which each of the three checkpoint files has a current or
    /// previous version that records that step (nothing beyond the step validated yet).
    fn complete_steps(&self) -> Vec<u64> {
        let steps = |role: Role| -> Vec<u64> { [false, true].iter().filter_map(|&p| self.step(role, p)).collect() };
        let (model, optim) = (steps(Role::Model), steps(Role::Optimizer));
        let mut out: Vec<u64> =
            steps(Role::State).into_iter().filter(|s| model.contains(s) && optim.contains(s)).collect();
        out.sort_unstable_by(|a, b| b.cmp(a));
        out.dedup();
        out
    }
}

/// A checkpoint restored by [`RunDir::load_checkpoint`].
#[derive(Debug, Clone)]
pub struct Resumed {
    /// Where the run stands.
    pub state: TrainState,
    /// Newer checkpoint files that were passed over, each with the reason.
    pub skipped: Vec<String>,
}

/// The three files of a checkpoint (the discriminants index `OnDisk::steps`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Model = 0,
    Optimizer = 1,
    State = 2,
}

/// Every role, in the order a checkpoint is written.
const ROLES: [Role; 3] = [Role::Model, Role::Optimizer, Role::State];

impl Role {
    fn current(self) -> &'static str {
        match self {
            Role::Model => "model.safetensors",
            Role::Optimizer => "optimizer.safetensors",
            Role::State => "state.json",
        }
    }

    fn prev(self) -> &'static str {
        match self {
            Role::Model => "model.prev.safetensors",
            Role::Optimizer => "optimizer.prev.safetensors",
            Role::State => "state.prev.json",
        }
    }

    /// The step a file of this role records.
    fn step_of(self, path: &Path) -> Result<u64, String> {
        if self == Role::State {
            return read_state(path).map(|s| s.step).map_err(|e| match e {
                TrainError::BadCheckpoint { reason, .. } => reason,
                TrainError::Io { source, .. } => source.to_string(),
                other => other.to_string(),
            });
        }
        crate::optim::saved_step(path)
    }
}

/// Reads and checks a `state.json`.
fn read_state(path: &Path) -> Result<TrainState, TrainError> {
    let bytes = ae_core::bounded::read_bounded(path, ae_core::bounded::TEXT_LIMIT).map_err(TrainError::io(path))?;
    parse_state(&bytes, path)
}

/// Parses and checks the bytes of a `state.json` (`path` names it in errors). (The fuzz target
/// `state` feeds it arbitrary bytes.)
pub fn parse_state(bytes: &[u8], path: &Path) -> Result<TrainState, TrainError> {
    let state: TrainState = serde_json::from_slice(bytes).map_err(|e| TrainError::BadCheckpoint {
        path: path.to_path_buf(),
        reason: format!("not a valid state file: {e}"),
    })?;
    if state.format != STATE_FORMAT {
        return Err(TrainError::BadCheckpoint {
            path: path.to_path_buf(),
            reason: format!("state format {} is not one this build reads (expected {STATE_FORMAT})", state.format),
        });
    }
    Ok(state)
}

/// Makes `to` another name of `from`'s current contents, atomically (a hard link under a temporary
/// name renamed over `to`; a copy where the file system has no hard links).
fn keep_as(from: &Path, to: &Path) -> Result<(), TrainError> {
    let dir = parent(to);
    let link = dir.join(format!(".tmp-link-{}", std::process::id()));
    let _ = std::fs::remove_file(&link);
    if std::fs::hard_link(from, &link).is_err() {
        let bytes = std::fs::read(from).map_err(TrainError::io(from))?;
        return atomic_write(to, &bytes);
    }
    std::fs::rename(&link, to).map_err(TrainError::io(to))
}

/// Weight-file metadata: the step alone (one key keeps the file's bytes deterministic, since
/// safetensors writes metadata in hash order).
fn step_metadata(step: u64) -> HashMap<String, String> {
    HashMap::from([("step".to_string(), step.to_string())])
}

/// Writes `bytes` to `path` so that readers see the old file or the whole new one, never a part.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    persist(write_temporary(path, bytes)?, path)
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// `bytes` in a synced temporary file beside `path` (removed again if anything fails).
fn write_temporary(path: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile, TrainError> {
    let dir = parent(path);
    // 0666 less the process umask, as for any file a program creates (tempfile's default, 0600,
    // would make checkpoints and outputs private while the PNGs beside them were not).
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.tempfile_in(dir).map_err(TrainError::io(dir))?;
    write_all(tmp.as_file_mut(), bytes).map_err(TrainError::io(path))?;
    tmp.as_file().sync_all().map_err(TrainError::io(path))?;
    Ok(tmp)
}

/// Renames the temporary file to `path` and makes the rename durable.
fn persist(tmp: tempfile::NamedTempFile, path: &Path) -> Result<(), TrainError> {
    tmp.persist(path).map_err(|e| TrainError::Io { path: path.to_path_buf(), source: e.error })?;
    // The rename is durable only once the directory entry is.
    let dir = parent(path);
    if let Ok(d) = std::fs::File::open(dir) {
        d.sync_all().map_err(TrainError::io(dir))?;
    }
    Ok(())
}

#[cfg(not(test))]
fn write_all(f: &mut std::fs::File, bytes: &[u8]) -> std::io::Result<()> {
    f.write_all(bytes)
}

#[cfg(test)]
thread_local! {
    /// Tests: fail every write after this many more bytes, as a full disk would.
    static FAIL_AFTER: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

#[cfg(test)]
fn write_all(f: &mut std::fs::File, bytes: &[u8]) -> std::io::Result<()> {
    match FAIL_AFTER.get() {
        Some(n) if n < bytes.len() => {
            f.write_all(&bytes[..n])?;
            Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "No space left on device (injected)"))
        }
        _ => f.write_all(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// One 2x3 parameter and a fresh optimizer.
    fn setup() -> (Params, Adam) {
        let params = Params::new();
        let vb = params.var_builder(ae_core::rng::stream(0, ae_core::rng::Purpose::Init, 0), &Device::Cpu);
        vb.get_with_hints((2, 3), "w", candle_nn::Init::Const(0.5)).unwrap();
        (params, Adam::new(Default::default()))
    }

    /// One optimizer step on `sum(w^2)`.
    fn advance(params: &Params, optim: &mut Adam) {
        let vars = params.named();
        let grads = vars[0].1.as_tensor().sqr().unwrap().sum_all().unwrap().backward().unwrap();
        assert!(optim.step(&vars, &ae_core::Gradients::from_autograd(&grads, &vars), 0.1).unwrap());
    }

    fn weights(params: &Params) -> Vec<f32> {
        params.named()[0].1.as_tensor().flatten_all().unwrap().to_vec1().unwrap()
    }

    /// Loads the run into a fresh model: its step, weights and skipped notes.
    fn resume(run: &RunDir) -> (u64, Vec<f32>, Vec<String>) {
        let (params, mut optim) = setup();
        let r = run.load_checkpoint(&params, &mut optim).unwrap();
        assert_eq!(optim.steps(), r.state.step, "the optimizer of the same step");
        (r.state.step, weights(&params), r.skipped)
    }

    #[test]
    fn a_save_cut_short_after_any_file_leaves_the_last_whole_step_loadable() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let (params, mut optim) = setup();
        let mut state = TrainState::default();
        let mut saved = vec![weights(&params)];
        run.save_checkpoint(&params, &optim, &state).unwrap();
        // Saves of steps 1..=6, each first cut short after `cut` files (a kill), then resumed from
        // what is on disk and saved whole; twice in a row for some steps, as repeated kills would.
        for (step, cuts) in [(1, vec![1]), (2, vec![2]), (3, vec![1, 2]), (4, vec![2, 1]), (5, vec![1, 1]), (6, vec![])]
        {
            advance(&params, &mut optim);
            state.step = step;
            for cut in cuts {
                run.save_first_files(&params, &optim, &state, cut).unwrap();
                let (got, w, skipped) = resume(&run);
                assert_eq!(got, step - 1, "cut after {cut} files of step {step}");
                assert_eq!(w, saved[(step - 1) as usize], "the weights of step {}", step - 1);
                assert!(skipped.iter().any(|s| s.contains(&format!("step {step}"))), "{skipped:?}");
                // The files a cut save reached (the model first, then the optimizer) are named as
                // holding the step, state.json, written last, as not.
                let want = format!("the save of step {step} was cut short: model.safetensors");
                assert!(skipped.iter().any(|s| s.starts_with(&want) && s.ends_with("state.json not")), "{skipped:?}");
            }
            run.save_checkpoint(&params, &optim, &state).unwrap();
            saved.push(weights(&params));
            let (got, w, skipped) = resume(&run);
            assert_eq!((got, &w, skipped.len()), (step, &saved[step as usize], 0), "{skipped:?}");
        }
        for name in ["model.prev.safetensors", "optimizer.prev.safetensors", "state.prev.json"] {
            assert!(run.file(name).is_file(), "{name} kept");
        }
    }

    #[test]
    fn files_that_load_but_share_no_step_are_listed_with_their_steps() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let (params, optim) = setup();
        let mut state = TrainState::default();
        run.save_checkpoint(&params, &optim, &state).unwrap();
        state.step = 7;
        std::fs::write(run.state(), serde_json::to_vec(&state).unwrap()).unwrap();
        let (params, mut optim) = setup();
        let err = run.load_checkpoint(&params, &mut optim).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "no checkpoint to resume from loads (no step is held by all three files: model.safetensors step 0, \
                 optimizer.safetensors step 0, state.json step 7)"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_damaged_newest_checkpoint_is_skipped_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let (params, mut optim) = setup();
        let mut state = TrainState::default();
        advance(&params, &mut optim);
        state.step = 1;
        run.save_checkpoint(&params, &optim, &state).unwrap();
        let step1 = weights(&params);
        advance(&params, &mut optim);
        state.step = 2;
        run.save_checkpoint(&params, &optim, &state).unwrap();
        std::fs::write(run.model(), b"not a checkpoint").unwrap();
        let (got, w, skipped) = resume(&run);
        assert_eq!((got, w), (1, step1));
        assert!(
            skipped.iter().any(|s| s.starts_with("model.safetensors: not a valid safetensors file")),
            "{skipped:?}"
        );
        // Nothing loadable at all: one error that lists every reason.
        for name in ["model.prev.safetensors", "state.prev.json"] {
            std::fs::write(run.file(name), b"{").unwrap();
        }
        let (params, mut optim) = setup();
        let err = run.load_checkpoint(&params, &mut optim).unwrap_err().to_string();
        assert!(err.contains("no checkpoint to resume from loads") && err.contains("state.prev.json"), "{err}");
    }

    #[test]
    fn a_full_disk_leaves_the_previous_checkpoint_byte_identical() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let (params, mut optim) = setup();
        let mut state = TrainState::default();
        for step in 1..=2 {
            advance(&params, &mut optim);
            state.step = step;
            run.save_checkpoint(&params, &optim, &state).unwrap();
        }
        let snapshot = || {
            let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap())
                .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
                .collect();
            files.sort();
            files
        };
        let before = snapshot();
        advance(&params, &mut optim);
        state.step = 3;
        FAIL_AFTER.set(Some(100));
        let err = run.save_checkpoint(&params, &optim, &state).unwrap_err().to_string();
        FAIL_AFTER.set(None);
        assert!(err.contains("model.safetensors") && err.contains("No space left on device"), "{err}");
        assert!(before == snapshot(), "every file as it was, no temporary left");
        assert_eq!(resume(&run).0, 2);
    }

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
