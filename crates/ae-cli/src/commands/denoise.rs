//! `ae denoise`: clean grayscale PNGs of the model's size with a trained model, one file or every
//! PNG in a folder. Inputs are checked before anything is written, and outputs are written
//! atomically next to nothing they could overwrite by mistake (never the input itself).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use candle_core::Tensor;
use image::{ColorType, GrayImage};

use super::load_run;
use crate::args::DenoiseArgs;
use crate::exit::usage;
use crate::images::image_shape;

/// Runs `ae denoise`.
pub fn run(a: &DenoiseArgs) -> anyhow::Result<()> {
    let jobs = plan(&a.input, &a.output)?;
    let dev = a.on.device.open()?;
    let run = load_run(&a.on.run, a.on.checkpoint, &dev)?;
    let (h, w) = image_shape(run.model.input_dim());
    let images = jobs.iter().map(|(src, _)| read_gray(src, (h, w))).collect::<anyhow::Result<Vec<_>>>()?;
    let flat: Vec<f32> = images.concat();
    let xs = Tensor::from_vec(flat, (images.len(), h * w), &dev)?;
    let clean = run.model.reconstruct(&xs)?.to_vec2::<f32>()?;
    if a.input.is_dir() {
        std::fs::create_dir_all(&a.output)
            .with_context(|| format!("--output {}: cannot create", a.output.display()))?;
    }
    for ((_, dst), pixels) in jobs.iter().zip(&clean) {
        write_gray(dst, pixels, (h, w))?;
    }
    println!("denoised {} image(s) into {} ({} weights)", jobs.len(), a.output.display(), run.weights);
    Ok(())
}

/// The (input, output) pairs: one file to one file, or every `.png` in a folder to the same name
/// in the output folder. Refuses to write over an input.
fn plan(input: &Path, output: &Path) -> anyhow::Result<Vec<(PathBuf, PathBuf)>> {
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    };
    if input.is_dir() {
        if output.is_file() {
            return Err(usage(format!(
                "--output {}: a file, but --input is a folder; expected a folder",
                output.display()
            )));
        }
        if same(input, output) {
            return Err(usage(format!(
                "--output {}: the input folder itself; expected another folder",
                output.display()
            )));
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(input)
            .with_context(|| format!("--input {}: cannot list", input.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")))
            .collect();
        files.sort();
        if files.is_empty() {
            bail!("--input {}: no .png files in this folder", input.display());
        }
        return Ok(files.into_iter().map(|f| (f.clone(), output.join(f.file_name().unwrap_or_default()))).collect());
    }
    if !input.is_file() {
        return Err(usage(format!("--input {}: no such file or folder", input.display())));
    }
    if output.is_dir() || same(input, output) {
        return Err(usage(format!(
            "--output {}: expected a new PNG path (not a folder, not the input)",
            output.display()
        )));
    }
    Ok(vec![(input.to_path_buf(), output.to_path_buf())])
}

/// Pixels in [0, 1] of an 8- or 16-bit grayscale PNG of exactly `(h, w)`.
fn read_gray(path: &Path, (h, w): (usize, usize)) -> anyhow::Result<Vec<f32>> {
    let img = image::open(path).with_context(|| format!("{}: not a readable PNG", path.display()))?;
    let expected = format!("expected an 8- or 16-bit grayscale PNG of {w}x{h} pixels (the model's input)");
    let pixels: Vec<f32> = match img.color() {
        ColorType::L8 => img.to_luma8().pixels().map(|p| f32::from(p.0[0]) / 255.0).collect(),
        ColorType::L16 => img.to_luma16().pixels().map(|p| f32::from(p.0[0]) / 65535.0).collect(),
        other => bail!("{}: colour type {other:?}; {expected}", path.display()),
    };
    if (img.height() as usize, img.width() as usize) != (h, w) {
        bail!("{}: {}x{} pixels; {expected}", path.display(), img.width(), img.height());
    }
    Ok(pixels)
}

/// Writes `pixels` (in [0, 1]) as an 8-bit grayscale PNG, atomically.
fn write_gray(path: &Path, pixels: &[f32], (h, w): (usize, usize)) -> anyhow::Result<()> {
    let bytes: Vec<u8> = pixels.iter().map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8).collect();
    let img = GrayImage::from_raw(w as u32, h as u32, bytes).context("image buffer size")?;
    let tmp = path.with_extension("png.tmp");
    img.save_with_format(&tmp, image::ImageFormat::Png).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}
