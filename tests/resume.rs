//! Resuming: N epochs, then N more from the checkpoint, equals 2N straight, bit for bit on one
//! thread; a non-empty run directory is refused without --resume or --overwrite.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

fn train(dir: &Path, epochs: &str, resume: bool) {
    let d = dir.to_str().unwrap();
    let mut args = vec![
        "train",
        "--train-limit",
        "1500",
        "--test-limit",
        "100",
        "--seed",
        "11",
        "--epochs",
        epochs,
        "--run-dir",
        d,
        "--progress",
        "none",
    ];
    if resume {
        args.push("--resume");
    }
    let out = common::ae().args(&args).env("RAYON_NUM_THREADS", "1").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn resume_continues_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let (straight, split) = (tmp.path().join("straight"), tmp.path().join("split"));
    train(&straight, "4", false);
    train(&split, "2", false);
    assert_eq!(common::metrics(&split).len(), 2);
    train(&split, "4", true);
    for file in ["model.safetensors", "optimizer.safetensors", "best.safetensors", "state.json"] {
        let (a, b) = (std::fs::read(straight.join(file)).unwrap(), std::fs::read(split.join(file)).unwrap());
        assert!(a == b, "{file} differs between 4 epochs straight and 2 + 2 resumed");
    }
    let losses =
        |p: &Path| -> Vec<f64> { common::metrics(p).iter().map(|r| r["train"]["total"].as_f64().unwrap()).collect() };
    assert_eq!(losses(&straight), losses(&split));
}

#[test]
fn a_used_run_directory_needs_resume_or_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    train(&run, "1", false);
    let before = std::fs::read(run.join("model.safetensors")).unwrap();
    let d = run.to_str().unwrap();
    let err = common::fails(&["train", "--train-limit", "200", "--epochs", "1", "--run-dir", d], 2);
    assert!(
        err.contains("is not empty; pass --resume to continue the run in it or --overwrite to replace it"),
        "{err}"
    );
    assert_eq!(std::fs::read(run.join("model.safetensors")).unwrap(), before, "nothing overwritten");
    let err = common::fails(&["train", "--resume", "--run-dir", d, "--batch-size", "64"], 2);
    assert!(err.contains("the flags given would change train.batch_size (128 -> 64)"), "{err}");
    common::ok(&[
        "train",
        "--train-limit",
        "200",
        "--epochs",
        "1",
        "--run-dir",
        d,
        "--overwrite",
        "--progress",
        "none",
    ]);
    assert_eq!(common::metrics(&run).len(), 1);
}
