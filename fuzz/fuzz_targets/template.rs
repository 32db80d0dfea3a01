#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mycli_fuzz::template(data));
