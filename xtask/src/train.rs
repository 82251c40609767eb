//! `cargo xtask train`: builds the release `ae` and runs `ae train` with the given flags.

use std::process::Command;

use crate::{release_ae, root, sh};

/// Builds and trains; `ae train`'s exit code becomes ours.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    sh(Command::new(env!("CARGO")).args(["build", "--release", "--quiet", "--bin", "ae"]))?;
    let status = Command::new(release_ae()).arg("train").args(args).current_dir(root()).status()?;
    if !status.success() {
        std::process::exit(status.code().unwrap_or(1));
    }
    Ok(())
}
