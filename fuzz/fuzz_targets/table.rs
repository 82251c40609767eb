//! The table reader on arbitrary bytes, with and without a label column and each missing-cell
//! policy: it must return a table or an error, never panic.
#![no_main]

use ae_data::table::{Missing, TableOptions, parse_table};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz-input");
    for missing in [Missing::Refuse, Missing::Drop, Missing::Mean] {
        for label in [None, Some("0".to_string()), Some("label".to_string())] {
            let opts = TableOptions { label_column: label, missing, ..Default::default() };
            if let Ok(t) = parse_table(data, path, &opts) {
                assert_eq!(t.values.len(), t.rows * t.feature_names.len());
            }
        }
    }
});
