//! The autoencoder as a lossy compressor through the `ae` binary: `ae compress` stores PNGs as
//! quantised codes in an .aec file far smaller than the pixels, `ae decompress` rebuilds them with
//! the same model (and refuses another), and `ae eval --compression` sets the bytes against raw
//! pixels, PNG and gzip with the PSNR each quantisation keeps.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse =
        a.iter().zip(b).map(|(x, y)| ((f64::from(*x) - f64::from(*y)) / 255.0).powi(2)).sum::<f64>() / a.len() as f64;
    -10.0 * mse.max(1e-10).log10()
}

#[test]
fn compress_decompress_and_the_compression_report() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let r = run.to_str().unwrap();
    common::ok(&[
        "train",
        "--hidden",
        "256",
        "--code-dim",
        "16",
        "--epochs",
        "8",
        "--progress",
        "none",
        "--run-dir",
        r,
    ]);
    let originals = common::digits_as_png(&tmp.path().join("in"), 64);

    let mut sizes = Vec::new();
    for quant in ["f32", "f16", "u8"] {
        let aec = tmp.path().join(format!("codes-{quant}.aec"));
        let input = tmp.path().join("in");
        common::ok(&[
            "compress",
            "--run",
            r,
            "--input",
            input.to_str().unwrap(),
            "--out",
            aec.to_str().unwrap(),
            "--quant",
            quant,
        ]);
        sizes.push(std::fs::metadata(&aec).unwrap().len());
        let out = tmp.path().join(format!("out-{quant}"));
        common::ok(&["decompress", "--run", r, "--input", aec.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        let mean = originals
            .iter()
            .enumerate()
            .map(|(i, original)| {
                let rebuilt = image::open(out.join(format!("digit-{i}.png"))).unwrap().to_luma8().into_raw();
                psnr(original, &rebuilt)
            })
            .sum::<f64>()
            / originals.len() as f64;
        eprintln!("{quant}: mean PSNR {mean:.2} dB over {} decompressed digits", originals.len());
        assert!(mean > 14.0, "{quant}: rebuilt at {mean:.2} dB");
    }
    eprintln!("aec sizes for 64 digits, f32/f16/u8: {sizes:?} bytes (raw pixels: {})", 64 * 784);
    // The payloads shrink 4 : 2 : 1 (the 8-bit file also holds two f32 per dimension).
    assert_eq!(sizes[0] - sizes[1], 64 * 16 * 2, "{sizes:?}");
    assert!(sizes[2] < sizes[1] && sizes[2] < 64 * 784 / 20, "{sizes:?}");

    // Another model's weights are refused, naming both fingerprints.
    let other = tmp.path().join("other");
    common::train_tiny(&other, &["--epochs", "1"]);
    let aec = tmp.path().join("codes-u8.aec");
    let err = common::fails(
        &[
            "decompress",
            "--run",
            other.to_str().unwrap(),
            "--input",
            aec.to_str().unwrap(),
            "--out",
            tmp.path().join("x").to_str().unwrap(),
        ],
        1,
    );
    assert!(err.contains("Decompress with the run (and --checkpoint) that compressed it"), "{err}");
    let err = common::fails(
        &[
            "decompress",
            "--run",
            r,
            "--input",
            tmp.path().join("in/digit-0.png").to_str().unwrap(),
            "--out",
            tmp.path().join("y").to_str().unwrap(),
        ],
        1,
    );
    assert!(err.contains("not an .aec file"), "{err}");

    let c = common::eval_json(&run, &["--compression"]);
    let f = |k: &str| c[k].as_f64().unwrap_or_else(|| panic!("no {k} in {c}"));
    eprintln!(
        "bytes per image: raw {} png {:.1} gzip {:.1} code f32 {:.1} f16 {:.1} u8 {:.1}; psnr f32 {:.2} f16 {:.2} u8 {:.2} dB",
        f("bytes_raw"),
        f("bytes_png"),
        f("bytes_gzip"),
        f("bytes_code_f32"),
        f("bytes_code_f16"),
        f("bytes_code_u8"),
        f("psnr_code_f32"),
        f("psnr_code_f16"),
        f("psnr_code_u8")
    );
    assert_eq!((f("bytes_raw"), f("bytes_code_f32"), f("bytes_code_f16")), (784.0, 64.0, 32.0));
    assert!(f("bytes_code_u8") < 17.0 && f("bytes_code_u8") > 16.0, "16 bytes plus the shared scales");
    assert!(f("bytes_code_u8") < f("bytes_png") && f("bytes_png") < f("bytes_raw"));
    assert!(f("bytes_gzip") < f("bytes_raw"));
    assert!((f("psnr_code_f32") - f("psnr_code_f16")).abs() < 0.05, "f16 keeps the PSNR");
    assert!(f("psnr_code_u8") > f("psnr_code_f32") - 0.5 && f("psnr_code_f32") > 13.0, "{c}");
}
