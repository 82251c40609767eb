//! The sparse autoencoder end to end through the `ae` binary on digits (784-512-256-64 unless
//! said, 10 epochs): the default L1 weight at least halves the mean activation for at most 10%
//! more reconstruction loss; the KL penalty brings the mean activation near its target; TopK on an
//! overcomplete 1,024-unit code keeps exactly K units active and its auxiliary loss leaves fewer
//! dead units; the diagnostics, `features.png`, `ae encode` and `ae probe` work on its runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

fn train(run: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args =
        vec!["train", "--model", "sparse", "--epochs", "10", "--progress", "none", "--run-dir", run.to_str().unwrap()];
    args.extend_from_slice(extra);
    common::ok(&args);
    common::eval_json(run, &[])
}

fn num(v: &serde_json::Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or_else(|| panic!("no {k} in {v}"))
}

#[test]
fn the_default_l1_weight_halves_the_activation_for_little_reconstruction() {
    let tmp = tempfile::tempdir().unwrap();
    let dense = train(&tmp.path().join("l1-0"), &["--sparsity", "l1:0"]);
    let sparse = train(&tmp.path().join("l1"), &["--sparsity", "l1"]);
    let (a0, a1) = (num(&dense, "mean_activation"), num(&sparse, "mean_activation"));
    let (r0, r1) = (num(&dense, "recon_per_pixel"), num(&sparse, "recon_per_pixel"));
    eprintln!(
        "l1:0 mean_activation {a0:.4} recon/pixel {r0:.5}; l1 (default) {a1:.4} {r1:.5}; l0 {} vs {}",
        dense["l0"], sparse["l0"]
    );
    assert!(a1 <= 0.5 * a0, "mean activation {a1} vs {a0}");
    assert!(r1 <= 1.1 * r0, "recon {r1} vs {r0}");
    assert_eq!(sparse["sparsity_spec"].as_str(), Some("l1:0.1"));
    for key in ["l0", "fvu", "dead_fraction"] {
        let v = num(&sparse, key);
        assert!(v.is_finite() && v >= 0.0, "{key} {v}");
    }
    assert!(num(&sparse, "fvu") < 1.0, "the reconstructions explain some variance");
    assert!((num(&sparse, "explained_variance") - (1.0 - num(&sparse, "fvu"))).abs() < 1e-12, "{sparse}");
    // Uncentred, nmse divides by sum x^2 >= sum (x - mean)^2: never above fvu.
    let nmse = num(&sparse, "nmse");
    assert!(nmse > 0.0 && nmse <= num(&sparse, "fvu"), "nmse {nmse} vs fvu {}", num(&sparse, "fvu"));
    // The dead units are counted over the same training rows as `ae train` reports (8,100: the
    // digits' 9,000 training images less the validation split), not over all 9,000.
    assert_eq!(sparse["dead_window"].as_u64(), Some(8100), "{sparse}");

    // Pictures, codes and the probe on the sparse run.
    let run = tmp.path().join("l1");
    // 64 features in 8 rows of 8, at twice their size, 4 pixels apart, 10-pixel margins.
    assert_eq!(image::image_dimensions(run.join("features.png")).unwrap().0, 8 * 60 + 4 + 20);
    let density = image::open(run.join("feature_density.png")).unwrap().to_rgb8();
    let inked = density.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    assert!(inked > 2_000, "the feature-density histogram draws bars ({inked} non-white pixels)");
    let out = tmp.path().join("codes.safetensors");
    common::ok(&["encode", "--run", run.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let bytes = std::fs::read(&out).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.tensor("train.codes").unwrap().shape(), [9000, 64]);
    assert_eq!(st.tensor("test.codes").unwrap().shape(), [1000, 64]);
    assert_eq!(st.tensor("test.labels").unwrap().dtype(), safetensors::Dtype::U8);
    let probe: serde_json::Value =
        serde_json::from_str(&common::ok(&["probe", "--run", run.to_str().unwrap(), "--json"])).unwrap();
    let (codes, pixels) = (num(&probe, "probe_accuracy_codes"), num(&probe, "probe_accuracy_pixels"));
    eprintln!("probe accuracy: codes {codes:.4}, pixels {pixels:.4}");
    assert!(codes > 0.7 && pixels > 0.7, "{probe}");
}

#[test]
fn the_kl_penalty_reaches_its_target_activation() {
    let tmp = tempfile::tempdir().unwrap();
    let e = train(&tmp.path().join("kl"), &["--sparsity", "kl:0.05:3"]);
    let a = num(&e, "mean_activation");
    eprintln!("kl:0.05:3 mean_activation {a:.4}");
    assert!((a - 0.05).abs() <= 0.2 * 0.05, "mean activation {a}, target 0.05");
}

#[test]
fn topk_keeps_exactly_k_units_on_an_overcomplete_code() {
    let tmp = tempfile::tempdir().unwrap();
    let topk = ["--sparsity", "topk:32", "--hidden", "", "--code-dim", "1024", "--dead-window", "2000"];
    let plain = train(&tmp.path().join("topk"), &topk);
    let aux = train(&tmp.path().join("topk-aux"), &[&topk[..], &["--aux-k", "256"]].concat());
    for e in [&plain, &aux] {
        assert_eq!(num(e, "l0"), 32.0, "{e}");
        assert!((0.0..=1.0).contains(&num(e, "dead_fraction")));
    }
    eprintln!(
        "topk:32 on 1024 units: dead_fraction {} without the aux loss, {} with it",
        plain["dead_fraction"], aux["dead_fraction"]
    );
    // Measured 0.909 without and 0.758 with the auxiliary loss.
    assert!(num(&aux, "dead_fraction") < num(&plain, "dead_fraction"), "the aux loss revives units");
    assert_eq!(
        image::image_dimensions(tmp.path().join("topk").join("features.png")).unwrap().0,
        32 * 32 + 4 + 20,
        "1,024 features in rows of 32, at their own size"
    );
}

#[test]
fn bad_sparsity_specs_are_refused_naming_the_flag() {
    for (args, want) in [
        (vec!["--sparsity", "kl:0:1"], "rho 0 is outside (0, 1)"),
        (vec!["--sparsity", "l1:-1"], "the weight -1 is negative"),
        (vec!["--sparsity", "topk:0"], "K \"0\" is not a whole number >= 1"),
        (vec!["--sparsity", "topk:65"], "model.sparsity: topk:65 is invalid; expected K at most code_dim = 64"),
        (vec!["--sparsity", "l1", "--aux-k", "4"], "model.aux_k"),
    ] {
        let mut full = vec!["train", "--model", "sparse"];
        full.extend(args.iter().copied());
        let err = common::fails(&full, 2);
        assert!(err.contains(want), "{args:?}: {err}");
    }
    let err = common::fails(&["train", "--model", "stacked", "--sparsity", "l1"], 2);
    assert!(
        err.contains("--sparsity does not apply to --model stacked (plain code); it applies to --model sparse"),
        "{err}"
    );
}
