//! The checkpoint loader on arbitrary bytes, expecting a small model's tensors (the same as
//! `tests/fuzz_corpus.rs` replays with): it must load them or refuse the file, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let expected = [("layer.weight".to_string(), vec![2, 3]), ("layer.bias".to_string(), vec![2])].into();
    let _ = ae_core::params::parse_safetensors(data, std::path::Path::new("fuzz-input"), &expected, None);
});
