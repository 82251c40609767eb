//! `ae anomaly`: scores every test image by how badly the model explains it (negative ELBO for a
//! VAE, the reconstruction loss otherwise) and reports the ROC AUC for telling the images of
//! other classes from those of the normal class.

use ae_data::Dataset;
use ae_train::anomaly::{anomaly_scores, roc_auc};
use serde_json::json;

use super::{check_input_size, load_run};
use crate::args::AnomalyArgs;
use crate::exit::usage;

/// Runs `ae anomaly`.
pub fn run(a: &AnomalyArgs) -> anyhow::Result<()> {
    let dev = a.on.device.open()?;
    let mut run = load_run(&a.on.run, a.on.checkpoint, &dev)?;
    let normal = match (a.normal, run.cfg.data.train_class) {
        (Some(c), _) if c > 9 => return Err(usage(format!("--normal {c}: expected a class from 0 to 9"))),
        (Some(c), _) | (None, Some(c)) => c,
        (None, None) => {
            return Err(usage(format!(
                "--normal: the run {} trained on every class; name the class to count as normal (0-9)",
                a.on.run.display()
            )));
        }
    };
    a.data.apply(&mut run.cfg.data);
    run.cfg.data.val_fraction = 0.0;
    run.cfg.data.train_class = None;
    if a.test_limit.is_some() {
        run.cfg.data.test_limit = a.test_limit;
    }
    let data = Dataset::load(&run.cfg.data, run.cfg.train.seed, &dev)?;
    check_input_size(&*run.model, &data)?;
    let (kind, scores) = anomaly_scores(&*run.model, &data.test, run.cfg.train.batch_size, run.cfg.train.seed)?;
    let anomalous: Vec<bool> = data.test.labels.iter().map(|&l| l != normal).collect();
    let auc = roc_auc(&scores, &anomalous);
    let mean = |want: bool| {
        let picked: Vec<f64> = scores.iter().zip(&anomalous).filter(|(_, a)| **a == want).map(|(s, _)| *s).collect();
        picked.iter().sum::<f64>() / picked.len().max(1) as f64
    };
    let n_anomalous = anomalous.iter().filter(|a| **a).count();
    let out = json!({
        "run": a.on.run.display().to_string(),
        "model": run.cfg.model.kind(),
        "dataset": data.name.name(),
        "normal_class": normal,
        "normal_name": data.name.class_names()[usize::from(normal)],
        "score": kind,
        "normal_examples": anomalous.len() - n_anomalous,
        "anomalous_examples": n_anomalous,
        "mean_score_normal": mean(false),
        "mean_score_anomalous": mean(true),
        "auroc": auc,
    });
    if a.json {
        println!("{out}");
        return Ok(());
    }
    println!(
        "{} test images of {}: {} normal (class {normal}, {}), {} anomalous",
        data.test.len(),
        data.name,
        anomalous.len() - n_anomalous,
        out["normal_name"].as_str().unwrap_or("?"),
        n_anomalous
    );
    println!(
        "score {}: mean {:.4} normal, {:.4} anomalous",
        out["score"].as_str().unwrap_or("?"),
        mean(false),
        mean(true)
    );
    match auc {
        Some(v) => println!("ROC AUC {v:.4}"),
        None => println!("ROC AUC undefined: the test images need both normal and anomalous ones"),
    }
    Ok(())
}
