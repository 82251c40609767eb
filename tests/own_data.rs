//! The user's own data end to end (`--data PATH`): scikit-learn's bundled tables, arrays numpy
//! wrote, folders of PNGs in class subfolders, and every bad file refused with its name, the row
//! and column or entry, the value and what was expected, exit 1 and no run directory left.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{fails, ok, python_with};

/// Where Debian's `python3-sklearn` keeps its tables (`cargo xtask setup` installs it).
const SKLEARN: &str = "/usr/lib/python3/dist-packages/sklearn/datasets/data";

fn sklearn(name: &str) -> String {
    let p = Path::new(SKLEARN).join(name);
    assert!(p.is_file(), "{} missing: apt-get install -y python3-sklearn (`cargo xtask setup` does this)", p.display());
    p.display().to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn breast_cancer_trains_on_benign_rows_and_scores_malignant_ones_as_anomalies() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("bc");
    let csv = sklearn("breast_cancer.csv");
    let out = ok(&[
        "train",
        "--data",
        &csv,
        "--label-column",
        "30",
        "--train-class",
        "benign",
        "--hidden",
        "16",
        "--code-dim",
        "4",
        "--epochs",
        "40",
        "--batch-size",
        "32",
        "--progress",
        "none",
        "--run-dir",
        s(&run),
    ]);
    assert!(out.contains("normalization.json"), "{out}");
    // Standardised on the benign training rows: MSE by default, statistics saved with the run.
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["model"]["likelihood"], "mse", "{cfg}");
    assert_eq!(cfg["model"]["body"]["input_dim"], 30);
    assert_eq!(cfg["data"]["table"]["label_column"], "30");
    let norm: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("normalization.json")).unwrap()).unwrap();
    assert_eq!((norm["kind"].as_str(), norm["offset"].as_array().map(Vec::len)), (Some("standard"), Some(30)));
    // The first feature (mean radius) of benign tumours averages about 12.1 (scikit-learn's data).
    let mean_radius = norm["offset"][0].as_f64().unwrap();
    assert!((11.5..12.7).contains(&mean_radius), "benign mean radius {mean_radius}");

    // A chart of each column's reconstruction error, in standardised units (fractions of the
    // benign variance): the 4-value code keeps most of it, and the test rows hold malignant ones.
    assert!(out.contains("column_errors.png"), "{out}");
    let chart = image::open(run.join("column_errors.png")).unwrap();
    assert!(chart.height() > 30 * 20, "a bar per column: {}x{}", chart.width(), chart.height());
    let errors = std::fs::read_to_string(run.join("column_errors.csv")).unwrap();
    let lines: Vec<&str> = errors.lines().collect();
    assert_eq!((lines[0], lines.len()), ("column,mse", 31), "{errors}");
    let mse: Vec<f64> = lines[1..].iter().map(|l| l.rsplit(',').next().unwrap().parse().unwrap()).collect();
    assert!(mse.iter().all(|e| e.is_finite() && *e >= 0.0), "{errors}");
    eprintln!("breast cancer column errors: {errors}");

    // The count line names the classes: 0 malignant, 1 benign.
    let report: serde_json::Value = serde_json::from_str(&ok(&["anomaly", "--run", s(&run), "--json"])).unwrap();
    assert_eq!((report["normal_class"].as_u64(), report["normal_name"].as_str()), (Some(1), Some("benign")));
    let auroc = report["auroc"].as_f64().unwrap();
    assert!(auroc > 0.9, "malignant rows should score far above benign ones: ROC AUC {auroc}");
    let total = report["normal_examples"].as_u64().unwrap() + report["anomalous_examples"].as_u64().unwrap();
    assert_eq!(total, 114, "20% of 569 rows carved for testing with the seed");
    // scores.csv names each row by its line in the file, with its class; scores.png beside it.
    let csv_rows: Vec<String> =
        std::fs::read_to_string(run.join("scores.csv")).unwrap().lines().map(String::from).collect();
    assert_eq!(csv_rows[0], "index,example,score,label,anomalous");
    assert_eq!(csv_rows.len(), 115);
    let first: Vec<&str> = csv_rows[1].split(',').collect();
    assert!(first[1].starts_with("line ") && ["benign", "malignant"].contains(&first[3]), "{}", csv_rows[1]);
    assert_eq!(first[4], if first[3] == "malignant" { "1" } else { "0" });
    let line: usize = first[1]["line ".len()..].parse().unwrap();
    let source_line = std::fs::read_to_string(&csv).unwrap().lines().nth(line - 1).unwrap().to_string();
    assert_eq!(source_line.ends_with(",0"), first[3] == "malignant", "line {line} is the row scored: {source_line}");
    assert!(image::open(run.join("scores.png")).unwrap().width() > 400);

    // Every later command sees what training saw: eval twice agrees, and a test file given
    // explicitly is normalised with the saved statistics, not refitted.
    let a = common::eval_json(&run, &[]);
    let b = common::eval_json(&run, &[]);
    assert_eq!(a["loss"], b["loss"]);
    let rows: Vec<String> = std::fs::read_to_string(&csv).unwrap().lines().map(String::from).collect();
    let malignant: Vec<&String> = rows[1..].iter().filter(|l| l.ends_with(",0")).take(50).collect();
    let mal = dir.path().join("malignant.csv");
    std::fs::write(&mal, malignant.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let m = common::eval_json(&run, &["--data", &csv, "--test-data", s(&mal)]);
    assert!(
        m["loss"].as_f64().unwrap() > 1.3 * a["loss"].as_f64().unwrap(),
        "malignant rows alone reconstruct worse than the mixed test split: {m} vs {a}"
    );
    // compress --data stores every row as its code; decompress rebuilds a table in the file's
    // own units (the normalisation undone), each row named by its line, close to the original
    // for the benign rows the model learned.
    let aec = dir.path().join("bc.aec");
    let said = ok(&["compress", "--run", s(&run), "--data", &csv, "--quant", "f32", "--out", s(&aec)]);
    assert!(said.contains("compressed 569 example(s) (rows of 30 features)"), "{said}");
    let back = dir.path().join("back");
    ok(&["decompress", "--run", s(&run), "--input", s(&aec), "--out", s(&back)]);
    let table = std::fs::read_to_string(back.join("rows.csv")).unwrap();
    let rebuilt: Vec<&str> = table.lines().collect();
    assert_eq!(rebuilt.len(), 570, "a header and 569 rows");
    assert_eq!(rebuilt[0].split(',').count(), 31, "example and 30 columns: {}", rebuilt[0]);
    let scale: Vec<f64> = norm["scale"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let mut err = 0.0;
    let mut n = 0;
    for (orig, back) in rows[1..].iter().zip(&rebuilt[1..]).filter(|(o, _)| o.ends_with(",1")) {
        let o: Vec<f64> = orig.split(',').take(30).map(|v| v.parse().unwrap()).collect();
        let (name, values) = back.split_once(',').unwrap();
        assert!(name.starts_with("line "), "{back}");
        let b: Vec<f64> = values.split(',').map(|v| v.parse().unwrap()).collect();
        err += o.iter().zip(&b).zip(&scale).map(|((x, y), sc)| ((x - y) / sc).abs()).sum::<f64>() / 30.0;
        n += 1;
    }
    let err = err / f64::from(n);
    eprintln!("breast cancer, benign rows rebuilt from 4-value codes: mean error {err:.3} standard deviations");
    // Predicting every row as the benign mean would be off by about 0.8 standard deviations.
    assert!(err < 0.5, "rebuilt benign rows are off by {err} standard deviations on average");

    // The saved statistics are what eval applies: shifted, they change the loss.
    let mut shifted = norm.clone();
    for v in shifted["offset"].as_array_mut().unwrap() {
        *v = serde_json::json!(v.as_f64().unwrap() + 50.0);
    }
    std::fs::write(run.join("normalization.json"), shifted.to_string()).unwrap();
    let c = common::eval_json(&run, &[]);
    assert!(c["loss"].as_f64().unwrap() > 10.0 * a["loss"].as_f64().unwrap(), "{c} vs {a}");
}

#[test]
fn iris_codes_separate_its_named_species_in_a_linear_probe() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("iris");
    ok(&[
        "train",
        "--data",
        &sklearn("iris.csv"),
        "--label-column",
        "4",
        "--hidden",
        "8",
        "--code-dim",
        "2",
        "--epochs",
        "60",
        "--batch-size",
        "16",
        "--progress",
        "none",
        "--run-dir",
        s(&run),
    ]);
    let probe: serde_json::Value =
        serde_json::from_str(&ok(&["probe", "--run", s(&run), "--json", "--epochs", "200"])).unwrap();
    let acc = probe["probe_accuracy_codes"].as_f64().unwrap_or_else(|| panic!("{probe}"));
    assert!(acc > 0.8, "three species from a 2-wide code: {probe}");
    // The species are named by the count line (`150,4,setosa,versicolor,virginica`).
    let out = ok(&["anomaly", "--run", s(&run), "--normal", "setosa"]);
    assert!(out.contains("setosa"), "{out}");
}

#[test]
fn arrays_numpy_wrote_train_in_every_dtype_and_layout() {
    let py = python_with("numpy");
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        r#"
import numpy as np
rng = np.random.default_rng(0)
x = rng.normal(size=(300, 12))
np.save("{d}/f64_fortran.npy", np.asfortranarray(x))
np.save("{d}/f16.npy", x.astype(np.float16))
np.save("{d}/be_i32.npy", (x * 100).astype('>i4'))
np.savez("{d}/two.npz", rows=x.astype(np.float32), other=np.zeros(3))
np.save("{d}/u8_images.npy", rng.integers(0, 256, size=(200, 1, 8, 8), dtype=np.uint8))
import os
os.mkdir("{d}/shards")
np.save("{d}/shards/a.npy", x[:150].astype(np.float32))
np.save("{d}/shards/b.npy", x[150:].astype(np.float32))
np.save("{d}/c_order.npy", x.astype(np.float32))
"#,
        d = dir.path().display()
    );
    common::python(py, &script);

    // The same values, however numpy laid them out.
    let read =
        |name: &str, tensor: Option<&str>| ae::data::array::read_array_file(&dir.path().join(name), tensor).unwrap();
    let c = read("c_order.npy", None);
    assert_eq!((c.n, c.row_shape.clone()), (300, vec![12]));
    let f = read("f64_fortran.npy", None);
    assert!(f.values.iter().zip(&c.values).all(|(a, b)| (a - b).abs() < 1e-6), "Fortran order reordered to rows");
    let h = read("f16.npy", None);
    assert!(h.values.iter().zip(&c.values).all(|(a, b)| (a - b).abs() < 2e-3 * b.abs().max(1.0)));
    let i = read("be_i32.npy", None);
    assert_eq!(i.values[0], (c.values[0] as f64 * 100.0).trunc() as f32);
    assert_eq!(read("two.npz", Some("rows")).values, c.values);

    for (data, extra) in [
        ("f64_fortran.npy", &[][..]),
        ("two.npz", &["--tensor", "rows"][..]),
        ("shards", &[][..]),
        ("u8_images.npy", &[][..]),
    ] {
        let run = dir.path().join(format!("run-{data}"));
        let p = dir.path().join(data);
        let mut args = vec![
            "train",
            "--data",
            s(&p),
            "--hidden",
            "8",
            "--code-dim",
            "3",
            "--epochs",
            "2",
            "--progress",
            "none",
            "--run-dir",
            s(&run),
        ];
        args.extend_from_slice(extra);
        ok(&args);
        let e = common::eval_json(&run, &[]);
        assert!(e["loss"].as_f64().unwrap().is_finite(), "{data}: {e}");
    }
    // Without labels, anomaly still scores every test row and says there is no ROC AUC.
    let shards_run = dir.path().join("run-shards");
    let out = ok(&["anomaly", "--run", s(&shards_run)]);
    assert!(out.contains("no labels, so no ROC AUC"), "{out}");
    let rows = std::fs::read_to_string(shards_run.join("scores.csv")).unwrap();
    assert_eq!(rows.lines().count(), 61, "60 test rows (20% of 300) and a header: {rows}");
    let err = fails(&["anomaly", "--run", s(&shards_run), "--normal", "1"], 2);
    assert!(err.contains("--normal 1: these examples have no labels"), "{err}");
    let cfg = std::fs::read_to_string(dir.path().join("run-u8_images.npy/config.json")).unwrap();
    assert!(cfg.contains("\"bernoulli\""), "u8 images scale to [0, 1] and keep BCE: {cfg}");
    let cfg = std::fs::read_to_string(dir.path().join("run-shards/config.json")).unwrap();
    assert!(cfg.contains("\"mse\""), "unbounded rows get MSE: {cfg}");
}

/// Writes `n` bundled digits of each of classes 0-2 as PNGs in class subfolders named after
/// Fashion-MNIST-like words.
#[test]
fn safetensors_files_the_python_package_wrote_read_as_numpy_arrays_do() {
    let py = common::venv_python("safetensors.numpy");
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        r#"
import numpy as np
from safetensors.numpy import save_file
rng = np.random.default_rng(1)
x = rng.normal(size=(240, 20)).astype(np.float32)
np.save("{d}/x.npy", x)
save_file({{"activations": x, "half": x.astype(np.float16), "ids": np.arange(240, dtype=np.int64)}}, "{d}/acts.safetensors")
save_file({{"only": x}}, "{d}/one.safetensors")
"#,
        d = dir.path().display()
    );
    common::python(py, &script);
    let read =
        |name: &str, tensor: Option<&str>| ae::data::array::read_array_file(&dir.path().join(name), tensor).unwrap();
    let npy = read("x.npy", None);
    assert_eq!(read("acts.safetensors", Some("activations")).values, npy.values);
    assert_eq!(read("one.safetensors", None).values, npy.values, "a file of one tensor needs no --tensor");
    let half = read("acts.safetensors", Some("half"));
    assert!(half.values.iter().zip(&npy.values).all(|(a, b)| (a - b).abs() < 2e-3 * b.abs().max(1.0)));
    assert_eq!(read("acts.safetensors", Some("ids")).values[239], 239.0);

    // Trained with one seed, the safetensors tensor and the .npy of the same values give the
    // same run, to the last digit of the loss.
    let mut losses = Vec::new();
    for (name, extra) in [("x.npy", &[][..]), ("acts.safetensors", &["--tensor", "activations"][..])] {
        let run = dir.path().join(format!("run-{name}"));
        let p = dir.path().join(name);
        let mut args =
            vec!["train", "--data", s(&p), "--hidden", "8", "--code-dim", "3", "--epochs", "3", "--progress", "none"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--run-dir", s(&run)]);
        ok(&args);
        losses.push(common::eval_json(&run, &[])["loss"].clone());
    }
    assert_eq!(losses[0], losses[1], "{losses:?}");
    let err =
        fails(&["train", "--data", s(&dir.path().join("acts.safetensors")), "--run-dir", s(&dir.path().join("r"))], 1);
    assert!(err.contains("acts.safetensors") && err.contains("activations"), "several tensors need --tensor: {err}");
}

fn digit_folder(root: &Path, n: usize) -> PathBuf {
    let data = ae::data::Dataset::load(&Default::default(), 0, &candle_core::Device::Cpu).unwrap();
    let labels = data.test.labels.clone().unwrap();
    let rows = data.test.images.to_vec2::<f32>().unwrap();
    let folder = root.join("pngs");
    for (class, name) in ["zero", "one", "two"].iter().enumerate() {
        std::fs::create_dir_all(folder.join(name)).unwrap();
        for (k, row) in
            rows.iter().zip(&labels).filter(|(_, l)| **l == class as u32).map(|(r, _)| r).take(n).enumerate()
        {
            let px: Vec<u8> = row.iter().map(|v| (v * 255.0).round() as u8).collect();
            image::GrayImage::from_raw(28, 28, px)
                .unwrap()
                .save(folder.join(name).join(format!("{k:03}.png")))
                .unwrap();
        }
    }
    folder
}

#[test]
fn a_folder_of_pngs_in_class_subfolders_trains_and_names_its_classes() {
    let dir = tempfile::tempdir().unwrap();
    let folder = digit_folder(dir.path(), 40);
    let run = dir.path().join("run");
    common::train_on(
        &folder,
        &run,
        &["--train-class", "one", "--hidden", "32", "--code-dim", "4", "--epochs", "15", "--batch-size", "16"],
    );
    let cfg = std::fs::read_to_string(run.join("config.json")).unwrap();
    assert!(cfg.contains("\"bernoulli\"") && cfg.contains("\"input_dim\": 784"), "{cfg}");
    assert!(!run.join("normalization.json").exists(), "images are scaled to [0, 1], nothing fitted");
    let report: serde_json::Value = serde_json::from_str(&ok(&["anomaly", "--run", s(&run), "--json"])).unwrap();
    assert_eq!(report["normal_name"], "one", "{report}");
    assert!(report["auroc"].as_f64().unwrap() > 0.8, "{report}");
    // Colour and another size: --channels 3 --image-size 16x20 resizes and converts.
    let run3 = dir.path().join("rgb");
    common::train_on(
        &folder,
        &run3,
        &["--channels", "3", "--image-size", "16x20", "--hidden", "8", "--code-dim", "2", "--epochs", "1"],
    );
    let cfg = std::fs::read_to_string(run3.join("config.json")).unwrap();
    assert!(cfg.contains("\"input_dim\": 960"), "3 x 16 x 20: {cfg}");
    let pic = image::open(run3.join("reconstructions.png")).unwrap();
    assert_eq!(pic.color(), image::ColorType::Rgb8, "colour data gives colour pictures");
}

/// Writes `contents` to `name` in `dir` and returns the path.
fn file(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, contents).unwrap();
    p
}

/// Refuses `data` (with `extra` flags) with exit 1, a message holding every `want`, and no run
/// directory left behind.
fn refused(data: &Path, extra: &[&str], want: &[&str]) {
    let run = data.parent().unwrap().join("never-made");
    let mut args = vec!["train", "--data", s(data), "--epochs", "1", "--progress", "none", "--run-dir", s(&run)];
    args.extend_from_slice(extra);
    let err = fails(&args, 1);
    for w in want {
        assert!(err.contains(w), "{w:?} missing from: {err}");
    }
    assert!(!run.exists(), "a refused run leaves no run directory: {err}");
}

#[test]
fn bad_tables_are_refused_naming_the_file_line_column_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    refused(
        &file(d, "cell.csv", b"a,b\n1,2\n3,oops\n"),
        &[],
        &["cell.csv: line 3: column 1 (\"b\"): \"oops\" is not a number"],
    );
    refused(
        &file(d, "ragged.csv", b"a,b,c\n1,2,3\n4,5\n"),
        &[],
        &["ragged.csv: line 3: 2 fields; expected 3 as the header has"],
    );
    refused(&file(d, "empty.csv", b""), &[], &["empty.csv: empty: no rows"]);
    refused(&file(d, "header.csv", b"a,b,c\n"), &[], &["header.csv: a header and no rows"]);
    refused(&file(d, "dup.csv", b"a,b,a\n1,2,3\n"), &[], &["dup.csv: duplicate column name \"a\" (columns 0 and 2)"]);
    refused(
        &file(d, "label.csv", b"a,b\n1,2\n"),
        &["--label-column", "kind"],
        &[
            "label.csv: label column kind: no such column; expected a column name or an index from 0 to 1 (columns: a, b)",
        ],
    );
    refused(
        &file(d, "missing.csv", b"a,b\n1,2\n3,NaN\n"),
        &[],
        &[
            "missing.csv: line 3: column 1 (\"b\"): missing value \"NaN\"; expected a finite number, or --missing drop|mean",
        ],
    );
}

/// A `.npy` file in C order.
#[test]
fn missing_mean_fills_with_the_training_rows_means_and_every_command_reuses_them() {
    let dir = tempfile::tempdir().unwrap();
    // Column a averages 2 over the training rows' values; the test file's 1000s must not move it.
    let train = file(dir.path(), "train.csv", b"a,b\n1,10\n,20\n3,30\n2,NA\n");
    let test = file(dir.path(), "test.csv", b"a,b\n1000,10\n1000,\n,25\n");
    let run = dir.path().join("run");
    let args = |extra: &[&str]| {
        let mut a = vec!["train", "--data", s(&train), "--test-data", s(&test), "--val-fraction", "0"];
        a.extend_from_slice(&["--hidden", "", "--code-dim", "1", "--epochs", "2", "--progress", "none"]);
        a.extend_from_slice(extra);
        a.extend_from_slice(&["--run-dir", s(&run)]);
        a.into_iter().map(String::from).collect::<Vec<String>>()
    };
    let refused = args(&[]);
    let err = fails(&refused.iter().map(String::as_str).collect::<Vec<_>>(), 1);
    assert!(err.contains("train.csv: line 3: column 0 (\"a\"): missing value"), "{err}");
    let given = args(&["--missing", "mean"]);
    ok(&given.iter().map(String::as_str).collect::<Vec<_>>());
    let norm: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("normalization.json")).unwrap()).unwrap();
    assert_eq!(norm["fill"], serde_json::json!([2.0, 20.0]), "the training rows' means, saved: {norm}");
    // Standardised after the fill: the mean is unchanged by it.
    assert_eq!(norm["offset"], serde_json::json!([2.0, 20.0]), "{norm}");
    // Later commands fill the test file's gaps with the saved means: finite losses.
    let e = common::eval_json(&run, &[]);
    assert!(e["loss"].as_f64().unwrap().is_finite(), "{e}");
    let aec = dir.path().join("t.aec");
    ok(&["compress", "--run", s(&run), "--data", s(&test), "--quant", "f32", "--out", s(&aec)]);
    let back = dir.path().join("back");
    ok(&["decompress", "--run", s(&run), "--input", s(&aec), "--out", s(&back)]);
    let rows = std::fs::read_to_string(back.join("rows.csv")).unwrap();
    assert!(!rows.contains("NaN") && rows.lines().count() == 4, "{rows}");
    // denoise writes images: a run on rows is refused.
    let err = fails(
        &["denoise", "--run", s(&run), "--data", s(dir.path()), "--output", s(&dir.path().join("..").join("dn"))],
        2,
    );
    assert!(err.contains("denoise writes images, so it needs a run trained on images"), "{err}");
    // A run trained on complete rows has no means to fill another file's gaps with.
    let complete = file(dir.path(), "complete.csv", b"a,b\n1,10\n2,20\n3,30\n4,40\n5,50\n");
    let plain = dir.path().join("plain");
    common::train_on(&complete, &plain, &["--hidden", "", "--code-dim", "1", "--epochs", "1"]);
    let out = dir.path().join("p.aec");
    let err = fails(&["compress", "--run", s(&plain), "--data", s(&test), "--missing", "mean", "--out", s(&out)], 1);
    assert!(err.contains("the run was trained without --missing mean"), "{err}");
    assert!(!out.exists());
    // A column with no value among the training rows has no mean to fill with.
    let empty = file(dir.path(), "empty.csv", b"a,b\n,1\n,2\n");
    let e = dir.path().join("e");
    let err =
        fails(&["train", "--data", s(&empty), "--test-data", s(&test), "--missing", "mean", "--run-dir", s(&e)], 1);
    assert!(err.contains("--missing mean: column \"a\" has no value in the training rows"), "{err}");
    assert!(!dir.path().join("e").exists(), "nothing left behind");
}

fn npy_bytes(descr: &str, shape: &str, payload: &[u8]) -> Vec<u8> {
    ae::data::array::npy_file(descr, false, shape, payload)
}

#[test]
fn bad_arrays_are_refused_naming_the_file_and_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    refused(&file(d, "magic.npy", b"NUMPY\x01\x00junk"), &[], &["magic.npy: bad .npy magic"]);
    refused(
        &file(d, "dtype.npy", &npy_bytes("<c16", "(2, 2)", &[0; 64])),
        &[],
        &["dtype.npy: unsupported dtype \"<c16\""],
    );
    refused(
        &file(d, "short.npy", &npy_bytes("<f4", "(10, 4)", &[0; 100])),
        &[],
        &["short.npy: truncated: shape [10, 4] of F32 needs 160 payload bytes but only 100 follow"],
    );
    refused(
        &file(d, "absurd.npy", &npy_bytes("<f4", "(1000000000000, 1000000000)", &[0; 16])),
        &[],
        &["absurd.npy: header declares shape [1000000000000, 1000000000]", "over the limit"],
    );
    file(d, "shards/a.npy", &npy_bytes("<f4", "(2, 3)", &[0; 24]));
    file(d, "shards/b.npy", &npy_bytes("<f4", "(2, 4)", &[0; 32]));
    refused(&d.join("shards"), &[], &["shards/b.npy: rows of shape [4]; expected [3] as", "shards/a.npy holds"]);
    let mut tensors = std::collections::HashMap::new();
    let zeros = vec![0u8; 16];
    tensors.insert(
        "acts".to_string(),
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2, 2], &zeros).unwrap(),
    );
    let st = safetensors::serialize(&tensors, None).unwrap();
    refused(
        &file(d, "one.safetensors", &st),
        &["--tensor", "weights"],
        &["one.safetensors: --tensor weights: no such tensor; expected one of acts"],
    );
}

#[test]
fn bad_image_folders_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let png = |p: &Path, w: u32, h: u32| {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        image::GrayImage::new(w, h).save(p).unwrap();
    };
    png(&d.join("mixed/a.png"), 8, 8);
    png(&d.join("mixed/b.png"), 10, 6);
    refused(&d.join("mixed"), &[], &["mixed/b.png: 6x10 (HxW) but", "mixed/a.png is 8x8", "--image-size HxW"]);
    png(&d.join("corrupt/a.png"), 8, 8);
    let bytes = std::fs::read(d.join("corrupt/a.png")).unwrap();
    file(d, "corrupt/b.png", &bytes[..bytes.len() / 2]);
    refused(&d.join("corrupt"), &[], &["corrupt/b.png: cannot decode the image", "expected an intact PNG or JPEG"]);
    file(d, "zero/a.png", b"");
    refused(&d.join("zero"), &[], &["zero/a.png: an empty (zero-byte) image file"]);
    file(d, "gif/a.gif", b"GIF89a");
    refused(&d.join("gif"), &[], &["gif/a.gif: unsupported image format .gif; expected PNG or JPEG"]);
    file(d, "none/readme.md", b"no pictures here");
    refused(&d.join("none"), &[], &["none: a folder without images"]);
    std::fs::create_dir_all(d.join("loop")).unwrap();
    std::os::unix::fs::symlink(d.join("loop/self"), d.join("loop/self")).unwrap();
    refused(&d.join("loop"), &[], &["loop/self", "symbolic links"]);
}

#[test]
fn streamed_shards_train_exactly_as_the_same_rows_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Three shards of one width, in three dtypes, with a non-finite value only in a fourth folder.
    let rows = |seed: u32, n: usize| -> Vec<f32> {
        (0..n * 6).map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 500.0 - 1.0).collect()
    };
    let f32s = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    file(d, "shards/a.npy", &npy_bytes("<f4", "(40, 6)", &f32s(&rows(1, 40))));
    file(d, "shards/b.npy", &npy_bytes("<f4", "(25, 6)", &f32s(&rows(2, 25))));
    let c = rows(3, 35);
    let f16s: Vec<u8> = c.iter().flat_map(|x| half::f16::from_f32(*x).to_le_bytes()).collect();
    file(d, "shards/c.npy", &npy_bytes("<f2", "(35, 6)", &f16s));
    let train = |stream: &str, run: &Path| {
        let out = common::run(&[
            "train",
            "--data",
            s(&d.join("shards")),
            "--stream",
            stream,
            "--normalize",
            "standard",
            "--hidden",
            "5",
            "--code-dim",
            "2",
            "--epochs",
            "3",
            "--batch-size",
            "16",
            "--progress",
            "none",
            "--run-dir",
            s(run),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert_eq!(stderr.contains("72 train (streamed from disk)"), stream == "yes", "{stderr}");
        common::metrics(run).iter().map(|m| m["train"]["total"].as_f64().unwrap()).collect::<Vec<f64>>()
    };
    let (streamed, memory) = (d.join("streamed"), d.join("memory"));
    let a = train("yes", &streamed);
    let b = train("no", &memory);
    assert_eq!(a, b, "the same rows, order, normalisation and steps whether they stream or not");
    assert_eq!(common::eval_json(&streamed, &[])["loss"], common::eval_json(&memory, &[])["loss"]);
    let (na, nb) = (
        std::fs::read_to_string(streamed.join("normalization.json")).unwrap(),
        std::fs::read_to_string(memory.join("normalization.json")).unwrap(),
    );
    let (na, nb): (serde_json::Value, serde_json::Value) =
        (serde_json::from_str(&na).unwrap(), serde_json::from_str(&nb).unwrap());
    for (x, y) in na["offset"].as_array().unwrap().iter().zip(nb["offset"].as_array().unwrap()) {
        assert!((x.as_f64().unwrap() - y.as_f64().unwrap()).abs() < 1e-5, "{na} vs {nb}");
    }
    // A NaN deep in a streamed shard is refused when its row is read, naming the shard and row.
    let mut bad = rows(4, 30);
    bad[6 * 17 + 2] = f32::NAN;
    file(d, "nan/a.npy", &npy_bytes("<f4", "(30, 6)", &f32s(&bad)));
    let err = fails(
        &[
            "train",
            "--data",
            s(&d.join("nan")),
            "--stream",
            "yes",
            "--epochs",
            "1",
            "--progress",
            "none",
            "--run-dir",
            s(&d.join("nan-run")),
        ],
        1,
    );
    assert!(err.contains("nan/a.npy: row 17 entry 2: NaN (as f32); expected finite values"), "{err}");
}
