//! Helpers shared by the end-to-end tests: running the `ae` binary that cargo built for them.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The `ae` binary built for these tests.
pub fn ae() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ae"));
    cmd.env_remove("RAYON_NUM_THREADS");
    cmd
}

/// Runs `ae` with `args`, returning its output.
pub fn run(args: &[&str]) -> Output {
    ae().args(args).output().expect("the ae binary runs")
}

/// Runs `ae` and asserts success, returning stdout.
pub fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(out.status.success(), "ae {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `ae` and asserts it fails with `code`, returning stderr.
pub fn fails(args: &[&str], code: i32) -> String {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "ae {args:?}: stderr {stderr}");
    assert!(!stderr.contains("panicked"), "ae {args:?} panicked: {stderr}");
    stderr
}

/// `ae eval --run DIR --json` parsed.
pub fn eval_json(run: &Path, extra: &[&str]) -> serde_json::Value {
    let dir = run.to_str().expect("utf-8 path");
    let mut args = vec!["eval", "--run", dir, "--json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(&args)).expect("eval prints one JSON object")
}

/// The rows of a run's metrics.jsonl.
pub fn metrics(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .expect("metrics.jsonl exists")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

/// Trains a tiny stacked model on digits into `run` (400 training images, 16-4 widths, quiet;
/// with `--body conv` in `extra`, the conv body's own widths), with `extra` flags appended (others
/// than these, e.g. `--model`, `--epochs`), and asserts success.
pub fn train_tiny(run: &Path, extra: &[&str]) {
    let conv = extra.windows(2).any(|w| w == ["--body", "conv"]);
    let mut args = vec!["train", "--train-limit", "400", "--test-limit", "50"];
    if !conv {
        args.extend(["--hidden", "16"]);
    }
    args.extend(["--code-dim", "4", "--progress", "none", "--run-dir", run.to_str().expect("utf-8 path")]);
    args.extend_from_slice(extra);
    ok(&args);
}

/// Splits a shell line into words: spaces separate, double and single quotes group (no escapes).
pub fn shell_words(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quote, mut any) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, ' ') => {
                if any {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (_, c) => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// The commands of a shell block: lines joined across trailing backslashes, comments and blank
/// lines dropped, each split into words.
pub fn shell_commands(block: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in block.lines() {
        let code = line.trim().split(" #").next().unwrap_or("").trim();
        if let Some(head) = code.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        let full = format!("{pending}{code}");
        pending.clear();
        if !full.is_empty() && !full.starts_with('#') {
            out.push(shell_words(&full));
        }
    }
    out
}

/// The code blocks of a markdown text (the lines between fences), in order.
pub fn code_blocks(text: &str) -> Vec<String> {
    let (mut out, mut cur, mut inside) = (Vec::new(), String::new(), false);
    for line in text.lines() {
        if line.trim().starts_with("```") {
            if inside {
                out.push(std::mem::take(&mut cur));
            }
            inside = !inside;
        } else if inside {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    out
}

/// The first interpreter that imports `module`: Debian's `/usr/bin/python3` (which `apt-get
/// install python3-numpy` serves), then the `python3` on PATH. Panics naming what is missing when
/// none has it: a test that needs Python fails rather than skips (`cargo xtask setup` installs it).
pub fn python_with(module: &str) -> &'static str {
    let imports = |py: &str| {
        Command::new(py).args(["-c", &format!("import {module}")]).output().is_ok_and(|o| o.status.success())
    };
    ["/usr/bin/python3", "python3"].into_iter().find(|py| imports(py)).unwrap_or_else(|| {
        panic!(
            "no Python with {module}: neither /usr/bin/python3 nor python3 imports it \
             (Debian: apt-get install -y python3-{module}; `cargo xtask setup` does this)"
        )
    })
}

/// The Python of the virtual environment `cargo xtask setup` makes for PyPI packages Debian
/// lacks (`target/pyenv`: `safetensors`, `numpy`), checked to import `module`.
pub fn venv_python(module: &str) -> std::path::PathBuf {
    let py = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin/python");
    let ok = Command::new(&py).args(["-c", &format!("import {module}")]).output().is_ok_and(|o| o.status.success());
    assert!(ok, "{} cannot import {module}: run `cargo xtask setup`, which creates it with pip", py.display());
    py
}

/// `ae train --data DATA` into `run` with `extra` flags and no progress bar; its output.
pub fn train_on(data: &Path, run: &Path, extra: &[&str]) -> String {
    let (data, run) = (data.to_str().expect("utf-8 path"), run.to_str().expect("utf-8 path"));
    let mut args = vec!["train", "--data", data, "--progress", "none", "--run-dir", run];
    args.extend_from_slice(extra);
    ok(&args)
}

/// Runs `script` with the Python `py`, failing with its stderr when it fails.
pub fn python(py: impl AsRef<std::ffi::OsStr>, script: &str) {
    let out = Command::new(py).args(["-c", script]).output().expect("python runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Writes the first `n` test digits as 28x28 PNGs into `dir` and returns their pixels.
pub fn digits_as_png(dir: &Path, n: usize) -> Vec<Vec<u8>> {
    std::fs::create_dir_all(dir).unwrap();
    let data = ae::data::Dataset::load(&ae::data::DataConfig::default(), 0, &candle_core::Device::Cpu).unwrap();
    let images = data.test.images.narrow(0, 0, n).unwrap().to_vec2::<f32>().unwrap();
    images
        .iter()
        .enumerate()
        .map(|(i, img)| {
            let bytes: Vec<u8> = img.iter().map(|v| (v * 255.0).round() as u8).collect();
            image::GrayImage::from_raw(28, 28, bytes.clone())
                .unwrap()
                .save(dir.join(format!("digit-{i}.png")))
                .unwrap();
            bytes
        })
        .collect()
}
