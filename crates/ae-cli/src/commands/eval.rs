//! `ae eval`: test metrics of a trained run, as a table or one JSON object.

use ae_train::{denoising_scores, evaluate_with_noise, importance_weighted_nll};
use serde_json::{Value, json};

use super::{OpenRun, check_input_size, load_run, sparse_report};
use crate::args::EvalArgs;
use crate::exit::usage;

/// Runs `ae eval`.
pub fn run(a: &EvalArgs) -> anyhow::Result<()> {
    if a.test_limit == Some(0) {
        return Err(usage("--test-limit must be at least 1"));
    }
    let dev = a.on.device.open()?;
    let OpenRun { config: mut cfg, model, weights, step, .. } = load_run(&a.on.run, a.on.checkpoint, &dev)?;
    a.data.apply(&mut cfg.data);
    if let Some(n) = a.test_limit {
        cfg.data.test_limit = Some(n);
    }
    // The validation split is carved as in training, so the training split (whose last rows a
    // sparse run's dead_fraction is measured on) is the one training saw.
    let data = ae_run::load_run_data(&a.on.run, &cfg.data, cfg.train.seed, &dev)?;
    check_input_size(&*model, &data)?;
    // A denoising run's loss is its own objective: rebuilding clean images from noisy ones.
    let test = evaluate_with_noise(&*model, &data.test, cfg.train.batch_size, cfg.train.seed, cfg.train.noise)?;
    let noise = a.noise.or(cfg.train.noise);
    if a.sweep && noise.is_none() {
        return Err(usage(format!(
            "--sweep: the run's model ({}) was trained without noise; name a kind to sweep with --noise, e.g. --noise gaussian:0.5",
            cfg.model.kind()
        )));
    }
    let scores = noise
        .map(|n| denoising_scores(&*model, &data.test, cfg.train.batch_size, cfg.train.seed, n).map(|s| (n, s)))
        .transpose()?;
    let input_dim = model.input_dim() as f64;
    let mut out = json!({
        "run": a.on.run.display().to_string(),
        "model": cfg.model.kind(),
        "weights": weights.name(),
        "step": step,
        "dataset": data.name,
        "split": "test",
        "examples": data.test.len(),
        "recon_loss": model.recon_loss().name(),
        "loss": test.total,
        "recon_per_example": test.recon,
        "recon_per_pixel": test.recon / input_dim,
    });
    if let Some(kl) = test.kl {
        // The negative ELBO with beta = 1, per example in nats, whatever beta trained the model.
        out["kl"] = json!(kl);
        out["recon"] = json!(test.recon);
        out["neg_elbo"] = json!(test.recon + kl);
    }
    out["likelihood"] = json!(cfg.model.likelihood.to_string());
    let nll_iw = match a.iw_samples {
        Some(k) => match importance_weighted_nll(&*model, &data.test, k, cfg.train.seed)? {
            Some(v) => Some((k, v)),
            None => {
                return Err(usage(format!(
                    "--iw-samples: the run's model is {} with the {} likelihood; the importance-weighted \
                     likelihood needs a model with a density (a vae whose likelihood is not mse)",
                    cfg.model.kind(),
                    cfg.model.likelihood
                )));
            }
        },
        None => None,
    };
    if let Some((k, v)) = nll_iw {
        out["nll_iw"] = json!(v);
        out["iw_samples"] = json!(k);
    }
    if let Some((n, d)) = scores {
        out["noise"] = json!(n.to_string());
        out["mse_noisy"] = json!(d.mse_noisy);
        out["mse_denoised"] = json!(d.mse_denoised);
        out["psnr_noisy"] = json!(d.psnr_noisy);
        out["psnr_denoised"] = json!(d.psnr_denoised);
    }
    if let (true, Some(base)) = (a.sweep, noise) {
        let rows = sweep(&*model, &data.test, &cfg, base, &a.on.run)?;
        out["sweep"] = json!(rows);
    }
    if let Some(s) = test.sparsity {
        out["sparsity"] = json!(s);
    }
    let sparse = sparse_report(&*model, &cfg, &data)?;
    if let Some(fields) = &sparse {
        for (k, v) in fields {
            out[k] = v.clone();
        }
    }
    let compression =
        if a.compression { Some(super::compression::report(&*model, &data.test, data.shape.tile())?) } else { None };
    if let Some(Value::Object(fields)) = &compression {
        for (k, v) in fields {
            out[k] = v.clone();
        }
    }
    if a.json {
        println!("{out}");
    } else {
        println!("{} on {} test ({} examples, {weights} weights)", cfg.model.kind(), data.name, data.test.len());
        println!("  loss               {:.4} per example", test.total);
        println!("  recon_per_example  {:.4} ({} summed over pixels)", test.recon, model.recon_loss().name());
        println!("  recon_per_pixel    {:.6}", test.recon / input_dim);
        if let Some(kl) = test.kl {
            println!("  kl                 {kl:.4} nats per example");
            println!("  neg_elbo           {:.4} nats per example", test.recon + kl);
        }
        if let Some((n, d)) = scores {
            println!("  noise              {n}");
            println!("  psnr_noisy         {:.2} dB (mse {:.5})", d.psnr_noisy, d.mse_noisy);
            println!("  psnr_denoised      {:.2} dB (mse {:.5})", d.psnr_denoised, d.mse_denoised);
        }
        if let Some(fields) = &sparse {
            for key in ["mean_activation", "l0", "fvu", "dead_fraction"] {
                println!("  {key:<18} {:.4}", fields[key].as_f64().unwrap_or(f64::NAN));
            }
        }
        if let Some((k, v)) = nll_iw {
            println!("  nll_iw             {v:.4} nats per example ({k} importance samples)");
        }
        if let Some(c) = &compression {
            super::compression::print(c);
        }
    }
    Ok(())
}

/// PSNR against the level of `base`'s kind on the test split: printed on stderr, written to the
/// run directory as `sweep.csv` and `sweep.png`, and returned for the JSON.
fn sweep(
    model: &dyn ae_core::Autoencoder,
    test: &ae_data::Split,
    cfg: &ae_run::RunConfig,
    base: ae_data::Noise,
    dir: &std::path::Path,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let levels = base.sweep_levels();
    let mut csv = String::from("noise,level,psnr_noisy,psnr_denoised,mse_noisy,mse_denoised\n");
    let (mut noisy, mut denoised, mut rows) = (Vec::new(), Vec::new(), Vec::new());
    eprintln!("{:<16} {:>10} {:>13}", "noise", "psnr_noisy", "psnr_denoised");
    for &level in &levels {
        let n = base.with_level(level);
        let d = denoising_scores(model, test, cfg.train.batch_size, cfg.train.seed, n)?;
        eprintln!("{:<16} {:>7.2} dB {:>10.2} dB", n.to_string(), d.psnr_noisy, d.psnr_denoised);
        csv.push_str(&format!(
            "{},{level},{},{},{},{}\n",
            n.kind(),
            d.psnr_noisy,
            d.psnr_denoised,
            d.mse_noisy,
            d.mse_denoised
        ));
        noisy.push(d.psnr_noisy);
        denoised.push(d.psnr_denoised);
        rows.push(
            json!({"noise": n.to_string(), "level": level, "psnr_noisy": d.psnr_noisy, "psnr_denoised": d.psnr_denoised,
            "mse_noisy": d.mse_noisy, "mse_denoised": d.mse_denoised}),
        );
    }
    let run = ae_train::RunDir::new(dir);
    ae_train::checkpoint::atomic_write(&run.file("sweep.csv"), csv.as_bytes())?;
    let x_label = match base {
        ae_data::Noise::Gaussian { .. } => "sigma",
        _ => "p",
    };
    let labels = ae_run::plot::Labels { title: "PSNR against the noise level", x: x_label, y: "PSNR (dB)" };
    ae_run::plot::save_lines(
        &run.file("sweep.png"),
        &levels,
        &[("noisy", noisy), ("denoised", denoised)],
        &labels,
        false,
    )?;
    Ok(rows)
}
