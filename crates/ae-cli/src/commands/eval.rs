//! `ae eval`: test metrics of a trained run, as a table or one JSON object.

use ae_data::Dataset;
use ae_train::{RunDir, evaluate};
use serde_json::json;

use super::{build_model, check_input_size};
use crate::args::{CheckpointChoice, EvalArgs};
use crate::config::RunConfig;
use crate::exit::usage;

/// Runs `ae eval`.
pub fn run(a: &EvalArgs) -> anyhow::Result<()> {
    let run = RunDir::new(&a.run);
    if !run.config().is_file() {
        return Err(usage(format!(
            "--run {}: no config.json there; expected a run directory made by `ae train`",
            a.run.display()
        )));
    }
    let mut cfg = RunConfig::load(&run.config())?;
    if let Some(d) = a.dataset {
        if d != cfg.data.dataset {
            cfg.data.data_dir = None;
        }
        cfg.data.dataset = d;
    }
    if let Some(dir) = &a.data_dir {
        cfg.data.data_dir = Some(dir.clone());
    }
    // Only the test split is scored; no need to carve a validation split.
    cfg.data.val_fraction = 0.0;
    let dev = a.device.open()?;
    let (model, params) = build_model(&cfg.model, cfg.train.seed, &dev)?;
    let (weights, path) = match a.checkpoint {
        CheckpointChoice::Best if run.best().is_file() => ("best", run.best()),
        _ => ("last", run.model()),
    };
    let meta = params.load(&path)?;
    let data = Dataset::load(&cfg.data, cfg.train.seed, &dev)?;
    check_input_size(&*model, &data)?;
    let test = evaluate(&*model, &data.test, cfg.train.batch_size, cfg.train.seed)?;
    let input_dim = model.input_dim() as f64;
    let mut out = json!({
        "run": a.run.display().to_string(),
        "model": cfg.model.kind(),
        "weights": weights,
        "step": meta.get("step").and_then(|s| s.parse::<u64>().ok()),
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
    }
    Ok(())
}
