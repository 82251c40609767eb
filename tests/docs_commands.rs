//! The docs cannot go stale against the command line: every `ae` command in a code block of the
//! README and `docs/` parses with the real argument parser (flags, values, specs), and
//! `docs/cli.md` has a section for every subcommand that names each of its flags.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use ae_cli::args::Cli;
use clap::{CommandFactory, Parser};

/// The markdown files users read.
fn docs() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut in_docs: Vec<_> = std::fs::read_dir(root.join("docs")).unwrap().map(|e| e.unwrap().path()).collect();
    in_docs.sort();
    files.extend(in_docs.into_iter().filter(|p| p.extension().is_some_and(|e| e == "md")));
    files.into_iter().map(|p| (p.display().to_string(), std::fs::read_to_string(&p).unwrap())).collect()
}

/// The `ae` commands in the code blocks of `text`: `target/release/ae`, `ae` and
/// `cargo xtask train` (which passes its flags to `ae train`) recognised.
fn commands(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for block in common::code_blocks(text) {
        for w in common::shell_commands(&block) {
            let args: Option<Vec<String>> = match w.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
                ["ae" | "target/release/ae", rest @ ..] => Some(rest.iter().map(|s| s.to_string()).collect()),
                ["cargo", "xtask", "train", rest @ ..] => {
                    Some(std::iter::once("train".to_string()).chain(rest.iter().map(|s| s.to_string())).collect())
                }
                _ => None,
            };
            out.extend(args);
        }
    }
    out
}

#[test]
fn every_ae_command_in_the_docs_parses() {
    let mut checked = 0;
    for (file, text) in docs() {
        for args in commands(&text) {
            let line = args.join(" ");
            if let Err(e) = Cli::try_parse_from(std::iter::once("ae".to_string()).chain(args)) {
                panic!("{file}: `ae {line}` does not parse:\n{e}");
            }
            checked += 1;
        }
    }
    eprintln!("{checked} commands parsed");
    assert!(checked >= 30, "only {checked} commands found in the docs");
}

#[test]
fn the_cli_reference_names_every_subcommand_and_flag() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let reference = std::fs::read_to_string(root.join("docs/cli.md")).unwrap();
    let sections: Vec<&str> = reference.split("\n## ").collect();
    for sub in Cli::command().get_subcommands() {
        let name = sub.get_name();
        let section = sections
            .iter()
            .find(|s| s.lines().next().is_some_and(|h| h.contains(&format!("`ae {name}`"))))
            .unwrap_or_else(|| panic!("docs/cli.md has no section for `ae {name}`"));
        for arg in sub.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if ["help", "version"].contains(&long) {
                continue;
            }
            assert!(section.contains(&format!("--{long}")), "docs/cli.md, `ae {name}`: --{long} is not described");
        }
    }
}
