//! Sparse autoencoders leave ae in the files SAELens and sparsify load, and come back: an exported
//! dictionary run with numpy as those tools define the forward pass (`tests/python/sae_forward.py`)
//! gives ae's codes and reconstructions, with the run's normalisation folded into the weights; a
//! SAELens file with the options ae does not train with (`apply_b_dec_to_input`,
//! `rescale_acts_by_decoder_norm`) imports into a run whose `ae encode` matches numpy; files ae
//! cannot represent are refused, naming the file and the field.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Activations from a known dictionary: 4 of 48 unit directions active per row, scale 5, offset 2.
fn write_activations(py: &Path, dir: &Path) {
    common::python(
        py,
        &format!(
            r#"
import numpy as np
r = np.random.default_rng(7)
d = r.normal(size=(48, 24)); d /= np.linalg.norm(d, axis=1, keepdims=True)
def rows(n):
    z = np.zeros((n, 48))
    for i in range(n):
        z[i, r.choice(48, 4, replace=False)] = r.exponential(1.0, 4)
    return (5 * (z @ d) + 2 + 0.05 * r.normal(size=(n, 24))).astype(np.float32)
np.save("{d}/acts.npy", rows(3000))
np.save("{d}/test.npy", rows(200))
"#,
            d = s(dir)
        ),
    );
}

fn check_forward(py: &Path, kind: &str, folder: &Path, test: &Path, codes: &Path, norm: Option<&Path>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/sae_forward.py");
    let mut cmd = Command::new(py);
    cmd.arg(&script).args([kind, s(folder), s(test), s(codes)]);
    if let Some(n) = norm {
        cmd.arg(n);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    println!("{text}");
    assert!(out.status.success(), "{kind} forward pass in numpy differs from ae's: {text}");
}

#[test]
fn exported_dictionaries_run_in_numpy_as_saelens_and_sparsify_define_them() {
    let py = common::venv_python("safetensors");
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write_activations(&py, d);
    let (acts, test, run) = (d.join("acts.npy"), d.join("test.npy"), d.join("run"));
    common::train_on(
        &acts,
        &run,
        &[
            "--test-data",
            s(&test),
            "--model",
            "sparse",
            "--hidden",
            "",
            "--code-dim",
            "96",
            "--sparsity",
            "topk:4",
            "--normalize",
            "norm",
            "--epochs",
            "3",
            "--batch-size",
            "64",
        ],
    );
    let norm = run.join("normalization.json");
    let n: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&norm).unwrap()).unwrap();
    assert_eq!(n["kind"], "norm");
    let codes = d.join("codes.safetensors");
    common::ok(&["encode", "--run", s(&run), "--out", s(&codes), "--reconstructions"]);
    for kind in ["saelens", "sparsify"] {
        let out = d.join(kind);
        let said = common::ok(&["export", "--run", s(&run), "--format", kind, "--out", s(&out)]);
        assert!(said.contains("the norm normalisation is folded into the weights"), "{said}");
        check_forward(&py, kind, &out, &test, &codes, Some(&norm));
        // And back: the imported run reads raw activations and gives the same codes.
        let back = d.join(format!("back-{kind}"));
        common::ok(&[
            "import",
            "--format",
            kind,
            "--from",
            s(&out),
            "--data",
            s(&acts),
            "--test-data",
            s(&test),
            "--run-dir",
            s(&back),
        ]);
        let again = d.join(format!("codes-{kind}.safetensors"));
        common::ok(&["encode", "--run", s(&back), "--out", s(&again), "--reconstructions"]);
        check_forward(&py, kind, &out, &test, &again, None);
        let (a, b) = (common::eval_json(&run, &[]), common::eval_json(&back, &[]));
        for metric in ["fvu", "l0", "nmse"] {
            let (x, y) = (a[metric].as_f64().unwrap(), b[metric].as_f64().unwrap());
            assert!((x - y).abs() < 1e-5 * x.abs().max(1.0), "{kind} {metric}: {x} trained vs {y} imported");
        }
    }
}

#[test]
fn saelens_options_ae_does_not_train_with_are_folded_on_import() {
    let py = common::venv_python("safetensors");
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write_activations(&py, d);
    let sae = d.join("sae");
    common::python(
        &py,
        &format!(
            r#"
import json, os, numpy as np
from safetensors.numpy import save_file
r = np.random.default_rng(3)
os.makedirs("{sae}")
save_file({{"W_enc": r.normal(size=(24, 64)).astype(np.float32), "b_enc": r.normal(size=64).astype(np.float32),
           "W_dec": (r.normal(size=(64, 24)) * r.uniform(0.2, 3, size=(64, 1))).astype(np.float16),
           "b_dec": (2 + r.normal(size=24)).astype(np.float32)}}, "{sae}/sae_weights.safetensors")
json.dump({{"architecture": "topk", "d_in": 24, "d_sae": 64, "k": 6, "apply_b_dec_to_input": True,
           "rescale_acts_by_decoder_norm": True, "normalize_activations": "none", "dtype": "float32"}},
          open("{sae}/cfg.json", "w"))
"#,
            sae = s(&sae)
        ),
    );
    let (acts, test, run) = (d.join("acts.npy"), d.join("test.npy"), d.join("imported"));
    let said = common::ok(&[
        "import",
        "--format",
        "saelens",
        "--from",
        s(&sae),
        "--data",
        s(&acts),
        "--test-data",
        s(&test),
        "--run-dir",
        s(&run),
    ]);
    assert!(said.contains("24 inputs, 64 latents, topk:6"), "{said}");
    let codes = d.join("codes.safetensors");
    common::ok(&["encode", "--run", s(&run), "--out", s(&codes), "--reconstructions"]);
    check_forward(&py, "saelens", &sae, &test, &codes, None);
    let eval = common::eval_json(&run, &[]);
    assert!(eval["l0"].as_f64().unwrap() > 0.0 && eval["fvu"].as_f64().unwrap().is_finite(), "{eval}");
}

#[test]
fn files_ae_cannot_represent_are_refused_naming_the_file_and_field() {
    let py = common::venv_python("safetensors");
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write_activations(&py, d);
    let acts = d.join("acts.npy");
    let jump = d.join("jumprelu");
    std::fs::create_dir_all(&jump).unwrap();
    std::fs::write(jump.join("cfg.json"), r#"{"architecture": "jumprelu", "d_in": 24, "d_sae": 64}"#).unwrap();
    let run = d.join("run");
    let err = common::fails(
        &["import", "--format", "saelens", "--from", s(&jump), "--data", s(&acts), "--run-dir", s(&run)],
        1,
    );
    assert!(err.contains("jumprelu/cfg.json: architecture \"jumprelu\"; expected \"topk\" or \"standard\""), "{err}");
    assert!(!run.exists(), "nothing is written for a refused import");
    let err = common::fails(&["import", "--format", "saelens", "--from", s(&jump), "--run-dir", s(&run)], 2);
    assert!(err.contains("--data is required"), "{err}");
    let err =
        common::fails(&["import", "--format", "onnx", "--from", s(&jump), "--data", s(&acts), "--run-dir", s(&run)], 2);
    assert!(err.contains("unknown format \"onnx\"; expected one of saelens, sparsify"), "{err}");

    // A stacked run has no dictionary form.
    let stacked = d.join("stacked");
    common::train_on(&acts, &stacked, &["--hidden", "16", "--code-dim", "4", "--epochs", "1"]);
    let err = common::fails(&["export", "--run", s(&stacked), "--format", "saelens", "--out", s(&d.join("x"))], 2);
    assert!(err.contains("model.body.hidden: hidden layers [16]; expected none"), "{err}");

    // Importing over an existing run refuses and leaves it as it was.
    let before = std::fs::read(stacked.join("model.safetensors")).unwrap();
    let ok_sae = d.join("ok");
    let sparse = d.join("sparse");
    common::train_on(
        &acts,
        &sparse,
        &["--model", "sparse", "--hidden", "", "--code-dim", "32", "--sparsity", "topk:2", "--epochs", "1"],
    );
    common::ok(&["export", "--run", s(&sparse), "--format", "saelens", "--out", s(&ok_sae)]);
    let err = common::fails(
        &["import", "--format", "saelens", "--from", s(&ok_sae), "--data", s(&acts), "--run-dir", s(&stacked)],
        1,
    );
    assert!(err.contains("already holds a run (config.json)"), "{err}");
    assert_eq!(std::fs::read(stacked.join("model.safetensors")).unwrap(), before);

    // The wrong width of data for the dictionary.
    let narrow = d.join("narrow.npy");
    common::python(&py, &format!("import numpy as np; np.save('{}', np.ones((50, 8), np.float32))", s(&narrow)));
    let err = common::fails(
        &["import", "--format", "saelens", "--from", s(&ok_sae), "--data", s(&narrow), "--run-dir", s(&run)],
        2,
    );
    assert!(err.contains("8 values per example, but the dictionary") && err.contains("reads 24"), "{err}");
}
