//! weir: an OpenTelemetry collector. This library crate holds the binary's parts so that tests
//! can drive them: config loading and validation, receivers, the admin listener, logging and
//! the wiring that runs them.

pub mod admin;
pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod listen;
pub mod loadgen;
pub mod logging;
pub mod memory;
pub mod receivers;
pub mod signals;
pub mod sink;
pub mod telemetry;

/// Installs rustls' `ring` crypto provider for the whole process (weir uses one provider, never
/// aws-lc). Call it once before building any TLS or HTTP client; later calls do nothing.
pub fn install_crypto_provider() {
    weir_exporters::install_crypto_provider();
}
