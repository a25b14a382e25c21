#![no_main]
//! libFuzzer target: `forms::fuzzing::catalog_item` on raw bytes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    forms::fuzzing::catalog_item(data);
});
