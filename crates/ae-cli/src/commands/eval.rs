//! `ae eval`: test metrics of a trained run, as a table or one JSON object.

use ae_data::Dataset;
use ae_train::{evaluate, importance_weighted_nll};
use serde_json::json;

use super::{LoadedRun, check_input_size, load_run};
use crate::args::EvalArgs;
use crate::exit::usage;

/// Runs `ae eval`.
pub fn run(a: &EvalArgs) -> anyhow::Result<()> {
    if a.test_limit == Some(0) || a.iw_samples == Some(0) {
        return Err(usage("--test-limit and --iw-samples must be at least 1"));
    }
    let dev = a.device.open()?;
    let LoadedRun { mut cfg, model, weights, step } = load_run(&a.run, a.checkpoint, &dev)?;
    if let Some(d) = a.dataset {
        if d != cfg.data.dataset {
            cfg.data.data_dir = None;
        }
        cfg.data.dataset = d;
    }
    if let Some(dir) = &a.data_dir {
        cfg.data.data_dir = Some(dir.clone());
    }
    if let Some(n) = a.test_limit {
        cfg.data.test_limit = Some(n);
    }
    // Only the test split is scored; no need to carve a validation split.
    cfg.data.val_fraction = 0.0;
    let data = Dataset::load(&cfg.data, cfg.train.seed, &dev)?;
    check_input_size(&*model, &data)?;
    let test = evaluate(&*model, &data.test, cfg.train.batch_size, cfg.train.seed)?;
    let input_dim = model.input_dim() as f64;
    let mut out = json!({
        "run": a.run.display().to_string(),
        "model": cfg.model.kind(),
        "weights": weights,
        "step": step,
        "dataset": cfg.data.dataset.name(),
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
        if let ae_models::ModelConfig::Vae(v) = &cfg.model {
            out["likelihood"] = json!(v.likelihood.to_string());
        }
    }
    let nll_iw = match a.iw_samples {
        Some(k) => match importance_weighted_nll(&*model, &data.test, k, cfg.train.seed)? {
            Some(v) => Some((k, v)),
            None => {
                return Err(usage(format!(
                    "--iw-samples: the run's model is {}; the importance-weighted likelihood needs a model with \
                     a density (vae)",
                    cfg.model.kind()
                )));
            }
        },
        None => None,
    };
    if let Some((k, v)) = nll_iw {
        out["nll_iw"] = json!(v);
        out["iw_samples"] = json!(k);
    }
    if let Some(s) = test.sparsity {
        out["sparsity"] = json!(s);
    }
    if a.json {
        println!("{out}");
    } else {
        println!("{} on {} test ({} examples, {weights} weights)", cfg.model.kind(), cfg.data.dataset, data.test.len());
        println!("  loss               {:.4} per example", test.total);
        println!("  recon_per_example  {:.4} ({} summed over pixels)", test.recon, model.recon_loss().name());
        println!("  recon_per_pixel    {:.6}", test.recon / input_dim);
        if let Some(kl) = test.kl {
            println!("  kl                 {kl:.4} nats per example");
            println!("  neg_elbo           {:.4} nats per example", test.recon + kl);
        }
        if let Some((k, v)) = nll_iw {
            println!("  nll_iw             {v:.4} nats per example ({k} importance samples)");
        }
    }
    Ok(())
}
