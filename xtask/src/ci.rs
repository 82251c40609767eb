//! `cargo xtask ci`: what CI checks, in the order that fails fastest.

use std::process::Command;

use crate::sh;

/// fmt check, clippy with warnings as errors, the tests (with OpenBLAS and, for the fused kernels,
/// without), and the docs with warnings as errors.
pub fn run(_args: &[String]) -> anyhow::Result<()> {
    let cargo = env!("CARGO");
    sh(Command::new(cargo).args(["fmt", "--all", "--check"]))?;
    sh(Command::new(cargo).args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    sh(Command::new(cargo).args(["test", "--workspace"]))?;
    // The workspace tests link OpenBLAS (the `ae` binary's default); the pure-Rust matrix product
    // that library users get by default is tested on its own.
    sh(Command::new(cargo).args(["test", "-p", "ae-core", "--lib", "fused"]))?;
    sh(Command::new(cargo).args(["doc", "--workspace", "--no-deps"]).env("RUSTDOCFLAGS", "-D warnings"))?;
    eprintln!("xtask ci: all checks passed");
    Ok(())
}
