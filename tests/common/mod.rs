//! Helpers shared by the end-to-end tests: running the `ae` binary that cargo built for them.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The `ae` binary built for these tests.
pub fn ae() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ae"));
    cmd.env_remove("RAYON_NUM_THREADS");
    cmd
}

/// Runs `ae` with `args`, returning its output.
pub fn run(args: &[&str]) -> Output {
    ae().args(args).output().expect("the ae binary runs")
}

/// Runs `ae` and asserts success, returning stdout.
pub fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(out.status.success(), "ae {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `ae` and asserts it fails with `code`, returning stderr.
pub fn fails(args: &[&str], code: i32) -> String {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "ae {args:?}: stderr {stderr}");
    assert!(!stderr.contains("panicked"), "ae {args:?} panicked: {stderr}");
    stderr
}

/// `ae eval --run DIR --json` parsed.
pub fn eval_json(run: &Path, extra: &[&str]) -> serde_json::Value {
    let dir = run.to_str().expect("utf-8 path");
    let mut args = vec!["eval", "--run", dir, "--json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(&args)).expect("eval prints one JSON object")
}

/// The rows of a run's metrics.jsonl.
pub fn metrics(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .expect("metrics.jsonl exists")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

/// Trains a tiny stacked model on digits into `run` (400 training images, 16-4 widths, quiet),
/// with `extra` flags appended (others than these, e.g. `--model`, `--epochs`), and asserts success.
pub fn train_tiny(run: &Path, extra: &[&str]) {
    let mut args = vec![
        "train",
        "--train-limit",
        "400",
        "--test-limit",
        "50",
        "--hidden",
        "16",
        "--code-dim",
        "4",
        "--progress",
        "none",
        "--run-dir",
        run.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    ok(&args);
}
