//! Fuzz target `config`: see `weir_fuzz::harness::config` for the input layout and the checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| weir_fuzz::harness::config(data));
