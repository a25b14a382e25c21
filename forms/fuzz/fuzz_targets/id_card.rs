#![no_main]
//! libFuzzer target: `forms::fuzzing::id_card` on raw bytes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    forms::fuzzing::id_card(data);
});
