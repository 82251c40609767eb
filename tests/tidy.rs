//! Project hygiene checked on every test run: the crate layering of docs/architecture.md (read
//! from `cargo metadata`), no printing and no network in library crates, and every example config
//! loads.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// Each workspace package's normal (non-dev) dependencies among the workspace and on ureq.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut deps = BTreeMap::new();
    for pkg in meta["packages"].as_array().unwrap() {
        let names: BTreeSet<String> = pkg["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"].is_null())
            .map(|d| d["name"].as_str().unwrap().to_string())
            .filter(|n| n.starts_with("ae") || n == "ureq" || n == "xtask")
            .collect();
        deps.insert(pkg["name"].as_str().unwrap().to_string(), names);
    }
    deps
}

#[test]
fn crates_depend_only_downwards() {
    let deps = dependencies();
    let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(deps["ae-core"], set(&[]), "ae-core is the bottom layer");
    assert_eq!(deps["ae-models"], set(&["ae-core"]), "models know nothing of data or training");
    assert_eq!(deps["ae-data"], set(&["ae-core"]));
    assert_eq!(deps["ae-train"], set(&["ae-core", "ae-data"]), "the trainer never names a model");
    assert_eq!(deps["ae-run"], set(&["ae-core", "ae-data", "ae-models", "ae-train"]), "run directories sit on top");
    assert_eq!(deps["ae-cli"], set(&["ae-core", "ae-data", "ae-models", "ae-run", "ae-train"]));
    assert_eq!(deps["xtask"], set(&["ureq"]), "xtask shells out to cargo instead of linking ae");
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

#[test]
fn libraries_print_nothing() {
    for krate in ["ae-core", "ae-models", "ae-data", "ae-train", "ae-run"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates").join(krate).join("src");
        let files = rust_files(&dir);
        assert!(files.len() > 2, "{}: found {} files", dir.display(), files.len());
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            // Only code before the unit tests counts.
            let code = text.split("#[cfg(test)]").next().unwrap();
            for banned in ["println!", "eprintln!", "print!(", "dbg!("] {
                assert!(!code.contains(banned), "{} uses {banned}: progress goes through an observer", path.display());
            }
        }
    }
}

#[test]
fn unsafe_code_stays_in_the_matrix_product_files_and_the_file_map() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![root.join("src"), root.join("xtask"), root.join("examples"), root.join("tests")];
    dirs.extend(std::fs::read_dir(root.join("crates")).unwrap().map(|e| e.unwrap().path()));
    let allowed = [
        root.join("crates/ae-core/src/fused/gemm.rs"),
        root.join("crates/ae-core/src/fused/dense_avx512.rs"),
        // Mapping a file is unsafe by nature; the issue asks for memory-mapped shards.
        root.join("crates/ae-data/src/mapped.rs"),
    ];
    for dir in dirs {
        for path in rust_files(&dir) {
            let text = std::fs::read_to_string(&path).unwrap();
            // Spelled in two halves so this file does not match itself.
            let (block, allow) = (concat!("unsafe", " {"), concat!("allow(", "unsafe_code)"));
            if !allowed.contains(&path) {
                assert!(!text.contains(block) && !text.contains(allow), "{} uses unsafe", path.display());
            }
        }
    }
}

#[test]
fn example_configs_load_and_validate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let cfg = ae_run::RunConfig::load(&path).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
        cfg.validate().unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
        n += 1;
    }
    assert!(n >= 2, "configs/ holds the documented example runs");
}

#[test]
fn there_is_a_short_example_per_kind_and_one_that_loads_a_checkpoint() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for name in ["stacked", "vae", "denoising", "sparse", "embed"] {
        let path = dir.join(format!("{name}.rs"));
        let lines =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).lines().count();
        assert!(lines <= 100, "{}: {lines} lines; an example should stay under about 100", path.display());
    }
}
