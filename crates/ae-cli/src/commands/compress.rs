//! `ae compress` and `ae decompress`: images or table rows stored as their quantised codes in
//! one `.aec` file (see [`ae_run::aec`]), and rebuilt from it by the same model's decoder, in
//! the data's own units (the run's normalisation undone).

use std::path::PathBuf;

use anyhow::{Context, bail};
use candle_core::Tensor;

use super::inputs::{denormalize, read_data, read_images, run_sample};
use super::png_files;
use super::{OpenRun, load_run};
use crate::args::{CompressArgs, DecompressArgs};
use crate::exit::usage;
use ae_data::SampleShape;
use ae_run::aec::{self, Header, ModelId};
use ae_run::images::write_image;

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
    let inputs = if a.data.data.is_some() { None } else { Some(input_files(&a.input)?) };
    let dev = a.on.device.open()?;
    let run = load_run(&a.on.run, a.on.checkpoint, &dev)?;
    let (xs, names, columns) = match inputs {
        Some(files) => {
            let names =
                files.iter().map(|f| f.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect();
            (read_images(&run, &a.on.run, &files, &dev)?, names, Vec::new())
        }
        None => {
            let every = read_data(&a.data, "compress", &run, &a.on.run, &dev)?;
            (every.rows, every.names, every.columns)
        }
    };
    let sample = run_sample(&run);
    let codes = run.model.embed(&xs)?.to_vec2::<f32>()?;
    let code_dim = codes.first().map_or(0, Vec::len);
    let (payload, offset, step) = aec::quantise(&codes, a.quant);
    let (h, w) = sample.tile();
    let n = names.len();
    let header = Header {
        model: model_id(&run)?,
        code_dim,
        image_shape: [h, w],
        quant: a.quant,
        names,
        // Grey images need no record: `image_shape` says it all, as in files before colour.
        sample: (sample != SampleShape::grey(h, w)).then_some(sample),
        columns,
        offset,
        step,
    };
    let bytes = aec::encode(&header, &payload)?;
    ae_train::checkpoint::atomic_write(&a.out, &bytes)?;
    println!(
        "compressed {n} example(s) ({sample}) into {}: {} bytes ({:.1} per example; {} raw values each), {} codes of {code_dim} values",
        a.out.display(),
        bytes.len(),
        bytes.len() as f64 / n.max(1) as f64,
        sample.features(),
        a.quant.name()
    );
    Ok(())
}

/// The PNGs `--input` names (files, and every `.png` in the folders), refusing two of one name:
/// decompress writes them side by side.
fn input_files(input: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = Vec::new();
    for input in input {
        if input.is_dir() {
            files.extend(png_files(input)?);
        } else if input.is_file() {
            files.push(input.clone());
        } else {
            return Err(usage(format!("--input {}: no such file or folder", input.display())));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = files.iter().filter_map(|f| f.file_name()).find(|n| !seen.insert(*n)) {
        return Err(usage(format!(
            "--input: two images are named {}; expected distinct file names (decompress writes them side by side)",
            dup.to_string_lossy()
        )));
    }
    Ok(files)
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
    let values = denormalize(&a.on.run, &run.model.decode_output(&zs)?)?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("--out {}: cannot create", a.out.display()))?;
    let [h, w] = header.image_shape;
    match header.sample.unwrap_or(SampleShape::grey(h, w)) {
        SampleShape::Features(_) => {
            let table = a.out.join(ROWS_FILE);
            ae_train::checkpoint::atomic_write(&table, rows_csv(&header, &values).as_bytes())?;
            println!("decompressed {n} row(s) into {}", table.display());
        }
        sample => {
            // `aec::decode` admits only relative paths of plain names, so none lands elsewhere.
            for (file, image) in header.names.iter().zip(&values) {
                let path = a.out.join(file);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("--out {}: cannot create", parent.display()))?;
                }
                write_image(&path, image, sample)?;
            }
            println!("decompressed {n} image(s) into {}", a.out.display());
        }
    }
    Ok(())
}

/// The file decompressed rows are written to, in `--out`.
pub const ROWS_FILE: &str = "rows.csv";

/// Rebuilt rows as CSV: a header (`example` and the columns' names), then each row's name and
/// values.
fn rows_csv(header: &Header, rows: &[Vec<f32>]) -> String {
    let width = rows.first().map_or(0, Vec::len);
    let columns: Vec<String> = if header.columns.len() == width {
        header.columns.clone()
    } else {
        (0..width).map(|j| format!("x{j}")).collect()
    };
    let quote = ae_run::csv::field;
    let mut out =
        std::iter::once("example".to_string()).chain(columns.iter().map(|c| quote(c))).collect::<Vec<_>>().join(",");
    out.push('\n');
    for (name, row) in header.names.iter().zip(rows) {
        out.push_str(&quote(name));
        for v in row {
            out.push(',');
            out.push_str(&v.to_string());
        }
        out.push('\n');
    }
    out
}
