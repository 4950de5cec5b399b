//! weir's exporters: the components that take a batch out of a pipeline and deliver it.
//!
//! One folder per exporter, each with `mod.rs` (what it does, how it fails), `config.rs` (the
//! user-facing keys) and its implementation:
//!
//! - [`debug`]: writes what arrives to stdout or a file, as text or JSON lines, like the
//!   OpenTelemetry Collector's `debug` exporter.
//! - [`otlp`]: OTLP/gRPC to Tempo or another collector, like the Collector's `otlp` exporter.
//! - [`otlphttp`]: OTLP/HTTP protobuf to a collector, gateway or backend, like the Collector's
//!   `otlphttp` exporter.
//! - [`prometheus`]: a scrape endpoint for the metrics that pass, like the Collector's
//!   `prometheus` exporter; [`remote_write`]: Prometheus remote write 1.0
//!   (`prometheusremotewrite`).
//! - [`loki`]: Loki's push API.
//! - [`sentry`]: recorded exceptions as Sentry errors (and optionally transactions).
//!
//! What several exporters share is in [`shared`], not in an exporter's folder: the HTTP
//! client and status handling, the OTLP→Prometheus model, test fixtures.
//!
//! `bench` (hidden) wraps the encoding steps for the criterion benchmarks in `benches/`; it is
//! not a stable API.

#[doc(hidden)]
pub mod bench;
pub mod debug;
pub mod load_balancing;
pub mod loki;
pub mod otlp;
pub mod otlphttp;
pub mod prometheus;
pub mod remote_write;
pub mod sentry;
pub mod shared;

/// Installs `ring` as rustls' process-wide crypto provider: weir's one provider (no aws-lc).
/// The binary calls it once at start, before building any exporter; the TLS clients of the
/// `otlp` and `otlphttp` exporters use it. Calling it again, or after another provider was
/// installed, does nothing.
pub fn install_crypto_provider() {
    // Err only means a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
