//! Who may write a run directory and what a fresh run leaves in it: one `ae train` at a time (a
//! lock the kernel releases when the process dies), `--overwrite` removing every file any command
//! wrote (one list), and a run killed during its first checkpoint resuming instead of being a
//! dead end, with the temporary files a kill left cleaned up.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn tiny(run: &Path, epochs: &str) -> Vec<String> {
    [
        "train",
        "--train-limit",
        "2000",
        "--test-limit",
        "50",
        "--hidden",
        "16",
        "--code-dim",
        "4",
        "--epochs",
        epochs,
        "--progress",
        "none",
        "--run-dir",
        run.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

fn with(mut args: Vec<String>, extra: &[&str]) -> Vec<String> {
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn a_second_writer_is_refused_while_the_first_trains_and_a_killed_writer_leaves_no_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let mut first = common::ae()
        .args(tiny(&run, "1000"))
        .env("RAYON_NUM_THREADS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !run.join("state.json").exists() {
        assert!(started.elapsed() < Duration::from_secs(120), "the first run never saved a checkpoint");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = first.id().to_string();
    for (epochs, extra) in [("1", "--overwrite"), ("1000", "--resume")] {
        let err = common::fails(&strs(&with(tiny(&run, epochs), &[extra])), 1);
        assert!(
            err.contains(&format!("--run-dir {}: process {pid} is training into this run directory", run.display())),
            "{extra}: {err}"
        );
    }
    // Readers run beside the writer.
    let eval = common::eval_json(&run, &[]);
    assert!(eval["examples"].as_u64().is_some(), "{eval}");

    first.kill().unwrap();
    first.wait().unwrap();
    common::ok(&strs(&with(tiny(&run, "1"), &["--overwrite"])));
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["epoch"].as_u64(), Some(1), "the overwriting run wrote the directory: {state}");
}

#[test]
fn overwrite_removes_every_picture_the_old_run_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let r = run.to_str().unwrap();
    let vae = ["--model", "vae", "--hidden", "16", "--code-dim", "2", "--train-limit", "400", "--test-limit", "50"];
    common::ok(&[&["train", "--epochs", "1", "--progress", "none", "--run-dir", r][..], &vae].concat());
    common::ok(&["interpolate", "--run", r, "--from", "0", "--to", "1", "--steps", "4"]);
    for name in ["samples.png", "latent.png", "manifold.png", "interp.png"] {
        assert!(run.join(name).is_file(), "the VAE run wrote {name}");
    }
    std::fs::write(run.join("notes.txt"), "mine").unwrap();
    common::train_tiny(&run, &["--epochs", "1", "--overwrite"]);
    for name in ["samples.png", "latent.png", "manifold.png", "interp.png"] {
        assert!(!run.join(name).exists(), "{name} of the old run survived --overwrite");
    }
    assert_eq!(std::fs::read_to_string(run.join("notes.txt")).unwrap(), "mine", "files ae did not write stay");
}

#[test]
fn a_run_killed_during_its_first_checkpoint_resumes_and_old_temporaries_go() {
    let tmp = tempfile::tempdir().unwrap();
    let done = tmp.path().join("done");
    common::train_tiny(&done, &["--epochs", "1"]);
    // What a SIGKILL during the first save leaves: the config, a temporary, no state.
    let run = tmp.path().join("run");
    std::fs::create_dir(&run).unwrap();
    std::fs::copy(done.join("config.json"), run.join("config.json")).unwrap();
    std::fs::write(run.join(".tmp-Ab12Cd"), vec![0u8; 4096]).unwrap();
    let out = common::run(&["train", "--resume", "--run-dir", run.to_str().unwrap(), "--progress", "none"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("no whole checkpoint") && stderr.contains("starting it over from step 0"), "{stderr}");
    assert!(run.join("model.safetensors").is_file() && run.join("state.json").is_file());
    assert!(!run.join(".tmp-Ab12Cd").exists(), "the temporary a kill left was removed");
    // The same directory without --resume is taken as empty once only a temporary is left.
    let fresh = tmp.path().join("fresh");
    std::fs::create_dir(&fresh).unwrap();
    std::fs::write(fresh.join(".tmp-Zz99"), b"x").unwrap();
    common::train_tiny(&fresh, &["--epochs", "1"]);
    assert!(!fresh.join(".tmp-Zz99").exists());
}

#[test]
fn every_file_a_command_writes_into_a_run_is_on_the_one_list() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut named = Vec::new();
    let mut stack = vec![root.join("crates/ae-cli/src"), root.join("crates/ae-run/src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for pattern in ["run.file(\"", ".run.join(\""] {
                for piece in text.split(pattern).skip(1) {
                    named.push((path.display().to_string(), piece.split('"').next().unwrap().to_string()));
                }
            }
        }
    }
    assert!(named.len() >= 10, "the scan found the writers: {named:?}");
    for (file, name) in named {
        assert!(ae::train::checkpoint::RUN_FILES.contains(&name.as_str()), "{file} writes {name}, not in RUN_FILES");
    }
}

#[test]
fn files_ae_writes_follow_the_umask_like_any_other_program() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let out = std::process::Command::new("sh")
        .args(["-c", "umask 022; exec \"$0\" \"$@\"", env!("CARGO_BIN_EXE_ae")])
        .args(strs(&tiny(&run, "1")))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Checkpoints used to be 0600 (the temporary file's mode) while the PNGs were 0644.
    for name in ["model.safetensors", "optimizer.safetensors", "state.json", "config.json", "loss.png", "metrics.csv"] {
        let mode = std::fs::metadata(run.join(name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{name}: {mode:o}");
    }
}

#[test]
fn resuming_a_cosine_run_with_more_epochs_says_the_rate_will_rise() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    common::ok(&strs(&with(tiny(&run, "1"), &["--schedule", "cosine"])));
    let out = common::run(&strs(&with(tiny(&run, "2"), &["--resume"])));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("note: --epochs 2 stretches the cosine schedule"), "{stderr}");
}
