//! `ae probe`: a linear softmax classifier on the frozen codes of the run's training split,
//! scored on the test split, beside the same classifier on raw pixels.

use ae_train::probe::linear_probe;
use serde_json::json;

use super::{check_input_size, embed_split, load_run};
use crate::args::ProbeArgs;
use crate::exit::usage;

/// Runs `ae probe`.
pub fn run(a: &ProbeArgs) -> anyhow::Result<()> {
    if a.epochs == 0 {
        return Err(usage("--epochs must be at least 1"));
    }
    let dev = a.on.device.open()?;
    let mut run = load_run(&a.on.run, a.on.checkpoint, &dev)?;
    a.data.apply(&mut run.config.data);
    run.config.data.val_fraction = 0.0;
    let data = ae_run::load_run_data(&a.on.run, &run.config.data, run.config.train.seed, &dev)?;
    check_input_size(&*run.model, &data)?;
    let seed = run.config.train.seed;
    let (train, test) = (embed_split(&*run.model, &data.train)?, embed_split(&*run.model, &data.test)?);
    let what = "ae probe (a classifier on the codes)";
    let (train_labels, test_labels) = (data.train.require_labels(what)?, data.test.require_labels(what)?);
    let classes = data.classes.len();
    let codes = linear_probe((&train, train_labels), (&test, test_labels), classes, a.epochs, seed)?;
    let pixels =
        linear_probe((&data.train.images, train_labels), (&data.test.images, test_labels), classes, a.epochs, seed)?;
    let out = json!({
        "run": a.on.run.display().to_string(),
        "model": run.config.model.kind(),
        "dataset": data.name,
        "code_dim": train.dim(1)?,
        "train_examples": data.train.len(),
        "test_examples": data.test.len(),
        "epochs": a.epochs,
        "probe_accuracy_codes": codes,
        "probe_accuracy_pixels": pixels,
    });
    if a.json {
        println!("{out}");
    } else {
        println!("linear probe on {} ({} train / {} test):", data.name, data.train.len(), data.test.len());
        println!("  codes ({:>4} features)  test accuracy {:.4}", train.dim(1)?, codes);
        println!("  pixels ({:>4} features) test accuracy {:.4}", data.test.features(), pixels);
    }
    Ok(())
}
