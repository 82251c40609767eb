//! The docs' commands run: every `ae` command of the README's "A short tour" block and of the
//! shell blocks in the guides (getting started, denoising, sparse, anomaly, conv, ecosystem) is executed, in
//! order, each document in its own scratch folder, and must succeed. To keep the test short,
//! training runs 1 epoch (2 for a resume) on 1,000 training and 200 test images. Left out, with
//! the reason printed: `cargo xtask download` (it writes into the repository; `xtask`'s own tests
//! cover it, against a loopback server and Debian's copy), `cargo xtask bench` (it needs
//! PyTorch), `cargo run --example` (the examples are built by every test run) and the fuzzing
//! commands (they need cargo-fuzz).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

/// The commands of a markdown text's shell blocks (only the block after `## A short tour` in the
/// README).
fn commands(file: &str, text: &str) -> Vec<Vec<String>> {
    let blocks: Vec<&str> = if file == "README.md" {
        let tour = text.split("## A short tour").nth(1).unwrap();
        vec![tour.split("```sh").nth(1).unwrap().split("```").next().unwrap()]
    } else {
        text.split("```sh").skip(1).map(|b| b.split("```").next().unwrap()).collect()
    };
    blocks.iter().flat_map(|b| common::shell_commands(b)).collect()
}

/// The command as run here: `ae`'s arguments, or `None` with the reason it is left out.
fn adapt(words: &[String]) -> Result<Vec<String>, String> {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let mut args: Vec<String> = match w.as_slice() {
        ["target/release/ae" | "ae", rest @ ..] => rest.iter().map(|s| s.to_string()).collect(),
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
        ["cargo", "run", ..] => return Err("an example: built by every test run".into()),
        ["cargo", "install", ..] | ["cd", ..] | ["RUSTC_BOOTSTRAP=1", ..] => {
            return Err("fuzzing: needs cargo-fuzz (the corpus is replayed by tests/fuzz_corpus.rs)".into());
        }
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

/// A scratch folder with what the commands read: the configs, a folder of digit PNGs
/// (`my-digits/`) and one digit as `noisy.png`.
fn scratch(root: &Path) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
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
    tmp
}

#[test]
fn every_command_of_the_readme_tour_and_the_guides_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (mut ran, mut left_out) = (0, Vec::new());
    let docs = [
        "README.md",
        "docs/getting-started.md",
        "docs/denoising.md",
        "docs/sparse.md",
        "docs/anomaly.md",
        "docs/conv.md",
        "docs/ecosystem.md",
    ];
    for file in docs {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let tmp = scratch(root);
        for words in commands(file, &text) {
            let args = match adapt(&words) {
                Ok(args) => args,
                Err(why) => {
                    left_out.push(format!("{file}: {}: {why}", words.join(" ")));
                    continue;
                }
            };
            let out = common::ae().args(&args).current_dir(tmp.path()).output().unwrap();
            assert!(
                out.status.success(),
                "{file}: `{}` (run as `ae {}`) failed:\n{}",
                words.join(" "),
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            ran += 1;
        }
        if file == "README.md" {
            for made in [
                "runs/digits/loss.png",
                "runs/vae/samples.png",
                "runs/den/sweep.png",
                "clean.png",
                "rebuilt/0.png",
                "digits.onnx",
            ] {
                assert!(tmp.path().join(made).is_file(), "{made} missing after the README tour");
            }
        }
    }
    eprintln!("{ran} commands ran; left out: {left_out:#?}");
    assert!(ran >= 35, "only {ran} commands ran");
    assert!(left_out.len() <= 8, "{left_out:?}");
}
