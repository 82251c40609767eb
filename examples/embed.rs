//! Load a trained run's checkpoint and embed images, through the library crates alone.
//!
//! `cargo run --release --example embed -- RUN_DIR [IMAGE.png ...]` rebuilds the model from the
//! run's `config.json`, loads `best.safetensors` (or `model.safetensors`), and prints the code of
//! each 28x28 grayscale PNG given, or of the first five bundled test digits when none is.

use ae::core::rng::{Purpose, stream};
use ae::core::{Autoencoder, Params};
use ae::data::{DataConfig, Dataset};
use ae::models::ModelConfig;
use anyhow::{Context, bail};
use candle_core::{Device, Tensor};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(run) = args.next().map(std::path::PathBuf::from) else {
        bail!("usage: embed RUN_DIR [IMAGE.png ...] (a run directory made by `ae train`)");
    };
    let dev = Device::Cpu;

    // The model part of the run's config, then the weights.
    let config_path = run.join("config.json");
    let config: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&config_path).with_context(|| format!("{}: cannot read", config_path.display()))?,
    )?;
    let model_cfg: ModelConfig = serde_json::from_value(config["model"].clone())
        .with_context(|| format!("{}: no valid \"model\" section", config_path.display()))?;
    let params = Params::new();
    let model = ae::models::build(&model_cfg, params.var_builder(stream(0, Purpose::Init, 0), &dev))?;
    let weights = [run.join("best.safetensors"), run.join("model.safetensors")]
        .into_iter()
        .find(|p| p.is_file())
        .with_context(|| format!("{}: no weights (best.safetensors or model.safetensors)", run.display()))?;
    params.load(&weights)?;

    // The images: PNGs from the command line, else five bundled test digits.
    let images: Vec<Vec<f32>> = match args.collect::<Vec<_>>() {
        files if !files.is_empty() => files.iter().map(|f| read_png(f, model.input_dim())).collect::<Result<_, _>>()?,
        _ => {
            let digits = Dataset::load(&DataConfig::default(), 0, &dev)?;
            digits.test.images.narrow(0, 0, 5)?.to_vec2::<f32>()?
        }
    };
    let n = images.len();
    let xs = Tensor::from_vec(images.concat(), (n, model.input_dim()), &dev)?;
    let codes = model.embed(&xs)?.to_vec2::<f32>()?;
    println!("{} ({}), weights {}:", model_cfg.kind(), run.display(), weights.display());
    for (i, code) in codes.iter().enumerate() {
        let shown: Vec<String> = code.iter().take(8).map(|v| format!("{v:.3}")).collect();
        let more = if code.len() > 8 { format!(" ... ({} values)", code.len()) } else { String::new() };
        println!("  image {i}: [{}]{more}", shown.join(", "));
    }
    Ok(())
}

/// A grayscale PNG as pixels in [0, 1], refusing one of another size.
fn read_png(path: &str, pixels: usize) -> anyhow::Result<Vec<f32>> {
    let img = image::open(path).with_context(|| format!("{path}: cannot read as an image"))?.to_luma8();
    if img.as_raw().len() != pixels {
        bail!("{path}: {}x{} pixels; the model takes {pixels}", img.width(), img.height());
    }
    Ok(img.as_raw().iter().map(|&p| f32::from(p) / 255.0).collect())
}
