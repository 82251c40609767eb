//! Real Fashion-MNIST from Debian's `dataset-fashion-mnist` package (`cargo xtask setup` installs
//! it): a short run on a subset trains, and `ae eval` scores it, also across datasets: each model
//! rebuilds its own kind of images better than a model trained on the other dataset
//! (data-specificity).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

const DEBIAN_DIR: &str = "/usr/share/datasets/fashion-mnist";

#[test]
fn a_short_fashion_mnist_run_trains_and_evaluates() {
    assert!(
        Path::new(DEBIAN_DIR).is_dir(),
        "{DEBIAN_DIR} is missing: apt-get install -y dataset-fashion-mnist (`cargo xtask setup` does)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    common::ok(&[
        "train",
        "--model",
        "stacked",
        "--dataset",
        "fashion-mnist",
        "--data-dir",
        DEBIAN_DIR,
        "--train-limit",
        "6000",
        "--test-limit",
        "2000",
        "--epochs",
        "2",
        "--run-dir",
        run.to_str().unwrap(),
        "--progress",
        "none",
    ]);
    let eval = common::eval_json(&run, &[]);
    assert_eq!((eval["dataset"].as_str(), eval["examples"].as_u64()), (Some("fashion-mnist"), Some(2000)));
    let per_pixel = eval["recon_per_pixel"].as_f64().unwrap();
    // An untrained decoder outputs about 0.5 everywhere: BCE near ln 2 = 0.69 per pixel.
    assert!(per_pixel < 0.40, "fashion-mnist test recon_per_pixel {per_pixel}");

    // The same model can be scored on another dataset's test split.
    let other = common::eval_json(&run, &["--dataset", "digits"]);
    assert_eq!((other["dataset"].as_str(), other["examples"].as_u64()), (Some("digits"), Some(1000)));
    assert!(other["recon_per_pixel"].as_f64().unwrap().is_finite());

    // Data-specificity: a model trained on digits rebuilds digits better than the Fashion-MNIST
    // model does, and Fashion-MNIST worse than that model does.
    let digits_run = tmp.path().join("digits");
    let d = digits_run.to_str().unwrap();
    common::ok(&["train", "--train-limit", "6000", "--epochs", "5", "--run-dir", d, "--progress", "none"]);
    let on_digits = common::eval_json(&digits_run, &[]);
    let on_fashion = common::eval_json(
        &digits_run,
        &["--dataset", "fashion-mnist", "--data-dir", DEBIAN_DIR, "--test-limit", "2000"],
    );
    let pp = |v: &serde_json::Value| v["recon_per_pixel"].as_f64().unwrap();
    eprintln!(
        "recon/pixel: digits model {:.4} on digits, {:.4} on fashion; fashion model {:.4} on digits, {:.4} on fashion",
        pp(&on_digits),
        pp(&on_fashion),
        pp(&other),
        per_pixel
    );
    assert!(pp(&on_digits) < pp(&other), "each model rebuilds its own data better");
    assert!(per_pixel < pp(&on_fashion), "each model rebuilds its own data better");
}
