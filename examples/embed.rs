//! Load a trained run and embed images, through the library crates alone.
//!
//! `cargo run --release --example embed -- RUN_DIR [IMAGE.png ...]` opens a run directory made by
//! `ae train` (its `config.json` and `best.safetensors`, or `model.safetensors`), and prints the
//! code of each 28x28 grayscale PNG given, or of the first five bundled test digits when none is.

use ae::core::Autoencoder;
use ae::data::{DataConfig, Dataset};
use ae::run::images::read_gray;
use ae::run::{Weights, open_run};
use anyhow::bail;
use candle_core::{Device, Tensor};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(std::path::PathBuf::from) else {
        bail!("usage: embed RUN_DIR [IMAGE.png ...] (a run directory made by `ae train`)");
    };
    let dev = Device::Cpu;
    // The config the run recorded, its model, and the best weights (the last where it kept none).
    let run = open_run(&dir, Weights::Best, &dev)?;
    let width = run.model.input_dim();

    // The images: PNGs from the command line, else five bundled test digits.
    let images: Vec<Vec<f32>> = match args.collect::<Vec<_>>() {
        files if !files.is_empty() => {
            files.iter().map(|f| read_gray(f.as_ref(), (28, 28))).collect::<Result<_, _>>()?
        }
        _ => Dataset::load(&DataConfig::default(), 0, &dev)?.test.head(5)?.images.to_vec2::<f32>()?,
    };
    let xs = Tensor::from_vec(images.concat(), (images.len(), width), &dev)?;
    let codes = run.model.embed(&xs)?.to_vec2::<f32>()?;
    println!(
        "{} ({}), {} weights from {}:",
        run.config.model.kind(),
        dir.display(),
        run.weights,
        run.weights_file.display()
    );
    for (i, code) in codes.iter().enumerate() {
        let shown: Vec<String> = code.iter().take(8).map(|v| format!("{v:.3}")).collect();
        let more = if code.len() > 8 { format!(" ... ({} values)", code.len()) } else { String::new() };
        println!("  image {i}: [{}]{more}", shown.join(", "));
    }
    Ok(())
}
