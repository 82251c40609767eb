//! Watching training: `loss.png` is drawn in the run directory after every epoch, and `ae runs`
//! lists the runs of a folder with their kind, dataset, progress and best validation loss.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[test]
fn loss_png_and_the_run_list() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    common::train_tiny(&runs.join("a-stacked"), &["--epochs", "3"]);
    common::train_tiny(&runs.join("b-vae"), &["--model", "vae", "--epochs", "2"]);
    std::fs::create_dir_all(runs.join("not-a-run")).unwrap();

    for run in ["a-stacked", "b-vae"] {
        let png = runs.join(run).join("loss.png");
        assert_eq!(image::image_dimensions(&png).unwrap(), (778, 420), "{run}");
    }
    // A resumed run redraws the picture over all its epochs.
    let before = std::fs::read(runs.join("a-stacked/loss.png")).unwrap();
    common::train_tiny(&runs.join("a-stacked"), &["--epochs", "4", "--resume"]);
    assert_ne!(std::fs::read(runs.join("a-stacked/loss.png")).unwrap(), before);

    let dir = runs.to_str().unwrap();
    let table = common::ok(&["runs", "--dir", dir]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two runs:\n{table}");
    assert!(lines[1].contains("a-stacked") && lines[1].contains("stacked") && lines[1].contains("4/4"), "{table}");
    assert!(lines[2].contains("b-vae") && lines[2].contains("vae") && lines[2].contains("done"), "{table}");
    let rows: Vec<serde_json::Value> =
        common::ok(&["runs", "--dir", dir, "--json"]).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0]["kind"].as_str(), rows[0]["dataset"].as_str()), (Some("stacked"), Some("digits")));
    assert_eq!((rows[0]["epochs_done"].as_u64(), rows[0]["step"].as_u64()), (Some(4), Some(4 * 3)));
    let best = rows[0]["best_val_loss"].as_f64().unwrap();
    let metrics = common::metrics(&runs.join("a-stacked"));
    let lowest = metrics.iter().map(|r| r["val"]["total"].as_f64().unwrap()).fold(f64::INFINITY, f64::min);
    assert_eq!(best, lowest, "the best validation loss is the lowest in metrics.jsonl");

    let err = common::fails(&["runs", "--dir", tmp.path().join("nowhere").to_str().unwrap()], 2);
    assert!(err.contains("nowhere") && err.contains("expected the folder `ae train` writes its runs into"), "{err}");
}
