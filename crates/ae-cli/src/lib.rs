//! The `ae` command line, as a library so the thin binary and the tests share it: argument
//! parsing, flags on top of a run config, run-directory locks, progress output and exit codes.
//! What a run directory holds (its config, pictures, the `.aec` codec) lives in `ae-run`, and all
//! maths in the crates below it.

// The argument structs' doc comments are clap's `--help` text, written for a terminal, not rustdoc.
#[allow(rustdoc::invalid_html_tags, rustdoc::broken_intra_doc_links)]
pub mod args;
pub mod body_flags;
pub mod commands;
pub mod config;
pub mod data_flags;
pub mod exit;
pub mod interrupt;
pub mod lock;
pub mod memory;
pub mod model_flags;
pub mod progress;
pub mod rundir;

use clap::Parser;

/// Runs `ae` with the process arguments and returns the exit code: 0 on success, 2 for usage or
/// configuration errors, 1 for data or runtime errors, 130 when Ctrl-C stopped training.
pub fn main() -> i32 {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { exit::OK };
            let _ = e.print();
            return code;
        }
    };
    match commands::run(cli) {
        Ok(()) => exit::OK,
        Err(err) => {
            eprintln!("error: {}", exit::render(&err));
            exit::code_for(&err)
        }
    }
}
