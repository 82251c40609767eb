//! The README's tour runs: every `ae` command of its "A short tour" block is executed, in order,
//! in a scratch folder, and must succeed. To keep the test short, training runs 1 epoch (2 for
//! the resume) on 1,000 training and 200 test images; `cargo xtask download` (it writes into the
//! repository; `xtask`'s own tests cover it, against a loopback server and Debian's copy) and
//! `cargo xtask bench` (it needs PyTorch) are left out. Every other command runs as written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

/// The commands of the README block that follows `## A short tour`.
fn tour() -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let block = readme.split("## A short tour").nth(1).unwrap();
    let block = block.split("```sh").nth(1).unwrap().split("```").next().unwrap();
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in block.lines() {
        let code = line.split(" #").next().unwrap_or("").trim();
        if code.starts_with('#') || code.is_empty() {
            continue;
        }
        if let Some(head) = code.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        let full = format!("{pending}{code}");
        pending.clear();
        out.push(full.split_whitespace().map(|w| w.trim_matches('"').to_string()).collect());
    }
    out
}

/// The command as run here: `ae`'s arguments, or `None` with the reason it is left out.
fn adapt(words: &[String]) -> Result<Vec<String>, String> {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let mut args: Vec<String> = match w.as_slice() {
        ["target/release/ae", rest @ ..] => rest.iter().map(|s| s.to_string()).collect(),
        ["cargo", "xtask", "train", rest @ ..] => {
            std::iter::once("train").chain(rest.iter().copied()).map(String::from).collect()
        }
        ["cargo", "xtask", "download", ..] => {
            return Err("writes into the repository's data/ (xtask's own tests cover fetching from a loopback \
                        server, --from with Debian's copy, and the verification)"
                .into());
        }
        ["cargo", "xtask", "bench", ..] => return Err("needs PyTorch and a quarter of an hour".into()),
        ["cargo", "xtask", task, ..] => return Err(format!("cargo xtask {task}: not an ae command")),
        _ => return Err("not an ae command".into()),
    };
    if args.first().map(String::as_str) == Some("train") {
        let resume = args.iter().any(|a| a == "--resume");
        match args.iter().position(|a| a == "--epochs") {
            Some(i) => args[i + 1] = if resume { "2" } else { "1" }.into(),
            None => args.extend(["--epochs".into(), "1".into()]),
        }
        if !resume {
            args.extend(["--train-limit", "1000", "--test-limit", "200", "--progress", "none"].map(String::from));
        }
    }
    Ok(args)
}

#[test]
fn every_command_of_the_readme_tour_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // What the tour's commands read: the configs, a folder of digit PNGs and one noisy digit.
    std::fs::create_dir_all(tmp.path().join("configs")).unwrap();
    for e in std::fs::read_dir(root.join("configs")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, tmp.path().join("configs").join(p.file_name().unwrap())).unwrap();
    }
    let digits = ae::data::Dataset::load(&Default::default(), 0, &candle_core::Device::Cpu).unwrap();
    let images = digits.test.images.narrow(0, 0, 4).unwrap().to_vec2::<f32>().unwrap();
    std::fs::create_dir_all(tmp.path().join("my-digits")).unwrap();
    for (i, img) in images.iter().enumerate() {
        let bytes: Vec<u8> = img.iter().map(|v| (v * 255.0).round() as u8).collect();
        let png = image::GrayImage::from_raw(28, 28, bytes).unwrap();
        png.save(tmp.path().join("my-digits").join(format!("{i}.png"))).unwrap();
        if i == 0 {
            png.save(tmp.path().join("noisy.png")).unwrap();
        }
    }

    let (mut ran, mut left_out) = (0, Vec::new());
    for words in tour() {
        let args = match adapt(&words) {
            Ok(args) => args,
            Err(why) => {
                left_out.push(format!("{}: {why}", words.join(" ")));
                continue;
            }
        };
        let out = common::ae().args(&args).current_dir(tmp.path()).output().unwrap();
        assert!(
            out.status.success(),
            "README: `{}` (run as `ae {}`) failed:\n{}",
            words.join(" "),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    eprintln!("{ran} README commands ran; left out: {left_out:#?}");
    assert!(ran >= 20, "only {ran} commands ran");
    assert!(left_out.len() <= 3, "{left_out:?}");
    for file in ["runs/digits/loss.png", "runs/vae/samples.png", "runs/den/sweep.png", "clean.png", "rebuilt/0.png"] {
        assert!(tmp.path().join(file).is_file(), "{file} missing after the tour");
    }
}
