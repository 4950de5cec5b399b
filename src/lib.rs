//! weir: an OpenTelemetry collector. This library crate holds the binary's parts so that tests
//! can drive them: config loading and validation, receivers, the admin listener, logging and
//! the wiring that runs them.

pub mod admin;
pub mod app;
pub mod cli;
pub mod config;
pub mod logging;
pub mod receivers;
