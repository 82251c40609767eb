//! The likelihood is a part of every model: each kind trains with a likelihood it could not take
//! before (a stacked model with a learned Gaussian scale, a sparse one with a fixed Gaussian, a
//! VAE with the squared error), records it in its config, evaluates, and keeps its parameters.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[test]
fn every_kind_takes_every_likelihood() {
    let tmp = tempfile::tempdir().unwrap();
    for (model, likelihood) in
        [("stacked", "gaussian-learned"), ("sparse", "gaussian:0.5"), ("vae", "mse"), ("denoising", "bce")]
    {
        let run = tmp.path().join(model);
        let dir = run.to_str().unwrap();
        common::ok(&[
            "train",
            "--model",
            model,
            "--likelihood",
            likelihood,
            "--hidden",
            "16",
            "--code-dim",
            "4",
            "--train-limit",
            "300",
            "--test-limit",
            "50",
            "--epochs",
            "1",
            "--progress",
            "none",
            "--run-dir",
            dir,
        ]);
        let cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("config.json")).unwrap()).unwrap();
        // `bce` is another name of the Bernoulli likelihood.
        let written = if likelihood == "bce" { "bernoulli" } else { likelihood };
        assert_eq!(cfg["model"]["likelihood"].as_str(), Some(written), "{model}");
        let e = common::eval_json(&run, &[]);
        assert_eq!(e["likelihood"].as_str(), Some(written), "{model}");
        assert!(e["loss"].as_f64().unwrap().is_finite(), "{model}: {e}");
    }
    // The learned scale is the stacked model's parameter now, saved with the others.
    let weights = std::fs::read(tmp.path().join("stacked/model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&weights).unwrap();
    let names: Vec<&str> = st.names();
    assert!(names.contains(&"decoder.log_sigma"), "{names:?}");
    // The squared error is no density: a VAE trained with it has no importance-weighted bound.
    let vae = tmp.path().join("vae");
    let err = common::fails(&["eval", "--run", vae.to_str().unwrap(), "--iw-samples", "10"], 2);
    assert!(err.contains("--iw-samples: the run's model is vae with the mse likelihood"), "{err}");
}
