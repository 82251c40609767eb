//! `ae throughput`: how many images per second a trained model encodes and reconstructs, timed
//! over the test split in batches (after one warm-up pass).

use std::time::Instant;

use ae_core::Autoencoder;
use serde_json::json;

use super::{OpenRun, check_input_size, load_run};
use crate::args::{ThroughputArgs, Weights};
use crate::exit::usage;

/// Runs `ae throughput`.
pub fn run(a: &ThroughputArgs) -> anyhow::Result<()> {
    if a.batch_size == 0 || a.repeats == 0 {
        return Err(usage("--batch-size and --repeats must be at least 1"));
    }
    let dev = a.device.open()?;
    let OpenRun { config: mut cfg, model, .. } = load_run(&a.run, Weights::Last, &dev)?;
    a.data.apply(&mut cfg.data);
    cfg.data.val_fraction = 0.0;
    let data = ae_run::load_run_data(&a.run, &cfg.data, cfg.train.seed, &dev)?;
    check_input_size(&*model, &data)?;
    let batches: Vec<_> = (0..data.test.len())
        .step_by(a.batch_size)
        .map(|s| data.test.images.narrow(0, s, a.batch_size.min(data.test.len() - s)))
        .collect::<Result<_, _>>()?;
    let time = |f: &dyn Fn(&candle_core::Tensor) -> candle_core::Result<candle_core::Tensor>| -> anyhow::Result<f64> {
        for xs in &batches {
            f(xs)?;
        }
        let start = Instant::now();
        for _ in 0..a.repeats {
            for xs in &batches {
                // Reading one value back forces the work on lazy devices.
                f(xs)?.flatten_all()?.get(0)?.to_scalar::<f32>()?;
            }
        }
        Ok((a.repeats * data.test.len()) as f64 / start.elapsed().as_secs_f64())
    };
    let encode = time(&|xs| model.embed(xs))?;
    let reconstruct = time(&|xs| model.reconstruct(xs))?;
    let out = json!({
        "run": a.run.display().to_string(),
        "batch_size": a.batch_size,
        "images": data.test.len() * a.repeats,
        "threads": candle_core::utils::get_num_threads(),
        "encode_images_per_second": encode,
        "reconstruct_images_per_second": reconstruct,
    });
    if a.json {
        println!("{out}");
    } else {
        println!("encode       {encode:>10.0} images/s");
        println!("reconstruct  {reconstruct:>10.0} images/s  (batch {}, {} threads)", a.batch_size, out["threads"]);
    }
    Ok(())
}
