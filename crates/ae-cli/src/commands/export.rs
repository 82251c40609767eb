//! `ae export`: a trained one-layer sparse autoencoder in another tool's files, in the data's own
//! units (the run's normalisation folded into the weights).

use super::load_run;
use crate::args::ExportArgs;

/// Runs `ae export`.
pub fn run(a: &ExportArgs) -> anyhow::Result<()> {
    let dev = a.on.device.open()?;
    let run = load_run(&a.on.run, a.on.checkpoint, &dev)?;
    let normalization = ae_run::data::saved_normalization(&a.on.run)?;
    let dict = ae_run::Dictionary::from_run(&run, normalization.as_ref())
        .map_err(|e| crate::exit::usage(format!("--run {}: {e}", a.on.run.display())))?;
    let files = a.format.write(&dict, &a.out).map_err(|e| anyhow::anyhow!("--out {}: {e}", a.out.display()))?;
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    println!(
        "wrote {} ({}): {} inputs, {} latents, {} ({} weights){}",
        names.join(", "),
        a.format.describe(),
        dict.d_in,
        dict.d_sae,
        dict.sparsity,
        run.weights,
        match &normalization {
            Some(n) if n.kind != ae_data::Normalize::None =>
                format!("; the {} normalisation is folded into the weights", n.kind),
            _ => String::new(),
        }
    );
    Ok(())
}
