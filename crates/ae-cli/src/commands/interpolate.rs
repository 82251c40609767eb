//! `ae interpolate`: decode evenly spaced points on the line between the codes of two test
//! images, shown between the two originals.

use anyhow::Context;
use candle_core::Tensor;

use super::{check_input_size, decode_to_pixels, load_run};
use crate::args::InterpolateArgs;
use crate::exit::usage;
use ae_run::grid::{Grid, MARK_ORIGINAL};

/// Runs `ae interpolate`.
pub fn run(a: &InterpolateArgs) -> anyhow::Result<()> {
    if !(2..=100).contains(&a.steps) {
        return Err(usage(format!("--steps {}: expected between 2 and 100 points", a.steps)));
    }
    let dev = a.on.device.open()?;
    let mut run = load_run(&a.on.run, a.on.checkpoint, &dev)?;
    a.data.apply(&mut run.config.data);
    run.config.data.val_fraction = 0.0;
    let data = ae_run::load_run_data(&a.on.run, &run.config.data, run.config.train.seed, &dev)?;
    check_input_size(&*run.model, &data)?;
    let n = data.test.len();
    for (flag, i) in [("--from", a.from), ("--to", a.to)] {
        if i >= n {
            return Err(usage(format!("{flag} {i}: the {} test split has {n} images (0..{})", data.name, n - 1)));
        }
    }
    let pair = Tensor::cat(&[data.test.images.narrow(0, a.from, 1)?, data.test.images.narrow(0, a.to, 1)?], 0)?;
    let codes = run.model.embed(&pair)?;
    let (start, end) = (codes.narrow(0, 0, 1)?, codes.narrow(0, 1, 1)?);
    let points = (0..a.steps)
        .map(|s| {
            let t = s as f64 / (a.steps - 1) as f64;
            (start.affine(1.0 - t, 0.0)? + end.affine(t, 0.0)?).map_err(anyhow::Error::from)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let decoded = decode_to_pixels(&*run.model, &Tensor::cat(&points, 0)?)?;
    let originals = pair.to_vec2::<f32>()?;
    let mut row = vec![originals[0].clone()];
    row.extend(decoded);
    row.push(originals[1].clone());
    let last = row.len() - 1;
    let out = a.out.clone().unwrap_or_else(|| a.on.run.join("interp.png"));
    let title = format!("From test image {} to test image {} in {} decoded steps", a.from, a.to, a.steps);
    Grid::new(title, data.shape.tile())
        .note(
            "framed in orange: the two test images themselves; between them, codes on the line joining theirs, decoded",
        )
        .row("", row)
        .mark(0, 0, MARK_ORIGINAL)
        .mark(0, last, MARK_ORIGINAL)
        .save(&out)
        .with_context(|| format!("--out {}", out.display()))?;
    println!(
        "wrote {}: test image {} and {} with {} decoded points between ({} weights)",
        out.display(),
        a.from,
        a.to,
        a.steps,
        run.weights
    );
    Ok(())
}
