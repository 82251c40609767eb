//! `ae compress` and `ae decompress`: grayscale images stored as their quantised codes in one
//! `.aec` file (see [`crate::aec`]), and rebuilt from it by the same model's decoder.

use std::path::PathBuf;

use anyhow::{Context, bail};
use candle_core::Tensor;

use super::png_files;
use super::{OpenRun, decode_to_pixels, load_run};
use crate::args::{CompressArgs, DecompressArgs};
use crate::exit::usage;
use ae_run::aec::{self, Header, ModelId};
use ae_run::images::{image_shape, read_gray, write_gray};

/// The fingerprint of the run's loaded weights.
fn model_id(run: &OpenRun) -> anyhow::Result<ModelId> {
    let bytes =
        std::fs::read(&run.weights_file).with_context(|| format!("{}: cannot read", run.weights_file.display()))?;
    Ok(ModelId {
        kind: run.config.model.kind().to_string(),
        input_dim: run.model.input_dim(),
        weights_fnv1a64: aec::fnv1a64(&bytes),
    })
}

/// Runs `ae compress`.
pub fn compress(a: &CompressArgs) -> anyhow::Result<()> {
    let mut files: Vec<PathBuf> = Vec::new();
    for input in &a.input {
        if input.is_dir() {
            files.extend(png_files(input)?);
        } else if input.is_file() {
            files.push(input.clone());
        } else {
            return Err(usage(format!("--input {}: no such file or folder", input.display())));
        }
    }
    let names: Vec<String> =
        files.iter().map(|f| f.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect();
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
        return Err(usage(format!(
            "--input: two images are named {dup}; expected distinct file names (decompress writes them side by side)"
        )));
    }
    let dev = a.on.device.open()?;
    let run = load_run(&a.on.run, a.on.checkpoint, &dev)?;
    let (h, w) = image_shape(run.model.input_dim());
    let images = files.iter().map(|f| read_gray(f, (h, w))).collect::<Result<Vec<_>, _>>()?;
    let xs = Tensor::from_vec(images.concat(), (images.len(), h * w), &dev)?;
    let codes = run.model.embed(&xs)?.to_vec2::<f32>()?;
    let code_dim = codes.first().map_or(0, Vec::len);
    let (payload, offset, step) = aec::quantise(&codes, a.quant);
    let header = Header { model: model_id(&run)?, code_dim, image_shape: [h, w], quant: a.quant, names, offset, step };
    let bytes = aec::encode(&header, &payload)?;
    ae_train::checkpoint::atomic_write(&a.out, &bytes)?;
    println!(
        "compressed {} image(s) into {}: {} bytes ({:.1} per image; {} raw pixels each), {} codes of {code_dim} values",
        files.len(),
        a.out.display(),
        bytes.len(),
        bytes.len() as f64 / files.len().max(1) as f64,
        h * w,
        a.quant.name()
    );
    Ok(())
}

/// Runs `ae decompress`.
pub fn decompress(a: &DecompressArgs) -> anyhow::Result<()> {
    let name = a.input.display().to_string();
    let bytes = ae_core::bounded::read_bounded(&a.input, ae_core::bounded::DATA_LIMIT)
        .with_context(|| format!("--input {name}: cannot read"))?;
    let (header, payload) = aec::decode(&bytes, &name)?;
    let dev = a.on.device.open()?;
    let run = load_run(&a.on.run, a.on.checkpoint, &dev)?;
    let here = model_id(&run)?;
    if here != header.model {
        bail!(
            "{name}: written by a {} model with weights {} ({} pixels); {} holds a {} model with weights {} ({}). Decompress with the run (and --checkpoint) that compressed it",
            header.model.kind,
            header.model.weights_fnv1a64,
            header.model.input_dim,
            run.weights_file.display(),
            here.kind,
            here.weights_fnv1a64,
            here.input_dim
        );
    }
    let codes = aec::dequantise(payload, header.quant, header.code_dim, &header.offset, &header.step);
    let n = codes.len();
    let zs = Tensor::from_vec(codes.concat(), (n, header.code_dim), &dev)?;
    let pixels = decode_to_pixels(&*run.model, &zs)?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("--out {}: cannot create", a.out.display()))?;
    let [h, w] = header.image_shape;
    // `aec::decode` admits only distinct plain file names, so none can point elsewhere.
    for (file, image) in header.names.iter().zip(&pixels) {
        write_gray(&a.out.join(file), image, (h, w))?;
    }
    println!("decompressed {n} image(s) into {}", a.out.display());
    Ok(())
}
