//! Damaged dataset files through the `ae` binary: each is refused with exit code 1 and a message
//! naming the file, what it holds and what was expected, never a panic, and no run directory is
//! left behind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::Path;

const IMAGES: u32 = 0x0803;
const LABELS: u32 = 0x0801;

fn idx(magic: u32, dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    out.extend(payload);
    out
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// An MNIST-named data directory of 20 training and 10 test images, with `change` applied to the
/// (name, bytes) of each file before it is written.
fn data_dir(dir: &Path, change: impl Fn(&str, Vec<u8>) -> Vec<u8>) {
    std::fs::create_dir_all(dir).unwrap();
    for (prefix, n) in [("train", 20u32), ("t10k", 10)] {
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let files = [
            (format!("{prefix}-images-idx3-ubyte"), idx(IMAGES, &[n, 28, 28], &vec![128; (n * 784) as usize])),
            (format!("{prefix}-labels-idx1-ubyte"), idx(LABELS, &[n], &labels)),
        ];
        for (name, bytes) in files {
            std::fs::write(dir.join(&name), change(&name, bytes)).unwrap();
        }
    }
}

/// `ae train` on the directory must fail with exit 1 and `want` in the message.
fn refused(dir: &Path, want: &str) {
    let run = dir.join("run");
    let err = common::fails(
        &["train", "--dataset", "mnist", "--data-dir", dir.to_str().unwrap(), "--run-dir", run.to_str().unwrap()],
        1,
    );
    assert!(err.contains(want), "want {want:?}: {err}");
    assert!(!run.exists(), "no run directory for refused data");
}

#[test]
fn damaged_idx_files_are_refused_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let case = |name: &str| tmp.path().join(name);
    let only = |target: &'static str, f: fn(Vec<u8>) -> Vec<u8>| {
        move |name: &str, bytes: Vec<u8>| if name == target { f(bytes) } else { bytes }
    };
    // A good directory trains, so each failure below is the damage alone.
    data_dir(&case("good"), |_, b| b);
    let run = case("good").join("run");
    common::ok(&[
        "train",
        "--dataset",
        "mnist",
        "--data-dir",
        case("good").to_str().unwrap(),
        "--epochs",
        "1",
        "--progress",
        "none",
        "--run-dir",
        run.to_str().unwrap(),
    ]);

    data_dir(
        &case("magic"),
        only("train-images-idx3-ubyte", |mut b| {
            b[3] = 0x01;
            b
        }),
    );
    refused(
        &case("magic"),
        "train-images-idx3-ubyte: bad IDX magic 0x00000801; expected 0x00000803 (unsigned-byte images, 3 dimensions)",
    );
    data_dir(&case("truncated"), only("t10k-images-idx3-ubyte", |b| b[..b.len() - 100].to_vec()));
    refused(
        &case("truncated"),
        "t10k-images-idx3-ubyte: truncated: the header declares 7840 payload bytes but only 7740 follow",
    );
    data_dir(&case("header"), only("train-labels-idx1-ubyte", |b| b[..6].to_vec()));
    refused(&case("header"), "train-labels-idx1-ubyte: truncated IDX header: 6 bytes, expected 8");
    data_dir(
        &case("trailing"),
        only("train-labels-idx1-ubyte", |mut b| {
            b.extend([0, 0]);
            b
        }),
    );
    refused(
        &case("trailing"),
        "train-labels-idx1-ubyte: 2 trailing bytes after the 20 payload bytes the header declares",
    );
    data_dir(&case("huge"), only("train-images-idx3-ubyte", |_| idx(IMAGES, &[u32::MAX, u32::MAX, u32::MAX], &[])));
    refused(&case("huge"), "over the limit of");
    data_dir(&case("size"), only("t10k-images-idx3-ubyte", |_| idx(IMAGES, &[10, 32, 32], &[0; 10 * 1024])));
    refused(&case("size"), "t10k-images-idx3-ubyte: images are 32x32; expected 28x28");
    data_dir(&case("count"), only("t10k-labels-idx1-ubyte", |_| idx(LABELS, &[9], &[0; 9])));
    refused(&case("count"), "holds 10 images but");
    data_dir(
        &case("label"),
        only("train-labels-idx1-ubyte", |mut b| {
            b[8 + 3] = 12;
            b
        }),
    );
    refused(&case("label"), "train-labels-idx1-ubyte: label 12 at index 3 is out of range; expected 0 to 9");

    // Gzip: a damaged stream is refused, never read in part.
    std::fs::create_dir_all(case("gzip")).unwrap();
    data_dir(&case("gzip"), |_, b| b);
    let name = "train-images-idx3-ubyte";
    let mut packed = gz(&std::fs::read(case("gzip").join(name)).unwrap());
    let n = packed.len();
    packed[n - 6] ^= 0xff;
    std::fs::remove_file(case("gzip").join(name)).unwrap();
    std::fs::write(case("gzip").join(format!("{name}.gz")), packed).unwrap();
    refused(&case("gzip"), "train-images-idx3-ubyte.gz: corrupt gzip stream");
}
