//! libFuzzer entry point; the target and its properties are
//! `kofu_fuzz_targets::document`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kofu_fuzz_targets::document(data));
