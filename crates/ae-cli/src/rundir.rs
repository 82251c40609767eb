//! Choosing and claiming a run directory: a fresh default name per run, and a refusal to reuse a
//! non-empty directory unless the user said `--resume` or `--overwrite`.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use ae_train::RunDir;

use crate::exit::usage;

/// `runs/<model>-<dataset>-<UTC yyyymmdd-hhmmss>`, with `-2`, `-3`, ... appended when a run
/// started in the same second already holds that name.
pub fn default_path(model: &str, dataset: &str) -> PathBuf {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let base = format!("{model}-{dataset}-{}", utc_stamp(secs));
    (1..)
        .map(|n| Path::new("runs").join(if n == 1 { base.clone() } else { format!("{base}-{n}") }))
        .find(|p| !p.exists())
        .unwrap_or_else(|| Path::new("runs").join(base))
}

/// `yyyymmdd-hhmmss` for seconds since the Unix epoch (proleptic Gregorian, UTC).
pub fn utc_stamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}-{:02}{:02}{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Claims `run` for a new run: refuses a non-empty directory without `overwrite`, clears ae's
/// files from it with `overwrite`, and creates it.
pub fn claim_fresh(run: &RunDir, overwrite: bool) -> anyhow::Result<()> {
    if !run.is_empty()? {
        if !overwrite {
            return Err(usage(format!(
                "--run-dir {}: the directory is not empty; pass --resume to continue the run in it or --overwrite to replace it",
                run.path().display()
            )));
        }
        run.clear()?;
    }
    run.create()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_calendar_times() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        assert_eq!(utc_stamp(951_782_400), "20000229-000000");
        assert_eq!(utc_stamp(1_795_725_296), "20261126-203456");
    }

    #[test]
    fn non_empty_directories_need_a_flag() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("model.safetensors"), b"old").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
        let run = RunDir::new(dir.path());
        let err = claim_fresh(&run, false).unwrap_err();
        assert_eq!(crate::exit::code_for(&err), crate::exit::USAGE);
        assert!(err.to_string().contains("is not empty; pass --resume"), "{err}");
        assert_eq!(std::fs::read(dir.path().join("model.safetensors")).unwrap(), b"old");
        claim_fresh(&run, true).unwrap();
        assert!(!dir.path().join("model.safetensors").exists());
        assert!(dir.path().join("notes.txt").exists(), "files ae did not write stay");
    }
}
