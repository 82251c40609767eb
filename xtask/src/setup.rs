//! `cargo xtask setup` (and the first step of `cargo xtask ci`): installs what the tests need
//! beyond the Rust toolchain, so the test command passes on a fresh machine by itself. As root on
//! Debian it runs `apt-get update` once and `apt-get install -y` for what is missing; elsewhere it
//! stops at once and prints the exact command to run.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::bail;

use crate::sh;

/// Where Debian's `dataset-fashion-mnist` puts the files the real-data tests read.
const FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// The interpreters the Python tests try, in order (`tests/common` tries the same): Debian's
/// first, since `apt-get install python3-numpy` serves it and the `python3` first on PATH may be
/// another one.
const PYTHONS: [&str; 2] = ["/usr/bin/python3", "python3"];

/// One thing the tests need, how to tell it is there, and the Debian packages that bring it.
struct Need {
    what: &'static str,
    present: fn() -> bool,
    packages: &'static [&'static str],
}

/// Where Debian's `python3-sklearn` keeps the CSV tables the own-data tests read.
const SKLEARN_DATA: &str = "/usr/lib/python3/dist-packages/sklearn/datasets/data";

/// Where Debian's `python3-skimage` keeps the photographs the colour image tests cut up.
const SKIMAGE_DATA: &str = "/usr/lib/python3/dist-packages/skimage/data";

/// The virtual environment (inside `target/`, so `cargo clean` removes it) holding PyPI
/// packages Debian does not ship: the `safetensors` package, so the array tests read files
/// that Python's own writer made, onnxruntime, which runs the exported ONNX files, and
/// tensorboard, whose own reader checks the event files.
/// `tests/common::venv_python` uses the same path.
const VENV: &str = "target/pyenv";

/// What [`VENV`] holds, as pip names it.
const VENV_PACKAGES: [&str; 4] = ["safetensors", "numpy", "onnxruntime", "tensorboard"];

/// The imports that show [`VENV`] holds [`VENV_PACKAGES`].
const VENV_IMPORTS: &str = "import safetensors.numpy, numpy, onnxruntime, tensorboard";

const NEEDS: [Need; 5] = [
    Need {
        what: "Fashion-MNIST for the real-data tests",
        present: || Path::new(FASHION_MNIST).join("t10k-images-idx3-ubyte.gz").is_file(),
        packages: &["dataset-fashion-mnist"],
    },
    Need {
        what: "numpy, for the test that loads checkpoints outside ae",
        present: || python_with("numpy").is_some(),
        packages: &["python3-numpy"],
    },
    Need {
        what: "scikit-learn's bundled CSV tables (breast cancer, iris, wine) for the table tests",
        present: || Path::new(SKLEARN_DATA).join("breast_cancer.csv").is_file(),
        packages: &["python3-sklearn"],
    },
    Need {
        what: "scikit-image's photographs (astronaut, coffee, chelsea) for the colour image tests",
        present: || Path::new(SKIMAGE_DATA).join("astronaut.png").is_file(),
        packages: &["python3-skimage"],
    },
    Need {
        what: "OpenBLAS and pkg-config, so the tests cover the OpenBLAS backend too",
        present: || succeeds(Command::new("pkg-config").args(["--exists", "openblas"])),
        packages: &["libopenblas-dev", "pkg-config"],
    },
];

/// Runs the task.
pub fn run(_args: &[String]) -> anyhow::Result<()> {
    rust_components()?;
    let missing: Vec<&Need> = NEEDS.iter().filter(|n| !(n.present)()).collect();
    if missing.is_empty() {
        venv()?;
        eprintln!("xtask setup: everything the tests need is installed");
        return Ok(());
    }
    let packages: Vec<&str> = missing.iter().flat_map(|n| n.packages.iter().copied()).collect();
    for n in &missing {
        eprintln!("xtask setup: missing {} (Debian: {})", n.what, n.packages.join(" "));
    }
    if !can_apt() {
        bail!(
            "the tests need packages this machine lacks and xtask can install them only as root on Debian; run:\n  \
             sudo apt-get update && sudo apt-get install -y {}\nthen `cargo xtask ci` again",
            packages.join(" ")
        );
    }
    sh(Command::new("apt-get").args(["update", "-qq"]).env("DEBIAN_FRONTEND", "noninteractive"))?;
    sh(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    let still: Vec<&str> = missing.iter().filter(|n| !(n.present)()).map(|n| n.what).collect();
    if !still.is_empty() {
        bail!("installed {} but still missing: {}", packages.join(" "), still.join("; "));
    }
    venv()
}

/// Creates [`VENV`] with [`VENV_PACKAGES`] from PyPI unless it already imports them.
fn venv() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
    let dir = root.join(VENV);
    let python = dir.join("bin/python");
    let imports = || succeeds(Command::new(&python).args(["-c", VENV_IMPORTS]));
    if imports() {
        return Ok(());
    }
    eprintln!("xtask setup: creating {} with {} (pip, from PyPI)", dir.display(), VENV_PACKAGES.join(" "));
    let base =
        PYTHONS.into_iter().find(|py| succeeds(Command::new(py).args(["-c", "import venv, ensurepip"]))).ok_or_else(
            || anyhow::anyhow!("no Python with venv and ensurepip to create {}: install python3-venv", dir.display()),
        )?;
    sh(Command::new(base).args(["-m", "venv"]).arg(&dir))?;
    sh(Command::new(dir.join("bin/pip")).args(["install", "-q", "--disable-pip-version-check"]).args(VENV_PACKAGES))?;
    if !imports() {
        bail!("{}: pip installed {} but `{VENV_IMPORTS}` still fails", dir.display(), VENV_PACKAGES.join(" "));
    }
    Ok(())
}

/// The first interpreter in [`PYTHONS`] that imports `module`.
fn python_with(module: &str) -> Option<&'static str> {
    PYTHONS.into_iter().find(|py| succeeds(Command::new(py).args(["-c", &format!("import {module}")])))
}

/// rustfmt and clippy, which `cargo xtask ci` runs; rustup adds them where it manages the toolchain.
fn rust_components() -> anyhow::Result<()> {
    let has = |tool: &str| succeeds(Command::new(env!("CARGO")).args([tool, "--version"]));
    if has("fmt") && has("clippy") {
        return Ok(());
    }
    if succeeds(Command::new("rustup").arg("--version")) {
        sh(Command::new("rustup").args(["component", "add", "rustfmt", "clippy"]))?;
    }
    if !(has("fmt") && has("clippy")) {
        bail!("`cargo xtask ci` needs rustfmt and clippy: run `rustup component add rustfmt clippy`");
    }
    Ok(())
}

/// Root on a machine with apt-get.
fn can_apt() -> bool {
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    root && succeeds(Command::new("apt-get").arg("--version"))
}

fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}
