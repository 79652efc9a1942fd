#![no_main]

#[path = "../inputs/load.rs"]
#[allow(dead_code)]
mod inputs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| inputs::one_document(data));
