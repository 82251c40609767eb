//! `ae anomaly`: scores every test example by how badly the model explains it (negative ELBO for
//! a VAE, the reconstruction loss otherwise), writes the scores and their histogram into the run
//! directory, and with labels reports the ROC AUC for telling the examples of other classes from
//! those of the normal class.

use ae_train::anomaly::{anomaly_scores, roc_auc};
use serde_json::json;

use super::{check_input_size, load_run};
use crate::args::AnomalyArgs;
use crate::exit::usage;

/// Runs `ae anomaly`.
pub fn run(a: &AnomalyArgs) -> anyhow::Result<()> {
    let dev = a.on.device.open()?;
    let mut run = load_run(&a.on.run, a.on.checkpoint, &dev)?;
    let trained_on = run.config.data.train_class.clone();
    a.data.apply(&mut run.config.data);
    run.config.data.val_fraction = 0.0;
    run.config.data.train_class = None;
    if a.test_limit.is_some() {
        run.config.data.test_limit = a.test_limit;
    }
    let data = ae_run::load_run_data(&a.on.run, &run.config.data, run.config.train.seed, &dev)?;
    check_input_size(&*run.model, &data)?;
    let labels = data.test.labels.as_deref();
    let normal = match (&a.normal, &trained_on, labels) {
        (Some(value), _, _) => Some(class_of("--normal", value, &data.classes)?),
        (None, Some(c), Some(_)) => Some(class_of("--train-class", &c.to_string(), &data.classes)?),
        (None, None, Some(_)) => {
            return Err(usage(format!(
                "--normal: the run {} trained on every class; name the class to count as normal (its index or name)",
                a.on.run.display()
            )));
        }
        (None, _, None) => None,
    };
    let (score_kind, scores) =
        anomaly_scores(&*run.model, &data.test, run.config.train.batch_size, run.config.train.seed)?;
    let kind = match score_kind {
        ae_train::ScoreKind::NegElbo => "neg_elbo",
        ae_train::ScoreKind::ReconLoss => "recon_loss",
    };
    let anomalous: Option<Vec<bool>> = normal.and_then(|n| labels.map(|l| l.iter().map(|&label| label != n).collect()));
    let written = write_scores(&a.on.run, &data, &scores, anomalous.as_deref(), kind)?;
    let mean_of = |want: Option<bool>| {
        let picked: Vec<f64> = scores
            .iter()
            .enumerate()
            .filter(|(i, _)| want.is_none() || anomalous.as_ref().map(|a| a[*i]) == want)
            .map(|(_, s)| *s)
            .collect();
        picked.iter().sum::<f64>() / picked.len().max(1) as f64
    };
    let mut out = json!({
        "run": a.on.run.display().to_string(),
        "model": run.config.model.kind(),
        "dataset": data.name,
        "score": kind,
        "examples": scores.len(),
        "mean_score": mean_of(None),
        "scores_csv": written[0],
        "histogram": written[1],
    });
    if let (Some(n), Some(flags)) = (normal, &anomalous) {
        let n_anomalous = flags.iter().filter(|a| **a).count();
        out["normal_class"] = json!(n);
        out["normal_name"] = json!(data.class_name(n));
        out["normal_examples"] = json!(flags.len() - n_anomalous);
        out["anomalous_examples"] = json!(n_anomalous);
        out["mean_score_normal"] = json!(mean_of(Some(false)));
        out["mean_score_anomalous"] = json!(mean_of(Some(true)));
        out["auroc"] = json!(roc_auc(&scores, flags));
    }
    if a.json {
        println!("{out}");
        return Ok(());
    }
    let Some(n) = normal else {
        println!(
            "{} test examples of {} (no labels, so no ROC AUC): score {kind}, mean {:.4}",
            data.test.len(),
            data.name,
            mean_of(None)
        );
        println!("scores in {}, histogram in {}", written[0], written[1]);
        return Ok(());
    };
    println!(
        "{} test examples of {}: {} normal (class {n}, {}), {} anomalous",
        data.test.len(),
        data.name,
        out["normal_examples"],
        data.class_name(n),
        out["anomalous_examples"]
    );
    println!("score {kind}: mean {:.4} normal, {:.4} anomalous", mean_of(Some(false)), mean_of(Some(true)));
    match out["auroc"].as_f64() {
        Some(v) => println!("ROC AUC {v:.4}"),
        None => println!("ROC AUC undefined: the test images need both normal and anomalous ones"),
    }
    println!("scores in {}, histogram in {}", written[0], written[1]);
    Ok(())
}

/// Writes `scores.csv` (`index,example,score,label,anomalous`: the example's path or table line
/// where the data names it, its class and whether it counts as anomalous when labelled) and
/// `scores.png` (a histogram, normal against anomalous when labelled) into the run directory.
fn write_scores(
    dir: &std::path::Path,
    data: &ae_data::Dataset,
    scores: &[f64],
    anomalous: Option<&[bool]>,
    kind: &str,
) -> anyhow::Result<[String; 2]> {
    let run = ae_train::RunDir::new(dir);
    let labels = data.test.labels.as_deref();
    let mut csv = String::from("index,example,score,label,anomalous\n");
    for (i, s) in scores.iter().enumerate() {
        let name = data.test_name(i);
        let quoted = ae_run::csv::field(&name);
        let label = labels.map(|l| data.class_name(l[i])).unwrap_or_default();
        let flag = anomalous.map(|a| u8::from(a[i]).to_string()).unwrap_or_default();
        csv.push_str(&format!("{i},{quoted},{s},{label},{flag}\n"));
    }
    let (csv_path, png_path) = (run.file("scores.csv"), run.file("scores.png"));
    ae_train::checkpoint::atomic_write(&csv_path, csv.as_bytes())?;
    let groups: Vec<(&str, Vec<f64>)> = match anomalous {
        Some(a) => vec![
            ("normal", scores.iter().zip(a).filter(|(_, a)| !**a).map(|(s, _)| *s).collect()),
            ("anomalous", scores.iter().zip(a).filter(|(_, a)| **a).map(|(s, _)| *s).collect()),
        ],
        None => vec![("test", scores.to_vec())],
    };
    let refs: Vec<(&str, &[f64])> = groups.iter().map(|(n, v)| (*n, v.as_slice())).collect();
    let labels = ae_run::plot::Labels { title: "Anomaly scores of the test examples", x: kind, y: "test examples" };
    ae_run::plot::save_histogram(&png_path, &refs, &labels)?;
    Ok([csv_path.display().to_string(), png_path.display().to_string()])
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
