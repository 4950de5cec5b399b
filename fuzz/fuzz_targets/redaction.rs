//! Fuzz target `redaction`: see `weir_fuzz::harness::redaction` for the input layout and the checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| weir_fuzz::harness::redaction(data));
