//! Project automation, run as `cargo xtask <task>`: one file per task. xtask depends on none of
//! the ae crates; it shells out to cargo and the built `ae` binary.

mod bench;
mod bench_anomaly;
mod bench_sae;
mod ci;
mod cuda_build;
mod download;
mod setup;
mod train;

use anyhow::bail;

const HELP: &str = "\
usage: cargo xtask <task> [args]

tasks:
  download mnist|fashion-mnist [--dir DIR] [--mirror URL]... [--from DIR]
      fetch and verify a dataset into data/<name>/ (SHA-256 of the decompressed files)
  train [ae train flags]
      build the release `ae` binary and train (default: stacked autoencoder on digits)
  bench [--epochs N] [--threads 1,2] [--backend auto|openblas|rust] [--data-dir DIR] [--no-write]
      ae against the PyTorch reference, side by side, on the build the backend names (auto: what
      this machine's build chooses); writes that backend's section of docs/benchmarks.md
      (AE_BENCH_PYTHON names a Python with torch)
  bench anomaly [--epochs N] [--data-dir DIR] [--no-write]
      the one-class anomaly protocol on Fashion-MNIST (ROC AUC per class); writes docs/benchmarks.md
  bench sae-synthetic [--rows N] [--d-in D] [--latents L,L] [--k K] [--epochs N] [--threads 1,2] [--no-write]
      TopK SAEs on activations drawn from a known dictionary, ae against PyTorch: epoch time,
      memory, FVU, L0, dead fraction and how much of the true dictionary each recovers
  cuda-build
      a release `ae` with candle's CUDA backend for the device machine (nvcc 13.0 from PyPI's
      wheels, compute capability 90, stub libraries for the link) into target/cuda/dist; run it
      there with xtask/device/ae-cuda, check it with `bash xtask/device/check.sh`
  setup
      install what the tests need (as root on Debian; otherwise print the command to run)
  ci
      setup, fmt check, clippy -D warnings, tests on both matrix-product backends, docs with
      -D warnings, and the release build a machine without OpenBLAS gets, training one epoch
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("download") => download::run(&args[1..]),
        Some("train") => train::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("setup") => setup::run(&args[1..]),
        Some("ci") => ci::run(&args[1..]),
        Some("cuda-build") => cuda_build::run(&args[1..]),
        Some("-h" | "--help" | "help") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => Err(anyhow::anyhow!("unknown task {other:?}\n\n{HELP}")),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(if err.is::<Usage>() { 2 } else { 1 });
    }
}

/// A mistake in the task's arguments (exit code 2).
#[derive(Debug)]
struct Usage(String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// Fails with a usage error.
fn usage<T>(msg: impl Into<String>) -> anyhow::Result<T> {
    Err(Usage(msg.into()).into())
}

/// The workspace root (xtask lives one level below it).
fn root() -> std::path::PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// The release `ae` binary that `cargo build --release --bin ae` writes.
fn release_ae() -> std::path::PathBuf {
    root().join("target").join("release").join("ae")
}

/// Runs a command in the workspace root, failing if it fails.
fn sh(cmd: &mut std::process::Command) -> anyhow::Result<()> {
    eprintln!("$ {}", format_cmd(cmd));
    let status = cmd.current_dir(root()).status()?;
    if !status.success() {
        bail!("`{}` failed with {status}", format_cmd(cmd));
    }
    Ok(())
}

fn format_cmd(cmd: &std::process::Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
