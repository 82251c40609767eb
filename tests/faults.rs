//! Faults through the `ae` binary: a training process killed (SIGKILL) at many random moments
//! always leaves a checkpoint that `--resume` continues from, and on one thread the resumed runs
//! end with exactly the files of an uninterrupted run; Ctrl-C (SIGINT) saves and exits 130.
//! (A non-finite loss is tested in `train_loop.rs`, a failed write in `ae-train`'s checkpoint
//! tests.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A small, quick run: many epochs (so many checkpoint writes to land in), one thread.
fn args(run: &Path, epochs: &str, resume: bool) -> Vec<String> {
    let mut a: Vec<String> = [
        "train",
        "--train-limit",
        "600",
        "--test-limit",
        "100",
        "--batch-size",
        "50",
        "--hidden",
        "32",
        "--code-dim",
        "8",
        "--seed",
        "5",
        "--epochs",
        epochs,
        "--progress",
        "none",
        "--run-dir",
        run.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec();
    if resume {
        a.push("--resume".into());
    }
    a
}

fn spawn(args: &[String]) -> Child {
    common::ae().args(args).env("RAYON_NUM_THREADS", "1").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
}

fn finish(child: Child) -> (Option<i32>, String) {
    let out = child.wait_with_output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Runs to the end and asserts success.
fn complete(args: &[String]) -> String {
    let (code, stderr) = finish(spawn(args));
    assert_eq!(code, Some(0), "ae {args:?}: {stderr}");
    stderr
}

/// Waits until `path` exists (the run has started training).
fn wait_for(path: &Path, child: &mut Child) {
    let start = Instant::now();
    while !path.exists() {
        assert!(child.try_wait().unwrap().is_none(), "ae exited before {} appeared", path.display());
        assert!(start.elapsed() < Duration::from_secs(60), "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The files that must match an uninterrupted run, byte for byte.
const SAME: [&str; 4] = ["model.safetensors", "optimizer.safetensors", "state.json", "best.safetensors"];

fn assert_same_as(straight: &Path, run: &Path, what: &str) {
    for file in SAME {
        let (a, b) = (std::fs::read(straight.join(file)).unwrap(), std::fs::read(run.join(file)).unwrap());
        assert!(a == b, "{what}: {file} differs from the uninterrupted run");
    }
    let epochs = |p: &Path| -> Vec<u64> { common::metrics(p).iter().map(|r| r["epoch"].as_u64().unwrap()).collect() };
    assert_eq!(epochs(run), epochs(straight), "{what}: each epoch once in metrics.jsonl");
}

/// Epochs of the killed runs: each ends with a checkpoint, so kills land in many writes.
const EPOCHS: &str = "24";

#[test]
fn killed_at_random_moments_a_run_always_resumes_to_the_same_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let straight = tmp.path().join("straight");
    let started = Instant::now();
    let mut child = spawn(&args(&straight, EPOCHS, false));
    wait_for(&straight.join("state.json"), &mut child);
    let training_started = Instant::now();
    let (code, stderr) = finish(child);
    assert_eq!(code, Some(0), "{stderr}");
    // The window in which kills land: from the first checkpoint to the end of the process, less
    // the test evaluation and pictures at the end.
    let window = 0.85 * training_started.elapsed().as_secs_f64();
    eprintln!(
        "uninterrupted run: {:.2} s, of which {window:.2} s after the first checkpoint",
        started.elapsed().as_secs_f64()
    );

    // A fixed-seed generator: the kill moments are random but the same on every run of the test.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut kills_mid_training = 0;
    for i in 0..24 {
        let run = tmp.path().join(format!("killed-{i}"));
        let mut child = spawn(&args(&run, EPOCHS, false));
        wait_for(&run.join("state.json"), &mut child);
        let delay = Duration::from_secs_f64(next() * window);
        std::thread::sleep(delay);
        let was_running = child.try_wait().unwrap().is_none();
        child.kill().unwrap(); // SIGKILL
        finish(child);
        kills_mid_training += usize::from(was_running);
        let stderr = complete(&args(&run, EPOCHS, true));
        assert!(stderr.contains("resuming from the checkpoint of step"), "kill {i}: {stderr}");
        assert_same_as(&straight, &run, &format!("kill {i} after {:.3} s", delay.as_secs_f64()));
    }
    eprintln!("{kills_mid_training} of 24 kills landed while training ran");
    assert!(kills_mid_training >= 20, "only {kills_mid_training} kills landed mid-training");
}

#[test]
fn ctrl_c_saves_the_step_and_exits_130_and_resume_finishes_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (straight, run) = (tmp.path().join("straight"), tmp.path().join("run"));
    complete(&args(&straight, "40", false));
    let mut child = spawn(&args(&run, "40", false));
    wait_for(&run.join("metrics.jsonl"), &mut child);
    let pid = child.id().to_string();
    let sent = std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(sent.success());
    let (code, stderr) = finish(child);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("interrupted: stopped after step") && stderr.contains("--resume --run-dir"), "{stderr}");
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("state.json")).unwrap()).unwrap();
    let step = state["step"].as_u64().unwrap();
    assert!(step > 0 && step < 40 * 11, "stopped mid-run at step {step}");
    assert!(stderr.contains(&format!("stopped after step {step} ")), "{stderr}");
    complete(&args(&run, "40", true));
    assert_same_as(&straight, &run, "after Ctrl-C");
}
