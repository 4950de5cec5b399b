//! Fuzz target `otlp_http_body`: see `weir_fuzz::harness::otlp_http_body` for the input layout and the checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| weir_fuzz::harness::otlp_http_body(data));
