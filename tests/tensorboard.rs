//! Every training writes TensorBoard event files into `tensorboard/` of its run directory, read
//! back here by TensorBoard's own `EventAccumulator` (`tests/python/tensorboard_read.py`; `cargo
//! xtask setup` installs tensorboard with pip): the loss and its parts and the learning rate per
//! step, the epoch means and validation loss per epoch, the reconstructions per epoch as an image.
//! A resume from an earlier checkpoint drops the events past it first, so no step is logged twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

fn read(py: &Path, run: &Path) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/tensorboard_read.py");
    let out = Command::new(py).arg(script).arg(run.join("tensorboard")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn steps(v: &serde_json::Value, kind: &str, tag: &str) -> Vec<u64> {
    let series = v[kind][tag].as_array().unwrap_or_else(|| panic!("no {kind} {tag} in {v}"));
    series.iter().map(|e| e[0].as_u64().unwrap()).collect()
}

fn train(run: &Path, epochs: &str, extra: &[&str]) {
    let mut args = vec!["--model", "vae", "--epochs", epochs, "--batch-size", "100"];
    args.extend_from_slice(extra);
    common::train_tiny(run, &args);
}

#[test]
fn training_logs_steps_epochs_and_pictures_that_tensorboard_reads() {
    let py = common::venv_python("tensorboard");
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    // 400 images less the validation tenth: 4 steps of 100 per epoch.
    train(&run, "2", &[]);
    let v = read(&py, &run);
    let per_epoch = common::metrics(&run)[0]["step"].as_u64().unwrap();
    let all: Vec<u64> = (1..=2 * per_epoch).collect();
    for tag in ["step/loss", "step/recon", "step/kl", "step/lr"] {
        assert_eq!(steps(&v, "scalars", tag), all, "{tag}");
    }
    for tag in ["epoch/train_loss", "epoch/val_loss", "epoch/val_kl", "epoch/examples_per_second"] {
        assert_eq!(steps(&v, "scalars", tag), [per_epoch, 2 * per_epoch], "{tag}");
    }
    let val = common::metrics(&run)[1]["val"]["total"].as_f64().unwrap();
    let logged = v["scalars"]["epoch/val_loss"][1][1].as_f64().unwrap();
    assert!((logged - val).abs() <= 1e-4 * val.abs(), "epoch/val_loss {logged} is metrics.jsonl's {val}");
    let pictures = &v["images"]["reconstructions"];
    assert_eq!(steps(&v, "images", "reconstructions"), [per_epoch, 2 * per_epoch]);
    // Two pairs of rows of 8 originals over 8 reconstructions, as reconstructions.png draws them:
    // 56x56 tiles 4 pixels apart, a title above, captions before the rows.
    let (w, h) = (pictures[0][1].as_u64().unwrap(), pictures[0][2].as_u64().unwrap());
    let grid = |n: u64| n * (56 + 4) + 4;
    assert!(w > grid(8) + 20 + 60 && h > grid(4) + 20 && h < grid(4) + 60, "{w}x{h}: {v}");
}

#[test]
fn resuming_from_an_earlier_checkpoint_logs_each_step_once() {
    let py = common::venv_python("tensorboard");
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    train(&run, "3", &[]);
    // Back to the checkpoint of epoch 2, as after a kill during epoch 3's save: epoch 3's events
    // are in the file, but training resumes from epoch 2.
    for (prev, now) in [
        ("model.prev.safetensors", "model.safetensors"),
        ("optimizer.prev.safetensors", "optimizer.safetensors"),
        ("state.prev.json", "state.json"),
    ] {
        std::fs::rename(run.join(prev), run.join(now)).unwrap();
    }
    let mut args = vec!["train", "--resume", "--epochs", "4", "--progress", "none", "--run-dir", run.to_str().unwrap()];
    args.extend(["--train-limit", "400", "--test-limit", "50"]);
    common::ok(&args);
    let v = read(&py, &run);
    let per_epoch = common::metrics(&run)[0]["step"].as_u64().unwrap();
    assert_eq!(steps(&v, "scalars", "step/loss"), (1..=4 * per_epoch).collect::<Vec<u64>>());
    assert_eq!(steps(&v, "scalars", "epoch/train_loss"), (1..=4).map(|e| e * per_epoch).collect::<Vec<u64>>());
    assert_eq!(std::fs::read_dir(run.join("tensorboard")).unwrap().count(), 2, "one event file per process");
    // --overwrite starts the log over.
    let mut args =
        vec!["train", "--overwrite", "--epochs", "1", "--progress", "none", "--run-dir", run.to_str().unwrap()];
    args.extend([
        "--train-limit",
        "400",
        "--test-limit",
        "50",
        "--hidden",
        "16",
        "--code-dim",
        "4",
        "--batch-size",
        "100",
    ]);
    common::ok(&args);
    assert_eq!(steps(&read(&py, &run), "scalars", "step/loss"), (1..=per_epoch).collect::<Vec<u64>>());
}
