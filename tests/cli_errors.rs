//! Bad input through the `ae` binary: each is refused with a message naming the flag or file,
//! the value and what was expected, exit code 2 for usage and configuration, 1 for data and
//! runtime failures, and never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::fails;

#[test]
fn bad_flags_are_usage_errors() {
    let cases: [(&[&str], &str); 15] = [
        (&["train", "--lr", "nan"], "'--lr <X>': \"nan\" is not a finite number"),
        (
            &["train", "--model", "gan"],
            "--model: unknown kind \"gan\"; expected one of stacked, vae, denoising, sparse",
        ),
        (&["train", "--dataset", "cifar"], "unknown dataset \"cifar\"; expected one of digits, mnist, fashion-mnist"),
        (&["train", "--hidden", "512,0"], "\"0\" is not a positive whole number"),
        (&["train", "--device", "cuda"], "--device cuda:0: this build of ae has no CUDA support"),
        (&["train", "--epochs", "0"], "train.epochs: 0 is invalid; expected 1 to 1000000"),
        (&["train", "--code-dim", "0"], "model.code_dim: 0 is invalid; expected a width from 1 to 65536"),
        (&["train", "--resume"], "--resume needs --run-dir DIR"),
        (&["train", "--lr=-1"], "train.optimizer.lr: -1 is invalid; expected a finite number in (0, 10)"),
        (&["train", "--lr", "-1"], "train.optimizer.lr: -1 is invalid; expected a finite number in (0, 10)"),
        (&["eval", "--run", "r", "--iw-samples", "100000000"], "\"100000000\" is not a whole number from 1 to 100000"),
        (&["throughput", "--run", "r", "--repeats", "0"], "\"0\" is not a whole number from 1 to 1000"),
        (&["probe", "--run", "r", "--epochs", "20000"], "\"20000\" is not a whole number from 1 to 10000"),
        // Refused before anything is allocated (this used to be OOM-killed after 70 s).
        (&["train", "--hidden", "65536,65536,65536"], "of memory is available; choose smaller --hidden"),
        (&["train", "--val-fraction", "0.7"], "data.val_fraction: 0.7 is invalid; expected a number in [0, 0.5)"),
    ];
    for (args, want) in cases {
        let err = fails(args, 2);
        assert!(err.contains(want), "ae {args:?}: {err}");
    }
}

#[test]
fn bad_config_files_are_usage_errors_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("malformed.json", "{\"train\": ", "malformed.json: invalid config: EOF while parsing"),
        (
            "unknown.json",
            "{\"format\": 1, \"train\": {\"epoch\": 3}}",
            "unknown.json: invalid config: unknown field `epoch`",
        ),
        (
            "type.json",
            "{\"format\": 1, \"train\": {\"epochs\": \"ten\"}}",
            "type.json: invalid config: invalid type: string \"ten\", expected usize",
        ),
        (
            "format.json",
            "{\"format\": 7}",
            "format.json: config format 7 is not one this build reads; expected \"format\": 2 (or 1, which is upgraded)",
        ),
        (
            "array.json",
            "[1, 2]",
            "array.json: invalid config: expected a JSON object with \"format\": 2, found an array",
        ),
        ("empty.json", "{}", "empty.json: invalid config: missing \"format\": 2"),
        (
            "range.json",
            "{\"format\": 1, \"data\": {\"val_fraction\": 2.0}}",
            "data.val_fraction: 2 is invalid; expected a number in [0, 0.5)",
        ),
    ];
    for (name, text, want) in cases {
        let path = tmp.path().join(name);
        std::fs::write(&path, text).unwrap();
        let run = tmp.path().join(format!("run-{name}"));
        let err = fails(&["train", "--config", path.to_str().unwrap(), "--run-dir", run.to_str().unwrap()], 2);
        assert!(err.contains(want), "{name}: {err}");
        assert!(!run.exists(), "{name}: no run directory is made for a refused config");
    }
}

#[test]
fn a_partial_model_section_takes_the_default_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("partial.json");
    std::fs::write(&path, r#"{"format": 1, "model": {"hidden": [16], "code_dim": 4}, "data": {"train_limit": 200, "test_limit": 20}, "train": {"epochs": 1}}"#).unwrap();
    let run = tmp.path().join("run");
    common::ok(&[
        "train",
        "--config",
        path.to_str().unwrap(),
        "--run-dir",
        run.to_str().unwrap(),
        "--progress",
        "none",
    ]);
    let cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("config.json")).unwrap()).unwrap();
    // Written back in the current format, as parts.
    assert_eq!((cfg["format"].as_u64(), cfg["model"]["preset"].as_str()), (Some(2), Some("stacked")));
    assert_eq!(cfg["model"]["bottleneck"]["code_dim"], 4);
    assert_eq!(cfg["model"]["body"]["hidden"], serde_json::json!([16]));
}

#[test]
fn help_describes_the_whole_tool() {
    // It used to say "The ae command line: train, eval" above a list of 14 commands.
    let help = common::ok(&["--help"]);
    assert!(help.starts_with("Train, evaluate and use autoencoders"), "{help}");
    for command in ["train", "eval", "sample", "denoise", "encode", "compress", "decompress", "anomaly"] {
        assert!(help.contains(&format!("  {command} ")), "{command} missing from:\n{help}");
    }
    let version = common::ok(&["--version"]);
    assert!(
        version.starts_with("ae 0.1.0 (matrix products on ") && version.contains(ae::core::fused::gemm::BACKEND),
        "{version}"
    );
}

#[test]
fn config_files_are_read_with_a_bound() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let r = run.to_str().unwrap();
    // /dev/zero used to be read until memory ran out.
    let err = fails(&["train", "--config", "/dev/zero", "--run-dir", r], 2);
    assert!(err.contains("/dev/zero: cannot read config: not a regular file"), "{err}");
    let huge = tmp.path().join("huge.json");
    std::fs::write(&huge, vec![b' '; 17 << 20]).unwrap();
    let err = fails(&["train", "--config", huge.to_str().unwrap(), "--run-dir", r], 2);
    assert!(err.contains("huge.json: cannot read config: larger than the 16777216-byte limit"), "{err}");
    assert!(!run.exists());
}

#[test]
fn missing_data_is_a_data_error_with_remedies() {
    let tmp = tempfile::tempdir().unwrap();
    let err = fails(
        &[
            "train",
            "--dataset",
            "mnist",
            "--data-dir",
            tmp.path().to_str().unwrap(),
            "--run-dir",
            tmp.path().join("r").to_str().unwrap(),
        ],
        1,
    );
    assert!(
        err.contains("mnist: train-images-idx3-ubyte[.gz] not found in") && err.contains("cargo xtask download mnist"),
        "{err}"
    );
}

#[test]
fn eval_refuses_what_is_not_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let err = fails(&["eval", "--run", tmp.path().to_str().unwrap()], 2);
    assert!(err.contains("no config.json there; expected a run directory made by `ae train`"), "{err}");
}
