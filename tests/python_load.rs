//! The weights are usable elsewhere: `tests/python/load_checkpoint.py` rebuilds stacked,
//! denoising and variational models, dense and convolutional, from `config.json` and the safetensors checkpoint with numpy
//! alone (nn.Linear's arithmetic, the names documented in docs/run-directory.md) and must get
//! ae's reconstructions within 1e-5. Needs a Python with numpy (`cargo xtask setup` installs
//! `python3-numpy`); without one the test fails, naming what is missing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

#[test]
fn a_checkpoint_loads_in_numpy_with_the_same_reconstructions() {
    let python = common::python_with("numpy");
    let tmp = tempfile::tempdir().unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/load_checkpoint.py");
    for (name, extra) in [
        ("stacked", vec!["--epochs", "2"]),
        ("denoising", vec!["--model", "denoising", "--epochs", "2", "--activation", "tanh"]),
        ("vae", vec!["--model", "vae", "--epochs", "2"]),
        ("conv", vec!["--body", "conv", "--epochs", "2", "--conv-channels", "4,8", "--norm", "group:2"]),
        ("conv-vae", vec!["--model", "vae", "--body", "conv", "--epochs", "2", "--conv-channels", "4,6,8"]),
        (
            "conv-nearest",
            vec![
                "--body",
                "conv",
                "--epochs",
                "2",
                "--conv-channels",
                "4,8",
                "--upsample",
                "nearest",
                "--kernel",
                "5",
                "--padding",
                "2",
            ],
        ),
    ] {
        let run = tmp.path().join(name);
        common::train_tiny(&run, &extra);
        let encoded = tmp.path().join(format!("{name}.safetensors"));
        let (r, e) = (run.to_str().unwrap(), encoded.to_str().unwrap());
        common::ok(&["encode", "--run", r, "--out", e, "--reconstructions"]);
        let out = Command::new(python).arg(&script).args([r, e]).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        eprintln!("{name}: {v}");
        assert_eq!(v["images"].as_u64(), Some(50));
        assert!(v["max_abs_diff"].as_f64().unwrap() <= 1e-5, "{v}");
    }
}
