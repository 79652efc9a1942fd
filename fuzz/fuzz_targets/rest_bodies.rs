#![no_main]

#[path = "../inputs/rest.rs"]
#[allow(dead_code)]
mod inputs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| inputs::one_body(data));
