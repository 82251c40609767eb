//! `ae anomaly`: scores every test image by how badly the model explains it (negative ELBO for a
//! VAE, the reconstruction loss otherwise) and reports the ROC AUC for telling the images of
//! other classes from those of the normal class.

use ae_train::anomaly::{anomaly_scores, roc_auc};
use serde_json::json;

use super::{check_input_size, load_run};
use crate::args::AnomalyArgs;
use crate::exit::usage;

/// Runs `ae anomaly`.
pub fn run(a: &AnomalyArgs) -> anyhow::Result<()> {
    let dev = a.on.device.open()?;
    let mut run = load_run(&a.on.run, a.on.checkpoint, &dev)?;
    if a.normal.is_none() && run.config.data.train_class.is_none() {
        return Err(usage(format!(
            "--normal: the run {} trained on every class; name the class to count as normal (its index or name)",
            a.on.run.display()
        )));
    }
    let trained_on = run.config.data.train_class.clone();
    a.data.apply(&mut run.config.data);
    run.config.data.val_fraction = 0.0;
    run.config.data.train_class = None;
    if a.test_limit.is_some() {
        run.config.data.test_limit = a.test_limit;
    }
    let data = ae_run::load_run_data(&a.on.run, &run.config.data, run.config.train.seed, &dev)?;
    check_input_size(&*run.model, &data)?;
    let normal = match (&a.normal, trained_on) {
        (Some(value), _) => class_of("--normal", value, &data.classes)?,
        (None, Some(c)) => class_of("--train-class", &c.to_string(), &data.classes)?,
        (None, None) => unreachable!("refused above"),
    };
    let labels = data.test.require_labels("ae anomaly (to tell the normal class from the others)")?;
    let (kind, scores) = anomaly_scores(&*run.model, &data.test, run.config.train.batch_size, run.config.train.seed)?;
    let anomalous: Vec<bool> = labels.iter().map(|&l| l != normal).collect();
    let auc = roc_auc(&scores, &anomalous);
    let mean = |want: bool| {
        let picked: Vec<f64> = scores.iter().zip(&anomalous).filter(|(_, a)| **a == want).map(|(s, _)| *s).collect();
        picked.iter().sum::<f64>() / picked.len().max(1) as f64
    };
    let n_anomalous = anomalous.iter().filter(|a| **a).count();
    let out = json!({
        "run": a.on.run.display().to_string(),
        "model": run.config.model.kind(),
        "dataset": data.name,
        "normal_class": normal,
        "normal_name": data.class_name(normal),
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

/// The class `value` names: a class name or label value (any case), else an index.
fn class_of(flag: &str, value: &str, classes: &[String]) -> anyhow::Result<u32> {
    if classes.is_empty() {
        return Err(usage(format!("{flag} {value}: these examples have no labels, so no classes")));
    }
    ae_data::ClassRef::Name(value.to_string())
        .resolve(classes)
        .ok_or_else(|| usage(format!("{flag} {value}: expected {}", ae_data::ClassRef::expected(classes))))
}

#[cfg(test)]
mod tests {
    use super::class_of;

    #[test]
    fn a_class_is_named_by_index_or_by_name() {
        let fashion: Vec<String> = ["T-shirt/top", "Trouser", "Pullover"].map(String::from).to_vec();
        assert_eq!(class_of("--normal", "trouser", &fashion).unwrap(), 1);
        assert_eq!(class_of("--normal", "2", &fashion).unwrap(), 2);
        let err = class_of("--normal", "cat", &fashion).unwrap_err().to_string();
        assert_eq!(
            err,
            "--normal cat: expected a class from 0 to 2 or one of its names (T-shirt/top, Trouser, Pullover)"
        );
        let digits: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        let err = class_of("--normal", "12", &digits).unwrap_err().to_string();
        assert_eq!(err, "--normal 12: expected a class from 0 to 9");
    }
}
