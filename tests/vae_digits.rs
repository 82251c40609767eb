//! The variational autoencoder end to end through the `ae` binary: pytorch/examples' defaults
//! (784-400-20, ReLU, Bernoulli, beta 1, Adam 1e-3, batch 128) on digits for 10 epochs reach a test
//! negative ELBO of at most 126 nats, reported with its parts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[test]
fn vae_on_digits_reaches_the_target_elbo() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("vae");
    let dir = run.to_str().unwrap();
    common::ok(&[
        "train",
        "--model",
        "vae",
        "--dataset",
        "digits",
        "--epochs",
        "10",
        "--run-dir",
        dir,
        "--progress",
        "none",
    ]);
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        cfg["model"],
        serde_json::json!({
            "preset": "vae",
            "body": { "kind": "dense", "input_dim": 784, "hidden": [400], "decoder_hidden": null, "activation": "relu" },
            "bottleneck": { "kind": "gaussian", "code_dim": 20, "beta": 1.0 },
            "likelihood": "bernoulli"
        })
    );
    let rows = common::metrics(&run);
    assert!(rows.iter().all(|r| r["train"]["kl"].as_f64().is_some_and(|k| k > 0.0)), "KL is logged every epoch");

    let eval = common::eval_json(&run, &[]);
    let (neg_elbo, recon, kl) =
        (eval["neg_elbo"].as_f64().unwrap(), eval["recon"].as_f64().unwrap(), eval["kl"].as_f64().unwrap());
    assert!((neg_elbo - (recon + kl)).abs() < 1e-3, "{eval}");
    assert!(kl > 1.0, "the code carries information: KL {kl}");
    assert!(neg_elbo <= 126.0, "test neg_elbo {neg_elbo} > 126");
    eprintln!("vae on digits, 10 epochs: neg_elbo {neg_elbo:.2} = recon {recon:.2} + kl {kl:.2}");

    // The importance-weighted bound on the first 500 test digits: K = 1 is the ELBO estimated on
    // one draw, and more draws tighten it.
    let limited = common::eval_json(&run, &["--test-limit", "500"]);
    let elbo_500 = limited["neg_elbo"].as_f64().unwrap();
    let nll: Vec<f64> = [1, 10, 100]
        .iter()
        .map(|k| {
            let e = common::eval_json(&run, &["--test-limit", "500", "--iw-samples", &k.to_string()]);
            assert_eq!(e["iw_samples"].as_u64(), Some(*k));
            e["nll_iw"].as_f64().unwrap()
        })
        .collect();
    eprintln!("nll_iw on 500 test digits for K = 1, 10, 100: {nll:?} (neg_elbo {elbo_500:.2})");
    assert!((nll[0] - elbo_500).abs() < 0.01 * elbo_500, "K = 1 estimates the ELBO: {nll:?} vs {elbo_500}");
    assert!(nll[0] >= nll[1] && nll[1] >= nll[2], "nll_iw must not increase with K: {nll:?}");
    assert!(nll[1] < elbo_500 && nll[2] < elbo_500, "nll_iw below neg_elbo: {nll:?} vs {elbo_500}");
    assert!(nll[2] > 0.5 * elbo_500, "a bound, not a collapse: {nll:?}");
    // The same figure twice: the draws come from the run's seed.
    let again = common::eval_json(&run, &["--test-limit", "500", "--iw-samples", "10"]);
    assert_eq!(again["nll_iw"].as_f64(), Some(nll[1]));
    let err = common::fails(&["eval", "--run", dir, "--iw-samples", "0"], 2);
    assert!(err.contains("\"0\" is not a whole number from 1 to 100000"), "{err}");
}

#[test]
fn kl_warmup_and_beta_are_recorded_and_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("vae");
    let dir = run.to_str().unwrap();
    let args = [
        "train",
        "--model",
        "vae",
        "--beta",
        "4",
        "--kl-warmup-steps",
        "10",
        "--train-limit",
        "500",
        "--epochs",
        "1",
        "--run-dir",
        dir,
        "--progress",
        "none",
    ];
    common::ok(&args);
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        (cfg["model"]["bottleneck"]["beta"].as_f64(), cfg["train"]["kl_warmup_steps"].as_u64()),
        (Some(4.0), Some(10))
    );
    let err = common::fails(&["train", "--model", "vae", "--beta", "nan"], 2);
    assert!(err.contains("\"nan\" is not a finite number"), "{err}");
    let err = common::fails(
        &["train", "--model", "vae", "--beta=-1", "--run-dir", tmp.path().join("x").to_str().unwrap()],
        2,
    );
    assert!(err.contains("model.beta: -1 is invalid; expected a finite number >= 0"), "{err}");
    let err = common::fails(&["train", "--model", "stacked", "--beta", "2"], 2);
    assert!(err.contains("--beta does not apply to --model stacked (plain code); it applies to --model vae"), "{err}");
}
