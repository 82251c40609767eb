//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`, grown by `cargo fuzz run`) through
//! the same parsers the fuzz targets drive, so every test run checks that none of those inputs
//! panics, without a nightly toolchain or libFuzzer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{}: only {} inputs", dir.display(), files.len());
    files
}

#[test]
fn the_idx_corpus_reads_or_is_refused() {
    let (mut ok, mut refused) = (0, 0);
    for (path, bytes) in corpus("idx") {
        for magic in [ae::data::idx::IMAGES_MAGIC, ae::data::idx::LABELS_MAGIC] {
            match ae::data::idx::read(bytes.as_slice(), &path, magic) {
                Ok(a) => {
                    assert_eq!(a.data.len(), a.dims.iter().product::<usize>(), "{}", path.display());
                    ok += 1;
                }
                Err(e) => {
                    assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
                    refused += 1;
                }
            }
        }
    }
    eprintln!("idx corpus: {ok} read, {refused} refused");
    assert!(ok > 0 && refused > 0);
}

#[test]
fn the_checkpoint_corpus_loads_or_is_refused() {
    let expected = [("layer.weight".to_string(), vec![2, 3]), ("layer.bias".to_string(), vec![2])].into();
    let (mut ok, mut refused) = (0, 0);
    for (path, bytes) in corpus("checkpoint") {
        match ae::core::params::parse_safetensors(&bytes, &path, &expected, None) {
            Ok((tensors, _)) => {
                assert_eq!(tensors.len(), 2, "{}", path.display());
                ok += 1;
            }
            Err(e) => {
                assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
                refused += 1;
            }
        }
    }
    eprintln!("checkpoint corpus: {ok} loaded, {refused} refused");
    assert!(refused > 0);
}

#[test]
fn the_config_corpus_parses_or_is_refused() {
    let (mut ok, mut refused) = (0, 0);
    for (path, bytes) in corpus("config") {
        let Ok(text) = std::str::from_utf8(&bytes) else { continue };
        match ae_cli::config::RunConfig::parse(text, &path) {
            Ok(cfg) => {
                let _ = cfg.validate();
                assert!(ae_cli::config::RunConfig::parse(&cfg.to_json(), &path).is_ok(), "round trip");
                ok += 1;
            }
            Err(e) => {
                assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
                refused += 1;
            }
        }
    }
    eprintln!("config corpus: {ok} parsed, {refused} refused");
    assert!(ok > 0 && refused > 0);
}

#[test]
fn the_aec_corpus_decodes_or_is_refused() {
    let (mut ok, mut refused) = (0, 0);
    for (path, bytes) in corpus("aec") {
        let name = path.to_string_lossy();
        match ae_cli::aec::decode(&bytes, &name) {
            Ok((header, payload)) => {
                let rows =
                    ae_cli::aec::dequantise(payload, header.quant, header.code_dim, &header.offset, &header.step);
                assert!(header.code_dim == 0 || rows.len() == header.names.len(), "{name}");
                ok += 1;
            }
            Err(e) => {
                assert!(e.to_string().starts_with(&*name), "{e}");
                refused += 1;
            }
        }
    }
    eprintln!("aec corpus: {ok} decoded, {refused} refused");
    assert!(ok > 0 && refused > 0);
}

#[test]
fn the_state_corpus_parses_or_is_refused() {
    let (mut ok, mut refused) = (0, 0);
    for (path, bytes) in corpus("state") {
        match ae::train::checkpoint::parse_state(&bytes, &path) {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
                refused += 1;
            }
        }
    }
    eprintln!("state corpus: {ok} parsed, {refused} refused");
    assert!(ok > 0 && refused > 0);
}

#[test]
fn the_metrics_corpus_is_kept_or_refused() {
    let (mut ok, mut refused) = (0, 0);
    for (path, bytes) in corpus("metrics") {
        let Ok(text) = std::str::from_utf8(&bytes) else { continue };
        for csv in [false, true] {
            match ae::train::metrics::kept_rows(text, &path, csv, 3) {
                Ok(kept) => {
                    assert!(kept.lines().count() <= text.lines().count() + usize::from(csv), "{}", path.display());
                    ok += 1;
                }
                Err(e) => {
                    assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
                    refused += 1;
                }
            }
        }
    }
    eprintln!("metrics corpus: {ok} kept, {refused} refused");
    assert!(ok > 0 && refused > 0);
}
