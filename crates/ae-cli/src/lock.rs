//! One writer per run directory. `ae train` holds an advisory lock on `<run>/.lock` for as long
//! as it writes; the kernel releases it when the process ends, however it ends, so a SIGKILL
//! leaves no stale lock. A second writer is refused at once, naming the holder's pid. Commands
//! that only read a run take no lock and may run beside a training.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};

use ae_train::RunDir;
use ae_train::checkpoint::LOCK_FILE;
use anyhow::{Context, bail};

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

/// Creates `run` if needed and takes its lock, or fails (exit 1) naming the directory and the pid
/// of the process that holds it.
pub fn hold(run: &RunDir) -> anyhow::Result<RunLock> {
    run.create()?;
    let path = run.file(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("{}: cannot open the run's lock file", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() { "another process".to_string() } else { format!("process {holder}") };
            bail!(
                "--run-dir {}: {who} is training into this run directory; wait for it to finish or \
                 stop it, or choose another --run-dir",
                run.path().display()
            );
        }
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("{}: cannot lock the run directory", path.display()));
        }
    }
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| writeln!(file, "{}", std::process::id()))
        .with_context(|| format!("{}: cannot write the lock holder's pid", path.display()))?;
    Ok(RunLock { _file: file })
}
