//! The metrics rewrite that resume runs, on arbitrary text as `metrics.jsonl` and as
//! `metrics.csv`: the kept rows or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for csv in [false, true] {
            let _ = ae_train::metrics::kept_rows(text, std::path::Path::new("fuzz-input"), csv, 3);
        }
    }
});
