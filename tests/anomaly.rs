//! Anomaly detection through the `ae` binary: a model trained on one digit class scores the
//! other classes' test images higher, so `ae anomaly` reports a high ROC AUC; the VAE scores by
//! negative ELBO; a run trained on every class needs `--normal`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

fn train(run: &Path, extra: &[&str]) {
    let mut args =
        vec!["train", "--train-class", "1", "--epochs", "5", "--progress", "none", "--run-dir", run.to_str().unwrap()];
    args.extend_from_slice(extra);
    common::ok(&args);
}

fn anomaly(run: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["anomaly", "--run", run.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&common::ok(&args)).unwrap()
}

#[test]
fn a_one_class_model_tells_the_other_classes_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let (stacked, vae) = (tmp.path().join("stacked"), tmp.path().join("vae"));
    train(&stacked, &["--hidden", "128", "--code-dim", "16"]);
    train(&vae, &["--model", "vae"]);
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(stacked.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["data"]["train_class"], "1", "recorded in the config as given: a class name, else an index");

    let s = anomaly(&stacked, &[]);
    eprintln!("stacked: {s}");
    assert_eq!((s["normal_class"].as_u64(), s["score"].as_str()), (Some(1), Some("recon_loss")));
    assert_eq!(s["normal_examples"].as_u64().unwrap() + s["anomalous_examples"].as_u64().unwrap(), 1000);
    assert!(s["auroc"].as_f64().unwrap() > 0.9, "{s}");
    assert!(s["mean_score_anomalous"].as_f64().unwrap() > s["mean_score_normal"].as_f64().unwrap());

    let v = anomaly(&vae, &[]);
    eprintln!("vae: {v}");
    assert_eq!(v["score"].as_str(), Some("neg_elbo"));
    assert!(v["auroc"].as_f64().unwrap() > 0.9, "{v}");
    // Calling a class the model never saw "normal" turns the ranking upside down.
    let other = anomaly(&stacked, &["--normal", "0"]);
    assert!(other["auroc"].as_f64().unwrap() < s["auroc"].as_f64().unwrap(), "{other}");
}

#[test]
fn the_normal_class_must_be_known() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("all");
    common::train_tiny(&run, &["--epochs", "1"]);
    let d = run.to_str().unwrap();
    let err = common::fails(&["anomaly", "--run", d], 2);
    assert!(err.contains("--normal: the run") && err.contains("trained on every class"), "{err}");
    let err = common::fails(&["anomaly", "--run", d, "--normal", "12"], 2);
    assert!(err.contains("--normal 12: expected a class from 0 to 9"), "{err}");
    let err = common::fails(&["train", "--train-class", "10"], 2);
    assert!(err.contains("data.train_class: 10 is invalid; expected a class from 0 to 9"), "{err}");
}
