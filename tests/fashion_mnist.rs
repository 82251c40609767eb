//! Real Fashion-MNIST from Debian's `dataset-fashion-mnist` package (installed by .ci/run): a short
//! run on a subset trains, and `ae eval` scores it, also across datasets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

const DEBIAN_DIR: &str = "/usr/share/datasets/fashion-mnist";

#[test]
fn a_short_fashion_mnist_run_trains_and_evaluates() {
    assert!(
        Path::new(DEBIAN_DIR).is_dir(),
        "{DEBIAN_DIR} is missing: apt-get install dataset-fashion-mnist (.ci/run does)"
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
}
