#![no_main]
//! libFuzzer target: `forms::fuzzing::standard_file` on raw bytes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    forms::fuzzing::standard_file(data);
});
