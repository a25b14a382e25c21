#![no_main]
//! libFuzzer target: `forms::fuzzing::expression` on raw bytes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    forms::fuzzing::expression(data);
});
