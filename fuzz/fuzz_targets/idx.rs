//! The IDX reader (raw and gzip) on arbitrary bytes, as images and as labels: it must return an
//! array or an error, never panic or allocate what the header merely claims.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for magic in [ae_data::idx::IMAGES_MAGIC, ae_data::idx::LABELS_MAGIC] {
        let _ = ae_data::idx::read(data, std::path::Path::new("fuzz-input"), magic);
    }
});
