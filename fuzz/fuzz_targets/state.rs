//! The `state.json` parser on arbitrary bytes: a state or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ae_train::checkpoint::parse_state(data, std::path::Path::new("fuzz-input"));
});
