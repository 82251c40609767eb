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

/// Runs `parse` over every input of `target`'s corpus. For each input it returns one outcome per
/// way it was read: `Ok` when accepted (after the caller's own checks of the value), `Err` with
/// the message when refused, which must name the input. Returns (accepted, refused).
fn replay(target: &str, mut parse: impl FnMut(&Path, &[u8]) -> Vec<Result<(), String>>) -> (usize, usize) {
    let (mut ok, mut refused) = (0, 0);
    for (path, bytes) in corpus(target) {
        for outcome in parse(&path, &bytes) {
            match outcome {
                Ok(()) => ok += 1,
                Err(e) => {
                    assert!(e.contains(&*path.to_string_lossy()), "{target}: a refusal names its input: {e}");
                    refused += 1;
                }
            }
        }
    }
    eprintln!("{target} corpus: {ok} accepted, {refused} refused");
    (ok, refused)
}

#[test]
fn the_idx_corpus_reads_or_is_refused() {
    let (ok, refused) = replay("idx", |path, bytes| {
        [ae::data::idx::IMAGES_MAGIC, ae::data::idx::LABELS_MAGIC]
            .map(|magic| match ae::data::idx::read(bytes, path, magic) {
                Ok(a) => {
                    assert_eq!(a.data.len(), a.dims.iter().product::<usize>(), "{}", path.display());
                    Ok(())
                }
                Err(e) => Err(e.to_string()),
            })
            .to_vec()
    });
    assert!(ok > 0 && refused > 0);
}

#[test]
fn the_checkpoint_corpus_loads_or_is_refused() {
    let expected = [("layer.weight".to_string(), vec![2, 3]), ("layer.bias".to_string(), vec![2])].into();
    let (_, refused) = replay("checkpoint", |path, bytes| {
        vec![match ae::core::params::parse_safetensors(bytes, path, &expected, None) {
            Ok((tensors, _)) => {
                assert_eq!(tensors.len(), 2, "{}", path.display());
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        }]
    });
    assert!(refused > 0);
}

#[test]
fn the_config_corpus_parses_or_is_refused() {
    let (ok, refused) = replay("config", |path, bytes| {
        let Ok(text) = std::str::from_utf8(bytes) else { return vec![] };
        vec![match ae_run::RunConfig::parse(text, path) {
            Ok(cfg) => {
                let _ = cfg.validate();
                assert!(ae_run::RunConfig::parse(&cfg.to_json(), path).is_ok(), "round trip");
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        }]
    });
    assert!(ok > 0 && refused > 0);
}

#[test]
fn the_aec_corpus_decodes_or_is_refused() {
    let (ok, refused) = replay("aec", |path, bytes| {
        let name = path.to_string_lossy();
        vec![match ae_run::aec::decode(bytes, &name) {
            Ok((header, payload)) => {
                let rows =
                    ae_run::aec::dequantise(payload, header.quant, header.code_dim, &header.offset, &header.step);
                assert!(header.code_dim == 0 || rows.len() == header.names.len(), "{name}");
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        }]
    });
    assert!(ok > 0 && refused > 0);
}

#[test]
fn the_state_corpus_parses_or_is_refused() {
    let (ok, refused) = replay("state", |path, bytes| {
        vec![ae::train::checkpoint::parse_state(bytes, path).map(drop).map_err(|e| e.to_string())]
    });
    assert!(ok > 0 && refused > 0);
}

#[test]
fn the_metrics_corpus_is_kept_or_refused() {
    let (ok, refused) = replay("metrics", |path, bytes| {
        let Ok(text) = std::str::from_utf8(bytes) else { return vec![] };
        [false, true]
            .map(|csv| match ae::train::metrics::kept_rows(text, path, csv, 3) {
                Ok(kept) => {
                    assert!(kept.lines().count() <= text.lines().count() + usize::from(csv), "{}", path.display());
                    Ok(())
                }
                Err(e) => Err(e.to_string()),
            })
            .to_vec()
    });
    assert!(ok > 0 && refused > 0);
}

#[test]
fn the_table_corpus_reads_or_is_refused() {
    use ae::data::table::{Missing, TableOptions, parse_table};
    let (ok, refused) = replay("table", |path, bytes| {
        [Missing::Refuse, Missing::Drop, Missing::Mean]
            .into_iter()
            .flat_map(|missing| [None, Some("0".to_string())].map(|label| (missing, label)))
            .map(|(missing, label_column)| {
                let opts = TableOptions { label_column, missing, ..Default::default() };
                match parse_table(bytes, path, &opts) {
                    Ok(t) => {
                        assert_eq!(t.values.len(), t.rows * t.feature_names.len(), "{}", path.display());
                        // `--missing mean` leaves gaps as NaN for the training means to fill.
                        let gap = |v: &f32| missing == Missing::Mean && v.is_nan();
                        assert!(
                            t.values.iter().all(|v| v.is_finite() || gap(v)),
                            "{}: a cell left non-finite",
                            path.display()
                        );
                        Ok(())
                    }
                    Err(e) => Err(e.to_string()),
                }
            })
            .collect()
    });
    assert!(ok > 0 && refused > 0);
}

#[test]
fn the_array_corpus_reads_or_is_refused() {
    let (ok, refused) = replay("array", |path, bytes| {
        ["input.npy", "input.safetensors", "input.npz"]
            .map(|name| {
                // The refusal names the path it was given: the corpus file with the kind's extension.
                let as_kind = path.with_file_name(format!("{}-{name}", path.file_name().unwrap().to_string_lossy()));
                match ae::data::array::parse_array(bytes, &as_kind, None) {
                    Ok(a) => {
                        assert_eq!(a.values.len(), a.n * a.row_shape.iter().product::<usize>(), "{}", path.display());
                        Ok(())
                    }
                    Err(e) => Err(e.to_string().replace(&*as_kind.to_string_lossy(), &path.to_string_lossy())),
                }
            })
            .to_vec()
    });
    assert!(ok > 0 && refused > 0);
}
