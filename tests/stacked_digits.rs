//! The acceptance run of the stacked autoencoder, end to end through the `ae` binary: digits,
//! 784-512-256-64, ReLU, BCE, Adam 1e-3, batch 128, 10 epochs, reaches test recon_per_pixel
//! <= 0.135, and leaves a complete run directory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[test]
fn stacked_on_digits_reaches_the_target_and_leaves_a_complete_run() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let dir = run.to_str().unwrap();
    let stdout = common::ok(&[
        "train",
        "--model",
        "stacked",
        "--dataset",
        "digits",
        "--hidden",
        "512,256",
        "--code-dim",
        "64",
        "--activation",
        "relu",
        "--loss",
        "bce",
        "--lr",
        "0.001",
        "--batch-size",
        "128",
        "--epochs",
        "10",
        "--run-dir",
        dir,
        "--progress",
        "lines",
    ]);
    assert!(
        stdout.contains(&format!("evaluate with: {} eval --run {dir} --json", env!("CARGO_BIN_EXE_ae"))),
        "{stdout}"
    );

    for file in [
        "config.json",
        "model.safetensors",
        "best.safetensors",
        "optimizer.safetensors",
        "state.json",
        "metrics.jsonl",
        "metrics.csv",
        "reconstructions.png",
    ] {
        assert!(run.join(file).is_file(), "{file} missing");
    }
    let rows = common::metrics(&run);
    assert_eq!(rows.len(), 10);
    let first = rows[0]["train"]["total"].as_f64().unwrap();
    let last = rows[9]["train"]["total"].as_f64().unwrap();
    assert!(last < first * 0.6, "training loss fell from {first} to {last}");
    assert_eq!(std::fs::read_to_string(run.join("metrics.csv")).unwrap().lines().count(), 11);

    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["model"]["preset"], "stacked");
    assert_eq!(cfg["model"]["body"]["hidden"], serde_json::json!([512, 256]));
    assert_eq!(cfg["train"]["optimizer"]["lr"], 0.001);

    // 4 pairs of rows of 8 tiles, each 56x56 (twice the digit's size) 4 pixels apart, with a
    // title above and captions before the rows.
    let (w, h) = image_dims(&run.join("reconstructions.png"));
    let grid = 8 * (56 + 4) + 4;
    assert!(w > grid + 20 + 60 && h > grid + 20 && h < grid + 20 + 40, "{w}x{h}: 4 pairs of rows of 8 tiles");

    let eval = common::eval_json(&run, &[]);
    let per_pixel = eval["recon_per_pixel"].as_f64().unwrap();
    let per_example = eval["recon_per_example"].as_f64().unwrap();
    assert_eq!(eval["examples"], 1000);
    assert!((per_example / 784.0 - per_pixel).abs() < 1e-9);
    assert!(per_pixel <= 0.135, "test recon_per_pixel {per_pixel} > 0.135");
    eprintln!("digits, 10 epochs: test recon_per_pixel {per_pixel:.5}");

    let speed: serde_json::Value =
        serde_json::from_str(&common::ok(&["throughput", "--run", dir, "--repeats", "1", "--json"])).unwrap();
    assert_eq!((speed["batch_size"].as_u64(), speed["images"].as_u64()), (Some(1000), Some(1000)));
    for key in ["encode_images_per_second", "reconstruct_images_per_second"] {
        assert!(speed[key].as_f64().unwrap() > 0.0, "{key}: {speed}");
    }
}

/// Width and height of a PNG, read from its IHDR chunk.
fn image_dims(path: &std::path::Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    (be(16), be(20))
}
