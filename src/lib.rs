//! weir: an OpenTelemetry collector. This library crate holds the binary's parts so that tests
//! can drive them: config loading and validation, receivers, and the wiring that runs them.

pub mod config;
pub mod receivers;
