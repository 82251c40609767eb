//! Chooses the matrix-product backend when ae-core is built, so that a machine with nothing but
//! the Rust toolchain builds and one with OpenBLAS gets its speed, without the user's help:
//! OpenBLAS when pkg-config finds it, the pure-Rust `gemm` crate otherwise.
//!
//! `AE_MATMUL=openblas` (or the `openblas` feature) requires OpenBLAS and fails with the command
//! that installs it; `AE_MATMUL=rust` never looks for it. The choice reaches the code as the
//! `ae_openblas` cfg and, for `ae --version`, as `AE_MATMUL_BACKEND`.

use std::process::exit;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(ae_openblas)");
    println!("cargo::rerun-if-env-changed=AE_MATMUL");
    println!("cargo::rerun-if-changed=build.rs");
    watch_pkg_config_dirs();
    let choice = std::env::var("AE_MATMUL").unwrap_or_default();
    let required = match choice.as_str() {
        "" | "auto" => cfg!(feature = "openblas"),
        "openblas" => true,
        "rust" if cfg!(feature = "openblas") => {
            eprintln!("error: AE_MATMUL=rust contradicts the `openblas` feature of ae-core; drop one of them");
            exit(1);
        }
        "rust" => return pure_rust(),
        other => {
            eprintln!("error: AE_MATMUL={other:?} is not a backend; expected auto, openblas or rust");
            exit(1);
        }
    };
    match pkg_config::Config::new().atleast_version("0.3").probe("openblas") {
        Ok(lib) => {
            println!("cargo::rustc-cfg=ae_openblas");
            println!("cargo::rustc-env=AE_MATMUL_BACKEND=OpenBLAS {}", lib.version);
        }
        Err(e) if required => {
            eprintln!(
                "error: OpenBLAS was required (AE_MATMUL=openblas or the `openblas` feature) but \
                 pkg-config did not find it ({e}).\n\
                 Install it (Debian/Ubuntu: `apt-get install -y libopenblas-dev pkg-config`), or \
                 build without the requirement: ae then uses its pure-Rust matrix products."
            );
            exit(1);
        }
        Err(_) => pure_rust(),
    }
}

/// Makes cargo look again when OpenBLAS is installed or removed after a build: a change to any
/// folder pkg-config searches reruns this script (the pkg-config crate only watches variables).
fn watch_pkg_config_dirs() {
    let Ok(out) = std::process::Command::new("pkg-config").args(["--variable", "pc_path", "pkg-config"]).output()
    else {
        return;
    };
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    let extra = std::env::var("PKG_CONFIG_PATH").unwrap_or_default();
    for dir in listed.trim().split(':').chain(extra.split(':')) {
        if !dir.is_empty() && std::path::Path::new(dir).is_dir() {
            println!("cargo::rerun-if-changed={dir}");
        }
    }
}

fn pure_rust() {
    println!("cargo::rustc-env=AE_MATMUL_BACKEND=pure Rust (gemm crate)");
}
