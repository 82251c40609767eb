//! Run directories written by earlier builds keep working: a committed run of each kind in each
//! config format (`tests/fixtures/runs-format-N/KIND`: its config.json, weights and state.json;
//! format 1 made before the models were built from parts, format 2 after, with the same seed and
//! settings, so their weights are the same bytes)
//! is opened by today's `ae eval`, which must report the test metrics recorded when it was made
//! (`eval.json` beside it) and the same config, so a change to how configs are read, models are
//! built or parameters are named cannot pass unnoticed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

/// Relative tolerance: the backends (OpenBLAS or ae's own products) round differently.
const TOLERANCE: f64 = 1e-4;

#[test]
fn every_committed_run_evaluates_as_it_did_when_it_was_made() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut checked = Vec::new();
    for format in std::fs::read_dir(&root).unwrap() {
        let format = format.unwrap().path();
        for run in std::fs::read_dir(&format).unwrap() {
            let run = run.unwrap().path();
            let want: serde_json::Value =
                serde_json::from_slice(&std::fs::read(run.join("eval.json")).unwrap()).unwrap();
            let got: serde_json::Value =
                serde_json::from_str(&common::ok(&["eval", "--run", run.to_str().unwrap(), "--json"])).unwrap();
            for (key, expected) in want.as_object().unwrap() {
                assert_same(key, expected, &got[key], &run);
            }
            checked.push(format!("{}/{}", format.file_name().unwrap().to_string_lossy(), got["model"]));
        }
    }
    checked.sort();
    for format in ["runs-format-1", "runs-format-2"] {
        for kind in ["stacked", "vae", "denoising", "sparse"] {
            let want = format!("{format}/\"{kind}\"");
            assert!(checked.contains(&want), "no committed {kind} run in {format}: {checked:?}");
        }
    }
}

/// A recorded metric against today's: numbers within [`TOLERANCE`], anything else equal.
fn assert_same(key: &str, expected: &serde_json::Value, actual: &serde_json::Value, run: &Path) {
    match (expected.as_f64(), actual.as_f64()) {
        (Some(e), Some(a)) => {
            assert!((e - a).abs() <= TOLERANCE * e.abs().max(1.0), "{}: {key} is {a}, recorded {e}", run.display())
        }
        _ => assert_eq!(actual, expected, "{}: {key}", run.display()),
    }
}

#[test]
fn training_a_committed_config_again_reproduces_its_recorded_metrics() {
    // The format-2 runs were trained by the models before the fused executor; training their
    // configs again (the stacked, denoising and VAE runs through the same arithmetic, the TopK
    // sparse one now on the executor rather than autograd) must land on the same test metrics.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runs-format-2");
    let tmp = tempfile::tempdir().unwrap();
    for kind in ["stacked", "vae", "denoising", "sparse"] {
        let fixture = root.join(kind);
        let run = tmp.path().join(kind);
        let config = fixture.join("config.json");
        let dir = run.to_str().unwrap();
        common::ok(&["train", "--config", config.to_str().unwrap(), "--run-dir", dir, "--progress", "none"]);
        let want: serde_json::Value =
            serde_json::from_slice(&std::fs::read(fixture.join("eval.json")).unwrap()).unwrap();
        let got = common::eval_json(&run, &["--checkpoint", "last"]);
        for (key, expected) in want.as_object().unwrap().iter().filter(|(_, v)| v.is_number()) {
            assert_same(key, expected, &got[key], &run);
        }
        assert_eq!((&got["model"], &got["weights"]), (&want["model"], &want["weights"]));
    }
}

#[test]
fn a_run_recorded_in_format_1_resumes_and_writes_its_config_back_as_parts() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    common::train_tiny(&run, &["--epochs", "1"]);
    // The config as the first format wrote it: the kind and its flat fields.
    let read = |p: &Path| -> serde_json::Value { serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap() };
    let parts = read(&run.join("config.json"));
    let (body, code) = (&parts["model"]["body"], &parts["model"]["bottleneck"]);
    let mut v1 = parts.clone();
    v1["format"] = 1.into();
    v1["model"] = serde_json::json!({
        "kind": "stacked", "input_dim": body["input_dim"], "hidden": body["hidden"],
        "decoder_hidden": body["decoder_hidden"], "activation": body["activation"],
        "code_dim": code["code_dim"], "code_activation": code["code_activation"], "loss": "bce",
    });
    std::fs::write(run.join("config.json"), serde_json::to_vec_pretty(&v1).unwrap()).unwrap();
    let dir = run.to_str().unwrap();
    common::ok(&["train", "--resume", "--run-dir", dir, "--epochs", "2", "--progress", "none"]);
    assert_eq!(read(&run.join("config.json"))["model"], parts["model"], "upgraded to the same parts");
    assert_eq!(read(&run.join("config.json"))["format"], 2);
    assert_eq!(read(&run.join("state.json"))["epoch"], 2, "the resume trained on");
}
