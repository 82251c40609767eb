//! MNIST-style data directories built from tiny IDX files: each malformed case gives its exact error.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use ae_data::{DataConfig, DataError, Dataset, DatasetName};
use candle_core::Device;

fn idx(magic: u32, dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    dims.iter().for_each(|d| out.extend(d.to_be_bytes()));
    out.extend(payload);
    out
}

/// Writes a complete data directory with `n_train`/`n_test` images of `side`x`side` pixels and the
/// given label counts and label value.
fn write_dir(dir: &Path, n_train: u32, n_train_labels: u32, side: u32, label: u8) {
    let img = |n: u32| idx(0x803, &[n, side, side], &vec![255u8; (n * side * side) as usize]);
    let lab = |n: u32| idx(0x801, &[n], &vec![label; n as usize]);
    std::fs::write(dir.join("train-images-idx3-ubyte"), img(n_train)).unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte"), lab(n_train_labels)).unwrap();
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), img(3)).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), lab(3)).unwrap();
}

fn load(dir: &Path) -> Result<Dataset, DataError> {
    let cfg = DataConfig {
        dataset: DatasetName::Mnist,
        data_dir: Some(dir.to_path_buf()),
        val_fraction: 0.0,
        ..Default::default()
    };
    Dataset::load(&cfg, 0, &Device::Cpu)
}

#[test]
fn a_good_directory_loads() {
    let dir = tempfile::tempdir().unwrap();
    write_dir(dir.path(), 5, 5, 28, 3);
    let d = load(dir.path()).unwrap();
    assert_eq!((d.train.len(), d.test.len(), d.train.features()), (5, 3, 784));
    assert_eq!(d.train.labels.as_deref(), Some(&[3u32; 5][..]));
    assert_eq!(d.train.images.max_all().unwrap().to_scalar::<f32>().unwrap(), 1.0);
}

#[test]
fn image_and_label_counts_must_agree() {
    let dir = tempfile::tempdir().unwrap();
    write_dir(dir.path(), 5, 4, 28, 3);
    let err = load(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::CountMismatch { n_images: 5, n_labels: 4, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("train-images-idx3-ubyte holds 5 images but")
            && msg.ends_with("train-labels-idx1-ubyte holds 4 labels"),
        "{msg}"
    );
}

#[test]
fn images_of_another_size_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_dir(dir.path(), 2, 2, 32, 3);
    let err = load(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::ImageSize { rows: 32, cols: 32, expected_rows: 28, .. }), "{err:?}");
}

#[test]
fn labels_out_of_range_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_dir(dir.path(), 2, 2, 28, 10);
    let err = load(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::LabelOutOfRange { label: 10, index: 0, max: 9, .. }), "{err:?}");
}

#[test]
fn gzipped_files_are_found_by_name() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    write_dir(dir.path(), 2, 2, 28, 1);
    let raw = dir.path().join("train-images-idx3-ubyte");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&std::fs::read(&raw).unwrap()).unwrap();
    std::fs::write(dir.path().join("train-images-idx3-ubyte.gz"), enc.finish().unwrap()).unwrap();
    std::fs::remove_file(raw).unwrap();
    assert_eq!(load(dir.path()).unwrap().train.len(), 2);
}
