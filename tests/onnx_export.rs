//! `ae export --format onnx` writes files that onnxruntime runs as ae does: for every body (dense,
//! convolutional with transposed or nearest upsampling and group normalisation) and bottleneck
//! (plain, sparse L1, KL and TopK, Gaussian), the autoencoder, encoder and decoder files, run by
//! `tests/python/onnx_check.py` in onnxruntime (which `cargo xtask setup` installs with pip), give
//! `ae encode --reconstructions`'s reconstructions and codes within 1e-5, the run's normalisation
//! built into the graph.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

#[test]
fn exported_onnx_files_run_in_onnxruntime_as_ae_does() {
    let py = common::venv_python("onnxruntime");
    let tmp = tempfile::tempdir().unwrap();
    for (name, extra) in [
        ("stacked-gelu", vec!["--activation", "gelu", "--normalize", "standard", "--likelihood", "mse"]),
        ("denoising-leaky", vec!["--model", "denoising", "--activation", "leaky_relu"]),
        ("vae", vec!["--model", "vae", "--normalize", "minmax"]),
        ("sparse-topk", vec!["--model", "sparse", "--sparsity", "topk:2", "--likelihood", "mse"]),
        ("sparse-kl", vec!["--model", "sparse", "--sparsity", "kl:0.05:0.1", "--activation", "tanh"]),
        ("conv-group", vec!["--body", "conv", "--conv-channels", "4,8", "--norm", "group:2"]),
        ("conv-vae", vec!["--model", "vae", "--body", "conv", "--conv-channels", "4,6,8"]),
        (
            "conv-sparse-nearest",
            vec![
                "--model",
                "sparse",
                "--body",
                "conv",
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
        common::train_tiny(&run, &[&["--epochs", "1"], extra.as_slice()].concat());
        let v = check_in_onnxruntime(&py, tmp.path(), name, &run);
        assert_eq!(v["rows"].as_u64(), Some(50), "{v}");
        let dims = if name.starts_with("conv") { 4 } else { 2 };
        assert_eq!(v["input_shape"].as_array().unwrap().len(), dims, "{v}");
        let vae = name.contains("vae");
        assert_eq!(v["encoder_outputs"][0].as_str(), Some(if vae { "log_var" } else { "code" }), "{v}");
    }
}

/// Exports `run`'s three parts, runs them in onnxruntime beside `ae encode --reconstructions`
/// and returns the script's figures, failing when a difference exceeds 1e-5.
fn check_in_onnxruntime(py: &Path, tmp: &Path, name: &str, run: &Path) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/onnx_check.py");
    let r = run.to_str().unwrap();
    let encoded = tmp.join(format!("{name}.safetensors"));
    common::ok(&["encode", "--run", r, "--out", encoded.to_str().unwrap(), "--reconstructions"]);
    let mut files = Vec::new();
    for part in ["autoencoder", "encoder", "decoder"] {
        let file = tmp.join(format!("{name}-{part}.onnx"));
        let said =
            common::ok(&["export", "--run", r, "--format", "onnx", "--part", part, "--out", file.to_str().unwrap()]);
        assert!(said.contains(&format!("the {part}, ")), "{said}");
        files.push(file);
    }
    let out = Command::new(py).arg(&script).arg(run).arg(&encoded).args(&files).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{name}: {stdout}");
    assert!(out.status.success(), "{name}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.trim()).unwrap()
}

#[test]
fn colour_images_and_tables_with_missing_cells_export_in_data_units() {
    let py = common::venv_python("onnxruntime");
    let tmp = tempfile::tempdir().unwrap();
    // 60 colour 12x16 images of smooth gradients.
    let images = tmp.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    for i in 0..60u32 {
        let img = image::RgbImage::from_fn(16, 12, |x, y| {
            image::Rgb([(x * 15 + i) as u8, (y * 20 + 2 * i) as u8, ((x + y) * 9) as u8])
        });
        img.save(images.join(format!("img-{i:02}.png"))).unwrap();
    }
    let run = tmp.path().join("colour");
    let said = common::train_on(
        &images,
        &run,
        &["--body", "conv", "--conv-channels", "4,8", "--code-dim", "6", "--epochs", "1"],
    );
    assert!(said.contains("test"), "{said}");
    let v = check_in_onnxruntime(&py, tmp.path(), "colour", &run);
    assert_eq!(v["input_shape"], serde_json::json!(["batch", 3, 12, 16]), "{v}");
    // 300 rows of 6 columns, every 7th cell of the first column missing.
    let mut csv = String::from("a,b,c,d,e,f\n");
    for i in 0..300 {
        let t = i as f64 / 30.0;
        let a = if i % 7 == 0 { String::new() } else { format!("{}", 50.0 + 10.0 * t.sin()) };
        csv += &format!("{a},{},{},{},{},{}\n", t.cos(), 3.0 * t, (2.0 * t).sin() * 100.0, i % 5, 1.0 / (1.0 + t));
    }
    let table = tmp.path().join("rows.csv");
    std::fs::write(&table, csv).unwrap();
    let run = tmp.path().join("table");
    let flags =
        ["--missing", "mean", "--normalize", "standard", "--likelihood", "mse", "--hidden", "8", "--code-dim", "3"];
    common::train_on(&table, &run, &[&flags[..], &["--epochs", "2"]].concat());
    let v = check_in_onnxruntime(&py, tmp.path(), "table", &run);
    assert_eq!(v["input_shape"], serde_json::json!(["batch", 6]), "{v}");
    assert!(v["missing"].as_u64().unwrap() > 0, "the test rows had missing cells for the graph to fill: {v}");
}

#[test]
fn onnx_export_refuses_bad_parts_and_unwritable_files_naming_them() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    common::train_tiny(&run, &["--epochs", "1"]);
    let r = run.to_str().unwrap();
    let err = common::fails(&["export", "--run", r, "--format", "onnx", "--part", "middle", "--out", "x.onnx"], 2);
    assert!(err.contains("unknown part \"middle\"; expected autoencoder, encoder or decoder"), "{err}");
    let err = common::fails(&["export", "--run", r, "--format", "tflite", "--out", "x"], 2);
    assert!(err.contains("expected one of onnx, saelens, sparsify"), "{err}");
    let err = common::fails(&["export", "--run", r, "--format", "saelens", "--part", "encoder", "--out", "x"], 2);
    assert!(err.contains("--part: encoder is not a part saelens files hold"), "{err}");
    let missing = tmp.path().join("no/such/folder/model.onnx");
    let err = common::fails(&["export", "--run", r, "--format", "onnx", "--out", missing.to_str().unwrap()], 1);
    assert!(err.contains(missing.to_str().unwrap()), "{err}");
}
