//! `ae import`: a sparse autoencoder saved by another tool, as a new run directory every ae
//! command opens (eval, encode, anomaly, export, train --resume is not offered: there is no
//! optimizer state).

use crate::args::ImportArgs;
use crate::exit::usage;

/// Runs `ae import`.
pub fn run(a: &ImportArgs) -> anyhow::Result<()> {
    if a.data.data.is_none() {
        return Err(usage("ae import: --data is required: the activations the dictionary reads"));
    }
    let dict = a
        .format
        .read(&a.from)
        .map_err(|e| anyhow::anyhow!("--from {} ({}): {e}", a.from.display(), a.format.describe()))?;
    let mut data = ae_data::DataConfig::default();
    a.data.apply(&mut data);
    // Check the data's width now, not at the first command that opens the run.
    let dataset = ae_data::Dataset::load(&data, a.seed, &candle_core::Device::Cpu)?;
    if dataset.shape.features() != dict.d_in {
        return Err(usage(format!(
            "--data {}: {} values per example, but the dictionary in --from {} reads {}",
            dataset.name,
            dataset.shape.features(),
            a.from.display(),
            dict.d_in
        )));
    }
    dict.write_run(&a.run_dir, data, a.seed).map_err(|e| anyhow::anyhow!("--run-dir {}: {e}", a.run_dir.display()))?;
    println!(
        "imported {} ({}) into {}: {} inputs, {} latents, {}",
        a.from.display(),
        a.format.describe(),
        a.run_dir.display(),
        dict.d_in,
        dict.d_sae,
        dict.sparsity
    );
    println!("evaluate with: ae eval --run {} --json", a.run_dir.display());
    Ok(())
}
