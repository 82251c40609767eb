//! Damaged and foreign checkpoints through the `ae` binary: each is refused with exit code 1 and
//! a message naming the file and what is wrong with it, never a panic; `--resume` passes over a
//! damaged newest checkpoint to the previous one and says so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors, tensor::TensorView};

/// A tiny trained stacked run (two epochs).
fn tiny_run(dir: &Path, extra: &[&str]) -> PathBuf {
    let run = dir.join("run");
    common::train_tiny(&run, &[&["--epochs", "2"], extra].concat());
    run
}

/// The model file's tensors as (name, dtype, shape, bytes).
type Tensors = Vec<(String, Dtype, Vec<usize>, Vec<u8>)>;

fn read(path: &Path) -> Tensors {
    let bytes = std::fs::read(path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut out: Tensors =
        st.tensors().into_iter().map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec())).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn write(path: &Path, tensors: &Tensors) {
    let views: Vec<(String, TensorView<'_>)> =
        tensors.iter().map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap())).collect();
    let meta = HashMap::from([("step".to_string(), "1".to_string())]);
    std::fs::write(path, safetensors::serialize(views, Some(meta)).unwrap()).unwrap();
}

/// `ae eval` on the run's last weights must fail with exit 1 and `want` in the message.
fn refused(run: &Path, want: &str) {
    let err = common::fails(&["eval", "--run", run.to_str().unwrap(), "--checkpoint", "last"], 1);
    assert!(err.contains("model.safetensors") && err.contains(want), "want {want:?}: {err}");
}

#[test]
fn damaged_checkpoints_are_refused_naming_the_file_and_the_fault() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tiny_run(tmp.path(), &[]);
    let model = run.join("model.safetensors");
    let good = std::fs::read(&model).unwrap();
    let tensors = read(&model);

    std::fs::write(&model, b"this is not a checkpoint").unwrap();
    refused(&run, "not a valid safetensors file");
    std::fs::write(&model, &good[..good.len() / 2]).unwrap();
    refused(&run, "not a valid safetensors file");
    let mut huge = good.clone();
    huge[..8].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    std::fs::write(&model, &huge).unwrap();
    refused(&run, "not a valid safetensors file");

    let mut missing = tensors.clone();
    missing.retain(|t| t.0 != "encoder.layers.0.bias");
    write(&model, &missing);
    refused(&run, "tensor names do not match the model: missing [encoder.layers.0.bias], unexpected []");
    let mut extra = tensors.clone();
    extra.push(("encoder.layers.9.weight".into(), Dtype::F32, vec![1], vec![0; 4]));
    write(&model, &extra);
    refused(&run, "missing [], unexpected [encoder.layers.9.weight]");

    let mut shape = tensors.clone();
    let w = shape.iter_mut().find(|t| t.0 == "encoder.layers.0.weight").unwrap();
    w.2 = vec![w.2[1], w.2[0]];
    write(&model, &shape);
    refused(&run, "tensor encoder.layers.0.weight: shape [784, 16], expected [16, 784]");

    let mut dtype = tensors.clone();
    let b = dtype.iter_mut().find(|t| t.0 == "encoder.layers.0.bias").unwrap();
    b.1 = Dtype::I32;
    write(&model, &dtype);
    refused(&run, "tensor encoder.layers.0.bias: dtype I32, expected F32");

    let mut nan = tensors.clone();
    let b = nan.iter_mut().find(|t| t.0 == "decoder.layers.0.bias").unwrap();
    b.3[4..8].copy_from_slice(&f32::NAN.to_le_bytes());
    write(&model, &nan);
    refused(&run, "tensor decoder.layers.0.bias: value NaN at flat index 1 is not finite");

    // A checkpoint of another kind of model: a VAE's weights in this stacked run.
    let vae = tiny_run(&tmp.path().join("vae"), &["--model", "vae"]);
    std::fs::copy(vae.join("model.safetensors"), &model).unwrap();
    refused(&run, "missing [encoder.layers.1.bias, encoder.layers.1.weight], unexpected [encoder.log_var.bias");
}

#[test]
fn resume_passes_over_a_damaged_newest_checkpoint_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tiny_run(tmp.path(), &[]);
    std::fs::write(run.join("optimizer.safetensors"), b"garbage").unwrap();
    let out = common::ae()
        .args(["train", "--resume", "--epochs", "3", "--progress", "none", "--run-dir", run.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("skipped checkpoint: optimizer.safetensors: not a valid safetensors file"), "{stderr}");
    assert!(stderr.contains("resuming from the checkpoint of step"), "{stderr}");
    assert_eq!(common::metrics(&run).len(), 3, "epoch 2 again from epoch 1's checkpoint, then epoch 3");

    // Nothing usable left: a clear error, exit 1.
    for name in ["model.safetensors", "model.prev.safetensors"] {
        std::fs::write(run.join(name), b"garbage").unwrap();
    }
    let err = common::fails(&["train", "--resume", "--epochs", "4", "--run-dir", run.to_str().unwrap()], 1);
    assert!(err.contains("no checkpoint to resume from loads"), "{err}");
}

#[test]
fn resume_refuses_what_does_not_fit_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tiny_run(tmp.path(), &[]);
    let r = run.to_str().unwrap();
    let config = std::fs::read(run.join("config.json")).unwrap();
    // Lowering --epochs used to rewrite config.json to 1 epoch.
    let err = common::fails(&["train", "--resume", "--run-dir", r, "--epochs", "1"], 2);
    assert!(err.contains("--epochs 1: the run at") && err.contains("records 2 epochs"), "{err}");
    assert_eq!(std::fs::read(run.join("config.json")).unwrap(), config, "config.json left as it was");
    // A hand-edited state claiming epoch 100 of 2 used to be trusted.
    let state_path = run.join("state.json");
    let mut state: serde_json::Value = serde_json::from_slice(&std::fs::read(&state_path).unwrap()).unwrap();
    state["epoch"] = 100.into();
    std::fs::write(&state_path, serde_json::to_vec(&state).unwrap()).unwrap();
    std::fs::remove_file(run.join("state.prev.json")).ok();
    let err = common::fails(&["train", "--resume", "--run-dir", r, "--epochs", "3"], 1);
    assert!(err.contains("state.json: epoch 100 at step") && err.contains("does not fit this run (3 epochs"), "{err}");
}
