//! `ae encode`: the codes of a dataset's training and test splits with their labels, as one
//! safetensors file (`train.codes` f32 `(n, code_dim)`, `train.labels` u8 `(n,)`, and the same for
//! `test`), for use elsewhere; with `--reconstructions`, also the test images and the model's
//! reconstructions of them.

use std::collections::HashMap;

use anyhow::Context;
use candle_core::Tensor;

use super::{check_input_size, embed_split, load_run};
use crate::args::EncodeArgs;

/// Runs `ae encode`.
pub fn run(a: &EncodeArgs) -> anyhow::Result<()> {
    let dev = a.on.device.open()?;
    let mut run = load_run(&a.on.run, a.on.checkpoint, &dev)?;
    a.data.apply(&mut run.config.data);
    run.config.data.val_fraction = 0.0;
    let data = ae_run::load_run_data(&a.on.run, &run.config.data, run.config.train.seed, &dev)?;
    check_input_size(&*run.model, &data)?;
    let mut tensors = HashMap::new();
    for (name, rows, labels) in
        [("train", data.training_rows(), &data.train.labels), ("test", &data.test, &data.test.labels)]
    {
        tensors.insert(format!("{name}.codes"), embed_split(&*run.model, rows)?);
        if let Some(labels) = labels {
            tensors.insert(format!("{name}.labels"), label_tensor(labels, &dev)?);
        }
    }
    if a.reconstructions {
        let mut parts = Vec::new();
        for start in (0..data.test.len()).step_by(1000) {
            let n = 1000.min(data.test.len() - start);
            parts.push(run.model.reconstruct(&data.test.images.narrow(0, start, n)?)?);
        }
        tensors.insert("test.images".into(), data.test.images.clone());
        tensors.insert("test.reconstructions".into(), Tensor::cat(&parts, 0)?);
    }
    // Sorted names, so the file's bytes do not depend on the map's order.
    let sorted: std::collections::BTreeMap<&String, &Tensor> = tensors.iter().collect();
    let bytes = safetensors::serialize(sorted, None).context("encoding the codes as safetensors")?;
    ae_train::checkpoint::atomic_write(&a.out, &bytes).with_context(|| format!("--out {}", a.out.display()))?;
    println!(
        "wrote {}: {} train and {} test codes of width {}{} ({} weights)",
        a.out.display(),
        data.training_rows().len(),
        data.test.len(),
        tensors["test.codes"].dim(1)?,
        if data.test.labels.is_some() { " with labels" } else { "" },
        run.weights
    );
    Ok(())
}

/// Labels as u8 where every class index fits (as the IDX files store them), else as u32.
fn label_tensor(labels: &[u32], dev: &candle_core::Device) -> anyhow::Result<Tensor> {
    Ok(match labels.iter().map(|&l| u8::try_from(l)).collect::<Result<Vec<u8>, _>>() {
        Ok(small) => Tensor::from_vec(small, labels.len(), dev)?,
        Err(_) => Tensor::from_slice(labels, labels.len(), dev)?,
    })
}
