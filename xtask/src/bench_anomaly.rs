//! `cargo xtask bench anomaly`: the one-class protocol on Fashion-MNIST. For each class and each
//! of the stacked, denoising and variational models: train on that class alone
//! (`ae train --train-class C`), score the whole test set (`ae anomaly`: reconstruction loss, or
//! negative ELBO for the VAE) and report the ROC AUC of telling the other nine classes from it.
//! Writes the table into docs/benchmarks.md between its own markers.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

use crate::bench::write_section;
use crate::{root, sh, usage};

/// The models compared: name and the `ae train` flags that make it.
const MODELS: [(&str, &[&str]); 3] = [
    ("stacked 784-512-256-64", &["--model", "stacked"]),
    ("denoising 784-512-256-64, gaussian:0.5", &["--model", "denoising", "--noise", "gaussian:0.5"]),
    ("vae 784-400-20", &["--model", "vae"]),
];

/// Runs the protocol.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut epochs = 10usize;
    let mut write = true;
    let mut data_dir = PathBuf::from("/usr/share/datasets/fashion-mnist");
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--epochs" => {
                epochs = match it.next().map(|v| v.parse::<usize>()) {
                    Some(Ok(n)) if n >= 1 => n,
                    _ => return usage("bench anomaly: --epochs expects a whole number >= 1"),
                }
            }
            "--data-dir" => match it.next() {
                Some(d) => data_dir = PathBuf::from(d),
                None => return usage("bench anomaly: --data-dir needs a value"),
            },
            "--no-write" => write = false,
            other => {
                return usage(format!(
                    "bench anomaly: unknown flag {other:?}; expected --epochs, --data-dir or --no-write"
                ));
            }
        }
    }
    if !data_dir.join("train-images-idx3-ubyte.gz").is_file() && !data_dir.join("train-images-idx3-ubyte").is_file() {
        bail!(
            "{}: no Fashion-MNIST there; `apt-get install dataset-fashion-mnist` or `cargo xtask download fashion-mnist`, or pass --data-dir",
            data_dir.display()
        );
    }
    sh(Command::new(env!("CARGO")).args(["build", "--release", "--quiet", "--bin", "ae"]))?;
    let ae = root().join("target/release/ae");
    let tmp = std::env::temp_dir().join(format!("ae-bench-anomaly-{}", std::process::id()));
    let (dir, data) = (tmp.to_string_lossy().into_owned(), data_dir.to_string_lossy().into_owned());
    let mut lines = Vec::new();
    for (name, flags) in MODELS {
        let mut aucs = Vec::new();
        for class in 0..10u8 {
            eprintln!("{name}: normal class {class}");
            let c = class.to_string();
            sh(Command::new(&ae)
                .args(["train", "--dataset", "fashion-mnist", "--data-dir", &data, "--train-class", &c])
                .args(["--epochs", &epochs.to_string(), "--progress", "none", "--run-dir", &dir, "--overwrite"])
                .args(flags)
                .stdout(std::process::Stdio::null()))?;
            let out = Command::new(&ae).args(["anomaly", "--run", &dir, "--json"]).output()?;
            let v: serde_json::Value =
                serde_json::from_slice(&out.stdout).with_context(|| format!("ae anomaly on class {class}"))?;
            let auc = v["auroc"].as_f64().with_context(|| format!("no auroc in {v}"))?;
            eprintln!("  ROC AUC {auc:.4}");
            aucs.push(auc);
        }
        let mean = aucs.iter().sum::<f64>() / aucs.len() as f64;
        let cells: Vec<String> = aucs.iter().map(|a| format!("{a:.3}")).collect();
        lines.push(format!("| {name} | {} | **{mean:.3}** |", cells.join(" | ")));
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let table = format!(
        "Command: `cargo xtask bench anomaly --epochs {epochs}` (data: `{data}`). Each model is trained on \
         the training images of one class only ({epochs} epochs, batch 128, Adam 1e-3, 10% held out for \
         validation and `best` weights), then scores all 10,000 test images: the reconstruction loss per \
         image (BCE, nats), or for the VAE the negative ELBO (nats, mean of 8 posterior draws). ROC AUC \
         for telling the other nine classes (anomalies) from the trained one; 0.5 is chance.\n\n\
         | model | {} | mean |\n| --- |{} --- |\n{}\n",
        (0..10).map(|c| format!("{c} {}", CLASS_NAMES[c])).collect::<Vec<_>>().join(" | "),
        " --- |".repeat(10),
        lines.join("\n")
    );
    println!("\n{table}");
    if write {
        write_section(&root().join("docs/benchmarks.md"), "xtask-bench-anomaly", &table)?;
        eprintln!("wrote docs/benchmarks.md");
    }
    Ok(())
}

/// Fashion-MNIST's classes.
const CLASS_NAMES: [&str; 10] =
    ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
