//! Convolutional bodies through the binary: the default body reaches PyTorch's loss on digits,
//! a convolutional VAE samples, a convolutional denoiser beats the dense one on the same noise,
//! every tool reads a conv run, and geometries and flags that cannot work are refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{eval_json, fails, ok};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The network (conv 1->32->64, a 16-wide code) for 10 epochs of the 9,000 digits with
/// no validation carve, as the PyTorch script measured 0.111 per pixel; then every tool on it.
#[test]
fn the_default_conv_body_reaches_the_pytorch_loss_on_digits_and_every_tool_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("conv");
    ok(&[
        "train",
        "--body",
        "conv",
        "--code-dim",
        "16",
        "--epochs",
        "10",
        "--val-fraction",
        "0",
        "--progress",
        "none",
        "--run-dir",
        s(&run),
    ]);
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["model"]["body"]["kind"], "conv");
    assert_eq!(cfg["model"]["body"]["input"], serde_json::json!([1, 28, 28]));
    let recon = eval_json(&run, &[])["recon_per_pixel"].as_f64().unwrap();
    eprintln!("default conv body, digits, 10 epochs: test recon_per_pixel {recon:.5}");
    assert!(recon <= 0.115, "test recon_per_pixel {recon} above 0.115");

    let r = s(&run);
    let thr = ok(&["throughput", "--run", r, "--repeats", "1"]);
    assert!(thr.contains("images/s"), "{thr}");
    let codes = dir.path().join("codes.safetensors");
    ok(&["encode", "--run", r, "--out", s(&codes)]);
    let probe = ok(&["probe", "--run", r]);
    assert!(probe.contains("codes (  16 features)"), "{probe}");
    ok(&["interpolate", "--run", r, "--from", "0", "--to", "1"]);
    let anomaly = ok(&["anomaly", "--run", r, "--normal", "1"]);
    assert!(anomaly.contains("ROC AUC"), "{anomaly}");
    let aec = dir.path().join("digits.aec");
    let inputs = dir.path().join("in");
    common::digits_as_png(&inputs, 8);
    ok(&["compress", "--run", r, "--input", s(&inputs), "--out", s(&aec)]);
    let rebuilt = dir.path().join("rebuilt");
    ok(&["decompress", "--run", r, "--input", s(&aec), "--out", s(&rebuilt)]);
    assert!(std::fs::read_dir(&rebuilt).unwrap().count() > 0);
    for picture in ["reconstructions.png", "loss.png", "interp.png"] {
        assert!(run.join(picture).is_file(), "{picture} missing");
    }
}

/// A convolutional VAE trains (an untrained one scores about 543 nats), samples new digits and
/// rebuilds test digits.
#[test]
fn a_convolutional_vae_trains_and_samples() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("vae");
    ok(&[
        "train",
        "--model",
        "vae",
        "--body",
        "conv",
        "--code-dim",
        "16",
        "--epochs",
        "5",
        "--train-limit",
        "4000",
        "--progress",
        "none",
        "--run-dir",
        s(&run),
    ]);
    let v = eval_json(&run, &[]);
    let elbo = v["neg_elbo"].as_f64().unwrap();
    eprintln!("conv VAE, 16-wide code, 5 epochs of 4,000 digits: test -ELBO {elbo:.2} nats");
    assert!(elbo.is_finite() && elbo < 200.0, "{v}");
    ok(&["sample", "--run", s(&run)]);
    for picture in ["samples.png", "reconstructions.png"] {
        assert!(run.join(picture).is_file(), "{picture} missing");
    }
}

/// On the same Gaussian noise and data, the convolutional denoiser cleans better than the
/// dense one.
#[test]
fn the_convolutional_denoiser_beats_the_dense_one_on_the_same_noise() {
    let dir = tempfile::tempdir().unwrap();
    let mut psnr = Vec::new();
    for (name, body) in [("dense", vec!["--hidden", "512,256", "--code-dim", "64"]), ("conv", vec!["--body", "conv"])] {
        let run = dir.path().join(name);
        let mut args = vec![
            "train",
            "--model",
            "denoising",
            "--noise",
            "gaussian:0.5",
            "--epochs",
            "5",
            "--train-limit",
            "4000",
            "--progress",
            "none",
            "--run-dir",
            s(&run),
        ];
        args.extend(body);
        ok(&args);
        let v = eval_json(&run, &[]);
        eprintln!("{name} denoiser: PSNR {} dB noisy, {} dB denoised", v["psnr_noisy"], v["psnr_denoised"]);
        psnr.push(v["psnr_denoised"].as_f64().unwrap());
    }
    assert!(psnr[1] > psnr[0], "conv denoiser {} dB should beat the dense one's {} dB", psnr[1], psnr[0]);
}

#[test]
fn conv_geometries_and_flags_that_cannot_work_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("never");
    let base = ["train", "--epochs", "1", "--progress", "none", "--run-dir", s(&run)];
    let refused = |extra: &[&str], want: &str| {
        let args: Vec<&str> = base.iter().copied().chain(extra.iter().copied()).collect();
        let err = fails(&args, 2);
        assert!(err.contains(want), "{extra:?}: {err}");
        assert!(!run.exists(), "{extra:?} left a run directory");
    };
    refused(
        &["--body", "conv", "--conv-channels", "8,8,8", "--upsample", "nearest"],
        "model.body.channels[2]: a stage from 7x7 to 4x4 is invalid; expected sizes that upsampling by 2 maps back \
         exactly",
    );
    refused(
        &["--body", "conv", "--padding", "3"],
        "model.body.padding: 3 is invalid; expected less than the kernel (3)",
    );
    refused(&["--body", "conv", "--norm", "group:5"], "model.body.norm: group:5 is invalid");
    refused(
        &["--body", "conv", "--hidden", "64"],
        "--hidden does not apply to the conv body; it applies to --body dense",
    );
    refused(&["--kernel", "5"], "--kernel does not apply to the dense body; it applies to --body conv");
    refused(&["--body", "conv", "--norm", "batch"], "\"batch\" is not a normalisation; expected none or group:G");

    let table = dir.path().join("rows.csv");
    let rows: String = (0..40).map(|i| format!("{},{},{}\n", i, i * 2, i % 3)).collect();
    std::fs::write(&table, rows).unwrap();
    refused(&["--body", "conv", "--data", s(&table)], "--body conv: the data holds rows of 3 features, not images");
}
