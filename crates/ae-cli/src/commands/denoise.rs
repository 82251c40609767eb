//! `ae denoise`: clean PNGs with a trained model, one file or every PNG in a folder, read as the
//! run's training images were (grey or colour, their size; see [`super::inputs`]). Inputs are
//! checked before anything is written, and outputs are written atomically next to nothing they
//! could overwrite by mistake (never the input itself).

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::inputs::{denormalize, read_data, read_images, run_sample};
use super::load_run;
use super::png_files;
use crate::args::DenoiseArgs;
use crate::exit::usage;
use ae_run::images::write_image;

/// Runs `ae denoise`.
pub fn run(a: &DenoiseArgs) -> anyhow::Result<()> {
    let Some(input) = &a.input else { return run_on_data(a) };
    let jobs = plan(input, &a.output)?;
    let dev = a.on.device.open()?;
    let run = load_run(&a.on.run, a.on.checkpoint, &dev)?;
    let sources: Vec<PathBuf> = jobs.iter().map(|(src, _)| src.clone()).collect();
    let xs = read_images(&run, &a.on.run, &sources, &dev)?;
    let clean = denormalize(&a.on.run, &run.model.reconstruct(&xs)?)?;
    if input.is_dir() {
        std::fs::create_dir_all(&a.output)
            .with_context(|| format!("--output {}: cannot create", a.output.display()))?;
    }
    let sample = run_sample(&run);
    for ((_, dst), pixels) in jobs.iter().zip(&clean) {
        write_image(dst, pixels, sample)?;
    }
    println!("denoised {} image(s) into {} ({} weights)", jobs.len(), a.output.display(), run.weights);
    Ok(())
}

/// `ae denoise --data DIR`: every image of the folder, each written at its path below it in
/// `--output` (which must be another folder).
fn run_on_data(a: &DenoiseArgs) -> anyhow::Result<()> {
    let data = a.data.data.clone().unwrap_or_default();
    // The output need not exist yet: resolve the folder it would be made in.
    let resolved = |p: &Path| {
        p.canonicalize().ok().or_else(|| {
            let parent = p.parent().filter(|q| !q.as_os_str().is_empty()).unwrap_or(Path::new("."));
            Some(parent.canonicalize().ok()?.join(p.file_name()?))
        })
    };
    let inside = matches!((data.canonicalize(), resolved(&a.output)), (Ok(d), Some(o)) if o.starts_with(&d));
    if !data.is_dir() || inside || a.output.is_file() {
        return Err(usage(format!(
            "--output {}: expected a folder outside --data {} (a folder of images), where the denoised copies go",
            a.output.display(),
            data.display()
        )));
    }
    let dev = a.on.device.open()?;
    let run = load_run(&a.on.run, a.on.checkpoint, &dev)?;
    let sample = run_sample(&run);
    if !matches!(sample, ae_data::SampleShape::Image { .. }) {
        return Err(usage(format!(
            "--run {}: trained on {sample}; denoise writes images, so it needs a run trained on images",
            a.on.run.display()
        )));
    }
    let every = read_data(&a.data, "denoise", &run, &a.on.run, &dev)?;
    let clean = denormalize(&a.on.run, &run.model.reconstruct(&every.rows)?)?;
    for (name, pixels) in every.names.iter().zip(&clean) {
        // Names are paths below the folder the images were listed from, so none lands outside.
        let dst = a.output.join(name).with_extension("png");
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("--output {}: cannot create", parent.display()))?;
        }
        write_image(&dst, pixels, sample)?;
    }
    println!("denoised {} image(s) into {} ({} weights)", every.names.len(), a.output.display(), run.weights);
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
        let files = png_files(input)?;
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
