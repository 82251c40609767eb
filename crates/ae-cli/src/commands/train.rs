//! `ae train`: resolve the config, load the data, build the model, claim the run directory, run
//! the one training loop, then report test metrics and write pictures.

use ae_core::Autoencoder;
use ae_data::Dataset;
use ae_train::checkpoint::atomic_write;
use ae_train::metrics::MetricsFiles;
use ae_train::{Fit, Observer, RunDir, StopReason, TensorBoard, evaluate_with_noise};

use super::check_input_size;
use crate::args::TrainArgs;
use crate::config::apply_flags;
use crate::exit::{Interrupted, usage};
use crate::interrupt::Interrupt;
use crate::progress::LossPicture;
use crate::progress::Progress;
use crate::rundir::{claim_fresh, default_path};
use ae_run::build_model;
use ae_run::write_pictures;
use ae_run::{RunConfig, differences};

/// Runs `ae train`.
pub fn run(a: &TrainArgs) -> anyhow::Result<()> {
    let (mut cfg, run, start) = resolve(a)?;
    cfg.data.validate()?;
    let dev = a.device.open()?;
    // A resumed run keeps the statistics it saved; a fresh one fits them on its training rows.
    let saved = if start == Start::Resume { ae_run::data::saved_normalization(run.path())? } else { None };
    let data = Dataset::load_with(&cfg.data, cfg.train.seed, &dev, saved.as_ref())?;
    if start == Start::Fresh {
        fit_model_to_data(&mut cfg, &data, a)?;
    }
    cfg.validate()?;
    crate::memory::check_fits(&cfg.model, cfg.train.batch_size)?;
    let (model, params) = build_model(&cfg.model, cfg.train.seed, &dev)?;
    check_input_size(&*model, &data)?;
    // Held until this function returns: no other `ae train` writes this directory meanwhile.
    let _lock = crate::lock::hold(&run)?;
    run.remove_temporaries()?;
    let resume = start == Start::Resume;
    if !resume {
        // A run killed during its first checkpoint has nothing to resume: it starts over.
        claim_fresh(&run, a.overwrite || start == Start::Restart)?;
    }
    atomic_write(&run.config(), cfg.to_json().as_bytes())?;
    if let Some(n) = &data.normalization {
        atomic_write(&run.file(ae_run::NORMALIZATION_FILE), ae_run::data::normalization_json(n).as_bytes())?;
    }

    let input_dim = model.input_dim();
    let interrupt = Interrupt::install();
    let picture_rows = data.test.head(16)?.images;
    let tile = data.shape.tile();
    let reconstructions = |_: &ae_train::EpochEnd| {
        let out = model.reconstruct(&picture_rows).ok()?;
        ae_run::grid::reconstructions_picture(&picture_rows, &out, tile).ok()
    };
    let mut observers: Vec<Box<dyn Observer + '_>> = vec![
        Box::new(MetricsFiles::new(&run)),
        Box::new(TensorBoard::new(&run).with_pictures(Box::new(reconstructions))),
        Box::new(LossPicture::new(&run)),
        Box::new(Progress::new(a.progress, input_dim)),
        Box::new(interrupt.clone()),
    ];
    eprintln!(
        "{} {}{} ({} parameters) on {}: {} train{} / {} validation / {} test examples, into {} ({})",
        if resume { "resuming" } else { "training" },
        cfg.model.kind(),
        if cfg.model.body.kind() == "dense" {
            String::new()
        } else {
            format!(" with a {} body", cfg.model.body.kind())
        },
        params.count(),
        data.name,
        data.training_rows().len(),
        if data.train_stream.is_some() { " (streamed from disk)" } else { "" },
        data.val.as_ref().map_or(0, |v| v.len()),
        data.test.len(),
        run.path().display(),
        ae_core::fused::gemm::describe()
    );
    let report = Fit::new(&*model, &params, data.training_rows())
        .validation(data.val.as_ref())
        .config(&cfg.train)
        .run_dir(&run)
        .resume(resume)
        .observer(&mut observers)
        .run()?;
    if report.stop == StopReason::Interrupted || interrupt.requested() {
        let msg = format!(
            "interrupted: stopped after step {} with its checkpoint saved; continue with --resume --run-dir {}",
            report.state.step,
            shell_quoted(&run.path().display().to_string())
        );
        return Err(Interrupted(msg).into());
    }

    let mut pictures =
        write_pictures(&*model, &data.test, &data.classes, data.shape.tile(), &run, cfg.train.seed, cfg.train.noise)?;
    if matches!(data.shape, ae_data::SampleShape::Features(_)) {
        pictures.extend(ae_run::write_column_errors(&*model, &data.test, &data.feature_names, &run)?);
    }
    let weights = if run.best().exists() { "best" } else { "last" };
    if weights == "best" {
        params.load(&run.best())?;
    }
    let test = evaluate_with_noise(&*model, &data.test, cfg.train.batch_size, cfg.train.seed, cfg.train.noise)?;
    if report.stop == StopReason::EarlyStopped {
        println!("early stopped after epoch {} (no validation improvement)", report.state.epoch);
    }
    println!(
        "test ({} examples, {weights} weights from epoch {}): loss {:.4} per example, recon_per_pixel {:.5}",
        data.test.len(),
        report.state.best_epoch.filter(|_| weights == "best").unwrap_or(report.state.epoch),
        test.total,
        test.recon / input_dim as f64
    );
    if let Some(fields) = super::sparse_report(&*model, &cfg, &data)? {
        let get = |k: &str| fields.get(k).and_then(serde_json::Value::as_f64).unwrap_or(f64::NAN);
        println!(
            "code: mean_activation {:.4}, l0 {:.2} active units per example, fvu {:.4}, nmse {:.4} (test); dead_fraction {:.4} (last {} training examples)",
            get("mean_activation"),
            get("l0"),
            get("fvu"),
            get("nmse"),
            get("dead_fraction"),
            get("dead_window")
        );
    }
    let dir = run.path().display().to_string();
    println!("run directory {dir}:");
    for (file, what) in [
        ("config.json", "the resolved config"),
        ("model.safetensors", "last weights"),
        ("best.safetensors", "weights with the lowest validation loss"),
        ("optimizer.safetensors", "optimizer state, for --resume"),
        ("state.json", "step, epoch and best validation loss"),
        ("metrics.jsonl", "one row per epoch (also metrics.csv)"),
        ("tensorboard/", "TensorBoard event files: tensorboard --logdir of the runs' folder"),
        ("loss.png", "training and validation loss per epoch"),
    ]
    .into_iter()
    .chain(data.normalization.as_ref().map(|_| ("normalization.json", "the normalisation every command applies")))
    .chain(pictures)
    {
        println!("  {file:<22} {what}");
    }
    // Name the binary as it was invoked: `ae` may not be on the PATH (cargo xtask train).
    let me = std::env::args().next().unwrap_or_else(|| "ae".into());
    println!("evaluate with: {} eval --run {} --json", shell_quoted(&me), shell_quoted(&dir));
    Ok(())
}

/// `word` as one shell word, so a suggested command survives copy and paste: as it is when it is
/// made only of characters no shell treats specially, else in single quotes.
fn shell_quoted(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// What a run directory's default name calls the data: the dataset, or the data file's stem.
fn data_stem(cfg: &ae_data::DataConfig) -> String {
    match &cfg.path {
        Some(p) => p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "data".into()),
        None => cfg.dataset.name().to_string(),
    }
}

/// Own data decides the model's input width, and values outside [0, 1] (a standardised table)
/// make MSE the default likelihood, where Bernoulli cross-entropy has no meaning.
fn fit_model_to_data(cfg: &mut RunConfig, data: &Dataset, a: &TrainArgs) -> anyhow::Result<()> {
    cfg.data.sample = Some(data.shape);
    match data.shape {
        ae_data::SampleShape::Image { channels, height, width } => cfg.model.body.set_input(channels, height, width),
        ae_data::SampleShape::Features(n) if cfg.model.body.kind() == "dense" => cfg.model.body.set_input(1, 1, n),
        ae_data::SampleShape::Features(n) => {
            return Err(usage(format!(
                "--body {}: the data holds rows of {n} features, not images; a convolutional body needs images \
                 (an image folder, IDX images, or an .npy/.safetensors array of shape (n, channels, height, width))",
                cfg.model.body.kind()
            )));
        }
    }
    if cfg.data.path.is_none() {
        return Ok(());
    }
    if a.likelihood.is_none() && a.config.is_none() {
        let (lo, hi) =
            (data.train.images.min_all()?.to_scalar::<f32>()?, data.train.images.max_all()?.to_scalar::<f32>()?);
        if lo < 0.0 || hi > 1.0 || !matches!(data.shape, ae_data::SampleShape::Image { .. }) {
            cfg.model.likelihood = ae_models::Likelihood::SquaredError;
        }
    }
    Ok(())
}

/// How `ae train` begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// A new run.
    Fresh,
    /// `--resume` of a run with a checkpoint.
    Resume,
    /// `--resume` of a run killed before its first checkpoint was whole: its recorded config,
    /// from step 0.
    Restart,
}

/// The config and run directory for these flags: a fresh run resolves defaults, then `--config`,
/// then flags; a resumed one starts from the run's own `config.json` and may only raise
/// `--epochs`.
fn resolve(a: &TrainArgs) -> anyhow::Result<(RunConfig, RunDir, Start)> {
    if !a.resume {
        let base = match &a.config {
            Some(path) => RunConfig::load(path)?,
            None => RunConfig::default(),
        };
        let cfg = apply_flags(base, a)?;
        let dir = a.run_dir.clone().unwrap_or_else(|| default_path(cfg.model.kind(), &data_stem(&cfg.data)));
        return Ok((cfg, RunDir::new(dir), Start::Fresh));
    }
    let dir = a.run_dir.clone().ok_or_else(|| usage("--resume needs --run-dir DIR naming the run to continue"))?;
    let run = RunDir::new(dir);
    let state_saved = run.state().is_file() || run.file("state.prev.json").is_file();
    if !run.config().is_file() {
        return Err(usage(format!(
            "--run-dir {}: no run to resume (no config.json); start it without --resume",
            run.path().display()
        )));
    }
    if a.config.is_some() {
        return Err(usage(
            "--config cannot be combined with --resume: a resumed run keeps the config in its run directory",
        ));
    }
    let recorded = RunConfig::load(&run.config())?;
    let cfg = apply_flags(recorded.clone(), a)?;
    if cfg.train.epochs < recorded.train.epochs {
        return Err(usage(format!(
            "--epochs {}: the run at {} records {} epochs, and --resume may only raise --epochs (its config is \
             left as it is)",
            cfg.train.epochs,
            run.path().display(),
            recorded.train.epochs
        )));
    }
    if cfg.train.epochs > recorded.train.epochs && matches!(cfg.train.schedule.decay, ae_train::Decay::Cosine { .. }) {
        eprintln!(
            "note: --epochs {} stretches the cosine schedule, which spans every epoch, from {} to {} epochs: the \
             rate continues on the longer curve, so it rises above where the run stopped",
            cfg.train.epochs, recorded.train.epochs, cfg.train.epochs
        );
    }
    let mut same_length = cfg.clone();
    same_length.train.epochs = recorded.train.epochs;
    let changed = differences(&recorded, &same_length);
    if !changed.is_empty() {
        return Err(usage(format!(
            "--resume: a resumed run keeps its recorded config except --epochs, but the flags given would change {} (the fields they set, and the defaults they bring)",
            changed.join(", ")
        )));
    }
    if !state_saved {
        eprintln!(
            "--resume: {} has a config but no whole checkpoint (the run was stopped during its first save); \
             starting it over from step 0 with its recorded config",
            run.path().display()
        );
        return Ok((cfg, run, Start::Restart));
    }
    Ok((cfg, run, Start::Resume))
}

#[cfg(test)]
mod tests {
    use super::shell_quoted;

    #[test]
    fn suggested_paths_survive_a_shell() {
        assert_eq!(shell_quoted("runs/digits-1"), "runs/digits-1");
        assert_eq!(shell_quoted("my runs/a"), "'my runs/a'");
        assert_eq!(shell_quoted("it's"), r"'it'\''s'");
        assert_eq!(shell_quoted(""), "''");
    }
}
