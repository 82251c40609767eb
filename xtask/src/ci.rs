//! `cargo xtask ci`: what CI checks, in the order that fails fastest, after installing what the
//! tests need (`setup`).

use std::process::Command;

use anyhow::{Context, bail};

use crate::{release_ae, root, setup, sh};

/// setup, fmt check, clippy with warnings as errors, the tests (on the OpenBLAS backend and, for
/// the fused kernels, on the pure-Rust one), the docs with warnings as errors, and the build a
/// fresh machine gets.
pub fn run(_args: &[String]) -> anyhow::Result<()> {
    setup::run(&[])?;
    let cargo = env!("CARGO");
    sh(Command::new(cargo).args(["fmt", "--all", "--check"]))?;
    sh(Command::new(cargo).args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    sh(Command::new(cargo).args(["test", "--workspace"]))?;
    // The workspace tests use OpenBLAS, which setup installed; the pure-Rust matrix products that
    // a machine without it gets are tested on their own.
    sh(Command::new(cargo).args(["test", "-p", "ae-core", "--lib", "fused"]).env("AE_MATMUL", "rust"))?;
    sh(Command::new(cargo).args(["doc", "--workspace", "--no-deps"]).env("RUSTDOCFLAGS", "-D warnings"))?;
    fresh_machine_build()?;
    eprintln!("xtask ci: all checks passed");
    Ok(())
}

/// What `cargo xtask train` does on a machine with only the Rust toolchain: pkg-config is made to
/// find nothing, the release build must fall back to the pure-Rust products, say so, and train.
fn fresh_machine_build() -> anyhow::Result<()> {
    let tmp = root().join("target").join("xtask-fresh");
    let empty = tmp.join("no-pkg-config");
    let run_dir = tmp.join("run");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).with_context(|| format!("removing {}", tmp.display()))?;
    }
    std::fs::create_dir_all(&empty).with_context(|| format!("creating {}", empty.display()))?;
    sh(Command::new(env!("CARGO"))
        .args(["build", "--release", "--bin", "ae"])
        .env("PKG_CONFIG_LIBDIR", &empty)
        .env("PKG_CONFIG_PATH", ""))?;
    let ae = release_ae();
    let version = Command::new(&ae).arg("--version").output().context("running ae --version")?;
    let version = String::from_utf8_lossy(&version.stdout);
    if !version.contains("pure Rust") {
        bail!("the build without OpenBLAS should report pure-Rust products, but `ae --version` said {version:?}");
    }
    let out = Command::new(&ae)
        .args(["train", "--epochs", "1", "--progress", "lines", "--run-dir"])
        .arg(&run_dir)
        .current_dir(root())
        .output()
        .context("running ae train")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprint!("{stderr}");
    let first = stderr.lines().next().unwrap_or("");
    if !out.status.success() || !first.contains("pure Rust") || !run_dir.join("model.safetensors").is_file() {
        bail!("one epoch of the default model on the pure-Rust build failed ({}): {first}", out.status);
    }
    std::fs::remove_dir_all(&tmp).with_context(|| format!("removing {}", tmp.display()))?;
    eprintln!("xtask ci: {}", version.trim());
    Ok(())
}
