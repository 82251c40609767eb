//! The VAE's generative tools through the `ae` binary: the pictures training leaves (samples for
//! every VAE; latent and manifold plots for a 2-D code), `ae sample` (seeded, repeatable),
//! `ae interpolate`, the Gaussian likelihoods, and the errors each refuses with.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

fn png_size(path: &Path) -> (u32, u32) {
    image::image_dimensions(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn train(run: &Path, extra: &[&str]) {
    let mut args = vec!["train", "--model", "vae", "--train-limit", "1000", "--epochs", "1", "--progress", "none"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--run-dir", run.to_str().unwrap()]);
    common::ok(&args);
}

#[test]
fn a_two_dimensional_code_gets_samples_latent_and_manifold_pictures() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("v2");
    train(&run, &["--code-dim", "2"]);
    // 64 samples in an 8x8 grid of tiles shown at 56x56, 4 pixels apart, 10-pixel margins, under
    // a title; 20x20 tiles at their own size for the manifold.
    let grid = |n: u32, side: u32| n * (side + 4) + 4 + 20;
    let (w, h) = png_size(&run.join("samples.png"));
    assert!(w == grid(8, 56) && h > grid(8, 56) && h < grid(8, 56) + 40, "{w}x{h}");
    let (w, h) = png_size(&run.join("manifold.png"));
    assert!(w == grid(20, 28) && h > grid(20, 28) && h < grid(20, 28) + 60, "{w}x{h}");
    let latent = image::open(run.join("latent.png")).unwrap().to_rgb8();
    let coloured = latent.pixels().filter(|p| p.0[0] != p.0[1] || p.0[1] != p.0[2]).count();
    assert!(coloured > 1000, "the test codes are drawn in their label colours ({coloured} pixels)");

    // `ae sample` with the run's seed draws what training drew; another seed draws other codes.
    let dir = run.to_str().unwrap();
    let again = tmp.path().join("again.png");
    common::ok(&["sample", "--run", dir, "--checkpoint", "last", "--out", again.to_str().unwrap()]);
    let trained = std::fs::read(run.join("samples.png")).unwrap();
    assert_eq!(std::fs::read(&again).unwrap(), trained, "same seed, same samples");
    let other = tmp.path().join("other.png");
    common::ok(&["sample", "--run", dir, "--checkpoint", "last", "--seed", "5", "--out", other.to_str().unwrap()]);
    assert_ne!(std::fs::read(&other).unwrap(), trained);
    let nine = tmp.path().join("nine.png");
    common::ok(&["sample", "--run", dir, "--n", "9", "--out", nine.to_str().unwrap()]);
    let (w, h) = png_size(&nine);
    assert!(w >= grid(3, 56) && h > grid(3, 56) && h < grid(3, 56) + 40, "{w}x{h}");
}

#[test]
fn interpolation_decodes_the_line_between_two_test_images() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("v");
    train(&run, &[]);
    let dir = run.to_str().unwrap();
    let out = tmp.path().join("interp.png");
    let args = ["interpolate", "--run", dir, "--from", "3", "--to", "7", "--steps", "6", "--out"];
    common::ok(&[&args[..], &[out.to_str().unwrap()]].concat());
    // The two originals around the 6 decoded points, in one row of 56x56 tiles (with a title and
    // a note).
    let (w, h) = png_size(&out);
    assert!(w >= 8 * 60 + 4 + 20 && h > 60 + 4 + 20 && h < 2 * 60 + 40, "{w}x{h}");
    let err = common::fails(&["interpolate", "--run", dir, "--from", "0", "--to", "1000"], 2);
    assert!(err.contains("--to 1000: the digits test split has 1000 images (0..999)"), "{err}");
    let err = common::fails(&["interpolate", "--run", dir, "--from", "0", "--to", "1", "--steps", "1"], 2);
    assert!(err.contains("--steps 1: expected between 2 and 100"), "{err}");
}

#[test]
fn gaussian_likelihoods_train_and_report_themselves() {
    let tmp = tempfile::tempdir().unwrap();
    for (spec, extra_param) in [("gaussian:0.1", None), ("gaussian-learned", Some("decoder.log_sigma"))] {
        let run = tmp.path().join(spec.replace(':', "-"));
        train(&run, &["--likelihood", spec]);
        let cfg: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
        assert_eq!(cfg["model"]["likelihood"], spec);
        let eval = common::eval_json(&run, &["--test-limit", "100", "--iw-samples", "5"]);
        assert_eq!(eval["likelihood"], spec);
        assert!(eval["neg_elbo"].as_f64().unwrap().is_finite() && eval["nll_iw"].as_f64().unwrap().is_finite());
        let bytes = std::fs::read(run.join("model.safetensors")).unwrap();
        let names = safetensors::SafeTensors::deserialize(&bytes).unwrap().names().len();
        assert_eq!(names, 10 + usize::from(extra_param.is_some()), "{spec}: parameters");
    }
}

#[test]
fn generative_tools_refuse_what_they_cannot_do() {
    let tmp = tempfile::tempdir().unwrap();
    let stacked = tmp.path().join("s");
    common::ok(&[
        "train",
        "--train-limit",
        "500",
        "--epochs",
        "1",
        "--progress",
        "none",
        "--run-dir",
        stacked.to_str().unwrap(),
    ]);
    let dir = stacked.to_str().unwrap();
    let err = common::fails(&["sample", "--run", dir], 2);
    assert!(err.contains("the model is stacked; sampling needs a model with a prior (--model vae)"), "{err}");
    let err = common::fails(&["eval", "--run", dir, "--iw-samples", "10"], 2);
    assert!(err.contains("--iw-samples: the run's model is stacked"), "{err}");
    let err = common::fails(&["sample", "--run", tmp.path().join("nothing").to_str().unwrap()], 2);
    assert!(err.contains("no config.json there"), "{err}");
    let err = common::fails(&["train", "--model", "vae", "--likelihood", "gaussian:0"], 2);
    assert!(err.contains("not a finite number > 0"), "{err}");
}

#[test]
fn the_vae_decoder_takes_its_own_shape() {
    // --decoder-hidden used to be refused for the VAE ("its decoder mirrors --hidden").
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    common::train_tiny(&run, &["--model", "vae", "--epochs", "1", "--decoder-hidden", "8,32"]);
    let cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["model"]["body"]["decoder_hidden"], serde_json::json!([8, 32]));
    let names = safetensors::SafeTensors::deserialize(&std::fs::read(run.join("model.safetensors")).unwrap())
        .unwrap()
        .names()
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    for (name, present) in [("decoder.layers.2.weight", true), ("decoder.layers.3.weight", false)] {
        assert_eq!(names.contains(&name.to_string()), present, "{name} in {names:?}");
    }
    let e = common::eval_json(&run, &[]);
    assert!(e["neg_elbo"].as_f64().unwrap().is_finite(), "{e}");
}
