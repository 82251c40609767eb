//! `ae runs`: the runs in a folder (default `runs/`), one line each: kind, dataset, epochs done of
//! those asked for, step, best validation loss and whether the run finished. Folders that are not
//! runs are passed over; runs whose files cannot be read are listed with the reason.

use ae_train::RunDir;
use serde_json::json;

use crate::args::RunsArgs;
use crate::exit::usage;
use ae_run::RunConfig;

/// Runs `ae runs`.
pub fn run(a: &RunsArgs) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(&a.dir).map_err(|e| {
        usage(format!(
            "--dir {}: {e}; expected the folder `ae train` writes its runs into (runs/ by default)",
            a.dir.display()
        ))
    })?;
    let mut dirs: Vec<_> =
        entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.join("config.json").is_file()).collect();
    dirs.sort();
    let rows: Vec<serde_json::Value> = dirs.iter().map(|dir| describe(&RunDir::new(dir))).collect();
    if a.json {
        for row in &rows {
            println!("{row}");
        }
        return Ok(());
    }
    if rows.is_empty() {
        println!("no runs in {} (start one with `ae train`)", a.dir.display());
        return Ok(());
    }
    println!(
        "{:<40} {:<10} {:<14} {:>9} {:>8} {:>14}  status",
        "run", "kind", "dataset", "epochs", "step", "best val loss"
    );
    for r in &rows {
        let text = |k: &str| r[k].as_str().map(str::to_string).unwrap_or_else(|| "-".into());
        let epochs = match (r["epochs_done"].as_u64(), r["epochs"].as_u64()) {
            (Some(d), Some(t)) => format!("{d}/{t}"),
            _ => "-".into(),
        };
        let best = r["best_val_loss"].as_f64().map_or_else(|| "-".into(), |v| format!("{v:.4}"));
        let step = r["step"].as_u64().map_or_else(|| "-".into(), |v| v.to_string());
        println!(
            "{:<40} {:<10} {:<14} {:>9} {:>8} {:>14}  {}",
            text("run"),
            text("kind"),
            text("dataset"),
            epochs,
            step,
            best,
            text("status")
        );
    }
    Ok(())
}

/// One run as JSON: `run`, `kind`, `dataset`, `epochs`, `epochs_done`, `step`, `best_val_loss`,
/// `best_epoch`, `status` (done, early stopped, in progress, or the reason it cannot be read).
fn describe(run: &RunDir) -> serde_json::Value {
    let name = run.path().display().to_string();
    let cfg = match RunConfig::load(&run.config()) {
        Ok(cfg) => cfg,
        Err(e) => return json!({ "run": name, "status": format!("unreadable: {}", crate::exit::render(&e.into())) }),
    };
    let mut row = json!({ "run": name, "kind": cfg.model.kind(), "dataset": cfg.data.dataset.name(), "epochs": cfg.train.epochs });
    match run.load_state() {
        Ok(state) => {
            let status = if state.early_stopped {
                "early stopped"
            } else if state.epoch >= cfg.train.epochs {
                "done"
            } else {
                "in progress"
            };
            row["epochs_done"] = json!(state.epoch);
            row["step"] = json!(state.step);
            row["best_val_loss"] = json!(state.best_val_loss);
            row["best_epoch"] = json!(state.best_epoch);
            row["status"] = json!(status);
        }
        Err(e) => row["status"] = json!(format!("no checkpoint ({e})")),
    }
    row
}
