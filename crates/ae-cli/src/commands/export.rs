//! `ae export`: a trained run in another tool's files: an ONNX model (the autoencoder, its
//! encoder or its decoder), or a one-layer sparse autoencoder's dictionary as SAELens or sparsify
//! save it. Either way in the data's own units (the run's normalisation built into the graph or
//! folded into the weights).

use super::load_run;
use crate::args::ExportArgs;

/// Runs `ae export`.
pub fn run(a: &ExportArgs) -> anyhow::Result<()> {
    let dev = a.on.device.open()?;
    let run = load_run(&a.on.run, a.on.checkpoint, &dev)?;
    let normalization = ae_run::data::saved_normalization(&a.on.run)?;
    let src = ae_run::ExportSource { run: &run, normalization: normalization.as_ref(), part: a.part };
    let written = a.format.export(&src, &a.out).map_err(|e| {
        if e.is_usage() {
            crate::exit::usage(format!("--run {}: {e}", a.on.run.display()))
        } else {
            anyhow::anyhow!("--out {}: {e}", a.out.display())
        }
    })?;
    let names: Vec<String> = written.files.iter().map(|f| f.display().to_string()).collect();
    println!("wrote {} ({}): {} ({} weights)", names.join(", "), a.format.describe(), written.summary, run.weights);
    Ok(())
}
