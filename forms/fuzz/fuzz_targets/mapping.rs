#![no_main]
//! libFuzzer target: `forms::fuzzing::mapping` on raw bytes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    forms::fuzzing::mapping(data);
});
