//! The config parser and validator on arbitrary text: a config or a usage error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(cfg) = ae_run::RunConfig::parse(text, std::path::Path::new("fuzz-input"))
    {
        let _ = cfg.validate();
        let _ = cfg.to_json();
    }
});
