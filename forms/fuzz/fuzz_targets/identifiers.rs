#![no_main]
//! libFuzzer target: `forms::fuzzing::identifiers` on raw bytes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    forms::fuzzing::identifiers(data);
});
