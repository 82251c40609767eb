//! The `.npy` and `.safetensors` readers on arbitrary bytes: they must return an array or an
//! error, never panic or allocate what a header merely claims.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for (name, tensor) in [("fuzz-input.npy", None), ("fuzz-input.safetensors", None), ("fuzz-input.safetensors", Some("x"))] {
        if let Ok(a) = ae_data::array::parse_array(data, std::path::Path::new(name), tensor) {
            assert_eq!(a.values.len(), a.n * a.row_shape.iter().product::<usize>());
        }
    }
});
