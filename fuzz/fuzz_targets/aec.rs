//! The `.aec` reader on arbitrary bytes: a header and payload, or an error, never a panic; what
//! it accepts dequantises to exactly one row per name.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((header, payload)) = ae_run::aec::decode(data, "fuzz-input") {
        let rows = ae_run::aec::dequantise(payload, header.quant, header.code_dim, &header.offset, &header.step);
        assert!(header.code_dim == 0 || rows.len() == header.names.len());
    }
});
