//! Every file a command writes goes through one atomic writer, and a write that fails reaches the
//! exit code: a full disk used to leave 0-byte PNGs behind `ae denoise`, `ae interpolate` and
//! `ae decompress` reporting success, and a `.png.tmp` behind `ae sample`. The disk is made "full"
//! for the command alone with a file-size limit of 0 (`ulimit -f 0`, SIGXFSZ ignored), under
//! which every write fails as it would on a full disk.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

/// `ae ARGS` with writes failing; returns (exit code, stderr).
fn ae_on_a_full_disk(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new("sh")
        .args(["-c", "trap '' XFSZ; ulimit -f 0; exec \"$0\" \"$@\"", env!("CARGO_BIN_EXE_ae")])
        .args(args)
        .env_remove("RAYON_NUM_THREADS")
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Names of the files in `dir` (none when it does not exist).
fn files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut names: Vec<String> = entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

fn write_digit(path: &Path) {
    let img = image::GrayImage::from_fn(28, 28, |x, y| image::Luma([((x * 9 + y * 5) % 256) as u8]));
    img.save(path).unwrap();
}

#[test]
fn a_full_disk_fails_every_writing_command_and_leaves_no_partial_file() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    common::train_tiny(&run, &["--model", "vae", "--epochs", "1"]);
    let r = run.to_str().unwrap();
    let inputs = tmp.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    for i in 0..3 {
        write_digit(&inputs.join(format!("{i}.png")));
    }
    let aec = tmp.path().join("codes.aec");
    common::ok(&["compress", "--run", r, "--input", inputs.to_str().unwrap(), "--out", aec.to_str().unwrap()]);
    let before = files(&run);

    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let o = |name: &str| out.join(name).to_str().unwrap().to_string();
    let (one, folder, interp, sample, rebuilt, codes, aec2) =
        (o("clean.png"), o("clean"), o("interp.png"), o("s.png"), o("rebuilt"), o("codes.safetensors"), o("x.aec"));
    let first = inputs.join("0.png");
    let cases: Vec<Vec<&str>> = vec![
        vec!["denoise", "--run", r, "--input", first.to_str().unwrap(), "--output", &one],
        vec!["denoise", "--run", r, "--input", inputs.to_str().unwrap(), "--output", &folder],
        vec!["interpolate", "--run", r, "--from", "0", "--to", "1", "--steps", "4", "--out", &interp],
        vec!["sample", "--run", r, "--n", "4", "--out", &sample],
        vec!["decompress", "--run", r, "--input", aec.to_str().unwrap(), "--out", &rebuilt],
        vec!["encode", "--run", r, "--out", &codes],
        vec!["compress", "--run", r, "--input", inputs.to_str().unwrap(), "--out", &aec2],
    ];
    for args in cases {
        let (code, stderr) = ae_on_a_full_disk(&args);
        assert_eq!(code, Some(1), "ae {args:?} must fail on a full disk: {stderr}");
        assert!(stderr.contains("File too large"), "ae {args:?} failed for another reason: {stderr}");
        assert!(!stderr.contains("panicked"), "ae {args:?}: {stderr}");
        let mut left: Vec<String> = files(&out);
        for sub in ["clean", "rebuilt"] {
            left.extend(files(&out.join(sub)).into_iter().map(|f| format!("{sub}/{f}")));
        }
        assert!(left.iter().all(|f| f == "clean" || f == "rebuilt"), "ae {args:?} left {left:?}");
    }
    assert_eq!(files(&run), before, "the run directory is untouched");
}
